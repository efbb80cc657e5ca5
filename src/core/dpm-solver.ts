/**
 * DPM-Solver (Lu et al. 2022) and DPM-Solver++(2M) (Lu et al. 2022b): exponential integrators of
 * the probability-flow ODE in the half log-SNR λ(t) = log(α(t)/σ(t)), which solve the linear
 * part exactly and approximate only the network's part. With the noise prediction
 * ε̂(x, t) = −σ(t) s(x, t) and h = λ_s − λ_t for a step from t down to s:
 *
 *   DPM-Solver-1   x_s = (α_s/α_t) x_t − σ_s (e^h − 1) ε̂(x_t, t)          (= DDIM's update)
 *   DPM-Solver-2   u = (α_m/α_t) x_t − σ_m (e^{h/2} − 1) ε̂(x_t, t),  λ_m = λ_t + h/2,
 *                  x_s = (α_s/α_t) x_t − σ_s (e^h − 1) ε̂(u, m)            (singlestep, r = ½)
 *   ++(2M)         x̂0 = (x + σ² s)/α, D = (1 + 1/(2r)) x̂0_t − 1/(2r) x̂0_prev, r = h_prev/h,
 *                  x_s = (σ_s/σ_t) x_t − α_s (e^{−h} − 1) D                (multistep)
 *   SDE-++(1, 2M)  x_s = (σ_s/σ_t) e^{−h} x_t + α_s (1 − e^{−2h}) D + σ_s √(1 − e^{−2h}) z,
 *                  D = x̂0_t (first order) or the 2M combination above; z ~ N(0, I)
 *
 * The SDE variants (Lu et al. 2022b, SDE-DPM-Solver++; k-diffusion's `sample_dpmpp_2m_sde` with
 * η = 1, "midpoint") integrate the reverse SDE exactly except for the network's part; the first
 * order step given x̂0 is the DDPM posterior q(x_s | x_t, x0 = x̂0).
 *
 * Steps are uniform in λ between λ(1) and λ(tMin) ("logSNR" spacing in Lu et al.).
 */
import { Rng } from "./random";
import { ScoreFn } from "./sampler";
import { ScheduleConfig, alpha, sigma } from "./sde";

/** Half log-SNR λ(t) = log(α(t)/σ(t)), decreasing in t; t in (0, 1]. */
export function lambda(t: number, schedule: ScheduleConfig): number {
  return Math.log(alpha(t, schedule)) - Math.log(sigma(t, schedule));
}

/**
 * Inverse of λ for the linear schedule: with L = log(1 + e^{−2λ}) = ∫₀ᵗβ,
 * t(λ) = 2L / (β_min + √(β_min² + 2(β_max − β_min) L)) (the root of ½Δβ t² + β_min t = L).
 * @returns t in (0, 1] for λ in [λ(1), ∞)
 */
export function timeOfLambda(lam: number, schedule: ScheduleConfig): number {
  const u = -2 * lam; // L = softplus(u), computed without overflow
  const L = Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));
  const { betaMin, betaMax } = schedule;
  const t = (2 * L) / (betaMin + Math.sqrt(betaMin * betaMin + 2 * (betaMax - betaMin) * L));
  return Math.min(1, t);
}

/**
 * Times from 1 down to tMin, uniform in λ: t_k = t(λ(1) + k (λ(tMin) − λ(1))/steps), k = 0 …
 * steps, with the end points exactly 1 and tMin.
 */
export function lambdaGrid(steps: number, tMin: number, schedule: ScheduleConfig): Float64Array {
  const l0 = lambda(1, schedule);
  const l1 = lambda(tMin, schedule);
  const t = new Float64Array(steps + 1);
  for (let k = 0; k <= steps; k++) t[k] = timeOfLambda(l0 + ((l1 - l0) * k) / steps, schedule);
  t[0] = 1;
  t[steps] = tMin;
  return t;
}

/** ε̂ = −σ(t) s(x, t) on n×2 points: the noise prediction of a score. One NFE. */
export function noisePrediction(
  score: ScoreFn,
  x: Float64Array,
  t: number,
  schedule: ScheduleConfig,
): Float64Array {
  const s = score(x, t, x.length / 2);
  if (s.length !== x.length)
    throw new RangeError(
      `Expected the score to return ${x.length} numbers (n×2), but got ${s.length}`,
    );
  const sg = sigma(t, schedule);
  const eps = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) eps[k] = -sg * s[k];
  return eps;
}

/** x̂0 = (x + σ² s)/α = (x − σ ε̂)/α on n×2 points: the data prediction (Tweedie). One NFE. */
export function dataPrediction(
  score: ScoreFn,
  x: Float64Array,
  t: number,
  schedule: ScheduleConfig,
): Float64Array {
  const eps = noisePrediction(score, x, t, schedule);
  const a = alpha(t, schedule);
  const sg = sigma(t, schedule);
  const x0 = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) x0[k] = (x[k] - sg * eps[k]) / a;
  return x0;
}

/** (α_s/α_t) x − σ_s (e^h − 1) ε, h = λ_s − λ_t: the first-order update given ε. */
function firstOrderUpdate(
  x: Float64Array,
  eps: Float64Array,
  t: number,
  s: number,
  schedule: ScheduleConfig,
): Float64Array {
  const h = lambda(s, schedule) - lambda(t, schedule);
  const ratio = alpha(s, schedule) / alpha(t, schedule);
  const c = sigma(s, schedule) * Math.expm1(h);
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = ratio * x[k] - c * eps[k];
  return out;
}

/**
 * One DPM-Solver-1 step from t down to s < t (equal to DDIM with η = 0). One NFE.
 * @param x n×2 row-major state at t (not modified); returns the state at s
 */
export function dpmSolver1Step(
  score: ScoreFn,
  x: Float64Array,
  t: number,
  s: number,
  schedule: ScheduleConfig,
): Float64Array {
  return firstOrderUpdate(x, noisePrediction(score, x, t, schedule), t, s, schedule);
}

/**
 * One singlestep DPM-Solver-2 step from t down to s < t, intermediate time at the midpoint in λ.
 * Two NFE. @param x n×2 row-major state at t (not modified); returns the state at s
 */
export function dpmSolver2Step(
  score: ScoreFn,
  x: Float64Array,
  t: number,
  s: number,
  schedule: ScheduleConfig,
): Float64Array {
  const lt = lambda(t, schedule);
  const m = timeOfLambda(lt + 0.5 * (lambda(s, schedule) - lt), schedule);
  const u = firstOrderUpdate(x, noisePrediction(score, x, t, schedule), t, m, schedule);
  return firstOrderUpdate(x, noisePrediction(score, u, m, schedule), t, s, schedule);
}

/** Which DPM-Solver runs in `dpmSolverSample`. */
export type DpmSolverKind = "dpm1" | "dpm2" | "dpmpp2m";

/**
 * The second-order multistep data estimate of DPM-Solver++(2M), ODE and SDE alike:
 * D = (1 + 1/(2r)) x̂0 − 1/(2r) x̂0_prev with r = h_prev/h (n×2, a new array).
 */
function multistepData(
  x0: Float64Array,
  prev: { x0: Float64Array; h: number },
  h: number,
): Float64Array {
  const c = 1 / (2 * (prev.h / h)); // 1/(2r), r = h_prev/h
  const D = new Float64Array(x0.length);
  for (let i = 0; i < x0.length; i++) D[i] = (1 + c) * x0[i] - c * prev.x0[i];
  return D;
}

/**
 * Map prior points x_1 to x_tMin with DPM-Solver-1, -2 or ++(2M) on `lambdaGrid(steps, tMin)`.
 * DPM-Solver++(2M) takes a first-order first step (no previous x̂0 yet) and, as in the authors'
 * code (`lower_order_final`), a first-order last step when steps < 15, which is more stable at
 * few steps.
 * @param x1 n×2 row-major points at t = 1 (not modified)
 * @returns x at tMin (n×2) and NFE: steps for dpm1 and dpmpp2m, 2·steps for dpm2
 */
export function dpmSolverSample(
  kind: DpmSolverKind,
  score: ScoreFn,
  x1: Float64Array,
  steps: number,
  tMin: number,
  schedule: ScheduleConfig,
): { x: Float64Array; nfe: number } {
  const times = lambdaGrid(steps, tMin, schedule);
  let x = x1;
  if (kind !== "dpmpp2m") {
    const step = kind === "dpm1" ? dpmSolver1Step : dpmSolver2Step;
    for (let k = 0; k < steps; k++) x = step(score, x, times[k], times[k + 1], schedule);
    return { x, nfe: kind === "dpm1" ? steps : 2 * steps };
  }
  let prev: { x0: Float64Array; h: number } | null = null;
  for (let k = 0; k < steps; k++) {
    const t = times[k];
    const s = times[k + 1];
    const x0 = dataPrediction(score, x, t, schedule);
    const h = lambda(s, schedule) - lambda(t, schedule);
    const firstOrder = prev === null || (steps < 15 && k === steps - 1);
    const D = firstOrder ? x0 : multistepData(x0, prev!, h);
    const ratio = sigma(s, schedule) / sigma(t, schedule);
    const coef = alpha(s, schedule) * Math.expm1(-h);
    const next = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) next[i] = ratio * x[i] - coef * D[i];
    prev = { x0, h };
    x = next;
  }
  return { x, nfe: steps };
}

/**
 * One SDE-DPM-Solver++ update from t down to s < t given the data estimate D (n×2):
 * x_s = (σ_s/σ_t) e^{−h} x_t + α_s (1 − e^{−2h}) D + σ_s √(1 − e^{−2h}) z, h = λ_s − λ_t.
 * With D = x̂0 this is a draw from the DDPM posterior q(x_s | x_t, x0 = D).
 * @param z n×2 standard normals, or null for the noise-free mean
 * @returns the state at s, a new array
 */
export function dpmppSdeUpdate(
  x: Float64Array,
  D: Float64Array,
  t: number,
  s: number,
  schedule: ScheduleConfig,
  z: ArrayLike<number> | null,
): Float64Array {
  const h = lambda(s, schedule) - lambda(t, schedule);
  const ss = sigma(s, schedule);
  const cx = (ss / sigma(t, schedule)) * Math.exp(-h);
  const oneMinus = -Math.expm1(-2 * h); // 1 − e^{−2h}
  const cd = alpha(s, schedule) * oneMinus;
  const cz = ss * Math.sqrt(oneMinus);
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = cx * x[k] + cd * D[k] + (z ? cz * z[k] : 0);
  return out;
}

/** Which SDE-DPM-Solver++ runs in `dpmSolverSdeSample`: first order or second-order multistep. */
export type DpmSolverSdeKind = "dpmpp1-sde" | "dpmpp2m-sde";

/**
 * Map prior points x_1 to x_tMin with SDE-DPM-Solver++(1) or (2M) on `lambdaGrid(steps, tMin)`,
 * noise z from Rng(seed) after the prior draw (as `sampleReverseSDE`). As in
 * `dpmSolverSample`, (2M) takes a first-order first step and, when steps < 15, a first-order last
 * step; as the sheet's Euler–Maruyama, the last step returns its noise-free mean.
 * @param x1 n×2 row-major points at t = 1 (not modified)
 * @param rng source of the per-step noise
 * @returns x at tMin (n×2) and NFE = steps
 */
export function dpmSolverSdeSample(
  kind: DpmSolverSdeKind,
  score: ScoreFn,
  x1: Float64Array,
  steps: number,
  tMin: number,
  schedule: ScheduleConfig,
  rng: Rng,
): { x: Float64Array; nfe: number } {
  const times = lambdaGrid(steps, tMin, schedule);
  let x = x1;
  let prev: { x0: Float64Array; h: number } | null = null;
  for (let k = 0; k < steps; k++) {
    const t = times[k];
    const s = times[k + 1];
    const x0 = dataPrediction(score, x, t, schedule);
    const h = lambda(s, schedule) - lambda(t, schedule);
    const firstOrder = kind === "dpmpp1-sde" || prev === null || (steps < 15 && k === steps - 1);
    const D = firstOrder ? x0 : multistepData(x0, prev!, h);
    const last = k === steps - 1;
    x = dpmppSdeUpdate(x, D, t, s, schedule, last ? null : rng.normalArray(x.length));
    prev = { x0, h };
  }
  return { x, nfe: steps };
}
