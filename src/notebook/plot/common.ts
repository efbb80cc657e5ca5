/**
 * What the chart helpers share: the number arrays they accept and their checks, common options,
 * and compact numbers.
 */

/** Numbers accepted by the plot helpers. */
export type Numbers = ArrayLike<number>;

/** Common options for all plots. */
export interface PlotOptions {
  title?: string;
  /** Plot area width / height in CSS pixels (per panel for grids). */
  width?: number;
  height?: number;
}

/** A value for an error message: numbers and strings as written, arrays and objects by kind. */
function describe(v: unknown): string {
  if (v === null || v === undefined || typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v))
    return `an array of length ${(v as Numbers).length}`;
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}

/** How an input is called in errors: its path (`data[1].values`), then the series label if any. */
function named(path: string, label?: string): string {
  return label === undefined ? path : `${path} (series ${JSON.stringify(label)})`;
}

function isArrayLike(v: unknown): v is Numbers {
  return v !== null && typeof v === "object" && typeof (v as Numbers).length === "number";
}

function checkFinite(a: Numbers, path: string, label?: string): void {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(
        `Expected ${named(path, label)} to hold finite numbers, but got ${path}[${i}] = ` +
          `${describe(v)}`,
      );
    }
  }
}

/**
 * Throws unless `v` is a non-empty array of finite numbers, naming it by `path` (and the series
 * `label`); returns it. For the plot helpers' inputs: O(n), once per plot.
 */
export function checkValues(v: unknown, path: string, label?: string): Numbers {
  if (!isArrayLike(v))
    throw new TypeError(
      `Expected ${named(path, label)} to be an array of numbers, but got ${describe(v)}`,
    );
  if (v.length === 0)
    throw new RangeError(
      `Expected ${named(path, label)} to hold at least one value, but got length 0`,
    );
  checkFinite(v, path, label);
  return v;
}

/**
 * Throws unless `v` is n×2 row-major points [x₀, y₀, x₁, y₁, …] (one flat array, n ≥ 1, all
 * finite), naming it by `path` (and the series `label`); returns n.
 */
export function checkPoints(v: unknown, path: string, label?: string): number {
  const name = named(path, label);
  if (!isArrayLike(v))
    throw new TypeError(
      `Expected ${name} to be an n×2 row-major array [x₀, y₀, x₁, y₁, …], but got ${describe(v)}`,
    );
  if (v.length > 0 && isArrayLike(v[0]))
    throw new TypeError(
      `Expected ${name} to be n×2 row-major, one flat array [x₀, y₀, x₁, y₁, …], but got an ` +
        `array of arrays (flatten it, e.g. pairs.flat())`,
    );
  if (v.length === 0)
    throw new RangeError(
      `Expected ${name} to hold at least one point (n×2 row-major, n ≥ 1), but got length 0`,
    );
  if (v.length % 2 !== 0)
    throw new RangeError(
      `Expected ${name} to be an n×2 row-major array (even length), but got length ${v.length}`,
    );
  checkFinite(v, path, label);
  return v.length / 2;
}

/** Throws unless `v` is an object with a string `label`, naming it by `path`. */
export function checkSeries(v: unknown, path: string, fields: string): void {
  if (v === null || typeof v !== "object" || typeof (v as { label?: unknown }).label !== "string")
    throw new TypeError(
      `Expected ${path} to be a series {${fields}} with a string label, but got ${describe(v)}`,
    );
}

/** Round to 5 significant digits: keeps the spec (stored in the notebook) small. */
export function r5(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(5)) : v;
}

/** A number for the text summaries: 3 significant digits, exponential outside [1e-3, 1e5). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** [min, max] of `values` ([Infinity, -Infinity] when empty). */
export function range(values: Numbers): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Indices 0..n-1 thinned to at most `max` evenly spaced ones (deterministic). */
export function thin(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.floor((k * n) / max));
  return out;
}

/**
 * The colour channel of every multi-series chart: one colour per series label, in the given order,
 * with a legend only when there is more than one series (`legend` overrides its placement).
 */
export function seriesColor(labels: string[], legend: Record<string, unknown> = {}) {
  return {
    field: "series",
    type: "nominal" as const,
    title: null,
    scale: { domain: labels },
    legend: labels.length > 1 ? legend : null,
  };
}

/**
 * A vega-lite facet of one unit spec over the rows' "panel" field, panels in `order` (their
 * names as headers), `columns` to a row: the small-multiples layout of trajectories and quivers.
 */
export function facetByPanel(
  rows: Record<string, unknown>[],
  order: string[],
  unit: Record<string, unknown>,
  layout: { title?: string; columns: number; spacing: number },
): Record<string, unknown> {
  return {
    title: layout.title,
    data: { values: rows },
    facet: {
      field: "panel",
      type: "nominal",
      title: null,
      sort: order,
      header: { labelFontSize: 12, labelPadding: 2 },
    },
    columns: layout.columns,
    spacing: layout.spacing,
    spec: unit,
  };
}
