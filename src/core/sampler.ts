/**
 * Sampling by the reverse-time SDE of part 2e,
 *
 *   dx = [−½β(t)x − β(t) s(x, t)] dt + √β(t) dW̃,   integrated backwards from t = 1 to t = tMin,
 *
 * with Euler–Maruyama (the sheet's hint): for i = N, …, 1
 *
 *   x_{i−1} = x_i + (½β(t_i) x_i + β(t_i) s(x_i, t_i)) Δt + √(β(t_i) Δt) z,   z ~ N(0, I),
 *  on the grid t_i = tMin + iΔt, Δt = (1 − tMin)/N, so t_N = 1 and t_0 = tMin. (The sheet writes
 * t_i = iΔt, which would end at 1 − tMin instead of 1; see the notebook.) x_N ~ N(0, I), and the
 * last step returns its noise-free mean, as score-SDE implementations do.

 */
import { Rng } from "./random";
import { rejectUnknownKeys } from "./config-keys";
import {
  ScheduleConfig,
  alpha,
  beta,
  defaultSchedule,
  reverseDrift,
  sigma,
  validateSchedule,
} from "./sde";

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
 *   xMean = x + (½β(t) x + β(t) s(x, t)) dt,   x' = xMean + √(β(t) dt) z,
 * z ~ N(0, I); z = 0 if !noise.
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
  const s = score(x, t, x.length / 2);
  if (s.length !== x.length) {
    throw new RangeError(
      `Expected the score to return ${x.length} numbers (n×2), but got ${s.length}`,
    );
  }
  const drift = reverseDrift(x, s, t, schedule); // −½βx − βs
  const xMean = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) xMean[k] = x[k] - drift[k] * dt; // backwards in time
  if (!noise) return { x: xMean, xMean };
  const g = Math.sqrt(beta(t, schedule) * dt); // g(t)·√dt
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
 * Draw samples by Euler–Maruyama integration of the reverse SDE from t = 1 (x ~ N(0, I)) to t =
 * tMin, grid t_i = tMin + iΔt, Δt = (1 − tMin)/steps, i = steps, …, 1; the last step returns the
 * noise-free mean. Seeded by cfg.seed: the same config gives the same samples.
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
    // last: noise-free mean
    x = eulerMaruyamaStep(x, gridTime(i), dt, score, schedule, rng, !last).x;
    record(i - 1, x);
    const done = N - i + 1;
    if (opts.onProgress && (done % every === 0 || last))
      opts.onProgress({ step: done, steps: N, t: gridTime(i - 1) });
    if (!last) yield;
  }
  return { x, trajectory };
}
