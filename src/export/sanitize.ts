/**
 * HTML from a notebook (raw HTML in Markdown cells, text/html and text/markdown outputs) is
 * untrusted: a notebook received from someone else is printed as JupyterLab shows an untrusted
 * notebook. `sanitizeNotebookHtml` keeps an allow-list of tags, attributes, URL schemes and CSS
 * properties (sanitize-html, which parses the HTML rather than pattern-matching it) and drops
 * everything else: scripts, event handlers, frames, objects, forms, `<style>` and `<link>`,
 * `javascript:` and `file:` URLs, images other than embedded `data:image/...` URIs, and CSS
 * values that could load anything (`url(...)`).
 *
 * What the workbook's own notebooks need survives: Markdown's output (headings with ids,
 * tables with `text-align`, lists, code blocks with highlight.js classes and the listing's
 * font size), images the export embedded as data URIs, and the progress bar our library
 * displays (boxes drawn with widths and background colours). KaTeX's math is typeset from TeX
 * after sanitizing (see `renderMarkdown`), so it never passes through here.
 *
 * This is one of three defences; the print page also runs no JavaScript and loads nothing but
 * itself (see `pdf.ts`).
 */
import sanitizeHtml from "sanitize-html";

const TAGS = [
  // text and structure (Markdown's output, and what notebooks commonly write by hand)
  ...["p", "div", "span", "br", "hr", "blockquote", "pre", "code", "kbd", "samp", "var"],
  ...["h1", "h2", "h3", "h4", "h5", "h6", "a", "em", "strong", "b", "i", "u", "s", "del", "ins"],
  ...["sub", "sup", "small", "mark", "abbr", "cite", "q", "dfn", "time", "center"],
  ...["ul", "ol", "li", "dl", "dt", "dd", "details", "summary", "figure", "figcaption"],
  ...["table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col"],
  "img",
];

/**
 * Safe CSS value: words, numbers, colours, quotes; the only functions are rgb(a), hsl(a) and
 * calc, so nothing like url(...), image-set(...) or var(...); no backslash escapes.
 */
const SAFE_CSS_VALUE = /^(?:[-\w\s.,#%+*/'"]|(?:^|(?<=[^\w-]))(?:rgba?|hsla?|calc)\(|\))*$/i;

const CSS_PROPERTIES = [
  ...["color", "background-color", "opacity"],
  ...["border", "border-width", "border-style", "border-color", "border-radius", "border-collapse"],
  ...["border-top", "border-right", "border-bottom", "border-left", "border-spacing"],
  ...["border-top-width", "border-right-width", "border-bottom-width", "border-left-width"],
  ...["border-top-style", "border-right-style", "border-bottom-style", "border-left-style"],
  ...["border-top-color", "border-right-color", "border-bottom-color", "border-left-color"],
  ...["margin", "margin-top", "margin-right", "margin-bottom", "margin-left"],
  ...["padding", "padding-top", "padding-right", "padding-bottom", "padding-left"],
  ...["width", "height", "min-width", "max-width", "min-height", "max-height"],
  ...["top", "right", "bottom", "left", "vertical-align", "text-align", "float", "clear"],
  ...["font-family", "font-size", "font-weight", "font-style", "font-variant", "line-height"],
  ...["white-space", "text-decoration", "text-shadow", "letter-spacing", "word-spacing"],
  ...["list-style-type", "gap", "justify-content", "align-items", "flex", "flex-direction"],
];

const STYLES: Record<string, RegExp[]> = Object.fromEntries(
  CSS_PROPERTIES.map((p) => [p, [SAFE_CSS_VALUE]]),
);
// Layout that could lift content out of its cell onto other pages (fixed repeats on every
// printed page) is limited to the harmless values.
STYLES.position = [/^(static|relative)$/i];
STYLES.display = [/^(none|block|inline|inline-block|flex|inline-flex|list-item|table[-a-z]*)$/i];

/** Embedded raster or SVG image (an SVG in an <img> runs no script). */
const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$/i;

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: TAGS,
  allowedAttributes: {
    "*": ["class", "style", "title", "lang", "dir", "align"],
    h1: ["id"],
    h2: ["id"],
    h3: ["id"],
    h4: ["id"],
    h5: ["id"],
    h6: ["id"],
    a: ["href", "name"],
    img: ["src", "alt", "width", "height"],
    th: ["colspan", "rowspan"],
    td: ["colspan", "rowspan"],
    col: ["span"],
    colgroup: ["span"],
    ol: ["start", "type"],
    details: ["open"],
  },
  allowedStyles: { "*": STYLES },
  // Links keep web and mail targets (a PDF link annotation, never loaded while printing).
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["data"] },
  allowedSchemesAppliedToAttributes: ["href", "src", "cite"],
  allowProtocolRelative: false,
  disallowedTagsMode: "discard",
  // Their text is code or markup, not prose: dropped with the tag.
  nonTextTags: ["script", "style", "textarea", "option", "noscript", "xmp", "title", "template"],
  enforceHtmlBoundary: false,
  parseStyleAttributes: true,
  transformTags: {
    img: (tagName, attribs) => {
      const { src, ...rest } = attribs;
      return {
        tagName,
        attribs: src !== undefined && DATA_IMAGE.test(src) ? { src, ...rest } : rest,
      };
    },
  },
};

/**
 * Sanitize untrusted HTML from a notebook for the print page (see the module comment).
 * `transformAttribute`, if given, rewrites every kept attribute value first (used to keep
 * math placeholders out of attributes).
 */
export function sanitizeNotebookHtml(
  html: string,
  transformAttribute?: (value: string) => string,
): string {
  if (transformAttribute === undefined) return sanitizeHtml(html, OPTIONS);
  const imgTransform = OPTIONS.transformTags!.img as sanitizeHtml.Transformer;
  const mapAttribs = (attribs: sanitizeHtml.Attributes) =>
    Object.fromEntries(Object.entries(attribs).map(([k, v]) => [k, transformAttribute(v)]));
  return sanitizeHtml(html, {
    ...OPTIONS,
    transformTags: {
      "*": (tagName, attribs) => ({ tagName, attribs: mapAttribs(attribs) }),
      img: (tagName, attribs) => imgTransform(tagName, mapAttribs(attribs)),
    },
  });
}
