/**
 * Find and start a headless Chrome/Chromium for printing HTML to PDF.
 *
 * Search order: `CHROME_PATH`; then (unless discovery is off) the system browsers of Linux,
 * macOS and Windows; then the Chromium that the npm package `@sparticuz/chromium` ships
 * (a dependency, so `npm ci` installs it: a compressed headless Chromium inside the package,
 * Linux x64 only). Nothing here downloads a browser.
 *
 * The packaged Chromium is unpacked once into a folder of its own version (by default under
 * `node_modules/.cache/`), never into the package's shared `/tmp/chromium`, where a binary left
 * by another version would be reused and fail to start. An unpacked copy that does not start,
 * or reports another version, is unpacked again once before the export gives up with a message
 * that says what happened.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { pathToFileURL } from "url";
import type { Browser } from "puppeteer-core";

/** The npm package that ships a Chromium. */
export const PACKAGED_CHROMIUM = "@sparticuz/chromium";

/** A Chromium unpacked from the npm package `@sparticuz/chromium`. */
export interface PackagedChromium {
  /** The package's version, e.g. "147.0.0"; its major number is Chromium's. */
  version: string;
  /** The package's folder (holds the compressed browser in bin/). */
  packageDir: string;
  /** The folder it is unpacked to, one per version. */
  dir: string;
}

/** A browser executable and where it was found. */
export interface BrowserChoice {
  executablePath: string;
  /** Human-readable origin, e.g. "CHROME_PATH" or "system (/usr/bin/chromium)". */
  source: string;
  /** Extra command-line flags this browser needs. */
  args: string[];
  /** Extra environment variables for the browser process. */
  env?: Record<string, string>;
  /** Set when this is the Chromium from the npm package (see `packagedChromium`). */
  packaged?: PackagedChromium;
}

/** Options for `findBrowser`. */
export interface FindBrowserOptions {
  /** Environment to read CHROME_PATH, PATH, PROGRAMFILES... from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Look beyond CHROME_PATH (default true; env WORKBOOK_BROWSER_DISCOVERY=0 turns it off). */
  discover?: boolean;
  /** Platform to search for (default process.platform). */
  platform?: NodeJS.Platform;
  /** CPU architecture (default process.arch); the packaged Chromium is Linux x64 only. */
  arch?: string;
}

/** No usable browser: the message says what to install. */
export class BrowserNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BrowserNotFoundError";
  }
}

function isExecutableFile(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform !== "win32") fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Candidate executable paths for a platform, most preferred first. */
export function systemBrowserCandidates(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
): string[] {
  if (platform === "darwin") {
    const apps = [
      "Google Chrome.app/Contents/MacOS/Google Chrome",
      "Chromium.app/Contents/MacOS/Chromium",
      "Google Chrome Canary.app/Contents/MacOS/Google Chrome Canary",
      "Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ];
    const home = env.HOME;
    return [
      ...apps.map((a) => `/Applications/${a}`),
      ...(home ? apps.map((a) => path.join(home, "Applications", a)) : []),
    ];
  }
  if (platform === "win32") {
    const roots = [env.PROGRAMFILES, env["PROGRAMFILES(X86)"], env.LOCALAPPDATA].filter(
      (r): r is string => !!r,
    );
    const rel = [
      "Google\\Chrome\\Application\\chrome.exe",
      "Chromium\\Application\\chrome.exe",
      "Microsoft\\Edge\\Application\\msedge.exe",
    ];
    return roots.flatMap((r) => rel.map((x) => path.win32.join(r, x)));
  }
  const names = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "microsoft-edge",
  ];
  const dirs = (env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  const fixed = ["/usr/bin", "/usr/local/bin", "/snap/bin", "/opt/google/chrome"];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of [...fixed, ...dirs]) {
    for (const name of names) {
      const p = path.join(dir, name);
      if (!seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

/**
 * What to install, for the error message; `packaged` says why the packaged Chromium is not used.
 */
export function installAdvice(platform: NodeJS.Platform = process.platform, packaged = ""): string {
  const lines = ["PDF export needs a headless Chrome or Chromium. Do one of:"];
  if (platform === "linux") {
    lines.push(
      "  - Debian/Ubuntu: sudo apt-get install chromium   (Ubuntu may call it chromium-browser)",
    );
    lines.push("  - Fedora: sudo dnf install chromium");
  } else if (platform === "darwin") {
    lines.push(
      "  - install Google Chrome (/Applications/Google Chrome.app), or: brew install --cask " +
        "chromium",
    );
  } else if (platform === "win32") {
    lines.push("  - install Google Chrome or Microsoft Edge (Program Files)");
  }
  lines.push(
    "  - point CHROME_PATH at an installed Chrome/Chromium executable, e.g. " +
      "CHROME_PATH=/path/to/chrome npm run pdf",
  );
  lines.push(
    `  - on Linux x64, \`npm ci\` installs ${PACKAGED_CHROMIUM}, a Chromium inside an npm package` +
      (packaged ? ` (here: ${packaged})` : ""),
  );
  return lines.join("\n");
}

interface SparticuzChromium {
  executablePath(input?: string): Promise<string>;
}

/** Load a package (CommonJS or ESM-only) if installed; null if it is not. */
async function loadOptional(name: string): Promise<unknown> {
  let resolved: string;
  try {
    resolved = require.resolve(name);
  } catch {
    return null;
  }
  try {
    return require(resolved);
  } catch {
    // ESM-only package on a Node without require(esm): a real dynamic import (tsc would turn
    // `import()` into `require()` under CommonJS output, hence the Function wrapper).
    const dynamicImport = new Function("url", "return import(url)") as (
      url: string,
    ) => Promise<unknown>;
    return dynamicImport(pathToFileURL(resolved).href);
  }
}

/** The installed package's folder and version, or null if it is not installed. */
function packagedChromiumPackage(): { packageDir: string; version: string } | null {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(PACKAGED_CHROMIUM));
  } catch {
    return null;
  }
  // Its "exports" hide package.json from require.resolve: walk up from the entry point.
  for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pj = path.join(dir, "package.json");
    if (!fs.existsSync(pj)) continue;
    const meta = JSON.parse(fs.readFileSync(pj, "utf8")) as { name?: string; version?: string };
    if (meta.name === PACKAGED_CHROMIUM && typeof meta.version === "string")
      return { packageDir: dir, version: meta.version };
  }
  return null;
}

/**
 * Where a version is unpacked: `$WORKBOOK_CHROMIUM_DIR/sparticuz-chromium-<version>` if that is
 * set, else beside the package in `node_modules/.cache/diffusion-workbook/` (removed with
 * node_modules, so an old version does not linger), else in the temporary folder.
 */
export function packagedChromiumDir(
  packageDir: string,
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const name = `sparticuz-chromium-${version}`;
  if (env.WORKBOOK_CHROMIUM_DIR) return path.join(path.resolve(env.WORKBOOK_CHROMIUM_DIR), name);
  const nodeModules = path.resolve(packageDir, "..", "..");
  if (path.basename(nodeModules) === "node_modules") {
    const cache = path.join(nodeModules, ".cache", "diffusion-workbook");
    try {
      fs.mkdirSync(cache, { recursive: true });
      fs.accessSync(cache, fs.constants.W_OK);
      return path.join(cache, name);
    } catch {
      // read-only node_modules: use the temporary folder
    }
  }
  const user = typeof process.getuid === "function" ? `-${process.getuid()}` : "";
  return path.join(os.tmpdir(), `diffusion-workbook${user}`, name);
}

/** Why the packaged Chromium cannot be used here, or null if it can. */
export function packagedChromiumUnavailable(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string | null {
  if (platform !== "linux" || arch !== "x64")
    return `its npm package holds a Chromium for Linux x64 only, this is ${platform} ${arch}`;
  if (packagedChromiumPackage() === null)
    return `${PACKAGED_CHROMIUM} is not installed (run npm ci)`;
  return null;
}

const UNPACKED_MARKER = ".unpacked-version";

/**
 * Unpack the packaged Chromium into `pc.dir` unless a complete copy of the same version is
 * there (`force` unpacks anyway). Unpacks into a fresh folder beside it and renames it into
 * place, so an interrupted or concurrent unpack never leaves a half-written binary behind.
 * Resolves to the executable's path.
 */
export async function unpackPackagedChromium(pc: PackagedChromium, force = false): Promise<string> {
  const exe = path.join(pc.dir, "chromium");
  const marker = path.join(pc.dir, UNPACKED_MARKER);
  const done = () => fs.existsSync(marker) && fs.readFileSync(marker, "utf8").trim() === pc.version;
  if (!force && done() && isExecutableFile(exe)) return exe;
  const mod = (await loadOptional(PACKAGED_CHROMIUM)) as
    | ({ default?: SparticuzChromium } & Partial<SparticuzChromium>)
    | null;
  const chromium = (mod?.default ?? mod) as SparticuzChromium | null;
  if (chromium === null || typeof chromium.executablePath !== "function")
    throw new Error(`${PACKAGED_CHROMIUM} is installed but has no executablePath() function`);
  const staging = `${pc.dir}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  // The package unpacks into os.tmpdir() (TMPDIR), reusing whatever "chromium" is there:
  // point it at the empty staging folder while it unpacks.
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  let unpacked: string;
  try {
    unpacked = await chromium.executablePath(path.join(pc.packageDir, "bin"));
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  if (path.resolve(unpacked) !== path.join(staging, "chromium")) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(
      `Expected ${PACKAGED_CHROMIUM} to unpack into ${staging}, but it returned ${unpacked}`,
    );
  }
  fs.writeFileSync(path.join(staging, UNPACKED_MARKER), `${pc.version}\n`);
  fs.rmSync(pc.dir, { recursive: true, force: true });
  try {
    fs.renameSync(staging, pc.dir);
  } catch (err) {
    // Another export unpacked the same version at the same moment: use its copy.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!(done() && isExecutableFile(exe))) throw err;
  }
  return exe;
}

/**
 * Fontconfig file for the packaged Chromium: the system's configuration if there is one, plus
 * the font the package ships (Open Sans), so text prints even on a machine without fonts.
 */
function fontConfig(dir: string): string {
  const file = path.join(dir, "fonts.conf");
  const esc = (p: string) => p.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  fs.writeFileSync(
    file,
    [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      "<fontconfig>",
      '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
      `  <dir>${esc(path.join(dir, "fonts", "fonts"))}</dir>`,
      `  <cachedir>${esc(path.join(dir, "fonts-cache"))}</cachedir>`,
      "</fontconfig>",
      "",
    ].join("\n"),
  );
  return file;
}

/**
 * The Chromium from the npm package, unpacked (see `unpackPackagedChromium`).
 * Resolves to null, with the reason, where it cannot be used.
 */
export async function packagedChromium(
  options: { env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform; arch?: string } = {},
): Promise<{ choice: BrowserChoice | null; reason: string }> {
  const env = options.env ?? process.env;
  const why = packagedChromiumUnavailable(options.platform, options.arch);
  const pkg = packagedChromiumPackage();
  if (why !== null || pkg === null) return { choice: null, reason: why ?? "not installed" };
  const pc: PackagedChromium = {
    ...pkg,
    dir: packagedChromiumDir(pkg.packageDir, pkg.version, env),
  };
  let executablePath: string;
  try {
    executablePath = await unpackPackagedChromium(pc);
  } catch (err) {
    return {
      choice: null,
      reason: `unpacking it into ${pc.dir} failed: ${(err as Error).message.split("\n")[0]}`,
    };
  }
  const fontEnv: Record<string, string> =
    env.FONTCONFIG_FILE || env.FONTCONFIG_PATH ? {} : { FONTCONFIG_FILE: fontConfig(pc.dir) };
  return {
    choice: {
      executablePath,
      source: `npm package ${PACKAGED_CHROMIUM}@${pc.version} (unpacked to ${pc.dir})`,
      args: [],
      env: fontEnv,
      packaged: pc,
    },
    reason: "",
  };
}

/**
 * Locate a browser. Throws `BrowserNotFoundError` (with install advice) if there is none.
 * A CHROME_PATH that does not exist is an error when discovery is off, and a warning
 * (written to `warn`) otherwise.
 */
export async function findBrowser(
  options: FindBrowserOptions = {},
  warn: (msg: string) => void = console.warn,
): Promise<BrowserChoice> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const discover = options.discover ?? env.WORKBOOK_BROWSER_DISCOVERY !== "0";
  const fromEnv = env.CHROME_PATH;
  if (fromEnv !== undefined && fromEnv !== "") {
    if (isExecutableFile(fromEnv))
      return { executablePath: fromEnv, source: "CHROME_PATH", args: [] };
    const problem = `CHROME_PATH=${fromEnv} is not an executable file`;
    if (!discover)
      throw new BrowserNotFoundError(
        `${problem}, and browser discovery is off.\n${installAdvice(platform)}`,
      );
    warn(`${problem}; looking for a browser elsewhere.`);
  }
  if (!discover) {
    throw new BrowserNotFoundError(
      `No browser given (CHROME_PATH is unset) and browser discovery is ` +
        `off.\n${installAdvice(platform)}`,
    );
  }
  for (const p of systemBrowserCandidates(platform, env)) {
    if (isExecutableFile(p)) return { executablePath: p, source: `system (${p})`, args: [] };
  }
  const packaged = await packagedChromium({ env, platform, arch: options.arch });
  if (packaged.choice !== null) return packaged.choice;
  throw new BrowserNotFoundError(
    `No Chrome or Chromium found (looked at CHROME_PATH, the usual system locations and ` +
      `${PACKAGED_CHROMIUM}).\n${installAdvice(platform, packaged.reason)}`,
  );
}

/**
 * Flags for printing on a closed network: no sandbox when running as root (Chromium refuses
 * otherwise), and no background traffic (updates, sync, field trials).
 */
export function launchArgs(choice: BrowserChoice): string[] {
  const args = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-dev-shm-usage",
    "--font-render-hinting=none",
  ];
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot || process.env.WORKBOOK_NO_SANDBOX === "1") args.push("--no-sandbox");
  for (const a of choice.args) if (!args.includes(a)) args.push(a);
  return args;
}

/** Chromium's major version from `browser.version()`, e.g. "HeadlessChrome/147.0.7727.0" -> 147. */
export function browserMajor(version: string): number | null {
  const m = /\/(\d+)\./.exec(version);
  return m ? Number(m[1]) : null;
}

function firstLines(err: unknown, n = 6): string {
  return (err instanceof Error ? err.message : String(err)).split("\n").slice(0, n).join("\n    ");
}

async function startOnce(choice: BrowserChoice, timeoutMs: number): Promise<Browser> {
  const puppeteer = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    executablePath: choice.executablePath,
    headless: true,
    args: launchArgs(choice),
    env: { ...process.env, ...(choice.env ?? {}) },
    timeout: timeoutMs,
    protocolTimeout: Math.max(timeoutMs, 180_000),
  });
  if (choice.packaged) {
    // A binary left by another version of the package would start and then misbehave.
    const version = await browser.version();
    const want = Number(choice.packaged.version.split(".")[0]);
    if (browserMajor(version) !== want) {
      await browser.close();
      throw new Error(
        `it reports ${version}, but ${PACKAGED_CHROMIUM}@${choice.packaged.version} ships ` +
          `Chromium ${want}`,
      );
    }
  }
  return browser;
}

/**
 * Start the browser headless. A browser that fails to start becomes a `BrowserNotFoundError`
 * whose message names the executable, the reason and what to install instead. The packaged
 * Chromium is unpacked again once (a stale or damaged copy) before giving up.
 */
export async function launchBrowser(
  choice: BrowserChoice,
  timeoutMs = 60_000,
  log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`),
): Promise<Browser> {
  try {
    return await startOnce(choice, timeoutMs);
  } catch (err) {
    if (!choice.packaged) {
      throw new BrowserNotFoundError(
        `The browser ${choice.executablePath} (from ${choice.source}) did not start:\n    ` +
          `${firstLines(err)}\n${installAdvice()}`,
      );
    }
    const pc = choice.packaged;
    log(
      `The Chromium unpacked in ${pc.dir} did not start (${firstLines(err, 1)}); unpacking ` +
        `${PACKAGED_CHROMIUM}@${pc.version} there again.`,
    );
    try {
      await unpackPackagedChromium(pc, true);
      return await startOnce(choice, timeoutMs);
    } catch (again) {
      throw new BrowserNotFoundError(
        `The Chromium from ${PACKAGED_CHROMIUM}@${pc.version} (unpacked to ${pc.dir}) did not ` +
          `start, ` +
          `also after unpacking it again:\n    ${firstLines(again)}\n` +
          "It needs the shared libraries any Chromium needs (e.g. libnss3, libatk-bridge2.0-0, " +
          "libgbm1, libasound2).\n" +
          installAdvice(process.platform, "it did not start"),
      );
    }
  }
}
