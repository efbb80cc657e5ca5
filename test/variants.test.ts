/**
 * The training variants (`TrainConfig.parameterization`, `weighting`, `ema`, `lrSchedule`,
 * `model.timeEmbedding`, other hidden sizes): each engine against the float64 definition
 * (`objectiveLoss`, itself checked against finite differences), the engines against each other,
 * and the equivalences that tie a variant to the sheet (ε-prediction's plain loss = the σ²-weighted
 * score loss, EMA decay 0 = the raw weights, a constant schedule = none, the raw embedding = the
 * sheet). The sheet's own numbers are pinned by its cache key and `recipes.sheet`.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import {
  createWasmEngine,
  startWasmThreads,
  stopWasmThreads,
  wasmEngine,
  wasmLossAndGradient,
  wasmScoreFn,
  wasmThreadsStats,
  kernelFits,
} from "../src/engines/wasm";
import { fastestScoreFn, trainedScoreFn } from "../src/engines";
import { tfjsEngine } from "../src/engines/tfjs";
import { objectiveLossOnBatch } from "../src/engines/tfjs-loss";
import { ScoreModel, scoreFnFromModel } from "../src/engines/tfjs-model";
import { Batch, dsmLoss, sampleBatch } from "../src/core/loss";
import { initialWeights, mlpForward } from "../src/core/mlp";
import { makeMoons } from "../src/core/moons";
import { objectiveLoss, lossTargets } from "../src/core/objective";
import { learningRateAt } from "../src/core/lr-schedule";
import { timeFeatures } from "../src/core/time-embedding";
import { Rng } from "../src/core/random";
import { alphaSigma, sigma } from "../src/core/sde";
import { recipes } from "../src/core/recipes";
import {
  TrainConfig,
  defaultTrainConfig,
  referenceEngine,
  train,
  validateTrainConfig,
} from "../src/core/train";
import { trainCacheKey } from "../src/notebook/cache";
import { relErr } from "./helpers/compare";

before(async () => {
  await selectBackend();
});
after(() => stopWasmThreads());

const fourier = { kind: "fourier", frequencies: 4, maxFrequency: 8 } as const;

/** The variants whose loss and gradient every engine must compute alike (name, overrides). */
const variants: [string, Partial<TrainConfig>][] = [
  ["score, λ=σ²", { weighting: "sigma2" }],
  ["score, λ=β (likelihood)", { weighting: "likelihood" }],
  ["ε-prediction, λ=1", { parameterization: "eps" }],
  ["ε-prediction, λ=σ²", { parameterization: "eps", weighting: "sigma2" }],
  ["Fourier time embedding", { model: { ...defaultTrainConfig().model, timeEmbedding: fourier } }],
  [
    "ε-prediction, λ=σ², Fourier",
    {
      parameterization: "eps",
      weighting: "sigma2",
      model: { ...defaultTrainConfig().model, timeEmbedding: fourier },
    },
  ],
];

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...defaultTrainConfig(),
  ...over,
});

/** Weights with non-zero biases (every parameter path exercised), in the layout of `c.model`. */
function testWeights(c: TrainConfig, seed: number): Float32Array[] {
  const w = initialWeights(c.model, seed);
  const rng = new Rng(seed + 1);
  for (let i = 1; i < w.length; i += 2) rng.uniformArray(w[i].length, -0.3, 0.3, w[i]);
  return w;
}

function testBatch(c: TrainConfig, seed: number, n = 256): Batch {
  return sampleBatch(new Rng(seed), makeMoons(1000, c.moons).x, n, c.loss);
}

/** tfjs autodiff of the variant loss: value and gradients as arrays. */
function tfjsLossAndGradient(c: TrainConfig, w: Float32Array[], batch: Batch) {
  const model = new ScoreModel(c.model, w);
  const { value, grads } = tf.variableGrads(
    () => objectiveLossOnBatch(model, batch, c),
    model.params,
  );
  const out = {
    loss: value.dataSync()[0],
    grads: model.params.map((p) => Float32Array.from(grads[p.name].dataSync() as Float32Array)),
  };
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

const reference = (c: TrainConfig, w: ArrayLike<number>[], b: Batch) =>
  objectiveLoss(w, b, c.schedule, c.loss, c, c.model.timeEmbedding);

test("the float64 variant loss with the sheet's choices is the sheet's dsmLoss", () => {
  const c = cfg();
  const w = testWeights(c, 1);
  const b = testBatch(c, 2);
  const sheet = dsmLoss(w, b, c.schedule, c.loss);
  const explicit = { parameterization: "score", weighting: "none" } as const;
  const general = objectiveLoss(w, b, c.schedule, c.loss, explicit, { kind: "raw" });
  assert.ok(Math.abs(general.loss - sheet.loss) <= 1e-12 * sheet.loss);
  general.grads.forEach((g, i) => assert.ok(relErr(g, sheet.grads[i]) < 1e-12, `grads[${i}]`));
});

test("the float64 variant loss has the gradient of its central finite differences", () => {
  const c = variants[5][1] as Partial<TrainConfig>;
  const full = cfg({ ...c, weighting: "likelihood" });
  const w64 = testWeights(full, 3).map((a) => Float64Array.from(a));
  const b = testBatch(full, 4, 32);
  const { grads } = reference(full, w64, b);
  const h = 1e-6;
  const rng = new Rng(5);
  for (let trial = 0; trial < 12; trial++) {
    const i = rng.int(w64.length);
    const k = rng.int(w64[i].length);
    const keep = w64[i][k];
    w64[i][k] = keep + h;
    const up = reference(full, w64, b).loss;
    w64[i][k] = keep - h;
    const down = reference(full, w64, b).loss;
    w64[i][k] = keep;
    const fd = (up - down) / (2 * h);
    const scale = Math.max(Math.abs(fd), 1e-3 * Math.abs(up));
    assert.ok(
      Math.abs(grads[i][k] - fd) < 1e-5 * scale + 1e-9,
      `θ[${i}][${k}]: ${grads[i][k]} vs ${fd}`,
    );
  }
});

for (const [name, over] of variants) {
  test(`${name}: wasm and tfjs give the float64 loss and gradient`, () => {
    const c = cfg(over);
    const w = testWeights(c, 6);
    const b = testBatch(c, 7, 301); // not a multiple of the kernel's chunk: padded rows
    const ref = reference(c, w, b);
    const wasm = wasmLossAndGradient(c, w, b);
    const tfjs = tfjsLossAndGradient(c, w, b);
    for (const [engine, r] of [
      ["wasm", wasm],
      ["tfjs", tfjs],
    ] as const) {
      assert.ok(
        Math.abs(r.loss - ref.loss) / ref.loss < 2e-5,
        `${engine} loss ${r.loss} vs ${ref.loss}`,
      );
      r.grads.forEach((g, i) =>
        assert.ok(
          relErr(g, ref.grads[i]) < 2e-4,
          `${engine} grads[${i}]: ${relErr(g, ref.grads[i])}`,
        ),
      );
    }
    wasm.grads.forEach((g, i) =>
      assert.ok(relErr(g, tfjs.grads[i]) < 2e-4, `wasm vs tfjs grads[${i}]`),
    );
  });
}

test("the Fourier features follow their formula", () => {
  const f = timeFeatures(
    [0.25],
    { kind: "fourier", frequencies: 2, maxFrequency: 4 },
    new Float64Array(5),
  );
  // [t, sin(2π·1·t), sin(2π·4·t), cos(2π·1·t), cos(2π·4·t)] at t = 1/4
  const expect = [0.25, 1, 0, 0, 1];
  f.forEach((v, i) => assert.ok(Math.abs(v - expect[i]) < 1e-12, `feature ${i}: ${v}`));
});

test("a variant's helper-thread gradient and scores are the one-thread ones", async () => {
  if (!(await startWasmThreads())) return; // one core, or DIFFUSION_WASM_THREADS=1
  // a Fourier run (input width 15) after the sheet's width, then the sheet's again
  for (const over of [variants[5][1], {}]) {
    const c = cfg(over);
    const w = testWeights(c, 8);
    const b = testBatch(c, 9, 512);
    const one = wasmLossAndGradient(c, w, b, { threads: 1 });
    const served = wasmThreadsStats().served;
    let two = wasmLossAndGradient(c, w, b, { threads: 2 });
    // the helper may be late on a busy machine (its part is then computed here): try many times
    for (let i = 0; i < 500 && wasmThreadsStats().served === served; i++)
      two = wasmLossAndGradient(c, w, b, { threads: 2 });
    assert.ok(wasmThreadsStats().served > served, "the helper computed a part");
    assert.equal(two.loss, one.loss);
    two.grads.forEach((g, i) => assert.deepEqual(g, one.grads[i]));
    const x = new Rng(10).normalArray(2 * 1500, new Float32Array(3000)) as Float32Array;
    const s1 = wasmScoreFn(w, c.model, { threads: 1 })(x, 0.3);
    const score2 = wasmScoreFn(w, c.model, { threads: 2 });
    const before = wasmThreadsStats().served;
    let s2 = score2(x, 0.3);
    for (let i = 0; i < 500 && wasmThreadsStats().served === before; i++) s2 = score2(x, 0.3);
    assert.ok(wasmThreadsStats().served > before, "the helper computed scores");
    assert.deepEqual(s2, s1);
  }
});

test("ε-prediction's plain loss ‖ε̂ − ε‖² is the σ²-weighted score loss with s = −ε̂/σ̃", () => {
  const c = cfg({ parameterization: "eps", weighting: "sigma2" });
  const w = testWeights(c, 10);
  const b = testBatch(c, 11);
  const n = b.t.length;
  // the plain ε loss, written out in float64
  const a = new Float64Array(n);
  const s = new Float64Array(n);
  alphaSigma(b.t, c.schedule, a, s);
  const xt = Float64Array.from(
    { length: 2 * n },
    (_, k) => a[k >> 1] * b.x0[k] + s[k >> 1] * b.eps[k],
  );
  const out = mlpForward(w, xt, b.t, n).out;
  let plain = 0;
  let scoreSigma2 = 0;
  for (let k = 0; k < 2 * n; k++) {
    const st = Math.max(s[k >> 1], c.loss.sigmaMin);
    plain += (out[k] - b.eps[k]) ** 2;
    const score = -out[k] / st; // s = −ε̂/σ̃
    scoreSigma2 += st * st * (score + b.eps[k] / st) ** 2;
  }
  plain /= n;
  scoreSigma2 /= n;
  assert.ok(Math.abs(scoreSigma2 - plain) < 1e-10 * plain);
  assert.ok(Math.abs(reference(c, w, b).loss - plain) < 1e-10 * plain);
  const wasm = wasmLossAndGradient(c, w, b).loss;
  assert.ok(Math.abs(wasm - plain) / plain < 2e-6, `wasm ${wasm} vs ${plain}`);
  // and the engine's targets are ε with weight exactly 1
  const y = lossTargets(b, c.schedule, c.loss, c);
  assert.deepEqual(y.target, b.eps);
  assert.ok(y.weight.every((v) => v === 1));
});

test("EMA with decay 0 is the raw weights; with decay > 0 it lags them", async () => {
  const c = cfg({ steps: 40, dataSize: 2000 });
  for (const engine of [wasmEngine, tfjsEngine]) {
    const zero = await train({ ...c, ema: 0 }, { engine, yieldEvery: 0 });
    assert.ok(zero.emaWeights, "emaWeights returned");
    zero.emaWeights!.forEach((e, i) => assert.deepEqual(e, zero.weights[i]));
    const slow = await train({ ...c, ema: 0.9 }, { engine, yieldEvery: 0 });
    // same raw run (EMA does not touch training), a different average
    slow.weights.forEach((w, i) => assert.deepEqual(w, zero.weights[i]));
    assert.ok(relErr(slow.emaWeights![0], slow.weights[0]) > 1e-4);
  }
  const none = await train(c, { engine: wasmEngine, yieldEvery: 0 });
  assert.equal(none.emaWeights, undefined);
});

test("EMA follows θ̄ ← d θ̄ + (1 − d) θ from the initial weights, across a resume", async () => {
  const c = cfg({ steps: 3, dataSize: 500, batchSize: 32, ema: 0.5 });
  const states: Float32Array[][] = [];
  const r = await train(c, {
    engine: referenceEngine,
    checkpointEvery: 1,
    yieldEvery: 0,
    onCheckpoint: (s) => states.push(s.weights),
  });
  const w0 = initialWeights(c.model, new Rng(c.seed).nextUint32());
  const expect = [w0[5][0]];
  for (const s of states) expect.push(Math.fround(0.5 * expect[expect.length - 1] + 0.5 * s[5][0]));
  assert.equal(r.emaWeights![5][0], expect[3]);
  // stop after 2 steps, resume: the same average
  let saved: Parameters<NonNullable<Parameters<typeof train>[1]["onCheckpoint"]>>[0] | undefined;
  await train(
    { ...c, steps: 2 },
    { engine: referenceEngine, yieldEvery: 0, onCheckpoint: (s) => (saved = s) },
  );
  const resumed = await train(c, { engine: referenceEngine, yieldEvery: 0, resumeFrom: saved });
  resumed.emaWeights!.forEach((e, i) => assert.deepEqual(e, r.emaWeights![i]));
});

test("a constant schedule is no schedule; a decaying one differs, as its formula", async () => {
  const c = cfg({ steps: 30, dataSize: 2000 });
  for (const engine of [wasmEngine, tfjsEngine, referenceEngine]) {
    const steps = engine === referenceEngine ? 5 : 30;
    const plain = await train({ ...c, steps }, { engine, yieldEvery: 0 });
    const constant = await train(
      { ...c, steps, lrSchedule: { kind: "constant" } },
      { engine, yieldEvery: 0 },
    );
    constant.weights.forEach((w, i) => assert.deepEqual(w, plain.weights[i]));
    const cosine = await train(
      { ...c, steps, lrSchedule: { kind: "cosine", warmupSteps: 2, minFactor: 0.1 } },
      { engine, yieldEvery: 0 },
    );
    assert.ok(relErr(cosine.weights[0], plain.weights[0]) > 1e-5);
  }
  const lr = (kind: "cosine" | "linear", k: number) =>
    learningRateAt(1e-3, { kind, warmupSteps: 10, minFactor: 0.1 }, k, 110);
  assert.equal(lr("cosine", 5), 5e-4);
  assert.equal(lr("cosine", 10), 1e-3);
  assert.ok(Math.abs(lr("cosine", 60) - 0.55e-3) < 1e-15);
  assert.ok(Math.abs(lr("cosine", 110) - 1e-4) < 1e-15);
  assert.ok(Math.abs(lr("linear", 35) - (0.1 + 0.9 * 0.75) * 1e-3) < 1e-15);
});

test("the variants train alike on wasm, tfjs and the float64 reference (a few steps)", async () => {
  const c = cfg({
    ...variants[5][1],
    steps: 8,
    dataSize: 2000,
    lrSchedule: { kind: "linear", warmupSteps: 2, minFactor: 0.2 },
    ema: 0.5,
  });
  const ref = await train(c, { engine: referenceEngine, yieldEvery: 0 });
  for (const engine of [wasmEngine, tfjsEngine]) {
    const r = await train(c, { engine, yieldEvery: 0 });
    for (let i = 0; i < c.steps; i++)
      assert.ok(Math.abs(r.lossHistory[i] - ref.lossHistory[i]) / ref.lossHistory[i] < 1e-4);
    r.weights.forEach((w, i) => assert.ok(relErr(w, ref.weights[i]) < 1e-4, `${r.engine} w[${i}]`));
    r.emaWeights!.forEach((w, i) => assert.ok(relErr(w, ref.emaWeights![i]) < 1e-4));
  }
});

test("the raw time embedding and explicit sheet choices are the sheet, bit for bit", async () => {
  const c = cfg({ steps: 50, dataSize: 2000 });
  const explicit = cfg({
    steps: 50,
    dataSize: 2000,
    parameterization: "score",
    weighting: "none",
    lrSchedule: { kind: "constant" },
    model: { ...c.model, timeEmbedding: { kind: "raw" } },
  });
  for (const engine of [wasmEngine, tfjsEngine]) {
    const a = await train(c, { engine, yieldEvery: 0 });
    const b = await train(explicit, { engine, yieldEvery: 0 });
    assert.deepEqual(b.lossHistory, a.lossHistory);
    b.weights.forEach((w, i) => assert.deepEqual(w, a.weights[i]));
  }
});

/** Wider networks the kernel runs: 100 also exercises its 4-column and odd-group tails. */
const widths = [96, 100, 128];

for (const h of widths) {
  test(`hidden [${h}, ${h}]: wasm and tfjs give the float64 network, loss and gradient`, () => {
    const c = cfg({
      parameterization: "eps",
      weighting: "sigma2",
      model: { ...defaultTrainConfig().model, hidden: [h, h], timeEmbedding: fourier },
    });
    const w = testWeights(c, 12);
    const n = 301; // not a multiple of the kernel's chunk: padded rows
    const x = new Rng(13).normalArray(2 * n, new Float32Array(2 * n)) as Float32Array;
    const model = new ScoreModel(c.model, w);
    for (const t of [0.001, 0.37, 1]) {
      const wasm = wasmScoreFn(w, c.model, { threads: 1 })(x, t, n);
      const ref = mlpForward(w, x, new Float64Array(n).fill(Math.fround(t)), n, fourier).out;
      const tfjs = scoreFnFromModel(model)(x, t, n);
      assert.ok(relErr(wasm, ref) < 2e-6, `wasm vs float64 at t=${t}: ${relErr(wasm, ref)}`);
      assert.ok(relErr(wasm, tfjs) < 1e-5, `wasm vs tfjs at t=${t}: ${relErr(wasm, tfjs)}`);
    }
    model.dispose();
    const b = testBatch(c, 14, n);
    const ref = reference(c, w, b);
    const wasm = wasmLossAndGradient(c, w, b, { threads: 1 });
    const tfjs = tfjsLossAndGradient(c, w, b);
    for (const [engine, r] of [
      ["wasm", wasm],
      ["tfjs", tfjs],
    ] as const) {
      assert.ok(Math.abs(r.loss - ref.loss) / ref.loss < 2e-5, `${engine} loss`);
      r.grads.forEach((g, i) =>
        assert.ok(
          relErr(g, ref.grads[i]) < 2e-4,
          `${engine} grads[${i}]: ${relErr(g, ref.grads[i])}`,
        ),
      );
    }
    wasm.grads.forEach((g, i) => assert.ok(relErr(g, tfjs.grads[i]) < 2e-4, `wasm vs tfjs [${i}]`));
    assert.equal(fastestScoreFn(w, c.model).engine, "wasm-simd");
  });
}

test("hidden [128, 128]: a few Adam steps on wasm = tfjs = the float64 reference", async () => {
  const c = cfg({
    ...variants[5][1],
    model: { ...defaultTrainConfig().model, hidden: [128, 128], timeEmbedding: fourier },
    steps: 6,
    dataSize: 2000,
    ema: 0.5,
  });
  const ref = await train(c, { engine: referenceEngine, yieldEvery: 0 });
  for (const engine of [wasmEngine, tfjsEngine]) {
    const r = await train(c, { engine, yieldEvery: 0 });
    for (let i = 0; i < c.steps; i++)
      assert.ok(Math.abs(r.lossHistory[i] - ref.lossHistory[i]) / ref.lossHistory[i] < 1e-4);
    r.weights.forEach((w, i) => assert.ok(relErr(w, ref.weights[i]) < 1e-4, `${r.engine} w[${i}]`));
    r.emaWeights!.forEach((w, i) => assert.ok(relErr(w, ref.emaWeights![i]) < 1e-4));
  }
});

test("other architectures: wasm refuses, naming what it runs and tfjs; tfjs trains them", async () => {
  for (const hidden of [[16], [100, 64], [30, 30], [260, 260], [64, 64, 64]]) {
    const model = { ...defaultTrainConfig().model, hidden };
    const c = cfg({ weighting: "sigma2", model });
    assert.equal(kernelFits(model), false, JSON.stringify(hidden));
    assert.throws(
      () => createWasmEngine(c, initialWeights(model, 1)),
      new RegExp(
        `runs hidden=\\[h, h\\] with h a multiple of 4 up to 256.*but got ` +
          `hidden=\\[${hidden.join(",")}\\]; other architectures train on the "tfjs"`,
      ),
    );
    assert.equal(fastestScoreFn(initialWeights(model, 1), model).engine, "tfjs");
  }
  const c = cfg({ model: { ...defaultTrainConfig().model, hidden: [30, 30] } });
  const run = await train({ ...c, steps: 3, dataSize: 500 }, { engine: tfjsEngine, yieldEvery: 0 });
  assert.equal(run.weights[0].length, 3 * 30);
});

test("trainedScoreFn reads an ε-network as s = −ε̂/σ̃ and a score network as is", () => {
  const c = cfg({
    parameterization: "eps",
    model: { ...defaultTrainConfig().model, timeEmbedding: fourier },
  });
  const w = testWeights(c, 14);
  const x = Float64Array.from([0.1, 0.2, -1, 0.5, 0.3, -0.7]);
  for (const t of [0, 0.001, 0.3, 1]) {
    const net = fastestScoreFn(w, c.model).score(x, t, 3);
    const s = trainedScoreFn(w, c).score(x, t, 3);
    const st = Math.max(sigma(t, c.schedule), c.loss.sigmaMin);
    const ref = mlpForward(w, x, [t, t, t], 3, fourier).out;
    assert.ok(relErr(net, ref) < 1e-5, `network at t=${t}`);
    assert.ok(
      relErr(
        s,
        Array.from(net, (o) => -o / st),
      ) < 1e-6,
      `score at t=${t}`,
    );
  }
  const sheet = cfg();
  const ws = testWeights(sheet, 15);
  assert.deepEqual(trainedScoreFn(ws, sheet).score(x, 0.3, 3), fastestScoreFn(ws).score(x, 0.3, 3));
});

test("the variant options are validated where they enter, naming the bad value", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ weigthing: "sigma2" }, /Unknown key "weigthing".*did you mean "weighting"/],
    [{ weighting: "snr" }, /weighting to be "none", "sigma2" or "likelihood".*weighting="snr"/],
    [{ parameterization: "x0" }, /parameterization to be "score" or "eps".*"x0"/],
    [{ ema: 1 }, /ema to be a decay rate in \[0, 1\).*ema=1/],
    [{ lrSchedule: { kind: "step" } }, /lrSchedule.kind to be "constant", "cosine" or "linear"/],
    [
      { steps: 10, lrSchedule: { kind: "cosine", warmupSteps: 10, minFactor: 0 } },
      /warmupSteps to be an integer in \[0, steps=10\).*warmupSteps=10/,
    ],
    [
      {
        model: {
          ...defaultTrainConfig().model,
          timeEmbedding: { kind: "fourier", frequencies: 17, maxFrequency: 4 },
        },
      },
      /frequencies to be an integer in \[1, 16\].*frequencies=17/,
    ],
    [
      { model: { ...defaultTrainConfig().model, timeEmbeding: { kind: "raw" } } },
      /did you mean "timeEmbedding"/,
    ],
  ];
  for (const [over, message] of bad)
    assert.throws(
      () => validateTrainConfig({ ...defaultTrainConfig(), ...over } as TrainConfig),
      message,
    );
});

test("the sheet's recipe is the default config, with its cache key unchanged", () => {
  assert.deepEqual(recipes.sheet(), defaultTrainConfig());
  // the key the sheet's trained weights were cached under before the variants existed
  assert.equal(trainCacheKey(defaultTrainConfig()), "d64f8d314e2b60d5");
  validateTrainConfig(recipes.best());
  assert.notEqual(trainCacheKey(recipes.best()), trainCacheKey(recipes.sheet()));
});
