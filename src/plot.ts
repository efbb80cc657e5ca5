/**
 * Plots for the workbook: each plot is a vega-lite v5 spec, a PNG rendered from that
 * same spec in Node, and a text summary, displayed together as one MIME bundle.
 *
 * - `application/vnd.vegalite.v5+json`: JupyterLab 4 renders it natively, offline,
 *   with pan/zoom (scales bound to the mouse).
 * - `image/png`: vega renders SVG in Node, `@resvg/resvg-js` rasterises it (no browser).
 *   Front-ends without vega (classic Notebook, GitHub, nbconvert's LaTeX PDF) show this.
 * - `text/plain`: a summary (series sizes and ranges) for terminals and text diffs.
 * There is never an SVG-only output (it breaks nbconvert's LaTeX PDF export).
 *
 * Optional plotly output (`WORKBOOK_PLOTLY=1` or `show(fig, { plotly: true })`): an extra
 * `text/html` output made by plotly-notebook-js, added after the bundle. It loads plotly.js
 * from a CDN or through RequireJS (classic Notebook), so it is blank in JupyterLab 4 offline
 * and dropped from the PDF; that is why it is never the only output.
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { Resvg } from "@resvg/resvg-js";
import { showBundle } from "./display";

/** A rendered figure: the interactive spec, the static PNG (2× pixel density) and a text summary. */
export interface Figure {
  /** vega-lite v5 specification (plain JSON). */
  spec: Record<string, unknown>;
  /** PNG bytes rendered from `spec`, at twice the CSS size for sharp display. */
  png: Uint8Array;
  /** Display size in CSS pixels (the PNG is 2× this). */
  width: number;
  height: number;
  /** Plain-text summary of what is plotted. */
  text: string;
  /** Optional plotly.js traces + layout for the opt-in plotly output. */
  plotly?: { data: Record<string, unknown>[]; layout: Record<string, unknown> };
}

/** Numbers accepted by the plot helpers. */
export type Numbers = ArrayLike<number>;

/** Common options for all plots. */
export interface PlotOptions {
  title?: string;
  /** Plot area width / height in CSS pixels (per panel for grids). */
  width?: number;
  height?: number;
}

const FONT = "Helvetica, Arial, Liberation Sans, DejaVu Sans, Noto Sans, sans-serif";
const PNG_ZOOM = 2;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Round to 5 significant digits: keeps the spec (stored in the notebook) small. */
function r5(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(5)) : v;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

function range(values: Numbers): [number, number] {
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
function thin(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.floor((k * n) / max));
  return out;
}

function checkPoints(name: string, x: Numbers): number {
  if (x == null || typeof x.length !== "number" || x.length % 2 !== 0) {
    throw new Error(`Expected ${name} to be an n×2 row-major array (even length), but got length ${x?.length}`);
  }
  return x.length / 2;
}

/**
 * Render a vega-lite spec to PNG bytes (via vega's SVG renderer and resvg).
 * Text uses the first available of Helvetica, Arial, Liberation Sans, DejaVu Sans, Noto Sans.
 */
export async function renderPng(spec: Record<string, unknown>): Promise<{ png: Uint8Array; width: number; height: number }> {
  const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    const m = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg);
    const width = m ? Number(m[1]) : view.width();
    const height = m ? Number(m[2]) : view.height();
    const resvg = new Resvg(svg, {
      font: { loadSystemFonts: true, sansSerifFamily: "DejaVu Sans" },
      fitTo: { mode: "zoom", value: PNG_ZOOM },
      background: "white",
    });
    return { png: new Uint8Array(resvg.render().asPng()), width, height };
  } finally {
    view.finalize();
  }
}

/** Build a `Figure` from a vega-lite spec (adds schema, font and white background). */
export async function figureFromSpec(
  spec: Record<string, unknown>,
  text: string,
  plotly?: Figure["plotly"],
): Promise<Figure> {
  const full: Record<string, unknown> = {
    $schema: SCHEMA,
    background: "white",
    ...spec,
    config: { font: FONT, legend: { labelLimit: 300 }, ...((spec.config as object) ?? {}) },
  };
  const { png, width, height } = await renderPng(full);
  return { spec: full, png, width, height, text, plotly };
}

/** True when the opt-in plotly output is enabled by the environment (`WORKBOOK_PLOTLY=1`). */
export function plotlyEnabled(): boolean {
  return process.env.WORKBOOK_PLOTLY === "1";
}

/**
 * Display a figure as one output {vega-lite, PNG, text}; with `plotly` (default: env
 * `WORKBOOK_PLOTLY=1`) also a second, plotly HTML output where the figure has one.
 * Accepts a promise so a cell can write `await show(scatter2d(...))`.
 */
export async function show(figure: Figure | Promise<Figure>, options: { plotly?: boolean } = {}): Promise<void> {
  const fig = await figure;
  showBundle(
    {
      "application/vnd.vegalite.v5+json": fig.spec,
      "image/png": fig.png,
      "text/plain": fig.text,
    },
    { "image/png": { width: fig.width, height: fig.height } },
  );
  const plotly = options.plotly ?? plotlyEnabled();
  if (plotly && fig.plotly) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { createPlot } = require("plotly-notebook-js") as {
      createPlot(data: unknown[], layout: unknown, cdn?: boolean): { render(): string };
    };
    showBundle({
      "text/html": createPlot(fig.plotly.data, fig.plotly.layout).render(),
      "text/plain": "(plotly version of the figure above: needs plotly.js from a CDN or the classic Notebook)",
    });
  }
}

// ---------------------------------------------------------------------------------------
// Scatter plots of 2-D points

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
}

function pointRows(series: PointSeries[], maxPoints: number, extra: Record<string, unknown> = {}) {
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const s of series) {
    const n = checkPoints(`points of series "${s.label}"`, s.x);
    const idx = thin(n, maxPoints);
    for (const i of idx) rows.push({ ...extra, series: s.label, x: r5(s.x[2 * i]), y: r5(s.x[2 * i + 1]) });
    const xs = Array.from({ length: n }, (_, i) => s.x[2 * i]);
    const ys = Array.from({ length: n }, (_, i) => s.x[2 * i + 1]);
    const [x0, x1] = range(xs);
    const [y0, y1] = range(ys);
    lines.push(
      `  ${s.label}: n=${n}${idx.length < n ? ` (${idx.length} plotted)` : ""}, x in [${fmt(x0)}, ${fmt(x1)}], y in [${fmt(y0)}, ${fmt(y1)}]`,
    );
  }
  return { rows, lines };
}

function normaliseSeries(points: PointSeries[] | Numbers, label = "points"): PointSeries[] {
  if (Array.isArray(points) && points.length > 0 && typeof points[0] === "object") return points as PointSeries[];
  return [{ label, x: points as Numbers }];
}

function scatterEncoding(series: PointSeries[], opts: ScatterOptions) {
  const scale = (d?: [number, number]) => (d ? { domain: d } : { zero: false });
  return {
    x: { field: "x", type: "quantitative", title: opts.xTitle ?? "x₁", scale: scale(opts.domain?.[0]) },
    y: { field: "y", type: "quantitative", title: opts.yTitle ?? "x₂", scale: scale(opts.domain?.[1]) },
    color: {
      field: "series",
      type: "nominal",
      title: null,
      scale: { domain: series.map((s) => s.label) },
      legend: series.length > 1 ? {} : null,
    },
  };
}

/**
 * Scatter plot of one or several labelled sets of 2-D points (e.g. data vs samples).
 * @param points an n×2 row-major array, or several `{label, x}` series.
 */
export async function scatter2d(points: PointSeries[] | Numbers, opts: ScatterOptions = {}): Promise<Figure> {
  const series = normaliseSeries(points);
  const { rows, lines } = pointRows(series, opts.maxPoints ?? 3000);
  const spec = {
    title: opts.title,
    width: opts.width ?? 360,
    height: opts.height ?? 300,
    data: { values: rows },
    mark: { type: "circle", size: opts.pointSize ?? 8, opacity: opts.opacity ?? 0.5 },
    encoding: scatterEncoding(series, opts),
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
    layout: { title: opts.title ?? "", xaxis: { title: opts.xTitle ?? "x1" }, yaxis: { title: opts.yTitle ?? "x2" } },
  };
  return figureFromSpec(spec, text, plotly);
}

/** One snapshot of a trajectory: time `t` and points `x` (n×2 row-major). */
export interface Snapshot {
  t: number;
  x: Numbers;
}

/**
 * Grid of scatter plots, one panel per snapshot (e.g. the reverse-SDE trajectory at several t),
 * with shared axes so the panels compare directly.
 */
export async function trajectoryGrid(
  snapshots: Snapshot[],
  opts: ScatterOptions & { columns?: number } = {},
): Promise<Figure> {
  if (!Array.isArray(snapshots) || snapshots.length === 0) {
    throw new Error(`Expected at least one snapshot, but got ${Array.isArray(snapshots) ? 0 : typeof snapshots}`);
  }
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const order: string[] = [];
  for (const s of snapshots) {
    const panel = `t = ${fmt(s.t)}`;
    order.push(panel);
    const part = pointRows([{ label: panel, x: s.x }], opts.maxPoints ?? 1500, { panel });
    rows.push(...part.rows);
    lines.push(...part.lines);
  }
  const enc = scatterEncoding([{ label: "points", x: [] }], opts);
  const spec = {
    title: opts.title,
    data: { values: rows },
    facet: { field: "panel", type: "nominal", title: null, sort: order },
    columns: opts.columns ?? Math.min(snapshots.length, 5),
    spec: {
      width: opts.width ?? 150,
      height: opts.height ?? 150,
      mark: { type: "circle", size: opts.pointSize ?? 4, opacity: opts.opacity ?? 0.5 },
      encoding: { x: enc.x, y: enc.y },
    },
  };
  const text = [`Trajectory snapshots${opts.title ? ` "${opts.title}"` : ""} (${snapshots.length} panels):`, ...lines].join("\n");
  return figureFromSpec(spec, text);
}

// ---------------------------------------------------------------------------------------
// Line plots

/** A labelled curve y(x). */
export interface LineSeries {
  label: string;
  x: Numbers;
  y: Numbers;
}

/** One panel of a multi-panel line figure. */
export interface LinePanel {
  title: string;
  series: LineSeries[];
  yTitle?: string;
  /** Logarithmic y axis (all y must be > 0). */
  logY?: boolean;
}

/** Options for line plots. */
export interface LineOptions extends PlotOptions {
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
  /** Panels per row in `linePanels` (default: all in one row, at most 4). */
  columns?: number;
}

function lineRows(panel: LinePanel, maxPoints: number): { rows: Record<string, unknown>[]; lines: string[] } {
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const s of panel.series) {
    if (s.x.length !== s.y.length) {
      throw new Error(`Expected x and y of series "${s.label}" to have equal length, but got ${s.x.length} and ${s.y.length}`);
    }
    const idx = thin(s.x.length, maxPoints);
    for (const i of idx) {
      const y = s.y[i];
      if (panel.logY && !(y > 0)) continue; // log axis: drop non-positive values
      rows.push({ series: s.label, x: r5(s.x[i]), y: r5(y) });
    }
    const [y0, y1] = range(s.y);
    lines.push(`  ${panel.title ? panel.title + " / " : ""}${s.label}: ${s.x.length} points, y in [${fmt(y0)}, ${fmt(y1)}]`);
  }
  return { rows, lines };
}

function lineUnit(panel: LinePanel, opts: LineOptions, labels: string[], id: number, rows: Record<string, unknown>[]) {
  return {
    title: panel.title || undefined,
    width: opts.width ?? 220,
    height: opts.height ?? 180,
    data: { values: rows },
    mark: { type: "line", clip: true },
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? "t" },
      y: {
        field: "y",
        type: "quantitative",
        title: panel.yTitle ?? null,
        scale: panel.logY ? { type: "log" } : { zero: false },
      },
      color: { field: "series", type: "nominal", title: null, scale: { domain: labels }, legend: labels.length > 1 ? {} : null },
    },
    params: [{ name: `zoom${id}`, select: "interval", bind: "scales" }],
  };
}

/**
 * Several panels of line plots side by side (e.g. β, α, σ and SNR over t for several
 * schedules); series with the same label share a colour across panels.
 */
export async function linePanels(panels: LinePanel[], opts: LineOptions = {}): Promise<Figure> {
  const { spec, text, plotly } = lineSpec(panels, opts);
  return figureFromSpec(spec, text, plotly);
}

function lineSpec(panels: LinePanel[], opts: LineOptions) {
  if (!Array.isArray(panels) || panels.length === 0) throw new Error(`Expected at least one panel, but got none`);
  const labels = [...new Set(panels.flatMap((p) => p.series.map((s) => s.label)))];
  const lines: string[] = [];
  const units = panels.map((p, i) => {
    const part = lineRows(p, 1000);
    lines.push(...part.lines);
    return lineUnit(p, opts, labels, i, part.rows);
  });
  const spec =
    units.length === 1
      ? { ...units[0], title: opts.title ?? units[0].title }
      : { title: opts.title, concat: units, columns: opts.columns ?? Math.min(units.length, 4), resolve: { scale: { color: "shared" } } };
  const text = [`Line plot${opts.title ? ` "${opts.title}"` : ""}:`, ...lines].join("\n");
  const plotly =
    panels.length === 1
      ? {
          data: panels[0].series.map((s) => ({ type: "scatter", mode: "lines", name: s.label, x: Array.from(s.x), y: Array.from(s.y) })),
          layout: { title: opts.title ?? panels[0].title, yaxis: { type: panels[0].logY ? "log" : "linear" } },
        }
      : undefined;
  return { spec: spec as Record<string, any>, text, plotly };
}

/** Line plot of several labelled series in one panel. */
export async function linePlot(series: LineSeries[], opts: LineOptions = {}): Promise<Figure> {
  return linePanels([{ title: "", series, yTitle: opts.yTitle, logY: opts.logY }], opts);
}

/**
 * Moving average with a centred-free (trailing) window: out[i] = mean(v[max(0,i-w+1)..i]).
 * @param window window length ≥ 1.
 */
export function movingAverage(values: Numbers, window: number): Float64Array {
  if (!Number.isInteger(window) || window < 1) throw new Error(`Expected window to be an integer >= 1, but got ${window}`);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}

/**
 * Training-loss curve on a log axis: the raw loss (thin, light) and its trailing moving
 * average (default window: 1% of the steps, at least 10).
 * @param loss loss per training step (index = step).
 */
export async function lossCurve(
  loss: Numbers,
  opts: PlotOptions & { window?: number; maxPoints?: number } = {},
): Promise<Figure> {
  if (loss == null || loss.length === 0) throw new Error(`Expected a non-empty loss history, but got length ${loss?.length}`);
  const n = loss.length;
  const window = opts.window ?? Math.max(10, Math.round(n / 100));
  const smooth = movingAverage(loss, window);
  const idx = thin(n, opts.maxPoints ?? 1500);
  const steps = idx.map((i) => i + 1);
  const { spec, plotly } = lineSpec(
    [
      {
        title: "",
        logY: true,
        yTitle: "loss",
        series: [
          { label: "loss", x: steps, y: idx.map((i) => loss[i]) },
          { label: `moving average, ${window} steps`, x: steps, y: idx.map((i) => smooth[i]) },
        ],
      },
    ],
    { title: opts.title ?? "Training loss", xTitle: "step", width: opts.width ?? 420, height: opts.height ?? 240 },
  );
  // The raw loss is noisy: draw it light so the moving average reads as the trend.
  spec.encoding.opacity = { condition: { test: "datum.series === 'loss'", value: 0.35 }, value: 1 };
  const tail = Math.min(n, window);
  const text = [
    `Training loss over ${n} steps (log scale): first ${fmt(loss[0])}, min ${fmt(range(loss)[0])},`,
    `  mean of the last ${tail} steps ${fmt(smooth[n - 1])}`,
  ].join("\n");
  return figureFromSpec(spec, text, plotly);
}

// ---------------------------------------------------------------------------------------
// Histogram

/** A labelled sample for `histogram`. */
export interface ValueSeries {
  label: string;
  values: Numbers;
}

/**
 * Histogram(s) with shared bins, overlaid; densities (area 1) so samples of different size compare.
 * @param data one array of values or several labelled ones.
 */
export async function histogram(
  data: Numbers | ValueSeries[],
  opts: PlotOptions & { bins?: number; xTitle?: string; domain?: [number, number] } = {},
): Promise<Figure> {
  const series: ValueSeries[] =
    Array.isArray(data) && data.length > 0 && typeof data[0] === "object" ? (data as ValueSeries[]) : [{ label: "values", values: data as Numbers }];
  const bins = opts.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`Expected bins to be a positive integer, but got ${bins}`);
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
      rows.push({ series: s.label, x0: r5(lo + b * w), x1: r5(lo + (b + 1) * w), density: r5(counts[b] / (total * w)) });
    }
    lines.push(`  ${s.label}: n=${s.values.length}, mean ${fmt(sum / total)}, ${s.values.length - inside} outside [${fmt(lo)}, ${fmt(hi)}]`);
  }
  const labels = series.map((s) => s.label);
  const spec = {
    title: opts.title,
    width: opts.width ?? 360,
    height: opts.height ?? 220,
    data: { values: rows },
    mark: { type: "rect", opacity: series.length > 1 ? 0.5 : 0.85 },
    encoding: {
      x: { field: "x0", type: "quantitative", title: opts.xTitle ?? "value", scale: { zero: false } },
      x2: { field: "x1" },
      y: { field: "density", type: "quantitative", title: "density", stack: null },
      y2: { datum: 0 },
      color: { field: "series", type: "nominal", title: null, scale: { domain: labels }, legend: labels.length > 1 ? {} : null },
    },
  };
  const text = [`Histogram${opts.title ? ` "${opts.title}"` : ""} (${bins} bins on [${fmt(lo)}, ${fmt(hi)}]):`, ...lines].join("\n");
  const plotly = {
    data: series.map((s) => ({ type: "histogram", name: s.label, x: Array.from(s.values), histnorm: "probability density", opacity: 0.6 })),
    layout: { title: opts.title ?? "", barmode: "overlay" },
  };
  return figureFromSpec(spec, text, plotly);
}
