/**
 * Centre-of-mass-free Gaussian noise for diffusion on particle configurations (as in EDM,
 * Hoogeboom et al. 2022). The data have Σ_i x_i = 0, so they live on a (3N − 3)-dimensional
 * subspace; the noise ε = P ξ, ξ ~ N(0, I_{3N}), P = (I_N − 11ᵀ/N) ⊗ I_3, is the standard normal of
 * that subspace, with covariance P. Then x_t = α(t) x0 + σ(t) ε stays in it for every t, the prior
 * at t = 1 is P ξ too, and a translation-invariant energy (whose gradient sums to zero over
 * particles) can represent the score. Full-space noise would add a CoM coordinate that is pure
 * noise, with a score −x̄/σ(t)² that diverges as t → 0 and that no invariant model can output.
 *  Layout: nConfigs×N×3 row-major (one configuration: nConfigs = 1).
 */
import { Rng } from "./random";
import { ScheduleConfig, alpha, sigma } from "./sde";

function checkLayout(length: number, nParticles: number): number {
  if (!Number.isInteger(nParticles) || nParticles < 1 || length % (3 * nParticles) !== 0)
    throw new RangeError(
      `Expected nConfigs×${nParticles}×3 numbers, but got length ${length} ` +
        `(nParticles=${nParticles})`,
    );
  return length / (3 * nParticles);
}

/**
 * P v: subtract from each configuration the mean over its particles, per coordinate.
 * @param v nConfigs×N×3 row-major
 * @param out receives P v (may be v itself: in place); default a new Float64Array
 */
export function projectComFree(
  v: ArrayLike<number>,
  nParticles: number,
  out: Float64Array = new Float64Array(v.length),
): Float64Array {
  const nConfigs = checkLayout(v.length, nParticles);
  const dim = 3 * nParticles;
  for (let b = 0; b < nConfigs; b++)
    for (let d = 0; d < 3; d++) {
      let m = 0;
      for (let i = 0; i < nParticles; i++) m += v[b * dim + 3 * i + d];
      m /= nParticles;
      for (let i = 0; i < nParticles; i++) out[b * dim + 3 * i + d] = v[b * dim + 3 * i + d] - m;
    }
  return out;
}

/**
 * nConfigs draws of CoM-free standard normal noise P ξ: each sums to zero over particles (to
 * rounding) and has covariance (I_N − 11ᵀ/N) ⊗ I_3. Also the prior at t = 1.
 * @returns nConfigs×N×3 row-major
 */
export function comFreeNormal(rng: Rng, nParticles: number, nConfigs = 1): Float64Array {
  if (!Number.isInteger(nConfigs) || nConfigs < 1)
    throw new RangeError(`Expected nConfigs to be an integer >= 1, but got nConfigs=${nConfigs}`);
  const xi = rng.normalArray(nConfigs * 3 * nParticles) as Float64Array;
  return projectComFree(xi, nParticles, xi);
}

/**
 * A draw of the forward marginal in the CoM-free subspace: x_t = α(t) x0 + σ(t) ε, ε = P ξ.
 * @param x0 CoM-free configurations, nConfigs×N×3 row-major
 * @param t diffusion time in [0, 1]
 * @returns xt and the noise eps that made it (both nConfigs×N×3)
 */
export function comFreeMarginalSample(
  x0: ArrayLike<number>,
  nParticles: number,
  t: number,
  rng: Rng,
  schedule: ScheduleConfig,
): { xt: Float64Array; eps: Float64Array } {
  const nConfigs = checkLayout(x0.length, nParticles);
  const eps = comFreeNormal(rng, nParticles, nConfigs);
  const [a, s] = [alpha(t, schedule), sigma(t, schedule)];
  const xt = new Float64Array(x0.length);
  for (let k = 0; k < x0.length; k++) xt[k] = a * x0[k] + s * eps[k];
  return { xt, eps };
}

/** Dimension of the CoM-free subspace, 3N − 3. */
export function comFreeDimension(nParticles: number): number {
  return 3 * nParticles - 3;
}
