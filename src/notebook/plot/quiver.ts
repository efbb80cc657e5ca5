/**
 * Arrow plots (`quiver`): vectors attached to 2-D points, e.g. forces on atoms or a score field on
 * a grid, in one or several panels that share one arrow scale and one domain.
 */
import {
  Numbers,
  PlotOptions,
  checkPoints,
  checkSeries,
  facetByPanel,
  fmt,
  r5,
  seriesColor,
} from "./common";
import { Figure, figureFromSpec } from "./render";

/** One labelled vector per point: `v` is n×2 row-major, row i attached to point i. */
export interface QuiverVectors {
  label: string;
  v: Numbers;
}

/** One panel: n points (n×2 row-major) and one or more vector series on them. */
export interface QuiverPanel {
  title: string;
  points: Numbers;
  vectors: QuiverVectors[];
}

/** Options for `quiver`. */
export interface QuiverOptions extends PlotOptions {
  /**
   * Arrow length per unit of |v| (data units), the same in every panel. "auto" (default): the mean
   * arrow is span / max(10, √n) long (span: the larger side of the points' bounding box, n: points
   * per panel), as matplotlib's quiver does.
   */
  scale?: number | "auto";
  /** Panels per row (default: all in one row, at most 4). */
  columns?: number;
  /** Axis domains [[xmin, xmax], [ymin, ymax]]; default: points and arrow tips, padded by 5%. */
  domain?: [[number, number], [number, number]];
  /** Area in px² of the dot drawn at each point (default 16; 0 draws none). */
  pointSize?: number;
  xTitle?: string;
  yTitle?: string;
}

type Domain = [[number, number], [number, number]];

function checkPanels(panels: QuiverPanel[]): void {
  if (!Array.isArray(panels) || panels.length === 0)
    throw new RangeError(
      `Expected panels to be a non-empty array of {title, points, vectors}, but got ` +
        `${Array.isArray(panels) ? "none" : String(panels)}`,
    );
  panels.forEach((p, i) => {
    if (p === null || typeof p !== "object" || typeof p.title !== "string")
      throw new TypeError(
        `Expected panels[${i}] to be a panel {title, points, vectors} with a string title, but ` +
          `got ${p === null || typeof p !== "object" ? String(p) : `title ${String(p.title)}`}`,
      );
    const n = checkPoints(p.points, `panels[${i}].points`);
    if (!Array.isArray(p.vectors) || p.vectors.length === 0)
      throw new RangeError(
        `Expected panels[${i}].vectors to hold at least one series {label, v}, but got ` +
          `${Array.isArray(p.vectors) ? "none" : String(p.vectors)}`,
      );
    p.vectors.forEach((s, j) => {
      const path = `panels[${i}].vectors[${j}]`;
      checkSeries(s, path, "label, v");
      const m = checkPoints(s.v, `${path}.v`, s.label);
      if (m !== n)
        throw new RangeError(
          `Expected ${path}.v (series ${JSON.stringify(s.label)}) to hold one vector per point ` +
            `(${n} of panels[${i}].points), but got ${m}`,
        );
    });
  });
}

function checkOptions(opts: QuiverOptions): void {
  const { scale, columns, domain } = opts;
  if (scale !== undefined && scale !== "auto" && !(Number.isFinite(scale) && scale > 0))
    throw new RangeError(`Expected scale to be "auto" or a number > 0, but got scale=${scale}`);
  if (columns !== undefined && !(Number.isInteger(columns) && columns >= 1))
    throw new RangeError(`Expected columns to be an integer >= 1, but got columns=${columns}`);
  if (domain !== undefined) {
    const ok =
      Array.isArray(domain) &&
      domain.length === 2 &&
      domain.every(
        (d) => Array.isArray(d) && d.length === 2 && Number.isFinite(d[0]) && d[1] > d[0],
      );
    if (!ok)
      throw new RangeError(
        `Expected domain to be [[xmin, xmax], [ymin, ymax]] with min < max, but got ` +
          `domain=${JSON.stringify(domain)}`,
      );
  }
}

/** The "auto" scale: the mean arrow is span / max(10, √n) long. */
function autoScale(panels: QuiverPanel[]): number {
  const lo = [Infinity, Infinity],
    hi = [-Infinity, -Infinity];
  let sum = 0,
    count = 0,
    n = 0;
  for (const p of panels) {
    n = Math.max(n, p.points.length / 2);
    for (let k = 0; k < p.points.length; k++) {
      lo[k % 2] = Math.min(lo[k % 2], p.points[k]);
      hi[k % 2] = Math.max(hi[k % 2], p.points[k]);
    }
    for (const s of p.vectors)
      for (let i = 0; i < s.v.length; i += 2, count++) sum += Math.hypot(s.v[i], s.v[i + 1]);
  }
  const span = Math.max(hi[0] - lo[0], hi[1] - lo[1]) || 1;
  const mean = sum / count;
  return mean > 0 ? span / Math.max(10, Math.sqrt(n)) / mean : 1;
}

/** Bounding box of the points and arrow tips, padded by 5% of its size on each side. */
function fittedDomain(panels: QuiverPanel[], scale: number): Domain {
  const lo = [Infinity, Infinity],
    hi = [-Infinity, -Infinity];
  const add = (a: number, v: number) => {
    lo[a] = Math.min(lo[a], v);
    hi[a] = Math.max(hi[a], v);
  };
  for (const p of panels)
    for (let k = 0; k < p.points.length; k++) {
      add(k % 2, p.points[k]);
      for (const s of p.vectors) add(k % 2, p.points[k] + scale * s.v[k]);
    }
  const pad = (a: number): [number, number] => {
    if (!(hi[a] > lo[a])) return [lo[a] - 0.5, lo[a] + 0.5];
    const q = 0.05 * (hi[a] - lo[a]);
    return [r5(lo[a] - q), r5(hi[a] + q)];
  };
  return [pad(0), pad(1)];
}

/**
 * Arrows from each point p to p + scale·v, with a wedge head at the tip, one colour per vector
 * label; panels side by side with one domain and one arrow scale, equal units on both axes (so
 * arrow directions are true). Where several series sit on the same points, earlier series are drawn
 * wider and later ones narrower on top, so coinciding arrows stay visible.
 * @param panels each with n ≥ 1 finite points (n×2 row-major) and series of n finite vectors
 * @throws naming the input (`panels[i].vectors[j].v`, `scale`, …) if it is malformed
 */
export async function quiver(panels: QuiverPanel[], opts: QuiverOptions = {}): Promise<Figure> {
  checkPanels(panels);
  checkOptions(opts);
  const scale = opts.scale === undefined || opts.scale === "auto" ? autoScale(panels) : opts.scale;
  const domain = opts.domain ?? fittedDomain(panels, scale);
  const labels = [...new Set(panels.flatMap((p) => p.vectors.map((s) => s.label)))];
  const order = panels.map((p, i) => p.title || `panel ${i + 1}`);
  // Line width and head area (px, px²) by the series' place in its panel: wide first, narrow
  // on top.
  const widths = [3.5, 1.5, 1];
  const heads = [80, 40, 25];
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  panels.forEach((p, i) => {
    const n = p.points.length / 2;
    for (let k = 0; k < n; k++)
      rows.push({ panel: order[i], dot: 1, x: r5(p.points[2 * k]), y: r5(p.points[2 * k + 1]) });
    p.vectors.forEach((s, j) => {
      let lo = Infinity,
        hi = 0;
      for (let k = 0; k < n; k++) {
        const vx = s.v[2 * k],
          vy = s.v[2 * k + 1];
        const len = Math.hypot(vx, vy);
        lo = Math.min(lo, len);
        hi = Math.max(hi, len);
        const x = p.points[2 * k],
          y = p.points[2 * k + 1];
        rows.push({
          panel: order[i],
          series: s.label,
          x: r5(x),
          y: r5(y),
          x2: r5(x + scale * vx),
          y2: r5(y + scale * vy),
          // the wedge points up; vega turns it clockwise by `angle` degrees
          angle: len > 0 ? r5(((Math.atan2(vx, vy) * 180) / Math.PI + 360) % 360) : 0,
          w: widths[Math.min(j, 2)],
          head: heads[Math.min(j, 2)],
        });
      }
      lines.push(`  ${order[i]} / ${s.label}: ${n} arrows, |v| in [${fmt(lo)}, ${fmt(hi)}]`);
    });
  });
  const dx = domain[0][1] - domain[0][0],
    dy = domain[1][1] - domain[1][0];
  const perUnit = Math.min((opts.width ?? 260) / dx, (opts.height ?? 260) / dy);
  const size = { width: Math.round(perUnit * dx), height: Math.round(perUnit * dy) };
  const axis = (d: [number, number], title: string) => ({
    type: "quantitative",
    title,
    scale: { domain: d, nice: false },
  });
  const x = axis(domain[0], opts.xTitle ?? "x");
  const y = axis(domain[1], opts.yTitle ?? "y");
  const base = seriesColor(labels, {
    orient: "bottom",
    direction: "horizontal",
    labelLimit: 600,
  });
  // category10: its 2nd and 3rd colours (orange, green) stay apart when drawn on top of each other
  const color = { ...base, scale: { ...base.scale, scheme: "category10" } };
  const arrows = { filter: "datum.dot !== 1" };
  const layer = [
    ...((opts.pointSize ?? 16) > 0
      ? [
          {
            transform: [{ filter: "datum.dot === 1" }],
            mark: { type: "circle", size: opts.pointSize ?? 16, color: "#555", clip: true },
            encoding: { x: { field: "x", ...x }, y: { field: "y", ...y } },
          },
        ]
      : []),
    {
      transform: [arrows],
      mark: { type: "rule", clip: true },
      encoding: {
        x: { field: "x", ...x },
        y: { field: "y", ...y },
        x2: { field: "x2" },
        y2: { field: "y2" },
        color,
        strokeWidth: { field: "w", type: "quantitative", scale: null },
      },
    },
    {
      transform: [arrows],
      mark: { type: "point", shape: "wedge", filled: true, opacity: 1, clip: true },
      encoding: {
        x: { field: "x2", ...x },
        y: { field: "y2", ...y },
        angle: { field: "angle", type: "quantitative", scale: null },
        color,
        size: { field: "head", type: "quantitative", scale: null },
      },
    },
  ];
  const unit = { width: size.width, height: size.height, layer };
  const spec =
    panels.length === 1
      ? { title: opts.title ?? (panels[0].title || undefined), data: { values: rows }, ...unit }
      : facetByPanel(rows, order, unit, {
          title: opts.title,
          columns: opts.columns ?? Math.min(panels.length, 4),
          spacing: 12,
        });
  const text = [
    `Quiver plot${opts.title ? ` "${opts.title}"` : ""} (${panels.length} panel` +
      `${panels.length > 1 ? "s" : ""}; arrow = ${fmt(scale)} × v, the same in every panel):`,
    ...lines,
  ].join("\n");
  return figureFromSpec(spec, text);
}
