/**
 * Exact log-likelihood through the probability-flow ODE (Song et al. 2021, appendix D.2; the
 * instantaneous change of variables of Chen et al. 2018): along dx/dt = v(x, t) = −½β(x + s),
 *
 *   d log p_t(x_t)/dt = −∇·v(x_t, t),   so   log p_ε(x) = log p_1(x_1) + ∫_ε^1 ∇·v(x_t, t) dt,
 *
 * with ∇·v = −½β(t)(2 + ∇·s) in 2-D. The state [x, Δ] (Δ the integral so far) is integrated from
 * t = ε to 1 with RK4 or RK45, and log p_1 is the N(0, I) prior (or one given). ∇·s comes from
 * central differences of the score, all 4n shifted points in one call with the n points themselves:
 * one score call on 5n points per field evaluation. The difference step h(t) = (3u)^{1/3} σ(t)
 * (u the unit roundoff of the score's output: 2⁻⁵³, or 2⁻²⁴ for a float32 network) balances
 * truncation h²|∂³s|/6 against rounding u|s|/h, as p_t varies on scales ≥ σ(t). Measured against
 * the exact divergence of a two-component mixture's score (test/likelihood.test.ts), t ∈ [ε, 1]:
 * relative error ≤ 1.3e-10 for a float64 score, ≤ 6e-5 for the same score rounded to float32.
 */
import { makeMoons } from "./moons";
import { integrateFixed, integrateRK45, timeGrid } from "./probability-flow";
import { ScoreFn } from "./sampler";
import { ScheduleConfig, alpha, beta, defaultSchedule, sigma, validateSchedule } from "./sde";

/** Settings of `logLikelihoodPFODE`. */
export interface LikelihoodConfig {
  /** Data-end time ε in (0, 1): the result is log p_ε(x). */
  tMin: number;
  /** Noise schedule the score was trained with. */
  schedule: ScheduleConfig;
  /** Fixed RK4 steps (positive integer); if absent, adaptive RK45 with `rtol`. */
  steps?: number;
  /** RK45 relative tolerance (default 1e-6); atol defaults to rtol. */
  rtol?: number;
  /** RK45 absolute tolerance, > 0. */
  atol?: number;
  /** Difference step h(t) of ∇·s (default (3u)^{1/3} σ(t), u from the score's output type). */
  fdStep?: (t: number) => number;
  /** log p_1 at the end points, n×2 → n (default: N(0, I), `standardNormalLogDensity`). */
  logPrior?: (x1: Float64Array) => Float64Array;
}

/** Result of `logLikelihoodPFODE`; arrays have one entry per point. */
export interface LikelihoodResult {
  /** log p_ε(x) in nats. */
  logp: Float64Array;
  /** log p_1(x_1) of the end points under the prior. */
  logPrior: Float64Array;
  /** ∫_ε^1 ∇·v dt: the change-of-variables correction, logp − logPrior. */
  deltaLogp: Float64Array;
  /** End points x_1, n×2 row-major. */
  x1: Float64Array;
  /** Score calls (each on 5n points). */
  nfe: number;
}

/** log N(x; 0, I) per point of n×2 row-major x: −|x|²/2 − log 2π. */
export function standardNormalLogDensity(x: Float64Array): Float64Array {
  const n = x.length / 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = -0.5 * (x[2 * i] ** 2 + x[2 * i + 1] ** 2) - Math.log(2 * Math.PI);
  return out;
}

/** Bits per dimension of log-likelihoods in nats: −log p / (D ln 2), D = 2 by default. */
export function bitsPerDim(logp: ArrayLike<number>, dims = 2): Float64Array {
  return Float64Array.from(logp, (l) => -l / (dims * Math.LN2));
}

/** Default difference step of ∇·s: (3u)^{1/3} σ(t), u = 2⁻⁵³ or 2⁻²⁴ (float32 scores). */
export function defaultFdStep(schedule: ScheduleConfig, float32: boolean): (t: number) => number {
  const u = float32 ? 2 ** -24 : 2 ** -53;
  const c = Math.cbrt(3 * u);
  return (t) => c * Math.max(sigma(t, schedule), 1e-8);
}

/**
 * The score at x and its divergence ∇·s by central differences with step h, in one score call on
 * the 5n points [x, x + h e₁, x − h e₁, x + h e₂, x − h e₂].
 * @param x n×2 row-major points
 * @returns s (n×2) and ∇·s (n)
 */
export function scoreAndDivergence(
  score: ScoreFn,
  x: Float64Array,
  t: number,
  h: number,
): { s: Float64Array; div: Float64Array; float32: boolean } {
  const n = x.length / 2;
  const X = new Float64Array(10 * n);
  X.set(x, 0);
  for (let k = 1; k <= 4; k++) X.set(x, 2 * n * k);
  for (let i = 0; i < n; i++) {
    X[2 * n + 2 * i] += h;
    X[4 * n + 2 * i] -= h;
    X[6 * n + 2 * i + 1] += h;
    X[8 * n + 2 * i + 1] -= h;
  }
  const S = score(X, t, 5 * n);
  if (S.length !== X.length)
    throw new RangeError(
      `Expected the score to return ${X.length} numbers (n×2), but got ${S.length}`,
    );
  const div = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dxx = S[2 * n + 2 * i] - S[4 * n + 2 * i];
    const dyy = S[6 * n + 2 * i + 1] - S[8 * n + 2 * i + 1];
    div[i] = (dxx + dyy) / (2 * h);
  }
  return { s: Float64Array.from(S.subarray(0, 2 * n)), div, float32: S instanceof Float32Array };
}

/**
 * log p_ε(x) by the probability-flow ODE from t = ε to 1 (see the module comment).
 * @param x n×2 row-major data points (not modified)
 * @returns nats per point and the parts they are made of
 */
export function logLikelihoodPFODE(
  score: ScoreFn,
  x: Float64Array,
  cfg: LikelihoodConfig,
): LikelihoodResult {
  const { tMin, schedule, steps } = cfg;
  if (!(x.length > 0 && x.length % 2 === 0))
    throw new RangeError(
      `Expected x to be n×2 row-major (even length > 0), but got x.length=${x.length}`,
    );
  if (typeof tMin !== "number" || !(tMin > 0 && tMin < 1))
    throw new RangeError(`Expected tMin to be in (0, 1), but got tMin=${tMin}`);
  if (steps !== undefined && (!Number.isInteger(steps) || steps <= 0))
    throw new RangeError(`Expected steps to be a positive integer, but got steps=${steps}`);
  validateSchedule(schedule);
  const n = x.length / 2;
  const probe = score(x.subarray(0, 2), tMin, 1);
  const h = cfg.fdStep ?? defaultFdStep(schedule, probe instanceof Float32Array);
  const field = (y: Float64Array, t: number) => {
    const { s, div } = scoreAndDivergence(score, y.subarray(0, 2 * n), t, h(t));
    const c = -0.5 * beta(t, schedule);
    const dy = new Float64Array(3 * n);
    for (let k = 0; k < 2 * n; k++) dy[k] = c * (y[k] + s[k]); // v = −½β(x + s)
    for (let i = 0; i < n; i++) dy[2 * n + i] = c * (2 + div[i]); // ∇·v = −½β(2 + ∇·s)
    return dy;
  };
  const y0 = new Float64Array(3 * n);
  y0.set(x);
  let y: Float64Array;
  let nfe: number;
  if (steps !== undefined) {
    const times = Float64Array.from(timeGrid(steps, tMin)).reverse(); // tMin → 1
    ({ y, nfe } = integrateFixed("rk4", field, y0, times));
  } else {
    const rtol = cfg.rtol ?? 1e-6;
    ({ y, nfe } = integrateRK45(field, y0, tMin, 1, { rtol, atol: cfg.atol ?? rtol }));
  }
  const x1 = y.slice(0, 2 * n);
  const deltaLogp = y.slice(2 * n);
  const logPrior = (cfg.logPrior ?? standardNormalLogDensity)(x1);
  const logp = new Float64Array(n);
  for (let i = 0; i < n; i++) logp[i] = logPrior[i] + deltaLogp[i];
  return { logp, logPrior, deltaLogp, x1, nfe };
}

/**
 * Closed-form log-density of a noised 2-D Gaussian mixture, the density whose score
 * `gaussianMixtureScore` is: p_t = Σ_k w_k N(α μ_k, α²Σ_k + σ²I) (weights normalised here).
 * @param x n×2 row-major points
 * @param t time in [0, 1] (t = 0 needs positive-definite Σ_k)
 * @returns log p_t per point (nats), by log-sum-exp
 */
export function gaussianMixtureLogDensity(
  x: Float64Array,
  t: number,
  weights: number[],
  means: ArrayLike<number>[],
  covs: ArrayLike<ArrayLike<number>>[],
  schedule: ScheduleConfig = defaultSchedule(),
): Float64Array {
  const K = weights.length;
  if (K === 0 || means.length !== K || covs.length !== K)
    throw new RangeError(
      `Expected as many means and covs as weights (${K} > 0), but got means.length=` +
        `${means.length}, covs.length=${covs.length}`,
    );
  const wSum = weights.reduce((a, b) => a + b, 0);
  const a = alpha(t, schedule);
  const s2 = sigma(t, schedule) ** 2;
  const comp = covs.map((S, k) => {
    const c00 = a * a * S[0][0] + s2;
    const c01 = a * a * S[0][1];
    const c11 = a * a * S[1][1] + s2;
    const det = c00 * c11 - c01 * c01;
    if (!(det > 0))
      throw new RangeError(
        `Noised covariance of component ${k} is singular at t=${t} (det=${det})`,
      );
    return {
      m0: a * means[k][0],
      m1: a * means[k][1],
      i00: c11 / det,
      i01: -c01 / det,
      i11: c00 / det,
      logc: Math.log(weights[k] / wSum) - Math.log(2 * Math.PI) - 0.5 * Math.log(det),
    };
  });
  const n = x.length / 2;
  const out = new Float64Array(n);
  const l = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      const c = comp[k];
      const dx = x[2 * i] - c.m0;
      const dy = x[2 * i + 1] - c.m1;
      l[k] = c.logc - 0.5 * (c.i00 * dx * dx + 2 * c.i01 * dx * dy + c.i11 * dy * dy);
      if (l[k] > max) max = l[k];
    }
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(l[k] - max);
    out[i] = max + Math.log(z);
  }
  return out;
}

/**
 * Closed-form log-density of the mixture behind `moonsReferenceScore(noise, schedule,
 * pointsPerMoon)` (the same components: N(c_k, noise²I) at `pointsPerMoon` evenly spaced points of
 * each noise-free moon, equal weights), noised to time t.
 * @returns (x, t) → log p_t per point of n×2 row-major x (nats)
 */
export function moonsReferenceLogDensity(
  noise: number,
  schedule: ScheduleConfig = defaultSchedule(),
  pointsPerMoon = 100,
): (x: Float64Array, t: number) => Float64Array {
  if (!(noise > 0) || !Number.isFinite(noise))
    throw new RangeError(`Expected noise > 0, but got noise=${noise}`);
  const K = 2 * pointsPerMoon;
  const curve = makeMoons(K, { noise: 0, shuffle: false }).x;
  const means = Array.from({ length: K }, (_, k) => [curve[2 * k], curve[2 * k + 1]]);
  const cov = [
    [noise * noise, 0],
    [0, noise * noise],
  ];
  const weights = new Array<number>(K).fill(1);
  const covs = new Array(K).fill(cov);
  return (x, t) => gaussianMixtureLogDensity(x, t, weights, means, covs, schedule);
}

/**
 * Log-density of a Gaussian kernel-density estimate with isotropic bandwidth h:
 * log p̂(x) = log (1/m) Σ_j N(x; c_j, h² I), by log-sum-exp.
 * @param centres m×2 row-major data points (the kernels' centres)
 * @param x n×2 row-major evaluation points
 * @returns log p̂ per point of x (nats)
 */
export function kdeLogDensity(
  centres: Float64Array,
  x: Float64Array,
  bandwidth: number,
): Float64Array {
  if (!(bandwidth > 0) || !Number.isFinite(bandwidth))
    throw new RangeError(`Expected bandwidth > 0, but got bandwidth=${bandwidth}`);
  for (const [name, a] of [
    ["centres", centres],
    ["x", x],
  ] as const)
    if (!(a.length > 0 && a.length % 2 === 0))
      throw new RangeError(
        `Expected ${name} to be n×2 row-major (even length > 0), but got ` +
          `${name}.length=${a.length}`,
      );
  const m = centres.length / 2;
  const n = x.length / 2;
  const c = -0.5 / (bandwidth * bandwidth);
  const logNorm = -Math.log(2 * Math.PI * bandwidth * bandwidth) - Math.log(m);
  const out = new Float64Array(n);
  const l = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < m; j++) {
      const dx = x[2 * i] - centres[2 * j];
      const dy = x[2 * i + 1] - centres[2 * j + 1];
      l[j] = c * (dx * dx + dy * dy);
      if (l[j] > max) max = l[j];
    }
    let z = 0;
    for (let j = 0; j < m; j++) z += Math.exp(l[j] - max);
    out[i] = logNorm + max + Math.log(z);
  }
  return out;
}

/**
 * Scott's rule for an isotropic 2-D Gaussian KDE: h = m^{−1/6} · σ̂, σ̂ the mean of the two
 * coordinates' sample standard deviations (d = 2: m^{−1/(d+4)}).
 * @param centres m×2 row-major data points, m ≥ 2
 */
export function scottBandwidth(centres: Float64Array): number {
  const m = centres.length / 2;
  if (!Number.isInteger(m) || m < 2)
    throw new RangeError(
      `Expected at least 2 points (m×2 row-major), but got length ${centres.length}`,
    );
  let sd = 0;
  for (let d = 0; d < 2; d++) {
    let mu = 0;
    for (let j = 0; j < m; j++) mu += centres[2 * j + d] / m;
    let v = 0;
    for (let j = 0; j < m; j++) v += (centres[2 * j + d] - mu) ** 2 / (m - 1);
    sd += Math.sqrt(v) / 2;
  }
  return sd * m ** (-1 / 6);
}

/**
 * The bandwidth among `candidates` with the highest mean log-density of held-out points
 * `validation` under the KDE on `centres`, and each candidate's mean (nats per point).
 */
export function kdeBandwidthByHeldOut(
  centres: Float64Array,
  validation: Float64Array,
  candidates: number[],
): { bandwidth: number; scores: { bandwidth: number; meanLogp: number }[] } {
  if (!Array.isArray(candidates) || candidates.length === 0)
    throw new RangeError(`Expected candidates to be a non-empty array of bandwidths`);
  const scores = candidates.map((bandwidth) => {
    const l = kdeLogDensity(centres, validation, bandwidth);
    return { bandwidth, meanLogp: l.reduce((s, v) => s + v, 0) / l.length };
  });
  const best = scores.reduce((a, b) => (b.meanLogp > a.meanLogp ? b : a));
  return { bandwidth: best.bandwidth, scores };
}
