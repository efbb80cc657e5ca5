/** What the chart helpers share: the number arrays they accept, common options, and compact numbers. */

/** Numbers accepted by the plot helpers. */
export type Numbers = ArrayLike<number>;

/** Common options for all plots. */
export interface PlotOptions {
  title?: string;
  /** Plot area width / height in CSS pixels (per panel for grids). */
  width?: number;
  height?: number;
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
