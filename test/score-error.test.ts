/**
 * The σ²-weighted score error against cases with a known answer: exact vs exact (0), a constant
 * offset (σ²|c|² exactly), and nothing learned on N(0, I) data (2σ², by Monte Carlo).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { gaussianScore, zeroScore } from "../src/core/exact-scores";
import { Rng } from "../src/core/random";
import { ScoreFn } from "../src/core/sampler";
import { defaultSchedule, sigma } from "../src/core/sde";
import { defaultGrid, scoreError, scoreErrorByTime, scoreGrid } from "../src/core/score-error";

const schedule = defaultSchedule();
const cfg = { seed: 3, schedule };
const x0 = new Rng(1).normalArray(2 * 4000) as Float64Array; // data N(0, I)

test("exact score against itself: zero error at every t", () => {
  const s = gaussianScore([1, 2]);
  for (const e of scoreErrorByTime(s, s, x0, [0.001, 0.5, 1], cfg)) {
    assert.equal(e.mean, 0);
    assert.equal(e.standardError, 0);
  }
});

test("a constant offset c: error σ(t)²|c|² exactly", () => {
  const s = gaussianScore();
  const c = [0.3, -0.4];
  const shifted: ScoreFn = (x, t, n) => s(x, t, n).map((v, k) => v + c[k % 2]);
  for (const t of [0.01, 0.3, 1]) {
    const e = scoreError(shifted, s, x0, t, cfg);
    const want = sigma(t, schedule) ** 2 * 0.25;
    assert.ok(Math.abs(e.mean - want) < 1e-12, `t=${t}: ${e.mean} vs ${want}`);
  }
});

test("nothing learned on N(0, I) data (score −x): error σ² E|x_t|² = 2σ², within 4 s.e.", () => {
  for (const t of [0.05, 0.5, 1]) {
    const e = scoreError(zeroScore, gaussianScore(), x0, t, cfg);
    const want = 2 * sigma(t, schedule) ** 2;
    assert.ok(
      Math.abs(e.mean - want) < 4 * e.standardError,
      `t=${t}: ${e.mean} ± ${e.standardError} vs ${want}`,
    );
    assert.equal(e.perPoint.length, 4000);
  }
  // Seeded: the same seed gives the same estimate, another seed another one.
  const a = scoreError(zeroScore, gaussianScore(), x0, 0.5, cfg).mean;
  assert.equal(scoreError(zeroScore, gaussianScore(), x0, 0.5, cfg).mean, a);
  assert.notEqual(scoreError(zeroScore, gaussianScore(), x0, 0.5, { ...cfg, seed: 4 }).mean, a);
});

test("scoreGrid: an nx × ny grid, x fastest, with both scores at its points", () => {
  const g = { ...defaultGrid(), nx: 3, ny: 2 };
  const model = gaussianScore([1, 0]);
  const ref = gaussianScore();
  const r = scoreGrid(model, ref, 0.2, g);
  assert.equal(r.points.length, 12);
  assert.deepEqual(Array.from(r.points.slice(0, 6)), [g.xMin, g.yMin, 0.5, g.yMin, g.xMax, g.yMin]);
  assert.deepEqual(Array.from(r.points.slice(6, 8)), [g.xMin, g.yMax]);
  assert.deepEqual(r.model, Float64Array.from(model(r.points, 0.2)));
  assert.deepEqual(r.reference, Float64Array.from(ref(r.points, 0.2)));
});

test("inputs are validated with errors naming the bad value", () => {
  const s = gaussianScore();
  assert.throws(() => scoreError(s, s, x0, 0, cfg), /t=0/);
  assert.throws(() => scoreError(s, s, new Float64Array(3), 0.5, cfg), /x0.length=3/);
  assert.throws(() => scoreGrid(s, s, 0.5, { ...defaultGrid(), nx: 1 }), /nx=1/);
  assert.throws(() => scoreGrid(s, s, 0.5, { ...defaultGrid(), xMax: -2 }), /x in \[-1.5, -2\]/);
});
