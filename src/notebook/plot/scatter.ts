/**
 * Scatter plots of 2-D points: one figure (`scatter2d`) or a grid of snapshots (`trajectoryGrid`).
 */
import {
  Numbers,
  PlotOptions,
  checkPoints,
  checkSeries,
  facetByPanel,
  fmt,
  r5,
  range,
  seriesColor,
  thin,
} from "./common";
import { Figure, figureFromSpec } from "./render";

/** A labelled set of 2-D points, `x` is n×2 row-major (x[2i], x[2i+1]). */
export interface PointSeries {
  label: string;
  x: Numbers;
}

/** Options for `scatter2d` and `trajectoryGrid`. */
export interface ScatterOptions extends PlotOptions {
  /** At most this many points per series go into the plot (evenly thinned; default 3000). */
  maxPoints?: number;
  /** Axis domains [[xmin, xmax], [ymin, ymax]]; default: fitted to the data. */
  domain?: [[number, number], [number, number]];
  /** Point area in px² (default 8) and opacity (default 0.5). */
  pointSize?: number;
  opacity?: number;
  xTitle?: string;
  yTitle?: string;
  /**
   * Same scale on both axes, so shapes are not stretched (default true): width/height are then the
   * largest plot area.
   */
  equalAspect?: boolean;
}

function pointRows(series: PointSeries[], maxPoints: number, extra: Record<string, unknown> = {}) {
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const s of series) {
    const n = s.x.length / 2; // checked where the series entered
    const idx = thin(n, maxPoints);
    for (const i of idx)
      rows.push({ ...extra, series: s.label, x: r5(s.x[2 * i]), y: r5(s.x[2 * i + 1]) });
    const xs = Array.from({ length: n }, (_, i) => s.x[2 * i]);
    const ys = Array.from({ length: n }, (_, i) => s.x[2 * i + 1]);
    const [x0, x1] = range(xs);
    const [y0, y1] = range(ys);
    lines.push(
      `  ${s.label}: n=${n}${idx.length < n ? ` (${idx.length} plotted)` : ""}, ` +
        `x in [${fmt(x0)}, ${fmt(x1)}], y in [${fmt(y0)}, ${fmt(y1)}]`,
    );
  }
  return { rows, lines };
}

/**
 * `scatter2d`'s input as series, checked: one n×2 array (named `points`) or `{label, x}` series
 * (named `points[i].x`), each with n ≥ 1 finite points.
 */
function normaliseSeries(points: PointSeries[] | Numbers, label = "points"): PointSeries[] {
  const isSeries =
    Array.isArray(points) &&
    points.length > 0 &&
    typeof points[0] === "object" &&
    points[0] !== null &&
    !Array.isArray(points[0]) &&
    !ArrayBuffer.isView(points[0]);
  if (!isSeries) {
    checkPoints(points, "points");
    return [{ label, x: points as Numbers }];
  }
  (points as unknown[]).forEach((s, i) => {
    checkSeries(s, `points[${i}]`, "label, x");
    checkPoints((s as PointSeries).x, `points[${i}].x`, (s as PointSeries).label);
  });
  return points as PointSeries[];
}

function scatterEncoding(series: PointSeries[], opts: ScatterOptions) {
  const scale = (d?: [number, number]) => (d ? { domain: d, nice: false } : { zero: false });
  return {
    x: {
      field: "x",
      type: "quantitative",
      title: opts.xTitle ?? "x₁",
      scale: scale(opts.domain?.[0]),
    },
    y: {
      field: "y",
      type: "quantitative",
      title: opts.yTitle ?? "x₂",
      scale: scale(opts.domain?.[1]),
    },
    // legend below: the figure stays narrow
    color: seriesColor(
      series.map((s) => s.label),
      { orient: "bottom", direction: "horizontal" },
    ),
  };
}

/**
 * With a fixed `domain`, points outside it are cut at the plot area instead of drawn over the axes
 * and beyond.
 */
function clipToDomain(opts: ScatterOptions): { clip?: true } {
  return opts.domain ? { clip: true } : {};
}

/**
 * The points' bounding box, padded by 5% of its size on each side (a unit box around a single
 * point).
 */
function paddedDomain(series: PointSeries[]): [[number, number], [number, number]] {
  const all = series.flatMap((s) => Array.from(s.x as ArrayLike<number>));
  const xs = all.filter((_, i) => i % 2 === 0),
    ys = all.filter((_, i) => i % 2 === 1);
  const pad = ([lo, hi]: [number, number]): [number, number] => {
    if (!(hi > lo)) return [lo - 0.5, lo + 0.5];
    const p = 0.05 * (hi - lo);
    return [r5(lo - p), r5(hi + p)];
  };
  return [pad(range(xs)), pad(range(ys))];
}

/** Plot area with one pixel per unit on both axes, as large as fits in maxWidth × maxHeight. */
function equalAspectSize(
  domain: [[number, number], [number, number]],
  maxWidth: number,
  maxHeight: number,
): { width: number; height: number } {
  const dx = domain[0][1] - domain[0][0],
    dy = domain[1][1] - domain[1][0];
  const perUnit = Math.min(maxWidth / dx, maxHeight / dy);
  return { width: Math.round(perUnit * dx), height: Math.round(perUnit * dy) };
}

/**
 * Scatter plot of one or several labelled sets of 2-D points (e.g. data vs samples).
 * @param points an n×2 row-major array, or several `{label, x}` series; each n ≥ 1, all finite
 * @throws naming the input (`points`, `points[i].x`) if it is not n×2, empty or not finite
 */
export async function scatter2d(
  points: PointSeries[] | Numbers,
  opts: ScatterOptions = {},
): Promise<Figure> {
  const series = normaliseSeries(points);
  const maxPoints = opts.maxPoints ?? 3000;
  const { rows, lines } = pointRows(series, maxPoints);
  const equal = opts.equalAspect ?? true;
  const domain = opts.domain ?? (equal ? paddedDomain(series) : undefined);
  const size =
    equal && domain
      ? equalAspectSize(domain, opts.width ?? 360, opts.height ?? 300)
      : { width: opts.width ?? 360, height: opts.height ?? 300 };
  const total = series.reduce((s, x) => s + x.x.length / 2, 0);
  const shown = series.reduce((s, x) => s + Math.min(x.x.length / 2, maxPoints), 0);
  const subtitle = shown < total ? `${shown} of ${total} points shown (evenly thinned)` : undefined;
  const spec = {
    title:
      opts.title || subtitle
        ? { text: opts.title ?? "", ...(subtitle ? { subtitle } : {}) }
        : undefined,
    width: size.width,
    height: size.height,
    data: { values: rows },
    mark: {
      type: "circle",
      size: opts.pointSize ?? 8,
      opacity: opts.opacity ?? 0.5,
      ...clipToDomain(opts),
    }, // a fitted domain holds every point
    encoding: scatterEncoding(series, { ...opts, domain }),
    params: [{ name: "zoom", select: "interval", bind: "scales" }],
  };
  const text = [`Scatter plot${opts.title ? ` "${opts.title}"` : ""}:`, ...lines].join("\n");
  const plotly = {
    data: series.map((s) => {
      const n = s.x.length / 2;
      const idx = thin(n, opts.maxPoints ?? 3000);
      return {
        type: "scattergl",
        mode: "markers",
        name: s.label,
        x: idx.map((i) => r5(s.x[2 * i])),
        y: idx.map((i) => r5(s.x[2 * i + 1])),
        marker: { size: 3, opacity: opts.opacity ?? 0.5 },
      };
    }),
    layout: {
      title: opts.title ?? "",
      xaxis: { title: opts.xTitle ?? "x1" },
      yaxis: { title: opts.yTitle ?? "x2" },
    },
  };
  return figureFromSpec(spec, text, plotly);
}

/**
 * A time for a panel label: the shortest decimal (up to 3 significant digits) within 2% of t, so a
 * grid time 0.0999 reads "0.1" (the time asked for) while 0.125 stays "0.125".
 */
export function roundTime(t: number): string {
  for (let d = 1; d <= 3; d++) {
    const r = Number(t.toPrecision(d));
    if (Math.abs(r - t) <= 0.02 * Math.abs(t)) return String(r);
  }
  return fmt(t);
}

/** One snapshot of a trajectory: time `t` and points `x` (n×2 row-major). */
export interface Snapshot {
  t: number;
  x: Numbers;
}

/**
 * Grid of scatter plots, one panel per snapshot (e.g. the reverse-SDE trajectory at several t),
 * with shared axes so the panels compare directly.
 * @param snapshots each {t: finite time, x: n×2 row-major, n ≥ 1, finite}
 */
export async function trajectoryGrid(
  snapshots: Snapshot[],
  opts: ScatterOptions & { columns?: number } = {},
): Promise<Figure> {
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    throw new Error(
      `Expected at least one snapshot, but got ${Array.isArray(snapshots) ? 0 : typeof snapshots}`,
    );
  }
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const order: string[] = [];
  snapshots.forEach((s, i) => {
    if (s === null || typeof s !== "object")
      throw new TypeError(`Expected snapshots[${i}] to be a snapshot {t, x}, but got ${s}`);
    if (typeof s.t !== "number" || !Number.isFinite(s.t))
      throw new RangeError(
        `Expected snapshots[${i}].t to be a finite number (a time), but got ${s.t}`,
      );
    checkPoints(s.x, `snapshots[${i}].x`);
  });
  for (const s of snapshots) {
    const panel = `t = ${roundTime(s.t)}`;
    order.push(panel);
    const part = pointRows([{ label: panel, x: s.x }], opts.maxPoints ?? 1500, { panel });
    rows.push(...part.rows);
    lines.push(...part.lines);
  }
  const enc = scatterEncoding([{ label: "points", x: [] }], opts);
  const width = opts.width ?? 150;
  const size =
    (opts.equalAspect ?? true) && opts.domain
      ? equalAspectSize(opts.domain, width, opts.height ?? width)
      : { width, height: opts.height ?? 150 };
  const unit = {
    width: size.width,
    height: size.height,
    mark: {
      type: "circle",
      size: opts.pointSize ?? 4,
      opacity: opts.opacity ?? 0.5,
      ...clipToDomain(opts),
    },
    encoding: { x: enc.x, y: enc.y },
  };
  const spec = facetByPanel(rows, order, unit, {
    title: opts.title,
    columns: opts.columns ?? Math.min(snapshots.length, 5),
    spacing: 8,
  });
  const text = [
    `Trajectory snapshots${opts.title ? ` "${opts.title}"` : ""} (${snapshots.length} panels):`,
    ...lines,
  ].join("\n");
  return figureFromSpec(spec, text);
}
