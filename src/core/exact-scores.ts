/**
 * Exact scores of noised densities, so the sampler and the loss can be checked without a trained
 * model: Gaussians and Gaussian mixtures under the VP marginal, a near-exact score of the noised
 * two moons (a fine mixture along the curves), and the zero score ("nothing learned").
 */
import { makeMoons } from "./moons";
import { ScoreFn, scoreCallRows } from "./sampler";
import { ScheduleConfig, alpha, defaultSchedule, sigma, validateSchedule } from "./sde";

type Vec2 = ArrayLike<number>;
type Mat2 = ArrayLike<ArrayLike<number>>;

/**
 * Exact score of a noised 2-D Gaussian mixture. Data x0 ~ Σ_k w_k N(μ_k, Σ_k), noised by the VP
 * marginal x_t = α(t)x0 + σ(t)ε, has density p_t = Σ_k w_k N(α μ_k, C_k) with C_k = α²Σ_k + σ²I,
 * and
 *   ∇log p_t(x) = −Σ_k r_k(x) C_k⁻¹ (x − α μ_k),   r_k = softmax_k(log w_k + log N(x; αμ_k, C_k))
 * (responsibilities via log-sum-exp, so far-away points do not underflow).
 * @param weights mixture weights w_k > 0 (normalised here)
 * @param means μ_k, each [x, y]
 * @param covs Σ_k, each a symmetric positive semi-definite 2×2 [[a, b], [b, c]] (0 allowed for
 *   point masses)
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
      `Expected as many means and covs as weights (${K}), but got means.length=${means.length}, ` +
        `covs.length=${covs.length}`,
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
        `Expected covs[${k}] to be a symmetric positive semi-definite 2×2 matrix, but got ` +
          `${JSON.stringify(S)}`,
      );
    }
  }
  validateSchedule(schedule);

  return (x, t, nPoints) => {
    const n = scoreCallRows(x, t, nPoints);
    const al = alpha(t, schedule);
    const s2 = sigma(t, schedule) ** 2;
    // Per component: inverse of C_k = α²Σ_k + σ²I, and the constant part of log w_k N(·; αμ_k,
    // C_k).
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
 * Exact score of noised Gaussian data x0 ~ N(μ, Σ): p_t = N(αμ, α²Σ + σ²I), ∇log p_t(x) = −(α²Σ +
 * σ²I)⁻¹(x − αμ). (The one-component case of `gaussianMixtureScore`.) Defaults: μ = 0, Σ = I, for
 * which the score is −x at every t.
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

/**
 * A near-exact score of the noised two-moons density, for a reference run of the sampler: the data
 * density (noise-free moon curves blurred by N(0, noise²I)) is approximated by an equal-weight
 * Gaussian mixture with `pointsPerMoon` components N(c_k, noise²I) at evenly spaced points c_k of
 * each noise-free curve (as `makeMoons` places them), and the mixture's score under the VP marginal
 * is exact (`gaussianMixtureScore`). With the default 100 points per moon the spacing along the
 * curves (π/99 ≈ 0.03) is below the noise 0.05, so the mixture is a smooth tube like the data.
 * Cost: O(n · 2·pointsPerMoon) per call.
 * @returns s(x, t, n): x n×2 row-major, t in [0, 1], n = x.length / 2 if omitted; t outside [0, 1]
 *   or x not n×2 throw, naming them
 */
export function moonsReferenceScore(
  noise: number,
  schedule: ScheduleConfig = defaultSchedule(),
  pointsPerMoon = 100,
): ScoreFn {
  if (!(noise > 0) || !Number.isFinite(noise))
    throw new RangeError(`Expected noise > 0, but got noise=${noise}`);
  if (!Number.isInteger(pointsPerMoon) || pointsPerMoon < 2) {
    throw new RangeError(
      `Expected pointsPerMoon to be an integer >= 2, but got pointsPerMoon=${pointsPerMoon}`,
    );
  }
  const curve = makeMoons(2 * pointsPerMoon, { noise: 0, shuffle: false }).x;
  const K = 2 * pointsPerMoon;
  const means = Array.from({ length: K }, (_, k) => [curve[2 * k], curve[2 * k + 1]]);
  const cov = [
    [noise * noise, 0],
    [0, noise * noise],
  ];
  const mixture = gaussianMixtureScore(
    new Array(K).fill(1),
    means,
    new Array(K).fill(cov),
    schedule,
  );
  return (x, t, n?: number) => mixture(x, t, scoreCallRows(x, t, n));
}

/**
 * The score function s(x, t) = 0 ("nothing learned"): its DSM loss is E‖ε‖²/σ(t)², the loss's
 * starting scale. Checks its arguments like the other score functions (t in [0, 1], x n×2).
 */
export const zeroScore: ScoreFn = (x, t, n?: number) =>
  new Float64Array(2 * scoreCallRows(x, t, n));
