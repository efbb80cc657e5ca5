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
import { showBundle } from "../display";

/**
 * A rendered figure: the interactive spec, the static PNG (2× pixel density) and a text summary.
 */
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

const FONT = "Helvetica, Arial, Liberation Sans, DejaVu Sans, Noto Sans, sans-serif";
const PNG_ZOOM = 2;
const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/**
 * Render a vega-lite spec to PNG bytes (via vega's SVG renderer and resvg).
 * Text uses the first available of Helvetica, Arial, Liberation Sans, DejaVu Sans, Noto Sans.
 */
export async function renderPng(
  spec: Record<string, unknown>,
): Promise<{ png: Uint8Array; width: number; height: number }> {
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

/**
 * The defaults with a spec's own config on top, merged one level deep (a spec's `axis` adds to the
 * default `axis`).
 */
function mergeConfig(
  defaults: Record<string, unknown>,
  own: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(own)) {
    const d = defaults[k];
    out[k] =
      d && typeof d === "object" && v && typeof v === "object" && !Array.isArray(v)
        ? { ...d, ...v }
        : v;
  }
  return out;
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
    config: mergeConfig(
      {
        font: FONT,
        // readable when the PNG is printed at ~80%
        legend: { labelLimit: 300, labelFontSize: 12, symbolSize: 80 },
        axis: { labelFontSize: 11, titleFontSize: 12 },
        title: { fontSize: 14, subtitleFontSize: 11 },
      },
      (spec.config as Record<string, unknown>) ?? {},
    ),
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
export async function show(
  figure: Figure | Promise<Figure>,
  options: { plotly?: boolean } = {},
): Promise<void> {
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
      "text/plain":
        "(plotly version of the figure above: needs plotly.js from a CDN or the classic Notebook)",
    });
  }
}
