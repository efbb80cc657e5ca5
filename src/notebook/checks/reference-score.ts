/**
 * Part 2d: `dsmLossComparison`, the training loss of several score functions on the same draws
 * (the model against the near-exact score's floor and the zero score's "nothing learned").
 */
import { Rng } from "../../core/random";
import { formatTable, showMarkdown } from "../display";
import { alpha, defaultSchedule, sigma, ScheduleConfig } from "../../core/sde";
import { ScoreFn } from "../../core/sampler";
import { CheckResult, compare } from "./check";

/** One row of `dsmLossComparison`. */
export type DsmLossRow = {
  label: string;
  /**
   * Monte Carlo estimate of E‖s(x_t, t) + ε/max(σ(t), σ_min)‖² (the training loss, as in
   * `dsmLoss`).
   */
  loss: number;
  /** Its standard error. */
  standardError: number;
  /** loss − loss of the `floor` entry, on the same draws (paired), and its standard error. */
  excess: number;
  excessStandardError: number;
};

/** Options of `dsmLossComparison`. */
export interface DsmLossComparisonOptions {
  /**
   * Number of times t, stratified: one uniform draw in each of `groups` equal slices of [tMin, 1]
   * (default 400).
   */
  groups?: number;
  /** Points (x0, ε) per time (default 50). */
  perGroup?: number;
  /** Index of the entry that the `excess` column is measured against (default: the last entry). */
  floor?: number;
  /** Seed (default 0). */
  seed?: number;
}

/**
 * The DSM training loss of several score functions on the SAME random draws (paired, so differences
 * are precise): for `groups` stratified times t in [tMin, 1], `perGroup` rows x0 of `data` and ε ~
 * N(0, I) give x_t = α x0 + σ ε and the squared residual ‖s(x_t, t) + ε/max(σ, σ_min)‖². Grouping
 * by t lets a `ScoreFn` (one t per call) be used; with one uniform t per equal slice the estimate
 * of the expectation over t ~ U(tMin, 1) stays unbiased and has less variance. Typical entries: the
 * trained model, s = 0 (nothing learned), a near-exact score (the loss floor, put last).
 * @param data training points, n×2 row-major
 */
export function dsmLossComparison(
  entries: { label: string; score: ScoreFn }[],
  data: Float64Array | Float32Array,
  schedule: ScheduleConfig,
  lossCfg: { tMin: number; sigmaMin: number },
  opts: DsmLossComparisonOptions = {},
): DsmLossRow[] {
  const groups = opts.groups ?? 400;
  const perGroup = opts.perGroup ?? 50;
  const floor = opts.floor ?? entries.length - 1;
  if (!Number.isInteger(groups) || groups < 2)
    throw new RangeError(`Expected groups to be an integer >= 2, but got groups=${groups}`);
  if (!Number.isInteger(perGroup) || perGroup < 1)
    throw new RangeError(
      `Expected perGroup to be a positive integer, but got perGroup=${perGroup}`,
    );
  if (!Number.isInteger(floor) || floor < 0 || floor >= entries.length) {
    throw new RangeError(
      `Expected floor to index one of the ${entries.length} entries, but got floor=${floor}`,
    );
  }
  const nData = data.length / 2;
  const rng = new Rng(opts.seed ?? 0);
  const perGroupLoss = entries.map(() => new Float64Array(groups));
  for (let g = 0; g < groups; g++) {
    const t = lossCfg.tMin + ((1 - lossCfg.tMin) * (g + rng.uniform())) / groups;
    const a = alpha(t, schedule),
      sg = sigma(t, schedule),
      sClamped = Math.max(sg, lossCfg.sigmaMin);
    const xt = new Float64Array(2 * perGroup),
      eps = new Float64Array(2 * perGroup);
    for (let i = 0; i < perGroup; i++) {
      const j = rng.int(nData);
      for (let d = 0; d < 2; d++) {
        eps[2 * i + d] = rng.normal();
        xt[2 * i + d] = a * data[2 * j + d] + sg * eps[2 * i + d];
      }
    }
    entries.forEach((e, k) => {
      const s = e.score(xt, t, perGroup);
      let sum = 0;
      for (let q = 0; q < 2 * perGroup; q++) sum += (s[q] + eps[q] / sClamped) ** 2;
      perGroupLoss[k][g] = sum / perGroup;
    });
  }
  // Stratified estimate: mean of the slice means; its variance is Σ Var(slice)/groups², estimated
  // from the spread of neighbouring slices (pairs 2i, 2i+1), which is conservative for a smooth
  // dependence on t.
  const stats = (v: Float64Array): [number, number] => {
    let m = 0;
    for (let g = 0; g < groups; g++) m += v[g];
    m /= groups;
    let q = 0,
      pairs = 0;
    for (let g = 0; g + 1 < groups; g += 2) {
      q += (v[g] - v[g + 1]) ** 2 / 2;
      pairs++;
    }
    return [m, Math.sqrt(q / pairs / groups)];
  };
  return entries.map((e, k) => {
    const [loss, standardError] = stats(perGroupLoss[k]);
    const diff = perGroupLoss[k].map((v, g) => v - perGroupLoss[floor][g]);
    const [excess, excessStandardError] = stats(diff);
    return { label: e.label, loss, standardError, excess, excessStandardError };
  });
}

/**
 * The numbers to read `dsmLossComparison` rows by, with short labels: the floor and the model's
 * loss, the learnable gap (the excess of s = 0) and the model's excess over the floor, also as a
 * share of that gap (left, and captured). Notebook 02d explains how to read them.
 * @param model index of the trained model's row; nothing: index of the s = 0 row
 */
export function dsmLossSummary(rows: DsmLossRow[], model = 0, nothing = 1): string {
  const m = rows[model],
    z = rows[nothing];
  if (!m || !z)
    throw new RangeError(
      `Expected rows ${model} (model) and ${nothing} (s = 0) among ${rows.length} rows`,
    );
  const share = m.excess / z.excess;
  const floorLoss = m.loss - m.excess;
  const f = (v: number) =>
    Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
  const left = (100 * share).toFixed(share < 0.1 ? 1 : 0);
  const captured = (100 * (1 - share)).toFixed(share > 0.9 ? 1 : 0);
  const zScore = m.excess / m.excessStandardError;
  const verdict = zScore > 2 ? "above the floor" : "within the floor's noise";
  return (
    `floor ${f(floorLoss)} · model ${f(m.loss)} · learnable gap (s = 0 minus floor) ` +
    `${f(z.excess)} · model's excess ${f(m.excess)} ± ${f(m.excessStandardError)} ` +
    `(${zScore.toFixed(1)} s.e., ${verdict}): ${left}% of the gap left, ${captured}% captured`
  );
}

/**
 * Display `dsmLossComparison` rows; with `summary`, also `dsmLossSummary` for the given model and
 * s = 0 rows.
 */
export function showDsmLossComparison(
  rows: DsmLossRow[],
  summary?: { model: number; nothing: number },
): void {
  const floor = rows.find((r) => r.excess === 0 && r.excessStandardError === 0)?.label ?? "floor";
  const { markdown, text } = formatTable(
    rows.map((r) => ({
      "score function": r.label,
      "DSM loss": r.loss,
      "± s.e.": r.standardError,
      [`excess over "${floor}"`]: r.excess,
      "± s.e. (paired)": r.excessStandardError,
    })),
    {
      caption:
        "DSM loss on the same random draws (stratified t in [ε, 1], x0 from the training set, ε " +
        "~ N(0, I))",
      digits: 4,
    },
  );
  const line = summary ? dsmLossSummary(rows, summary.model, summary.nothing) : "";
  showMarkdown(line ? `${markdown}\n\n${line}` : markdown, line ? `${text}\n\n${line}` : text);
}

/**
 * The expected DSM loss of the zero score, E‖0 + ε/σ̃(t)‖² = d·E_t[1/σ̃(t)²] with σ̃ = max(σ,
 * σ_min), d = 2 and t ~ U(tMin, 1): E‖ε‖² = d leaves a one-dimensional integral over t, done by
 * composite Simpson in u = ln t (the integrand grows like 1/t at small t, and t·(1/σ²) is smooth).
 * With tMax < 1: the part of that expectation from t ∈ [tMin, tMax] (still divided by 1 − tMin).
 */
export function zeroScoreLoss(
  schedule: ScheduleConfig,
  lossCfg: { tMin: number; sigmaMin: number },
  intervals = 4000,
  tMax = 1,
): number {
  const [u0, u1] = [Math.log(lossCfg.tMin), Math.log(tMax)];
  const h = (u1 - u0) / intervals;
  const f = (u: number) => {
    const t = Math.exp(u);
    return t / Math.max(sigma(Math.min(t, 1), schedule), lossCfg.sigmaMin) ** 2;
  };
  let sum = f(u0) + f(u1);
  for (let i = 1; i < intervals; i++) sum += (i % 2 === 1 ? 4 : 2) * f(u0 + i * h);
  return (2 * ((sum * h) / 3)) / (1 - lossCfg.tMin);
}

/** Result of `zeroScoreLossCheck`. */
export interface ZeroScoreLossCheck extends CheckResult {
  closedForm: number;
  monteCarlo: number;
  monteCarloStandardError: number;
}

/**
 * The zero score's DSM loss three ways: the closed form (`zeroScoreLoss`), an independent Monte
 * Carlo estimate from `nDraws` draws of t ~ U(tMin, 1) and ε ~ N(0, I₂) (PASS within 4 standard
 * errors), and, if given, the s = 0 row of a `dsmLossComparison` table (how far that table's draws
 * sit from the expectation, in its standard errors; PASS within 4). With the model's row too, the
 * closed form minus the paired difference of the two rows is the model's expected loss, free of
 * the draws' common offset; the training's mean loss over its last steps (independent draws)
 * must match it within 4 of its standard errors.
 */
export function zeroScoreLossCheck(
  schedule: ScheduleConfig,
  lossCfg: { tMin: number; sigmaMin: number },
  opts: {
    nDraws?: number;
    seed?: number;
    /** The s = 0 row of a `dsmLossComparison` table. */
    measured?: DsmLossRow;
    /** The model's row of the same table: its expected loss is implied by the closed form. */
    model?: DsmLossRow;
    /**
     * The training's mean loss over its last steps, with its standard error: compared (with
     * `measured` and `model`) with the model's loss implied by the closed form.
     */
    training?: { label: string; mean: number; standardError: number };
  } = {},
): ZeroScoreLossCheck {
  const nDraws = opts.nDraws ?? 2_000_000;
  if (!Number.isInteger(nDraws) || nDraws < 100)
    throw new RangeError(`Expected nDraws to be an integer ≥ 100, but got nDraws=${nDraws}`);
  const rng = new Rng(opts.seed ?? 0);
  let [sum, sumSq] = [0, 0];
  for (let i = 0; i < nDraws; i++) {
    const t = lossCfg.tMin + (1 - lossCfg.tMin) * rng.uniform();
    const s = Math.max(sigma(t, schedule), lossCfg.sigmaMin);
    const v = (rng.normal() ** 2 + rng.normal() ** 2) / (s * s);
    sum += v;
    sumSq += v * v;
  }
  const monteCarlo = sum / nDraws;
  const se = Math.sqrt((sumSq / nDraws - monteCarlo ** 2) / (nDraws - 1));
  const closedForm = zeroScoreLoss(schedule, lossCfg);
  const checks = [
    compare(`Monte Carlo, ${nDraws} draws`, monteCarlo, closedForm, 4 * se, "4 s.e."),
  ];
  const row = (how: string, value: number, se: number | null, reference = closedForm) => ({
    "estimate of": how,
    value,
    "± s.e.": se,
    "(value − expected) / s.e.": se === null ? null : (value - reference) / se,
  });
  const table = [
    row("s = 0: closed form 2·E[1/σ̃(t)²] (quadrature over t)", closedForm, null),
    row(`s = 0: Monte Carlo, ${nDraws} draws`, monteCarlo, se),
  ];
  const m = opts.measured;
  if (m) {
    checks.push(compare(`"${m.label}" row`, m.loss, closedForm, 4 * m.standardError, "4 s.e."));
    table.push(row(`"${m.label}" in the table above`, m.loss, m.standardError));
    const { model, training } = opts;
    if (model) {
      // paired: the draws' common offset cancels in the difference of the two rows
      const implied = closedForm - (m.loss - model.loss);
      table.push(row(`"${model.label}": closed form − (s = 0 row − its row)`, implied, null));
      if (training) {
        const t = training;
        checks.push(compare(t.label, t.mean, implied, 4 * t.standardError, "4 s.e."));
        table.push(row(`${t.label} (expected: the row above)`, t.mean, t.standardError, implied));
      }
    }
  }
  const small = 0.01;
  const share = zeroScoreLoss(schedule, lossCfg, 4000, small) / closedForm;
  return {
    title:
      `Loss of the zero score: closed form 2·E[1/σ̃(t)²] = ${closedForm.toFixed(2)} for t ~ ` +
      `U(${lossCfg.tMin}, 1), σ̃ = max(σ, ${lossCfg.sigmaMin})`,
    checks,
    table,
    digits: 4,
    footer: [
      `share of 2·E[1/σ̃(t)²] from the ${(100 * (small - lossCfg.tMin)).toFixed(1)}% of times ` +
        `t < ${small}: ${(100 * share).toFixed(0)}%`,
    ],
    closedForm,
    monteCarlo,
    monteCarloStandardError: se,
  };
}
