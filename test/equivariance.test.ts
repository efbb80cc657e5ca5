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
  boltzmannLogDensity,
  defaultClusterConfig,
  equivarianceErrorBetween,
  finiteDifferenceGradient,
  finiteDifferenceScore,
  gyrationDeterminant,
  gyrationTensor,
  netForce,
  netTorque,
  Potential,
  projectXY,
  rotationAboutAxis,
} from "../src/core/equivariance";
import { autodiffForceFn, autodiffForces, energyTensor } from "../src/engines/tfjs-energy";
import {
  equivarianceCheck,
  equivarianceSweep,
  forceArrowPanels,
  forceCheck,
  forceChecks,
  scoreEquivarianceCheck,
} from "../src/notebook/checks/equivariance";
import { overallStatus } from "../src/notebook/checks/check";

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
/** The non-pairwise energy: λ det G plus an isotropic trap (normalisable), and its control. */
const gyr = withAnisotropicTrap(gyrationDeterminant(0.05), [1, 1, 1]);
const gyrAniso = withAnisotropicTrap(gyrationDeterminant(0.05), [0.5, 1, 2]);

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
  // Under Haar measure the rotation angle θ has density (1 − cos θ)/π on [0, π], and
  // tr R = 1 + 2cos θ.
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
  // s.e. 0.002
  assert.ok(Math.abs(small / M - pSmall) < 0.01, `P(θ ≤ π/2)=${small / M}, expected ${pSmall}`);
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

for (const pot of [lj, trap, gyr] as Potential[]) {
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

test("invariant LJ energy: equivariant forces, < 1e-12 (float64), < 1e-5 (tfjs float32)", () => {
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
  assert.throws(() => boltzmannScore(lj, 0), /inverseTemperature=0/);
  assert.throws(() => gyrationDeterminant(-1), /lambda=-1/);
  assert.throws(() => rotationAboutAxis([0, 0, 0], 1), /axis=\[0,0,0\]/);
  assert.throws(() => rotationAboutAxis([0, 0, 1], NaN), /angle=NaN/);
  assert.throws(() => finiteDifferenceGradient((y) => y[0], new Float64Array(3), 0), /h=0/);
  assert.throws(() => netTorque(new Float64Array(6), new Float64Array(3)), /lengths 6 and 3/);
  assert.throws(() => lj.energy(new Float64Array(4)), /length 4/);
  assert.throws(() => lj.forces(new Float64Array([0, 0, NaN, 1, 1, 1])), /x\[2\]=NaN/);
  assert.throws(
    () => makeCluster(new Rng(0), { ...defaultClusterConfig(), nAtoms: 1 }),
    /nAtoms=1/,
  );
  assert.throws(() => withAnisotropicTrap(lj, [1, -2, 0]), /k=\[1, -2, 0\]/);
});

test("rotationAboutAxis: fixes its axis, RᵀR = I, det 1, tr 1 + 2cos θ; z axis by hand", () => {
  const axis = [1, 2, 3];
  for (const th of [0.3, 1.7, Math.PI, 5]) {
    const R = rotationAboutAxis(axis, th);
    const a = rotate(new Float64Array(axis), R);
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(a[k] - axis[k]) < 1e-14, `R·axis=${a}`);
    const RtR = matMul3(transpose3(R), R);
    for (let i = 0; i < 9; i++) assert.ok(Math.abs(RtR[i] - (i % 4 === 0 ? 1 : 0)) < 1e-14);
    assert.ok(Math.abs(det3(R) - 1) < 1e-14);
    assert.ok(Math.abs(R[0] + R[4] + R[8] - (1 + 2 * Math.cos(th))) < 1e-14);
  }
  const c = Math.cos(0.4),
    s = Math.sin(0.4);
  const Rz = rotationAboutAxis([0, 0, 2], 0.4);
  [c, -s, 0, s, c, 0, 0, 0, 1].forEach((v, i) => assert.ok(Math.abs(Rz[i] - v) < 1e-15));
});

test("finiteDifferenceGradient matches a hand-computed gradient (f = x0²x1 + sin x2)", () => {
  const x = new Float64Array([0.7, -1.3, 0.4]);
  const g = finiteDifferenceGradient((y) => y[0] * y[0] * y[1] + Math.sin(y[2]), x);
  const exact = [2 * 0.7 * -1.3, 0.7 * 0.7, Math.cos(0.4)];
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(g[k] - exact[k]) < 1e-9, `g[${k}]=${g[k]}`);
  assert.deepEqual(Array.from(x), [0.7, -1.3, 0.4], "x is left unchanged");
});

test("det G is invariant under rotations; G itself is not (G(xRᵀ) = R G Rᵀ)", () => {
  const x = makeCluster(new Rng(20));
  const R = randomRotation(new Rng(21));
  const G = gyrationTensor(x),
    Gr = gyrationTensor(rotate(x, R));
  const RGRt = matMul3(matMul3(R, G), transpose3(R));
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(Gr[i] - RGRt[i]) < 1e-12);
  assert.ok(Math.max(...G.map((g, i) => Math.abs(g - Gr[i]))) > 0.1, "G's entries change");
  const d = gyrationDeterminant(1);
  assert.ok(Math.abs(d.energy(rotate(x, R)) - d.energy(x)) < 1e-12 * d.energy(x));
  assert.ok(Math.abs(d.energy(x) - det3(G)) < 1e-12 * d.energy(x));
});

test("independent route: FD of U at xRᵀ = analytic F(x)Rᵀ for LJ and det G, not a trap", () => {
  const rng = new Rng(22);
  const x = makeCluster(rng);
  const fdForces = (p: Potential) => (y: Float64Array) =>
    finiteDifferenceGradient(p.energy, y).map((g) => -g);
  const analytic = (p: Potential) => (y: Float64Array) => p.forces(y);
  for (let trial = 0; trial < 3; trial++) {
    const R = randomRotation(rng);
    for (const p of [lj, gyr]) {
      const e = equivarianceErrorBetween(fdForces(p), analytic(p), x, R);
      assert.ok(e < 1e-7, `${p.name}: ${e}`);
    }
    const e = equivarianceErrorBetween(fdForces(trap), analytic(trap), x, R);
    assert.ok(e > 1e-3, `anisotropic trap: ${e} should be large`);
  }
});

test("the independent route catches a wrong force formula; the same-formula check cannot", () => {
  // 1.01·F is as equivariant as F, so F(xRᵀ) vs F(x)Rᵀ from it passes; FD of U disagrees by 1%.
  const wrong = (y: Float64Array) => lj.forces(y).map((f) => 1.01 * f);
  const x = makeCluster(new Rng(23));
  const R = randomRotation(new Rng(24));
  assert.ok(equivarianceError(wrong, x, R) < 1e-12);
  const fd = (y: Float64Array) => finiteDifferenceGradient(lj.energy, y).map((g) => -g);
  const e = equivarianceErrorBetween(fd, wrong, x, R);
  assert.ok(Math.abs(e - 0.01 / 1.01) < 1e-6, `cross-route error ${e}`);
  const wrongLj: Potential = { ...lj, forces: wrong };
  const r = equivarianceCheck(wrongLj, x, new Rng(25), 2);
  assert.equal(overallStatus(r.checks), "FAIL");
  for (const row of r.rows) assert.ok(row.errorAnalytic < 1e-12 && row.errorFloat64 > 1e-3);
});

test("theorem: FD score of exp(−κU), U = λ det G + isotropic trap, is equivariant", () => {
  const rng = new Rng(26);
  const x = makeCluster(rng);
  const kappa = 1.5;
  const s = finiteDifferenceScore(boltzmannLogDensity(gyr, kappa, 42));
  const sAniso = finiteDifferenceScore(boltzmannLogDensity(gyrAniso, kappa));
  for (let trial = 0; trial < 3; trial++) {
    const R = randomRotation(rng);
    const e = equivarianceErrorBetween(s, s, x, R);
    assert.ok(e < 1e-7, `invariant: ${e}`);
    const eA = equivarianceErrorBetween(sAniso, sAniso, x, R);
    assert.ok(eA > 1e-3, `anisotropic: ${eA} should be large`);
  }
  // and the FD score is κF (3a), from the analytic forces of det G
  const err = relDiff(s(x), boltzmannScore(gyr, kappa)(x));
  assert.ok(err < 1e-8, `FD score vs κF: ${err}`);
});

test("score checks: PASS with correct labels, FAIL when mislabelled", () => {
  const x = makeCluster(new Rng(27));
  const cases = [
    { potential: gyr, invariant: true },
    { potential: gyrAniso, invariant: false },
  ];
  const r = scoreEquivarianceCheck(cases, x, new Rng(28), 2);
  assert.deepEqual(
    r.checks.map((c) => c.status),
    ["PASS", "PASS"],
  );
  const mislabelled = scoreEquivarianceCheck(
    cases.map((c) => ({ ...c, invariant: !c.invariant })),
    x,
    new Rng(28),
    2,
  );
  assert.deepEqual(
    mislabelled.checks.map((c) => c.status),
    ["FAIL", "FAIL"],
  );
  const sw = equivarianceSweep(cases, x, { nAngles: 13, floor: 1e-17 });
  assert.equal(overallStatus(sw.checks), "PASS");
  assert.equal(sw.angles.length, 13);
  assert.ok(Math.abs(sw.angles[12] - 2 * Math.PI) < 1e-15);
  assert.equal(sw.errors[0][0], 0, "θ = 0: R = I, the error is exactly 0");
  assert.equal(sw.series[0].y[0], 1e-17, "floored for the log axis");
  assert.ok(sw.errors[1][6] > 1e-3, "the control is visibly non-equivariant at θ = π");
});

test("net torque: a two-particle case by hand, and Σ x × F of a trap in closed form", () => {
  // x1 = e_x with F1 = 2e_y, x2 = e_y with F2 = 3e_z: τ = (0,0,2) + (3,0,0)
  const x = new Float64Array([1, 0, 0, 0, 1, 0]);
  const f = new Float64Array([0, 2, 0, 0, 0, 3]);
  assert.deepEqual(Array.from(netTorque(x, f)), [3, 0, 2]);
  assert.deepEqual(Array.from(netForce(f)), [0, 2, 3]);
  // LJ + trap K = diag(k): the LJ part has zero torque, the trap's is Σ x_i × (−K x_i), whose
  // components are (k_y − k_z)Σyz, (k_z − k_x)Σzx, (k_x − k_y)Σxy.
  const c = makeCluster(new Rng(29));
  const k = [0.5, 1, 2];
  const t = netTorque(c, withAnisotropicTrap(lj, k).forces(c));
  let yz = 0,
    zx = 0,
    xy = 0;
  for (let i = 0; i < c.length; i += 3) {
    yz += c[i + 1] * c[i + 2];
    zx += c[i + 2] * c[i];
    xy += c[i] * c[i + 1];
  }
  const expected = [(k[1] - k[2]) * yz, (k[2] - k[0]) * zx, (k[0] - k[1]) * xy];
  for (let a = 0; a < 3; a++) assert.ok(Math.abs(t[a] - expected[a]) < 1e-12, `τ[${a}]=${t[a]}`);
  assert.ok(Math.hypot(...expected) > 0.1, "clearly non-zero");
  assert.ok(Math.hypot(...netTorque(c, lj.forces(c))) < 1e-12);
});

test("forceCheck: torque ≈ 0 if invariant, FAIL for anisotropic trap, SKIPPED without tfjs", () => {
  const x = makeCluster(new Rng(30));
  for (const p of [lj, withAnisotropicTrap(lj, [1, 1, 1]), gyr]) {
    const r = forceCheck(p, x);
    assert.equal(overallStatus(r.checks), "PASS", JSON.stringify(r.checks));
    assert.ok(r.netTorqueRel < 1e-14 && r.netForceRel < 1e-14, `${p.name}`);
  }
  const bad = forceCheck(withAnisotropicTrap(lj, [0.5, 1, 2]), x);
  assert.ok(bad.netTorqueRel > 1e-3);
  assert.deepEqual(
    bad.checks.map((c) => c.status),
    ["PASS", "PASS", "FAIL"],
  );
  // An energy tfjs has no form for: the autodiff row compared nothing, so it says SKIPPED.
  const custom: Potential = { ...lj, name: "custom", terms: {} as Potential["terms"] };
  const before = tf.memory().numTensors;
  const r = forceCheck(custom, x);
  assert.equal(tf.memory().numTensors, before, "the failed autodiff leaked tensors");
  assert.equal(r.checks[0].status, "SKIPPED");
  assert.match(r.checks[0].note ?? "", /no TensorFlow\.js form/);
  assert.ok(Number.isNaN(r.autodiffRelError));
  assert.equal(r.table[0]["autodiff vs analytic"], null);
  const e = equivarianceCheck(custom, x, new Rng(31), 1);
  assert.deepEqual(
    e.checks.map((c) => c.status),
    ["PASS", "PASS", "SKIPPED"],
  );
  const all = forceChecks([lj, custom], x);
  assert.equal(all.table.length, 2);
  assert.equal(all.checks.length, 6);
});

test("forceArrowPanels: the xy projections, and the two routes to F(xRᵀ) coincide for LJ", () => {
  const x = makeCluster(new Rng(32));
  const R = rotationAboutAxis([0, 0, 1], 1);
  const [p0, p1] = forceArrowPanels(lj, x, R);
  assert.deepEqual(Array.from(p0.points), Array.from(projectXY(x)));
  assert.equal(p1.vectors.length, 2);
  assert.ok(relDiff(p1.vectors[1].v, p1.vectors[0].v) < 1e-7);
});
