/**
 * The headless runner, on tiny notebooks, through both back-ends: a good notebook runs and
 * keeps its outputs (streams, a MIME bundle, an in-place update); a failing cell stops the run
 * with the notebook, the cell number and the message, and a non-zero exit status.
 * The Jupyter back-end is skipped (with a printed reason) only when no Python with nbclient
 * is installed and CI is not "true"; in CI it must run.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findJupyterPython } from "../scripts/run-notebooks";

const ROOT = path.resolve(__dirname, "..");
// Inside the repository (build/ is ignored), so cells can import the compiled library as ../../dist.
const DIR = path.join(ROOT, "build", `test-notebooks-${process.pid}`);

function notebook(cells: string[]): object {
  return {
    cells: cells.map((source, i) =>
      source.startsWith("#")
        ? { cell_type: "markdown", id: `c${i}`, metadata: {}, source }
        : {
            cell_type: "code",
            id: `c${i}`,
            metadata: {},
            source,
            outputs: [],
            execution_count: null,
          },
    ),
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

const GOOD = [
  "# A tiny notebook",
  "const x: number = 1 + 1;\nconsole.log('x =', x);",
  // A real cell importing the library's compiled build, as the workbook notebooks do.
  'import { Rng } from "../../dist/index";\nconsole.log("u =", new Rng(7).uniform().toFixed(6));',
  'import { DisplayHandle, showBundle } from "../../dist/notebook/display";\n' +
    'const h = new DisplayHandle();\nh.update({ "text/plain": "step 1" });\nh.update({ "text/plain": "step 2 (final)" });\n' +
    'showBundle({ "text/markdown": "**bold**", "image/png": new Uint8Array([137, 80, 78, 71]), "text/plain": "bold" });',
];
const BAD = [
  "# Fails in its third cell",
  "console.log('first ran');",
  "const y = 2;\nthrow new Error('boom-' + (40 + y));",
  "console.log('must not run');",
];

function setup(): void {
  assert.ok(
    fs.existsSync(path.join(ROOT, "dist", "notebook", "display.js")) &&
      fs.existsSync(path.join(ROOT, "dist", "index.js")),
    "dist/ is not built: run `npx tsc -p .` before these tests",
  );
  fs.mkdirSync(DIR, { recursive: true });
  fs.writeFileSync(path.join(DIR, "01-good.ipynb"), JSON.stringify(notebook(GOOD)));
  fs.writeFileSync(path.join(DIR, "02-bad.ipynb"), JSON.stringify(notebook(BAD)));
}
setup();
after(() => fs.rmSync(DIR, { recursive: true, force: true }));

function run(kernel: string, nb: string, out: string) {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(ROOT, "scripts", "run-notebooks.ts"),
      `--kernel=${kernel}`,
      `--out=${out}`,
      path.join(DIR, nb),
    ],
    { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function executionCounts(file: string) {
  return JSON.parse(fs.readFileSync(file, "utf8")).cells.map((c: any) => c.execution_count ?? null);
}

function outputsOf(file: string) {
  const nb = JSON.parse(fs.readFileSync(file, "utf8"));
  return nb.cells.map((c: any) => c.outputs ?? null);
}
const joined = (t: string | string[]) => (Array.isArray(t) ? t.join("") : t);

function suite(kernel: "inprocess" | "jupyter", skip: string | false) {
  describe(`run-notebooks --kernel=${kernel}`, { skip, concurrency: true }, () => {
    test("a good notebook runs and its executed copy has the outputs", () => {
      const out = path.join(DIR, `out-${kernel}-good`);
      const r = run(kernel, "01-good.ipynb", out);
      assert.equal(r.status, 0, `runner failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /01-good\.ipynb cell 4\/4 ok/);
      const outs = outputsOf(path.join(out, "01-good.ipynb"));
      assert.equal(outs[0], null, "markdown cell has no outputs");
      assert.equal(joined(outs[1][0].text), "x = 2\n");
      // Rng(7)'s first uniform, computed independently by the test process.
      const { Rng } = require("../src/core/random");
      assert.equal(joined(outs[2][0].text), `u = ${new Rng(7).uniform().toFixed(6)}\n`);
      // The in-place display shows only its last state; the bundle keeps all its MIME types.
      assert.equal(outs[3].length, 2);
      assert.equal(joined(outs[3][0].data["text/plain"]), "step 2 (final)");
      assert.deepEqual(Object.keys(outs[3][1].data).sort(), [
        "image/png",
        "text/markdown",
        "text/plain",
      ]);
      assert.equal(
        joined(outs[3][1].data["image/png"]).trim(),
        Buffer.from([137, 80, 78, 71]).toString("base64"),
      );
      assert.deepEqual(executionCounts(path.join(out, "01-good.ipynb")), [null, 1, 2, 3]);
      // The source notebook stays clean.
      assert.deepEqual(outputsOf(path.join(DIR, "01-good.ipynb"))[1], []);
    });

    test("a failing cell stops the run, naming notebook, cell and message", () => {
      const out = path.join(DIR, `out-${kernel}-bad`);
      const r = run(kernel, "02-bad.ipynb", out);
      assert.equal(r.status, 1, `expected exit 1:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /FAILED: .*02-bad\.ipynb, cell 3:/);
      assert.match(r.stderr, /boom-42/);
      assert.doesNotMatch(r.stdout, /All \d+ notebook\(s\) ran without errors/);
      const outs = outputsOf(path.join(out, "02-bad.ipynb"));
      assert.equal(joined(outs[1][0].text), "first ran\n");
      assert.deepEqual(outs[3], [], "the cell after the failure must not run");
    });
  });
}

const python = findJupyterPython();
let jupyterSkip: string | false = false;
if (!python) {
  if (process.env.CI === "true") {
    test("jupyter back-end is available in CI", () => {
      assert.fail(
        "CI=true but no Python with nbclient was found (apt-get install jupyter-nbconvert jupyter-client)",
      );
    });
  } else {
    jupyterSkip =
      "no Python with nbclient/jupyter_client found (install Debian's jupyter-nbconvert); CI would fail here";
    console.log(`# skipping the Jupyter back-end: ${jupyterSkip}`);
  }
}
suite("inprocess", false);
suite("jupyter", jupyterSkip);
