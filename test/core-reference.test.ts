/**
 * The core's plain float64 definitions of part 2c–2d (`mlpForward`, `dsmLoss` with its gradient,
 * `adamStep` through `referenceEngine`) against independent checks, and every engine against them:
 * (1) the network and the loss equal the independent float64 re-implementation in
 *     test/helpers/reference-mlp.ts;
 * (2) the loss's gradient equals central finite differences of the loss;
 * (3) one training step (loss, Adam's first moment, updated parameters) and 20 more of the tfjs and
 *     wasm engines equal the reference engine's from the same weights and batches.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { selectBackend } from "../src/engines/backend";
import { tfjsEngine } from "../src/engines/tfjs";
import { wasmEngine, wasmUnavailableReason } from "../src/engines/wasm";
import { Batch, dsmLoss, sampleBatch } from "../src/core/loss";
import { ModelConfig, initialWeights, mlpForward } from "../src/core/mlp";
import { makeMoons } from "../src/core/moons";
import { Rng } from "../src/core/random";
import {
  EngineFactory,
  TrainConfig,
  TrainEngine,
  defaultTrainConfig,
  referenceEngine,
} from "../src/core/train";
import { dsmLoss64, mlpForward64 } from "./helpers/reference-mlp";

before(async () => {
  await selectBackend();
});

/** Largest |a_i − b_i| over all arrays. */
function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((v, k) => {
    assert.equal(v.length, b[k].length);
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] - b[k][i]));
  });
  return m;
}

/** Largest |a_i| over all arrays. */
function maxAbs(a: ArrayLike<number>[]): number {
  let m = 0;
  for (const v of a) for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/** Weights of `model` from `seed`, with every bias drawn too, so every parameter matters. */
function randomWeights(model: ModelConfig, seed: number): Float32Array[] {
  const w = initialWeights({ ...model, init: "glorot" }, seed);
  const rng = new Rng(seed + 1000);
  for (let i = 1; i < w.length; i += 2) rng.uniformArray(w[i].length, -0.5, 0.5, w[i]);
  return w;
}

/** A batch of two-moons points as `train` draws it. */
function moonsBatch(cfg: TrainConfig, seed: number, n: number): Batch {
  return sampleBatch(new Rng(seed), makeMoons(1000, cfg.moons).x, n, cfg.loss);
}

const architectures: ModelConfig[] = [
  { hidden: [64, 64], activation: "tanh" }, // the sheet's
  { hidden: [16], activation: "tanh" },
  { hidden: [8, 12, 8], activation: "tanh" },
];

test("mlpForward and dsmLoss equal the independent float64 re-implementation (1e-12 relative)", (t) => {
  const cfg = defaultTrainConfig();
  let worstForward = 0;
  let worstLoss = 0;
  architectures.forEach((model, a) => {
    for (let trial = 0; trial < 3; trial++) {
      const seed = 10 * a + trial;
      const w = randomWeights(model, seed);
      const rng = new Rng(seed + 7);
      const n = 37;
      const x = rng.normalArray(2 * n);
      const t = rng.uniformArray(n, 0, 1);
      const { out, inputs } = mlpForward(w, x, t, n);
      const ref = mlpForward64(w, x, t, n);
      const err = maxAbsDiff([out], [ref]) / maxAbs([ref]);
      worstForward = Math.max(worstForward, err);
      assert.ok(err < 1e-12, `${JSON.stringify(model.hidden)}, trial ${trial}: forward ${err}`);
      // the first layer's input is [x, t] per row
      assert.deepEqual(Array.from(inputs[0].subarray(0, 3)), [x[0], x[1], t[0]]);

      const batch = moonsBatch(cfg, seed + 3, 64);
      if (trial === 2) batch.t.fill(0, 0, 4); // σ(0) = 0: the clamp at sigmaMin
      const { loss } = dsmLoss(w, batch, cfg.schedule, cfg.loss);
      const { betaMin, betaMax } = cfg.schedule;
      const loss64 = dsmLoss64(
        w,
        batch.x0,
        batch.t,
        batch.eps,
        betaMin,
        betaMax,
        cfg.loss.sigmaMin,
      );
      const lossErr = Math.abs(loss - loss64) / loss64;
      worstLoss = Math.max(worstLoss, lossErr);
      assert.ok(
        lossErr < 1e-12,
        `${JSON.stringify(model.hidden)}, trial ${trial}: loss ${lossErr}`,
      );
    }
  });
  t.diagnostic(`worst relative error: forward ${worstForward}, loss ${worstLoss}`);
});

test("dsmLoss's gradient equals central finite differences of the loss (float64)", (t) => {
  const cfg = defaultTrainConfig();
  for (const [a, model] of architectures.entries()) {
    const w = randomWeights(model, 50 + a).map((v) => Float64Array.from(v));
    const batch = moonsBatch(cfg, 60 + a, 16);
    const lossAt = () => dsmLoss(w, batch, cfg.schedule, cfg.loss).loss;
    const { grads } = dsmLoss(w, batch, cfg.schedule, cfg.loss);
    const gMax = maxAbs(grads);
    const rng = new Rng(70 + a);
    let worst = 0;
    // a few dozen random coordinates, and the first and last entry of every array
    const picks: [number, number][] = [];
    for (let k = 0; k < 36; k++) {
      const i = rng.int(w.length);
      picks.push([i, rng.int(w[i].length)]);
    }
    w.forEach((v, i) => picks.push([i, 0], [i, v.length - 1]));
    for (const [i, k] of picks) {
      const orig = w[i][k];
      const h = 1e-5 * Math.max(1, Math.abs(orig));
      w[i][k] = orig + h;
      const up = lossAt();
      w[i][k] = orig - h;
      const down = lossAt();
      w[i][k] = orig;
      const fd = (up - down) / (2 * h);
      // relative to the entry, with a floor at 1e-3 of the largest entry for entries near zero
      const err = Math.abs(fd - grads[i][k]) / Math.max(Math.abs(grads[i][k]), 1e-3 * gMax);
      worst = Math.max(worst, err);
      assert.ok(
        err < 1e-6,
        `${JSON.stringify(model.hidden)} weights[${i}][${k}]: fd ${fd} vs ${grads[i][k]}`,
      );
    }
    t.diagnostic(`${JSON.stringify(model.hidden)}: worst relative gradient error ${worst}`);
  }
});

/** The engines compared with the core's reference step, and why one cannot run here. */
const engines: { name: string; factory: EngineFactory; unavailable: () => string | null }[] = [
  { name: "tfjs", factory: tfjsEngine, unavailable: () => null },
  { name: "wasm-simd", factory: wasmEngine, unavailable: wasmUnavailableReason },
];

for (const { name, factory, unavailable } of engines) {
  test(`one step and 20 more of the ${name} engine equal the core's reference step`, async (t) => {
    const reason = unavailable();
    if (reason !== null) {
      t.skip(`SKIPPED: ${reason}`);
      return;
    }
    const cfg = defaultTrainConfig(); // the sheet's: batch 256, [64, 64], Adam lr 1e-3
    const w0 = initialWeights(cfg.model, 123);
    const copy = () => w0.map((v) => Float32Array.from(v));
    const data = makeMoons(cfg.dataSize, cfg.moons).x;
    const rng = new Rng(321);
    const batch = sampleBatch(rng, data, cfg.batchSize, cfg.loss);

    const ref: TrainEngine = await referenceEngine({ config: cfg, weights: copy() });
    const eng: TrainEngine = await factory({ config: cfg, weights: copy() });
    try {
      assert.equal(eng.name, name);
      const grad = dsmLoss(w0, batch, cfg.schedule, cfg.loss);
      const refLoss = ref.step(batch);
      const engLoss = eng.step(batch);
      assert.equal(refLoss, grad.loss, "the reference engine's loss is dsmLoss's");

      // the loss before the update
      const lossErr = Math.abs(engLoss - refLoss) / refLoss;
      assert.ok(lossErr < 1e-5, `loss ${engLoss} vs reference ${refLoss} (relative ${lossErr})`);

      // Adam's first moment after one step: (1 − β1)·gradient
      const refState = ref.getOptimizerState();
      const engState = eng.getOptimizerState();
      assert.equal(engState.step, 1);
      assert.equal(refState.step, 1);
      const expectedM = grad.grads.map((g) => g.map((v) => (1 - cfg.adamBeta1) * v));
      const refMErr = maxAbsDiff(refState.m, expectedM) / maxAbs(expectedM);
      assert.ok(refMErr < 1e-6, `reference m vs (1 − β1)·dsmLoss gradient: ${refMErr}`);
      const mErr = maxAbsDiff(engState.m, refState.m) / maxAbs(refState.m);
      assert.ok(mErr < 1e-4, `m (the gradient): relative difference ${mErr}`);

      // the parameters after the update, relative to the update's size
      const refW = ref.getWeights();
      const update = maxAbsDiff(refW, w0);
      assert.ok(
        update > 0.5 * cfg.learningRate,
        `the reference step moved the weights by ${update}`,
      );
      const wErr = maxAbsDiff(eng.getWeights(), refW) / update;
      assert.ok(wErr < 1e-3, `weights after one step: difference / update = ${wErr}`);

      // 20 further steps on the same batches
      let worstLoss = 0;
      for (let k = 0; k < 20; k++) {
        const b = sampleBatch(rng, data, cfg.batchSize, cfg.loss);
        const lr = ref.step(b);
        const le = eng.step(b);
        worstLoss = Math.max(worstLoss, Math.abs(le - lr) / lr);
      }
      assert.ok(worstLoss < 1e-5, `losses of steps 2–21: largest relative difference ${worstLoss}`);
      const refW21 = ref.getWeights();
      const moved = maxAbsDiff(refW21, w0);
      const w21Err = maxAbsDiff(eng.getWeights(), refW21) / moved;
      assert.ok(w21Err < 1e-3, `weights after 21 steps: difference / distance moved = ${w21Err}`);
      const m21Err =
        maxAbsDiff(eng.getOptimizerState().m, ref.getOptimizerState().m) /
        maxAbs(ref.getOptimizerState().m);
      assert.ok(m21Err < 1e-4, `m after 21 steps: relative difference ${m21Err}`);
      t.diagnostic(
        `${name}: loss ${lossErr.toExponential(2)}, m ${mErr.toExponential(2)}, weights ${wErr.toExponential(2)}; ` +
          `after 21 steps: losses ${worstLoss.toExponential(2)}, weights ${w21Err.toExponential(2)}, m ${m21Err.toExponential(2)}`,
      );
    } finally {
      ref.dispose();
      eng.dispose();
    }
  });
}
