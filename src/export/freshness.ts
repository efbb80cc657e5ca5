/**
 * Are the executed notebooks (the headless run's output) up to date with their sources?
 * And if not, run the workbook (`npm run workbook`) to refresh them.
 */
import * as fs from "fs";
import * as path from "path";
import { spawn } from "child_process";

/** Where things live, relative to the project root. */
export interface WorkbookPaths {
  /** Source notebooks (clean, without outputs). */
  notebooksDir: string;
  /** Executed notebooks written by the headless run. */
  buildDir: string;
  /** Library sources the notebooks run. */
  srcDir: string;
}

/** The project layout: notebooks/, build/notebooks/, src/. */
export function defaultWorkbookPaths(root: string): WorkbookPaths {
  return {
    notebooksDir: path.join(root, "notebooks"),
    buildDir: path.join(root, "build", "notebooks"),
    srcDir: path.join(root, "src"),
  };
}

/**
 * The workbook's notebooks in `dir`, in document order: file names NN-*.ipynb or NNx-*.ipynb
 * (e.g. 02a-two-moons.ipynb), sorted. Other notebooks in the folder (a student's scratch
 * "Untitled.ipynb") are not part of the workbook. [] when `dir` does not exist.
 */
/**
 * The first notebook number of the appendix: notebooks 01–03 answer the sheet (the hand-in proper),
 * 04 and later go beyond it and are printed after an "Appendix" divider.
 */
export const APPENDIX_FROM = 4;

/** Whether a workbook notebook (by file name, e.g. "04-samplers.ipynb") belongs to the appendix. */
export function isAppendixNotebook(file: string): boolean {
  const m = /^(\d\d)[a-z]?-/.exec(path.basename(file));
  return m !== null && Number(m[1]) >= APPENDIX_FROM;
}

export function workbookNotebookNames(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d\d[a-z]?-.*\.ipynb$/.test(f))
    .sort();
}

/** Newest modification time (ms) of the files below `dir`, skipping `skip` folders. */
function newestMtime(dir: string, skip: Set<string>): { mtime: number; file: string | null } {
  let best = { mtime: 0, file: null as string | null };
  if (!fs.existsSync(dir)) return best;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (skip.has(p) || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const sub = newestMtime(p, skip);
      if (sub.mtime > best.mtime) best = sub;
    } else if (entry.isFile()) {
      const m = fs.statSync(p).mtimeMs;
      if (m > best.mtime) best = { mtime: m, file: p };
    }
  }
  return best;
}

/** Result of `checkExecuted`. */
export interface Freshness {
  /** Executed notebook files in document order (those that exist). */
  files: string[];
  /** Null when up to date; else why a run is needed. */
  staleReason: string | null;
}

/**
 * Compare build/notebooks with notebooks/ and src/ (src/export/ excluded: the exporter does not
 * change what the notebooks compute). With `requireFull`, a quick-mode run is stale too. Document
 * order = the source notebooks' names sorted; without a notebooks/ folder, the build folder's own
 * listing.
 */
export function checkExecuted(
  paths: WorkbookPaths,
  options: { requireFull?: boolean } = {},
): Freshness {
  const sources = workbookNotebookNames(paths.notebooksDir);
  const built = workbookNotebookNames(paths.buildDir);
  const names = sources.length > 0 ? sources : built;
  const files = names.filter((n) => built.includes(n)).map((n) => path.join(paths.buildDir, n));
  if (built.length === 0)
    return { files, staleReason: `no executed notebooks in ${paths.buildDir}` };
  const missing = sources.filter((n) => !built.includes(n));
  if (missing.length > 0) return { files, staleReason: `not yet executed: ${missing.join(", ")}` };
  const oldest = Math.min(...files.map((f) => fs.statSync(f).mtimeMs));
  const skip = new Set([path.join(paths.srcDir, "export")]);
  for (const dir of [paths.notebooksDir, paths.srcDir]) {
    const newest = newestMtime(dir, skip);
    if (newest.file !== null && newest.mtime > oldest) {
      return { files, staleReason: `${newest.file} changed after the last run` };
    }
  }
  if (options.requireFull) {
    const quick = files.find((f) => ranQuick(f));
    if (quick !== undefined)
      return {
        files,
        staleReason: `${path.basename(quick)} was run in quick mode and the full run was asked for`,
      };
  }
  return { files, staleReason: null };
}

/**
 * Whether the runner marked an executed notebook as a quick-mode run
 * (notebook metadata `"workbook": {"quick": true}`); false when unmarked or unreadable.
 */
export function ranQuick(file: string): boolean {
  try {
    const nb = JSON.parse(fs.readFileSync(file, "utf8")) as {
      metadata?: { workbook?: { quick?: unknown } };
    };
    return nb.metadata?.workbook?.quick === true;
  } catch {
    return false;
  }
}

/** The workbook run failed (a cell error, or the runner could not start). */
export class WorkbookRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkbookRunError";
  }
}

/**
 * Run a command (default `npm run workbook -- --no-pdf [--quick]`: the export itself follows) with
 * inherited stdio. Resolves on exit code 0; rejects with a `WorkbookRunError` naming the exit code
 * otherwise.
 */
export function runWorkbook(
  cwd: string,
  options: { quick: boolean; command?: string[] },
): Promise<void> {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const cmd = options.command ?? [
    npm,
    "run",
    "workbook",
    "--",
    "--no-pdf",
    ...(options.quick ? ["--quick"] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), {
      cwd,
      stdio: "inherit",
      shell: process.platform === "win32",
    });
    child.on("error", (err) =>
      reject(new WorkbookRunError(`Could not start ${cmd.join(" ")}: ${err.message}`)),
    );
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else {
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(
          new WorkbookRunError(
            `The workbook run (${cmd.join(" ")}) failed with ${how}; no PDF was made. ` +
              `Its message is above.`,
          ),
        );
      }
    });
  });
}
