/**
 * Where a learned score is right or wrong: the σ²-weighted score error over noised data,
 *
 *   e(t) = E_{x0, ε} ‖s_θ(x_t, t) − s(x_t, t)‖² σ(t)²,   x_t = α(t) x0 + σ(t) ε,
 *
 * (σ s is the noise prediction −ε̂, so e(t) is the error of ε̂ and is comparable across t; it is
 * the part of the DSM loss, times σ², that training can still remove), and both scores on a grid
 * for a quiver plot.
 */
import { Rng } from "./random";
import { ScoreFn } from "./sampler";
import { ScheduleConfig, alpha, sigma, validateSchedule } from "./sde";

/** Settings of `scoreError`. */
export interface ScoreErrorConfig {
  /** Seed of the noise ε, an integer in [0, 2^32). */
  seed: number;
  /** Noise schedule of the forward process. */
  schedule: ScheduleConfig;
}

/** Monte Carlo estimate of e(t) over the given data. */
export interface ScoreErrorEstimate {
  /** Diffusion time. */
  t: number;
  /** Mean of σ²‖s_θ − s‖² over the points. */
  mean: number;
  /** Standard error of `mean` (sample standard deviation / √n). */
  standardError: number;
  /** σ²‖s_θ − s‖² per point, length n. */
  perPoint: Float64Array;
}

function checkPoints(x: ArrayLike<number>, name: string): number {
  if (x == null || !(x.length > 0) || x.length % 2 !== 0)
    throw new RangeError(
      `Expected ${name} to be n×2 row-major (even length > 0), but got ${name}.length=${x?.length}`,
    );
  return x.length / 2;
}

/**
 * e(t) = mean over points of σ(t)²‖s_θ(x_t, t) − s(x_t, t)‖², x_t = α x0 + σ ε with ε from
 * Rng(seed) (the same ε for every t: common random numbers make times comparable).
 * @param model the score under test s_θ
 * @param reference the exact (or near-exact) score s
 * @param x0 n×2 row-major data points
 * @param t time in (0, 1]
 */
export function scoreError(
  model: ScoreFn,
  reference: ScoreFn,
  x0: Float64Array,
  t: number,
  cfg: ScoreErrorConfig,
): ScoreErrorEstimate {
  const n = checkPoints(x0, "x0");
  if (typeof t !== "number" || !(t > 0 && t <= 1))
    throw new RangeError(`Expected t to be in (0, 1], but got t=${t}`);
  validateSchedule(cfg.schedule);
  const eps = new Rng(cfg.seed).normalArray(2 * n);
  const a = alpha(t, cfg.schedule);
  const sg = sigma(t, cfg.schedule);
  const xt = new Float64Array(2 * n);
  for (let k = 0; k < 2 * n; k++) xt[k] = a * x0[k] + sg * eps[k];
  const sm = model(xt, t, n);
  const sr = reference(xt, t, n);
  const perPoint = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const dx = sm[2 * i] - sr[2 * i];
    const dy = sm[2 * i + 1] - sr[2 * i + 1];
    perPoint[i] = sg * sg * (dx * dx + dy * dy);
    sum += perPoint[i];
  }
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (perPoint[i] - mean) ** 2;
  const standardError = n > 1 ? Math.sqrt(ss / (n - 1) / n) : NaN;
  return { t, mean, standardError, perPoint };
}

/** `scoreError` at each of `times` (same data, same ε). */
export function scoreErrorByTime(
  model: ScoreFn,
  reference: ScoreFn,
  x0: Float64Array,
  times: number[],
  cfg: ScoreErrorConfig,
): ScoreErrorEstimate[] {
  return times.map((t) => scoreError(model, reference, x0, t, cfg));
}

/** A rectangular grid of points: nx × ny, x in [xMin, xMax], y in [yMin, yMax]. */
export interface GridSpec {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  /** Points along x (integer ≥ 2). */
  nx: number;
  /** Points along y (integer ≥ 2). */
  ny: number;
}

/** A grid around the two moons (x ∈ [−1.5, 2.5], y ∈ [−1, 1.5]), 21 × 14 points. */
export function defaultGrid(): GridSpec {
  return { xMin: -1.5, xMax: 2.5, yMin: -1, yMax: 1.5, nx: 21, ny: 14 };
}

/**
 * Both scores at time t on a grid, for a quiver plot.
 * @returns points (nx·ny × 2 row-major, x fastest), and the two scores there (same shape)
 */
export function scoreGrid(
  model: ScoreFn,
  reference: ScoreFn,
  t: number,
  grid: GridSpec = defaultGrid(),
): { points: Float64Array; model: Float64Array; reference: Float64Array } {
  const { xMin, xMax, yMin, yMax, nx, ny } = grid;
  for (const [k, v] of [
    ["nx", nx],
    ["ny", ny],
  ] as const)
    if (!Number.isInteger(v) || v < 2)
      throw new RangeError(`Expected ${k} to be an integer >= 2, but got ${k}=${v}`);
  if (!(xMax > xMin) || !(yMax > yMin))
    throw new RangeError(
      `Expected xMin < xMax and yMin < yMax, but got x in [${xMin}, ${xMax}], ` +
        `y in [${yMin}, ${yMax}]`,
    );
  const points = new Float64Array(2 * nx * ny);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      const p = j * nx + i;
      points[2 * p] = xMin + ((xMax - xMin) * i) / (nx - 1);
      points[2 * p + 1] = yMin + ((yMax - yMin) * j) / (ny - 1);
    }
  const n = nx * ny;
  return {
    points,
    model: Float64Array.from(model(points, t, n)),
    reference: Float64Array.from(reference(points, t, n)),
  };
}
