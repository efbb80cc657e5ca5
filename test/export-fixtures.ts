/**
 * Executed-notebook fixtures for the export tests: small nbformat-4 notebooks with the kinds
 * of content the workbook produces (Markdown + LaTeX incl. aligned equations and tables,
 * code cells, stream output, PNG plots, vega-lite + PNG bundles, Markdown tables as output).
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { Resvg } from "@resvg/resvg-js";

const ROOT = path.resolve(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const SCRIPT = path.join(ROOT, "scripts", "export-pdf.ts");

/** Run the export script (what `npm run pdf` runs) with `args` in `cwd`, plus `env`. */
export function runExport(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(TSX, [SCRIPT, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A PNG plot (scatter of two arcs) rendered from SVG, base64. */
export function fixturePng(label: string, width = 480, height = 320): string {
  const dots: string[] = [];
  for (let i = 0; i < 60; i++) {
    const th = (Math.PI * i) / 59;
    dots.push(
      `<circle cx="${(140 + 100 * Math.cos(th)).toFixed(1)}" cy="${(200 - 100 * Math.sin(th)).toFixed(1)}" r="4" fill="#1f77b4"/>`,
    );
    dots.push(
      `<circle cx="${(240 - 100 * Math.cos(th)).toFixed(1)}" cy="${(150 + 100 * Math.sin(th)).toFixed(1)}" r="4" fill="#ff7f0e"/>`,
    );
  }
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 400 320">` +
    `<rect width="400" height="320" fill="white"/>${dots.join("")}` +
    `<rect x="10" y="10" width="${8 * label.length}" height="14" fill="#ddd"/></svg>`;
  return Buffer.from(new Resvg(svg).render().asPng()).toString("base64");
}

type Cell = Record<string, unknown>;

const md = (source: string): Cell => ({ cell_type: "markdown", metadata: {}, source });
const code = (n: number, source: string, outputs: unknown[]): Cell => ({
  cell_type: "code",
  execution_count: n,
  metadata: {},
  source,
  outputs,
});
const stream = (text: string, name = "stdout") => ({ output_type: "stream", name, text });
const display = (data: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  output_type: "display_data",
  data,
  metadata,
});

function notebook(cells: Cell[]): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
      language_info: {
        name: "typescript",
        file_extension: ".ts",
        mimetype: "text/typescript",
        version: "5.0.4",
      },
    },
    cells: cells.map((c, i) => ({ id: `cell-${i}`, ...c })),
  };
}

/** A long code line (no spaces to break at) that must wrap, not be cut off; ends in a marker. */
export const LONG_LINE_END = "ENDOFLONGLINE";

/** The fixture notebooks, by file name. */
export function fixtureNotebooks(): Record<string, object> {
  const longLine = `const veryLongIdentifierList = [${Array.from({ length: 40 }, (_, i) => `"item${i}"`).join(",")}, "${LONG_LINE_END}"];`;
  return {
    "01-dsm.ipynb": notebook([
      md(
        "# Exercise 1: Denoising Score Matching\n\n" +
          "For a Gaussian perturbation $x_t = x_0 + \\sigma\\epsilon$ with $\\epsilon \\sim \\mathcal{N}(0, I)$ the density is\n\n" +
          "$$p(x_t \\mid x_0) = \\frac{1}{(2\\pi\\sigma^2)^{d/2}} \\exp\\left(-\\frac{\\|x_t - x_0\\|^2}{2\\sigma^2}\\right).$$\n\n" +
          "Taking the gradient of the log-density:\n\n" +
          "$$\n\\begin{aligned}\n\\nabla_{x_t} \\log p(x_t \\mid x_0) &= -\\frac{x_t - x_0}{\\sigma^2} \\\\\n&= -\\frac{\\sigma \\epsilon}{\\sigma^2} = -\\frac{\\epsilon}{\\sigma}.\n\\end{aligned}\n$$\n\n" +
          "Note that a_1 * b_2 * c_3 outside math is *emphasis*, but $a_1 * b_2 * c_3$ is math; a price of \\$5 is not.",
      ),
      md(
        "## Check\n\n| quantity | formula | value |\n|---|---|---:|\n| score | $-\\epsilon/\\sigma$ | 0.5 |\n| noise scale | $\\sigma$ | 2 |\n\n" +
          "```ts\nconst score = (eps: number, sigma: number) => -eps / sigma; // a code block in Markdown\n```",
      ),
      code(
        1,
        `import { gaussianScore } from "../dist/sample";\n// Compare autodiff with -eps/sigma\n${longLine}`,
        [
          stream("max |autodiff - (-eps/sigma)| = 3.1e-7  PASS\n"),
          stream("progress 10%\rprogress 50%\rprogress 100%\n"),
        ],
      ),
    ]),
    "02-diffusion.ipynb": notebook([
      md(
        "# Exercise 2: Diffusion Model Implementation\n\n## (a) Two moons\n\nSamples from the two half moons data set.",
      ),
      code(1, "showPlot(moonsPlot(makeMoons(1000, { noise: 0.05, seed: 0 })));", [
        display(
          {
            "application/vnd.vegalite.v5+json": {
              $schema: "https://vega.github.io/schema/vega-lite/v5.json",
              mark: "point",
            },
            "image/png": fixturePng("moons"),
            "text/plain": "[scatter plot: 1000 two-moons samples]",
          },
          { "image/png": { width: 480 } },
        ),
      ]),
      md(
        "## (b) Noise schedule\n\nThe linear schedule $\\beta(t) = \\beta_{\\min} + t(\\beta_{\\max} - \\beta_{\\min})$ gives\n\n" +
          "\\begin{align}\n\\alpha(t) &= \\exp\\left(-\\tfrac12 \\int_0^t \\beta(s)\\,ds\\right) \\\\\n\\sigma^2(t) &= 1 - \\alpha^2(t)\n\\end{align}",
      ),
      code(2, "showTable(scheduleTable(defaultSchedule()));", [
        display({
          "text/markdown":
            "| t | alpha | sigma |\n|---:|---:|---:|\n| 0 | 1 | 0 |\n| 1 | 0.0066 | 1 |",
          "text/plain": "t alpha sigma",
        }),
        display({ "image/png": fixturePng("schedule"), "text/plain": "<plot>" }),
      ]),
    ]),
  };
}

/** Write the fixtures into `dir` (created); returns the file paths in order. */
export function writeFixtures(dir: string, extra: Record<string, object> = {}): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const all = { ...fixtureNotebooks(), ...extra };
  return Object.entries(all).map(([name, nb]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(nb, null, 1));
    return file;
  });
}

/** A notebook whose third cell holds an error output (a failed run). */
export function failedNotebook(): object {
  return notebook([
    md("# Broken"),
    code(1, "const x = 1;", []),
    code(2, "throw new Error('boom');", [
      {
        output_type: "error",
        ename: "Error",
        evalue: "boom",
        traceback: ["\u001b[31mError: boom\u001b[0m", "    at <anonymous>"],
      },
    ]),
  ]);
}
