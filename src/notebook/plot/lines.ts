/**
 * Line plots: panels of curves over t (`linePanels`, `linePlot`) and the training-loss curve
 * (`lossCurve`).
 */
import {
  Numbers,
  PlotOptions,
  checkSeries,
  checkValues,
  fmt,
  r5,
  range,
  seriesColor,
  thin,
} from "./common";
import { Figure, figureFromSpec } from "./render";

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
  /** Logarithmic x axis (points with x ≤ 0 are left out; default: the options' `logX`). */
  logX?: boolean;
}

/** Options for line plots. */
export interface LineOptions extends PlotOptions {
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
  /** Logarithmic x axis in every panel (points with x ≤ 0 are left out; some x must be > 0). */
  logX?: boolean;
  /** Panels per row in `linePanels` (default: all in one row, at most 4). */
  columns?: number;
}

function lineRows(
  panel: LinePanel,
  maxPoints: number,
  logX = false,
): { rows: Record<string, unknown>[]; lines: string[] } {
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  for (const s of panel.series) {
    const idx = thin(s.x.length, maxPoints);
    for (const i of idx) {
      const y = s.y[i];
      if (panel.logY && !(y > 0)) continue; // log axis: drop non-positive values
      if (logX && !(s.x[i] > 0)) continue;
      rows.push({ series: s.label, x: r5(s.x[i]), y: r5(y) });
    }
    const [y0, y1] = range(s.y);
    lines.push(
      `  ${panel.title ? panel.title + " / " : ""}${s.label}: ${s.x.length} points, y in ` +
        `[${fmt(y0)}, ${fmt(y1)}]`,
    );
  }
  return { rows, lines };
}

const LOG_LABEL =
  "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? '1e' + " +
  "round(log(datum.value) / LN10) : ''";

function lineUnit(
  panel: LinePanel,
  opts: LineOptions,
  labels: string[],
  id: number,
  rows: Record<string, unknown>[],
) {
  return {
    title: panel.title || undefined,
    width: opts.width ?? 220,
    height: opts.height ?? 180,
    data: { values: rows },
    mark: { type: "line", clip: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: opts.xTitle ?? "t",
        ...((panel.logX ?? opts.logX)
          ? { scale: { type: "log" }, axis: { labelExpr: LOG_LABEL } }
          : {}),
      },
      y: {
        field: "y",
        type: "quantitative",
        title: panel.yTitle ?? null,
        scale: panel.logY ? { type: "log" } : { zero: false },
        // Log axes: label the powers of ten only, all in one format (1e-4, 1e0, 1e4), the other
        // ticks unlabelled.
        ...(panel.logY ? { axis: { labelExpr: LOG_LABEL } } : {}),
      },
      color: seriesColor(labels),
    },
    params: [{ name: `zoom${id}`, select: "interval", bind: "scales" }],
  };
}

/**
 * Several panels of line plots side by side (e.g. β, α, σ and SNR over t for several
 * schedules); series with the same label share a colour across panels.
 * @param panels each with at least one series of equal-length, non-empty, finite x and y; on a log
 *   axis, y ≤ 0 is left out (some y must be > 0)
 */
export async function linePanels(panels: LinePanel[], opts: LineOptions = {}): Promise<Figure> {
  const { spec, text, plotly } = lineSpec(panels, opts);
  return figureFromSpec(spec, text, plotly);
}

/**
 * Throws unless every panel holds at least one series of equal-length, non-empty, finite x and y
 * (and, on a log axis, some y > 0), naming the input by its path (`panels[i].series[j].y`).
 */
function checkPanels(panels: LinePanel[], opts: LineOptions = {}): void {
  if (!Array.isArray(panels) || panels.length === 0)
    throw new RangeError(
      `Expected panels to be a non-empty array of {title, series}, but got ` +
        `${Array.isArray(panels) ? "none" : panels}`,
    );
  panels.forEach((p, i) => {
    if (p === null || typeof p !== "object" || !Array.isArray(p.series) || p.series.length === 0)
      throw new RangeError(
        `Expected panels[${i}].series to hold at least one series {label, x, y}, but got ` +
          `${Array.isArray(p?.series) ? "none" : String(p?.series)}`,
      );
    p.series.forEach((s, j) => {
      const path = `panels[${i}].series[${j}]`;
      checkSeries(s, path, "label, x, y");
      checkValues(s.x, `${path}.x`, s.label);
      checkValues(s.y, `${path}.y`, s.label);
      if (s.x.length !== s.y.length)
        throw new RangeError(
          `Expected x and y of ${path} (series ${JSON.stringify(s.label)}) to have equal ` +
            `length, but got ${s.x.length} and ${s.y.length}`,
        );
      if ((p.logX ?? opts.logX) && !Array.from(s.x).some((x) => x > 0))
        throw new RangeError(
          `Expected some x > 0 in ${path} (series ${JSON.stringify(s.label)}) for its log axis, ` +
            `but got none`,
        );
      if (p.logY && !Array.from(s.y).some((y) => y > 0))
        throw new RangeError(
          `Expected some y > 0 in ${path} (series ${JSON.stringify(s.label)}) for its log axis, ` +
            `but got none`,
        );
    });
  });
}

function lineSpec(panels: LinePanel[], opts: LineOptions) {
  checkPanels(panels, opts);
  const labels = [...new Set(panels.flatMap((p) => p.series.map((s) => s.label)))];
  const lines: string[] = [];
  const units = panels.map((p, i) => {
    const part = lineRows(p, 1000, p.logX ?? opts.logX ?? false);
    lines.push(...part.lines);
    return lineUnit(p, opts, labels, i, part.rows);
  });
  const spec =
    units.length === 1
      ? { ...units[0], title: opts.title ?? units[0].title }
      : {
          title: opts.title,
          concat: units,
          columns: opts.columns ?? Math.min(units.length, 4),
          resolve: { scale: { color: "shared" } },
          // One legend below the panels: the figure stays narrow, so it prints at nearly full size.
          config: {
            legend: {
              orient: "bottom",
              direction: "horizontal",
              columns: 2,
              labelLimit: 300,
              labelFontSize: 12,
            },
          },
        };
  const text = [`Line plot${opts.title ? ` "${opts.title}"` : ""}:`, ...lines].join("\n");
  const plotly =
    panels.length === 1
      ? {
          data: panels[0].series.map((s) => ({
            type: "scatter",
            mode: "lines",
            name: s.label,
            x: Array.from(s.x),
            y: Array.from(s.y),
          })),
          layout: {
            title: opts.title ?? panels[0].title,
            yaxis: { type: panels[0].logY ? "log" : "linear" },
            ...((panels[0].logX ?? opts.logX) ? { xaxis: { type: "log" } } : {}),
          },
        }
      : undefined;
  return { spec: spec as Record<string, any>, text, plotly };
}

/** Line plot of several labelled series in one panel. */
export async function linePlot(series: LineSeries[], opts: LineOptions = {}): Promise<Figure> {
  if (!Array.isArray(series) || series.length === 0)
    throw new RangeError(
      `Expected series to hold at least one series {label, x, y}, but got ` +
        `${Array.isArray(series) ? "none" : series}`,
    );
  return linePanels([{ title: "", series, yTitle: opts.yTitle, logY: opts.logY }], opts);
}

/**
 * Moving average with a centred-free (trailing) window: out[i] = mean(v[max(0,i-w+1)..i]).
 * @param window window length ≥ 1.
 */
export function movingAverage(values: Numbers, window: number): Float64Array {
  if (values === null || typeof values !== "object" || typeof values.length !== "number")
    throw new TypeError(`Expected values to be an array of numbers, but got ${values}`);
  if (!Number.isInteger(window) || window < 1)
    throw new Error(`Expected window to be an integer >= 1, but got ${window}`);
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
 * @param loss loss per training step (index = step): at least one value, all finite
 */
export async function lossCurve(
  loss: Numbers,
  opts: PlotOptions & { window?: number; maxPoints?: number } = {},
): Promise<Figure> {
  checkValues(loss, "loss");
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
    {
      title: opts.title ?? "Training loss",
      xTitle: "step",
      width: opts.width ?? 420,
      height: opts.height ?? 240,
    },
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
