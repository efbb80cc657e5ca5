/**
 * Sampling by the reverse-time SDE of part 2e,
 *
 *   dx = [−½β(t)x − β(t) s(x, t)] dt + √β(t) dW̃,   integrated backwards from t = 1 to t = tMin,
 *
 * with Euler–Maruyama (the sheet's hint): for i = N, …, 1
 *
 *   x_{i−1} = x_i + (½β(t_i) x_i + β(t_i) s(x_i, t_i)) Δt + √(β(t_i) Δt) z,   z ~ N(0, I),
 *
 * on the grid t_i = tMin + iΔt, Δt = (1 − tMin)/N, so t_N = 1 and t_0 = tMin. (The sheet writes
 * t_i = iΔt, which would end at 1 − tMin instead of 1; see the notebook.) x_N ~ N(0, I), and the last
 * step returns its noise-free mean, as score-SDE implementations do.
 *
 * Also exact scores of noised Gaussians and Gaussian mixtures, so the sampler can be checked
 * (and shown in the notebooks) without a trained model.
 */
import { Rng } from "./random";
import { rejectUnknownKeys } from "./config-keys";
import { ScheduleConfig, alpha, beta, defaultSchedule, sigma, validateSchedule } from "./schedule";

/**
 * A score function s(x, t) ≈ ∇_x log p_t(x) on n points in 2-D.
 * @param x n×2 row-major positions
 * @param t diffusion time in [0, 1], the same for all points
 * @param n number of points (x.length = 2n); optional, default x.length / 2
 * @returns n×2 row-major scores (a new array)
 */
export type ScoreFn = (
  x: Float32Array | Float64Array,
  t: number,
  n?: number,
) => Float32Array | Float64Array;

/**
 * Check one call of a score function s(x, t, n) (O(1): nothing per point), for the factories
 * that make `ScoreFn`s; returns n, which defaults to x.length / 2.
 * @param x n×2 row-major points
 * @param t diffusion time, a number in [0, 1]
 * @param n number of points (positive integer, x.length = 2n); default x.length / 2
 */
export function scoreCallRows(x: ArrayLike<number>, t: number, n?: number): number {
  if (typeof t !== "number" || !(t >= 0 && t <= 1))
    throw new RangeError(`Expected t to be a number in [0, 1] (diffusion time), but got t=${t}`);
  if (x == null || typeof x.length !== "number")
    throw new TypeError(
      `Expected x to be an n×2 row-major Float32Array or Float64Array, but got ${x}`,
    );
  if (n === undefined) {
    if (x.length === 0 || x.length % 2 !== 0)
      throw new RangeError(
        `Expected x to be n×2 row-major (even length > 0), but got x.length=${x.length}`,
      );
    return x.length / 2;
  }
  if (!Number.isInteger(n) || n <= 0)
    throw new RangeError(`Expected n to be a positive integer (number of points), but got n=${n}`);
  if (x.length !== 2 * n)
    throw new RangeError(
      `Expected x to hold n×2 = ${2 * n} numbers (n×2 row-major), but got x.length=${x.length}`,
    );
  return n;
}

/** Settings of the reverse-SDE sampler. */
export interface SamplerConfig {
  /** Number of Euler–Maruyama steps N (positive integer). */
  steps: number;
  /** Final time ε of the integration, in (0, 1); matches the smallest training time. */
  tMin: number;
  /** Number of samples drawn (positive integer). */
  nSamples: number;
  /** Seed of the Rng for the prior draw and the per-step noise. */
  seed: number;
  /** Noise schedule; must be the one the score was trained with. */
  schedule: ScheduleConfig;
}

/** The sheet's sampler settings. */
export function defaultSamplerConfig(): SamplerConfig {
  return {
    steps: 1000, // the sheet's 1000 discretisation steps
    tMin: 1e-3, // the sheet's ε, the smallest time seen in training
    nSamples: 2000, // enough points to see the two moons clearly in a scatter plot
    seed: 0,
    schedule: defaultSchedule(),
  };
}

/** Throws an error naming the bad value unless cfg is a valid SamplerConfig; returns cfg. */
export function validateSamplerConfig(cfg: SamplerConfig): SamplerConfig {
  if (cfg === null || typeof cfg !== "object")
    throw new TypeError(`Expected a SamplerConfig object, but got ${String(cfg)}`);
  rejectUnknownKeys(cfg, Object.keys(defaultSamplerConfig()), "SamplerConfig");
  if (!Number.isInteger(cfg.steps) || cfg.steps <= 0) {
    throw new RangeError(`Expected steps to be a positive integer, but got steps=${cfg.steps}`);
  }
  if (typeof cfg.tMin !== "number" || !(cfg.tMin > 0 && cfg.tMin < 1)) {
    throw new RangeError(`Expected tMin to be in (0, 1), but got tMin=${cfg.tMin}`);
  }
  if (!Number.isInteger(cfg.nSamples) || cfg.nSamples <= 0) {
    throw new RangeError(
      `Expected nSamples to be a positive integer, but got nSamples=${cfg.nSamples}`,
    );
  }
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > 0xffffffff) {
    throw new RangeError(`Expected seed to be an integer in [0, 2^32), but got seed=${cfg.seed}`);
  }
  validateSchedule(cfg.schedule);
  return cfg;
}

/**
 * One Euler–Maruyama step of the reverse SDE, from time t down to t − dt:
 *   xMean = x + (½β(t) x + β(t) s(x, t)) dt,   x' = xMean + √(β(t) dt) z  (z ~ N(0, I); z = 0 if !noise).
 * @param x n×2 row-major state at time t (not modified)
 * @param t current time in (0, 1]
 * @param dt positive step size (the sampler goes backwards in time)
 * @param noise false returns x' = xMean and draws nothing from rng
 * @returns new float64 arrays: the next state x and its noise-free mean xMean
 */
export function eulerMaruyamaStep(
  x: Float64Array,
  t: number,
  dt: number,
  score: ScoreFn,
  schedule: ScheduleConfig,
  rng: Rng,
  noise: boolean,
): { x: Float64Array; xMean: Float64Array } {
  if (!(dt > 0) || !Number.isFinite(dt))
    throw new RangeError(`Expected dt to be a positive finite number, but got dt=${dt}`);
  const n = x.length / 2;
  const b = beta(t, schedule);
  const s = score(x, t, n);
  if (s.length !== x.length) {
    throw new RangeError(
      `Expected the score to return ${x.length} numbers (n×2), but got ${s.length}`,
    );
  }
  const xMean = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) xMean[k] = x[k] + (0.5 * b * x[k] + b * s[k]) * dt;
  if (!noise) return { x: xMean, xMean };
  const g = Math.sqrt(b * dt);
  const xNext = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) xNext[k] = xMean[k] + g * rng.normal();
  return { x: xNext, xMean };
}

/** Progress report of `sampleReverseSDE`: `step` of `steps` steps done, now at time t. */
export interface SamplerProgress {
  step: number;
  steps: number;
  t: number;
}

/** Options of `sampleReverseSDE`. */
export interface SampleOptions {
  /**
   * Times in [0, 1] at which to record the state; each is snapped to the nearest grid time in
   * [tMin, 1] (t = 1: the prior draw; t ≤ tMin: the final samples). Recorded in the order given.
   */
  saveAt?: number[];
  /** Called every `progressEvery` steps and after the last step. */
  onProgress?: (p: SamplerProgress) => void;
  /** Steps between progress calls (default: steps/100, at least 1). */
  progressEvery?: number;
}

/** Result of `sampleReverseSDE`. */
export interface SampleResult {
  /** Final samples at t = tMin (noise-free mean of the last step), nSamples×2 row-major. */
  x: Float64Array;
  /** Snapshots for `saveAt`, in the order requested; t is the grid time actually used. */
  trajectory: { t: number; x: Float64Array }[];
}

/**
 * Draw samples by Euler–Maruyama integration of the reverse SDE from t = 1 (x ~ N(0, I)) to t = tMin,
 * grid t_i = tMin + iΔt, Δt = (1 − tMin)/steps, i = steps, …, 1; the last step returns the noise-free mean.
 * Seeded by cfg.seed: the same config gives the same samples.
 */
export function sampleReverseSDE(
  score: ScoreFn,
  cfg: SamplerConfig = defaultSamplerConfig(),
  opts: SampleOptions = {},
): SampleResult {
  const run = reverseSDESteps(score, cfg, opts);
  let r = run.next();
  while (!r.done) r = run.next();
  return r.value;
}

/**
 * `sampleReverseSDE` that yields to the event loop every `yieldEvery` steps (default 10), so a
 * notebook's display updates and Kernel → Interrupt get through, and stops when `signal` aborts.
 * Same samples as `sampleReverseSDE`.
 * @returns the samples, or `null` if aborted
 */
export async function sampleReverseSDEAsync(
  score: ScoreFn,
  cfg: SamplerConfig = defaultSamplerConfig(),
  opts: SampleOptions & { signal?: AbortSignal; yieldEvery?: number } = {},
): Promise<SampleResult | null> {
  const yieldEvery = opts.yieldEvery ?? 10;
  const run = reverseSDESteps(score, cfg, opts);
  let r = run.next();
  for (let k = 1; !r.done; k++) {
    if (k % yieldEvery === 0) await new Promise((resolve) => setImmediate(resolve));
    if (opts.signal?.aborted) return null;
    r = run.next();
  }
  return r.value;
}

/** The sampler's loop, one step per `next()`; its return value is the result. */
function* reverseSDESteps(
  score: ScoreFn,
  cfg: SamplerConfig,
  opts: SampleOptions,
): Generator<void, SampleResult, void> {
  validateSamplerConfig(cfg);
  const { steps: N, tMin, nSamples, schedule } = cfg;
  const dt = (1 - tMin) / N;
  const gridTime = (i: number) => (i === N ? 1 : tMin + i * dt);

  const saveAt = opts.saveAt ?? [];
  const saveIndex = saveAt.map((t) => {
    if (typeof t !== "number" || !(t >= 0 && t <= 1))
      throw new RangeError(`Expected saveAt times in [0, 1], but got ${t}`);
    return Math.min(N, Math.max(0, Math.round((t - tMin) / dt)));
  });
  const trajectory: { t: number; x: Float64Array }[] = saveIndex.map((i) => ({
    t: gridTime(i),
    x: new Float64Array(0),
  }));
  const record = (i: number, x: Float64Array) => {
    for (let k = 0; k < saveIndex.length; k++)
      if (saveIndex[k] === i) trajectory[k].x = Float64Array.from(x);
  };
  const every = opts.progressEvery ?? Math.max(1, Math.floor(N / 100));
  if (!Number.isInteger(every) || every <= 0)
    throw new RangeError(
      `Expected progressEvery to be a positive integer, but got progressEvery=${every}`,
    );

  const rng = new Rng(cfg.seed);
  let x = rng.normalArray(2 * nSamples) as Float64Array; // x_N ~ N(0, I)
  record(N, x);
  for (let i = N; i >= 1; i--) {
    const last = i === 1;
    x = eulerMaruyamaStep(x, gridTime(i), dt, score, schedule, rng, !last).x; // last: noise-free mean
    record(i - 1, x);
    const done = N - i + 1;
    if (opts.onProgress && (done % every === 0 || last))
      opts.onProgress({ step: done, steps: N, t: gridTime(i - 1) });
    if (!last) yield;
  }
  return { x, trajectory };
}

type Vec2 = ArrayLike<number>;
type Mat2 = ArrayLike<ArrayLike<number>>;

/**
 * Exact score of a noised 2-D Gaussian mixture. Data x0 ~ Σ_k w_k N(μ_k, Σ_k), noised by the VP marginal
 * x_t = α(t)x0 + σ(t)ε, has density p_t = Σ_k w_k N(α μ_k, C_k) with C_k = α²Σ_k + σ²I, and
 *   ∇log p_t(x) = −Σ_k r_k(x) C_k⁻¹ (x − α μ_k),   r_k = softmax_k(log w_k + log N(x; αμ_k, C_k))
 * (responsibilities via log-sum-exp, so far-away points do not underflow).
 * @param weights mixture weights w_k > 0 (normalised here)
 * @param means μ_k, each [x, y]
 * @param covs Σ_k, each a symmetric positive semi-definite 2×2 [[a, b], [b, c]] (0 allowed for point masses)
 * @returns ScoreFn valid for t in (0, 1] (and t = 0 if every Σ_k is positive definite)
 */
export function gaussianMixtureScore(
  weights: number[],
  means: Vec2[],
  covs: Mat2[],
  schedule: ScheduleConfig = defaultSchedule(),
): ScoreFn {
  const K = weights.length;
  if (K === 0) throw new RangeError("Expected at least one mixture component, but got weights=[]");
  if (means.length !== K || covs.length !== K) {
    throw new RangeError(
      `Expected as many means and covs as weights (${K}), but got means.length=${means.length}, covs.length=${covs.length}`,
    );
  }
  const wSum = weights.reduce((a, b) => a + b, 0);
  weights.forEach((w, k) => {
    if (!(w > 0) || !Number.isFinite(w))
      throw new RangeError(
        `Expected weights to be positive and finite, but got weights[${k}]=${w}`,
      );
  });
  const logW = weights.map((w) => Math.log(w / wSum));
  for (let k = 0; k < K; k++) {
    const m = means[k],
      S = covs[k];
    if (m.length !== 2 || !Number.isFinite(m[0]) || !Number.isFinite(m[1])) {
      throw new RangeError(
        `Expected means[${k}] to be 2 finite numbers, but got [${Array.from(m).join(", ")}]`,
      );
    }
    const a = S[0]?.[0],
      b = S[0]?.[1],
      b2 = S[1]?.[0],
      c = S[1]?.[1];
    const ok =
      S.length === 2 &&
      [a, b, b2, c].every(Number.isFinite) &&
      Math.abs(b - b2) <= 1e-12 * (Math.abs(a) + Math.abs(c) + 1);
    if (!ok || a < 0 || c < 0 || a * c - b * b < -1e-12 * (a * c + 1)) {
      throw new RangeError(
        `Expected covs[${k}] to be a symmetric positive semi-definite 2×2 matrix, but got ${JSON.stringify(S)}`,
      );
    }
  }
  validateSchedule(schedule);

  return (x, t, nPoints) => {
    const n = scoreCallRows(x, t, nPoints);
    const al = alpha(t, schedule);
    const s2 = sigma(t, schedule) ** 2;
    // Per component: inverse of C_k = α²Σ_k + σ²I, and the constant part of log w_k N(·; αμ_k, C_k).
    const inv: number[][] = [],
      mu: number[][] = [],
      logc: number[] = [];
    for (let k = 0; k < K; k++) {
      const a = al * al * covs[k][0][0] + s2,
        b = al * al * covs[k][0][1],
        c = al * al * covs[k][1][1] + s2;
      const det = a * c - b * b;
      if (!(det > 0))
        throw new RangeError(
          `Noised covariance of component ${k} is singular at t=${t} (det=${det}); use t > 0`,
        );
      inv.push([c / det, -b / det, a / det]);
      mu.push([al * means[k][0], al * means[k][1]]);
      logc.push(logW[k] - 0.5 * Math.log(det));
    }
    const out = new Float64Array(2 * n);
    const logr = new Float64Array(K),
      gx = new Float64Array(K),
      gy = new Float64Array(K);
    for (let p = 0; p < n; p++) {
      let maxL = -Infinity;
      for (let k = 0; k < K; k++) {
        const dx = x[2 * p] - mu[k][0],
          dy = x[2 * p + 1] - mu[k][1];
        const [i00, i01, i11] = inv[k];
        gx[k] = -(i00 * dx + i01 * dy); // −C⁻¹(x − αμ)
        gy[k] = -(i01 * dx + i11 * dy);
        logr[k] = logc[k] + 0.5 * (dx * gx[k] + dy * gy[k]);
        if (logr[k] > maxL) maxL = logr[k];
      }
      let z = 0,
        sx = 0,
        sy = 0;
      for (let k = 0; k < K; k++) {
        const r = Math.exp(logr[k] - maxL);
        z += r;
        sx += r * gx[k];
        sy += r * gy[k];
      }
      out[2 * p] = sx / z;
      out[2 * p + 1] = sy / z;
    }
    return out;
  };
}

/**
 * Exact score of noised Gaussian data x0 ~ N(μ, Σ): p_t = N(αμ, α²Σ + σ²I), ∇log p_t(x) = −(α²Σ + σ²I)⁻¹(x − αμ).
 * (The one-component case of `gaussianMixtureScore`.) Defaults: μ = 0, Σ = I, for which the score is −x at every t.
 */
export function gaussianScore(
  mean: Vec2 = [0, 0],
  cov: Mat2 = [
    [1, 0],
    [0, 1],
  ],
  schedule: ScheduleConfig = defaultSchedule(),
): ScoreFn {
  return gaussianMixtureScore([1], [mean], [cov], schedule);
}
