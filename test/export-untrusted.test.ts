/**
 * Untrusted notebooks: the export prints a notebook received from someone else as JupyterLab
 * shows an untrusted one. Markdown and text/html outputs are sanitized, the print page runs no
 * JavaScript, and the browser loads nothing but the page the export wrote (data: URIs inside it).
 *
 * Each attack tries to change the printed document; the markers it would write are built from
 * two halves at run time, so the joined marker is never in the notebook's own text and can only
 * reach the PDF if the attack worked. A local file with a unique marker stands for a secret that
 * an iframe or image tries to pull into the PDF.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import { findBrowser } from "../src/export/browser";
import { printPdf } from "../src/export/pdf";
import { fixturePng, runExport, writeFixtures } from "./export-fixtures";

const tempDirs: string[] = [];
after(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** Why the printing tests cannot run here, or false. In CI they always run (and fail loudly). */
async function skipReason(): Promise<string | false> {
  const reasons: string[] = [];
  const missing = ["pdftotext", "pdfimages"].filter((t) => !hasTool(t));
  if (missing.length) reasons.push(`missing poppler-utils (${missing.join(", ")})`);
  try {
    await findBrowser({}, () => undefined);
  } catch (err) {
    reasons.push(`no browser: ${(err as Error).message.split("\n")[0]}`);
  }
  if (reasons.length === 0 || process.env.CI === "true") return false;
  return `SKIPPED: ${reasons.join("; ")}`;
}

const uid = `${process.pid}${Date.now().toString(36)}`.toUpperCase().replace(/[^A-Z0-9]/g, "");
/** Markers, as [first half, second half]; the PDF must never contain first+second. */
const MARK = {
  mdScript: ["MDSCRIPT", `RAN${uid}`],
  mdOnerror: ["MDONERROR", `RAN${uid}`],
  htmlScript: ["HTMLSCRIPT", `RAN${uid}`],
  htmlOnerror: ["HTMLONERROR", `RAN${uid}`],
  layerScript: ["LAYERSCRIPT", `RAN${uid}`],
} as const;
const joined = (m: readonly [string, string]) => m[0] + m[1];
/** JavaScript that appends the joined marker to the document. */
const appendJs = (m: readonly [string, string]) =>
  `document.body.appendChild(document.createTextNode('${m[0]}'+'${m[1]}'))`;

type Cell = Record<string, unknown>;
const md = (source: string): Cell => ({ cell_type: "markdown", metadata: {}, source });
const htmlOutput = (html: string, n: number): Cell => ({
  cell_type: "code",
  execution_count: n,
  metadata: {},
  source: `display.html(x${n});`,
  outputs: [
    {
      output_type: "display_data",
      data: { "text/html": html, "text/plain": "[html]" },
      metadata: {},
    },
  ],
});
const notebook = (cells: Cell[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { language_info: { name: "typescript" } },
  cells: cells.map((c, i) => ({ id: `c${i}`, ...c })),
});

interface Secret {
  file: string;
  url: string;
  marker: string;
}

/** A local file with unique content that no attack may bring into the PDF. */
function secretFile(dir: string, name: string): Secret {
  const marker = `SECRET${name.toUpperCase().replace(/[^A-Z]/g, "")}${uid}`;
  const file = path.join(dir, `${name}.txt`);
  fs.writeFileSync(file, `${marker}\n`);
  return { file, url: pathToFileURL(file).href, marker };
}

/** "WxH" of every image embedded in a PDF (soft masks left out). */
function imageSizes(pdf: string): string[] {
  return spawnSync("pdfimages", ["-list", pdf], { encoding: "utf8" })
    .stdout.split("\n")
    .slice(2)
    .map((l) => /^\s*\d+\s+\d+\s+image\s+(\d+)\s+(\d+)\s/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}x${m[2]}`);
}

function pdfText(pdf: string): string {
  const r = spawnSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  assert.equal(r.status, 0, `pdftotext ${pdf}: ${r.stderr}`);
  return r.stdout;
}

/** The hostile notebook: every attack in its own cell, between visible sentinel paragraphs. */
function hostileNotebook(secrets: { md: Secret; html: Secret; png: string }): object {
  return notebook([
    md(`# Received notebook\n\nSENTINEL${uid} before the attacks.`),
    md(`Script in Markdown:\n\n<script>${appendJs(MARK.mdScript)}</script>\n\nafter the script.`),
    md(
      `Broken image with a handler:\n\n<img src="no-such-image.png" onerror="${appendJs(MARK.mdOnerror)}">\n\nafter the image.`,
    ),
    md(
      `A frame onto a local file:\n\n<iframe src="${secrets.md.url}" width="600" height="120"></iframe>\n\nafter the frame.`,
    ),
    // A script tag split by another one: removing the inner tag once (a regex filter) joins the outer.
    htmlOutput(
      `<scr<script>x</script>ipt>${appendJs(MARK.htmlScript)}</scr<script>x</script>ipt><b>html output one</b>`,
      1,
    ),
    // Unquoted handler: the old regex filter only knew quoted ones.
    htmlOutput(
      `<img src=x onerror=${appendJs(MARK.htmlOnerror).replace(/ /g, "")}><b>html output two</b>`,
      2,
    ),
    htmlOutput(
      `<iframe src="${secrets.html.url}" width="600" height="120"></iframe><b>html output three</b>`,
      3,
    ),
    // An image file outside the notebook's folder: by a relative path, and as a file: URL.
    md(
      `Images from elsewhere: ![outside](../${path.basename(secrets.png)}) and ` +
        `<img src="${pathToFileURL(secrets.png).href}" alt="outside file URL">`,
    ),
    md(`SENTINEL${uid} after the attacks.`),
  ]);
}

/** The progress bar our library displays (text/html), as it stands in an executed notebook. */
const PROGRESS_HTML =
  '<div style="font-family: monospace; font-size: 12px">training <div style="width: 320px; height: 10px; ' +
  'background-color: #e0e0e0; display: inline-block; vertical-align: middle"><div style="width: 100.0%; ' +
  'height: 10px; background-color: #4c78a8"></div></div> 100% | step 20000/20000 | loss 19.4886 | 5s total</div>';

let skip: string | false = false;
let text = "";
let images: string[] = [];
let secrets: { md: Secret; html: Secret; png: string };
let exportStderr = "";

before(async () => {
  skip = await skipReason();
  if (skip) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "export-untrusted-"));
  tempDirs.push(dir);
  const png = path.join(dir, "outside.png");
  fs.writeFileSync(png, Buffer.from(fixturePng("outside", 123, 77), "base64"));
  secrets = { md: secretFile(dir, "md-frame"), html: secretFile(dir, "html-frame"), png };
  const nbDir = path.join(dir, "nb");
  // The workbook's own kinds of content (math, tables, plots) beside the hostile notebook.
  writeFixtures(nbDir, {
    "03-received.ipynb": hostileNotebook(secrets),
    "04-progress.ipynb": notebook([md("# Progress output"), htmlOutput(PROGRESS_HTML, 1)]),
  });
  const r = runExport(["--names", "Ada Lovelace", "--notebooks", "nb", "--out", "out/x.pdf"], dir);
  exportStderr = r.stderr;
  assert.equal(r.status, 0, r.stderr);
  const pdf = path.join(dir, "out", "x.pdf");
  text = pdfText(pdf);
  images = imageSizes(pdf);
});

test("the hostile notebook itself is printed (sentinels around the attacks)", (t) => {
  if (skip) return t.skip(skip);
  assert.equal((text.match(new RegExp(`SENTINEL${uid}`, "g")) ?? []).length, 2, exportStderr);
  for (const s of [
    "after the script.",
    "after the image.",
    "after the frame.",
    "html output three",
  ])
    assert.ok(text.includes(s), `PDF shows ${JSON.stringify(s)}`);
});

test("attack: <script> in a Markdown cell does not run", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(!text.includes(joined(MARK.mdScript)), "the Markdown script wrote into the page");
});

test("attack: <img onerror> in a Markdown cell does not run", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(!text.includes(joined(MARK.mdOnerror)), "the onerror handler wrote into the page");
});

test("attack: <iframe> onto a local file in a Markdown cell shows nothing of the file", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(!text.includes(secrets.md.marker), "the local file's content is in the PDF");
});

test("attack: <script> in a text/html output does not run", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(!text.includes(joined(MARK.htmlScript)), "the output's script wrote into the page");
});

test("attack: unquoted onerror in a text/html output does not run", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(!text.includes(joined(MARK.htmlOnerror)), "the output's handler wrote into the page");
});

test("attack: <iframe> onto a local file in a text/html output shows nothing of the file", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(!text.includes(secrets.html.marker), "the local file's content is in the PDF");
});

test("attack: an image outside the notebook's folder (../ path, file: URL) is not embedded", (t) => {
  if (skip) return t.skip(skip);
  assert.ok(text.includes("Images from elsewhere"), "the cell is printed");
  assert.ok(!images.includes("123x77"), `the outside image is in the PDF (${images})`);
});

test("a normal notebook keeps its math, tables, plots and the progress bar output", (t) => {
  if (skip) return t.skip(skip);
  const flat = text.replace(/[\s\u200b]+/g, "");
  for (const s of ["−ϵ/σ", "p(xt∣x0)", "βmin", "σ2(t)=1−α2(t)"])
    assert.ok(flat.includes(s), `formula ${s} in the PDF`);
  for (const s of ["quantity", "noise scale", "0.0066"])
    assert.ok(text.includes(s), `table cell ${s} in the PDF`);
  assert.equal(
    images.filter((s) => s === "480x320").length,
    2,
    `the two fixture plots are embedded images (${images})`,
  );
  assert.ok(flat.includes("step20000/20000|loss19.4886"), "the progress bar's text is printed");
});

/**
 * The browser-side defences on their own, without the sanitizer: a page that still holds a
 * script, and frames/images onto local files, printed by `printPdf` as the export prints.
 */
async function printLayerPage(): Promise<{ text: string; images: string[]; frame: Secret }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "export-layers-"));
  tempDirs.push(dir);
  const frame = secretFile(dir, "layer-frame");
  const png = path.join(dir, "local.png");
  // Sizes tell the two images apart in the PDF (a blocked image may leave a broken-image icon).
  fs.writeFileSync(png, Buffer.from(fixturePng("secret", 123, 77), "base64"));
  const embedded = `data:image/png;base64,${fixturePng("embedded")}`;
  const html = path.join(dir, "page.html");
  fs.writeFileSync(
    html,
    `<!DOCTYPE html><html><body><p>LAYER PAGE ${uid}</p>` +
      `<script>${appendJs(MARK.layerScript)}</script>` +
      `<iframe src="${frame.url}" width="600" height="100"></iframe>` +
      `<img src="${pathToFileURL(png).href}" width="200"><img src="${embedded}" width="200">` +
      `</body></html>`,
  );
  const pdf = path.join(dir, "page.pdf");
  await printPdf(html, pdf);
  return { text: pdfText(pdf), images: imageSizes(pdf), frame };
}

test("print page: JavaScript is disabled (a script left in the page does not run)", async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const { text: printed } = await printLayerPage();
  assert.ok(printed.includes(`LAYER PAGE ${uid}`), "the page itself is printed");
  assert.ok(!printed.includes(joined(MARK.layerScript)), "a script ran in the print page");
});

test("print page: no file: URL loads but the page itself (frame and image onto local files)", async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const { text: printed, images, frame } = await printLayerPage();
  assert.ok(printed.includes(`LAYER PAGE ${uid}`), "the page itself is printed");
  assert.ok(!printed.includes(frame.marker), "a frame loaded a local file");
  assert.ok(images.includes("480x320"), `the embedded data: image is printed (${images})`);
  assert.ok(!images.includes("123x77"), `the local image file is not printed (${images})`);
});
