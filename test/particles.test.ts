/**
 * The particle system, its MALA chain and centre-of-mass-free noise, against independent answers:
 * finite differences of U, the exact moments of harmonic targets (with autocorrelation-corrected
 * standard errors), the exact τ_int of an AR(1) series, and the covariance (I − 11ᵀ/N) ⊗ I₃.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/random";
import { randomRotation, rotate } from "../src/core/equivariance";
import {
  EnergyFunction,
  MalaConfig,
  defaultMalaConfig,
  defaultParticleSystem,
  initialConfiguration,
  integratedAutocorrelationTime,
  particleSystem,
  removeCenterOfMass,
  runMala,
} from "../src/core/particles";
import { comFreeMarginalSample, comFreeNormal, projectComFree } from "../src/core/com-free";
import { defaultSchedule } from "../src/core/sde";

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let k = 0; k < a.length; k++) {
    num += (a[k] - b[k]) ** 2;
    den += b[k] ** 2;
  }
  return Math.sqrt(num / den);
}

/** −∇U by central differences (float64). */
function fdForces(U: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const f = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const [xp, xm] = [Float64Array.from(x), Float64Array.from(x)];
    xp[k] += h;
    xm[k] -= h;
    f[k] = -(U(xp) - U(xm)) / (2 * h);
  }
  return f;
}

function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Mean and its standard error corrected for autocorrelation: √(Var · τ_int / n). */
function meanWithError(a: Float64Array): { mean: number; se: number } {
  const m = meanOf(a);
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - m) ** 2;
  v /= a.length - 1;
  return { mean: m, se: Math.sqrt((v * integratedAutocorrelationTime(a)) / a.length) };
}

const doubleWell = particleSystem(defaultParticleSystem());
const lj = particleSystem({
  nParticles: 6,
  pair: { kind: "lennardJones", epsilon: 1, sigma: 1 },
  confinement: 0.3,
});

for (const system of [doubleWell, lj]) {
  test(`forces of ${system.name} match central differences of U (rel. < 1e-7)`, () => {
    const x = initialConfiguration(system, new Rng(3));
    const err = relDiff(system.forces(x), fdForces(system.energy, x));
    assert.ok(err < 1e-7, `relative error ${err}`);
  });

  test(`${system.name}: U is rotation and translation invariant, Σ F = 0`, () => {
    const x = initialConfiguration(system, new Rng(4));
    const u = system.energy(x);
    const y = rotate(x, randomRotation(new Rng(5)));
    for (let i = 0; i < y.length; i += 3) {
      y[i] += 0.7;
      y[i + 1] -= 1.3;
      y[i + 2] += 2.1;
    }
    assert.ok(Math.abs(system.energy(y) - u) < 1e-12 * Math.max(1, Math.abs(u)));
    const f = system.forces(y);
    for (let d = 0; d < 3; d++) {
      let s = 0;
      for (let i = d; i < f.length; i += 3) s += f[i];
      assert.ok(Math.abs(s) < 1e-10, `net force ${s}`);
    }
  });
}

test("the confinement k Σ‖x_i − x̄‖² equals (k/N) Σ_{i<j} r_ij² (pair height ≈ 0)", () => {
  const k = 0.8,
    N = 5;
  const sys = particleSystem({
    nParticles: N,
    pair: { kind: "doubleWell", height: 1e-300, center: 1, halfWidth: 1 },
    confinement: k,
  });
  const x = comFreeNormal(new Rng(6), N).map((v) => v + 0.5);
  let pairs = 0;
  for (let i = 0; i < N; i++)
    for (let j = i + 1; j < N; j++)
      for (let d = 0; d < 3; d++) pairs += (x[3 * i + d] - x[3 * j + d]) ** 2;
  assert.ok(Math.abs(sys.energy(x) - (k / N) * pairs) < 1e-12);
});

test("integratedAutocorrelationTime of AR(1) with ρ = 0.8 is (1 + ρ)/(1 − ρ) = 9 (±15 %)", () => {
  const rng = new Rng(7);
  const rho = 0.8;
  const n = 200_000;
  const a = new Float64Array(n);
  for (let i = 1; i < n; i++) a[i] = rho * a[i - 1] + Math.sqrt(1 - rho * rho) * rng.normal();
  const tau = integratedAutocorrelationTime(a);
  assert.ok(Math.abs(tau - 9) < 1.35, `τ_int = ${tau}`);
  const white = rng.normalArray(50_000) as Float64Array;
  assert.ok(Math.abs(integratedAutocorrelationTime(white) - 1) < 0.1);
});

test("MALA on a 1-D harmonic U = ½kx² matches mean 0 and variance 1/(κk) within 5 s.e.", () => {
  // τ κ k = 0.6: the unadjusted Langevin chain would have variance 2/(κk(2 − τκk)), +43 %
  const [k, kappa] = [2, 1.5];
  const target: EnergyFunction = {
    energy: (x) => 0.5 * k * x[0] * x[0],
    forces: (x) => new Float64Array([-k * x[0]]),
  };
  const cfg: MalaConfig = {
    ...defaultMalaConfig(),
    inverseTemperature: kappa,
    stepSize: 0.6 / (kappa * k),
    adaptStepSize: false,
    comFree: false,
    burnIn: 1000,
    thin: 1,
    nSamples: 100_000,
    seed: 8,
  };
  const res = runMala(target, new Float64Array([3]), cfg);
  assert.ok(res.acceptanceRate > 0.5 && res.acceptanceRate < 1, `acc ${res.acceptanceRate}`);
  const variance = 1 / (kappa * k);
  const m = meanWithError(res.samples);
  assert.ok(Math.abs(m.mean) < 5 * m.se, `mean ${m.mean} ± ${m.se}`);
  const sq = meanWithError(res.samples.map((v) => v * v));
  assert.ok(
    Math.abs(sq.mean - variance) < 5 * sq.se,
    `E[x²] = ${sq.mean} ± ${sq.se}, expected ${variance}`,
  );
  assert.ok(5 * sq.se < 0.1 * variance, "the test must resolve a 10 % error");
});

test("MALA on the harmonic cluster k Σ‖x_i − x̄‖²: CoM-free, E[U] = (3N − 3)/(2κ)", () => {
  // In the CoM-free subspace U = k‖x‖², so x ~ N(0, P/(2κk)) and equipartition gives E[U].
  const [N, k, kappa] = [4, 1.5, 2];
  const target: EnergyFunction = {
    energy: (x) => {
      const p = removeCenterOfMass(x, N);
      return k * p.reduce((s, v) => s + v * v, 0);
    },
    forces: (x) => removeCenterOfMass(x, N).map((v) => -2 * k * v),
  };
  const res = runMala(
    target,
    comFreeNormal(new Rng(9), N).map((v) => v + 1),
    {
      ...defaultMalaConfig(),
      inverseTemperature: kappa,
      burnIn: 2000,
      thin: 5,
      nSamples: 20_000,
      seed: 10,
    },
  );
  const dim = 3 * N;
  let worst = 0;
  for (let b = 0; b < 20_000; b++)
    for (let d = 0; d < 3; d++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += res.samples[b * dim + 3 * i + d];
      worst = Math.max(worst, Math.abs(s));
    }
  assert.ok(worst < 1e-10, `largest |Σ_i x_i| = ${worst}`);
  const u = meanWithError(res.energyTrace);
  const expected = (3 * N - 3) / (2 * kappa);
  assert.ok(Math.abs(u.mean - expected) < 5 * u.se, `E[U] = ${u.mean} ± ${u.se} vs ${expected}`);
  assert.ok(5 * u.se < 0.05 * expected, "the test must resolve a 5 % error");
  // the per-coordinate variance: (1 − 1/N)/(2κk) for each of the 3N coordinates
  const v = meanOf(res.samples.map((s) => s * s));
  const vExpected = (1 - 1 / N) / (2 * kappa * k);
  assert.ok(Math.abs(v - vExpected) < 0.05 * vExpected, `Var = ${v} vs ${vExpected}`);
});

test("MALA on the default system: acceptance near target, finite τ_int, CoM-free", () => {
  const res = runMala(doubleWell, initialConfiguration(doubleWell, new Rng(11)), {
    ...defaultMalaConfig(),
    nSamples: 200,
    thin: 20,
  });
  assert.ok(res.acceptanceRate > 0.4 && res.acceptanceRate < 0.8, `acc ${res.acceptanceRate}`);
  assert.ok(res.energyAutocorrelationTime >= 1 && res.energyAutocorrelationTime < 200);
  assert.equal(res.samples.length, 200 * 15);
  const c = projectComFree(res.samples, 5);
  assert.ok(relDiff(c, res.samples) < 1e-12);
});

test("CoM-free noise sums to zero in every draw and has covariance (I − 11ᵀ/N) ⊗ I₃", () => {
  const N = 5;
  const dim = 3 * N;
  const M = 40_000;
  const eps = comFreeNormal(new Rng(12), N, M);
  const cov = new Float64Array(dim * dim);
  let worst = 0;
  for (let b = 0; b < M; b++) {
    for (let d = 0; d < 3; d++) {
      let s = 0;
      for (let i = 0; i < N; i++) s += eps[b * dim + 3 * i + d];
      worst = Math.max(worst, Math.abs(s));
    }
    for (let p = 0; p < dim; p++)
      for (let q = 0; q < dim; q++) cov[p * dim + q] += (eps[b * dim + p] * eps[b * dim + q]) / M;
  }
  assert.ok(worst < 1e-12, `largest |Σ_i ε_i| = ${worst}`);
  // P_pq for p = (i, a), q = (j, b): (δ_ij − 1/N) δ_ab; an entry's s.e. is √((P_pp P_qq + P_pq²)/M)
  let worstZ = 0;
  for (let p = 0; p < dim; p++)
    for (let q = 0; q < dim; q++) {
      const [i, a, j, bb] = [Math.floor(p / 3), p % 3, Math.floor(q / 3), q % 3];
      const P = a === bb ? (i === j ? 1 : 0) - 1 / N : 0;
      const diag = 1 - 1 / N;
      const se = Math.sqrt((diag * diag + P * P) / M);
      worstZ = Math.max(worstZ, Math.abs(cov[p * dim + q] - P) / se);
    }
  assert.ok(worstZ < 5, `largest deviation ${worstZ} standard errors`);
});

test("projectComFree is an orthogonal projection; forward marginals stay CoM-free", () => {
  const N = 4;
  const rng = new Rng(13);
  const v = rng.normalArray(3 * N * 3) as Float64Array;
  const w = rng.normalArray(3 * N * 3) as Float64Array;
  const pv = projectComFree(v, N);
  assert.ok(relDiff(projectComFree(pv, N), pv) < 1e-15);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    Array.from(a).reduce((s, x, k) => s + x * b[k], 0);
  assert.ok(Math.abs(dot(pv, w) - dot(v, projectComFree(w, N))) < 1e-12);
  const x0 = removeCenterOfMass(rng.normalArray(3 * N * 2), N);
  const { xt, eps } = comFreeMarginalSample(x0, N, 0.3, rng, defaultSchedule());
  assert.ok(relDiff(projectComFree(xt, N), xt) < 1e-14);
  assert.ok(relDiff(projectComFree(eps, N), eps) < 1e-14);
});

test("inputs are validated with errors naming the bad value", () => {
  assert.throws(
    () => particleSystem({ ...defaultParticleSystem(), nParticles: 1 }),
    /nParticles=1/,
  );
  assert.throws(
    () => particleSystem({ ...defaultParticleSystem(), confinement: -1 }),
    /confinement=-1/,
  );
  assert.throws(() => doubleWell.energy(new Float64Array(7)), /but got 7/);
  assert.throws(
    () => runMala(doubleWell, new Float64Array(15), { ...defaultMalaConfig(), thin: 0 }),
    /thin=0/,
  );
  assert.throws(
    () =>
      runMala(doubleWell, new Float64Array(15), { ...defaultMalaConfig(), inverseTemperature: 0 }),
    /inverseTemperature=0/,
  );
  assert.throws(() => projectComFree(new Float64Array(10), 3), /length 10/);
});
