/**
 * The one shape of a check's outcome, `Check`, and the one printer of every check cell,
 * `showChecks`. A check function returns a `CheckResult`: its compared quantities (`checks`) and
 * the table of measured numbers that a notebook shows.
 */
import { formatTable, showMarkdown, TableCell } from "../display";

/** PASS and FAIL say how a comparison came out; SKIPPED means nothing was compared. */
export type CheckStatus = "PASS" | "FAIL" | "SKIPPED";

/** One compared quantity: PASS when |value − reference| ≤ tolerance (expressions: when equal). */
export interface Check {
  /** What is compared, e.g. "mean at t = 0.5". */
  name: string;
  /** The measured quantity (a symbolic check: the simplified expression). */
  value: number | string;
  /** What it is compared with: a number, or an expression that `value` must equal. */
  reference: number | string;
  /** Largest allowed |value − reference| (0 for expressions). */
  tolerance: number;
  status: CheckStatus;
  /** Why it was skipped, or what the value is relative to. */
  note?: string;
}

/** What every check function returns. */
export interface CheckResult {
  /** What was checked: the table's caption, which `showChecks` ends with the overall status. */
  title: string;
  /** The compared quantities; none compared means the check is SKIPPED. */
  checks: Check[];
  /** The measured numbers, one object per row (column → cell); may be empty. */
  table: Record<string, TableCell>[];
  /** Significant digits of the table's numbers (default: `formatTable`'s). */
  digits?: number;
  /** Short lines printed under the table (numbers with labels). */
  footer?: string[];
}

/**
 * Compare `value` with `reference`: PASS when both are numbers and |value − reference| ≤ tolerance
 * (a NaN fails), or when both are the same expression.
 */
export function compare(
  name: string,
  value: number | string,
  reference: number | string,
  tolerance: number,
  note?: string,
): Check {
  const passed =
    typeof value === "number" && typeof reference === "number"
      ? Math.abs(value - reference) <= tolerance
      : value === reference;
  return { name, value, reference, tolerance, status: passed ? "PASS" : "FAIL", note };
}

/** A check that compared nothing (e.g. a second engine that does not start here). */
export function skipped(name: string, note: string): Check {
  return { name, value: NaN, reference: NaN, tolerance: NaN, status: "SKIPPED", note };
}

/** FAIL if any check failed, PASS if at least one passed and none failed, else SKIPPED. */
export function overallStatus(checks: readonly Check[]): CheckStatus {
  if (checks.some((c) => c.status === "FAIL")) return "FAIL";
  return checks.some((c) => c.status === "PASS") ? "PASS" : "SKIPPED";
}

/**
 * Print a check cell's outcome: the caption "title: STATUS" (with the notes when SKIPPED), the
 * table and the footer lines. A bare list of checks is printed as a table of its own fields.
 */
export function showChecks(result: CheckResult | Check[]): void {
  const r: CheckResult = Array.isArray(result)
    ? { title: "Checks", checks: result, table: result.map(checkRow) }
    : result;
  const status = overallStatus(r.checks);
  const notes = r.checks.filter((c) => c.status === "SKIPPED" && c.note).map((c) => c.note);
  const caption = `${r.title}: ${status}` + (notes.length ? ` (${notes.join("; ")})` : "");
  const footer = (r.footer ?? []).join("\n");
  const { markdown, text } =
    r.table.length > 0
      ? formatTable(r.table, { caption, digits: r.digits })
      : { markdown: `**${caption}**`, text: caption };
  showMarkdown(
    footer ? `${markdown}\n\n${footer}` : markdown,
    footer ? `${text}\n${footer}` : text,
  );
}

function checkRow(c: Check): Record<string, TableCell> {
  return {
    check: c.name,
    value: c.status === "SKIPPED" ? null : c.value,
    reference: c.status === "SKIPPED" ? null : c.reference,
    tolerance: c.status === "SKIPPED" ? null : c.tolerance,
    status: c.status,
    note: c.note ?? "",
  };
}
