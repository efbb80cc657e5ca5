/**
 * The variance-preserving SDE of part 2b with a linear noise schedule.
 *
 *   forward SDE   dx = −½ β(t) x dt + √β(t) dW,   t ∈ [0, 1]
 *   schedule      β(t) = β_min + t (β_max − β_min)
 *   marginal      x_t = α(t) x0 + σ(t) ε,  α(t) = exp(−½ ∫₀ᵗ β),  σ²(t) = 1 − α²(t)
 *
 * The sheet prints the drift as +½βx; that is a sign slip (with +½βx the mean would
 * grow like exp(+½∫β) and the marginal above would be wrong). This module uses −½βx.
 */
import { rejectUnknownKeys } from "./config-keys";

/** Linear schedule β(t) = betaMin + t (betaMax − betaMin) on t ∈ [0, 1]. */
export interface ScheduleConfig {
  /** β(0): noise rate at the data end. Must be ≥ 0. */
  betaMin: number;
  /** β(1): noise rate at the prior end. Must be ≥ betaMin. */
  betaMax: number;
}

/** The usual VP-SDE values (Song et al. 2021), which the sheet assumes. */
export function defaultSchedule(): ScheduleConfig {
  return {
    betaMin: 0.1, // small: x_t stays close to x0 for small t, so the model learns fine detail
    betaMax: 20, // large: ∫₀¹β ≈ 10, so α(1) ≈ 0.0066 and x_1 is practically N(0, I)
  };
}

const scheduleKeys = ["betaMin", "betaMax"];

// Where a schedule enters (`train`, the sampler, `setup`, the figures) it is checked once; β, α, σ
// below check only t and trust the schedule.

/** Throws if a schedule is not finite with 0 ≤ betaMin ≤ betaMax; returns it otherwise. */
export function validateSchedule(s: ScheduleConfig): ScheduleConfig {
  if (s === null || typeof s !== "object") {
    throw new TypeError(`Expected a schedule {betaMin, betaMax}, but got ${String(s)}`);
  }
  rejectUnknownKeys(s, scheduleKeys, "schedule");
  const { betaMin, betaMax } = s;
  if (typeof betaMin !== "number" || !Number.isFinite(betaMin) || betaMin < 0) {
    throw new RangeError(`Expected betaMin to be a finite number >= 0, but got betaMin=${betaMin}`);
  }
  if (typeof betaMax !== "number" || !Number.isFinite(betaMax)) {
    throw new RangeError(`Expected betaMax to be a finite number, but got betaMax=${betaMax}`);
  }
  if (betaMax < betaMin) {
    throw new RangeError(
      `Expected betaMax >= betaMin, but got betaMax=${betaMax}, betaMin=${betaMin}`,
    );
  }
  return s;
}

function checkTime(t: number): void {
  if (typeof t !== "number" || !(t >= 0 && t <= 1)) {
    throw new RangeError(`Expected t to be a number in [0, 1], but got t=${t}`);
  }
}

/** β(t) = betaMin + t (betaMax − betaMin), for t ∈ [0, 1]. */
export function beta(t: number, s: ScheduleConfig = defaultSchedule()): number {
  checkTime(t);
  return s.betaMin + t * (s.betaMax - s.betaMin);
}

// The closed forms, unchecked: the exported functions validate, then share these.
const integralOf = (t: number, s: ScheduleConfig): number =>
  (s.betaMin + 0.5 * (s.betaMax - s.betaMin) * t) * t;
const alphaOf = (integral: number): number => Math.exp(-0.5 * integral);
const sigmaOf = (integral: number): number => Math.sqrt(-Math.expm1(-integral));

/** ∫₀ᵗ β(u) du = betaMin t + ½ (betaMax − betaMin) t², in closed form; t ∈ [0, 1]. */
export function betaIntegral(t: number, s: ScheduleConfig = defaultSchedule()): number {
  checkTime(t);
  return integralOf(t, s);
}

/** Signal scale α(t) = exp(−½ ∫₀ᵗ β), in (0, 1]; α(0) = 1. */
export function alpha(t: number, s: ScheduleConfig = defaultSchedule()): number {
  return alphaOf(betaIntegral(t, s));
}

/**
 * Noise scale σ(t) = √(1 − α²(t)), in [0, 1); σ(0) = 0.
 * 1 − α² = −expm1(−∫β) keeps full relative precision for small t, where 1 − α² would cancel.
 */
export function sigma(t: number, s: ScheduleConfig = defaultSchedule()): number {
  return sigmaOf(betaIntegral(t, s));
}

/**
 * The time where α² = σ² = ½ (SNR = 1): ∫₀ᵗβ = ln 2, solved in closed form; Infinity if never
 * reached by t = 1.
 */
export function snrCrossingTime(s: ScheduleConfig): number {
  validateSchedule(s);
  const a = 0.5 * (s.betaMax - s.betaMin),
    b = s.betaMin,
    c = -Math.LN2; // a t² + b t + c = 0
  const t = a > 0 ? (-b + Math.sqrt(b * b - 4 * a * c)) / (2 * a) : b > 0 ? -c / b : Infinity;
  return t <= 1 ? t : Infinity;
}

/**
 * α(t_i) and σ(t_i) for many times at once, the same numbers as `alpha` and `sigma` (the integral
 * computed once per time): what a training step needs for its batch. Called once per step, so it
 * checks nothing; `train` validated the schedule and draws t in [tMin, 1].
 * @param t times in [0, 1], length n
 * @param alphaOut receives α(t_i), length ≥ n (a Float32Array rounds each value to float32)
 * @param sigmaOut receives σ(t_i), length ≥ n
 */
export function alphaSigma(
  t: ArrayLike<number>,
  s: ScheduleConfig,
  alphaOut: Float32Array | Float64Array,
  sigmaOut: Float32Array | Float64Array,
): void {
  for (let i = 0; i < t.length; i++) {
    const integral = integralOf(t[i], s);
    alphaOut[i] = alphaOf(integral);
    sigmaOut[i] = sigmaOf(integral);
  }
}

/**
 * A draw from the closed-form marginal: x_t = α(t) x0 + σ(t) ε, elementwise.
 * @param x0 clean data, any shape flattened (e.g. n×2 row-major)
 * @param eps standard normal noise of the same length as x0
 * @returns x_t, a new array of the same length and element type as x0
 */
export function marginalSample<T extends Float64Array | Float32Array>(
  x0: T,
  t: number,
  eps: Float64Array | Float32Array,
  s: ScheduleConfig = defaultSchedule(),
): T {
  if (eps.length !== x0.length) {
    throw new RangeError(
      `Expected eps to have the length of x0 (${x0.length}), but got eps.length=${eps.length}`,
    );
  }
  const a = alpha(t, s);
  const sg = sigma(t, s);
  const xt = (
    x0 instanceof Float32Array ? new Float32Array(x0.length) : new Float64Array(x0.length)
  ) as T;
  for (let i = 0; i < x0.length; i++) xt[i] = a * x0[i] + sg * eps[i];
  return xt;
}

/**
 * Drift of the forward SDE, f(x, t) = −½ β(t) x, elementwise (the sheet's +½βx is a sign slip).
 * @returns a new Float64Array of the same length as x
 */
export function forwardDrift(
  x: Float64Array | Float32Array,
  t: number,
  s: ScheduleConfig = defaultSchedule(),
): Float64Array {
  const c = -0.5 * beta(t, s);
  const f = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) f[i] = c * x[i];
  return f;
}

/**
 * Drift of the reverse-time SDE (Anderson 1982), f(x, t) − g(t)² s(x, t) = −½β(t) x − β(t) s,
 * elementwise; time runs backwards, so a step from t to t − dt adds −(this)·dt.
 * @param score s(x, t) at the same points, same length as x
 * @returns a new Float64Array of the same length as x
 */
export function reverseDrift(
  x: Float64Array | Float32Array,
  score: ArrayLike<number>,
  t: number,
  s: ScheduleConfig = defaultSchedule(),
): Float64Array {
  const b = beta(t, s);
  const c = -0.5 * b;
  const d = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) d[i] = c * x[i] - b * score[i];
  return d;
}

/** Diffusion coefficient of the forward (and reverse) SDE, g(t) = √β(t). */
export function diffusion(t: number, s: ScheduleConfig = defaultSchedule()): number {
  return Math.sqrt(beta(t, s));
}
