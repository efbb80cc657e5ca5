/**
 * The learned score field beside the near-exact one: arrows on a grid at a few times (static
 * panels for the PDF, and one figure with a time slider for JupyterLab), and the σ²-weighted score
 * error over noised data as a function of t, split by where the noised point lies (within 0.15 of
 * a moon curve, scaled by α(t), or off both).
 */
import { Rng } from "../core/random";
import { ScoreFn } from "../core/sampler";
import { GridSpec, defaultGrid, scoreError, scoreGrid } from "../core/score-error";
import { ScheduleConfig, alpha, sigma } from "../core/sde";
import { showTable } from "./display";
import { moonLabels } from "./metrics";
import { linePanels } from "./plot/lines";
import { QuiverPanel, quiver } from "./plot/quiver";
import { Figure, figureFromSpec } from "./plot/render";

/** A labelled score function. */
export interface LabelledScore {
  label: string;
  score: ScoreFn;
}

const tLabel = (t: number) => `t = ${Number(t.toPrecision(2))}`;

/**
 * One quiver panel per time: σ(t)·s at the grid points for each score (σ s = −ε̂ is O(1) at every
 * t, so one arrow scale serves all panels).
 */
export function scoreFieldPanels(
  scores: LabelledScore[],
  times: number[],
  schedule: ScheduleConfig,
  grid: GridSpec = defaultGrid(),
): QuiverPanel[] {
  return times.map((t) => {
    const sg = sigma(t, schedule);
    const g = scoreGrid(scores[0].score, scores[0].score, t, grid);
    return {
      title: tLabel(t),
      points: g.points,
      vectors: scores.map((s) => {
        const v = Float64Array.from(s.score(g.points, t, g.points.length / 2));
        for (let k = 0; k < v.length; k++) v[k] *= sg;
        return { label: `σ(t)·${s.label}`, v };
      }),
    };
  });
}

/** The quiver settings both score-field figures share: no dots, one fixed scale, the grid's box. */
function fieldArrows(grid: GridSpec) {
  return {
    pointSize: 0,
    scale: 0.08, // |σ s| reaches ≈ 3: arrows stay within about one grid spacing (0.2)
    domain: [
      [grid.xMin - 0.3, grid.xMax + 0.3],
      [grid.yMin - 0.3, grid.yMax + 0.3],
    ] as [[number, number], [number, number]],
  };
}

/** Static quiver panels of σ(t)·s at `times` (for the PDF). */
export async function scoreFieldFigure(
  scores: LabelledScore[],
  times: number[],
  schedule: ScheduleConfig,
  opts: { columns?: number; grid?: GridSpec; title?: string } = {},
): Promise<Figure> {
  const grid = opts.grid ?? defaultGrid();
  return quiver(scoreFieldPanels(scores, times, schedule, grid), {
    columns: opts.columns ?? 2,
    width: 300,
    height: 220,
    ...fieldArrows(grid),
    title: opts.title ?? "Score field σ(t)·s(x, t): learned vs near-exact",
  });
}

/**
 * The score field with a slider over `times` (vega-lite param bound to a range input over the
 * index of the time): JupyterLab shows the slider; the PNG (PDF, classic Notebook) shows the
 * time at `initial` (an index into `times`).
 */
export async function scoreFieldSlider(
  scores: LabelledScore[],
  times: number[],
  schedule: ScheduleConfig,
  opts: { grid?: GridSpec; initial?: number } = {},
): Promise<Figure> {
  const grid = opts.grid ?? defaultGrid();
  const initial = opts.initial ?? 0;
  if (!Number.isInteger(initial) || initial < 0 || initial >= times.length)
    throw new RangeError(
      `Expected initial to be an index into times (0 … ${times.length - 1}), but got ${initial}`,
    );
  const panels = scoreFieldPanels(scores, times, schedule, grid);
  const base = await quiver(panels, {
    width: 420,
    height: 300,
    ...fieldArrows(grid),
  });
  const facetSpec = base.spec as Record<string, any>;
  const names = JSON.stringify(panels.map((p) => p.title)).replace(/"/g, "'");
  const spec = {
    title: {
      text: "Score field σ(t)·s(x, t) — drag the slider to change t",
      subtitle: `slider: index of t in ${times.map((t) => Number(t.toPrecision(2))).join(", ")}`,
    },
    data: facetSpec.data,
    params: [
      {
        name: "tIndex",
        value: initial,
        bind: { input: "range", min: 0, max: times.length - 1, step: 1, name: "t index " },
      },
    ],
    transform: [
      { calculate: `indexof(${names}, datum.panel)`, as: "ti" },
      { filter: "datum.ti === tIndex" },
    ],
    ...facetSpec.spec,
    layer: [
      ...facetSpec.spec.layer,
      {
        mark: { type: "text", align: "left", baseline: "top", fontSize: 13, x: 6, y: 6 },
        transform: [{ aggregate: [{ op: "count", as: "n" }], groupby: ["panel"] }],
        encoding: { text: { field: "panel", type: "nominal" } },
      },
    ],
    config: facetSpec.config,
  };
  delete (spec as Record<string, unknown>).$schema;
  const text =
    `Score field with a t slider (${times.length} times; the static image shows ` +
    `${panels[initial].title}):\n${base.text}`;
  return figureFromSpec(spec, text);
}

/** Score error at one time, overall and split by where the noised point lies. */
export interface ScoreErrorSplitRow {
  t: number;
  /** E σ²‖s_θ − s‖² over all points. */
  all: number;
  /** Standard error of `all`. */
  standardError: number;
  /** The same mean over points x_t within 0.15 of a moon curve scaled by α(t). */
  onMoons: number;
  /** The same mean over the other points (between and beyond the moons). */
  offMoons: number;
  /** Share of points on the moons. */
  shareOn: number;
}

/**
 * `scoreError` at each time, split by `moonLabels(x_t / α(t))` (the noised point, in the data's
 * units): on a moon or off both. Uses the same ε as `scoreError` (Rng(seed)).
 */
export function scoreErrorSplit(
  model: ScoreFn,
  reference: ScoreFn,
  x0: Float64Array,
  times: number[],
  cfg: { seed: number; schedule: ScheduleConfig },
): ScoreErrorSplitRow[] {
  const n = x0.length / 2;
  const eps = new Rng(cfg.seed).normalArray(2 * n); // scoreError's ε, drawn the same way
  return times.map((t) => {
    const e = scoreError(model, reference, x0, t, cfg);
    const a = alpha(t, cfg.schedule);
    const sg = sigma(t, cfg.schedule);
    const scaled = new Float64Array(2 * n);
    for (let k = 0; k < 2 * n; k++) scaled[k] = (a * x0[k] + sg * eps[k]) / a;
    const labels = moonLabels(scaled);
    let on = 0,
      off = 0,
      nOn = 0;
    for (let i = 0; i < n; i++) {
      if (labels[i] >= 0) {
        on += e.perPoint[i];
        nOn++;
      } else off += e.perPoint[i];
    }
    return {
      t,
      all: e.mean,
      standardError: e.standardError,
      onMoons: nOn > 0 ? on / nOn : NaN,
      offMoons: nOn < n ? off / (n - nOn) : NaN,
      shareOn: nOn / n,
    };
  });
}

/** The rows of `scoreErrorSplit` as a table. */
export function showScoreErrorTable(rows: ScoreErrorSplitRow[]): void {
  showTable(
    rows.map((r) => ({
      t: r.t,
      "σ²‖s_θ − s‖² (all)": r.all,
      "± s.e.": r.standardError,
      "on a moon": r.onMoons,
      "off the moons": r.offMoons,
      "share on a moon": r.shareOn,
    })),
    { digits: 3, caption: "Score error e(t) = E σ(t)²‖s_θ − s‖² over noised fresh data" },
  );
}

/** e(t) against t on log–log axes: all points, on a moon, off the moons. */
export async function scoreErrorFigure(rows: ScoreErrorSplitRow[]): Promise<Figure> {
  const t = rows.map((r) => r.t);
  const keep = (k: "all" | "onMoons" | "offMoons") => {
    const idx = rows
      .map((r, i) => (Number.isFinite(r[k]) && r[k] > 0 ? i : -1))
      .filter((i) => i >= 0);
    return { x: idx.map((i) => t[i]), y: idx.map((i) => rows[i][k]) };
  };
  return linePanels(
    [
      {
        title: "",
        logY: true,
        yTitle: "σ(t)² ‖s_θ − s‖²",
        series: [
          { label: "all points", ...keep("all") },
          { label: "x_t on a moon", ...keep("onMoons") },
          { label: "x_t off the moons", ...keep("offMoons") },
        ].filter((s) => s.x.length > 0),
      },
    ],
    { logX: true, xTitle: "t", title: "Score error of the trained model", width: 420, height: 260 },
  );
}
