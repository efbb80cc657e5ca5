/**
 * The whole workbook as one self-contained HTML document: title page (sheet title, group
 * members, date), table of contents, then every notebook in order. Styles, fonts and images
 * are inlined; the page contains no JavaScript, so it prints the same in any browser.
 */
import * as fs from "fs";
import * as path from "path";
import { highlightCss, katexCss } from "./assets";
import { escapeHtml, renderMath, type Heading, type MathProblem } from "./markdown";
import { parseNotebook, renderNotebook } from "./notebook-html";
import { isAppendixNotebook } from "./freshness";

/** What goes on the title page. */
export interface TitlePage {
  /** Sheet title, e.g. "Score-Based Diffusion Models — Exercise Sheet". */
  title: string;
  /** Optional line under the title (course, term). */
  subtitle?: string;
  /** Group members, as they should be printed; at least one. */
  names: string[];
  /** Date line, e.g. "28 November 2025". */
  date: string;
}

/** One notebook section of the document. */
export interface NotebookSummary {
  /** File name of the executed notebook. */
  file: string;
  headings: Heading[];
  images: number;
  mathProblems: MathProblem[];
}

/** The assembled document. */
export interface WorkbookDocument {
  html: string;
  notebooks: NotebookSummary[];
}

/**
 * Page layout: A4; listings unwrapped at a fitted font size (`listingStyle`), other code wrapped
 * (nothing is cut off at the right margin); numbers in tables never split; one notebook per new
 * page.
 */
const PAGE_CSS = `
@page { size: A4; }
html { font-family: "DejaVu Serif", "Latin Modern Roman", Georgia, serif; font-size: 10.5pt;
  line-height: 1.45; color: #111; }
body { max-width: 46em; margin: 0 auto; padding: 0 1em; }
@media print { body { max-width: none; padding: 0; } }
h1, h2, h3, h4 { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; line-height: 1.25;
  break-after: avoid; page-break-after: avoid; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; } h3 { font-size: 1.12em; }
a { color: #0b4f9c; text-decoration: none; }
pre, code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.6pt; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; margin: 0; }
:not(pre) > code { background: #f3f3f3; padding: 0 0.2em; border-radius: 2px; }
table { border-collapse: collapse; margin: 0.6em 0; break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; }
th { background: #f0f0f0; }
img { max-width: 100%; }
.katex { font-size: 1.1em; }
.katex-display { margin: 0.6em 0; overflow-x: visible; overflow-y: visible; }
.katex-display > .katex { white-space: normal; }
.cell { margin: 0.5em 0; }
.input { display: flex; gap: 0.4em; align-items: flex-start; }
.prompt { color: #777; font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; min-width: 2.6em;
  padding-top: 0.45em; text-align: right; }
pre.code { flex: 1; min-width: 0; background: #f6f8fa; border: 1px solid #e1e4e8;
  border-left: 3px solid #0b4f9c; padding: 0.45em 0.6em; }
.output { margin: 0.3em 0 0.3em 3em; }
pre.output { padding: 0.3em 0.6em; border-left: 3px solid #ddd; }
pre.stream.stderr { background: #fff5f5; border-left-color: #d99; }
.image-output { break-inside: avoid; page-break-inside: avoid; }
.markdown-output pre, .markdown-cell pre { background: #f6f8fa; padding: 0.45em 0.6em; }
pre.listing code { font-size: inherit; }
.markdown-output pre.listing { margin-left: -3em; border-left: 3px solid #ddd; }
td[style*="right"], th[style*="right"] { white-space: nowrap; }
.output.image-output { margin-left: 0; text-align: center; }
.title-page { height: 240mm; display: flex; flex-direction: column; justify-content: center;
  text-align: center; break-after: page; page-break-after: always; }
.title-page h1 { font-size: 2.2em; margin-bottom: 0.3em; }
.title-page .subtitle { font-size: 1.2em; color: #444; }
.title-page .names { font-size: 1.3em; margin-top: 2.5em; }
.title-page .date { margin-top: 1.5em; color: #444; }
.toc { break-after: page; page-break-after: always; }
.toc-row { display: flex; align-items: baseline; margin: 0.2em 0; }
.toc-level-0 { font-weight: bold; margin-top: 0.7em; }
.toc-level-1 { padding-left: 1.4em; } .toc-level-2 { padding-left: 2.8em;
  } .toc-level-3 { padding-left: 4.2em; }
.toc-dots { flex: 1; border-bottom: 1px dotted #999; margin: 0 0.4em; min-width: 1em; }
.toc-page { min-width: 1.5em; text-align: right; }
section.notebook { break-before: page; page-break-before: always; }
section.notebook:first-of-type { break-before: auto; page-break-before: auto; }
section.appendix { break-before: page; page-break-before: always; padding-top: 30%;
  text-align: center; }
.notebook-file { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; color: #777;
  border-bottom: 1px solid #ccc; margin-bottom: 0.5em; }
`;

/** Heading text for the table of contents: math typeset, the rest escaped. */
function tocText(text: string): string {
  return text
    .split(/(\$\$[\s\S]+?\$\$|\$[^$]+\$)/)
    .map((part, i) => {
      if (i % 2 === 0) return escapeHtml(part.replace(/[*_`]/g, ""));
      const display = part.startsWith("$$");
      return renderMath(part.slice(display ? 2 : 1, display ? -2 : -1), false);
    })
    .join("");
}

/**
 * The contents: one row per notebook title and its sub-headings, each linking to its heading,
 * with an empty page-number slot that `withTocPages` fills in after a first print.
 */
function tableOfContents(
  notebooks: { id: string; file: string; headings: Heading[] }[],
  maxLevel: number,
): string {
  const row = (id: string, label: string, level: number) =>
    `<div class="toc-row toc-level-${level}"><a href="#${id}">${label}</a><span ` +
    `class="toc-dots"></span>` +
    `<span class="toc-page" data-for="${id}"></span></div>`;
  const rows = notebooks.flatMap((nb) => {
    const hs = nb.headings.filter((h) => h.level <= maxLevel);
    const top = hs.length > 0 ? Math.min(...hs.map((h) => h.level)) : 1;
    const first = hs.find((h) => h.level === top);
    if (nb.id === "appendix") return [row("appendix", "Appendix — beyond the sheet", 0)];
    const head = row(
      first ? first.id : nb.id,
      first ? tocText(first.text) : escapeHtml(nb.file),
      0,
    );
    const sub = hs
      .filter((h) => h !== first)
      .map((h) => row(h.id, tocText(h.text), Math.max(1, h.level - top)));
    return [head, ...sub];
  });
  return `<nav class="toc"><h1 id="contents">Contents</h1>${rows.join("\n")}</nav>`;
}

/**
 * Fill the contents' page numbers (element id -> page) into a document from `buildWorkbookHtml`.
 */
export function withTocPages(html: string, pages: ReadonlyMap<string, number>): string {
  return html.replace(
    /<span class="toc-page" data-for="([^"]*)"><\/span>/g,
    (whole, id: string) => {
      const page = pages.get(id);
      return page === undefined ? whole : `<span class="toc-page" data-for="${id}">${page}</span>`;
    },
  );
}

/** Element ids the contents link to (whose pages `withTocPages` wants). */
export function tocTargets(html: string): string[] {
  return Array.from(html.matchAll(/<span class="toc-page" data-for="([^"]*)">/g), (m) => m[1]);
}

/** Options for `buildWorkbookHtml`. */
export interface BuildOptions {
  titlePage: TitlePage;
  /** Executed notebooks, in document order (paths to .ipynb files). */
  notebookFiles: string[];
  /** Deepest heading level listed in the contents (default 3). */
  tocDepth?: number;
  /**
   * Include the beyond-the-sheet notebooks (`isAppendixNotebook`), after an "Appendix" divider
   * (default true); false leaves them out, so the document is the sheet's solution alone.
   */
  appendix?: boolean;
}

/** The page that opens the appendix. */
const APPENDIX_DIVIDER =
  `<section class="appendix" id="appendix"><h1>Appendix — beyond the sheet</h1>` +
  `<p>The sheet's solution ends here. The notebooks that follow go further: analyses the sheet ` +
  `does not ask for, built on the same library and checked the same way.</p></section>`;

/**
 * Build the document. Throws `NotebookOutputError` if a notebook holds an error output,
 * and a plain Error naming the file if a notebook cannot be read.
 */
export function buildWorkbookHtml(options: BuildOptions): WorkbookDocument {
  const { titlePage } = options;
  if (titlePage.names.length === 0 || titlePage.names.some((n) => n.trim() === "")) {
    throw new Error(
      `Expected at least one non-empty group member name, but got ` +
        `names=${JSON.stringify(titlePage.names)}`,
    );
  }
  if (options.notebookFiles.length === 0) {
    throw new Error("Expected at least one executed notebook to export, but got none");
  }
  const usedIds = new Set<string>(["contents", "title", "appendix"]);
  const sections: string[] = [];
  const summaries: NotebookSummary[] = [];
  const tocEntries: { id: string; file: string; headings: Heading[] }[] = [];
  const files = options.notebookFiles.filter(
    (f) => options.appendix !== false || !isAppendixNotebook(f),
  );
  if (files.length === 0) {
    throw new Error("Expected at least one notebook of the sheet to export, but got none");
  }
  files.forEach((file, k) => {
    const name = path.basename(file);
    if (isAppendixNotebook(name) && (k === 0 || !isAppendixNotebook(files[k - 1]))) {
      sections.push(APPENDIX_DIVIDER);
      tocEntries.push({ id: "appendix", file: "", headings: [] });
    }
    const nb = parseNotebook(fs.readFileSync(file, "utf8"), name);
    const idPrefix = `nb${k + 1}-`;
    const r = renderNotebook(nb, {
      fileName: name,
      baseDir: path.dirname(file),
      idPrefix,
      usedIds,
    });
    const id = `${idPrefix}notebook`;
    sections.push(
      `<section class="notebook" id="${id}"><div ` +
        `class="notebook-file">${escapeHtml(name)}</div>\n${r.html}\n</section>`,
    );
    summaries.push({
      file: name,
      headings: r.headings,
      images: r.images,
      mathProblems: r.mathProblems,
    });
    tocEntries.push({ id, file: name, headings: r.headings });
  });

  const names = titlePage.names
    .map((n) => `<div class="name">${escapeHtml(n.trim())}</div>`)
    .join("");
  const title =
    `<div class="title-page" id="title"><h1>${escapeHtml(titlePage.title)}</h1>` +
    (titlePage.subtitle ? `<div class="subtitle">${escapeHtml(titlePage.subtitle)}</div>` : "") +
    `<div class="names">${names}</div>` +
    `<div class="date">${escapeHtml(titlePage.date)}</div></div>`;

  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="diffusion-workbook export">
<title>${escapeHtml(titlePage.title)} — ${escapeHtml(titlePage.names.join(", "))}</title>
<style>${katexCss()}</style>
<style>${highlightCss()}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
${title}
${tableOfContents(tocEntries, options.tocDepth ?? 3)}
${sections.join("\n")}
</body>
</html>
`;
  return { html, notebooks: summaries };
}
