import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/core/random";
import { makeMoons } from "../src/core/moons";
import {
  mmdRbf,
  energyDistance,
  medianBandwidth,
  moonShares,
  moonLabels,
  moonDistances,
} from "../src/notebook/metrics";

function gaussian2d(rng: Rng, n: number, mx: number, my: number, s: number): Float64Array {
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = mx + s * rng.normal();
    x[2 * i + 1] = my + s * rng.normal();
  }
  return x;
}

test("mmdRbf: same distribution ≈ 0, shifted distribution large; unbiased estimate matches the Gaussian closed form", () => {
  const rng = new Rng(1);
  const n = 2000,
    s = 0.7,
    h = 1.0;
  const a = gaussian2d(rng, n, 0, 0, s),
    b = gaussian2d(rng, n, 0, 0, s),
    c = gaussian2d(rng, n, 1, 0, s);
  // Closed form for N(μ1, s²I) vs N(μ2, s²I) in 2-D with k = exp(−|x−y|²/2h²):
  // MMD² = 2q(1 − exp(−|Δ|²/(2(h² + 2s²)))),  q = h²/(h² + 2s²).
  const q = (h * h) / (h * h + 2 * s * s);
  const exact = (d2: number) => 2 * q * (1 - Math.exp(-d2 / (2 * (h * h + 2 * s * s))));
  const same = mmdRbf(a, b, h),
    shifted = mmdRbf(a, c, h);
  assert.ok(Math.abs(same - exact(0)) < 0.003, `same-distribution MMD² ${same}`);
  // s.d. of the estimate here ≈ 0.013 (measured over repeated draws); allow 4 s.d.
  assert.ok(
    Math.abs(shifted - exact(1)) < 0.05,
    `shifted MMD² ${shifted}, closed form ${exact(1)}`,
  );
  assert.ok(shifted > 20 * Math.abs(same));
  // Median-heuristic default: still separates the two cases clearly.
  assert.ok(mmdRbf(a, c) > 20 * Math.abs(mmdRbf(a, b)));
});

test("mmdRbf on point masses: 2 − 2 exp(−d²/(2h²)) exactly", () => {
  const p = new Float64Array([1, 2, 1, 2, 1, 2]),
    qq = new Float64Array([4, 6, 4, 6]); // d = 5
  const h = 3;
  assert.ok(Math.abs(mmdRbf(p, qq, h) - (2 - 2 * Math.exp(-25 / 18))) < 1e-14);
  assert.throws(() => mmdRbf(p, qq, -1), /bandwidth=-1/);
});

test("mmdRbf is unbiased: its mean over many tiny same-distribution samples is ≈ 0", () => {
  // The biased (V-statistic) version would average 2(1 − q)/n ≈ 0.17 here (n = 8, q = 1/3).
  const rng = new Rng(7);
  const reps = 400;
  let sum = 0;
  for (let r = 0; r < reps; r++)
    sum += mmdRbf(gaussian2d(rng, 8, 0, 0, 1), gaussian2d(rng, 8, 0, 0, 1), 1);
  assert.ok(Math.abs(sum / reps) < 0.03, `mean MMD² ${sum / reps}`);
});

test("medianBandwidth is the median pairwise distance", () => {
  // Four points on a line at 0, 1, 3, 6: pairwise distances 1, 3, 6, 2, 5, 3 -> median 3.
  const a = new Float64Array([0, 0, 1, 0]),
    b = new Float64Array([3, 0, 6, 0]);
  assert.equal(medianBandwidth(a, b), 3);
});

test("energyDistance: 2|p − q| for point masses, 0 for identical samples", () => {
  const p = new Float64Array([1, 2, 1, 2]),
    q = new Float64Array([4, 6, 4, 6, 4, 6]);
  assert.ok(Math.abs(energyDistance(p, q) - 10) < 1e-14);
  const rng = new Rng(2);
  const a = gaussian2d(rng, 200, 0, 0, 1);
  assert.ok(Math.abs(energyDistance(a, a)) < 1e-12);
});

test("energyDistance in 1-D equals 2∫(F_a − F_b)² dx of the empirical CDFs", () => {
  const rng = new Rng(3);
  const n = 37,
    m = 23;
  const xa = Array.from({ length: n }, () => rng.normal());
  const xb = Array.from({ length: m }, () => 0.5 + 1.5 * rng.normal());
  const embed = (v: number[]) => {
    const x = new Float64Array(2 * v.length);
    v.forEach((u, i) => {
      x[2 * i] = u;
      x[2 * i + 1] = -2;
    });
    return x;
  };
  // Exact integral of a step function: between consecutive pooled points F_a and F_b are constant.
  const pooled = [...xa, ...xb].sort((u, v) => u - v);
  const cdf = (v: number[], t: number) => v.filter((u) => u <= t).length / v.length;
  let integral = 0;
  for (let k = 0; k + 1 < pooled.length; k++)
    integral += (cdf(xa, pooled[k]) - cdf(xb, pooled[k])) ** 2 * (pooled[k + 1] - pooled[k]);
  const ed = energyDistance(embed(xa), embed(xb));
  assert.ok(
    Math.abs(ed - 2 * integral) < 1e-12,
    `energy distance ${ed}, 2∫(F−G)² = ${2 * integral}`,
  );
});

test("energyDistance: same distribution small, shifted large", () => {
  const rng = new Rng(4);
  const a = gaussian2d(rng, 500, 0, 0, 1),
    b = gaussian2d(rng, 500, 0, 0, 1),
    c = gaussian2d(rng, 500, 1, 0, 1);
  assert.ok(energyDistance(a, b) < 0.02, `${energyDistance(a, b)}`);
  assert.ok(energyDistance(a, c) > 0.3, `${energyDistance(a, c)}`); // population value ≈ 0.48 for a unit shift
});

test("moonShares: exact make_moons points are 100% on their own moon", () => {
  const { x, y } = makeMoons(1001, { noise: 0, shuffle: true, seed: 5 });
  const labels = moonLabels(x, 1e-9);
  for (let i = 0; i < y.length; i++)
    assert.equal(labels[i], y[i], `point ${i} (${x[2 * i]}, ${x[2 * i + 1]})`);
  const s = moonShares(x, 1e-9);
  assert.equal(s.outer, 500 / 1001);
  assert.equal(s.inner, 501 / 1001);
  assert.equal(s.neither, 0);
});

test("moonShares: noisy moons mostly on, far and in-between points on neither", () => {
  const { x } = makeMoons(2000, { noise: 0.05, seed: 6 });
  const s = moonShares(x); // threshold 0.15 = 3 × noise
  assert.ok(s.neither < 0.01, `neither=${s.neither}`);
  assert.ok(Math.abs(s.outer - 0.5) < 0.01 && Math.abs(s.inner - 0.5) < 0.01, JSON.stringify(s));
  assert.deepEqual(moonShares(new Float64Array([5, 5, -3, 0, 0.5, 3])), {
    outer: 0,
    inner: 0,
    neither: 1,
  });
  // Hand-checked distances: (0, 1) is on the outer moon and 0.5 from the inner moon's end (0, 0.5);
  // the inner moon's middle is (1, −0.5); (2, 0) is 1 from the outer moon's end (1, 0) and
  // √(1 + 0.25) − 1 from the inner moon (radially from its centre (1, 0.5)).
  assert.deepEqual(moonDistances(0, 1), { outer: 0, inner: 0.5 });
  assert.ok(Math.abs(moonDistances(1, -0.5).inner) < 1e-15);
  const d = moonDistances(2, 0);
  assert.ok(Math.abs(d.outer - 1) < 1e-15 && Math.abs(d.inner - (Math.hypot(1, 0.5) - 1)) < 1e-15);
  assert.throws(() => moonShares(x, -1), /threshold=-1/);
  assert.throws(() => moonShares(new Float64Array(3)), /x.length=3/);
});
