/**
 * The notebooks' domain figures and tables, built from the generic helpers of `plot/` and
 * `display.ts`, so that a notebook cell is one call: the moons by label, the schedule over t for
 * several (β_min, β_max), the schedule's role in numbers, and generated samples against data.
 */
import { Figure, linePanels, scatter2d, LineSeries } from "./plot";
import { formatTable, showMarkdown, showTable, TableCell } from "./display";
import { Moons } from "../core/moons";
import { alpha, beta, sigma, snrCrossingTime, validateSchedule, ScheduleConfig } from "../core/sde";
import { energyDistance, mmdRbf, moonShares } from "./metrics";
import { layerSizes } from "../core/mlp";
import { ScoreModel } from "../engines/tfjs-model";
import { ScoreFn } from "../core/sampler";
import { marginalSample } from "../core/sde";
import { Rng } from "../core/random";
import { formatDuration } from "./progress";
import { TrainConfig } from "../core/train";
import { describeSettings } from "./workbook";

/** Split an n×2 row-major array by a per-point label. */
function rowsWithLabel(
  x: Float64Array | Float32Array,
  labels: ArrayLike<number>,
  label: number,
): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === label) out.push(x[2 * i], x[2 * i + 1]);
  return Float64Array.from(out);
}

/** Scatter plot of the two moons, coloured by moon (label 0 = outer, 1 = inner). */
export function moonsFigure(moons: Moons, opts: { title?: string } = {}): Promise<Figure> {
  return scatter2d(
    [
      { label: "outer moon (y = 0)", x: rowsWithLabel(moons.x, moons.y, 0) },
      { label: "inner moon (y = 1)", x: rowsWithLabel(moons.x, moons.y, 1) },
    ].filter((series) => series.x.length > 0), // makeMoons(1) has no inner moon
    { title: opts.title ?? `Two moons, n = ${moons.y.length}`, width: 460, height: 300 },
  );
}

/** Label of a schedule in legends and tables. */
export function scheduleLabel(s: ScheduleConfig): string {
  return `β_min=${s.betaMin}, β_max=${s.betaMax}`;
}

/**
 * β(t), α(t), σ(t) and the signal-to-noise ratio α²/σ² (log axis) over t ∈ [tMin, 1], one colour
 * per schedule.
 * @param schedules the schedules to compare (the first is drawn first)
 * @param opts tMin: start of the t grid (default 1e-3, the training ε); points: grid size (default
 *   200)
 */
export function scheduleFigure(
  schedules: ScheduleConfig[],
  opts: { tMin?: number; points?: number } = {},
): Promise<Figure> {
  const tMin = opts.tMin ?? 1e-3;
  const points = opts.points ?? 200;
  // SNR(0) is infinite: the log axis must start above t = 0
  if (!(tMin > 0 && tMin < 1))
    throw new RangeError(`Expected tMin in (0, 1), but got tMin=${tMin}`);
  schedules.forEach(validateSchedule);
  const ts = Array.from({ length: points }, (_, i) => tMin + ((1 - tMin) * i) / (points - 1));
  const series = (f: (t: number, s: ScheduleConfig) => number): LineSeries[] =>
    schedules.map((s) => ({ label: scheduleLabel(s), x: ts, y: ts.map((t) => f(t, s)) }));
  return linePanels(
    [
      { title: "β(t)", series: series(beta) },
      { title: "α(t)", series: series(alpha) },
      { title: "σ(t)", series: series(sigma) },
      {
        title: "SNR α²/σ² (log)",
        series: series((t, s) => (alpha(t, s) / sigma(t, s)) ** 2),
        logY: true,
      },
    ],
    { columns: 2, width: 260, height: 170 },
  );
}

/**
 * One row per schedule with the numbers that answer "what do β_min and β_max do?": σ(ε) and SNR(ε)
 * (how close x_ε is to the data), the SNR = 1 crossing time, α(1) and SNR(1) (how close x_1 is to
 * N(0, I)), and the prior mismatch KL(p_1 ‖ N(0, I)) ≤ E KL(N(α x0, σ²I) ‖ N(0, I)) = ½[α(1)²
 * E‖x0‖² + d(σ(1)² − 1 − ln σ(1)²)], with E‖x0‖² estimated from `x0` (n×2 row-major).
 */
export function scheduleRoleTable(
  schedules: ScheduleConfig[],
  x0: Float64Array | Float32Array,
  opts: { tMin?: number } = {},
): void {
  const tMin = opts.tMin ?? 1e-3;
  let m2 = 0;
  for (let k = 0; k < x0.length; k++) m2 += x0[k] * x0[k];
  m2 /= x0.length / 2;
  const d = 2;
  const rows: Record<string, TableCell>[] = schedules.map((s) => {
    const a1 = alpha(1, s),
      s1 = sigma(1, s);
    return {
      schedule: scheduleLabel(s),
      "σ(ε)": sigma(tMin, s),
      "SNR(ε)": (alpha(tMin, s) / sigma(tMin, s)) ** 2,
      "t at SNR = 1": snrCrossingTime(s),
      "α(1)": a1,
      "SNR(1)": (a1 / s1) ** 2,
      "KL bound p₁ ‖ N(0,I)": 0.5 * (a1 * a1 * m2 + d * (s1 * s1 - 1 - Math.log(s1 * s1))),
    };
  });
  showTable(rows, {
    caption:
      `Schedules at ε = ${tMin} and t = 1 (E‖x0‖² = ${m2.toFixed(3)} from ` +
      `${x0.length / 2} data points)`,
    digits: 3,
  });
}

/** What a point cloud stands for in `sampleQualityTable`; with roles the table prints a summary. */
export type CloudRole = "generated" | "floor" | "exact" | "prior";

/** A labelled point cloud (n×2 row-major) to compare with the data. */
export interface LabelledPoints {
  label: string;
  x: Float64Array | Float32Array;
  /** generated samples, a second data sample (the floor), a near-exact-score run, or the prior. */
  role?: CloudRole;
}

/** One row of `sampleQualityTable`. */
export interface SampleQualityRow {
  label: string;
  role?: CloudRole;
  n: number;
  mmd2: number;
  energy: number;
  outer: number;
  inner: number;
  neither: number;
}

const pct = (v: number) => `${(100 * v).toFixed(v < 0.1 ? 1 : 0)}%`;
const times = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)}×`;

/**
 * The numbers to read `sampleQualityTable` rows by, with short labels: the generated samples' share
 * on a moon (beside the data's and the prior's), their energy distance as a multiple of the floor's
 * and a share of the prior's, the near-exact-score run's multiple of the floor, the outer : inner
 * split and the share off both moons. Notebook 02e explains how to read them. Needs rows with the
 * roles "generated", "floor" and "prior" ("exact" optional); returns "" otherwise.
 */
export function sampleQualitySummary(rows: SampleQualityRow[]): string {
  const by = (r: CloudRole) => rows.find((x) => x.role === r);
  const gen = by("generated"),
    floor = by("floor"),
    prior = by("prior"),
    exact = by("exact");
  if (!gen || !floor || !prior) return "";
  const on = 1 - gen.neither,
    dataOn = 1 - floor.neither;
  const split = (r: SampleQualityRow, of: number) =>
    of > 0 ? `${pct(r.outer / of)} : ${pct(r.inner / of)}` : "none on a moon";
  return [
    `on a moon: ${pct(on)} of the generated samples (outer ${pct(gen.outer)}, ` +
      `inner ${pct(gen.inner)}), data ${pct(dataOn)}, prior ${pct(1 - prior.neither)}`,
    `energy distance: ${times(gen.energy / floor.energy)} the data-vs-data floor, ` +
      `${pct(gen.energy / prior.energy)} of the prior's`,
    ...(exact ? [`near-exact score: ${times(exact.energy / floor.energy)} the floor`] : []),
    `of the samples on a moon, outer : inner = ${split(gen, on)} (data ${split(floor, dataOn)})`,
    `off both moons: ${pct(gen.neither)} (data ${pct(floor.neither)})`,
  ].join(" · ");
}

/**
 * Compare point clouds with a reference data sample: unbiased MMD² (RBF kernel, median-heuristic
 * bandwidth), energy distance, and the shares of points on the outer moon, the inner moon and
 * neither (`moonShares`). Put a fresh data sample among `clouds` to show the floor that sampling
 * noise alone gives. When the clouds carry roles (generated, floor, prior; exact optional),
 * `sampleQualitySummary` is printed under the table.
 * @returns the rows, for further use (assign them, or tslab prints them)
 */
export function sampleQualityTable(
  reference: Float64Array | Float32Array,
  clouds: LabelledPoints[],
  opts: { caption?: string } = {},
): SampleQualityRow[] {
  const rows: SampleQualityRow[] = clouds.map((c) => {
    const shares = moonShares(c.x);
    return {
      label: c.label,
      role: c.role,
      n: c.x.length / 2,
      mmd2: mmdRbf(c.x, reference),
      energy: energyDistance(c.x, reference),
      outer: shares.outer,
      inner: shares.inner,
      neither: shares.neither,
    };
  });
  const { markdown, text } = formatTable(
    rows.map((r) => ({
      "compared with the data": r.label,
      n: r.n,
      "MMD²": r.mmd2,
      "energy dist.": r.energy,
      "outer moon": r.outer,
      "inner moon": r.inner,
      neither: r.neither,
    })),
    {
      caption:
        opts.caption ??
        `Two-sample distances to ${reference.length / 2} data points, and shares near each moon`,
      digits: 3,
    },
  );
  const summary = sampleQualitySummary(rows);
  showMarkdown(
    summary ? `${markdown}\n\n${summary}` : markdown,
    summary ? `${text}\n\n${summary}` : text,
  );
  return rows;
}

/**
 * The model's parameters layer by layer: shapes, counts from the architecture (in·out + out per
 * layer), and the total counted a second way, from the model's actual tf.Variables.
 */
export function showParameterTable(model: ScoreModel): void {
  const sizes = layerSizes(model.config);
  const rows: Record<string, TableCell>[] = [];
  let total = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l],
      nOut = sizes[l + 1];
    total += nIn * nOut + nOut;
    rows.push({
      layer: `${l + 1}: ${nIn} → ${nOut}`,
      "W shape": `${nIn}×${nOut}`,
      weights: nIn * nOut,
      biases: nOut,
      parameters: nIn * nOut + nOut,
    });
  }
  const fromVariables = model.params.reduce((s, p) => s + p.size, 0);
  rows.push({ layer: "total", "W shape": "", weights: null, biases: null, parameters: total });
  showTable(rows, {
    caption:
      `Layer sizes ${JSON.stringify(sizes)}: ${total} parameters from the formula; ` +
      `${fromVariables} counted in the model's tf.Variables; parameterCount() = ` +
      `${model.parameterCount()}`,
  });
}

/** One time of `scoreScale`: mean ‖s‖ per labelled score, and the DSM target's size. */
export interface ScoreScaleRow {
  t: number;
  sigma: number;
  /** Mean ‖s(x_t, t)‖ over the points, by label. */
  mean: Record<string, number>;
  /** E‖ε‖/σ(t) = √(π/2)/σ(t) in 2-D (the mean of a χ₂ variable). */
  target: number;
}

/**
 * Size of score fields at several times: mean ‖s(x_t, t)‖ over points x_t = α(t)x0 + σ(t)ε (seeded
 * noise, the same points for every score), beside the size of the DSM regression target E‖ε‖/σ(t).
 * @param scores one ScoreFn, or several labelled ones (e.g. the trained model and a near-exact
 *   score)
 * @param x0 clean points, n×2 row-major
 */
export function scoreScale(
  scores: ScoreFn | { label: string; score: ScoreFn }[],
  x0: Float64Array | Float32Array,
  ts: number[],
  schedule: ScheduleConfig,
  seed = 0,
): ScoreScaleRow[] {
  const list = typeof scores === "function" ? [{ label: "s(x_t, t)", score: scores }] : scores;
  const n = x0.length / 2;
  const rng = new Rng(seed);
  return ts.map((t) => {
    const xt = marginalSample(Float64Array.from(x0), t, rng.normalArray(x0.length), schedule);
    const mean: Record<string, number> = {};
    for (const { label, score } of list) {
      const s = score(xt, t, n);
      let m = 0;
      for (let i = 0; i < n; i++) m += Math.hypot(s[2 * i], s[2 * i + 1]);
      mean[label] = m / n;
    }
    return {
      t,
      sigma: sigma(t, schedule),
      mean,
      target: Math.sqrt(Math.PI / 2) / sigma(t, schedule),
    };
  });
}

/** `scoreScale` as a table (one row per time). */
export function showScoreScale(
  scores: ScoreFn | { label: string; score: ScoreFn }[],
  x0: Float64Array | Float32Array,
  ts: number[],
  schedule: ScheduleConfig,
  seed = 0,
): void {
  const rows = scoreScale(scores, x0, ts, schedule, seed);
  showTable(
    rows.map((r) => ({
      t: r.t,
      "σ(t)": r.sigma,
      ...Object.fromEntries(Object.entries(r.mean).map(([k, v]) => [`mean ‖${k}‖`, v])),
      "target size E‖ε‖/σ(t)": r.target,
    })),
    { caption: `Score size over t on ${x0.length / 2} noised data points`, digits: 3 },
  );
}

/**
 * `scoreScale` as a figure: mean ‖s‖ of each score and the target size E‖ε‖/σ(t) against
 * log₁₀ t, on a log axis (`ts` should span several decades, e.g. 40 log-spaced times).
 */
export function scoreScaleFigure(
  scores: ScoreFn | { label: string; score: ScoreFn }[],
  x0: Float64Array | Float32Array,
  ts: number[],
  schedule: ScheduleConfig,
  seed = 0,
): Promise<Figure> {
  const rows = scoreScale(scores, x0, ts, schedule, seed);
  const x = rows.map((r) => Math.log10(r.t));
  const series: LineSeries[] = Object.keys(rows[0].mean).map((label) => ({
    label: `mean ‖${label}‖`,
    x,
    y: rows.map((r) => r.mean[label]),
  }));
  series.push({ label: "target size E‖ε‖/σ(t)", x, y: rows.map((r) => r.target) });
  return linePanels([{ title: "Score size over t", series, logY: true }], {
    xTitle: "log₁₀ t",
    yTitle: "size (log scale)",
  });
}

/** What `showTrainingSummary` reports about a run (a `CachedTrainResult` has all of it). */
export interface TrainingSummaryInput {
  engine: string;
  steps: number;
  lossHistory: Float32Array;
  fromCache: boolean;
  /** Wall time of the training that produced these weights (seconds), if known. */
  trainedSeconds: number | null;
  key: string;
  /** The run's configuration: the caption says how it differs from the sheet's. */
  config: TrainConfig;
}

/**
 * Mean of per-step losses and its standard error, sd/√k: each step's loss is of its own batch, so
 * the k values are independent draws (while the weights barely change over the stretch).
 */
export function lossTail(losses: ArrayLike<number>): { mean: number; standardError: number } {
  const k = losses.length;
  let [sum, sumSq] = [0, 0];
  for (let i = 0; i < k; i++) {
    sum += losses[i];
    sumSq += losses[i] ** 2;
  }
  const mean = sum / k;
  const variance = k > 1 ? Math.max(0, sumSq / k - mean * mean) * (k / (k - 1)) : NaN;
  return { mean, standardError: Math.sqrt(variance / k) };
}

/**
 * One table about a training run: engine and tfjs backend, steps, whether the weights came from the
 * cache, training time and speed, and the loss at the start and (as a mean over the last 1% of
 * steps, with its standard error) at the end.
 */
export function showTrainingSummary(r: TrainingSummaryInput, backend: string): void {
  const n = r.lossHistory.length;
  const tail = Math.max(1, Math.round(n / 100));
  const first = lossTail(r.lossHistory.subarray(0, tail));
  const last = lossTail(r.lossHistory.subarray(n - tail));
  showTable(
    [
      {
        engine: r.engine,
        "tfjs backend": backend,
        steps: r.steps,
        weights: r.fromCache ? "loaded from cache" : "trained now",
        "training time": r.trainedSeconds === null ? "unknown" : formatDuration(r.trainedSeconds),
        "steps / s": r.trainedSeconds ? Math.round(r.steps / r.trainedSeconds) : null,
        [`loss, first ${tail} steps`]: first.mean,
        [`loss, last ${tail} steps`]: last.mean,
        "± s.e.": last.standardError,
      },
    ],
    { caption: `Training run: ${describeSettings(r.config)} (cache key ${r.key})`, digits: 4 },
  );
}
