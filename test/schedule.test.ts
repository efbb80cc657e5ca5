import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/core/random";
import {
  ScheduleConfig,
  alpha,
  alphaSigma,
  beta,
  betaIntegral,
  defaultSchedule,
  diffusion,
  forwardDrift,
  marginalSample,
  reverseDrift,
  sigma,
  validateSchedule,
} from "../src/core/sde";
import { defaultSamplerConfig, sampleReverseSDE, ScoreFn } from "../src/core/sampler";
import { alphaTensor, sigmaTensor } from "../src/engines/tfjs-loss";

const schedules: ScheduleConfig[] = [
  defaultSchedule(),
  { betaMin: 0, betaMax: 1 },
  { betaMin: 2, betaMax: 2 },
];
const times = [0, 1e-6, 1e-3, 0.05, 0.3, 0.5, 0.77, 1];

/** Composite Simpson rule on m (even) intervals; independent of the closed form. */
function simpson(f: (u: number) => number, a: number, b: number, m = 2000): number {
  const h = (b - a) / m;
  let sum = f(a) + f(b);
  for (let i = 1; i < m; i++) sum += (i % 2 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
}

test("beta is linear from betaMin to betaMax", () => {
  for (const s of schedules) {
    assert.equal(beta(0, s), s.betaMin);
    assert.ok(Math.abs(beta(1, s) - s.betaMax) <= 1e-15 * s.betaMax);
    assert.ok(Math.abs(beta(0.25, s) - (0.75 * s.betaMin + 0.25 * s.betaMax)) <= 1e-14);
  }
});

test("alpha equals exp(-1/2 * Simpson quadrature of beta)", () => {
  for (const s of schedules) {
    for (const t of times) {
      const integral = simpson((u) => beta(u, s), 0, t);
      assert.ok(
        Math.abs(betaIntegral(t, s) - integral) <= 1e-12 * (1 + integral),
        `betaIntegral(${t})`,
      );
      const expected = Math.exp(-0.5 * integral);
      assert.ok(
        Math.abs(alpha(t, s) - expected) <= 1e-12 * expected,
        `alpha(${t}) = ${alpha(t, s)} vs ${expected}`,
      );
    }
  }
});

test("d/dt betaIntegral = beta (central differences)", () => {
  const s = defaultSchedule();
  const h = 1e-5;
  for (const t of [0.01, 0.2, 0.5, 0.9, 0.99]) {
    const fd = (betaIntegral(t + h, s) - betaIntegral(t - h, s)) / (2 * h);
    assert.ok(Math.abs(fd - beta(t, s)) < 1e-7, `t=${t}: ${fd} vs ${beta(t, s)}`);
  }
});

test("alpha^2 + sigma^2 = 1, alpha(0) = 1, sigma(0) = 0, alpha(1) is small for the default", () => {
  for (const s of schedules) {
    for (let i = 0; i <= 200; i++) {
      const t = i / 200;
      assert.ok(Math.abs(alpha(t, s) ** 2 + sigma(t, s) ** 2 - 1) < 1e-15, `t=${t}`);
    }
    assert.equal(alpha(0, s), 1);
    assert.equal(sigma(0, s), 0);
  }
  assert.ok(alpha(1) < 0.01 && sigma(1) > 0.9999);
});

test("sigma keeps relative precision for tiny t (sigma^2 ~ betaMin * t)", () => {
  const s = defaultSchedule();
  for (const t of [1e-12, 1e-9, 1e-6]) {
    const expected = betaIntegral(t, s) * (1 - betaIntegral(t, s) / 2); //XX // 1 - e^-x = x - x²/2 + O(x³)
    assert.ok(
      Math.abs(sigma(t, s) ** 2 / expected - 1) < 1e-9,
      `t=${t}: sigma^2=${sigma(t, s) ** 2}`,
    );
  }
});

test("validation names the bad value", () => {
  assert.throws(() => validateSchedule({ betaMin: -0.1, betaMax: 20 }), /betaMin=-0\.1/);
  assert.throws(
    () => validateSchedule({ betaMin: 2, betaMax: 1 }),
    /Expected betaMax >= betaMin, but got betaMax=1, betaMin=2/,
  );
  assert.throws(() => validateSchedule({ betaMin: NaN, betaMax: 20 }), /betaMin=NaN/);
  assert.throws(() => validateSchedule({ betaMin: 0.1, betaMax: Infinity }), /betaMax=Infinity/);
  // β, α, σ trust the schedule: it is checked once where it enters, e.g. the sampler (and train,
  // see train.test.ts).
  const zero: ScoreFn = (x) => new Float64Array(x.length);
  assert.throws(
    () =>
      sampleReverseSDE(zero, {
        ...defaultSamplerConfig(),
        schedule: { betaMin: 0.1, betaMax: NaN },
      }),
    /betaMax=NaN/,
  );
  assert.throws(() => beta(-0.1), /t=-0\.1/);
  assert.throws(() => alpha(1.5), /t=1\.5/);
  assert.throws(() => sigma(NaN), /t=NaN/);
  assert.throws(
    () => marginalSample(new Float64Array(4), 0.5, new Float64Array(3)),
    /eps\.length=3/,
  );
  assert.deepEqual(validateSchedule(defaultSchedule()), { betaMin: 0.1, betaMax: 20 });
});

test("marginalSample = alpha x0 + sigma eps, keeping the element type", () => {
  const rng = new Rng(1);
  const x0 = rng.normalArray(10) as Float64Array;
  const eps = rng.normalArray(10);
  const s = { betaMin: 0.5, betaMax: 10 };
  const xt = marginalSample(x0, 0.4, eps, s);
  assert.ok(xt instanceof Float64Array);
  for (let i = 0; i < 10; i++)
    assert.ok(Math.abs(xt[i] - (alpha(0.4, s) * x0[i] + sigma(0.4, s) * eps[i])) < 1e-15);
  assert.ok(marginalSample(new Float32Array(x0), 0.4, eps, s) instanceof Float32Array);
  assert.deepEqual(marginalSample(x0, 0, eps, s), x0);
});

test("forwardDrift = -1/2 beta x and diffusion = sqrt(beta)", () => {
  const s = defaultSchedule();
  assert.deepEqual(Array.from(forwardDrift(new Float64Array([2, -4]), 0.5, s)), [
    -0.5 * beta(0.5, s) * 2,
    0.5 * beta(0.5, s) * 4,
  ]);
  assert.equal(diffusion(0.5, s), Math.sqrt(beta(0.5, s)));
});

test("reverseDrift = f − g² s = −1/2 beta x − beta s (Anderson), and names a bad time", () => {
  const s = { betaMin: 0.5, betaMax: 10 };
  const t = 0.3;
  const b = 0.5 + t * 9.5; // β(0.3), written out
  const x = new Float64Array([2, -4, 0.5]);
  const score = [0.25, 1, -3];
  const d = reverseDrift(x, score, t, s);
  assert.ok(d instanceof Float64Array && d.length === 3);
  for (let i = 0; i < 3; i++) {
    const expected = -0.5 * b * x[i] - b * score[i];
    assert.ok(Math.abs(d[i] - expected) <= 1e-14 * Math.abs(expected), `${d[i]} vs ${expected}`);
  }
  // with the exact score of N(0, I) data (s = −x) the reverse drift is +1/2 beta x
  const dn = reverseDrift(
    x,
    Array.from(x, (v) => -v),
    t,
    s,
  );
  dn.forEach((v, i) => assert.ok(Math.abs(v - 0.5 * b * x[i]) <= 1e-14 * Math.abs(b * x[i])));
  assert.throws(() => reverseDrift(x, score, 1.5, s), /t=1\.5/);
});

test("alphaTensor / sigmaTensor match the float64 functions to float32 precision", async () => {
  await tf.setBackend("cpu");
  const s = defaultSchedule();
  const before = tf.memory().numTensors;
  const t = tf.tensor1d(times);
  const a = alphaTensor(t, s).dataSync();
  const sg = sigmaTensor(t, s).dataSync();
  times.forEach((ti, i) => {
    assert.ok(Math.abs(a[i] - alpha(ti, s)) < 2e-6 * alpha(ti, s) + 1e-30, `alpha(${ti})`);
    assert.ok(
      Math.abs(sg[i] - sigma(ti, s)) <= 2e-6 * sigma(ti, s),
      `sigma(${ti}): ${sg[i]} vs ${sigma(ti, s)}`,
    );
  });
  tf.dispose(t);
  assert.equal(tf.memory().numTensors, before + 2); // only the two returned tensors, no leaked intermediates
});

/**
 * Euler–Maruyama simulation of dx = drift(x, t) dt + sqrt(beta) dW from a fixed x0, with
 * `paths` independent paths; returns sample mean and variance at the requested step indices.
 */
function simulateForward(
  drift: (x: Float64Array, t: number) => Float64Array,
  s: ScheduleConfig,
  x0: number,
  paths: number,
  steps: number,
  record: number[],
  seed: number,
): Map<number, { mean: number; variance: number }> {
  const rng = new Rng(seed);
  const dt = 1 / steps;
  const x = new Float64Array(paths).fill(x0);
  const out = new Map<number, { mean: number; variance: number }>();
  for (let k = 0; k < steps; k++) {
    const t = k * dt;
    const f = drift(x, t);
    const g = Math.sqrt(beta(t, s) * dt);
    for (let p = 0; p < paths; p++) x[p] += f[p] * dt + g * rng.normal();
    if (record.includes(k + 1)) {
      let m = 0;
      for (let p = 0; p < paths; p++) m += x[p];
      m /= paths;
      let v = 0;
      for (let p = 0; p < paths; p++) v += (x[p] - m) ** 2;
      out.set(k + 1, { mean: m, variance: v / (paths - 1) });
    }
  }
  return out;
}

/** Largest |z-score| of simulated mean and variance against alpha x0 and sigma² (Gaussian standard errors). */
function worstZ(
  sim: Map<number, { mean: number; variance: number }>,
  s: ScheduleConfig,
  x0: number,
  paths: number,
  steps: number,
): number {
  let worst = 0;
  for (const [k, { mean, variance }] of sim) {
    const t = k / steps;
    const v = sigma(t, s) ** 2;
    const zMean = (mean - alpha(t, s) * x0) / Math.sqrt(v / paths);
    const zVar = (variance - v) / (v * Math.sqrt(2 / (paths - 1)));
    worst = Math.max(worst, Math.abs(zMean), Math.abs(zVar));
  }
  return worst;
}

test("Euler–Maruyama of the forward SDE (drift -1/2 beta x) matches alpha x0 and sigma^2 within 5 s.e.", () => {
  const s = defaultSchedule();
  const x0 = 1.5;
  const paths = 20000;
  const steps = 1000;
  const record = [50, 100, 300, 600, 1000];
  const sim = simulateForward((x, t) => forwardDrift(x, t, s), s, x0, paths, steps, record, 7);
  const z = worstZ(sim, s, x0, paths, steps);
  assert.ok(z < 5, `worst |z| = ${z.toFixed(2)}`);

  // The same check with the sheet's +1/2 beta x drift must fail by a wide margin.
  const wrong = simulateForward(
    (x, t) => forwardDrift(x, t, s).map((v) => -v),
    s,
    x0,
    2000,
    steps,
    record,
    7,
  );
  const zWrong = worstZ(wrong, s, x0, 2000, steps);
  assert.ok(
    zWrong > 50,
    `with the +1/2 beta x drift, worst |z| = ${zWrong.toFixed(1)} should be far above 5`,
  );
});

test("alphaSigma gives alpha and sigma for every time", () => {
  for (const s of schedules) {
    const t = Float64Array.from([...times, 0.123456789]);
    const a = new Float64Array(t.length),
      sg = new Float64Array(t.length);
    alphaSigma(t, s, a, sg);
    t.forEach((ti, i) => {
      assert.equal(a[i], alpha(ti, s));
      assert.equal(sg[i], sigma(ti, s));
    });
    const t32 = Float32Array.from(t),
      a32 = new Float32Array(t.length),
      s32 = new Float32Array(t.length);
    alphaSigma(t32, s, a32, s32);
    t32.forEach((ti, i) => {
      assert.equal(a32[i], Math.fround(alpha(ti, s)));
      assert.equal(s32[i], Math.fround(sigma(ti, s)));
    });
  }
  // alphaSigma runs once per training step and checks nothing: train validates the schedule and
  // tMin where they enter (train.test.ts), and sampleBatch draws t in [tMin, 1] (loss.test.ts).
});
