/**
 * The real hand-in: `npm run pdf` on the workbook's executed notebooks (build/notebooks/).
 * Uses them as they are when the headless run is up to date (CI runs `npm run workbook -- --quick`
 * before the tests); in CI without them it runs the quick workbook itself; elsewhere it skips.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkExecuted, defaultWorkbookPaths } from "../src/export/freshness";
import { parseNotebook } from "../src/export/notebook-html";
import { runExport } from "./export-fixtures";

const ROOT = path.resolve(__dirname, "..");

/** Parts of the sheet whose headings the hand-in must show. */
const PARTS = [
  "Exercise 1",
  "Exercise 2a",
  "Exercise 2b",
  "Exercise 2c",
  "Exercise 2d",
  "Exercise 2e",
  "Exercise 3",
  "3a",
  "3b",
];

test("the executed workbook exports to one PDF with every part, the names, formulas and every plot", (t) => {
  const state = checkExecuted(defaultWorkbookPaths(ROOT));
  const ci = process.env.CI === "true";
  if (state.staleReason !== null && !ci) {
    const reason = `executed notebooks not up to date (${state.staleReason}); run \`npm run workbook -- --quick\` first`;
    console.log(`# skipping: ${reason}`);
    return t.skip(reason);
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-pdf-"));
  const pdf = path.join(out, "workbook.pdf");
  const args = [
    "--names",
    "Ada Lovelace, Alan Turing",
    "--out",
    pdf,
    ...(state.staleReason === null ? ["--no-run"] : ["--quick"]),
  ];
  const t0 = Date.now();
  const r = runExport(args, ROOT);
  assert.equal(r.status, 0, r.stderr);
  const seconds = (Date.now() - t0) / 1000;

  const files = checkExecuted(defaultWorkbookPaths(ROOT)).files;
  const text = spawnSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" }).stdout;
  const flat = text.replace(/[\s\u200b]+/g, " ");
  for (const part of PARTS) assert.ok(flat.includes(part), `PDF shows ${part}`);
  assert.ok(flat.includes("Ada Lovelace") && flat.includes("Alan Turing"));
  const squeezed = flat.replace(/ /g, "");
  for (const formula of ["−ϵ/σ", "β(t)", "α(t)", "σ(t)"])
    assert.ok(squeezed.includes(formula), `formula ${formula} as text`);

  // Every plot (image/png output) appears as an embedded image.
  const plots = files
    .map((f) => parseNotebook(fs.readFileSync(f, "utf8"), path.basename(f)))
    .flatMap((nb) => nb.cells.flatMap((c) => c.outputs ?? []))
    .filter((o) => o.data && o.data["image/png"]).length;
  const images = spawnSync("pdfimages", ["-list", pdf], { encoding: "utf8" })
    .stdout.split("\n")
    .slice(2)
    .filter((l) => /^\s*\d+\s+\d+\s+image\s/.test(l)).length;
  assert.ok(plots >= 5, `the workbook has plots (2a, 2b, 2d, 2e), found ${plots}`);
  assert.ok(images >= plots, `${plots} plots but ${images} images in the PDF`);
  const pages = Number(
    /Pages:\s+(\d+)/.exec(spawnSync("pdfinfo", [pdf], { encoding: "utf8" }).stdout)?.[1],
  );
  assert.ok(pages >= files.length + 2 && pages <= 150, `sensible page count, got ${pages}`);
  console.log(
    `# workbook export: ${files.length} notebooks, ${plots} plots, ${pages} pages, ${seconds.toFixed(1)} s`,
  );
});
