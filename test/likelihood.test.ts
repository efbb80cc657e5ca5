/**
 * The probability-flow log-likelihood against closed forms: Gaussian data (log p_ε in closed form,
 * and the density the ODE gives with the N(0, I) prior, also in closed form), a Gaussian mixture
 * and the near-exact two-moons mixture; the finite-difference divergence against the exact
 * divergence of a mixture's score.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gaussianMixtureScore, gaussianScore, moonsReferenceScore } from "../src/core/exact-scores";
import {
  bitsPerDim,
  defaultFdStep,
  gaussianMixtureLogDensity,
  kdeBandwidthByHeldOut,
  kdeLogDensity,
  logLikelihoodPFODE,
  moonsReferenceLogDensity,
  scoreAndDivergence,
  scottBandwidth,
} from "../src/core/likelihood";
import { makeMoons } from "../src/core/moons";
import { Rng } from "../src/core/random";
import { ScoreFn } from "../src/core/sampler";
import { alpha, defaultSchedule, sigma } from "../src/core/sde";

const schedule = defaultSchedule();
const tMin = 1e-3;
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, k) => Math.max(m, Math.abs(v - b[k])), 0);

const mu = [1, -0.5];
const d = [0.25, 0.5]; // Σ = diag(d)
const S = [
  [d[0], 0],
  [0, d[1]],
];

/** Points around the Gaussian's bulk, n×2. */
function gaussianPoints(n: number, seed: number): Float64Array {
  const z = new Rng(seed).normalArray(2 * n) as Float64Array;
  return z.map((v, k) => mu[k % 2] + Math.sqrt(d[k % 2]) * 1.5 * v);
}

/** log N(x; αμ, α²Σ + σ²I) at time t, written out for diagonal Σ (independent of the library). */
function gaussianLogDensity(x: Float64Array, t: number): Float64Array {
  const a = alpha(t, schedule),
    s2 = sigma(t, schedule) ** 2;
  return Float64Array.from({ length: x.length / 2 }, (_, i) => {
    let l = -Math.log(2 * Math.PI);
    for (let j = 0; j < 2; j++) {
      const v = a * a * d[j] + s2;
      l += -0.5 * Math.log(v) - (x[2 * i + j] - a * mu[j]) ** 2 / (2 * v);
    }
    return l;
  });
}

test("Gaussian: ODE log-likelihood with exact p_1 = closed-form log p_ε(x) to 1e-3 nats", () => {
  const score = gaussianScore(mu, S, schedule);
  const x = gaussianPoints(40, 1);
  const exact = gaussianLogDensity(x, tMin);
  const logPrior = (x1: Float64Array) => gaussianLogDensity(x1, 1);
  for (const solver of [{ rtol: 1e-6 }, { steps: 50 }]) {
    const r = logLikelihoodPFODE(score, x, { tMin, schedule, logPrior, ...solver });
    const err = maxAbsDiff(r.logp, exact);
    assert.ok(err < 1e-3, `${JSON.stringify(solver)}: max error ${err} nats`);
    assert.ok(r.nfe > 0);
  }
});

test("Gaussian with the N(0, I) prior: the density of N(0, I) pushed through the flow", () => {
  // x_ε = αε μ + b (x_1 − α_1 μ), b_j = √(v_ε/v_1), so q(x_ε) = N(x_1; 0, I) / (b_0 b_1).
  const score = gaussianScore(mu, S, schedule);
  const x = gaussianPoints(40, 2);
  const v = (t: number, j: number) => alpha(t, schedule) ** 2 * d[j] + sigma(t, schedule) ** 2;
  const b = [0, 1].map((j) => Math.sqrt(v(tMin, j) / v(1, j)));
  const pushed = Float64Array.from({ length: 40 }, (_, i) => {
    let l = -Math.log(2 * Math.PI);
    for (let j = 0; j < 2; j++) {
      const x1 = alpha(1, schedule) * mu[j] + (x[2 * i + j] - alpha(tMin, schedule) * mu[j]) / b[j];
      l += -0.5 * x1 * x1 - Math.log(b[j]);
    }
    return l;
  });
  const r = logLikelihoodPFODE(score, x, { tMin, schedule, rtol: 1e-6 });
  assert.ok(maxAbsDiff(r.logp, pushed) < 1e-3, `error ${maxAbsDiff(r.logp, pushed)}`);
  // The prior's mismatch with the true p_1 = N(α_1 μ, C_1) is visible (α_1 ≈ 0.0066): > 1e-3.
  assert.ok(maxAbsDiff(r.logp, gaussianLogDensity(x, tMin)) > 1e-3);
});

test("Gaussian mixture and the near-exact moons mixture: ODE log-likelihood = closed form", () => {
  const w = [0.3, 0.7];
  const means = [
    [-1, 0.5],
    [1, -0.5],
  ];
  const covs = [
    [
      [0.05, 0.02],
      [0.02, 0.1],
    ],
    [
      [0.2, 0],
      [0, 0.02],
    ],
  ];
  const mix = gaussianMixtureScore(w, means, covs, schedule);
  const x = new Rng(3).normalArray(60) as Float64Array;
  const logp = (y: Float64Array, t: number) =>
    gaussianMixtureLogDensity(y, t, w, means, covs, schedule);
  const r = logLikelihoodPFODE(mix, x, { tMin, schedule, rtol: 1e-6, logPrior: (y) => logp(y, 1) });
  assert.ok(
    maxAbsDiff(r.logp, logp(x, tMin)) < 1e-3,
    `mixture: ${maxAbsDiff(r.logp, logp(x, tMin))}`,
  );

  const moons = makeMoons(12, { seed: 4 }).x as Float64Array;
  const ref = moonsReferenceLogDensity(0.05, schedule, 50);
  const rm = logLikelihoodPFODE(moonsReferenceScore(0.05, schedule, 50), moons, {
    tMin,
    schedule,
    rtol: 1e-6,
    logPrior: (y) => ref(y, 1),
  });
  assert.ok(
    maxAbsDiff(rm.logp, ref(moons, tMin)) < 1e-3,
    `moons: ${maxAbsDiff(rm.logp, ref(moons, tMin))}`,
  );
  const bpd = bitsPerDim(rm.logp);
  assert.ok(Math.abs(bpd[0] + rm.logp[0] / (2 * Math.LN2)) < 1e-15);
});

/** Exact ∇·s of a mixture's score: Σ_k r_k (|g_k|² − tr C_k⁻¹) − |s|², g_k = −C_k⁻¹(x − αμ_k). */
function mixtureDivergence(
  x: Float64Array,
  t: number,
  w: number[],
  m: number[][],
  c: number[][][],
) {
  const a = alpha(t, schedule),
    s2 = sigma(t, schedule) ** 2;
  return Float64Array.from({ length: x.length / 2 }, (_, i) => {
    const parts = w.map((wk, k) => {
      const c00 = a * a * c[k][0][0] + s2,
        c01 = a * a * c[k][0][1],
        c11 = a * a * c[k][1][1] + s2;
      const det = c00 * c11 - c01 * c01;
      const dx = x[2 * i] - a * m[k][0],
        dy = x[2 * i + 1] - a * m[k][1];
      const gx = -(c11 * dx - c01 * dy) / det,
        gy = -(-c01 * dx + c00 * dy) / det;
      const logr = Math.log(wk) - 0.5 * Math.log(det) + 0.5 * (dx * gx + dy * gy);
      return { logr, gx, gy, tr: (c00 + c11) / det };
    });
    const max = Math.max(...parts.map((p) => p.logr));
    const r = parts.map((p) => Math.exp(p.logr - max));
    const z = r.reduce((u, v) => u + v);
    let sx = 0,
      sy = 0,
      acc = 0;
    parts.forEach((p, k) => {
      sx += (r[k] / z) * p.gx;
      sy += (r[k] / z) * p.gy;
      acc += (r[k] / z) * (p.gx ** 2 + p.gy ** 2 - p.tr);
    });
    return acc - sx * sx - sy * sy;
  });
}

test("FD divergence: relative error ≈ 1e-10 in float64, ≈ 1e-5 for float32 scores", () => {
  // Two overlapping components: the score bends between them, where truncation error shows.
  const w = [0.5, 0.5];
  const m = [
    [0, 0],
    [0.3, 0.1],
  ];
  const c = [
    [
      [0.0025, 0],
      [0, 0.0025],
    ],
    [
      [0.01, 0.004],
      [0.004, 0.003],
    ],
  ];
  const score = gaussianMixtureScore(w, m, c, schedule);
  const f32: ScoreFn = (x, t, n) => Float32Array.from(score(Float32Array.from(x), t, n));
  const errors: Record<string, Record<string, number>> = {};
  for (const t of [tMin, 0.01, 0.1, 0.5, 1]) {
    // Points along the segment between the (noised) means, spread by the local scale.
    const rng = new Rng(7);
    const spread = Math.sqrt(0.0025 * alpha(t, schedule) ** 2 + sigma(t, schedule) ** 2);
    const x = Float64Array.from({ length: 40 }, (_, k) => {
      const u = Math.floor(k / 2) / 19;
      return alpha(t, schedule) * u * m[1][k % 2] + spread * rng.normal();
    });
    const exact = mixtureDivergence(x, t, w, m, c);
    const scale = Math.max(...exact.map(Math.abs));
    const rel = (h: number, sc: ScoreFn) =>
      maxAbsDiff(scoreAndDivergence(sc, x, t, h).div, exact) / scale;
    const h64 = defaultFdStep(schedule, false)(t);
    const h32 = defaultFdStep(schedule, true)(t);
    const e = {
      f64: rel(h64, score),
      f32: rel(h32, f32),
      f32WithF64Step: rel(h64, f32),
      f64Wide: rel(0.3 * spread, score),
    };
    errors[`t=${t}`] = e;
    const msg = JSON.stringify(errors);
    assert.ok(e.f64 < 1e-9, msg);
    assert.ok(e.f32 < 2e-4, msg);
    // The step must follow the score's precision: float64's step on a float32 score is rounding.
    assert.ok(e.f32WithF64Step > 30 * e.f32, msg);
    // While the mixture is still bent (t ≤ 0.1), a step near its length scale truncates.
    if (t <= 0.1) assert.ok(e.f64Wide > 1e4 * e.f64, msg);
  }
  // The Gaussian's score is linear: no truncation, only rounding u·|s|/h ≈ 1e-9 relative.
  const g = gaussianScore(mu, S, schedule);
  const x = gaussianPoints(10, 9);
  const div = scoreAndDivergence(g, x, tMin, defaultFdStep(schedule, false)(tMin)).div;
  const a = alpha(tMin, schedule),
    s2 = sigma(tMin, schedule) ** 2;
  const exactG = -(1 / (a * a * d[0] + s2) + 1 / (a * a * d[1] + s2));
  div.forEach((v) => assert.ok(Math.abs(v / exactG - 1) < 1e-8, `${v} vs ${exactG}`));
});

test("gaussianMixtureLogDensity: normalised, and its gradient is gaussianMixtureScore", () => {
  const w = [1, 3];
  const means = [
    [0, 0],
    [1.5, 1],
  ];
  const covs = [
    [
      [0.1, 0.05],
      [0.05, 0.2],
    ],
    [
      [0.3, 0],
      [0, 0.05],
    ],
  ];
  const t = 0.05;
  // ∫ p_t over a grid wide enough for both components: midpoint rule.
  const h = 0.02;
  const pts: number[] = [];
  for (let xg = -3 + h / 2; xg < 4.5; xg += h)
    for (let yg = -3 + h / 2; yg < 4; yg += h) pts.push(xg, yg);
  const lp = gaussianMixtureLogDensity(Float64Array.from(pts), t, w, means, covs, schedule);
  const mass = lp.reduce((s, l) => s + Math.exp(l) * h * h, 0);
  assert.ok(Math.abs(mass - 1) < 1e-6, `mass ${mass}`);
  const score = gaussianMixtureScore(w, means, covs, schedule);
  const x = new Rng(2).normalArray(10) as Float64Array;
  const s = score(x, t);
  const e = 1e-6;
  for (let k = 0; k < 10; k++) {
    const xp = Float64Array.from(x),
      xm = Float64Array.from(x);
    xp[k] += e;
    xm[k] -= e;
    const i = k >> 1;
    const fd =
      (gaussianMixtureLogDensity(xp, t, w, means, covs, schedule)[i] -
        gaussianMixtureLogDensity(xm, t, w, means, covs, schedule)[i]) /
      (2 * e);
    assert.ok(Math.abs(fd - s[k]) < 1e-6 * (1 + Math.abs(s[k])), `${fd} vs ${s[k]}`);
  }
});

test("likelihood settings are validated with errors naming the bad value", () => {
  const g = gaussianScore();
  const x = new Float64Array([0, 0]);
  assert.throws(() => logLikelihoodPFODE(g, x, { tMin: 0, schedule }), /tMin=0/);
  assert.throws(() => logLikelihoodPFODE(g, x, { tMin, schedule, steps: 1.5 }), /steps=1.5/);
  assert.throws(() => logLikelihoodPFODE(g, new Float64Array(3), { tMin, schedule }), /x.length=3/);
  assert.throws(
    () => logLikelihoodPFODE(g, x, { tMin, schedule: { betaMin: 1, betaMax: 0 } }),
    /betaMax=0/,
  );
});

test("KDE: a mixture of N(c_j, h²I), normalised; Scott's rule; held-out bandwidth", () => {
  const centres = Float64Array.from([0, 0, 1, 0.5, -0.5, 2]);
  const h = 0.3;
  const x = Float64Array.from([0.1, -0.2, 1, 0.4, 3, 3]);
  // Against the closed form of the same mixture (gaussianMixtureLogDensity at t = 0).
  const cov = [
    [h * h, 0],
    [0, h * h],
  ];
  const means = [
    [0, 0],
    [1, 0.5],
    [-0.5, 2],
  ];
  const want = gaussianMixtureLogDensity(x, 0, [1, 1, 1], means, [cov, cov, cov]);
  const got = kdeLogDensity(centres, x, h);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-12, `${g} vs ${want[i]}`));
  // Integrates to one (midpoint rule on [−3, 4]², step 0.05).
  const step = 0.05;
  const pts: number[] = [];
  for (let a = -3 + step / 2; a < 4; a += step)
    for (let b = -3 + step / 2; b < 4; b += step) pts.push(a, b);
  const mass = kdeLogDensity(centres, Float64Array.from(pts), h).reduce(
    (s, l) => s + Math.exp(l),
    0,
  );
  assert.ok(Math.abs(mass * step * step - 1) < 1e-3, `mass ${mass * step * step}`);
  // Scott's rule: m^(−1/6) × mean coordinate sd; for 64 points with sd 1 and 2: 0.5 × 1.5.
  const rng = new Rng(1);
  const g = Float64Array.from({ length: 128 }, (_, k) => (k % 2 ? 2 : 1) * rng.normal());
  const sd = (d: number) => {
    const v = Array.from({ length: 64 }, (_, j) => g[2 * j + d]);
    const m = v.reduce((a, b) => a + b) / 64;
    return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / 63);
  };
  assert.ok(Math.abs(scottBandwidth(g) - 0.5 * ((sd(0) + sd(1)) / 2)) < 1e-12);
  // Held-out choice on thin moons picks a bandwidth near the data's noise, not the widest.
  const train = makeMoons(1000, { noise: 0.05, seed: 1 }).x as Float64Array;
  const valid = makeMoons(500, { noise: 0.05, seed: 2 }).x as Float64Array;
  const { bandwidth, scores } = kdeBandwidthByHeldOut(train, valid, [0.005, 0.03, 0.3]);
  assert.equal(bandwidth, 0.03, JSON.stringify(scores));
  assert.throws(() => kdeLogDensity(centres, x, 0), /bandwidth=0/);
  assert.throws(() => kdeLogDensity(centres, x.subarray(0, 3), 1), /x.length=3/);
});
