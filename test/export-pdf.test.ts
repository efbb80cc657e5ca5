/**
 * End to end: `npm run pdf`'s script on fixture notebooks, checked with poppler-utils
 * (pdftotext, pdfimages, pdfinfo) and a real headless Chromium. Outside CI the printing tests
 * skip (with the reason) when Chromium or poppler is missing; in CI (CI=true) they run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findBrowser } from "../src/export/browser";
import { failedNotebook, LONG_LINE_END, runExport, writeFixtures } from "./export-fixtures";

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

async function printingSkipReason(): Promise<string | false> {
  const missing = ["pdftotext", "pdfimages", "pdfinfo"].filter((t) => !hasTool(t));
  let browser = "";
  try {
    await findBrowser({}, () => undefined);
  } catch {
    browser = "no Chrome/Chromium";
  }
  const reasons = [
    ...(missing.length ? [`missing poppler-utils (${missing.join(", ")})`] : []),
    ...(browser ? [browser] : []),
  ];
  if (reasons.length === 0) return false;
  if (process.env.CI === "true") return false; // CI must have them: let the test fail loudly
  const reason = `${reasons.join("; ")} (apt-get install chromium poppler-utils)`;
  console.log(`# skipping PDF printing tests: ${reason}`);
  return reason;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "export-pdf-"));

test("fixture workbook -> PDF with names, headings, formulas, wrapped code, one image per plot, page numbers", async (t) => {
  const skip = await printingSkipReason();
  if (skip) return t.skip(skip);
  const dir = tmp();
  writeFixtures(path.join(dir, "nb"));
  const t0 = Date.now();
  const r = runExport(
    [
      "--names",
      "Ada Lovelace, Alan Turing",
      "--notebooks",
      "nb",
      "--out",
      "out/hand-in.pdf",
      "--date",
      "1 December 2025",
    ],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  const pdf = path.join(dir, "out", "hand-in.pdf");
  assert.ok(
    fs.existsSync(path.join(dir, "out", "hand-in.html")),
    "the HTML is written beside the PDF",
  );
  assert.match(r.stderr, /Wrote .*hand-in\.pdf \(\d+ pages/);

  const text = spawnSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" }).stdout;
  for (const s of [
    "Ada Lovelace",
    "Alan Turing",
    "1 December 2025",
    "Contents",
    "Exercise 1: Denoising Score Matching",
    "Exercise 2: Diffusion Model Implementation",
    "(a) Two moons",
    "(b) Noise schedule",
    "max |autodiff - (-eps/sigma)| = 3.1e-7", // stream output
    LONG_LINE_END, // the end of a 300-character code line: wrapped, not cut off
  ])
    assert.ok(text.includes(s), `PDF text contains ${JSON.stringify(s)}`);
  // Formulas as text (KaTeX glyphs): the score -ε/σ, the density's exp, the schedule's β_min.
  const flat = text.replace(/[\s\u200b]+/g, "");
  for (const s of ["−ϵ/σ", "p(xt∣x0)", "exp", "βmin", "σ2(t)=1−α2(t)"])
    assert.ok(flat.includes(s), `PDF text contains formula ${s}`);
  // Page numbers from the footer: "1 / N" ... "N / N".
  const pages = Number(
    /Pages:\s+(\d+)/.exec(spawnSync("pdfinfo", [pdf], { encoding: "utf8" }).stdout)?.[1],
  );
  assert.ok(pages >= 4 && pages <= 8, `sensible page count for 2 short notebooks, got ${pages}`);
  assert.match(flat, new RegExp(`${pages}/${pages}`));
  // The contents give the page each notebook starts on; check against the page's own text.
  const pageText = (n: number) =>
    spawnSync("pdftotext", ["-f", String(n), "-l", String(n), "-layout", pdf, "-"], {
      encoding: "utf8",
    }).stdout;
  for (const heading of [
    "Exercise 1: Denoising Score Matching",
    "Exercise 2: Diffusion Model Implementation",
  ]) {
    const m = new RegExp(`${heading.replace(/[()]/g, "\\$&")}\\s+(\\d+)`).exec(pageText(2));
    assert.ok(m, `contents list ${heading} with a page number`);
    assert.ok(
      pageText(Number(m[1])).includes(heading),
      `${heading} is on page ${m[1]} as the contents say`,
    );
  }
  // One embedded raster image per plot (smask rows are the alpha channels of the same images).
  const images = spawnSync("pdfimages", ["-list", pdf], { encoding: "utf8" })
    .stdout.split("\n")
    .slice(2)
    .filter((l) => /^\s*\d+\s+\d+\s+image\s/.test(l));
  assert.equal(images.length, 2, "two plots in the fixtures");
  assert.ok(
    images.every((l) => /\s480\s+320\s/.test(l)),
    "plots embedded at full resolution",
  );
  console.log(`# fixture export: ${pages} pages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test("no browser: clear message naming what to install, exit 4, the HTML is kept", () => {
  const dir = tmp();
  writeFixtures(path.join(dir, "nb"));
  const r = runExport(
    [
      "--names",
      "Ada Lovelace",
      "--notebooks",
      "nb",
      "--out",
      "out/x.pdf",
      "--no-browser-discovery",
    ],
    dir,
    {
      CHROME_PATH: path.join(dir, "no-such-chrome"),
    },
  );
  assert.equal(r.status, 4, r.stderr);
  assert.match(r.stderr, /CHROME_PATH=.*no-such-chrome is not an executable file/);
  assert.match(r.stderr, /apt-get install chromium|Google Chrome/);
  assert.match(r.stderr, /The HTML version was written and kept/);
  assert.ok(fs.existsSync(path.join(dir, "out", "x.html")));
  assert.ok(!fs.existsSync(path.join(dir, "out", "x.pdf")));
});

test("a notebook with an error output: message names notebook and cell, exit 3, no PDF", () => {
  const dir = tmp();
  writeFixtures(path.join(dir, "nb"), { "03-equivariance.ipynb": failedNotebook() });
  const r = runExport(["--names", "Ada Lovelace", "--notebooks", "nb", "--out", "out/x.pdf"], dir);
  assert.equal(r.status, 3, r.stderr);
  assert.match(
    r.stderr,
    /Notebook 03-equivariance\.ipynb, cell 3 has an error output: Error: boom/,
  );
  assert.ok(!fs.existsSync(path.join(dir, "out", "x.pdf")));
});

test("missing executed notebooks with --no-run, and missing names: clear messages, non-zero exits", () => {
  const dir = tmp();
  let r = runExport(["--names", "Ada Lovelace", "--no-run"], dir);
  assert.equal(r.status, 3, r.stderr);
  assert.match(
    r.stderr,
    /No executed notebooks to export \(no executed notebooks in .*build.notebooks\)[\s\S]*npm run workbook/,
  );
  r = runExport(["--no-run"], dir);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /No group members' names[\s\S]*--names "Ada Lovelace, Alan Turing"/);
  r = runExport(["--names", "A", "--bogus"], dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Unknown option '--bogus'[\s\S]*Usage: npm run pdf/);
});
