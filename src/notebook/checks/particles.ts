/**
 * The checks of notebook 07: CoM-free noise, the equivariance of the learned scores (from a
 * particle experiment's result), and the pair-energy model's hand-written ∂L/∂θ against finite
 * differences.
 */
import { Check, CheckResult, compare, skipped } from "./check";
import { TableCell } from "../display";
import { Rng } from "../../core/random";
import { comFreeNormal } from "../../core/com-free";
import {
  ParticleBatch,
  defaultNoiseConfig,
  initParticleModel,
  particleDsmLoss,
} from "../../core/particle-scores";
import { particleModelKinds, particleModelLabels } from "../particle-config";
import { ParticleExperimentResult } from "../particle-experiment";

/** A number for the footers: 3 significant digits, exponential outside [1e-3, 1e4). */
function num(v: number): string {
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(1) : v.toPrecision(3);
}

/**
 * CoM-free noise (`comFreeNormal`, also the prior at t = 1): every draw sums to zero over the
 * particles (float64 round-off, ≤ 1e-12), and the empirical covariance of 20000 draws is
 * P = (I_N − 11ᵀ/N) ⊗ I₃ within 0.05 (about 5 standard errors).
 * @param seed seed of the noise draws
 */
export function comFreeNoiseCheck(nParticles: number, seed = 0): CheckResult {
  const N = nParticles;
  if (!Number.isInteger(N) || N < 2)
    throw new RangeError(`Expected nParticles to be an integer >= 2, but got nParticles=${N}`);
  const nDraws = 1000;
  const eps = comFreeNormal(new Rng(seed), N, nDraws);
  let maxSum = 0;
  for (let b = 0; b < nDraws; b++)
    for (let d = 0; d < 3; d++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += eps[b * 3 * N + 3 * i + d];
      maxSum = Math.max(maxSum, Math.abs(s));
    }
  const cov = comFreeCovarianceError(N, 20000, seed + 1);
  const checks: Check[] = [
    compare(`max |Σᵢ εᵢ| over ${nDraws} draws`, maxSum, 0, 1e-12),
    compare(`max |Cov(ε) − P| over 20000 draws`, cov.maxError, 0, 0.05),
  ];
  return {
    title: `CoM-free noise, N = ${N}`,
    checks,
    table: checks.map((c) => ({
      quantity: c.name,
      value: c.value as number,
      tolerance: c.tolerance,
      status: c.status,
    })),
    digits: 3,
    footer: [
      `Cov(ε): diagonal mean ${num(cov.diagonal)} (P: ${num(1 - 1 / N)}), same coordinate of ` +
        `two particles mean ${num(cov.sameCoordinate)} (P: ${num(-1 / N)}), different ` +
        `coordinates mean ${num(cov.crossCoordinate)} (P: 0)`,
    ],
  };
}

/**
 * The learned scores' equivariance: the pair-energy model is equivariant to float precision (max
 * error ≤ 1e-12 at every t and seed); the MLPs are not (their smallest mean error ≥ 1e-3). A
 * model without runs in the result is SKIPPED.
 */
export function particleEquivarianceCheck(r: ParticleExperimentResult): CheckResult {
  const checks: Check[] = [];
  const table: Record<string, TableCell>[] = [];
  for (const k of particleModelKinds) {
    const rs = r.runs.filter((x) => x.kind === k && x.equivarianceMax.length > 0);
    const name =
      k === "pairEnergy"
        ? `${particleModelLabels[k]}: max error over t and seeds`
        : `${particleModelLabels[k]}: smallest mean error over t and seeds`;
    if (rs.length === 0) {
      checks.push(skipped(name, `no ${particleModelLabels[k]} runs in this result`));
      continue;
    }
    let c: Check;
    if (k === "pairEnergy") {
      const v = Math.max(...rs.flatMap((x) => x.equivarianceMax));
      c = compare(name, v, 0, 1e-12, "equivariant by construction");
    } else {
      const v = Math.min(...rs.flatMap((x) => x.equivarianceMean));
      c = {
        name,
        value: v,
        reference: 1e-3,
        tolerance: 0,
        status: v >= 1e-3 ? "PASS" : "FAIL",
        note: "not equivariant: must be ≥ 1e-3",
      };
    }
    checks.push(c);
    table.push({
      quantity: name,
      value: c.value as number,
      limit: k === "pairEnergy" ? "≤ 1e-12" : "≥ 1e-3",
      status: c.status,
    });
  }
  return { title: "Equivariance of the learned scores", checks, table, digits: 3 };
}

/**
 * ∂L/∂θ of the pair-energy model's DSM loss (the hand-written second derivative through tanh)
 * against central differences of L in float64, over every parameter: PASS when the relative
 * error ‖g − g_FD‖/‖g_FD‖ ≤ 1e-6. Initial weights of `hidden` and a batch of `batchSize`
 * CoM-free configurations at times spread over [tMin, 1].
 */
export function pairEnergyGradientCheck(
  nParticles: number,
  hidden: number[] = [16, 16],
  seed = 0,
  batchSize = 4,
): CheckResult {
  const m = initParticleModel("pairEnergy", nParticles, hidden, seed);
  const model = { ...m, weights: m.weights.map((w) => Float64Array.from(w)) };
  const noise = defaultNoiseConfig();
  const rng = new Rng(seed + 1);
  const batch: ParticleBatch = {
    x0: comFreeNormal(rng, nParticles, batchSize).map((v) => 0.7 * v),
    t: new Float64Array(batchSize).map((_, b) => noise.tMin ** (1 - (b + 0.5) / batchSize)),
    eps: comFreeNormal(rng, nParticles, batchSize),
  };
  const { grads } = particleDsmLoss(model, batch, noise);
  const h = 1e-6;
  let num2 = 0,
    den2 = 0,
    count = 0;
  model.weights.forEach((w, a) => {
    for (let k = 0; k < w.length; k++) {
      const v = w[k];
      w[k] = v + h;
      const lp = particleDsmLoss(model, batch, noise).loss;
      w[k] = v - h;
      const lm = particleDsmLoss(model, batch, noise).loss;
      w[k] = v;
      const fd = (lp - lm) / (2 * h);
      num2 += (grads[a][k] - fd) ** 2;
      den2 += fd * fd;
      count++;
    }
  });
  const rel = Math.sqrt(num2 / den2);
  const c = compare(`‖∂L/∂θ − FD‖ / ‖FD‖ over ${count} parameters`, rel, 0, 1e-6);
  return {
    title: "Pair-energy model: analytic ∂L/∂θ vs central differences (float64, h = 1e-6)",
    checks: [c],
    table: [{ quantity: c.name, value: rel, tolerance: 1e-6, status: c.status }],
    digits: 3,
    footer: [`‖FD gradient‖ = ${num(Math.sqrt(den2))}`],
  };
}

/**
 * Empirical covariance of `nDraws` CoM-free noise draws against P = (I_N − 11ᵀ/N) ⊗ I₃: the
 * largest entry-wise deviation, and the mean of the diagonal, of the same-coordinate
 * off-diagonal entries and of the entries between different coordinates.
 */
export function comFreeCovarianceError(
  nParticles: number,
  nDraws: number,
  seed: number,
): { maxError: number; diagonal: number; sameCoordinate: number; crossCoordinate: number } {
  const dim = 3 * nParticles;
  const eps = comFreeNormal(new Rng(seed), nParticles, nDraws);
  const c = new Float64Array(dim * dim);
  for (let b = 0; b < nDraws; b++)
    for (let k = 0; k < dim; k++) {
      const e = eps[b * dim + k];
      for (let l = 0; l < dim; l++) c[k * dim + l] += (e * eps[b * dim + l]) / nDraws;
    }
  let maxError = 0;
  const sums = [0, 0, 0];
  const counts = [0, 0, 0];
  for (let k = 0; k < dim; k++)
    for (let l = 0; l < dim; l++) {
      const sameCoord = k % 3 === l % 3;
      const p = sameCoord ? (k === l ? 1 : 0) - 1 / nParticles : 0;
      maxError = Math.max(maxError, Math.abs(c[k * dim + l] - p));
      const g = k === l ? 0 : sameCoord ? 1 : 2;
      sums[g] += c[k * dim + l];
      counts[g] += 1;
    }
  return {
    maxError,
    diagonal: sums[0] / counts[0],
    sameCoordinate: sums[1] / counts[1],
    crossCoordinate: sums[2] / counts[2],
  };
}
