/**
 * JupyterLab's own "Export Notebook -> PDF" is nbconvert's LaTeX route. Every executed notebook
 * must convert without error and keep its plots. Checked on the fixture notebooks always, and on
 * the workbook's executed notebooks (build/notebooks/) when a headless run has produced them.
 * Skips (printing why) only when jupyter/xelatex are absent and CI is not "true".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseNotebook } from "../src/export/notebook-html";
import { writeFixtures } from "./export-fixtures";

const ROOT = path.resolve(__dirname, "..");

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

function skipReason(): string | false {
  const missing = ["jupyter", "xelatex", "pandoc", "pdfimages"].filter((t) => !hasTool(t));
  if (missing.length === 0 || process.env.CI === "true") return false;
  const reason = `missing ${missing.join(", ")} (apt-get install jupyter-nbconvert pandoc texlive-xetex texlive-fonts-recommended texlive-plain-generic poppler-utils)`;
  console.log(`# skipping nbconvert PDF tests: ${reason}`);
  return reason;
}

/** Number of image/png (or jpeg) outputs in a notebook: the plots that must survive. */
function plotCount(file: string): number {
  const nb = parseNotebook(fs.readFileSync(file, "utf8"), path.basename(file));
  return nb.cells
    .flatMap((c) => c.outputs ?? [])
    .filter((o) => o.data && (o.data["image/png"] || o.data["image/jpeg"])).length;
}

/** nbconvert --to pdf (asynchronous, so two can run at once); resolves to the raster images pdfimages finds. */
async function convert(file: string, outDir: string): Promise<number> {
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = spawn("jupyter", ["nbconvert", "--to", "pdf", "--output-dir", outDir, file], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
  });
  assert.equal(
    r.status,
    0,
    `nbconvert --to pdf ${path.basename(file)} failed:\n${r.stderr.slice(-3000)}`,
  );
  const pdf = path.join(outDir, path.basename(file).replace(/\.ipynb$/, ".pdf"));
  assert.ok(fs.existsSync(pdf), `${pdf} written`);
  const list = spawnSync("pdfimages", ["-list", pdf], { encoding: "utf8" }).stdout;
  return list
    .split("\n")
    .slice(2)
    .filter((l) => /^\s*\d+\s+\d+\s+image\s/.test(l)).length;
}

/** Run `work` over `items`, `width` at a time (xelatex is CPU-bound; the CI machine has 2 cores). */
async function inParallel<T>(
  items: T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

test("nbconvert --to pdf (JupyterLab's Export -> PDF) converts executed fixture notebooks with their plots", async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbconvert-"));
  await inParallel(writeFixtures(path.join(dir, "nb")), 2, async (file) => {
    const plots = plotCount(file);
    const images = await convert(file, path.join(dir, "pdf"));
    assert.equal(
      images,
      plots,
      `${path.basename(file)}: ${plots} plots, ${images} images in the PDF`,
    );
  });
});

// Every workbook notebook takes 7-15 s through xelatex (three passes), about a minute for all:
// run in CI (CI=true) or on request (NBCONVERT_ALL=1), beside the quick headless run's output.
test("nbconvert --to pdf converts every executed workbook notebook in build/notebooks with its plots", async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  if (process.env.CI !== "true" && process.env.NBCONVERT_ALL !== "1") {
    const reason =
      "converting every workbook notebook takes about a minute: runs with CI=true or NBCONVERT_ALL=1";
    console.log(`# skipping: ${reason}`);
    return t.skip(reason);
  }
  const buildDir = path.join(ROOT, "build", "notebooks");
  const files = fs.existsSync(buildDir)
    ? fs
        .readdirSync(buildDir)
        .filter((f) => f.endsWith(".ipynb"))
        .sort()
    : [];
  if (files.length === 0) {
    const reason =
      "no executed notebooks in build/notebooks (run `npm run workbook -- --quick` first)";
    console.log(`# skipping: ${reason}`);
    return t.skip(reason);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "nbconvert-build-"));
  await inParallel(files, 2, async (f) => {
    const file = path.join(buildDir, f);
    const plots = plotCount(file);
    const images = await convert(file, out);
    assert.ok(
      images >= plots,
      `${f}: ${plots} plots but only ${images} images in the nbconvert PDF`,
    );
    console.log(`# ${f}: nbconvert PDF with ${images} images for ${plots} plots`);
  });
});
