/**
 * Print a self-contained HTML file to PDF with headless Chromium: A4, page numbers in the
 * footer ("3 / 17"), backgrounds kept, and a PDF outline (bookmarks) from the headings.
 *
 * The page may hold content from notebooks received from others, so beyond sanitizing it
 * (`sanitize.ts`) the print page runs no JavaScript (math is typeset in Node) and the browser
 * loads nothing but the HTML file being printed and the data: URIs inside it: every other
 * request (other file: URLs, http(s), ...) is aborted.
 */
import * as path from "path";
import { pathToFileURL } from "url";
import type { Browser } from "puppeteer-core";
import {
  BrowserNotFoundError,
  findBrowser,
  launchBrowser,
  packagedChromium,
  type BrowserChoice,
  type FindBrowserOptions,
} from "./browser";

/** Options for `printPdf`. */
export interface PrintOptions {
  /** Browser to use; found with `findBrowser(find)` when omitted. */
  browser?: BrowserChoice;
  /** Options for browser discovery. */
  find?: FindBrowserOptions;
  /**
   * Short text printed at the left of every footer (e.g. the names); page numbers are on the right.
   */
  footerLeft?: string;
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
  /** Progress messages, e.g. that the packaged Chromium is unpacked again (default: stderr). */
  log?: (msg: string) => void;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

/** Footer with page numbers; Chromium fills the `pageNumber` / `totalPages` spans. */
export function footerTemplate(left: string): string {
  return (
    `<div style="font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 8px; color: #666; ` +
    `width: 100%; ` +
    `padding: 0 16mm; display: flex; justify-content: space-between;">` +
    `<span>${escapeHtml(left)}</span><span><span class="pageNumber"></span> / <span ` +
    `class="totalPages"></span></span></div>`
  );
}

/** A started browser that prints HTML files to PDF; `close()` it when done. */
export interface Printer {
  /** The browser in use. */
  readonly choice: BrowserChoice;
  /** What the browser reports, e.g. "HeadlessChrome/147.0.7727.0". */
  readonly version: string;
  /** Print one self-contained HTML file to a PDF file. */
  print(htmlFile: string, pdfFile: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Find and start a browser for printing; a system browser that does not start gives way to the
 * packaged Chromium. Throws `BrowserNotFoundError` (with install advice) if no browser can be
 * found or started.
 */
export async function startPrinter(options: PrintOptions = {}): Promise<Printer> {
  let choice = options.browser ?? (await findBrowser(options.find));
  const timeout = options.timeoutMs ?? 120_000;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  let browser: Browser;
  try {
    browser = await launchBrowser(choice, timeout, log);
  } catch (err) {
    // A system browser found by discovery that does not start: the packaged Chromium instead.
    const found = options.browser === undefined && choice.source !== "CHROME_PATH";
    if (!found || choice.packaged || !(err instanceof BrowserNotFoundError)) throw err;
    const packaged = await packagedChromium(options.find);
    if (packaged.choice === null) throw err;
    const reason = err.message.split("\n")[1]?.trim() ?? "";
    log(
      `The system browser ${choice.executablePath} did not start (${reason}); printing with the ` +
        `Chromium from ${packaged.choice.source} instead.`,
    );
    choice = packaged.choice;
    browser = await launchBrowser(choice, timeout, log);
  }
  const version = await browser.version();
  const print = async (htmlFile: string, pdfFile: string) => {
    const page = await browser.newPage();
    try {
      page.setDefaultTimeout(timeout);
      await page.setJavaScriptEnabled(false);
      // The page is self-contained: it may load itself and its data: URIs, nothing else.
      const pageUrl = pathToFileURL(path.resolve(htmlFile)).href;
      await page.setRequestInterception(true);
      page.on("request", (req) => {
        if (req.isInterceptResolutionHandled()) return;
        const url = req.url();
        if (url === pageUrl || url.startsWith("data:")) void req.continue();
        else void req.abort("blockedbyclient");
      });
      await page.goto(pageUrl, { waitUntil: "load", timeout });
      await page.evaluate("document.fonts.ready.then(() => true)");
      await page.pdf({
        path: pdfFile,
        format: "A4",
        printBackground: true,
        displayHeaderFooter: true,
        headerTemplate: "<span></span>",
        footerTemplate: footerTemplate(options.footerLeft ?? ""),
        margin: { top: "16mm", bottom: "18mm", left: "16mm", right: "16mm" },
        outline: true,
        tagged: true,
        timeout,
      });
    } finally {
      await page.close();
    }
  };
  return { choice, version, print, close: () => browser.close() };
}

/**
 * Print `htmlFile` to `pdfFile` (starting and closing a browser). Resolves to the browser used.
 * Throws `BrowserNotFoundError` (with install advice) if no browser can be found or started.
 */
export async function printPdf(
  htmlFile: string,
  pdfFile: string,
  options: PrintOptions = {},
): Promise<BrowserChoice> {
  const printer = await startPrinter(options);
  try {
    await printer.print(htmlFile, pdfFile);
  } finally {
    await printer.close();
  }
  return printer.choice;
}
