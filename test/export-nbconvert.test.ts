/**
 * JupyterLab's own "Export Notebook -> PDF" is nbconvert's LaTeX route. Every executed notebook
 * must convert without error and keep its plots. Checked on the fixture notebooks always, and on
 * the workbook's executed notebooks (build/notebooks/) when a headless run has produced them.
 * Skips (printing why) only when jupyter/xelatex are absent and CI is not "true".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
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
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data && (o.data["image/png"] || o.data["image/jpeg"])).length;
}

/** nbconvert --to pdf; returns the raster images pdfimages finds. */
function convert(file: string, outDir: string): number {
  const r = spawnSync("jupyter", ["nbconvert", "--to", "pdf", "--output-dir", outDir, file], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `nbconvert --to pdf ${path.basename(file)} failed:\n${r.stderr.slice(-3000)}`);
  const pdf = path.join(outDir, path.basename(file).replace(/\.ipynb$/, ".pdf"));
  assert.ok(fs.existsSync(pdf), `${pdf} written`);
  const list = spawnSync("pdfimages", ["-list", pdf], { encoding: "utf8" }).stdout;
  return list.split("\n").slice(2).filter((l) => /^\s*\d+\s+\d+\s+image\s/.test(l)).length;
}

test("nbconvert --to pdf (JupyterLab's Export -> PDF) converts executed fixture notebooks with their plots", (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbconvert-"));
  for (const file of writeFixtures(path.join(dir, "nb"))) {
    const plots = plotCount(file);
    const images = convert(file, path.join(dir, "pdf"));
    assert.equal(images, plots, `${path.basename(file)}: ${plots} plots, ${images} images in the PDF`);
  }
});

test("nbconvert --to pdf converts every executed workbook notebook in build/notebooks with its plots", (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const buildDir = path.join(ROOT, "build", "notebooks");
  const files = fs.existsSync(buildDir) ? fs.readdirSync(buildDir).filter((f) => f.endsWith(".ipynb")).sort() : [];
  if (files.length === 0) {
    const reason = "no executed notebooks in build/notebooks (run `npm run workbook -- --quick` first)";
    console.log(`# skipping: ${reason}`);
    return t.skip(reason);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "nbconvert-build-"));
  for (const f of files) {
    const file = path.join(buildDir, f);
    const plots = plotCount(file);
    const images = convert(file, out);
    assert.ok(images >= plots, `${f}: ${plots} plots but only ${images} images in the nbconvert PDF`);
    console.log(`# ${f}: nbconvert PDF with ${images} images for ${plots} plots`);
  }
});
