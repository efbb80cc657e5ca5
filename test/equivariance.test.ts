import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/core/random";
import {
  randomRotation,
  rotate,
  lennardJones,
  withAnisotropicTrap,
  makeCluster,
  equivarianceError,
  boltzmannScore,
  defaultClusterConfig,
  Potential,
} from "../src/core/equivariance";
import { autodiffForceFn, autodiffForces, energyTensor } from "../src/engines/tfjs-energy";

before(async () => {
  await tf.setBackend("cpu");
});

function matMul3(A: ArrayLike<number>, B: ArrayLike<number>): number[] {
  const C = new Array(9).fill(0);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 3; k++) C[3 * i + j] += A[3 * i + k] * B[3 * k + j];
  return C;
}
function transpose3(A: ArrayLike<number>): number[] {
  return [A[0], A[3], A[6], A[1], A[4], A[7], A[2], A[5], A[8]];
}
function det3(A: ArrayLike<number>): number {
  return (
    A[0] * (A[4] * A[8] - A[5] * A[7]) -
    A[1] * (A[3] * A[8] - A[5] * A[6]) +
    A[2] * (A[3] * A[7] - A[4] * A[6])
  );
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
/** Central finite differences of the gradient of f (float64), step h. */
function fdGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    const xp = Float64Array.from(x);
    xp[k] += h;
    const xm = Float64Array.from(x);
    xm[k] -= h;
    g[k] = (f(xp) - f(xm)) / (2 * h);
  }
  return g;
}

const lj = lennardJones();
const trap = withAnisotropicTrap(lj, [0, 1, 5]);

test("randomRotation is orthogonal with det +1 (float64, 1e-12)", () => {
  const rng = new Rng(1);
  for (let trial = 0; trial < 200; trial++) {
    const R = randomRotation(rng);
    const RtR = matMul3(transpose3(R), R);
    for (let i = 0; i < 9; i++)
      assert.ok(Math.abs(RtR[i] - (i % 4 === 0 ? 1 : 0)) < 1e-12, `RᵀR[${i}]=${RtR[i]}`);
    assert.ok(Math.abs(det3(R) - 1) < 1e-12, `det=${det3(R)}`);
  }
});

test("randomRotation is Haar: E[R]=0, E[tr R]=0, E[(tr R)²]=1, P(angle ≤ π/2) = (π/2−1)/π", () => {
  // Under Haar measure the rotation angle θ has density (1 − cos θ)/π on [0, π] and tr R = 1 + 2cos θ.
  const rng = new Rng(2);
  const M = 40000;
  const meanR = new Float64Array(9);
  let tr1 = 0,
    tr2 = 0,
    small = 0;
  for (let m = 0; m < M; m++) {
    const R = randomRotation(rng);
    for (let i = 0; i < 9; i++) meanR[i] += R[i] / M;
    const tr = R[0] + R[4] + R[8];
    tr1 += tr / M;
    tr2 += (tr * tr) / M;
    if ((tr - 1) / 2 >= 0) small++; // θ ≤ π/2  ⇔  cos θ ≥ 0
  }
  // Each entry has variance 1/3, so its mean has s.e. ≈ 0.0029; allow 5 s.e.
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(meanR[i]) < 0.015, `E[R][${i}]=${meanR[i]}`);
  assert.ok(Math.abs(tr1) < 0.025, `E[tr R]=${tr1}`); // Var tr = 1 -> s.e. 0.005
  assert.ok(Math.abs(tr2 - 1) < 0.05, `E[(tr R)²]=${tr2}`); // Var tr² = 2 -> s.e. 0.007
  const pSmall = (Math.PI / 2 - 1) / Math.PI;
  assert.ok(Math.abs(small / M - pSmall) < 0.01, `P(θ ≤ π/2)=${small / M}, expected ${pSmall}`); // s.e. 0.002
});

test("rotate computes x Rᵀ (row i -> R x_i) and preserves pair distances", () => {
  const R = randomRotation(new Rng(3));
  const x = new Float64Array([1, 2, 3, -1, 0.5, 2]);
  const y = rotate(x, R);
  for (let i = 0; i < 2; i++)
    for (let a = 0; a < 3; a++) {
      const expected =
        R[3 * a] * x[3 * i] + R[3 * a + 1] * x[3 * i + 1] + R[3 * a + 2] * x[3 * i + 2];
      assert.ok(Math.abs(y[3 * i + a] - expected) < 1e-15);
    }
  const d = (v: Float64Array) => Math.hypot(v[0] - v[3], v[1] - v[4], v[2] - v[5]);
  assert.ok(Math.abs(d(x) - d(y)) < 1e-12);
  assert.throws(() => rotate(x, [1, 0, 0]), /\(length 9\), but got length 3/);
});

test("Lennard-Jones: pair minimum at 2^(1/6)σ with u = −ε; energy is rotation-invariant", () => {
  const r = Math.pow(2, 1 / 6);
  const pair = new Float64Array([0, 0, 0, r, 0, 0]);
  assert.ok(Math.abs(lj.energy(pair) + 1) < 1e-12);
  assert.ok(Math.hypot(...lj.forces(pair)) < 1e-12);
  const x = makeCluster(new Rng(4));
  const R = randomRotation(new Rng(5));
  assert.ok(Math.abs(lj.energy(rotate(x, R)) - lj.energy(x)) < 1e-12 * Math.abs(lj.energy(x)));
  assert.ok(
    Math.abs(trap.energy(rotate(x, R)) - trap.energy(x)) > 1e-3,
    "the trapped energy must change under rotation",
  );
});

for (const pot of [lj, trap] as Potential[]) {
  test(`float64 analytic forces of ${pot.name} match central finite differences of U`, () => {
    const x = makeCluster(new Rng(6));
    const fFd = fdGradient(pot.energy, x).map((g) => -g);
    const err = relDiff(pot.forces(x), fFd);
    assert.ok(err < 1e-7, `relative error ${err}`);
  });

  test(`tfjs autodiff forces (float32) of ${pot.name} match the float64 forces`, () => {
    const x = makeCluster(new Rng(7));
    const before = tf.memory().numTensors;
    const f32 = autodiffForces(pot, x);
    assert.equal(tf.memory().numTensors, before, "autodiffForces leaked tensors");
    assert.ok(f32 instanceof Float32Array);
    const err = relDiff(f32, pot.forces(x));
    assert.ok(err < 1e-5, `relative error ${err}`);
    // And the tfjs energy equals the float64 energy.
    const u = tf.tidy(
      () => energyTensor(pot, tf.tensor2d(Float32Array.from(x), [x.length / 3, 3])).dataSync()[0],
    );
    assert.ok(
      Math.abs(u - pot.energy(x)) < 1e-5 * Math.abs(pot.energy(x)) + 1e-5,
      `U32=${u}, U64=${pot.energy(x)}`,
    );
  });
}

test("forces of the invariant LJ energy are equivariant: < 1e-12 (float64), < 1e-5 (tfjs float32)", () => {
  const rng = new Rng(8);
  const F64 = lj.forces.bind(lj);
  const F32 = autodiffForceFn(lj);
  for (let trial = 0; trial < 5; trial++) {
    const x = makeCluster(rng, { ...defaultClusterConfig(), nAtoms: 8 + trial });
    const R = randomRotation(rng);
    const e64 = equivarianceError(F64, x, R);
    const e32 = equivarianceError(F32, x, R);
    assert.ok(e64 < 1e-12, `float64 equivariance error ${e64}`);
    assert.ok(e32 < 1e-5, `float32 equivariance error ${e32}`);
  }
});

test("the non-invariant energy (LJ + anisotropic trap) fails the same check (> 1e-3)", () => {
  const rng = new Rng(9);
  for (let trial = 0; trial < 5; trial++) {
    const x = makeCluster(rng);
    const R = randomRotation(rng);
    const e64 = equivarianceError((y) => trap.forces(y), x, R);
    const e32 = equivarianceError(autodiffForceFn(trap), x, R);
    assert.ok(e64 > 1e-3, `float64 error ${e64} should be large`);
    assert.ok(e32 > 1e-3, `float32 error ${e32} should be large`);
  }
});

test("Boltzmann score βF equals the finite-difference gradient of log p = −βU", () => {
  const x = makeCluster(new Rng(10));
  const beta = 2.5;
  const score = boltzmannScore(lj, beta)(x);
  const gradLogP = fdGradient((y) => -beta * lj.energy(y), x);
  assert.ok(relDiff(score, gradLogP) < 1e-7, `relative error ${relDiff(score, gradLogP)}`);
  // The score of a rotation-invariant Boltzmann density is itself equivariant.
  const R = randomRotation(new Rng(11));
  assert.ok(equivarianceError(boltzmannScore(lj, beta), x, R) < 1e-12);
});

test("inputs are validated with errors naming the bad value", () => {
  assert.throws(() => lennardJones({ epsilon: -1, sigma: 1 }), /epsilon=-1/);
  assert.throws(() => boltzmannScore(lj, 0), /beta=0/);
  assert.throws(() => lj.energy(new Float64Array(4)), /length 4/);
  assert.throws(() => lj.forces(new Float64Array([0, 0, NaN, 1, 1, 1])), /x\[2\]=NaN/);
  assert.throws(
    () => makeCluster(new Rng(0), { ...defaultClusterConfig(), nAtoms: 1 }),
    /nAtoms=1/,
  );
  assert.throws(() => withAnisotropicTrap(lj, [1, -2, 0]), /k=\[1, -2, 0\]/);
});
