import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../src/core/random";
import { MAX_MOONS_SAMPLES, defaultMoonsConfig, iidMoons, makeMoons } from "../src/core/moons";

/** Written by scripts/make-moons-fixture.py from scikit-learn's make_moons(n, shuffle=False, noise=None). */
const fixture: { sklearn: string; cases: { n: number; x: number[]; y: number[] }[] } = JSON.parse(
  readFileSync(join(__dirname, "fixtures", "moons-sklearn.json"), "utf8"),
);

/** Rows "x,y,label" sorted, to compare point sets irrespective of order. */
function sortedRows(x: Float64Array, y: Uint8Array): string[] {
  return Array.from(y, (label, i) => `${x[2 * i]},${x[2 * i + 1]},${label}`).sort();
}

test("noise-free, unshuffled makeMoons equals scikit-learn's make_moons (fixture)", () => {
  assert.ok(fixture.cases.length >= 3);
  for (const { n, x, y } of fixture.cases) {
    const m = makeMoons(n, { noise: 0, shuffle: false });
    assert.equal(m.x.length, 2 * n);
    assert.deepEqual(Array.from(m.y), y, `labels, n=${n}`);
    for (let k = 0; k < 2 * n; k++) {
      assert.ok(Math.abs(m.x[k] - x[k]) <= 1e-12, `n=${n}, x[${k}] = ${m.x[k]} vs sklearn ${x[k]}`);
    }
  }
});

test("labels: floor(n/2) outer points on the unit circle, the rest on the inner circle", () => {
  const n = 501;
  const { x, y } = makeMoons(n, { noise: 0, shuffle: true, seed: 3 });
  let outer = 0;
  for (let i = 0; i < n; i++) {
    const [u, v] = [x[2 * i], x[2 * i + 1]];
    if (y[i] === 0) {
      outer++;
      assert.ok(Math.abs(Math.hypot(u, v) - 1) < 1e-12 && v >= -1e-12, `outer point ${i}`);
    } else {
      assert.equal(y[i], 1);
      assert.ok(
        Math.abs(Math.hypot(u - 1, v - 0.5) - 1) < 1e-12 && v <= 0.5 + 1e-12,
        `inner point ${i}`,
      );
    }
  }
  assert.equal(outer, Math.floor(n / 2));
});

test("shuffle permutes rows (points with their labels) and keeps the multiset", () => {
  const n = 300;
  const plain = makeMoons(n, { noise: 0, shuffle: false });
  const shuffled = makeMoons(n, { noise: 0, shuffle: true, seed: 11 });
  assert.deepEqual(sortedRows(shuffled.x, shuffled.y), sortedRows(plain.x, plain.y));
  let moved = 0;
  for (let i = 0; i < n; i++) if (shuffled.x[2 * i] !== plain.x[2 * i]) moved++;
  assert.ok(moved > n / 2, `only ${moved} of ${n} rows moved`);
});

test("noise: residuals have mean ~ 0 and standard deviation ~ noise (5 s.e.)", () => {
  const n = 20000;
  const noise = 0.1;
  const clean = makeMoons(n, { noise: 0, shuffle: false });
  const noisy = makeMoons(n, { noise, shuffle: false, seed: 5 });
  assert.deepEqual(noisy.y, clean.y);
  const m = 2 * n;
  let sum = 0;
  let sumSq = 0;
  let sumXY = 0;
  for (let i = 0; i < n; i++) {
    const r0 = noisy.x[2 * i] - clean.x[2 * i];
    const r1 = noisy.x[2 * i + 1] - clean.x[2 * i + 1];
    sum += r0 + r1;
    sumSq += r0 * r0 + r1 * r1;
    sumXY += r0 * r1;
  }
  const mean = sum / m;
  const std = Math.sqrt(sumSq / m - mean * mean);
  assert.ok(Math.abs(mean) < (5 * noise) / Math.sqrt(m), `mean residual ${mean}`);
  assert.ok(
    Math.abs(std - noise) < (5 * noise) / Math.sqrt(2 * m),
    `residual std ${std} vs ${noise}`,
  );
  const corr = sumXY / n / (noise * noise);
  assert.ok(Math.abs(corr) < 5 / Math.sqrt(n), `coordinates' noise correlation ${corr}`);
});

test("seeded: same seed, same data; other seed, other data; rng is used and advanced", () => {
  const a = makeMoons(200, { seed: 42 });
  assert.deepEqual(makeMoons(200, { seed: 42 }), a);
  assert.notDeepEqual(makeMoons(200, { seed: 43 }).x, a.x);
  assert.deepEqual(makeMoons(200, { rng: new Rng(42) }), a);
  const rng = new Rng(42);
  makeMoons(200, { rng });
  assert.notDeepEqual(makeMoons(200, { rng }).x, a.x);
  assert.deepEqual(makeMoons(200), makeMoons(200, defaultMoonsConfig()));
});

test("defaults: noise 0.05, shuffled, seed 0", () => {
  assert.deepEqual(defaultMoonsConfig(), { noise: 0.05, shuffle: true, seed: 0 });
});

test("validation names the bad value", () => {
  assert.throws(() => makeMoons(0), /nSamples=0/);
  assert.throws(() => makeMoons(-5), /nSamples=-5/);
  assert.throws(() => makeMoons(2.5), /nSamples=2\.5/);
  assert.throws(() => makeMoons(NaN), /nSamples=NaN/);
  assert.throws(() => makeMoons(10, { noise: -0.1 }), /noise=-0\.1/);
  assert.throws(() => makeMoons(10, { noise: Infinity }), /noise=Infinity/);
  assert.throws(() => makeMoons(10, { noise: NaN }), /noise=NaN/);
  assert.throws(() => makeMoons(10, { seed: -1 }), /seed/);
});

test("a huge nSamples is refused with the limit named, before any allocation", () => {
  assert.equal(MAX_MOONS_SAMPLES, 10_000_000);
  for (const n of [1e12, MAX_MOONS_SAMPLES + 1])
    assert.throws(
      () => makeMoons(n),
      (e: Error) =>
        e instanceof RangeError &&
        e.message.includes(`nSamples=${n}`) &&
        /at most 10 ?000 ?000/.test(e.message),
      `n=${n}`,
    );
});

test("iidMoons: noise-free draws lie on the two arcs, half on each, angles spread over [0, π]", () => {
  const n = 4000;
  const x = iidMoons(n, 0, 5);
  let outer = 0;
  for (let i = 0; i < n; i++) {
    const [a, b] = [x[2 * i], x[2 * i + 1]];
    const dOuter = Math.abs(Math.hypot(a, b) - 1) + (b < -1e-12 ? 1 : 0);
    const dInner = Math.abs(Math.hypot(a - 1, b - 0.5) - 1) + (b > 0.5 + 1e-12 ? 1 : 0);
    assert.ok(Math.min(dOuter, dInner) < 1e-12, `point ${i} (${a}, ${b}) is on neither arc`);
    if (dOuter < 1e-12) outer += 1;
  }
  assert.ok(Math.abs(outer / n - 0.5) < 4 * Math.sqrt(0.25 / n), `outer share ${outer / n}`);
  // unlike makeMoons, the angles are random: no two draws share one
  const angles = new Set(Array.from({ length: n }, (_, i) => x[2 * i].toFixed(12)));
  assert.ok(angles.size > 0.99 * n);
  assert.deepEqual(iidMoons(10, 0.05, 3), iidMoons(10, 0.05, 3));
  assert.notDeepEqual(iidMoons(10, 0.05, 3), iidMoons(10, 0.05, 4));
});
