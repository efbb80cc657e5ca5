import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "child_process";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import {
  createWasmEngine,
  wasmEngine,
  wasmLossAndGradient,
  wasmScoreFn,
  wasmUnavailableReason,
  WASM_ENGINE_NAME,
} from "../src/engines/wasm";
import { createEngine, fastestScoreFn } from "../src/engines";
import { tfjsEngine } from "../src/engines/tfjs";
import { dsmLossOnBatch } from "../src/engines/tfjs-loss";
import { ScoreModel, scoreFnFromModel } from "../src/engines/tfjs-model";
import { sampleBatch } from "../src/core/loss";
import { moonsReferenceScore, zeroScore } from "../src/core/exact-scores";
import { initialWeights } from "../src/core/mlp";
import { makeMoons } from "../src/core/moons";
import { Rng } from "../src/core/random";
import { defaultSamplerConfig, sampleReverseSDE, ScoreFn } from "../src/core/sampler";
import { defaultTrainConfig, train, TrainConfig } from "../src/core/train";
import { dsmLoss64, mlpForward64 } from "./helpers/reference-mlp";
import { relErr } from "./helpers/compare";

before(async () => {
  await selectBackend();
});

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...defaultTrainConfig(),
  ...over,
});

/** Weights whose biases are not zero, so every parameter path is exercised. */
function testWeights(seed: number): Float32Array[] {
  const w = initialWeights(cfg().model, seed);
  const rng = new Rng(seed + 1);
  for (const i of [1, 3, 5]) rng.uniformArray(w[i].length, -0.3, 0.3, w[i]);
  return w;
}

test("the kernel builds and loads here (WebAssembly SIMD)", () => {
  assert.equal(wasmUnavailableReason(), null);
});

/**
 * The sheet's 2000-step run on the wasm engine (test/helpers/sheet-run-hash.ts), recorded when the
 * kernel's hidden width became a run-time setting: any later change to the kernel must leave the
 * sheet's numbers as they are. The plain SIMD build is deterministic everywhere; the relaxed build
 * lets the CPU choose fused multiply-adds, so its numbers are pinned for x64 (which fuses) only.
 */
const SHEET_RUN_HASHES = {
  simd: {
    weights: "313e5aa8b3de5b5294f0e654e3d05dc9c88ce0e64c2148179d2d757be215ea5c",
    lossHistory: "0943adcb60f009322cc34274e48100771658f917129cdd6773eaab8e12f670a9",
  },
  "relaxed-simd": {
    weights: "0f7242d8802f907b2db92c882de3c43e4e1abc211aadeb598db3d4c514b0d1c5",
    lossHistory: "2a3f045ec7c160808fd414f669ce93e104b69feeaf6140a8cd9682326443ec6c",
  },
};

test("the sheet's 2000-step run gives the recorded weights and loss history, bit for bit", () => {
  for (const variant of ["simd", "relaxed-simd"] as const) {
    if (variant === "relaxed-simd" && process.arch !== "x64") continue;
    const out = execFileSync(
      process.execPath,
      ["--import", "tsx", path.join(__dirname, "helpers", "sheet-run-hash.ts")],
      { env: { ...process.env, DIFFUSION_WASM_VARIANT: variant, DIFFUSION_WASM_THREADS: "1" } },
    );
    const got = JSON.parse(out.toString());
    if (got.variant !== variant) continue; // this runtime cannot run the relaxed build
    assert.deepEqual(
      { weights: got.weights, lossHistory: got.lossHistory },
      SHEET_RUN_HASHES[variant],
      variant,
    );
  }
});

test("forward pass matches the float64 reference and the tfjs model", () => {
  const w = testWeights(3);
  const n = 301; // not a multiple of the kernel's chunk, to exercise the padded rows
  const rng = new Rng(4);
  const x = rng.normalArray(2 * n, new Float32Array(2 * n)) as Float32Array;
  for (const t of [0.001, 0.37, 1]) {
    const wasm = wasmScoreFn(w)(x, t, n);
    const ref64 = mlpForward64(w, x, new Float64Array(n).fill(Math.fround(t)), n);
    assert.ok(relErr(wasm, ref64) < 2e-6, `wasm vs float64 at t=${t}: ${relErr(wasm, ref64)}`);
    const model = new ScoreModel(cfg().model, w);
    const tfjs = scoreFnFromModel(model)(x, t, n);
    model.dispose();
    assert.ok(relErr(wasm, tfjs) < 1e-5, `wasm vs tfjs at t=${t}: ${relErr(wasm, tfjs)}`);
  }
});

test("loss and gradients match tfjs autodiff (float32) and the float64 loss", () => {
  const c = cfg();
  const w = testWeights(5);
  const data = makeMoons(1000, c.moons).x;
  const batch = sampleBatch(new Rng(6), data, 256, c.loss);
  const { loss, grads } = wasmLossAndGradient(c, w, batch);

  const model = new ScoreModel(c.model, w);
  const { value, grads: tg } = tf.variableGrads(
    () => dsmLossOnBatch(model, batch, c.schedule, c.loss),
    model.params,
  );
  const tfLoss = value.dataSync()[0];
  const tfGrads = model.params.map((p) => tg[p.name].dataSync() as Float32Array);
  const loss64 = dsmLoss64(
    w,
    batch.x0,
    batch.t,
    batch.eps,
    c.schedule.betaMin,
    c.schedule.betaMax,
    c.loss.sigmaMin,
  );
  assert.ok(Math.abs(loss - loss64) / loss64 < 1e-5, `loss ${loss} vs float64 ${loss64}`);
  assert.ok(Math.abs(loss - tfLoss) / tfLoss < 1e-5, `loss ${loss} vs tfjs ${tfLoss}`);
  const names = ["W1", "b1", "W2", "b2", "W3", "b3"];
  grads.forEach((g, i) =>
    assert.ok(relErr(g, tfGrads[i]) < 1e-5, `${names[i]}: relative error ${relErr(g, tfGrads[i])}`),
  );
  tf.dispose([value, ...Object.values(tg)]);
  model.dispose();
});

test("a 200-step seeded run gives the tfjs engine's loss curve and weights", async () => {
  const c = cfg({ steps: 200, dataSize: 2000 });
  const ref = await train(c, { engine: tfjsEngine, yieldEvery: 0 });
  const fast = await train(c, { engine: wasmEngine, yieldEvery: 0 });
  assert.equal(fast.engine, WASM_ENGINE_NAME);
  let worst = 0;
  for (let i = 0; i < 200; i++)
    worst = Math.max(
      worst,
      Math.abs(fast.lossHistory[i] - ref.lossHistory[i]) / ref.lossHistory[i],
    );
  assert.ok(worst < 2e-5, `largest relative loss difference ${worst}`);
  fast.weights.forEach((w, i) =>
    assert.ok(
      relErr(w, ref.weights[i]) < 2e-5,
      `weights[${i}] differ by ${relErr(w, ref.weights[i])}`,
    ),
  );
});

test("weights trained by one engine load into the other, with the Adam state", async () => {
  const c = cfg({ steps: 30, dataSize: 2000 });
  const data = makeMoons(c.dataSize, c.moons).x;
  const w0 = testWeights(9);
  const wasm = createWasmEngine(c, w0);
  const rngA = new Rng(10);
  for (let i = 0; i < 20; i++) wasm.step(sampleBatch(rngA, data, c.batchSize, c.loss));
  // hand over to tfjs mid-run, and compare with staying on wasm
  const tfjs = await createEngine("tfjs", { config: c, weights: wasm.getWeights() });
  tfjs.setOptimizerState(wasm.getOptimizerState());
  const rngB = Rng.fromState(rngA.getState());
  for (let i = 0; i < 10; i++) {
    const batch = sampleBatch(rngA, data, c.batchSize, c.loss);
    assert.equal(sampleBatch(rngB, data, c.batchSize, c.loss).t[0], batch.t[0]);
    const a = wasm.step(batch);
    const b = tfjs.step(batch);
    assert.ok(Math.abs(a - b) / b < 1e-4, `step ${i}: ${a} vs ${b}`);
  }
  wasm.getWeights().forEach((w, i) => assert.ok(relErr(w, tfjs.getWeights()[i]) < 1e-4));
  assert.equal(wasm.getOptimizerState().step, tfjs.getOptimizerState().step);
  // and back: a fresh wasm engine takes tfjs's weights exactly
  const back = createWasmEngine(c, tfjs.getWeights());
  back.getWeights().forEach((w, i) => assert.deepEqual(w, tfjs.getWeights()[i]));
  tfjs.dispose();
  wasm.dispose();
  back.dispose();
});

test("a non-finite loss leaves parameters and Adam state unchanged", () => {
  const c = cfg();
  const w = testWeights(11);
  const e = createWasmEngine(c, w);
  const batch = sampleBatch(new Rng(12), makeMoons(500, c.moons).x, 64, c.loss);
  batch.eps[7] = NaN;
  assert.ok(Number.isNaN(e.step(batch)));
  e.getWeights().forEach((a, i) => assert.deepEqual(a, w[i]));
  assert.equal(e.getOptimizerState().step, 0);
});

test("resuming from saved weights and Adam state continues bit-for-bit", () => {
  const c = cfg();
  const data = makeMoons(1000, c.moons).x;
  const batches = Array.from({ length: 10 }, (_, i) =>
    sampleBatch(new Rng(100 + i), data, 256, c.loss),
  );
  const a = createWasmEngine(c, testWeights(13));
  batches.forEach((b) => a.step(b));
  const b = createWasmEngine(c, testWeights(13));
  batches.slice(0, 5).forEach((x) => b.step(x));
  const resumed = createWasmEngine(c, b.getWeights());
  resumed.setOptimizerState(b.getOptimizerState());
  batches.slice(5).forEach((x) => resumed.step(x));
  resumed.getWeights().forEach((w, i) => assert.deepEqual(w, a.getWeights()[i]));
});

test("sampling with the wasm score gives the tfjs model's samples for the same seed", () => {
  const w = testWeights(14);
  const sc = { ...defaultSamplerConfig(), steps: 100, nSamples: 300, seed: 15 };
  const model = new ScoreModel(cfg().model, w);
  const ref = sampleReverseSDE(scoreFnFromModel(model), sc).x;
  model.dispose();
  const fast = sampleReverseSDE(wasmScoreFn(w), sc).x;
  assert.ok(relErr(fast, ref) < 1e-4, `samples differ by ${relErr(fast, ref)}`);
});

test("every score function rejects t outside [0, 1] and x that is not n×2, naming them; n defaults to x.length/2", () => {
  const w = testWeights(16);
  const model = new ScoreModel(cfg().model, w);
  const scores: [string, ScoreFn][] = [
    ["scoreFnFromModel", scoreFnFromModel(model)],
    ["wasmScoreFn", wasmScoreFn(w)],
    ["fastestScoreFn", fastestScoreFn(w).score],
    ["moonsReferenceScore", moonsReferenceScore(0.05)],
    ["zeroScore", zeroScore],
  ];
  const x = Float64Array.from([0.1, 0.2, -1, 0.5, 0.3, -0.7]); // n = 3
  // Until ScoreFn's n is optional in src/core/sampler.ts, a call without n needs this cast.
  type TwoArgScore = (x: Float32Array | Float64Array, t: number) => Float32Array | Float64Array;
  try {
    for (const [name, score] of scores) {
      for (const t of [-0.1, 1.5, NaN, Infinity])
        assert.throws(
          () => score(x, t, 3),
          /Expected t to be a number in \[0, 1\].*but got t=/,
          `${name}, t=${t}`,
        );
      assert.throws(
        () => score(x, 0.5, 2),
        /Expected x to hold n×2 = 4 numbers.*x\.length=6/,
        name,
      );
      assert.throws(() => score(x, 0.5, 1.5), /Expected n to be a positive integer.*n=1\.5/, name);
      const odd = x.subarray(0, 5);
      assert.throws(
        () => (score as TwoArgScore)(odd, 0.5),
        /x to be n×2 row-major.*x\.length=5/,
        name,
      );
      for (const t of [0, 1]) assert.equal(score(x, t, 3).length, 6, `${name} at the edge t=${t}`);
      const withN = Array.from(score(x, 0.5, 3));
      assert.deepEqual(Array.from((score as TwoArgScore)(x, 0.5)), withN, `${name} without n`);
      assert.ok(withN.every(Number.isFinite), name);
    }
  } finally {
    model.dispose();
  }
});

test("fastestScoreFn picks the wasm kernel where it runs the architecture, else the tfjs model: same scores", () => {
  const w = testWeights(17);
  const x = Float64Array.from([0.1, 0.2, -1, 0.5, 0.3, -0.7]);
  const fast = fastestScoreFn(w, cfg().model);
  assert.equal(fast.engine, wasmUnavailableReason() === null ? WASM_ENGINE_NAME : "tfjs");
  const model = new ScoreModel(cfg().model, w);
  assert.ok(relErr(fast.score(x, 0.4, 3), scoreFnFromModel(model)(x, 0.4, 3)) < 1e-5);
  model.dispose();
  // an architecture the kernel is not built for
  const narrow = { ...cfg().model, hidden: [8] };
  const fallback = fastestScoreFn(initialWeights(narrow, 1), narrow);
  assert.equal(fallback.engine, "tfjs");
  assert.equal(fallback.score(x, 0.4, 3).length, 6);
});
