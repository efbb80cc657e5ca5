/**
 * The three particle score models and the metrics, against independent answers: central finite
 * differences of E_θ and of the loss (float64), exact equivariance of the pair-energy score, a
 * training run that lowers the loss, the CoM-free sampler with an exact Gaussian score, and the
 * metrics on cases with known values.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/random";
import { equivarianceError, randomRotation, rotate } from "../src/core/equivariance";
import { comFreeNormal, projectComFree } from "../src/core/com-free";
import { alpha, sigma } from "../src/core/sde";
import {
  NoiseConfig,
  ParticleBatch,
  ParticleModel,
  ParticleModelKind,
  defaultNoiseConfig,
  defaultParticleSamplerConfig,
  defaultParticleTrainConfig,
  initParticleModel,
  pairEnergyGradient,
  pairEnergyValue,
  particleDsmLoss,
  particleScore,
  sampleParticleBatch,
  sampleParticles,
  trainParticleModel,
} from "../src/core/particle-scores";
import {
  axialUniformity,
  chiSquared5Tail,
  pairDistances,
  principalAxes,
  symmetricEigen3,
  wasserstein1,
} from "../src/core/particle-metrics";

const N = 4;
const noise: NoiseConfig = defaultNoiseConfig();

/** A model with float64 copies of its initial weights, so finite differences see float64. */
function model64(kind: ParticleModelKind, seed: number): ParticleModel {
  const m = initParticleModel(kind, N, [7, 6], seed);
  return { ...m, weights: m.weights.map((w) => Float64Array.from(w)) };
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let k = 0; k < a.length; k++) {
    num += (a[k] - b[k]) ** 2;
    den += b[k] ** 2;
  }
  return Math.sqrt(num / den);
}

/** A batch spanning small and large t (CoM-free x0 of unit scale and CoM-free noise). */
function testBatch(seed: number): ParticleBatch {
  const rng = new Rng(seed);
  return {
    x0: comFreeNormal(rng, N, 4).map((v) => 0.7 * v),
    t: new Float64Array([0.002, 0.05, 0.4, 0.95]),
    eps: comFreeNormal(rng, N, 4),
  };
}

test("∇ₓE_θ of the pair-energy model matches central differences of E_θ (rel. < 1e-6)", () => {
  const m = model64("pairEnergy", 1);
  const rng = new Rng(2);
  for (const t of [0.003, 0.2, 0.9]) {
    const x = comFreeNormal(rng, N);
    const g = pairEnergyGradient(m, x, t, noise);
    const fd = new Float64Array(x.length);
    const h = 1e-5;
    for (let k = 0; k < x.length; k++) {
      const [xp, xm] = [Float64Array.from(x), Float64Array.from(x)];
      xp[k] += h;
      xm[k] -= h;
      fd[k] = (pairEnergyValue(m, xp, t, noise) - pairEnergyValue(m, xm, t, noise)) / (2 * h);
    }
    const err = relDiff(g, fd);
    assert.ok(err < 1e-6, `t=${t}: relative error ${err}`);
    // and the score is −∇ₓE_θ
    assert.ok(
      relDiff(
        particleScore(m, x, t, noise),
        g.map((v) => -v),
      ) < 1e-12,
    );
  }
});

for (const kind of ["pairEnergy", "mlp"] as ParticleModelKind[]) {
  test(`∂L/∂θ of the DSM loss (${kind}) matches central differences of L (rel. < 1e-6)`, () => {
    const m = model64(kind, 3);
    const batch = testBatch(4);
    const { grads } = particleDsmLoss(m, batch, noise);
    const fd = m.weights.map((w) => new Float64Array(w.length));
    const h = 1e-6;
    m.weights.forEach((w, a) => {
      for (let k = 0; k < w.length; k++) {
        const v = w[k];
        w[k] = v + h;
        const lp = particleDsmLoss(m, batch, noise).loss;
        w[k] = v - h;
        const lm = particleDsmLoss(m, batch, noise).loss;
        w[k] = v;
        fd[a][k] = (lp - lm) / (2 * h);
      }
    });
    const err = relDiff(
      grads.flatMap((g) => Array.from(g)),
      fd.flatMap((g) => Array.from(g)),
    );
    assert.ok(err < 1e-6, `relative error ${err}`);
  });
}

test("the pair-energy score is equivariant to float64 precision; the plain MLP's is not", () => {
  const rng = new Rng(5);
  const pair = model64("pairEnergy", 6);
  const mlp = model64("mlp", 6);
  for (let trial = 0; trial < 10; trial++) {
    const x = comFreeNormal(rng, N);
    const R = randomRotation(rng);
    const t = [0.001, 0.01, 0.3, 1][trial % 4];
    const ePair = equivarianceError((y) => particleScore(pair, y, t, noise), x, R);
    const eMlp = equivarianceError((y) => particleScore(mlp, y, t, noise), x, R);
    assert.ok(ePair < 1e-12, `pair energy: ${ePair}`);
    assert.ok(eMlp > 1e-3, `MLP: ${eMlp} should be large`);
    // E_θ itself is invariant under rotations and translations
    const y = rotate(x, R).map((v, k) => v + [0.3, -1, 2][k % 3]);
    const [e0, e1] = [pairEnergyValue(pair, x, t, noise), pairEnergyValue(pair, y, t, noise)];
    assert.ok(Math.abs(e1 - e0) < 1e-12 * Math.max(1, Math.abs(e0)), `${e0} vs ${e1}`);
  }
});

test("scores are CoM-free: Σ_i s_i = 0 for every model", () => {
  const x = comFreeNormal(new Rng(7), N, 3).map((v, k) => v + (k % 3)); // with a CoM offset
  for (const kind of ["mlp", "mlpRotationAugmented", "pairEnergy"] as ParticleModelKind[]) {
    const s = particleScore(model64(kind, 8), x, 0.1, noise);
    assert.ok(relDiff(projectComFree(s, N), s) < 1e-12, kind);
  }
});

for (const kind of ["mlp", "mlpRotationAugmented", "pairEnergy"] as ParticleModelKind[]) {
  test(`a short training run of ${kind} lowers the loss on a fixed evaluation batch`, () => {
    // data: N(0, 0.3² P), a scale the Gaussian skip (σ_d = 0.6) does not fit: there is work to do
    const rng = new Rng(9);
    const data = comFreeNormal(rng, N, 500).map((v) => 0.3 * v);
    const cfg = { ...defaultParticleTrainConfig(), hidden: [16, 16], steps: 300, seed: 10 };
    const m = 4000;
    // the training loss's own distribution of (x0, t, ε), on held-out configurations
    const heldOut = comFreeNormal(rng, N, m).map((v) => 0.3 * v);
    const evalBatch = sampleParticleBatch(rng, heldOut, N, m, cfg.noise.tMin, false);
    const before = particleDsmLoss(
      initParticleModel(kind, N, cfg.hidden, cfg.seed),
      evalBatch,
      cfg.noise,
    ).loss;
    const { model } = trainParticleModel(kind, data, N, cfg);
    const after = particleDsmLoss(model, evalBatch, cfg.noise).loss;
    // the same loss of the exact score of N(0, v P): −x/(α²v + σ²), weight (σ² + σ_d²)/σ_d²
    const [v, sd2, dim] = [0.09, cfg.noise.sigmaData ** 2, 3 * N];
    let best = 0;
    for (let b = 0; b < m; b++) {
      const [a, sg] = [
        alpha(evalBatch.t[b], cfg.noise.schedule),
        sigma(evalBatch.t[b], cfg.noise.schedule),
      ];
      for (let k = b * dim; k < (b + 1) * dim; k++) {
        const xt = a * evalBatch.x0[k] + sg * evalBatch.eps[k];
        const e = evalBatch.eps[k] - (sg * xt) / (a * a * v + sg * sg);
        best += ((sg * sg + sd2) / sd2) * e * e;
      }
    }
    best /= m;
    assert.ok(
      after - best < 0.5 * (before - best),
      `loss ${before} -> ${after}, exact score ${best}: the excess must at least halve`,
    );
  });
}

test("the CoM-free reverse SDE with the exact score of N(0, v P) reproduces v (±5 %)", () => {
  const v = 0.3;
  const exact = (x: Float64Array, t: number) => {
    const [a, s] = [alpha(t, noise.schedule), sigma(t, noise.schedule)];
    return x.map((u) => -u / (a * a * v + s * s));
  };
  const x = sampleParticles(N, exact, { ...defaultParticleSamplerConfig(), nSamples: 2000 });
  assert.ok(relDiff(projectComFree(x, N), x) < 1e-12, "samples are CoM-free");
  const perCoord = x.reduce((s, u) => s + u * u, 0) / x.length / (1 - 1 / N);
  assert.ok(Math.abs(perCoord - v) < 0.05 * v, `variance ${perCoord}, expected ${v}`);
});

test("wasserstein1: a shift by c gives c; unequal sizes; identical samples give 0", () => {
  const rng = new Rng(11);
  const a = rng.normalArray(1000) as Float64Array;
  assert.ok(
    Math.abs(
      wasserstein1(
        a,
        a.map((v) => v + 0.37),
      ) - 0.37,
    ) < 1e-12,
  );
  assert.equal(wasserstein1(a, a), 0);
  // {0, 1} vs {0, 0, 1, 1, 1}: ∫|F_a − F_b| = |1/2 − 2/5| · 1 = 0.1
  assert.ok(Math.abs(wasserstein1([0, 1], [0, 0, 1, 1, 1]) - 0.1) < 1e-12);
});

test("symmetricEigen3 and principalAxes recover a known frame", () => {
  const R = randomRotation(new Rng(12));
  // points along ±3 e1, ±2 e2, ±1 e3 of a rotated frame: longest axis R e1, shortest R e3
  const base = [3, 0, 0, -3, 0, 0, 0, 2, 0, 0, -2, 0, 0, 0, 1, 0, 0, -1];
  const x = rotate(new Float64Array(base), R);
  const longest = principalAxes(x, 6, 0);
  const shortest = principalAxes(x, 6, 2);
  const e1 = [R[0], R[3], R[6]];
  const e3 = [R[2], R[5], R[8]];
  const dot = (u: ArrayLike<number>, w: number[]) => u[0] * w[0] + u[1] * w[1] + u[2] * w[2];
  assert.ok(Math.abs(Math.abs(dot(longest, e1)) - 1) < 1e-12);
  assert.ok(Math.abs(Math.abs(dot(shortest, e3)) - 1) < 1e-12);
  const { values } = symmetricEigen3([2, 1, 0, 1, 2, 0, 0, 0, 5]);
  assert.deepEqual(
    values.map((v) => Math.round(v * 1e12) / 1e12),
    [5, 3, 1],
  );
  assert.equal(pairDistances(x, 6).length, 15);
});

test("chiSquared5Tail matches tabulated χ²₅ quantiles (relative 1e-4)", () => {
  for (const [S, p] of [
    [1.6103, 0.9],
    [4.3515, 0.5],
    [11.0705, 0.05],
    [20.515, 0.001],
  ])
    assert.ok(Math.abs(chiSquared5Tail(S) - p) < 1e-4 * p, `S=${S}: ${chiSquared5Tail(S)}`);
  assert.equal(chiSquared5Tail(0), 1);
});

test("axialUniformity: Haar-rotated axes pass (S ~ χ²₅), axes near one direction fail", () => {
  const rng = new Rng(13);
  const n = 2000;
  const uniform = new Float64Array(3 * n);
  const tilted = new Float64Array(3 * n);
  for (let b = 0; b < n; b++) {
    const R = randomRotation(rng);
    uniform.set([R[0], R[3], R[6]], 3 * b);
    const v = [0.3 * rng.normal(), 0.3 * rng.normal(), 1];
    const len = Math.hypot(v[0], v[1], v[2]);
    tilted.set(
      v.map((c) => c / len),
      3 * b,
    );
  }
  const u = axialUniformity(uniform);
  assert.ok(u.statistic < 20.5, `S = ${u.statistic} (χ²₅ 99.9 % point 20.5)`);
  assert.ok(u.pValue > 1e-3);
  const t = axialUniformity(tilted);
  assert.ok(t.statistic > 100 && t.pValue < 1e-6, `S = ${t.statistic}`);
});

test("inputs are validated with errors naming the bad value", () => {
  assert.throws(() => initParticleModel("mlp", 1, [8], 0), /nParticles/);
  assert.throws(() => initParticleModel("mlp", 4, [0], 0), /hidden=\[0\]/);
  assert.throws(() => initParticleModel("cnn" as ParticleModelKind, 4, [8], 0), /kind=cnn/);
  const data = comFreeNormal(new Rng(0), N, 10);
  assert.throws(
    () => trainParticleModel("mlp", data, N, { ...defaultParticleTrainConfig(), steps: 0 }),
    /steps=0/,
  );
  assert.throws(() => particleScore(model64("mlp", 0), new Float64Array(5), 0.5), /length 5/);
});
