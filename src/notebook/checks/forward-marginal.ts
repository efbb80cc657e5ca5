/**
 * Exercise 2b: `forwardMarginalCheck` simulates the forward SDE and compares with the closed-form
 * marginal; `snrCrossingCheck` finds the SNR = 1 time two ways.
 */
import { Rng } from "../../core/random";
import {
  alpha,
  beta,
  defaultSchedule,
  forwardDrift,
  sigma,
  snrCrossingTime,
  validateSchedule,
  ScheduleConfig,
} from "../../core/sde";
import { Check, CheckResult, compare, overallStatus } from "./check";

/**
 * One row of `forwardMarginalCheck`: simulated vs closed-form moments of x_t | x0 at one time t.
 */
export type ForwardMarginalRow = {
  t: number;
  /** Closed-form mean α(t)·x0. */
  alphaX0: number;
  /** Sample mean of the simulated x_t (drift −½βx). */
  meanSimulated: number;
  /** Closed-form standard deviation σ(t). */
  sigma: number;
  /** Sample standard deviation of the simulated x_t (drift −½βx). */
  stdSimulated: number;
  /** Sample mean when simulating with the sheet's printed drift +½βx (same noise draws). */
  meanWithSheetSign: number;
};

/**
 * Result of `forwardMarginalCheck`. `checks`: per time, the simulated mean against αx0 and the
 * simulated std against σ, each within 5 standard errors plus 1% (time discretisation).
 */
export interface ForwardMarginalCheck extends CheckResult {
  rows: ForwardMarginalRow[];
}

/** Options of `forwardMarginalCheck`. */
export interface ForwardMarginalCheckOptions {
  /** Starting point x0 (1-D; each coordinate of the VP-SDE evolves independently). Default 1. */
  x0?: number;
  /** Number of simulated paths (default 10000). */
  nPaths?: number;
  /** Euler–Maruyama steps on [0, 1] (default 1000). */
  steps?: number;
  /** Times at which moments are reported, each in (0, 1] (default [0.1, 0.25, 0.5, 1]). */
  times?: number[];
  /** Seed (default 0). */
  seed?: number;
}

/**
 * Simulate the forward VP-SDE dx = −½β(t)x dt + √β(t) dW from a fixed x0 by Euler–Maruyama
 * (float64) and compare the moments of x_t with the closed-form marginal N(α(t)x0, σ²(t)); also
 * simulate the sheet's printed drift +½β(t)x with the same noise, to show that its mean grows
 * instead of decaying.
 */
export function forwardMarginalCheck(
  schedule: ScheduleConfig = defaultSchedule(),
  opts: ForwardMarginalCheckOptions = {},
): ForwardMarginalCheck {
  validateSchedule(schedule);
  const x0 = opts.x0 ?? 1;
  const nPaths = opts.nPaths ?? 10000;
  const steps = opts.steps ?? 1000;
  const times = opts.times ?? [0.1, 0.25, 0.5, 1];
  if (!Number.isInteger(nPaths) || nPaths < 2)
    throw new RangeError(`Expected nPaths to be an integer >= 2, but got nPaths=${nPaths}`);
  if (!Number.isInteger(steps) || steps < 1)
    throw new RangeError(`Expected steps to be a positive integer, but got steps=${steps}`);
  for (const t of times) {
    if (!(t > 0 && t <= 1)) throw new RangeError(`Expected every time in (0, 1], but got t=${t}`);
  }
  const rng = new Rng(opts.seed ?? 0);
  const x = new Float64Array(nPaths).fill(x0);
  const xSheet = new Float64Array(nPaths).fill(x0);
  const dt = 1 / steps;
  const reportAt = new Map(times.map((t) => [Math.round(t * steps), t]));
  const rows: ForwardMarginalRow[] = [];
  const checks: Check[][] = []; // per row: mean, std
  for (let k = 0; k < steps; k++) {
    const noise = Math.sqrt(beta(k * dt, schedule) * dt); // g(t)·√dt
    const f = forwardDrift(x, k * dt, schedule); // −½βx
    const fSheet = forwardDrift(xSheet, k * dt, schedule); // the sheet's drift is −fSheet
    for (let p = 0; p < nPaths; p++) {
      const z = rng.normal();
      x[p] += f[p] * dt + noise * z;
      xSheet[p] += -fSheet[p] * dt + noise * z;
    }
    const t = reportAt.get(k + 1);
    if (t === undefined) continue;
    const [m, s] = meanStd(x);
    const [mSheet] = meanStd(xSheet);
    const a = alpha(t, schedule) * x0;
    const sg = sigma(t, schedule);
    const se = s / Math.sqrt(nPaths);
    rows.push({
      t,
      alphaX0: a,
      meanSimulated: m,
      sigma: sg,
      stdSimulated: s,
      meanWithSheetSign: mSheet,
    });
    checks.push([
      compare(`mean at t = ${t}`, m, a, 5 * se + 0.01 * Math.abs(x0), "α(t)·x0"),
      compare(`std at t = ${t}`, s, sg, 5 * se + 0.01 * sg, "σ(t)"),
    ]);
  }
  return {
    title: "Forward SDE simulated (drift −½βx) vs closed-form marginal",
    checks: checks.flat(),
    table: rows.map((r, k) => ({
      t: r.t,
      "α(t)·x0": r.alphaX0,
      "simulated mean": r.meanSimulated,
      "σ(t)": r.sigma,
      "simulated std": r.stdSimulated,
      "mean with the sheet's +½βx": r.meanWithSheetSign,
      check: overallStatus(checks[k]),
    })),
    rows,
  };
}

function meanStd(v: Float64Array): [number, number] {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - m) ** 2;
  return [m, Math.sqrt(q / (v.length - 1))];
}

/** Result of `snrCrossingCheck`: the SNR = 1 time two ways, and how far α has fallen by when. */
export interface SnrCrossingCheck extends CheckResult {
  /** The closed-form SNR = 1 time (`snrCrossingTime`). */
  tClosedForm: number;
  /** The root of α(t)²/σ(t)² = 1 by bisection on the `alpha` and `sigma` functions. */
  tBisection: number;
}

/**
 * Where the signal-to-noise ratio α²/σ² crosses 1, two independent ways: the closed form of
 * `snrCrossingTime` (the quadratic ∫₀ᵗβ = ln 2) and bisection on SNR(t) − 1 evaluated with `alpha`
 * and `sigma` (the expm1 form). The table adds, at a few times, α(t), the share of α's whole fall
 * 1 − α(t) that has happened by then, (1 − α(t))/(1 − α(1)), and SNR(t).
 */
export function snrCrossingCheck(
  schedule: ScheduleConfig = defaultSchedule(),
  times: number[] = [0.1, 0.25, 0.5, 0.75, 1],
): SnrCrossingCheck {
  validateSchedule(schedule);
  const snr = (t: number) => (alpha(t, schedule) / sigma(t, schedule)) ** 2;
  const tClosedForm = snrCrossingTime(schedule);
  let [lo, hi] = [1e-12, 1];
  const reached = snr(hi) <= 1;
  for (let k = 0; reached && k < 200 && hi - lo > 1e-15; k++) {
    const mid = 0.5 * (lo + hi);
    if (snr(mid) > 1) lo = mid;
    else hi = mid;
  }
  const tBisection = reached ? 0.5 * (lo + hi) : Infinity;
  const checks: Check[] = reached
    ? [
        compare("SNR = 1 time: closed form vs bisection", tClosedForm, tBisection, 1e-9),
        compare("SNR at the closed-form time", snr(tClosedForm), 1, 1e-9),
      ]
    : [
        compare(
          "SNR above 1 on all of [0, 1]: closed form says never",
          `${tClosedForm}`,
          "Infinity",
          0,
        ),
      ];
  const fall = 1 - alpha(1, schedule);
  return {
    title:
      `SNR = 1 at t = ${tClosedForm.toPrecision(4)} (closed form) and ` +
      `t = ${tBisection.toPrecision(4)} (bisection on α²/σ²)`,
    checks,
    table: times.map((t) => ({
      t,
      "α(t)": alpha(t, schedule),
      "share of α's fall done": (1 - alpha(t, schedule)) / fall,
      "SNR α²/σ²": snr(t),
    })),
    digits: 4,
    tClosedForm,
    tBisection,
  };
}
