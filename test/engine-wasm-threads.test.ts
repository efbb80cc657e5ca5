import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend";
import {
  WASM_ENGINE_NAME,
  createWasmEngine,
  startWasmThreads,
  stopWasmThreads,
  wasmLossAndGradient,
  wasmScoreFn,
  wasmThreadCount,
  wasmThreadsActive,
  wasmThreadsStats,
} from "../src/engine-wasm";
import { sampleBatch } from "../src/loss";
import { initialWeights } from "../src/model";
import { makeMoons } from "../src/moons";
import { Rng } from "../src/random";
import { defaultSamplerConfig, sampleReverseSDE } from "../src/sample";
import { defaultTrainConfig, train, TrainConfig } from "../src/train";
import { relErr } from "./helpers/compare";

// The helper thread is asked for explicitly (threads: 2), so these tests also run on a one-core machine.
const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...defaultTrainConfig(),
  ...over,
});

/** Run `f` with DIFFUSION_WASM_THREADS set to `k`. */
async function withThreads<T>(k: number, f: () => Promise<T> | T): Promise<T> {
  const old = process.env.DIFFUSION_WASM_THREADS;
  process.env.DIFFUSION_WASM_THREADS = String(k);
  try {
    return await f();
  } finally {
    if (old === undefined) delete process.env.DIFFUSION_WASM_THREADS;
    else process.env.DIFFUSION_WASM_THREADS = old;
  }
}

let helperRuns = false;
before(async () => {
  await selectBackend();
  helperRuns = await withThreads(2, () => startWasmThreads());
});
after(() => stopWasmThreads());

test("the helper thread starts here", () => {
  assert.equal(helperRuns, true);
  assert.equal(wasmThreadsActive(), true);
});

test("DIFFUSION_WASM_THREADS=1 forces one thread; a bad value is named", async () => {
  await withThreads(1, () => assert.equal(wasmThreadCount(), 1));
  await withThreads(1, async () => assert.equal(await startWasmThreads(), false));
  await withThreads(0, () => assert.throws(() => wasmThreadCount(), /DIFFUSION_WASM_THREADS=0/));
});

test("gradient with the helper thread = gradient on one thread", async () => {
  await withThreads(2, () => startWasmThreads());
  const c = cfg();
  const w = initialWeights(c.model, 21);
  const batch = sampleBatch(new Rng(22), makeMoons(1000, c.moons).x, 256, c.loss);
  const one = wasmLossAndGradient(c, w, batch, { threads: 1 });
  const served = wasmThreadsStats().served;
  // the helper may be late on a busy machine (its part is then computed here): try a few times
  let two = wasmLossAndGradient(c, w, batch, { threads: 2 });
  for (let i = 0; i < 20 && wasmThreadsStats().served === served; i++)
    two = wasmLossAndGradient(c, w, batch, { threads: 2 });
  assert.ok(wasmThreadsStats().served > served, "the helper computed a part");
  assert.ok(Math.abs(two.loss - one.loss) <= 1e-6 * one.loss, `loss ${two.loss} vs ${one.loss}`);
  two.grads.forEach((g, i) =>
    assert.ok(relErr(g, one.grads[i]) <= 1e-5, `grads[${i}]: ${relErr(g, one.grads[i])}`),
  );
  two.grads.forEach((g, i) =>
    assert.deepEqual(g, one.grads[i], "in fact bit for bit: the same two parts are added"),
  );
});

test("a seeded 200-step run gives the same loss curve and weights with 1 and 2 threads", async () => {
  const c = cfg({ steps: 200, dataSize: 2000 });
  const one = await withThreads(1, () => train(c, { engine: WASM_ENGINE_NAME, yieldEvery: 0 }));
  await withThreads(2, () => startWasmThreads());
  const served = wasmThreadsStats().served;
  const two = await withThreads(2, () => train(c, { engine: WASM_ENGINE_NAME, yieldEvery: 0 }));
  assert.ok(wasmThreadsStats().served > served, "the helper computed parts of the run");
  let worst = 0;
  for (let i = 0; i < 200; i++)
    worst = Math.max(worst, Math.abs(two.lossHistory[i] - one.lossHistory[i]) / one.lossHistory[i]);
  assert.ok(worst <= 1e-6, `largest relative loss difference ${worst}`);
  assert.deepEqual(two.lossHistory, one.lossHistory);
  two.weights.forEach((w, i) => assert.deepEqual(w, one.weights[i]));
});

test("resuming from saved weights and Adam state with the helper continues bit for bit", async () => {
  await withThreads(2, () => startWasmThreads());
  const c = cfg();
  const data = makeMoons(1000, c.moons).x;
  const batches = Array.from({ length: 10 }, (_, i) =>
    sampleBatch(new Rng(200 + i), data, 256, c.loss),
  );
  const w0 = initialWeights(c.model, 23);
  const a = createWasmEngine(c, w0, { threads: 2 });
  batches.forEach((b) => a.step(b));
  const b = createWasmEngine(c, w0, { threads: 2 });
  batches.slice(0, 5).forEach((x) => b.step(x));
  const resumed = createWasmEngine(c, b.getWeights(), { threads: 2 });
  resumed.setOptimizerState(b.getOptimizerState());
  batches.slice(5).forEach((x) => resumed.step(x));
  resumed.getWeights().forEach((w, i) => assert.deepEqual(w, a.getWeights()[i]));
  // and the same as one thread
  const single = createWasmEngine(c, w0, { threads: 1 });
  batches.forEach((x) => single.step(x));
  single.getWeights().forEach((w, i) => assert.deepEqual(w, a.getWeights()[i]));
  [a, b, resumed, single].forEach((e) => e.dispose());
});

test("a helper stopped mid-run is not needed: the engine goes on alone with the same numbers", async () => {
  await withThreads(2, () => startWasmThreads());
  const c = cfg();
  const data = makeMoons(1000, c.moons).x;
  const batches = Array.from({ length: 6 }, (_, i) =>
    sampleBatch(new Rng(300 + i), data, 256, c.loss),
  );
  const w0 = initialWeights(c.model, 24);
  const a = createWasmEngine(c, w0, { threads: 2 });
  const single = createWasmEngine(c, w0, { threads: 1 });
  batches.forEach((x, i) => {
    if (i === 3) stopWasmThreads();
    assert.equal(a.step(x), single.step(x));
  });
  a.getWeights().forEach((w, i) => assert.deepEqual(w, single.getWeights()[i]));
  a.dispose();
  single.dispose();
});

test("sampling with the helper gives the one-thread samples for the same seed", async () => {
  await withThreads(2, () => startWasmThreads());
  const w = initialWeights(cfg().model, 25);
  const sc = { ...defaultSamplerConfig(), steps: 50, nSamples: 3001, seed: 26 }; // odd n: unequal parts
  const one = sampleReverseSDE(wasmScoreFn(w, undefined, { threads: 1 }), sc).x;
  const served = wasmThreadsStats().served;
  const two = sampleReverseSDE(wasmScoreFn(w, undefined, { threads: 2 }), sc).x;
  assert.ok(wasmThreadsStats().served > served, "the helper computed scores");
  assert.ok(relErr(two, one) <= 1e-4, `samples differ by ${relErr(two, one)}`);
  assert.deepEqual(two, one);
});

test("disposing the last engine stops the helper; no tensors are left behind", async () => {
  await withThreads(2, () => startWasmThreads());
  const tensors = tf.memory().numTensors;
  const c = cfg({ steps: 60, dataSize: 1000 });
  await withThreads(2, () => train(c, { engine: WASM_ENGINE_NAME }));
  assert.equal(wasmThreadsActive(), false, "train() disposed its engine, which stopped the helper");
  assert.equal(tf.memory().numTensors, tensors);
});
