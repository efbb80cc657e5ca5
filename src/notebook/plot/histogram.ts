/** Overlaid histograms with shared bins, as densities. */
import {
  Numbers,
  PlotOptions,
  checkSeries,
  checkValues,
  fmt,
  r5,
  range,
  seriesColor,
} from "./common";
import { Figure, figureFromSpec } from "./render";

/** A labelled sample for `histogram`. */
export interface ValueSeries {
  label: string;
  values: Numbers;
}

/**
 * Histogram(s) with shared bins, overlaid; densities (area 1) so samples of different size compare.
 * @param data one array of values or several labelled ones; each non-empty, all finite
 * @throws naming the input (`data`, `data[i].values`) if it is empty or not finite
 */
export async function histogram(
  data: Numbers | ValueSeries[],
  opts: PlotOptions & { bins?: number; xTitle?: string; domain?: [number, number] } = {},
): Promise<Figure> {
  const isSeries =
    Array.isArray(data) && data.length > 0 && typeof data[0] === "object" && data[0] !== null;
  if (isSeries) {
    (data as unknown[]).forEach((s, i) => {
      checkSeries(s, `data[${i}]`, "label, values");
      checkValues((s as ValueSeries).values, `data[${i}].values`, (s as ValueSeries).label);
    });
  } else checkValues(data, "data");
  const series: ValueSeries[] = isSeries
    ? (data as ValueSeries[])
    : [{ label: "values", values: data as Numbers }];
  const bins = opts.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`Expected bins to be a positive integer, but got bins=${bins}`);
  if (
    opts.domain !== undefined &&
    !(
      Array.isArray(opts.domain) &&
      opts.domain.length === 2 &&
      opts.domain.every(Number.isFinite) &&
      opts.domain[1] > opts.domain[0]
    )
  )
    throw new RangeError(
      `Expected domain to be [lo, hi] with finite lo < hi, but got ` +
        `domain=${JSON.stringify(opts.domain)}`,
    );
  let [lo, hi] = opts.domain ?? [Infinity, -Infinity];
  if (!opts.domain) {
    for (const s of series) {
      const [a, b] = range(s.values);
      lo = Math.min(lo, a);
      hi = Math.max(hi, b);
    }
  }
  if (!(hi > lo)) hi = lo + 1;
  const w = (hi - lo) / bins;
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const s of series) {
    const counts = new Float64Array(bins);
    let inside = 0;
    let sum = 0;
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      sum += v;
      if (v < lo || v > hi) continue;
      counts[Math.min(bins - 1, Math.floor((v - lo) / w))] += 1;
      inside += 1;
    }
    const total = Math.max(1, s.values.length);
    for (let b = 0; b < bins; b++) {
      rows.push({
        series: s.label,
        x0: r5(lo + b * w),
        x1: r5(lo + (b + 1) * w),
        density: r5(counts[b] / (total * w)),
      });
    }
    lines.push(
      `  ${s.label}: n=${s.values.length}, mean ${fmt(sum / total)}, ` +
        `${s.values.length - inside} outside [${fmt(lo)}, ${fmt(hi)}]`,
    );
  }
  const labels = series.map((s) => s.label);
  const spec = {
    title: opts.title,
    width: opts.width ?? 360,
    height: opts.height ?? 220,
    data: { values: rows },
    mark: { type: "rect", opacity: series.length > 1 ? 0.5 : 0.85 },
    encoding: {
      x: {
        field: "x0",
        type: "quantitative",
        title: opts.xTitle ?? "value",
        scale: { zero: false },
      },
      x2: { field: "x1" },
      y: { field: "density", type: "quantitative", title: "density", stack: null },
      y2: { datum: 0 },
      color: seriesColor(labels),
    },
  };
  const text = [
    `Histogram${opts.title ? ` "${opts.title}"` : ""} (${bins} bins on [${fmt(lo)}, ${fmt(hi)}]):`,
    ...lines,
  ].join("\n");
  const plotly = {
    data: series.map((s) => ({
      type: "histogram",
      name: s.label,
      x: Array.from(s.values),
      histnorm: "probability density",
      opacity: 0.6,
    })),
    layout: { title: opts.title ?? "", barmode: "overlay" },
  };
  return figureFromSpec(spec, text, plotly);
}
