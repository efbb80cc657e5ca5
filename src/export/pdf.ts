/**
 * Print a self-contained HTML file to PDF with headless Chromium: A4, page numbers in the
 * footer ("3 / 17"), backgrounds kept, and a PDF outline (bookmarks) from the headings.
 */
import { pathToFileURL } from "url";
import { findBrowser, launchBrowser, type BrowserChoice, type FindBrowserOptions } from "./browser";

/** Options for `printPdf`. */
export interface PrintOptions {
  /** Browser to use; found with `findBrowser(find)` when omitted. */
  browser?: BrowserChoice;
  /** Options for browser discovery. */
  find?: FindBrowserOptions;
  /** Short text printed at the left of every footer (e.g. the names); page numbers are on the right. */
  footerLeft?: string;
  /** Give up after this long (default 120 s). */
  timeoutMs?: number;
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
    `<div style="font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 8px; color: #666; width: 100%; ` +
    `padding: 0 16mm; display: flex; justify-content: space-between;">` +
    `<span>${escapeHtml(left)}</span><span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>`
  );
}

/** A started browser that prints HTML files to PDF; `close()` it when done. */
export interface Printer {
  /** The browser in use. */
  readonly choice: BrowserChoice;
  /** Print one self-contained HTML file to a PDF file. */
  print(htmlFile: string, pdfFile: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Find and start a browser for printing.
 * Throws `BrowserNotFoundError` (with install advice) if no browser can be found or started.
 */
export async function startPrinter(options: PrintOptions = {}): Promise<Printer> {
  const choice = options.browser ?? (await findBrowser(options.find));
  const timeout = options.timeoutMs ?? 120_000;
  const browser = await launchBrowser(choice, timeout);
  const print = async (htmlFile: string, pdfFile: string) => {
    const page = await browser.newPage();
    try {
      page.setDefaultTimeout(timeout);
      // The page is self-contained: refuse any network request so a stray URL cannot hang the print.
      await page.setRequestInterception(true);
      page.on("request", (req) => {
        const url = req.url();
        if (url.startsWith("file:") || url.startsWith("data:")) void req.continue();
        else void req.abort();
      });
      await page.goto(pathToFileURL(htmlFile).href, { waitUntil: "load", timeout });
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
  return { choice, print, close: () => browser.close() };
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
