/**
 * Find and start a headless Chrome/Chromium for printing HTML to PDF.
 *
 * Search order: `CHROME_PATH`; then (unless discovery is off) the system browsers of Linux,
 * macOS and Windows; then the npm package `@sparticuz/chromium` if the user installed it
 * (a Chromium shipped inside the package, ≈ 67 MB, Linux x64/arm64 — an opt-in, not a dependency).
 * Nothing here downloads a browser.
 */
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";
import type { Browser } from "puppeteer-core";

/** A browser executable and where it was found. */
export interface BrowserChoice {
  executablePath: string;
  /** Human-readable origin, e.g. "CHROME_PATH" or "system (/usr/bin/chromium)". */
  source: string;
  /** Extra command-line flags this browser needs (e.g. @sparticuz/chromium's). */
  args: string[];
}

/** Options for `findBrowser`. */
export interface FindBrowserOptions {
  /** Environment to read CHROME_PATH, PATH, PROGRAMFILES... from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Look beyond CHROME_PATH (default true; env WORKBOOK_BROWSER_DISCOVERY=0 turns it off). */
  discover?: boolean;
  /** Platform to search for (default process.platform). */
  platform?: NodeJS.Platform;
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

/** What to install, for the error message. */
export function installAdvice(platform: NodeJS.Platform = process.platform): string {
  const lines = ["PDF export needs a headless Chrome or Chromium. Do one of:"];
  if (platform === "linux") {
    lines.push(
      "  - Debian/Ubuntu: sudo apt-get install chromium   (Ubuntu may call it chromium-browser)",
    );
    lines.push("  - Fedora: sudo dnf install chromium");
  } else if (platform === "darwin") {
    lines.push(
      "  - install Google Chrome (/Applications/Google Chrome.app), or: brew install --cask chromium",
    );
  } else if (platform === "win32") {
    lines.push("  - install Google Chrome or Microsoft Edge (Program Files)");
  }
  lines.push(
    "  - point CHROME_PATH at an installed Chrome/Chromium executable, e.g. CHROME_PATH=/path/to/chrome npm run pdf",
  );
  if (platform === "linux") {
    lines.push(
      "  - without system packages (Linux x64/arm64, ~67 MB from npm): npm install --no-save @sparticuz/chromium@153",
    );
  }
  return lines.join("\n");
}

interface SparticuzChromium {
  executablePath(): Promise<string>;
  args: string[];
}

/** Load an optional package (CommonJS or ESM-only) if installed; null if it is not. */
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

async function sparticuzChromium(): Promise<BrowserChoice | null> {
  const mod = (await loadOptional("@sparticuz/chromium")) as
    | ({ default?: SparticuzChromium } & Partial<SparticuzChromium>)
    | null;
  if (mod === null) return null;
  const chromium = (mod.default ?? mod) as SparticuzChromium;
  if (typeof chromium.executablePath !== "function") return null;
  const executablePath = await chromium.executablePath();
  return { executablePath, source: "npm package @sparticuz/chromium", args: chromium.args ?? [] };
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
      `No browser given (CHROME_PATH is unset) and browser discovery is off.\n${installAdvice(platform)}`,
    );
  }
  for (const p of systemBrowserCandidates(platform, env)) {
    if (isExecutableFile(p)) return { executablePath: p, source: `system (${p})`, args: [] };
  }
  const packaged = await sparticuzChromium();
  if (packaged !== null) return packaged;
  throw new BrowserNotFoundError(
    `No Chrome or Chromium found (looked at CHROME_PATH, the usual system locations and @sparticuz/chromium).\n${installAdvice(platform)}`,
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

/**
 * Start the browser headless. A browser that fails to start becomes a `BrowserNotFoundError`
 * whose message names the executable, the reason and what to install instead.
 */
export async function launchBrowser(choice: BrowserChoice, timeoutMs = 60_000): Promise<Browser> {
  const puppeteer = await import("puppeteer-core");
  try {
    return await puppeteer.launch({
      executablePath: choice.executablePath,
      headless: true,
      args: launchArgs(choice),
      timeout: timeoutMs,
      protocolTimeout: Math.max(timeoutMs, 180_000),
    });
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err))
      .split("\n")
      .slice(0, 6)
      .join("\n    ");
    throw new BrowserNotFoundError(
      `The browser ${choice.executablePath} (from ${choice.source}) did not start:\n    ${reason}\n${installAdvice()}`,
    );
  }
}
