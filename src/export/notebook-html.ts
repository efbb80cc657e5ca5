/**
 * One executed notebook (.ipynb, nbformat 4) -> an HTML fragment: Markdown with typeset math,
 * highlighted code cells, and every output (streams, Markdown, images, plain text).
 *
 * Output choice per display (as JupyterLab's static renderers and nbconvert's LaTeX route):
 * image/png > image/jpeg > image/svg+xml > text/markdown > text/latex > text/html > text/plain.
 * A vega-lite plot is a bundle {vega-lite JSON, image/png, text/plain}; its PNG is used.
 * Images are embedded as data URIs, so the fragment is self-contained.
 *
 * A notebook may come from someone else, so it is rendered as JupyterLab shows an untrusted
 * notebook: Markdown and text/html are sanitized (`sanitize.ts`), and a Markdown image path is
 * embedded only if it names an image file inside the notebook's own folder.
 */
import * as fs from "fs";
import * as path from "path";
import {
  escapeHtml,
  highlightCode,
  renderMarkdown,
  renderMath,
  type Heading,
  type MathProblem,
} from "./markdown";
import { sanitizeNotebookHtml } from "./sanitize";

/** Multiline text as nbformat stores it: a string or a list of lines. */
export type MultilineString = string | string[];

/** The parts of an nbformat-4 output that the export reads. */
export interface NotebookOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error" | "update_display_data";
  name?: string;
  text?: MultilineString;
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** The parts of an nbformat-4 cell that the export reads. */
export interface NotebookCell {
  cell_type: "markdown" | "code" | "raw";
  source: MultilineString;
  metadata?: { tags?: string[]; [key: string]: unknown };
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  attachments?: Record<string, Record<string, string>>;
}

/** The parts of an nbformat-4 notebook that the export reads. */
export interface Notebook {
  nbformat: number;
  cells: NotebookCell[];
  metadata?: {
    language_info?: { name?: string };
    kernelspec?: { language?: string };
    [key: string]: unknown;
  };
}

/** A notebook whose stored outputs contain an error: exporting it would hand in a failed run. */
export class NotebookOutputError extends Error {
  constructor(
    /** The notebook's file name. */
    readonly notebook: string,
    /** 1-based cell number (counting all cells, as JupyterLab shows them top to bottom). */
    readonly cell: number,
    readonly detail: string,
  ) {
    super(`Notebook ${notebook}, cell ${cell} has an error output: ${detail}`);
    this.name = "NotebookOutputError";
  }
}

/** Join nbformat multiline text. */
export function joinText(text: MultilineString | undefined): string {
  if (text === undefined) return "";
  return Array.isArray(text) ? text.join("") : text;
}

/** Remove ANSI escape sequences (colours in tracebacks and progress lines). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\u001b\][^\u0007]*\u0007/g, "");
}

/**
 * What a terminal would finally show: a carriage return rewinds to the start of its line
 * (progress bars print `\r` updates), a backspace deletes the previous character.
 */
export function applyCarriageReturns(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      const parts = line.split("\r");
      let shown = "";
      for (const part of parts) shown = part + shown.slice(part.length);
      while (/[^\u0008]\u0008/.test(shown)) shown = shown.replace(/[^\u0008]\u0008/, "");
      return shown;
    })
    .join("\n");
}

/** Parse and check a notebook file's JSON. */
export function parseNotebook(json: string, fileName: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(json);
  } catch (err) {
    throw new Error(
      `Expected ${fileName} to be notebook JSON, but it does not parse: ${(err as Error).message}`,
    );
  }
  const n = nb as Partial<Notebook>;
  if (typeof n !== "object" || n === null || !Array.isArray(n.cells)) {
    throw new Error(
      `Expected ${fileName} to be an nbformat-4 notebook with a "cells" array, but got none`,
    );
  }
  if (n.nbformat !== 4) {
    throw new Error(
      `Expected ${fileName} to be nbformat 4, but got nbformat=${String(n.nbformat)}`,
    );
  }
  return n as Notebook;
}

/** Options for `renderNotebook`. */
export interface RenderNotebookOptions {
  /** File name shown in messages. */
  fileName: string;
  /** Folder the notebook lives in (for relative image paths in Markdown). */
  baseDir?: string;
  /** Prefix of element ids in this notebook, e.g. "nb1-". */
  idPrefix: string;
  /** Ids already used in the whole document (shared across notebooks). */
  usedIds?: Set<string>;
}

/** The rendered notebook. */
export interface RenderedNotebook {
  html: string;
  headings: Heading[];
  /** TeX that KaTeX could not parse (rendered in red); worth a warning. */
  mathProblems: MathProblem[];
  /** Number of image outputs embedded (plots). */
  images: number;
}

const MIME_ORDER = [
  "image/png",
  "image/jpeg",
  "image/svg+xml",
  "text/markdown",
  "text/latex",
  "text/html",
  "text/plain",
] as const;

/** An image output: `src` is a data: URI, `metadata` its width/height hints. */
function imageHtml(src: string, metadata: unknown): string {
  const style = imageSizeStyle(metadata);
  return `<div class="output image-output"><img alt="plot" src="${src}"${style}></div>`;
}

function imageSizeStyle(meta: unknown): string {
  if (typeof meta !== "object" || meta === null) return "";
  const m = meta as { width?: unknown; height?: unknown };
  return typeof m.width === "number" && m.width > 0 ? ` style="width:${m.width}px"` : "";
}

function renderMimeBundle(
  data: Record<string, unknown>,
  metadata: Record<string, unknown>,
  md: { idPrefix: string; mathProblems: MathProblem[]; usedIds: Set<string> },
): { html: string; image: boolean } {
  const mime = MIME_ORDER.find((m) => data[m] !== undefined);
  if (mime === undefined) {
    const kinds = Object.keys(data).join(", ") || "nothing";
    return {
      html:
        `<pre class="output text-output">[output of type ${escapeHtml(kinds)} has no static ` +
        `form]</pre>`,
      image: false,
    };
  }
  const value = data[mime];
  const text = Array.isArray(value) ? value.join("") : String(value);
  switch (mime) {
    case "image/png":
    case "image/jpeg":
      return {
        html: imageHtml(`data:${mime};base64,${text.replace(/\s/g, "")}`, metadata[mime]),
        image: true,
      };
    case "image/svg+xml":
      return {
        html: imageHtml(
          `data:image/svg+xml;base64,${Buffer.from(text, "utf8").toString("base64")}`,
          metadata[mime],
        ),
        image: true,
      };
    case "text/markdown":
      return {
        html: `<div class="output markdown-output">${renderMarkdown(text, { ...md })}</div>`,
        image: false,
      };
    case "text/latex": {
      const tex = text.trim().replace(/^\$\$?([\s\S]*?)\$?\$$/, "$1");
      return {
        html: `<div class="output latex-output">${renderMath(tex, true, md.mathProblems)}</div>`,
        image: false,
      };
    }
    case "text/html":
      return {
        html: `<div class="output html-output">${sanitizeNotebookHtml(text)}</div>`,
        image: false,
      };
    default:
      return {
        html:
          `<pre class="output ` +
          `text-output">${escapeHtml(applyCarriageReturns(stripAnsi(text)))}</pre>`,
        image: false,
      };
  }
}

/**
 * A Markdown image's relative path as a data URI, if it names an image file inside `baseDir`
 * (the notebook's folder, subfolders included, symbolic links resolved): a received notebook
 * must not pull other local files into the PDF with `../` or an absolute path. Else null.
 */
export function localImageDataUri(baseDir: string, src: string): string | null {
  let relative: string;
  try {
    relative = decodeURI(src.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  if (relative === "" || path.isAbsolute(relative) || path.win32.isAbsolute(relative)) return null;
  let base: string;
  let file: string;
  try {
    base = fs.realpathSync(baseDir);
    file = fs.realpathSync(path.resolve(baseDir, relative));
  } catch {
    return null;
  }
  if (!file.startsWith(base + path.sep) || !fs.statSync(file).isFile()) return null;
  return dataUriForFile(file);
}

function dataUriForFile(file: string): string | null {
  const ext = path.extname(file).toLowerCase();
  const mime = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
  }[ext];
  if (mime === undefined || !fs.existsSync(file)) return null;
  return `data:${mime};base64,${fs.readFileSync(file).toString("base64")}`;
}

/**
 * Render a notebook to HTML. Throws `NotebookOutputError` if any output is an error
 * (a failed run must not be handed in).
 */
export function renderNotebook(nb: Notebook, options: RenderNotebookOptions): RenderedNotebook {
  const headings: Heading[] = [];
  const mathProblems: MathProblem[] = [];
  const usedIds = options.usedIds ?? new Set<string>();
  const language =
    nb.metadata?.language_info?.name ?? nb.metadata?.kernelspec?.language ?? "typescript";
  const parts: string[] = [];
  let images = 0;

  nb.cells.forEach((cell, index) => {
    const cellNo = index + 1;
    const tags = cell.metadata?.tags ?? [];
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") {
        const trace = stripAnsi((out.traceback ?? []).join("\n")).trim();
        throw new NotebookOutputError(
          options.fileName,
          cellNo,
          `${out.ename ?? "Error"}: ${out.evalue ?? ""}${trace ? `\n${trace}` : ""}`,
        );
      }
    }
    if (tags.includes("remove-cell")) return;
    const source = joinText(cell.source);
    if (cell.cell_type === "markdown") {
      const resolveImage = (src: string): string | null => {
        if (src.startsWith("attachment:")) {
          const bundle = cell.attachments?.[src.slice("attachment:".length)];
          const mime = bundle && Object.keys(bundle)[0];
          return mime ? `data:${mime};base64,${bundle[mime].replace(/\s/g, "")}` : null;
        }
        if (/^[a-z][a-z0-9+.-]*:/i.test(src) || options.baseDir === undefined) return null;
        return localImageDataUri(options.baseDir, src);
      };
      const html = renderMarkdown(source, {
        idPrefix: options.idPrefix,
        headings,
        mathProblems,
        usedIds,
        resolveImage,
      });
      parts.push(`<div class="cell markdown-cell">${html}</div>`);
      return;
    }
    if (cell.cell_type === "raw") {
      if (source.trim() !== "")
        parts.push(`<pre class="cell raw-cell">${escapeHtml(source)}</pre>`);
      return;
    }
    // Code cell: the source (unless hidden by a tag), then its outputs.
    const cellParts: string[] = [];
    if (!tags.includes("remove-input") && !tags.includes("hide-input") && source.trim() !== "") {
      // No count (a kernel that does not report one) -> no prompt, rather than JupyterLab's "[ ]"
      // for "never run".
      const count = cell.execution_count;
      const prompt = count === null || count === undefined ? "" : `[${escapeHtml(String(count))}]`;
      cellParts.push(
        `<div class="input"><div class="prompt">${prompt}</div>` +
          `<pre class="code hljs"><code>${highlightCode(source, language)}</code></pre></div>`,
      );
    }
    if (!tags.includes("remove-output")) {
      // Consecutive stream outputs of the same name are shown as one block, as in JupyterLab.
      const stream = { name: "", text: "" };
      const flush = () => {
        if (stream.text !== "") {
          const shown = applyCarriageReturns(stripAnsi(stream.text)).replace(/\n$/, "");
          cellParts.push(
            `<pre class="output stream ${escapeHtml(stream.name)}">${escapeHtml(shown)}</pre>`,
          );
        }
        stream.text = "";
      };
      for (const out of cell.outputs ?? []) {
        if (out.output_type === "stream") {
          const name = out.name ?? "stdout";
          if (stream.name !== name) flush();
          stream.name = name;
          stream.text += joinText(out.text);
          continue;
        }
        flush();
        if (out.data !== undefined) {
          const r = renderMimeBundle(out.data, out.metadata ?? {}, {
            idPrefix: options.idPrefix,
            mathProblems,
            usedIds,
          });
          cellParts.push(r.html);
          if (r.image) images += 1;
        }
      }
      flush();
    }
    if (cellParts.length > 0)
      parts.push(`<div class="cell code-cell">${cellParts.join("\n")}</div>`);
  });

  return { html: parts.join("\n"), headings, mathProblems, images };
}
