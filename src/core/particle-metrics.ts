/**
 * Measures of learned particle scores and their samples: pair-distance Wasserstein-1 distances,
 * energies, principal-axis orientations and their uniformity on the sphere, the equivariance error
 * as a function of t, and the small-t score against inverseTemperature · F (exercise 3a).
 *  Layout: sample sets nConfigs×N×3 row-major.
 */
import { Rng } from "./random";
import { ForceFn, equivarianceError, randomRotation } from "./equivariance";
import { comFreeMarginalSample } from "./com-free";
import { EnergyFunction } from "./particles";
import { ScheduleConfig } from "./sde";

function configsOf(x: ArrayLike<number>, nParticles: number): number {
  const dim = 3 * nParticles;
  if (!Number.isInteger(nParticles) || nParticles < 2 || x.length === 0 || x.length % dim !== 0)
    throw new RangeError(
      `Expected nConfigs×${nParticles}×3 numbers, but got length ${x.length} ` +
        `(nParticles=${nParticles})`,
    );
  return x.length / dim;
}

/** All pair distances r_ij (i < j) of every configuration: length nConfigs·N(N−1)/2. */
export function pairDistances(samples: ArrayLike<number>, nParticles: number): Float64Array {
  const nConfigs = configsOf(samples, nParticles);
  const out = new Float64Array((nConfigs * nParticles * (nParticles - 1)) / 2);
  let q = 0;
  for (let b = 0; b < nConfigs; b++) {
    const o = 3 * nParticles * b;
    for (let i = 0; i < nParticles; i++)
      for (let j = i + 1; j < nParticles; j++)
        out[q++] = Math.hypot(
          samples[o + 3 * i] - samples[o + 3 * j],
          samples[o + 3 * i + 1] - samples[o + 3 * j + 1],
          samples[o + 3 * i + 2] - samples[o + 3 * j + 2],
        );
  }
  return out;
}

/**
 * Wasserstein-1 distance between the empirical distributions of two samples of reals (any
 * sizes): ∫ |F_a(v) − F_b(v)| dv, exact for empirical CDFs. Same unit as the values; ≥ 0.
 */
export function wasserstein1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 || b.length === 0)
    throw new RangeError(
      `Expected two non-empty samples, but got lengths ${a.length}, ${b.length}`,
    );
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  let i = 0,
    j = 0,
    w = 0;
  let prev = Math.min(sa[0], sb[0]);
  while (i < sa.length || j < sb.length) {
    const v = j >= sb.length || (i < sa.length && sa[i] <= sb[j]) ? sa[i] : sb[j];
    w += Math.abs(i / sa.length - j / sb.length) * (v - prev);
    prev = v;
    if (j >= sb.length || (i < sa.length && sa[i] <= sb[j])) i++;
    else j++;
  }
  return w;
}

/** W1 between the pair-distance distributions of two sample sets (length units). */
export function pairDistanceW1(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  nParticles: number,
): number {
  return wasserstein1(pairDistances(a, nParticles), pairDistances(b, nParticles));
}

/** U of every configuration: length nConfigs. */
export function sampleEnergies(
  energy: EnergyFunction,
  samples: Float64Array,
  nParticles: number,
): Float64Array {
  const nConfigs = configsOf(samples, nParticles);
  const dim = 3 * nParticles;
  const u = new Float64Array(nConfigs);
  for (let b = 0; b < nConfigs; b++) u[b] = energy.energy(samples.slice(b * dim, (b + 1) * dim));
  return u;
}

/**
 * Histogram of `values` on `bins` equal bins of [lo, hi], normalised to a density (integrates to
 * the fraction inside [lo, hi]). Returns bin centres and densities, each of length `bins`.
 */
export function histogram(
  values: ArrayLike<number>,
  lo: number,
  hi: number,
  bins: number,
): { centers: Float64Array; density: Float64Array } {
  if (!(hi > lo) || !Number.isInteger(bins) || bins < 1)
    throw new RangeError(`Expected hi > lo and bins >= 1, got lo=${lo}, hi=${hi}, bins=${bins}`);
  const width = (hi - lo) / bins;
  const centers = new Float64Array(bins).map((_, k) => lo + (k + 0.5) * width);
  const density = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const k = Math.floor((values[i] - lo) / width);
    if (k >= 0 && k < bins) density[k] += 1 / (values.length * width);
  }
  return { centers, density };
}

/** Eigen-decomposition of a symmetric 3×3 matrix by Jacobi rotations: values descending. */
export function symmetricEigen3(A: ArrayLike<number>): { values: number[]; vectors: number[][] } {
  const a = Array.from(A);
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    if (off < 1e-30 * (a[0] * a[0] + a[4] * a[4] + a[8] * a[8] + 1e-300)) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const apq = a[3 * p + q];
      if (apq === 0) continue;
      const theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        // A ← Jᵀ A J with J the rotation in the (p, q) plane
        const akp = a[3 * k + p],
          akq = a[3 * k + q];
        a[3 * k + p] = c * akp - s * akq;
        a[3 * k + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k],
          aqk = a[3 * q + k];
        a[3 * p + k] = c * apk - s * aqk;
        a[3 * q + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[3 * k + p],
          vkq = v[3 * k + q];
        v[3 * k + p] = c * vkp - s * vkq;
        v[3 * k + q] = s * vkp + c * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => a[4 * j] - a[4 * i]);
  return {
    values: order.map((i) => a[4 * i]),
    vectors: order.map((i) => [v[i], v[3 + i], v[6 + i]]),
  };
}

/**
 * Principal axes of each configuration: the eigenvectors of its gyration tensor
 * (1/N) Σ_i (x_i − x̄)(x_i − x̄)ᵀ, `which` = 0 for the longest axis, 2 for the shortest. An axis is
 * defined up to sign. Returns nConfigs×3 row-major unit vectors.
 */
export function principalAxes(
  samples: ArrayLike<number>,
  nParticles: number,
  which = 0,
): Float64Array {
  const nConfigs = configsOf(samples, nParticles);
  const out = new Float64Array(3 * nConfigs);
  for (let b = 0; b < nConfigs; b++) {
    const o = 3 * nParticles * b;
    const c = [0, 0, 0];
    for (let i = 0; i < nParticles; i++) for (let d = 0; d < 3; d++) c[d] += samples[o + 3 * i + d];
    for (let d = 0; d < 3; d++) c[d] /= nParticles;
    const G = new Array(9).fill(0);
    for (let i = 0; i < nParticles; i++)
      for (let d = 0; d < 3; d++)
        for (let e = 0; e < 3; e++)
          G[3 * d + e] +=
            ((samples[o + 3 * i + d] - c[d]) * (samples[o + 3 * i + e] - c[e])) / nParticles;
    out.set(symmetricEigen3(G).vectors[which], 3 * b);
  }
  return out;
}

/** Standard normal upper tail 1 − Φ(z), by erfc (Numerical Recipes' erfcc, rel. error < 1.2e-7). */
function normalUpperTail(z: number): number {
  const c = [
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398,
    1.48851587, -0.82215223, 0.17087277,
  ];
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  let poly = 0;
  for (let k = c.length - 1; k >= 0; k--) poly = c[k] + t * poly; // Horner in t
  const erfc = t * Math.exp(-x * x + poly);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** P(χ² ≥ S) with 5 degrees of freedom: 2(1 − Φ(√S)) + √(2S/π) e^{−S/2} (1 + S/3), in [0, 1]. */
export function chiSquared5Tail(S: number): number {
  if (!(S >= 0)) throw new RangeError(`Expected S >= 0, but got S=${S}`);
  const p =
    2 * normalUpperTail(Math.sqrt(S)) +
    Math.sqrt((2 * S) / Math.PI) * Math.exp(-S / 2) * (1 + S / 3);
  return Math.min(1, p);
}

/**
 * Bingham's test of uniformity for axes (unit vectors up to sign) on the sphere: with the
 * orientation tensor T = (1/n) Σ v vᵀ (I/3 under uniformity), S = (15n/2) Σ_ab (T_ab − δ_ab/3)²,
 * asymptotically χ² with 5 degrees of freedom under uniformity (mean 5).
 * @param axes n×3 row-major unit vectors
 * @returns statistic S ≥ 0, its p-value P(χ²₅ ≥ S), and T's eigenvalues (each ≈ 1/3 if uniform)
 */
export function axialUniformity(axes: ArrayLike<number>): {
  statistic: number;
  pValue: number;
  eigenvalues: number[];
} {
  const n = axes.length / 3;
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`Expected n×3 axes, but got length ${axes.length}`);
  const T = new Array(9).fill(0);
  for (let b = 0; b < n; b++)
    for (let d = 0; d < 3; d++)
      for (let e = 0; e < 3; e++) T[3 * d + e] += (axes[3 * b + d] * axes[3 * b + e]) / n;
  let s = 0;
  for (let d = 0; d < 3; d++)
    for (let e = 0; e < 3; e++) s += (T[3 * d + e] - (d === e ? 1 / 3 : 0)) ** 2;
  const S = ((15 * n) / 2) * s;
  const pValue = chiSquared5Tail(S);
  return { statistic: S, pValue, eigenvalues: symmetricEigen3(T).values };
}

/** Equivariance error at one time: mean and max over configurations and rotations. */
export interface EquivarianceAtTime {
  t: number;
  /** Mean of ‖s(Rx, t) − R s(x, t)‖ / ‖s(x, t)‖ (≥ 0; 0 for an equivariant score). */
  mean: number;
  max: number;
}

/**
 * ‖s(Rx, t) − R s(x, t)‖ / ‖s(x, t)‖ over random rotations R (Haar) and configurations x drawn from
 * the CoM-free forward marginal at t of the clean configurations `x0`, for each t in `times`.
 * @param score (x, t) -> s(x, t) for one configuration (N×3) or a set
 * @param x0 nConfigs×N×3 CoM-free clean configurations
 */
export function equivarianceErrorVsT(
  score: (x: Float64Array, t: number) => ArrayLike<number>,
  x0: Float64Array,
  nParticles: number,
  times: number[],
  schedule: ScheduleConfig,
  rng: Rng,
  rotationsPerConfig = 2,
): EquivarianceAtTime[] {
  const nConfigs = configsOf(x0, nParticles);
  const dim = 3 * nParticles;
  return times.map((t) => {
    const { xt } = comFreeMarginalSample(x0, nParticles, t, rng, schedule);
    const F: ForceFn = (x) => Float64Array.from(score(x, t));
    let sum = 0,
      max = 0,
      count = 0;
    for (let b = 0; b < nConfigs; b++)
      for (let r = 0; r < rotationsPerConfig; r++) {
        const e = equivarianceError(F, xt.slice(b * dim, (b + 1) * dim), randomRotation(rng));
        sum += e;
        max = Math.max(max, e);
        count++;
      }
    return { t, mean: sum / count, max };
  });
}

/**
 * The learned score at a small time t against the exact Boltzmann score inverseTemperature · F(x)
 * of exercise 3a, on clean configurations x (where p_t → p_0 as t → 0):
 * relativeError = ‖s − κF‖ / ‖κF‖ summed over all configurations; cosine = mean per-configuration
 * cosine of the angle between s(x, t) and F(x), in [−1, 1].
 */
export function scoreForceAgreement(
  score: (x: Float64Array, t: number) => ArrayLike<number>,
  forces: EnergyFunction,
  x: Float64Array,
  nParticles: number,
  t: number,
  inverseTemperature: number,
): { relativeError: number; cosine: number } {
  const nConfigs = configsOf(x, nParticles);
  const dim = 3 * nParticles;
  const s = score(x, t);
  let num = 0,
    den = 0,
    cos = 0;
  for (let b = 0; b < nConfigs; b++) {
    const f = forces.forces(x.slice(b * dim, (b + 1) * dim));
    let dot = 0,
      ss = 0,
      ff = 0;
    for (let k = 0; k < dim; k++) {
      const [sk, fk] = [s[b * dim + k], inverseTemperature * f[k]];
      num += (sk - fk) ** 2;
      den += fk * fk;
      dot += sk * fk;
      ss += sk * sk;
      ff += fk * fk;
    }
    cos += dot / Math.sqrt(ss * ff || 1);
  }
  return { relativeError: Math.sqrt(num / den), cosine: cos / nConfigs };
}
