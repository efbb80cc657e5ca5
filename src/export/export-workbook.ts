/**
 * The hand-in export: executed notebooks -> one self-contained HTML file -> one PDF.
 * `scripts/export-pdf.ts` (npm run pdf) is the command-line front of `exportWorkbook`.
 */
import * as fs from "fs";
import * as path from "path";
import type { FindBrowserOptions } from "./browser";
import { checkExecuted, defaultWorkbookPaths, runWorkbook, type WorkbookPaths } from "./freshness";
import { namedDestinationPages } from "./pdf-pages";
import { startPrinter, type Printer } from "./pdf";
import {
  buildWorkbookHtml,
  tocTargets,
  withTocPages,
  type NotebookSummary,
  type TitlePage,
} from "./workbook-html";

/** Options for `exportWorkbook`. */
export interface ExportOptions {
  /** Project root (holds notebooks/, src/, build/). */
  root: string;
  titlePage: TitlePage;
  /** PDF to write; the HTML goes beside it with extension .html unless `htmlFile` is given. */
  pdfFile: string;
  htmlFile?: string;
  /** Executed notebooks folder given explicitly: use it as is (no freshness check, no run). */
  notebooksDir?: string;
  /**
   * How to refresh stale notebooks: "quick" or "full" run, "never" (missing -> error, stale ->
   * warning), "always".
   */
  run: "quick" | "full" | "never" | "always-quick" | "always-full";
  /** Skip the PDF (HTML only). */
  htmlOnly?: boolean;
  /** Browser discovery options. */
  find?: FindBrowserOptions;
  /** Progress messages (default: stderr). */
  log?: (msg: string) => void;
  /** Overrides the workbook command (tests). */
  workbookCommand?: string[];
  /** Include the beyond-the-sheet appendix (default true). */
  appendix?: boolean;
}

/** What was produced. */
export interface ExportResult {
  htmlFile: string;
  /** Null when `htmlOnly`. */
  pdfFile: string | null;
  notebooks: NotebookSummary[];
  /** Pages in the PDF (counted from its page objects), null when not printed. */
  pages: number | null;
  /**
   * The browser that printed, e.g. "HeadlessChrome/147.0.7727.0 from npm package ..."; null when
   * not printed.
   */
  browser: string | null;
  /** Seconds for the export itself (HTML + PDF), not counting a workbook run. */
  seconds: number;
}

/** Executed notebooks are missing and running them was not allowed. */
export class MissingNotebooksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingNotebooksError";
  }
}

/** Number of pages of a PDF written by Chromium (Skia writes each page as `/Type /Page`). */
export function countPdfPages(pdfFile: string): number {
  const text = fs.readFileSync(pdfFile).toString("latin1");
  return (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}

async function executedNotebooks(
  options: ExportOptions,
  log: (msg: string) => void,
): Promise<string[]> {
  if (options.notebooksDir !== undefined) {
    const dir = options.notebooksDir;
    const files = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith(".ipynb"))
          .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
      : [];
    if (files.length === 0)
      throw new MissingNotebooksError(`No executed notebooks (*.ipynb) in ${dir}`);
    return files.map((f) => path.join(dir, f));
  }
  const paths: WorkbookPaths = defaultWorkbookPaths(options.root);
  const requireFull = options.run === "full" || options.run === "always-full";
  let state = checkExecuted(paths, { requireFull });
  const always = options.run === "always-quick" || options.run === "always-full";
  if (state.staleReason !== null || always) {
    if (options.run === "never") {
      if (state.files.length === 0) {
        throw new MissingNotebooksError(
          `No executed notebooks to export (${state.staleReason}).\nRun the workbook first (npm ` +
            `run workbook -- --quick), or drop --no-run so the export runs it.`,
        );
      }
      log(
        `Warning: executed notebooks may be out of date (${state.staleReason}); exporting them ` +
          `anyway (--no-run).`,
      );
    } else {
      const quick = options.run === "quick" || options.run === "always-quick";
      const why = always ? "asked to re-run" : state.staleReason;
      log(
        `Running the workbook first (${quick ? "quick" : "full"} mode) because ${why}: npm run ` +
          `workbook${quick ? " -- --quick" : ""}`,
      );
      await runWorkbook(options.root, { quick, command: options.workbookCommand });
      state = checkExecuted(paths, { requireFull });
      if (state.files.length === 0) {
        throw new MissingNotebooksError(
          `The workbook run finished but wrote no executed notebooks into ${paths.buildDir}`,
        );
      }
    }
  }
  return state.files;
}

/**
 * Print, then fill the contents' page numbers from where the headings landed and print again
 * (up to twice more, until the numbers stop moving). If the PDF's link targets cannot be read,
 * the first print stands, without numbers.
 */
async function printWithTocPages(
  printer: Printer,
  html: string,
  pdfFile: string,
  log: (msg: string) => void,
): Promise<void> {
  try {
    await printer.print(writeTemp(pdfFile, html), pdfFile);
    const targets = tocTargets(html);
    let pages = namedDestinationPages(pdfFile);
    for (let pass = 0; pass < 2; pass++) {
      const missing = targets.filter((id) => !pages.has(id));
      if (missing.length > 0) {
        log(
          `Note: page numbers for the contents not found for ${missing.length} heading(s); ` +
            `contents printed without them.`,
        );
        break;
      }
      await printer.print(writeTemp(pdfFile, withTocPages(html, pages)), pdfFile);
      const after = namedDestinationPages(pdfFile);
      if (targets.every((id) => after.get(id) === pages.get(id))) break;
      pages = after;
    }
  } finally {
    fs.rmSync(tempHtml(pdfFile), { force: true });
  }
}

function tempHtml(pdfFile: string): string {
  return `${pdfFile}.print.html`;
}

function writeTemp(pdfFile: string, html: string): string {
  fs.writeFileSync(tempHtml(pdfFile), html);
  return tempHtml(pdfFile);
}

/**
 * Export the workbook. The HTML is written first and kept even if printing fails
 * (e.g. `BrowserNotFoundError`, whose message says what to install).
 */
export async function exportWorkbook(options: ExportOptions): Promise<ExportResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const files = await executedNotebooks(options, log);
  const t0 = Date.now(); // export time only, without a workbook run
  const doc = buildWorkbookHtml({
    titlePage: options.titlePage,
    notebookFiles: files,
    appendix: options.appendix,
  });
  for (const nb of doc.notebooks) {
    for (const p of nb.mathProblems)
      log(`Warning: ${nb.file}: KaTeX could not typeset ${JSON.stringify(p.tex)}: ${p.message}`);
  }
  const htmlFile = options.htmlFile ?? options.pdfFile.replace(/\.pdf$/i, "") + ".html";
  fs.mkdirSync(path.dirname(htmlFile), { recursive: true });
  fs.writeFileSync(htmlFile, doc.html);
  log(
    `Wrote ${htmlFile} (${files.length} notebooks, ` +
      `${doc.notebooks.reduce((s, n) => s + n.images, 0)} images, ` +
      `${(doc.html.length / 1e6).toFixed(1)} MB)`,
  );
  if (options.htmlOnly) {
    return {
      htmlFile,
      pdfFile: null,
      notebooks: doc.notebooks,
      pages: null,
      browser: null,
      seconds: (Date.now() - t0) / 1000,
    };
  }
  fs.mkdirSync(path.dirname(options.pdfFile), { recursive: true });
  const printer = await startPrinter({
    find: options.find,
    footerLeft: options.titlePage.names.join(", "),
    log,
  });
  try {
    await printWithTocPages(printer, doc.html, options.pdfFile, log);
  } finally {
    await printer.close();
  }
  const choice = printer.choice;
  const pages = countPdfPages(options.pdfFile);
  const seconds = (Date.now() - t0) / 1000;
  const browser = `${printer.version} from ${choice.source}`;
  log(`Wrote ${options.pdfFile} (${pages} pages, browser: ${browser}, ${seconds.toFixed(1)} s)`);
  return {
    htmlFile,
    pdfFile: options.pdfFile,
    notebooks: doc.notebooks,
    pages,
    browser,
    seconds,
  };
}
