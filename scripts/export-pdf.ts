/**
 * npm run pdf -- --names "Ada Lovelace, Alan Turing" [--quick]
 *
 * One PDF of the whole executed workbook (title page with names and date, contents, every
 * notebook with math, code, outputs and plots, page numbers), plus the same content as one
 * self-contained HTML file. See `--help`.
 */
import * as path from "path";
import { parseArgs } from "util";
import { BrowserNotFoundError } from "../src/export/browser";
import { resolveTitlePage } from "../src/export/config";
import {
  exportWorkbook,
  MissingNotebooksError,
  type ExportOptions,
} from "../src/export/export-workbook";
import { WorkbookRunError } from "../src/export/freshness";
import { NotebookOutputError } from "../src/export/notebook-html";

const HELP = `Usage: npm run pdf -- [options]

Writes build/workbook.pdf and build/workbook.html from the executed notebooks in
build/notebooks/. If they are missing or older than notebooks/ or src/, runs the
workbook first (npm run workbook) and says so.

Options:
  --names "A, B"        group members' names (else "names" in workbook.config.json)
  --config FILE         title-page config (default: workbook.config.json)
  --title TEXT          sheet title on the title page
  --date TEXT           date line (default: today)
  --quick               if the workbook must run, run it in quick mode
  --rerun               always run the workbook first (with --quick: quick mode)
  --no-run              never run the workbook: missing notebooks are an error, stale ones a warning
  --notebooks DIR       export the executed notebooks in DIR as they are (no run)
  --out FILE            PDF to write (default: build/workbook.pdf); HTML beside it (.html)
  --html FILE           HTML to write (default: the PDF's name with .html)
  --html-only           write only the HTML (no browser needed)
  --no-appendix         leave out the beyond-the-sheet notebooks (04 and later)
  --no-browser-discovery  use CHROME_PATH only (no search of system locations)
  -h, --help            this text

Browser: CHROME_PATH, else system Chrome/Chromium/Edge, else the Chromium inside the
npm package @sparticuz/chromium (installed by npm ci; Linux x64), unpacked once into
node_modules/.cache/. The export prints which browser made the PDF.
Notebooks may come from others: their HTML is sanitized, the print page runs no
JavaScript and loads no file but itself.
Environment: CHROME_PATH=/path/to/chrome; WORKBOOK_BROWSER_DISCOVERY=0 (same as
--no-browser-discovery); WORKBOOK_NO_SANDBOX=1 (pass --no-sandbox also when not root);
WORKBOOK_CHROMIUM_DIR=DIR (unpack the packaged Chromium under DIR).

Exit codes: 0 done; 1 unexpected failure; 2 bad arguments or no names;
3 executed notebooks missing or holding an error; 4 no browser (the HTML is kept).`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        names: { type: "string" },
        config: { type: "string" },
        title: { type: "string" },
        date: { type: "string" },
        quick: { type: "boolean" },
        rerun: { type: "boolean" },
        "no-run": { type: "boolean" },
        notebooks: { type: "string" },
        out: { type: "string" },
        html: { type: "string" },
        "html-only": { type: "boolean" },
        "no-appendix": { type: "boolean" },
        "no-browser-discovery": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values["no-run"] && values.rerun) {
    console.error("Expected at most one of --no-run and --rerun, but got both");
    return 2;
  }
  const root = process.cwd();
  let titlePage;
  try {
    titlePage = resolveTitlePage(
      { names: values.names, title: values.title, date: values.date },
      path.resolve(root, values.config ?? "workbook.config.json"),
    );
  } catch (err) {
    console.error(`Error: ${(err as Error).message}`);
    return 2;
  }
  const quick = values.quick === true;
  const run: ExportOptions["run"] = values["no-run"]
    ? "never"
    : values.rerun
      ? quick
        ? "always-quick"
        : "always-full"
      : quick
        ? "quick"
        : "full";
  const pdfFile = path.resolve(root, values.out ?? path.join("build", "workbook.pdf"));
  try {
    await exportWorkbook({
      root,
      titlePage,
      pdfFile,
      htmlFile: values.html !== undefined ? path.resolve(root, values.html) : undefined,
      notebooksDir:
        values.notebooks !== undefined ? path.resolve(root, values.notebooks) : undefined,
      run,
      htmlOnly: values["html-only"] === true,
      appendix: values["no-appendix"] !== true,
      find: values["no-browser-discovery"] ? { discover: false } : undefined,
    });
    return 0;
  } catch (err) {
    return reportExportError(err);
  }
}

/** Print an export failure the way a user needs it and return the exit code (see HELP). */
export function reportExportError(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof BrowserNotFoundError) {
    console.error(`Error: ${message}\nThe HTML version was written and kept; no PDF was made.`);
    return 4;
  }
  if (err instanceof NotebookOutputError || err instanceof MissingNotebooksError) {
    console.error(`Error: ${message}\nNo PDF was made.`);
    return 3;
  }
  if (err instanceof WorkbookRunError) {
    console.error(`Error: ${message}`);
    return 3;
  }
  console.error(err instanceof Error && err.stack ? err.stack : message);
  return 1;
}

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}
