/**
 * Headless run of the workbook: execute every notebooks/NN-*.ipynb top to bottom and write
 * the executed copies (with outputs) to build/notebooks/, leaving the sources untouched.
 *
 *   npm run workbook                       # full settings (the sheet's 100k training steps)
 *   npm run workbook -- --quick            # WORKBOOK_QUICK=1: few steps, for tests and CI
 *   npm run workbook -- --kernel=jupyter   # real Jupyter kernel protocol (nbclient + tslab kernel)
 *   npm run workbook -- --kernel=inprocess # tslab's own executor in a child Node process, no Python
 *   npm run workbook -- notebooks/02-*.ipynb --out=DIR --timeout=SEC
 *   npm run workbook -- --names="A, B"     # names for the hand-in PDF's title page (or workbook.config.json)
 *   npm run workbook -- --no-pdf           # only execute the notebooks
 *   npm run workbook -- --no-appendix      # the sheet's notebooks only (01–03), not 04 and later
 *
 * After a successful run of the whole workbook, the hand-in is exported: build/workbook.pdf and
 * build/workbook.html (see scripts/export-pdf.ts). The names are checked before anything runs.
 *
 * --kernel=auto (default) uses Jupyter when a Python with nbclient is found, else in-process.
 * Any failing cell stops the run: the notebook, the cell number and the message are printed and
 * the exit status is 1. A cell fails when the kernel reports status=error (tslab sends no `error`
 * message; its message is on stderr) or when its stderr shows an uncaught exception or unhandled
 * promise rejection (tslab only logs those).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { resolveTitlePage } from "../src/export/config";
import { exportWorkbook } from "../src/export/export-workbook";
import { isAppendixNotebook, workbookNotebookNames } from "../src/export/freshness";
import type { TitlePage } from "../src/export/workbook-html";
import { reportExportError } from "./export-pdf";

const ROOT = path.resolve(__dirname, "..");

/** Which executor runs the cells. */
export type KernelMode = "inprocess" | "jupyter";

/** Options of `runNotebooks`. */
export interface RunOptions {
  kernel: KernelMode | "auto";
  quick: boolean;
  /** Notebook files to run, in order. */
  notebooks: string[];
  /** Folder for the executed copies. */
  outDir: string;
  /** Per-cell time limit in seconds for the Jupyter back-end (0 = none). */
  timeoutSec: number;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

/** A failed cell: where and why. */
export interface CellFailure {
  notebook: string;
  /** 1-based position among all cells of the notebook (as shown by JupyterLab's cell count). */
  cell: number;
  message: string;
}

interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
}
interface NbCell {
  cell_type: string;
  source: string | string[];
  outputs?: NbOutput[];
}
interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
}

interface CellEvent {
  event: "start" | "done" | "error" | "finished" | "crash";
  cell?: number;
  seconds?: number;
  detail?: string;
  kind?: string;
  message?: string;
  notebook?: Notebook;
}

const text = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join("") : (t ?? ""));

/** Python interpreter with nbclient, or null. `WORKBOOK_PYTHON` overrides the search. */
export function findJupyterPython(): string | null {
  const candidates = [process.env.WORKBOOK_PYTHON, "/usr/bin/python3", "python3", "python"].filter(
    (c): c is string => !!c,
  );
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import nbclient, nbformat, jupyter_client"], {
      stdio: "ignore",
    });
    if (r.status === 0) return py;
  }
  return null;
}

/**
 * Write a tslab kernelspec that starts this project's tslab with this Node (no PATH needed) and
 * return its JUPYTER_PATH entry. Default: a private one under build/jupyter for headless runs;
 * scripts/install-kernel.ts writes the same spec into the user's Jupyter data folder.
 */
export function writeKernelSpec(dir: string = path.join(ROOT, "build", "jupyter")): string {
  const specDir = path.join(dir, "kernels", "tslab");
  fs.mkdirSync(specDir, { recursive: true });
  const tslabBin = require.resolve("tslab/bin/tslab", { paths: [ROOT] });
  const spec = {
    argv: [process.execPath, tslabBin, "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (tslab, workbook)",
    language: "typescript",
  };
  fs.writeFileSync(path.join(specDir, "kernel.json"), JSON.stringify(spec, null, 2));
  return dir;
}

/** Stderr text of a cell, and whether it reports an exception tslab only logged. */
function cellStderr(cell: NbCell): { stderr: string; uncaught: boolean } {
  const stderr = (cell.outputs ?? [])
    .filter((o) => o.output_type === "stream" && o.name === "stderr")
    .map((o) => text(o.text))
    .join("");
  return { stderr, uncaught: /(^|\n)(UncaughtException|UnhandledPromiseRejection):/.test(stderr) };
}

function lastLines(s: string, n: number): string {
  const lines = s.trimEnd().split("\n");
  return (lines.length > n ? ["...", ...lines.slice(-n)] : lines).join("\n");
}

/** Run one notebook in a child process; resolve with the executed notebook and the failing cell index, if any. */
function runChild(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; ipc: boolean; outFile: string },
  onEvent: (e: CellEvent) => void,
): Promise<{
  notebook: Notebook | null;
  failedCell: number | null;
  detail: string;
  exitCode: number | null;
  stderr: string;
}> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: opts.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    });
    let notebook: Notebook | null = null;
    let failedCell: number | null = null;
    let detail = "";
    let stderr = "";
    let stdoutBuf = "";
    const handle = (e: CellEvent) => {
      if (e.event === "finished" && e.notebook) notebook = e.notebook;
      else if (e.event === "error") {
        failedCell = e.cell ?? null;
        detail = e.detail ?? "";
      } else if (e.event === "crash") detail = e.message ?? "";
      onEvent(e);
    };
    child.on("message", (m) => handle(m as CellEvent));
    child.stdout!.on("data", (d: Buffer) => {
      stdoutBuf += d.toString("utf8");
      let nl: number;
      while ((nl = stdoutBuf.indexOf("\n")) >= 0) {
        const line = stdoutBuf.slice(0, nl).trim();
        stdoutBuf = stdoutBuf.slice(nl + 1);
        if (!opts.ipc && line.startsWith("{")) {
          try {
            handle(JSON.parse(line) as CellEvent);
            continue;
          } catch {
            /* not an event line */
          }
        }
        if (line) stderr += line + "\n";
      }
    });
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("close", (code) => {
      if (!opts.ipc && fs.existsSync(opts.outFile))
        notebook = JSON.parse(fs.readFileSync(opts.outFile, "utf8"));
      resolve({ notebook, failedCell, detail, exitCode: code, stderr });
    });
  });
}

/**
 * Execute `notebooks` in order. Returns null when all cells of all notebooks succeeded,
 * else the first failure (the run stops there). Executed copies go to `outDir`
 * (also for a failed notebook, up to and including the failing cell).
 */
export async function runNotebooks(options: RunOptions): Promise<CellFailure | null> {
  const log = options.log ?? ((l: string) => console.log(l));
  let kernel: KernelMode;
  let python: string | null = null;
  if (options.kernel === "inprocess") kernel = "inprocess";
  else {
    python = findJupyterPython();
    if (options.kernel === "jupyter" && !python) {
      throw new Error(
        "Expected a Python with nbclient for --kernel=jupyter (e.g. apt-get install jupyter-nbconvert), but found none",
      );
    }
    kernel = python ? "jupyter" : "inprocess";
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.quick) env.WORKBOOK_QUICK = "1";
  env.PATH = [path.join(ROOT, "node_modules", ".bin"), process.env.PATH]
    .filter(Boolean)
    .join(path.delimiter);
  if (kernel === "jupyter") {
    env.JUPYTER_PATH = [writeKernelSpec(), process.env.JUPYTER_PATH]
      .filter(Boolean)
      .join(path.delimiter);
  }
  log(
    `Running ${options.notebooks.length} notebook(s) with the ${kernel === "jupyter" ? `Jupyter kernel protocol (${python}, nbclient, tslab kernel)` : "in-process tslab executor"}, ${options.quick ? "quick" : "full"} settings -> ${path.relative(process.cwd(), options.outDir) || "."}`,
  );

  for (const nbPath of options.notebooks) {
    const name = path.basename(nbPath);
    const source = JSON.parse(fs.readFileSync(nbPath, "utf8")) as Notebook;
    const nCells = source.cells.length;
    const outFile = path.join(options.outDir, name);
    if (fs.existsSync(outFile)) fs.unlinkSync(outFile);
    const t0 = Date.now();
    log(`${name}: ${nCells} cells`);
    const onEvent = (e: CellEvent) => {
      if (e.event === "done")
        log(`  ${name} cell ${e.cell! + 1}/${nCells} ok (${e.seconds!.toFixed(1)} s)`);
      if (e.event === "error")
        log(`  ${name} cell ${e.cell! + 1}/${nCells} FAILED (${e.seconds!.toFixed(1)} s)`);
    };
    const result =
      kernel === "jupyter"
        ? await runChild(
            python!,
            [
              path.join(ROOT, "scripts", "execute-notebook.py"),
              path.resolve(nbPath),
              path.resolve(outFile),
              "tslab",
              String(options.timeoutSec),
            ],
            { cwd: path.dirname(path.resolve(nbPath)), env, ipc: false, outFile },
            onEvent,
          )
        : await runChild(
            process.execPath,
            [path.join(ROOT, "scripts", "inprocess-kernel.js"), path.resolve(nbPath)],
            { cwd: path.dirname(path.resolve(nbPath)), env, ipc: true, outFile },
            onEvent,
          );
    const nb = result.notebook;
    if (nb) {
      // Stamp the mode, so the PDF export can tell a quick run from the sheet's full settings.
      nb.metadata = { ...nb.metadata, workbook: { quick: options.quick, kernel } };
      fs.writeFileSync(outFile, JSON.stringify(nb, null, 1) + "\n");
    }
    if (!nb) {
      return {
        notebook: nbPath,
        cell: 0,
        message: `the executor stopped before writing the notebook (exit ${result.exitCode}): ${lastLines(result.detail || result.stderr, 30)}`,
      };
    }
    // The failing cell: the one the kernel reported, else the first with an only-logged exception.
    let failed = result.failedCell;
    if (failed === null) {
      const i = nb.cells.findIndex((c) => c.cell_type === "code" && cellStderr(c).uncaught);
      if (i >= 0) failed = i;
    }
    if (failed === null && result.exitCode !== 0) {
      return {
        notebook: nbPath,
        cell: 0,
        message: `executor exited with ${result.exitCode}: ${lastLines(result.detail || result.stderr, 30)}`,
      };
    }
    if (failed !== null) {
      const cell = nb.cells[failed];
      const { stderr } = cellStderr(cell);
      const message = lastLines(stderr || result.detail || "(no message on stderr)", 30);
      return { notebook: nbPath, cell: failed + 1, message };
    }
    log(
      `${name}: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path.relative(process.cwd(), outFile)}`,
    );
  }
  return null;
}

/** Paths of the workbook's notebooks in `dir`, in order (see `workbookNotebookNames`). */
export function listNotebooks(dir: string): string[] {
  return workbookNotebookNames(dir).map((f) => path.join(dir, f));
}

/** The command line: what to run, and whether (and for whom) to export the PDF afterwards. */
interface MainOptions extends RunOptions {
  pdf: boolean;
  /** Run and print the beyond-the-sheet notebooks (04 and later) too. */
  appendix: boolean;
  names?: string;
  config: string;
}

function parseArgs(argv: string[]): MainOptions {
  const opts: MainOptions = {
    pdf: true,
    appendix: true,
    config: path.join(ROOT, "workbook.config.json"),
    kernel: "auto",
    quick: process.env.WORKBOOK_QUICK === "1",
    notebooks: [],
    outDir: path.join(ROOT, "build", "notebooks"),
    timeoutSec: 0,
  };
  const takesValue = new Set(["--kernel", "--out", "--names", "--config", "--timeout"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let [key, value] = arg.split(/=(.*)/s, 2);
    // Both --names="A, B" and --names "A, B".
    if (value === undefined && takesValue.has(key)) {
      if (i + 1 >= argv.length) throw new Error(`Expected a value after ${key}`);
      value = argv[++i];
    }
    if (key === "--quick") opts.quick = true;
    else if (key === "--kernel") {
      if (value !== "inprocess" && value !== "jupyter" && value !== "auto") {
        throw new Error(`Expected --kernel=inprocess|jupyter|auto, but got --kernel=${value}`);
      }
      opts.kernel = value;
    } else if (key === "--out") opts.outDir = path.resolve(value);
    else if (key === "--no-pdf") opts.pdf = false;
    else if (key === "--no-appendix") opts.appendix = false;
    else if (key === "--names") opts.names = value;
    else if (key === "--config") opts.config = path.resolve(value);
    else if (key === "--timeout") {
      opts.timeoutSec = Number(value);
      if (!(opts.timeoutSec >= 0))
        throw new Error(`Expected --timeout=SECONDS >= 0, but got ${value}`);
    } else if (arg.startsWith("--"))
      throw new Error(`Unknown option ${arg} (see the header of scripts/run-notebooks.ts)`);
    else if (fs.existsSync(arg) && fs.statSync(arg).isDirectory())
      opts.notebooks.push(...listNotebooks(arg));
    else if (fs.existsSync(arg)) opts.notebooks.push(arg);
    else throw new Error(`Expected a notebook file or folder, but got ${arg} (not found)`);
  }
  if (opts.notebooks.length === 0) opts.notebooks = listNotebooks(path.join(ROOT, "notebooks"));
  else opts.pdf = false; // a selection of notebooks is not the whole hand-in
  if (!opts.appendix) opts.notebooks = opts.notebooks.filter((f) => !isAppendixNotebook(f));
  return opts;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.notebooks.length === 0) {
    console.error("No notebooks named NN-*.ipynb found.");
    return 1;
  }
  if (!fs.existsSync(path.join(ROOT, "dist", "index.js"))) {
    console.error(
      "dist/ is missing: run `npm run build` first (the notebooks import the compiled library).",
    );
    return 1;
  }
  // Check the hand-in's names before a long run, not after it.
  let titlePage: TitlePage | null = null;
  if (opts.pdf) {
    try {
      titlePage = resolveTitlePage({ names: opts.names }, opts.config);
    } catch (err) {
      console.error(
        `Error: ${(err as Error).message}\nOr pass --no-pdf to only execute the notebooks.`,
      );
      return 2;
    }
  }
  if (titlePage) {
    // The hand-in is the whole outDir: drop executed copies of notebooks that no longer exist.
    // (with --no-appendix the appendix's executed copies stay: they are left out, not gone)
    const sources = listNotebooks(path.join(ROOT, "notebooks"));
    const current = new Set([...opts.notebooks, ...sources].map((f) => path.basename(f)));
    if (fs.existsSync(opts.outDir)) {
      for (const f of fs.readdirSync(opts.outDir))
        if (f.endsWith(".ipynb") && !current.has(f)) fs.unlinkSync(path.join(opts.outDir, f));
    }
  }
  const t0 = Date.now();
  const failure = await runNotebooks(opts);
  if (failure) {
    console.error(`\nFAILED: ${failure.notebook}, cell ${failure.cell}:\n${failure.message}`);
    return 1;
  }
  console.log(
    `\nAll ${opts.notebooks.length} notebook(s) ran without errors in ${((Date.now() - t0) / 1000).toFixed(1)} s.`,
  );
  if (!titlePage) return 0;
  try {
    const r = await exportWorkbook({
      root: ROOT,
      titlePage,
      pdfFile: path.join(ROOT, "build", "workbook.pdf"),
      notebooksDir: opts.outDir,
      run: "never",
      appendix: opts.appendix,
    });
    console.log(
      `Hand-in: ${path.relative(process.cwd(), r.pdfFile ?? r.htmlFile)} (${r.pages} pages) and ${path.relative(process.cwd(), r.htmlFile)}`,
    );
    return 0;
  } catch (err) {
    return reportExportError(err);
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(String((e as Error).message ?? e));
      process.exit(1);
    },
  );
}
