import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  applyCarriageReturns,
  NotebookOutputError,
  parseNotebook,
  renderNotebook,
  stripAnsi,
  type Notebook,
} from "../src/export/notebook-html";
import { parseNames, readConfig, resolveTitlePage } from "../src/export/config";
import {
  checkExecuted,
  isAppendixNotebook,
  runWorkbook,
  WorkbookRunError,
} from "../src/export/freshness";
import {
  BrowserNotFoundError,
  findBrowser,
  launchBrowser,
  systemBrowserCandidates,
} from "../src/export/browser";
import { buildWorkbookHtml } from "../src/export/workbook-html";
import { failedNotebook, fixtureNotebooks, fixturePng, writeFixtures } from "./export-fixtures";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "export-test-"));

test("terminal semantics: carriage returns rewind a line, ANSI colours are removed", () => {
  assert.equal(applyCarriageReturns("step 1\rstep 2\rstep 30\ndone"), "step 30\ndone");
  assert.equal(applyCarriageReturns("100%\r 50"), " 50%");
  assert.equal(stripAnsi("\u001b[31mError\u001b[0m: x"), "Error: x");
});

test("outputs: vega-lite bundles show their PNG, Markdown outputs render, streams merge", () => {
  const nb = fixtureNotebooks()["02-diffusion.ipynb"] as Notebook;
  const r = renderNotebook(nb, { fileName: "02.ipynb", idPrefix: "nb2-" });
  assert.equal(r.images, 2);
  assert.equal((r.html.match(/<img alt="plot" src="data:image\/png;base64,/g) ?? []).length, 2);
  assert.ok(r.html.includes('style="width:480px"'), "image width from output metadata");
  assert.ok(!r.html.includes("vega.github.io"), "the vega-lite JSON itself is not shown");
  assert.ok(/<div class="output markdown-output"><table>/.test(r.html));
  assert.deepEqual(
    r.headings.map((h) => h.text),
    ["Exercise 2: Diffusion Model Implementation", "(a) Two moons", "(b) Noise schedule"],
  );

  const nb1 = fixtureNotebooks()["01-dsm.ipynb"] as Notebook;
  const r1 = renderNotebook(nb1, { fileName: "01.ipynb", idPrefix: "nb1-" });
  // two stdout outputs become one block; the \r progress line shows its final state
  assert.equal((r1.html.match(/<pre class="output stream stdout">/g) ?? []).length, 1);
  assert.ok(r1.html.includes("PASS\nprogress 100%</pre>"));
});

test("code cells are highlighted with their execution count; remove-input hides code", () => {
  const nb: Notebook = {
    nbformat: 4,
    metadata: { language_info: { name: "typescript" } },
    cells: [
      {
        cell_type: "code",
        execution_count: 7,
        source: ["const x: number = 1;\n", "x"],
        outputs: [],
      },
      {
        cell_type: "code",
        execution_count: 8,
        source: "secret()",
        metadata: { tags: ["remove-input"] },
        outputs: [{ output_type: "stream", name: "stdout", text: "shown" }],
      },
    ],
  };
  const { html } = renderNotebook(nb, { fileName: "x.ipynb", idPrefix: "x-" });
  assert.ok(html.includes("[7]"));
  assert.ok(html.includes('<span class="hljs-keyword">const</span>'));
  assert.ok(!html.includes("secret"));
  assert.ok(html.includes("shown"));
});

test("an error output stops the export and names notebook, cell and message", () => {
  assert.throws(
    () =>
      renderNotebook(failedNotebook() as Notebook, {
        fileName: "03-broken.ipynb",
        idPrefix: "nb3-",
      }),
    (err: unknown) =>
      err instanceof NotebookOutputError &&
      err.cell === 3 &&
      /03-broken\.ipynb, cell 3 .*Error: boom/.test(err.message) &&
      !err.message.includes("\u001b"),
  );
});

test("notebook files are validated with messages naming the file", () => {
  assert.throws(() => parseNotebook("{", "a.ipynb"), /a\.ipynb to be notebook JSON/);
  assert.throws(
    () => parseNotebook('{"nbformat": 3, "cells": []}', "b.ipynb"),
    /nbformat 4, but got nbformat=3/,
  );
  assert.throws(() => parseNotebook('{"worksheets": []}', "c.ipynb"), /"cells" array/);
});

test("names: flag beats config; missing names give a message saying how to give them", () => {
  const dir = tmp();
  const cfg = path.join(dir, "workbook.config.json");
  assert.deepEqual(parseNames("Ada Lovelace, Alan Turing"), ["Ada Lovelace", "Alan Turing"]);
  assert.deepEqual(parseNames("Ada Lovelace and Alan Turing; Grace Hopper"), [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
  ]);
  assert.throws(
    () => resolveTitlePage({}, cfg),
    /--names "Ada Lovelace, Alan Turing"[\s\S]*workbook\.config\.json/,
  );
  assert.throws(() => resolveTitlePage({ names: " , " }, cfg), /No group members' names/);
  fs.writeFileSync(
    cfg,
    JSON.stringify({ names: ["Emmy Noether", "Sofia Kovalevskaya"], title: "Sheet 7" }),
  );
  const fromFile = resolveTitlePage({}, cfg);
  assert.deepEqual(fromFile.names, ["Emmy Noether", "Sofia Kovalevskaya"]);
  assert.equal(fromFile.title, "Sheet 7");
  assert.deepEqual(resolveTitlePage({ names: "A B" }, cfg).names, ["A B"]);
  fs.writeFileSync(cfg, JSON.stringify({ name: ["typo"] }));
  assert.throws(() => readConfig(cfg), /Unknown key "name"/);
  fs.writeFileSync(cfg, JSON.stringify({ names: "Ada" }));
  assert.throws(() => readConfig(cfg), /"names" .* list of strings, but got "Ada"/);
});

test("the document has title page, contents linking every notebook heading, sections in order", () => {
  const dir = tmp();
  const files = writeFixtures(dir);
  const doc = buildWorkbookHtml({
    titlePage: { title: "Sheet", names: ["Ada Lovelace", "Alan Turing"], date: "1 December 2025" },
    notebookFiles: files,
  });
  const html = doc.html;
  assert.ok(html.indexOf("Ada Lovelace") < html.indexOf('id="contents"'));
  for (const nb of doc.notebooks)
    for (const h of nb.headings) assert.ok(html.includes(`href="#${h.id}"`), h.id);
  assert.ok(html.indexOf("01-dsm.ipynb</div>") < html.indexOf("02-diffusion.ipynb</div>"));
  assert.ok(!/<script/i.test(html), "no JavaScript in the page");
  assert.ok(
    !/url\((?!data:)/.test(html),
    "every url() in the styles is a data URI (views offline)",
  );
  assert.ok(!/src="(?!data:)/.test(html), "every image is embedded");
  assert.throws(
    () =>
      buildWorkbookHtml({ titlePage: { title: "S", names: [], date: "d" }, notebookFiles: files }),
    /non-empty group member name/,
  );
});

test("notebooks 04 and later print after an Appendix divider, listed in the contents; --no-appendix drops them", () => {
  const dir = tmp();
  const [first, second] = writeFixtures(dir);
  const beyond = path.join(dir, "04-beyond.ipynb");
  fs.copyFileSync(second, beyond);
  assert.equal(isAppendixNotebook("04-beyond.ipynb"), true);
  assert.equal(isAppendixNotebook("03-equivariant-energy.ipynb"), false);
  assert.equal(isAppendixNotebook("notes.ipynb"), false);
  const titlePage = { title: "Sheet", names: ["Ada Lovelace"], date: "1 December 2025" };
  const html = buildWorkbookHtml({ titlePage, notebookFiles: [first, second, beyond] }).html;
  const divider = html.indexOf('<section class="appendix" id="appendix">');
  assert.ok(divider > html.indexOf("02-diffusion.ipynb</div>"), "after the sheet's notebooks");
  assert.ok(divider < html.indexOf("04-beyond.ipynb</div>"), "before the appendix notebook");
  assert.equal(html.split('class="appendix"').length - 1, 1, "one divider");
  assert.match(html, /<a href="#appendix">Appendix — beyond the sheet<\/a>/);
  const sheetOnly = buildWorkbookHtml({
    titlePage,
    notebookFiles: [first, second, beyond],
    appendix: false,
  }).html;
  assert.ok(!sheetOnly.includes("04-beyond.ipynb") && !sheetOnly.includes('id="appendix"'));
  assert.throws(
    () => buildWorkbookHtml({ titlePage, notebookFiles: [beyond], appendix: false }),
    /at least one notebook of the sheet/,
  );
});

test("freshness: missing, complete and stale builds are told apart", () => {
  const root = tmp();
  const paths = {
    notebooksDir: path.join(root, "notebooks"),
    buildDir: path.join(root, "build", "notebooks"),
    srcDir: path.join(root, "src"),
  };
  writeFixtures(paths.notebooksDir);
  fs.mkdirSync(path.join(paths.srcDir, "export"), { recursive: true });
  fs.writeFileSync(path.join(paths.srcDir, "schedule.ts"), "export {};");
  assert.match(checkExecuted(paths).staleReason ?? "", /no executed notebooks/);
  writeFixtures(paths.buildDir, {});
  fs.rmSync(path.join(paths.buildDir, "02-diffusion.ipynb"));
  assert.match(checkExecuted(paths).staleReason ?? "", /not yet executed: 02-diffusion\.ipynb/);
  writeFixtures(paths.buildDir);
  const past = new Date(Date.now() - 60_000);
  for (const f of fs.readdirSync(paths.notebooksDir))
    fs.utimesSync(path.join(paths.notebooksDir, f), past, past);
  fs.utimesSync(path.join(paths.srcDir, "schedule.ts"), past, past);
  const fresh = checkExecuted(paths);
  assert.equal(fresh.staleReason, null);
  assert.deepEqual(
    fresh.files.map((f) => path.basename(f)),
    ["01-dsm.ipynb", "02-diffusion.ipynb"],
  );
  fs.writeFileSync(path.join(paths.srcDir, "export", "pdf.ts"), "export {};"); // the exporter itself does not count
  assert.equal(checkExecuted(paths).staleReason, null);
  // A quick-mode run (marked by the runner in the notebook metadata) does not count when the full run is asked for.
  const first = fresh.files[0];
  const nb = JSON.parse(fs.readFileSync(first, "utf8"));
  fs.writeFileSync(
    first,
    JSON.stringify({ ...nb, metadata: { ...nb.metadata, workbook: { quick: true } } }),
  );
  assert.equal(checkExecuted(paths).staleReason, null);
  assert.match(
    checkExecuted(paths, { requireFull: true }).staleReason ?? "",
    /01-dsm\.ipynb was run in quick mode/,
  );
  fs.writeFileSync(path.join(paths.srcDir, "schedule.ts"), "export const changed = 1;");
  assert.match(checkExecuted(paths).staleReason ?? "", /schedule\.ts changed after the last run/);
});

test("a failing workbook run is reported with its exit code", async () => {
  await assert.rejects(
    runWorkbook(tmp(), { quick: true, command: [process.execPath, "-e", "process.exit(3)"] }),
    (err: unknown) => err instanceof WorkbookRunError && /exit code 3/.test(err.message),
  );
  await runWorkbook(tmp(), { quick: true, command: [process.execPath, "-e", ""] });
});

test("browser discovery: CHROME_PATH first; a bad one is an error with install advice when discovery is off", async () => {
  const dir = tmp();
  const fake = path.join(dir, "chrome");
  fs.writeFileSync(fake, "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  const found = await findBrowser({ env: { CHROME_PATH: fake }, discover: false });
  assert.equal(found.executablePath, fake);
  assert.equal(found.source, "CHROME_PATH");
  await assert.rejects(
    findBrowser({
      env: { CHROME_PATH: path.join(dir, "missing") },
      discover: false,
      platform: "linux",
    }),
    (err: unknown) =>
      err instanceof BrowserNotFoundError &&
      /missing is not an executable file/.test(err.message) &&
      /sudo apt-get install chromium/.test(err.message) &&
      /`npm ci` installs @sparticuz\/chromium/.test(err.message),
  );
  // A browser that exists but cannot start is reported the same way, naming the executable.
  await assert.rejects(
    launchBrowser(found, 10_000),
    (err: unknown) =>
      err instanceof BrowserNotFoundError &&
      err.message.includes(fake) &&
      /did not start/.test(err.message),
  );
});

test("browser discovery knows the macOS and Windows install locations", () => {
  assert.ok(
    systemBrowserCandidates("darwin", {}).includes(
      "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ),
  );
  const win = systemBrowserCandidates("win32", { PROGRAMFILES: "C:\\Program Files" });
  assert.ok(win.includes("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"));
  assert.ok(win.includes("C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe"));
  assert.ok(
    systemBrowserCandidates("linux", { PATH: "/opt/x/bin" }).includes("/opt/x/bin/chromium"),
  );
  assert.ok(fixturePng("x").length > 100);
});
