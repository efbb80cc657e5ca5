import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import { defaultLossConfig, sampleBatch } from "../src/core/loss";
import { defaultModelConfig } from "../src/core/mlp";
import { batchLoss, tfDsmLoss, TensorScoreFn } from "../src/engines/tfjs-loss";
import { createScoreModel } from "../src/engines/tfjs-model";
import { Rng } from "../src/core/random";
import { defaultSchedule } from "../src/core/sde";
import { dsmLoss64 } from "./helpers/reference-mlp";

before(async () => {
  await selectBackend();
});

const schedule = defaultSchedule();
const lossCfg = defaultLossConfig();

/** α(t), σ(t) of the linear VP schedule, written out here independently of src/core/sde.ts. */
function alphaSigma64(t: number): [number, number] {
  const intBeta = schedule.betaMin * t + 0.5 * (schedule.betaMax - schedule.betaMin) * t * t;
  return [Math.exp(-0.5 * intBeta), Math.sqrt(-Math.expm1(-intBeta))];
}

/**
 * For x0 ~ N(0, I) the VP marginal p_t is N(0, I), whose exact score is −x_t. Then
 * −x_t + ε/σ̃ = −α x0 + (1/σ̃ − σ) ε, so E‖·‖² = 2 (α² + (1/σ̃ − σ)²) in two dimensions.
 */
function exactScoreLoss(t: number): number {
  const [a, s] = alphaSigma64(t);
  const c = 1 / Math.max(s, lossCfg.sigmaMin) - s;
  return 2 * (a * a + c * c);
}

const exactScore: TensorScoreFn = (x) => tf.neg(x);
const gaussianX0 = (rng: Rng, n: number) => rng.normalArray(2 * n);

test("DSM loss of the exact score at fixed t matches the closed form 2(α² + (1/σ − σ)²)", () => {
  const rng = new Rng(1);
  const n = 20000;
  for (const t of [1e-3, 0.01, 0.1, 0.5, 1]) {
    const batch = sampleBatch(rng, gaussianX0, n, lossCfg);
    batch.t.fill(t);
    const mc = batchLoss(exactScore, batch, schedule, lossCfg);
    const expected = exactScoreLoss(t);
    // Each sample's loss is v·χ²₂ (v = α² + c²): relative standard error 1/√n ≈ 0.7 %.
    assert.ok(
      Math.abs(mc / expected - 1) < 0.04,
      `t=${t}: Monte Carlo ${mc} vs closed form ${expected}`,
    );
  }
});

test("DSM loss of the exact score with t ~ U(tMin, 1) matches quadrature over t", () => {
  // Expected loss = (1/(1 − tMin)) ∫_{tMin}^1 2(α² + (1/σ − σ)²) dt, by Simpson's rule in u = log t
  // (the integrand grows like 1/t near tMin, so a log grid resolves it).
  const m = 20000;
  const u0 = Math.log(lossCfg.tMin);
  const h = -u0 / m;
  let integral = 0;
  for (let i = 0; i <= m; i++) {
    const t = Math.exp(u0 + i * h);
    const w = i === 0 || i === m ? 1 : i % 2 === 1 ? 4 : 2;
    integral += w * exactScoreLoss(t) * t;
  }
  const expected = (integral * h) / 3 / (1 - lossCfg.tMin);

  const rng = new Rng(2);
  const batches = 400;
  const values: number[] = [];
  for (let k = 0; k < batches; k++)
    values.push(
      batchLoss(exactScore, sampleBatch(rng, gaussianX0, 256, lossCfg), schedule, lossCfg),
    );
  const mean = values.reduce((a, b) => a + b, 0) / batches;
  const se = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (batches - 1) / batches);
  assert.ok(se / expected < 0.05, `test too loose: standard error ${se} vs expected ${expected}`);
  assert.ok(
    Math.abs(mean - expected) < 5 * se,
    `Monte Carlo ${mean} ± ${se} vs quadrature ${expected}`,
  );
});

test("loss value and parameter gradients match a float64 re-implementation (finite differences)", () => {
  const model = createScoreModel(defaultModelConfig(), 5);
  const rng = new Rng(3);
  // Non-zero biases so every parameter's gradient is exercised.
  model.setWeights(model.getWeights().map((w) => w.map((v) => v + 0.05 * rng.normal())));
  const n = 8;
  const batch = sampleBatch(rng, gaussianX0, n, lossCfg);
  const w64 = model.getWeights().map((w) => Float64Array.from(w));
  const f64 = () =>
    dsmLoss64(
      w64,
      batch.x0,
      batch.t,
      batch.eps,
      schedule.betaMin,
      schedule.betaMax,
      lossCfg.sigmaMin,
    );

  const { value, grads } = tf.variableGrads(
    () =>
      tfDsmLoss(
        model,
        tf.tensor2d(batch.x0, [n, 2]),
        tf.tensor1d(batch.t),
        tf.tensor2d(batch.eps, [n, 2]),
        schedule,
        lossCfg,
      ),
    model.params,
  );
  const loss32 = value.dataSync()[0];
  const g32 = model.params.map((p) => grads[p.name].dataSync());
  tf.dispose([value, ...Object.values(grads)]);

  const loss64 = f64();
  assert.ok(Math.abs(loss32 / loss64 - 1) < 1e-5, `loss ${loss32} vs float64 ${loss64}`);

  let diff2 = 0;
  let norm2 = 0;
  let maxAbs = 0;
  const fd: number[][] = [];
  w64.forEach((w, i) => {
    fd.push([]);
    for (let k = 0; k < w.length; k++) {
      const h = 1e-5;
      const orig = w[k];
      w[k] = orig + h;
      const up = f64();
      w[k] = orig - h;
      const down = f64();
      w[k] = orig;
      const g = (up - down) / (2 * h);
      fd[i].push(g);
      diff2 += (g - g32[i][k]) ** 2;
      norm2 += g * g;
      maxAbs = Math.max(maxAbs, Math.abs(g));
    }
  });
  assert.ok(Math.sqrt(diff2 / norm2) < 1e-4, `relative gradient error ${Math.sqrt(diff2 / norm2)}`);
  fd.forEach((layer, i) =>
    layer.forEach((g, k) =>
      assert.ok(
        Math.abs(g - g32[i][k]) < 1e-4 * maxAbs,
        `param ${i}[${k}]: fd ${g} vs autodiff ${g32[i][k]}`,
      ),
    ),
  );
  model.dispose();
});

test("σ clamp: t = 0 (σ = 0) gives a finite loss equal to the float64 value with σ replaced by sigmaMin", () => {
  const model = createScoreModel(defaultModelConfig(), 6);
  const rng = new Rng(4);
  const batch = sampleBatch(rng, gaussianX0, 16, lossCfg);
  batch.t.fill(0, 0, 8); // half the batch exactly at t = 0
  const loss = batchLoss(model, batch, schedule, lossCfg);
  assert.ok(Number.isFinite(loss), `loss at t = 0 is ${loss}`);
  const w64 = model.getWeights().map((w) => Float64Array.from(w));
  const ref = dsmLoss64(
    w64,
    batch.x0,
    batch.t,
    batch.eps,
    schedule.betaMin,
    schedule.betaMax,
    lossCfg.sigmaMin,
  );
  assert.ok(Math.abs(loss / ref - 1) < 1e-5, `loss ${loss} vs float64 ${ref}`);
  model.dispose();
});

test("sampleBatch: reproducible from the Rng state, t in [tMin, 1], x0 rows taken from the data set", () => {
  const data = new Float64Array([0, 1, 2, 3, 4, 5]); // three points
  const a = sampleBatch(new Rng(9), data, 1000, lossCfg);
  const b = sampleBatch(new Rng(9), data, 1000, lossCfg);
  assert.deepEqual(a, b);
  const rows = new Set<string>();
  for (let i = 0; i < 1000; i++) rows.add(`${a.x0[2 * i]},${a.x0[2 * i + 1]}`);
  assert.deepEqual([...rows].sort(), ["0,1", "2,3", "4,5"]);
  assert.ok(a.t.every((t) => t >= lossCfg.tMin && t <= 1));
  const meanT = a.t.reduce((s, t) => s + t, 0) / 1000;
  assert.ok(Math.abs(meanT - (1 + lossCfg.tMin) / 2) < 0.03, `mean t ${meanT}`);
  // batchSize and the loss config are checked once where they enter, by train (train.test.ts);
  // the data set's shape still here.
  assert.throws(() => sampleBatch(new Rng(0), new Float64Array(3), 4, lossCfg), /length 3/);
});

test("tfDsmLoss leaks no tensors and checks shapes", () => {
  const model = createScoreModel(defaultModelConfig(), 0);
  const batch = sampleBatch(new Rng(0), gaussianX0, 32, lossCfg);
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) batchLoss(model, batch, schedule, lossCfg);
  assert.equal(tf.memory().numTensors, before);
  tf.tidy(() => {
    assert.throws(
      () =>
        tfDsmLoss(
          model,
          tf.zeros([4, 2]) as tf.Tensor2D,
          tf.zeros([3]) as tf.Tensor1D,
          tf.zeros([4, 2]) as tf.Tensor2D,
          schedule,
          lossCfg,
        ),
      /t\.shape=\[3\]/,
    );
  });
  model.dispose();
});
