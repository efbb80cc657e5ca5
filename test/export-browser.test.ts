/**
 * The PDF on a machine with only Node: the Chromium that `npm ci` installs inside the npm
 * package @sparticuz/chromium (Linux x64). The export runs with every system browser hidden
 * (a private mount namespace, as root, binds /dev/null over them and an empty folder over the
 * system's font configuration), and must print a real PDF with the packaged Chromium and say so.
 * Then the traps of that package: a damaged copy, a copy of another version, and a binary left
 * in the temporary folder (where the package itself would look) must not stop the export.
 *
 * Where a check cannot run (not Linux x64, not root, no `unshare`, no poppler-utils) it is
 * SKIPPED with the reason.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  BrowserNotFoundError,
  launchBrowser,
  packagedChromium,
  packagedChromiumUnavailable,
  PACKAGED_CHROMIUM,
  systemBrowserCandidates,
  type BrowserChoice,
} from "../src/export/browser";
import { writeFixtures } from "./export-fixtures";

const ROOT = path.resolve(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const SCRIPT = path.join(ROOT, "scripts", "export-pdf.ts");
const PACKAGE_VERSION: string = (() => {
  try {
    const pj = path.join(ROOT, "node_modules", PACKAGED_CHROMIUM, "package.json");
    return (JSON.parse(fs.readFileSync(pj, "utf8")) as { version: string }).version;
  } catch {
    return "";
  }
})();
const MAJOR = PACKAGE_VERSION.split(".")[0];

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const cleanup: string[] = [];
after(() => {
  for (const d of cleanup) fs.rmSync(d, { recursive: true, force: true });
});

function hasTool(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** Why the packaged Chromium cannot be tried here (SKIPPED: ...), or false. */
function packagedSkipReason(): string | false {
  const why = packagedChromiumUnavailable();
  return why === null ? false : `SKIPPED: ${why}`;
}

/** Existing system browsers (and the real files behind them) that the export would find. */
function systemBrowsers(): string[] {
  const found = new Set<string>();
  for (const p of systemBrowserCandidates("linux", process.env)) {
    try {
      if (!fs.statSync(p).isFile()) continue;
      found.add(p);
      found.add(fs.realpathSync(p));
    } catch {
      // not there
    }
  }
  return [...found];
}

/** Why the system browsers cannot be hidden from a command here, or false. */
function hideSkipReason(toHide: string[]): string | false {
  if (toHide.length === 0) return false; // nothing to hide
  if (typeof process.getuid !== "function" || process.getuid() !== 0)
    return `SKIPPED: hiding the system browser (${toHide.join(", ")}) needs root for unshare -m`;
  const probe = spawnSync("unshare", ["-m", "true"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0)
    return `SKIPPED: unshare -m does not work here (${probe.error?.message ?? probe.stderr.trim()})`;
  return false;
}

function hiddenSkipReason(): string | false {
  return (
    packagedSkipReason() ||
    hideSkipReason(systemBrowsers()) ||
    (["pdfinfo", "pdftotext"].every(hasTool)
      ? false
      : "SKIPPED: poppler-utils (pdfinfo, pdftotext) not installed")
  );
}

let hiddenUnpackDir: string | undefined;

/**
 * Run the PDF export on the fixtures with every system browser and the system's fonts (with
 * their configuration) hidden from this command only: a machine with nothing but Node (text
 * without fonts would print blank). `pathDir` goes first on PATH.
 */
function exportWithoutSystemBrowser(pathDir?: string) {
  const dir = tmp("export-packaged-");
  if (hiddenUnpackDir === undefined) {
    hiddenUnpackDir = tmp("chromium-unpack-");
    cleanup.push(hiddenUnpackDir);
  }
  cleanup.push(dir);
  writeFixtures(path.join(dir, "nb"));
  const fontDirs = [
    "/etc/fonts",
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    path.join(os.homedir(), ".fonts"),
    path.join(os.homedir(), ".local", "share", "fonts"),
  ].filter((d) => fs.existsSync(d));
  const hide = systemBrowsers()
    .map((p) => `mount --bind /dev/null '${p}'`)
    .concat(fontDirs.map((d) => `mount --bind "$(mktemp -d)" '${d}'`));
  const env: NodeJS.ProcessEnv = { ...process.env, WORKBOOK_CHROMIUM_DIR: hiddenUnpackDir };
  if (pathDir !== undefined) env.PATH = `${pathDir}${path.delimiter}${env.PATH ?? ""}`;
  delete env.CHROME_PATH;
  delete env.FONTCONFIG_FILE;
  delete env.FONTCONFIG_PATH;
  const args = ["--names", "Ada Lovelace", "--notebooks", "nb", "--out", "out/x.pdf"];
  const command = [...hide, `exec "$@"`].join(" && ");
  const options = { cwd: dir, env, encoding: "utf8" as const, timeout: 300_000 };
  const t0 = Date.now();
  const r =
    hide.length === 0
      ? spawnSync(TSX, [SCRIPT, ...args], options)
      : spawnSync("unshare", ["-m", "sh", "-c", command, "sh", TSX, SCRIPT, ...args], options);
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(r.status, 0, `${r.stderr}\n${r.error ?? ""}`);
  assert.match(
    r.stderr,
    new RegExp(
      `browser: HeadlessChrome/${MAJOR}\\.[\\d.]+ from npm package @sparticuz/chromium@${PACKAGE_VERSION.replace(/\./g, "\\.")} \\(unpacked to `,
    ),
    "the export names the packaged Chromium as the browser that printed",
  );
  const pdf = path.join(dir, "out", "x.pdf");
  const info = spawnSync("pdfinfo", [pdf], { encoding: "utf8" });
  assert.equal(info.status, 0, `pdfinfo: ${info.stderr}`);
  const pages = Number(/Pages:\s+(\d+)/.exec(info.stdout)?.[1] ?? "0");
  assert.ok(pages > 0, `a PDF with pages, got ${pages}`);
  const text = spawnSync("pdftotext", [pdf, "-"], { encoding: "utf8" }).stdout;
  assert.ok(text.includes("Ada Lovelace"), "the title page's text is printed (a font was found)");
  assert.ok(text.includes("Exercise 2: Diffusion Model Implementation"));
  return { stderr: r.stderr, pages, seconds };
}

test("no system browser: the export prints with the packaged Chromium and says so", (t) => {
  const skip = hiddenSkipReason();
  if (skip) {
    console.log(`# ${skip}`);
    return t.skip(skip);
  }
  const r = exportWithoutSystemBrowser();
  console.log(
    `# packaged Chromium: ${r.pages} pages in ${r.seconds.toFixed(1)} s (unpacking included)`,
  );
});

test("a system browser that does not start gives way to the packaged Chromium", (t) => {
  const skip = hiddenSkipReason();
  if (skip) return t.skip(skip);
  const bin = tmp("fake-browser-");
  cleanup.push(bin);
  const fake = path.join(bin, "chromium");
  fs.writeFileSync(fake, "#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n", { mode: 0o755 });
  const r = exportWithoutSystemBrowser(bin);
  assert.match(
    r.stderr,
    new RegExp(
      `The system browser ${fake.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} did not start .*; printing with the Chromium from npm package @sparticuz/chromium@`,
    ),
  );
});

let shared: string | undefined;
/** A folder to unpack into, shared by the tests that spoil the copy and unpack it again. */
function sharedBase(): string {
  if (shared === undefined) {
    shared = tmp("chromium-unpacked-");
    cleanup.push(shared);
  }
  return shared;
}

/** The packaged Chromium, unpacked into `base`. */
async function packagedIn(base: string): Promise<BrowserChoice> {
  const r = await packagedChromium({ env: { ...process.env, WORKBOOK_CHROMIUM_DIR: base } });
  assert.ok(r.choice, `packaged Chromium available: ${r.reason}`);
  return r.choice;
}

/** Start `choice`, return what the browser reports, and what launchBrowser logged. */
async function startAndVersion(choice: BrowserChoice): Promise<{ version: string; log: string[] }> {
  const log: string[] = [];
  const browser = await launchBrowser(choice, 60_000, (m) => log.push(m));
  try {
    return { version: await browser.version(), log };
  } finally {
    await browser.close();
  }
}

/** Replace the unpacked copy's binary by `make(file)`, keeping its "unpacked" mark. */
function spoilBinary(choice: BrowserChoice, make: (file: string) => void): void {
  fs.rmSync(choice.executablePath, { force: true });
  make(choice.executablePath);
}

test("a damaged unpacked copy (binary does not start) is unpacked again", async (t) => {
  const skip = packagedSkipReason();
  if (skip) return t.skip(skip);
  const base = sharedBase();
  const choice = await packagedIn(base);
  spoilBinary(choice, (f) => fs.writeFileSync(f, "#!/bin/sh\nexit 1\n", { mode: 0o755 }));
  const r = await startAndVersion(choice);
  assert.match(r.version, new RegExp(`/${MAJOR}\\.`));
  assert.match(
    r.log.join("\n"),
    /did not start .*unpacking @sparticuz\/chromium@[\d.]+ there again/,
  );
});

test("an unpacked copy of another Chromium version is noticed and replaced", async (t) => {
  const skip = packagedSkipReason();
  const other = systemBrowsers().find((p) => !p.includes(path.join("diffusion-workbook", "")));
  if (skip || other === undefined) {
    const reason =
      skip || "SKIPPED: no other Chromium on this machine to stand for another version";
    return t.skip(reason);
  }
  const base = sharedBase();
  const choice = await packagedIn(base);
  spoilBinary(choice, (f) => fs.symlinkSync(other, f));
  const r = await startAndVersion(choice);
  assert.match(r.version, new RegExp(`/${MAJOR}\\.`), "the packaged version runs in the end");
  assert.match(r.log.join("\n"), /reports .*Chrom.*\/\d+.*but @sparticuz\/chromium@[\d.]+ ships/);
});

test("a chromium left in the temporary folder (the package's own spot) is not used", async (t) => {
  const skip = packagedSkipReason();
  if (skip) return t.skip(skip);
  const base = tmp("chromium-fresh-");
  const fakeTmp = tmp("fake-tmpdir-");
  cleanup.push(base, fakeTmp);
  fs.writeFileSync(path.join(fakeTmp, "chromium"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = fakeTmp;
  try {
    const choice = await packagedIn(base);
    assert.ok(!choice.executablePath.startsWith(fakeTmp), choice.executablePath);
    const r = await startAndVersion(choice);
    assert.match(r.version, new RegExp(`/${MAJOR}\\.`));
    assert.deepEqual(r.log, [], "started at the first try");
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});

test("a packaged Chromium that cannot start even after unpacking again: a clear error", async (t) => {
  const skip = packagedSkipReason();
  if (skip) return t.skip(skip);
  const base = sharedBase();
  const choice = await packagedIn(base);
  // An executable that no unpacking repairs stands for a machine missing Chromium's libraries.
  const broken = path.join(base, "broken-chromium");
  fs.writeFileSync(
    broken,
    "#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n",
    {
      mode: 0o755,
    },
  );
  await assert.rejects(
    startAndVersion({ ...choice, executablePath: broken }),
    (err: unknown) =>
      err instanceof BrowserNotFoundError &&
      err.message.includes(`@sparticuz/chromium@${PACKAGE_VERSION}`) &&
      err.message.includes(choice.packaged!.dir) &&
      /did not start, also after unpacking it again/.test(err.message) &&
      /shared libraries/.test(err.message) &&
      /apt-get install chromium/.test(err.message),
  );
});
