/**
 * Notebook Markdown -> HTML with math typeset by KaTeX in Node (no JavaScript in the page).
 *
 * JupyterLab hands Markdown cells to a Markdown renderer after lifting the math out
 * (otherwise `a_1 * b_2` becomes emphasis and `\\` an escaped backslash), then typesets the
 * math with MathJax. We do the same: `extractMath` replaces every math span by an
 * alphanumeric placeholder, markdown-it renders the rest (tables, code blocks, raw HTML),
 * and `renderMarkdown` puts KaTeX's HTML back in place of each placeholder.
 *
 * Math recognised, as in JupyterLab: `$...$`, `$$...$$`, `\(...\)`, `\[...\]`, and a bare
 * `\begin{env}...\end{env}` (e.g. `align`, `aligned` inside `$$`, `equation`). `\$` is a dollar
 * sign. Nothing inside code spans or fenced code blocks is treated as math.
 *
 * Raw HTML in the Markdown is untrusted (a notebook may come from someone else): the rendered
 * HTML is sanitized (`sanitizeNotebookHtml`) while the math is still a placeholder, and KaTeX's
 * output (from TeX, with `trust: false`) goes in afterwards, only where a placeholder stands in
 * text; one inside an attribute value is turned back into its TeX source first.
 */
import katex from "katex";
import MarkdownIt from "markdown-it";
import hljs from "highlight.js";
import { sanitizeNotebookHtml } from "./sanitize";

/** One math span lifted out of Markdown. */
export interface MathSpan {
  /** TeX source without its delimiters (a bare `\begin{..}..\end{..}` keeps its environment). */
  tex: string;
  /** Display (block) math rather than inline. */
  display: boolean;
}

const PLACEHOLDER_PREFIX = "KATEXMATHPLACEHOLDER";
const PLACEHOLDER_SUFFIX = "X";
const PLACEHOLDER_RE = /KATEXMATHPLACEHOLDER(\d+)X/g;

function placeholder(i: number): string {
  return `${PLACEHOLDER_PREFIX}${i}${PLACEHOLDER_SUFFIX}`;
}

/** Index of the first unescaped `delim` at or after `from` in `s`, or -1. */
function findClosing(s: string, delim: string, from: number, stopAtBlankLine: boolean): number {
  let i = from;
  while (i < s.length) {
    const c = s[i];
    if (s.startsWith(delim, i)) return i;
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (stopAtBlankLine && c === "\n" && /^\n[ \t]*\n/.test(s.slice(i, i + 64))) return -1;
    i += 1;
  }
  return -1;
}

/**
 * Replace math spans in Markdown by placeholders.
 * @returns the Markdown with placeholders, and the spans in placeholder order.
 */
export function extractMath(markdown: string): { text: string; math: MathSpan[] } {
  const s = markdown.replace(/\r\n?/g, "\n");
  const math: MathSpan[] = [];
  let out = "";
  let i = 0;
  const push = (tex: string, display: boolean) => {
    out += placeholder(math.length);
    math.push({ tex, display });
  };
  while (i < s.length) {
    const atLineStart = i === 0 || s[i - 1] === "\n";
    // Fenced code block: copy verbatim up to the closing fence (or the end).
    if (atLineStart) {
      const fence = /^( {0,3})(`{3,}|~{3,})[^\n]*/.exec(s.slice(i, i + 200));
      if (fence) {
        const marker = fence[2];
        const closeRe = new RegExp(
          `\\n {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}[ \\t]*(?=\\n|$)`,
          "g",
        );
        closeRe.lastIndex = i + fence[0].length;
        const close = closeRe.exec(s);
        const end = close ? close.index + close[0].length : s.length;
        out += s.slice(i, end);
        i = end;
        continue;
      }
    }
    const c = s[i];
    // Inline code span: a run of n backticks up to the next run of exactly n.
    if (c === "`") {
      let n = 0;
      while (s[i + n] === "`") n += 1;
      const run = "`".repeat(n);
      let j = i + n;
      let end = -1;
      while ((j = s.indexOf(run, j)) !== -1) {
        if (s[j + n] !== "`" && s[j - 1] !== "`") {
          end = j + n;
          break;
        }
        while (s[j] === "`") j += 1;
      }
      if (end === -1) {
        out += run;
        i += n;
      } else {
        out += s.slice(i, end);
        i = end;
      }
      continue;
    }
    if (c === "\\") {
      const next = s[i + 1];
      if (next === "[" || next === "(") {
        const closing = next === "[" ? "\\]" : "\\)";
        const end = findClosing(s, closing, i + 2, false);
        if (end !== -1) {
          push(s.slice(i + 2, end), next === "[");
          i = end + 2;
          continue;
        }
      }
      const env = /^\\begin\{([A-Za-z]+\*?)\}/.exec(s.slice(i, i + 40));
      if (env) {
        const endTag = `\\end{${env[1]}}`;
        const end = s.indexOf(endTag, i + env[0].length);
        if (end !== -1) {
          push(s.slice(i, end + endTag.length), true);
          i = end + endTag.length;
          continue;
        }
      }
      // Any other escape (including `\$`) is left for markdown-it.
      out += s.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === "$") {
      if (s[i + 1] === "$") {
        const end = findClosing(s, "$$", i + 2, false);
        if (end !== -1) {
          push(s.slice(i + 2, end), true);
          i = end + 2;
          continue;
        }
      } else {
        const end = findClosing(s, "$", i + 1, true);
        if (end !== -1 && end > i + 1) {
          push(s.slice(i + 1, end), false);
          i = end + 1;
          continue;
        }
      }
      out += c;
      i += 1;
      continue;
    }
    out += c;
    i += 1;
  }
  return { text: out, math };
}

/** A TeX expression KaTeX could not parse (rendered in red in the output, like JupyterLab). */
export interface MathProblem {
  tex: string;
  message: string;
}

/**
 * Typeset one TeX expression to HTML (KaTeX HTML output only, so a PDF's text layer holds each
 * formula once; the page needs KaTeX's CSS and fonts, see `katexCss`). Parse errors are appended to
 * `problems` and shown in red.
 */
export function renderMath(tex: string, display: boolean, problems?: MathProblem[]): string {
  const options = {
    displayMode: display,
    output: "html" as const,
    strict: "ignore" as const,
    trust: false,
  };
  try {
    return katex.renderToString(tex, { ...options, throwOnError: true });
  } catch (err) {
    problems?.push({ tex, message: err instanceof Error ? err.message : String(err) });
    return katex.renderToString(tex, { ...options, throwOnError: false });
  }
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/**
 * Highlight code as HTML (highlight.js class names; needs a highlight.js theme stylesheet).
 * @param language a highlight.js language name; unknown or empty -> escaped plain text.
 */
export function highlightCode(code: string, language: string): string {
  const lang = language.trim().toLowerCase();
  if (lang !== "" && hljs.getLanguage(lang)) {
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
  }
  return escapeHtml(code);
}

/** A heading met while rendering, for the table of contents. */
export interface Heading {
  /** 1..6 */
  level: number;
  /** Plain text of the heading (math as its TeX source). */
  text: string;
  /** The element id given to the heading. */
  id: string;
}

/** Options for `renderMarkdown`. */
export interface MarkdownOptions {
  /** Prefix of heading ids, unique per document part (e.g. "nb2-"). */
  idPrefix?: string;
  /** Headings found are appended here (in document order). */
  headings?: Heading[];
  /** Math parse problems are appended here. */
  mathProblems?: MathProblem[];
  /**
   * Rewrites image URLs (e.g. `attachment:x.png` or a relative path -> data URI); null keeps it.
   */
  resolveImage?: (src: string) => string | null;
  /** Ids already used in this document (to keep them unique); shared across calls. */
  usedIds?: Set<string>;
}

const md = new MarkdownIt({
  html: true,
  linkify: false,
  typographer: false,
  highlight: (code, lang) => highlightCode(code, lang),
});

/**
 * Code blocks print without wrapping: each block gets the largest font size (≤ 8.6pt, the body's
 * code size) at which its longest line fits the printed width, down to 5.4pt. Width: A4 (210 mm)
 * minus 2 × 16 mm margins = 504.6pt, less the block's padding and border (≈ 12pt); DejaVu Sans Mono
 * advances 0.602 em per character. Only a block whose longest line exceeds ~151 characters still
 * wraps.
 */
const LISTING_WIDTH_PT = 492;
const MONO_ADVANCE_EM = 0.602;
const LISTING_MAX_PT = 8.6;
const LISTING_MIN_PT = 5.4;

/**
 * Inline style that keeps a code block of `code` on unwrapped lines in print (see
 * LISTING_WIDTH_PT).
 */
export function listingStyle(code: string): string {
  const cols = Math.max(
    1,
    ...code
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => [...l].length),
  );
  const fit = Math.floor((10 * LISTING_WIDTH_PT) / (cols * MONO_ADVANCE_EM)) / 10;
  if (fit < LISTING_MIN_PT) return `font-size:${LISTING_MIN_PT}pt;white-space:pre-wrap`;
  return `font-size:${Math.min(LISTING_MAX_PT, fit)}pt;white-space:pre`;
}

const defaultFence = md.renderer.rules.fence!;
md.renderer.rules.fence = (tokens, idx, options, env, self) => {
  const html = defaultFence(tokens, idx, options, env, self);
  return html.replace(
    /^<pre>/,
    `<pre class="listing" style="${listingStyle(tokens[idx].content)}">`,
  );
};

function slugify(text: string): string {
  const slug = text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^\w\s-]/g, "")
    .trim()
    .replace(/[\s_]+/g, "-");
  return slug === "" ? "section" : slug.slice(0, 60);
}

/**
 * Render notebook Markdown (with math) to a sanitized HTML fragment.
 * Headings get ids (`idPrefix` + slug) and are reported in `options.headings`.
 */
export function renderMarkdown(markdown: string, options: MarkdownOptions = {}): string {
  const { text, math } = extractMath(markdown);
  const tokens = md.parse(text, {});
  const used = options.usedIds ?? new Set<string>();
  const restore = (s: string) =>
    s.replace(PLACEHOLDER_RE, (whole, k: string) => {
      const m = math[Number(k)];
      if (m === undefined) return whole;
      return m.display ? `$$${m.tex}$$` : `$${m.tex}$`;
    });
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    if (tok.type === "heading_open") {
      const inline = tokens[t + 1];
      const plain = restore(inline && inline.type === "inline" ? inline.content : "");
      let id = `${options.idPrefix ?? ""}${slugify(plain)}`;
      for (let n = 2; used.has(id); n++) id = `${options.idPrefix ?? ""}${slugify(plain)}-${n}`;
      used.add(id);
      tok.attrSet("id", id);
      options.headings?.push({ level: Number(tok.tag.slice(1)), text: plain, id });
    }
    if (tok.type === "inline" && tok.children && options.resolveImage) {
      for (const child of tok.children) {
        if (child.type === "image") {
          const src = child.attrGet("src");
          const resolved = src === null ? null : options.resolveImage(String(src));
          if (resolved !== null) child.attrSet("src", resolved);
        }
      }
    }
  }
  const html = sanitizeNotebookHtml(md.renderer.render(tokens, md.options, {}), restore);
  return html.replace(PLACEHOLDER_RE, (whole, k: string) => {
    const m = math[Number(k)];
    // A placeholder the notebook wrote itself (no such math span) stays as text.
    return m === undefined ? whole : renderMath(m.tex, m.display, options.mathProblems);
  });
}
