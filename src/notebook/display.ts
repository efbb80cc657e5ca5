/**
 * Rich output for notebook cells: one MIME bundle per output.
 *
 * Inside the tslab kernel a bundle (e.g. vega-lite + PNG + text) goes out as one
 * `display_data` message through tslab's internal `lastWriteDisplayData` hook
 * (tslab's public `display.*` sends one MIME type per call). Outside a kernel
 * (plain Node, tests, scripts) the `text/plain` member is printed instead, so
 * every helper here also works in a terminal.
 *
 * The hook is internal to tslab, so tslab's version is pinned exactly in package.json;
 * `require("tslab/dist/jupyter")` resolves to the same copy the kernel runs, because
 * the `tslab` command defers to the project's local node_modules/tslab.
 */

/** A MIME bundle: MIME type -> content. Binary content (PNG) is base64-encoded on send. */
export type MimeBundle = Record<string, string | Uint8Array | object>;

/** Per-MIME metadata, e.g. `{ "image/png": { width: 600 } }` (display width in CSS pixels). */
export type MimeMetadata = Record<string, unknown>;

interface WireDisplayData {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type WriteDisplayData = (data: WireDisplayData, update: boolean) => void;

interface TslabJupyterModule {
  lastWriteDisplayData: WriteDisplayData | null;
}

let jupyterModule: TslabJupyterModule | null | undefined;

function tslabJupyter(): TslabJupyterModule | null {
  if (jupyterModule === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      jupyterModule = require("tslab/dist/jupyter") as TslabJupyterModule;
    } catch {
      jupyterModule = null;
    }
  }
  return jupyterModule;
}

/** True when running inside a tslab kernel cell (or the workbook's in-process runner). */
export function inKernel(): boolean {
  const j = tslabJupyter();
  return j !== null && typeof j.lastWriteDisplayData === "function";
}

/** Convert a bundle to its wire form: binary members become base64 strings. */
export function encodeBundle(bundle: MimeBundle): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    if (value instanceof Uint8Array) data[mime] = Buffer.from(value).toString("base64");
    else data[mime] = value;
  }
  return data;
}

function validateBundle(bundle: MimeBundle): void {
  if (typeof bundle["text/plain"] !== "string") {
    throw new Error(
      `Expected a MIME bundle with a "text/plain" string, but got members ` +
        `[${Object.keys(bundle).join(", ")}]`,
    );
  }
  const mimes = Object.keys(bundle);
  if (
    mimes.includes("image/svg+xml") &&
    !mimes.includes("image/png") &&
    !mimes.includes("application/pdf")
  ) {
    // nbconvert's LaTeX/PDF export crashes on SVG without a PDF or PNG sibling.
    throw new Error(
      `Expected an "image/png" beside "image/svg+xml" (SVG-only output breaks PDF export)`,
    );
  }
}

let displayCounter = 0;

/** A handle on one output area that can be replaced in place (a progress bar, a live plot). */
export class DisplayHandle {
  /** Jupyter display id (transient, used by `update_display_data`). */
  readonly id: string;
  private shown = false;

  constructor() {
    displayCounter += 1;
    this.id = `workbook-${process.pid}-${Date.now().toString(36)}-${displayCounter}`;
  }

  /**
   * Show `bundle` in this handle's output: the first call creates the output,
   * later calls replace it. Outside a kernel, prints the text/plain member.
   */
  update(bundle: MimeBundle, metadata: MimeMetadata = {}): void {
    validateBundle(bundle);
    const j = tslabJupyter();
    if (j !== null && typeof j.lastWriteDisplayData === "function") {
      j.lastWriteDisplayData(
        { data: encodeBundle(bundle), metadata, transient: { display_id: this.id } },
        this.shown,
      );
    } else {
      console.log(bundle["text/plain"]);
    }
    this.shown = true;
  }
}

/**
 * Display one MIME bundle as one output. `bundle["text/plain"]` is required: it is what
 * a terminal, a text diff and the PDF fallback see.
 */
export function showBundle(bundle: MimeBundle, metadata: MimeMetadata = {}): void {
  validateBundle(bundle);
  const j = tslabJupyter();
  if (j !== null && typeof j.lastWriteDisplayData === "function") {
    j.lastWriteDisplayData({ data: encodeBundle(bundle), metadata, transient: {} }, false);
  } else {
    console.log(bundle["text/plain"]);
  }
}

/** Display Markdown (rendered in JupyterLab and in the PDF); `text` is the plain fallback. */
export function showMarkdown(markdown: string, text: string = markdown): void {
  showBundle({ "text/markdown": markdown, "text/plain": text });
}

/** Cell value in a table: numbers are formatted with `digits` significant digits. */
export type TableCell = string | number | boolean | null | undefined;

/** Options for `showTable`. */
export interface TableOptions {
  /** Significant digits for numbers (default 4). */
  digits?: number;
  /** Optional caption printed above the table. */
  caption?: string;
}

function formatCell(v: TableCell, digits: number): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
    return String(Number(v.toPrecision(digits)));
  }
  return String(v);
}

/**
 * Format rows as a Markdown table and an aligned plain-text table.
 * @param rows one object per row; the columns are the keys of the first row (in order).
 */
export function formatTable(
  rows: Record<string, TableCell>[],
  options: TableOptions = {},
): { markdown: string; text: string } {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new Error(
      `Expected a non-empty array of rows, but got ${Array.isArray(rows) ? "[]" : typeof rows}`,
    );
  }
  const digits = options.digits ?? 4;
  const columns = Object.keys(rows[0]);
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c], digits)));
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const md = [
    `| ${columns.map(esc).join(" | ")} |`,
    `| ${columns.map((c) => (typeof rows[0][c] === "number" ? "---:" : "---")).join(" | ")} |`,
    ...cells.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((r) => r[j].length)));
  const numeric = columns.map((c) => typeof rows[0][c] === "number");
  const line = (r: string[]) =>
    r
      .map((s, j) => (numeric[j] ? s.padStart(widths[j]) : s.padEnd(widths[j])))
      .join("  ")
      .trimEnd();
  const text = [
    line(columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.map(line),
  ].join("\n");
  const caption = options.caption;
  return {
    markdown: caption ? `**${caption}**\n\n${md}` : md,
    text: caption ? `${caption}\n${text}` : text,
  };
}

/** Display rows as a table (Markdown in the notebook, aligned text elsewhere). */
export function showTable(rows: Record<string, TableCell>[], options: TableOptions = {}): void {
  const { markdown, text } = formatTable(rows, options);
  showMarkdown(markdown, text);
}
