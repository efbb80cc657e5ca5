import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import {
  MIN_SPEEDUP,
  WASM_ENGINE_NAME,
  createWasmEngine,
  helperChoices,
  startWasmThreads,
  stopWasmThreads,
  wasmLossAndGradient,
  wasmScoreFn,
  wasmThreadCount,
  wasmThreadsActive,
  wasmThreadsStats,
  wasmEngine,
} from "../src/engines/wasm";
import { HelperChoice } from "../src/engines/wasm-threads";
import { sampleBatch } from "../src/core/loss";
import { initialWeights } from "../src/core/mlp";
import { makeMoons } from "../src/core/moons";
import { Rng } from "../src/core/random";
import { defaultSamplerConfig, sampleReverseSDE } from "../src/core/sampler";
import { defaultTrainConfig, train, TrainConfig } from "../src/core/train";
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

/** Run `f` as by default: DIFFUSION_WASM_THREADS unset. */
async function withDefaultThreads<T>(f: () => Promise<T> | T): Promise<T> {
  const old = process.env.DIFFUSION_WASM_THREADS;
  delete process.env.DIFFUSION_WASM_THREADS;
  try {
    return await f();
  } finally {
    if (old !== undefined) process.env.DIFFUSION_WASM_THREADS = old;
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
  const one = await withThreads(1, () => train(c, { engine: wasmEngine, yieldEvery: 0 }));
  await withThreads(2, () => startWasmThreads());
  const served = wasmThreadsStats().served;
  const two = await withThreads(2, () => train(c, { engine: wasmEngine, yieldEvery: 0 }));
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

test("hidden [128, 128]: gradient, 200-step run and scores with the helper = one thread", async () => {
  await withThreads(2, () => startWasmThreads());
  const model = {
    ...defaultTrainConfig().model,
    hidden: [128, 128],
    timeEmbedding: { kind: "fourier", frequencies: 6, maxFrequency: 16 } as const,
  };
  const c = cfg({
    model,
    parameterization: "eps",
    weighting: "sigma2",
    steps: 200,
    dataSize: 2000,
  });
  const w = initialWeights(model, 31);
  const batch = sampleBatch(new Rng(32), makeMoons(1000, c.moons).x, 256, c.loss);
  const one = wasmLossAndGradient(c, w, batch, { threads: 1 });
  let served = wasmThreadsStats().served;
  let two = wasmLossAndGradient(c, w, batch, { threads: 2 });
  for (let i = 0; i < 50 && wasmThreadsStats().served === served; i++)
    two = wasmLossAndGradient(c, w, batch, { threads: 2 });
  assert.ok(wasmThreadsStats().served > served, "the helper computed a part");
  assert.equal(two.loss, one.loss);
  two.grads.forEach((g, i) => assert.deepEqual(g, one.grads[i]));
  // a run after the sheet's width (the helper switches layouts), then the sheet's again
  const runOne = await withThreads(1, () => train(c, { engine: wasmEngine, yieldEvery: 0 }));
  await withThreads(2, () => startWasmThreads());
  served = wasmThreadsStats().served;
  const runTwo = await withThreads(2, () => train(c, { engine: wasmEngine, yieldEvery: 0 }));
  assert.ok(wasmThreadsStats().served > served, "the helper computed parts of the run");
  assert.deepEqual(runTwo.lossHistory, runOne.lossHistory);
  runTwo.weights.forEach((a, i) => assert.deepEqual(a, runOne.weights[i]));
  await withThreads(2, () => startWasmThreads());
  const sc = { ...defaultSamplerConfig(), steps: 30, nSamples: 3001, seed: 33 };
  const s1 = sampleReverseSDE(wasmScoreFn(runOne.weights, model, { threads: 1 }), sc).x;
  served = wasmThreadsStats().served;
  const s2 = sampleReverseSDE(wasmScoreFn(runOne.weights, model, { threads: 2 }), sc).x;
  assert.ok(wasmThreadsStats().served > served, "the helper computed scores");
  assert.deepEqual(s2, s1);
  const sheet = cfg();
  const ws = initialWeights(sheet.model, 34);
  const sheetOne = wasmLossAndGradient(sheet, ws, batch, { threads: 1 });
  served = wasmThreadsStats().served;
  let sheetTwo = wasmLossAndGradient(sheet, ws, batch, { threads: 2 });
  for (let i = 0; i < 50 && wasmThreadsStats().served === served; i++)
    sheetTwo = wasmLossAndGradient(sheet, ws, batch, { threads: 2 });
  assert.ok(wasmThreadsStats().served > served, "the helper computed a part");
  sheetTwo.grads.forEach((g, i) => assert.deepEqual(g, sheetOne.grads[i]));
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
  await withThreads(2, () => train(c, { engine: wasmEngine }));
  assert.equal(wasmThreadsActive(), false, "train() disposed its engine, which stopped the helper");
  assert.equal(tf.memory().numTensors, tensors);
});

test("a HelperChoice times calls both ways, keeps the helper where ≥ MIN_SPEEDUP× faster", () => {
  const ready = { ready: true };
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  /** Calls until `kind` decides, each lasting oneMs on one thread and helperMs with the helper. */
  const calibrate = (kind: string, oneMs: number, helperMs: number, pauseMs = 0) => {
    const choice = HelperChoice.for(kind, 1000);
    const t0 = performance.now();
    let calls = 0;
    let withHelper = 0;
    while (!helperChoices().some((d) => d.key === `${kind}:1024`)) {
      const h = choice.next(() => ready);
      calls += 1;
      if (h) withHelper += 1;
      busy(h ? helperMs : oneMs);
      if (calls === 40) busy(pauseMs); // the caller pauses (e.g. a display): not a call's time
      assert.ok(calls < 1000, `${kind} never decided`);
    }
    const d = helperChoices().find((x) => x.key === `${kind}:1024`)!;
    return { choice, calls, withHelper, d, ms: performance.now() - t0 };
  };
  const fast = calibrate("test-fast", 2, 1);
  assert.equal(fast.d.helper, true);
  assert.ok(fast.d.oneMs >= MIN_SPEEDUP * fast.d.helperMs, `${fast.d.oneMs} / ${fast.d.helperMs}`);
  assert.ok(fast.withHelper > 0 && fast.withHelper < fast.calls);
  assert.ok(fast.ms < 1000, `the calibration took ${fast.ms} ms`);
  assert.equal(
    fast.choice.next(() => ready),
    ready,
    "the decision holds for the next calls",
  );
  assert.equal(HelperChoice.for("test-fast", 1000), HelperChoice.for("test-fast", 600), "per 2^k");
  const slow = calibrate("test-slow", 1.1, 1, 300);
  assert.equal(slow.d.helper, false, `${slow.d.oneMs} / ${slow.d.helperMs}, after a pause`);
  assert.ok(MIN_SPEEDUP >= 1.1);
  assert.equal(
    slow.choice.next(() => ready),
    null,
  );
  // until the helper runs, one thread, and no decision
  const waiting = HelperChoice.for("test-waiting", 1000);
  for (let i = 0; i < 200; i++) {
    assert.equal(
      waiting.next(() => ({ ready: false })),
      null,
    );
    assert.equal(
      waiting.next(() => null),
      null,
    );
  }
  assert.ok(!helperChoices().some((d) => d.key.startsWith("test-waiting")));
});

test(
  "by default, runs and sampling decide per kind and size, with the one-thread numbers",
  { skip: wasmThreadCount() < 2 ? "one core: the default is one thread" : false },
  async () => {
    const c = cfg({ steps: 800, dataSize: 2000 });
    const one = await withThreads(1, () => train(c, { engine: wasmEngine, yieldEvery: 0 }));
    await withDefaultThreads(() => startWasmThreads()); // calibration waits for the helper
    const dflt = await withDefaultThreads(() => train(c, { engine: wasmEngine, yieldEvery: 0 }));
    assert.deepEqual(dflt.lossHistory, one.lossHistory);
    dflt.weights.forEach((w, i) => assert.deepEqual(w, one.weights[i]));
    const w = initialWeights(c.model, 27);
    const sc = { ...defaultSamplerConfig(), steps: 100, nSamples: 3001, seed: 28 };
    const s1 = sampleReverseSDE(wasmScoreFn(w, undefined, { threads: 1 }), sc).x;
    await withDefaultThreads(() => startWasmThreads()); // train() stopped it
    const sd = await withDefaultThreads(() => sampleReverseSDE(wasmScoreFn(w), sc).x);
    assert.deepEqual(sd, s1);
    const keys = helperChoices().map((d) => d.key);
    assert.ok(keys.includes("train:256") && keys.includes("score:4096"), keys.join(", "));
  },
);
