/**
 * The probability-flow ODE of the VP-SDE (Song et al. 2021, eq. 13): the deterministic flow
 *
 *   dx/dt = f(x, t) − ½ g(t)² s(x, t) = −½ β(t) (x + s(x, t)),
 *
 * whose solution has the same marginals p_t as the SDE. Sampling integrates it from t = 1
 * (x ~ N(0, I)) down to t = tMin. Fixed-step Euler, Heun and RK4 on the grid
 * t_k = 1 − k (1 − tMin)/N, and the adaptive Dormand–Prince RK45 pair that score_sde runs through
 * scipy's `solve_ivp` (same error norm and step control), which reports the evaluations it used.
 * The integrators are generic (`VectorField`), so the likelihood can reuse them on [x, log p].
 */
import { ScoreFn } from "./sampler";
import { ScheduleConfig, beta } from "./sde";

/**
 * A vector field dy/dt = f(y, t) on a flat float64 state (e.g. n×2 row-major points).
 * @returns a new array of y.length numbers
 */
export type VectorField = (y: Float64Array, t: number) => Float64Array;

/** Fixed-step one-step methods: evaluations of the field per step, and their order. */
export const fixedStepMethods = {
  euler: { evalsPerStep: 1, order: 1 },
  heun: { evalsPerStep: 2, order: 2 },
  rk4: { evalsPerStep: 4, order: 4 },
} as const;

/** Name of a fixed-step method: "euler" (order 1), "heun" (2) or "rk4" (4). */
export type FixedStepMethod = keyof typeof fixedStepMethods;

/**
 * The probability-flow drift −½β(t)(x + s(x, t)) as a `VectorField` on n×2 row-major points; each
 * call is one score evaluation (one NFE) on all points.
 */
export function probabilityFlowField(score: ScoreFn, schedule: ScheduleConfig): VectorField {
  return (x, t) => {
    const s = score(x, t, x.length / 2);
    if (s.length !== x.length)
      throw new RangeError(
        `Expected the score to return ${x.length} numbers (n×2), but got ${s.length}`,
      );
    const c = -0.5 * beta(t, schedule);
    const v = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) v[k] = c * (x[k] + s[k]);
    return v;
  };
}

/** y + h·Σ_i c_i k_i, a new array (the stage combinations of the Runge–Kutta methods). */
function axpy(y: Float64Array, h: number, cs: number[], ks: Float64Array[]): Float64Array {
  const out = Float64Array.from(y);
  for (let i = 0; i < cs.length; i++) {
    const c = h * cs[i];
    if (c === 0) continue;
    const k = ks[i];
    for (let j = 0; j < y.length; j++) out[j] += c * k[j];
  }
  return out;
}

/**
 * One step of a fixed-step method from t to t + h (h < 0 integrates backwards in time).
 * @param y state at t (not modified)
 * @returns the state at t + h, a new array; uses `fixedStepMethods[method].evalsPerStep` calls of f
 */
export function odeStep(
  method: FixedStepMethod,
  f: VectorField,
  y: Float64Array,
  t: number,
  h: number,
): Float64Array {
  const k1 = f(y, t);
  if (method === "euler") return axpy(y, h, [1], [k1]);
  if (method === "heun") {
    const k2 = f(axpy(y, h, [1], [k1]), t + h);
    return axpy(y, h, [0.5, 0.5], [k1, k2]);
  }
  const k2 = f(axpy(y, h / 2, [1], [k1]), t + h / 2);
  const k3 = f(axpy(y, h / 2, [1], [k2]), t + h / 2);
  const k4 = f(axpy(y, h, [1], [k3]), t + h);
  return axpy(y, h, [1 / 6, 1 / 3, 1 / 3, 1 / 6], [k1, k2, k3, k4]);
}

/**
 * The sampling grid t_k = 1 − k (1 − tMin)/steps, k = 0 … steps: from 1 down to tMin (the last
 * time is tMin exactly). The same times as the Euler–Maruyama sampler's grid, in reverse order.
 */
export function timeGrid(steps: number, tMin: number): Float64Array {
  const t = new Float64Array(steps + 1);
  for (let k = 0; k <= steps; k++) t[k] = 1 - (k * (1 - tMin)) / steps;
  t[steps] = tMin;
  return t;
}

/**
 * Integrate dy/dt = f(y, t) over the given times with a fixed-step method.
 * @param times t_0, t_1, …, t_N (either direction); y0 is the state at t_0
 * @returns the state at t_N and the field evaluations used, N · evalsPerStep
 */
export function integrateFixed(
  method: FixedStepMethod,
  f: VectorField,
  y0: Float64Array,
  times: ArrayLike<number>,
): { y: Float64Array; nfe: number } {
  let y = y0;
  for (let k = 0; k + 1 < times.length; k++)
    y = odeStep(method, f, y, times[k], times[k + 1] - times[k]);
  return { y, nfe: (times.length - 1) * fixedStepMethods[method].evalsPerStep };
}

/** Tolerances of the adaptive RK45 integrator. */
export interface Rk45Options {
  /** Relative tolerance per component, > 0 (score_sde's default 1e-5). */
  rtol: number;
  /** Absolute tolerance per component, > 0 (default: rtol). */
  atol?: number;
  /** Stop with an error after this many field evaluations (default 100 000). */
  maxNfe?: number;
}

/** Result of `integrateRK45`. */
export interface Rk45Result {
  /** State at t1. */
  y: Float64Array;
  /** Field evaluations (NFE): 6 per attempted step (FSAL) + 2 to choose the first step. */
  nfe: number;
  /** Accepted steps. */
  steps: number;
  /** Rejected step attempts. */
  rejected: number;
}

// Dormand–Prince 5(4): stages c, matrix A, 5th-order weights B (= A's last row: FSAL), and
// E = B − B* (B* the embedded 4th-order weights), the error estimate's weights.
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
];
const B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/** RMS of v_i / (atol + rtol·max(|a_i|, |b_i|)), the error norm of scipy's solve_ivp. */
function scaledRms(v: Float64Array, a: Float64Array, b: Float64Array, rtol: number, atol: number) {
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    const r = v[i] / (atol + rtol * Math.max(Math.abs(a[i]), Math.abs(b[i])));
    sum += r * r;
  }
  return Math.sqrt(sum / v.length);
}

/**
 * Adaptive Dormand–Prince RK45 from t0 to t1 (either direction), as scipy's `solve_ivp(method=
 * "RK45")`: error norm RMS(err / (atol + rtol·|y|)), step factor 0.9·err^(−1/5) clamped to
 * [0.2, 10], Hairer's initial step choice. The whole state is one system (score_sde does the same
 * on the flattened batch), so the step is set by the batch's RMS error.
 * @param y0 state at t0 (not modified)
 */
export function integrateRK45(
  f: VectorField,
  y0: Float64Array,
  t0: number,
  t1: number,
  opts: Rk45Options,
): Rk45Result {
  const rtol = opts.rtol;
  const atol = opts.atol ?? rtol;
  const maxNfe = opts.maxNfe ?? 100_000;
  if (!(rtol > 0) || !(atol > 0))
    throw new RangeError(`Expected rtol > 0 and atol > 0, but got rtol=${rtol}, atol=${atol}`);
  const dir = Math.sign(t1 - t0);
  const span = Math.abs(t1 - t0);
  let nfe = 0;
  const field = (y: Float64Array, t: number) => {
    if (++nfe > maxNfe) throw new RangeError(`RK45 exceeded maxNfe=${maxNfe} evaluations`);
    return f(y, t);
  };
  let y = y0;
  let t = t0;
  let k1 = field(y, t);
  let h = initialStep(field, y, t, k1, dir, span, rtol, atol);
  let steps = 0;
  let rejected = 0;
  while (dir * (t1 - t) > 0) {
    const last = h >= Math.abs(t1 - t);
    const hs = last ? t1 - t : dir * h;
    const ks = [k1];
    for (let i = 1; i < 6; i++) ks.push(field(axpy(y, hs, A[i], ks), t + C[i] * hs));
    const yNew = axpy(y, hs, B, ks);
    const tNew = last ? t1 : t + hs;
    const k7 = field(yNew, tNew);
    ks.push(k7);
    const errVec = axpy(new Float64Array(y.length), hs, E, ks);
    const err = scaledRms(errVec, y, yNew, rtol, atol);
    const factor = err === 0 ? 10 : Math.min(10, Math.max(0.2, 0.9 * err ** -0.2));
    if (err <= 1) {
      y = yNew;
      t = tNew;
      k1 = k7;
      steps++;
      h = Math.abs(hs) * factor;
    } else {
      rejected++;
      h = Math.abs(hs) * Math.min(1, factor);
    }
  }
  return { y, nfe, steps, rejected };
}

/** Hairer, Nørsett & Wanner's starting step (scipy's `select_initial_step`): one evaluation. */
function initialStep(
  f: VectorField,
  y: Float64Array,
  t: number,
  f0: Float64Array,
  dir: number,
  span: number,
  rtol: number,
  atol: number,
): number {
  const zero = new Float64Array(y.length);
  const d0 = scaledRms(y, y, zero, rtol, atol);
  const d1 = scaledRms(f0, y, zero, rtol, atol);
  const h0 = Math.min(span, d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1);
  const f1 = f(axpy(y, dir * h0, [1], [f0]), t + dir * h0);
  const diff = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) diff[i] = f1[i] - f0[i];
  const d2 = scaledRms(diff, y, zero, rtol, atol) / h0;
  const h1 =
    d1 <= 1e-15 && d2 <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** 0.2;
  return Math.min(100 * h0, h1, span);
}

/** Settings of a probability-flow ODE solve. */
export interface ProbabilityFlowConfig {
  /** End time ε in (0, 1): the ODE runs from t = 1 to t = tMin. */
  tMin: number;
  /** Noise schedule the score was trained with. */
  schedule: ScheduleConfig;
}

/**
 * Map prior points x_1 to x_tMin along the probability-flow ODE with a fixed-step method on
 * `timeGrid(steps, tMin)`.
 * @param x1 n×2 row-major points at t = 1 (not modified)
 * @returns x at tMin (n×2) and NFE = steps · evalsPerStep
 */
export function probabilityFlowSample(
  score: ScoreFn,
  x1: Float64Array,
  method: FixedStepMethod,
  steps: number,
  cfg: ProbabilityFlowConfig,
): { x: Float64Array; nfe: number } {
  const f = probabilityFlowField(score, cfg.schedule);
  const { y, nfe } = integrateFixed(method, f, x1, timeGrid(steps, cfg.tMin));
  return { x: y, nfe };
}

/**
 * Map prior points x_1 to x_tMin along the probability-flow ODE with adaptive RK45.
 * @param x1 n×2 row-major points at t = 1 (not modified)
 * @returns x at tMin (n×2), the NFE used, accepted and rejected steps
 */
export function probabilityFlowSampleRK45(
  score: ScoreFn,
  x1: Float64Array,
  cfg: ProbabilityFlowConfig & Rk45Options,
): Rk45Result & { x: Float64Array } {
  const f = probabilityFlowField(score, cfg.schedule);
  const r = integrateRK45(f, x1, 1, cfg.tMin, cfg);
  return { ...r, x: r.y };
}
