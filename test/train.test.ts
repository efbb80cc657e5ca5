import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import { loadTrainCheckpoint, saveTrainCheckpoint } from "../src/notebook/checkpoint";
import { createEngine, engineFactory, engineNames, engines } from "../src/engines";
import { tfjsEngine } from "../src/engines/tfjs";
import { batchLoss } from "../src/engines/tfjs-loss";
import { ScoreModel } from "../src/engines/tfjs-model";
import { wasmUnavailableReason, WASM_ENGINE_NAME } from "../src/engines/wasm";
import { sampleBatch } from "../src/core/loss";
import { parameterCount } from "../src/core/mlp";
import { makeMoons } from "../src/core/moons";
import { Rng } from "../src/core/random";
import {
  defaultTrainConfig,
  referenceEngine,
  train,
  TrainConfig,
  TrainEngine,
  TrainProgress,
  TrainState,
} from "../src/core/train";

let dir = "";
before(async () => {
  await selectBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "train-test-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A small run: batch 64, 60 steps (the sheet's values otherwise). */
const small = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...defaultTrainConfig(),
  steps: 60,
  batchSize: 64,
  dataSize: 500,
  ...over,
});

test("the default config is the sheet's: Adam lr 1e-3, batch 256, 100k steps, MLP [3, 64, 64, 2]", () => {
  const d = defaultTrainConfig();
  assert.equal(d.learningRate, 1e-3);
  assert.equal(d.batchSize, 256);
  assert.equal(d.steps, 100_000);
  assert.deepEqual(d.model.hidden, [64, 64]);
  assert.equal(parameterCount(d.model), 4546);
  assert.equal(d.loss.tMin, 1e-3);
  assert.equal(d.loss.sigmaMin, 1e-5);
});

test("seeded: the same config gives the identical loss history and weights; another seed does not", async () => {
  const a = await train(small({ steps: 40 }), { engine: tfjsEngine });
  const b = await train(small({ steps: 40 }), { engine: tfjsEngine });
  const c = await train(small({ steps: 40, seed: 1 }), { engine: tfjsEngine });
  assert.equal(a.lossHistory.length, 40);
  assert.deepEqual(a.lossHistory, b.lossHistory);
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.lossHistory, c.lossHistory);
});

test("abort at step 30 hands over a checkpoint; resuming from it gives exactly the uninterrupted 60-step run", async () => {
  const full = await train(small(), { engine: tfjsEngine });

  const controller = new AbortController();
  const checkpoints: TrainState[] = [];
  const first = await train(small(), {
    engine: tfjsEngine,
    onCheckpoint: (s) => checkpoints.push(s),
    signal: controller.signal,
    progressEveryMs: 0,
    onProgress: (p) => p.step === 30 && controller.abort(),
  });
  assert.equal(first.aborted, true);
  assert.equal(first.steps, 30);
  assert.equal(checkpoints.length, 1, "one checkpoint, when stopped");
  const saved = checkpoints[0];
  assert.equal(saved.step, 30);
  assert.equal(saved.engine, "tfjs");
  assert.equal(saved.optimizer.step, 30);
  assert.deepEqual(saved.lossHistory, full.lossHistory.slice(0, 30));
  assert.deepEqual(saved.weights, first.weights);

  // Through a checkpoint file and back, as the notebooks' cache does.
  const file = path.join(dir, "resume.json");
  saveTrainCheckpoint(file, { ...saved, config: small() });
  const resumedCheckpoints: TrainState[] = [];
  const second = await train(small(), {
    engine: tfjsEngine,
    resumeFrom: loadTrainCheckpoint(file),
    onCheckpoint: (s) => resumedCheckpoints.push(s),
  });
  assert.equal(second.aborted, false);
  assert.equal(second.resumedFrom, 30);
  assert.equal(second.steps, 60);
  assert.deepEqual(second.lossHistory, full.lossHistory);
  assert.deepEqual(second.weights, full.weights);
  // the final checkpoint is handed over at the end
  assert.equal(resumedCheckpoints[resumedCheckpoints.length - 1].step, 60);
  assert.deepEqual(resumedCheckpoints[resumedCheckpoints.length - 1].weights, full.weights);

  // A saved run longer than the configured one cannot be resumed. (Resuming with a different
  // configuration is refused where checkpoints are read from files: see cache.test.ts.)
  await assert.rejects(
    train(small({ steps: 20 }), { engine: tfjsEngine, resumeFrom: saved }),
    /Cannot resume: the saved run has 30 steps, more than steps=20/,
  );
});

test("a non-finite loss stops training with an error naming the step", async () => {
  // Engine-independent: a stand-in engine whose 7th loss is NaN.
  let calls = 0;
  const fake = (): TrainEngine => ({
    name: "nan-at-7",
    step: () => (++calls === 7 ? NaN : 1),
    getWeights: () => [],
    setWeights: () => undefined,
    getOptimizerState: () => ({ step: 0, m: [], v: [] }),
    setOptimizerState: () => undefined,
    dispose: () => undefined,
  });
  await assert.rejects(train(small(), { engine: fake }), /Loss became NaN at step 7 of 60/);

  // Real divergence: an absurd learning rate blows the tfjs model up within a few steps.
  await assert.rejects(
    train(small({ learningRate: 1e30 }), { engine: tfjsEngine }),
    /Loss became (NaN|Infinity) at step \d+ of 60/,
  );
});

test("tf.memory().numTensors does not grow over 300 steps, and the model learns", async () => {
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const r = await train(small({ steps: 300 }), {
    engine: tfjsEngine,
    progressEveryMs: 0,
    onProgress: () => counts.push(tf.memory().numTensors),
  });
  assert.equal(counts.length, 300);
  assert.equal(
    Math.min(...counts),
    Math.max(...counts),
    `numTensors varied between ${Math.min(...counts)} and ${Math.max(...counts)}`,
  );
  assert.equal(
    tf.memory().numTensors,
    before,
    "the engine must free its variables when training ends",
  );
  // The per-batch loss is too noisy to show 300 steps of progress (its irreducible part, ≈ E 2/σ², is
  // large), so compare the loss of the first and the last weights on one fixed big evaluation batch.
  const cfg = small();
  const evalBatch = sampleBatch(new Rng(123), makeMoons(cfg.dataSize, cfg.moons).x, 8192, cfg.loss);
  const lossOf = (w: Float32Array[]) => {
    const m = new ScoreModel(cfg.model, w);
    const l = batchLoss(m, evalBatch, cfg.schedule, cfg.loss);
    m.dispose();
    return l;
  };
  const start = lossOf((await train(small({ steps: 1 }), { engine: tfjsEngine })).weights);
  const end = lossOf(r.weights);
  assert.ok(end < 0.95 * start, `evaluation loss went from ${start} to ${end}`);
});

test("progress reports are throttled and always include the final step", async () => {
  const seen: TrainProgress[] = [];
  const started: string[] = [];
  const r = await train(small({ steps: 20 }), {
    engine: tfjsEngine,
    progressEveryMs: 1e9,
    onStart: (engine) => started.push(engine),
    onProgress: (p) => seen.push(p),
  });
  assert.deepEqual(started, ["tfjs"], "onStart receives the engine's name, once");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].step, 20);
  assert.equal(seen[0].steps, 20);
  assert.equal(seen[0].etaSec, 0);
  assert.ok(seen[0].stepsPerSec > 0 && Number.isFinite(seen[0].loss));
  assert.equal(seen[0].loss, r.lossHistory[19]);
  // the running mean covers all 20 steps so far (fewer than its 1000)
  assert.equal(seen[0].lossMeanSteps, 20);
  const mean = r.lossHistory.reduce((a, b) => a + b, 0) / 20;
  assert.ok(Math.abs(seen[0].lossMean - mean) <= 1e-12 * mean, `${seen[0].lossMean} vs ${mean}`);
  assert.equal(seen[0].engine, "tfjs");
});

test("periodic checkpoints, and the loop yields to the event loop so a timer can abort it", async () => {
  const controller = new AbortController();
  const checkpointSteps: number[] = [];
  // Only a timer (no progress callback) stops this run: it must see the event loop.
  setTimeout(() => controller.abort(), 200);
  const r = await train(small({ steps: 100_000 }), {
    engine: tfjsEngine,
    onCheckpoint: (s) => checkpointSteps.push(s.step),
    checkpointEvery: 10,
    yieldEvery: 5,
    signal: controller.signal,
  });
  assert.equal(r.aborted, true);
  assert.ok(r.steps > 0 && r.steps < 100_000);
  // every 10 steps, then once more where it stopped
  const last = checkpointSteps[checkpointSteps.length - 1];
  assert.equal(last, r.steps);
  const periodic = checkpointSteps.slice(0, -1);
  assert.deepEqual(
    periodic,
    Array.from({ length: Math.floor(r.steps / 10) }, (_, i) => 10 * (i + 1)),
  );
});

test("train checks its configuration where it enters, before an engine starts or a batch is drawn", async () => {
  let started = 0;
  const counting = (init: Parameters<typeof tfjsEngine>[0]) => {
    started += 1;
    return tfjsEngine(init);
  };
  // sampleBatch no longer checks batchSize and the loss config on every step: train does, once.
  await assert.rejects(train(small({ batchSize: 0 }), { engine: counting }), /batchSize=0/);
  await assert.rejects(
    train(small({ loss: { tMin: 0, sigmaMin: 1e-5 } }), { engine: counting }),
    /tMin=0/,
  );
  await assert.rejects(
    train(small({ loss: { tMin: 1e-3, sigmaMin: 0 } }), { engine: counting }),
    /sigmaMin=0/,
  );
  await assert.rejects(
    train(small({ schedule: { betaMin: 0.1, betaMax: NaN } }), { engine: counting }),
    /betaMax=NaN/,
  );
  assert.equal(started, 0);
});

test("engines by name: auto tries them in the map's order and says which it skipped; unknown names are refused", async () => {
  assert.deepEqual(Object.keys(engines), [WASM_ENGINE_NAME, "tfjs", "reference"]);
  assert.deepEqual(engineNames(), ["auto", WASM_ENGINE_NAME, "tfjs", "reference"]);
  assert.equal(engines.tfjs, tfjsEngine);
  assert.equal(engines.reference, referenceEngine);
  const unknown =
    /Expected engine to be one of "auto", "wasm-simd", "tfjs", "reference", but got engine="no-such-engine"/;
  assert.throws(() => engineFactory("no-such-engine"), unknown);
  const weights = (await train(small({ steps: 1 }), { engine: tfjsEngine })).weights;
  await assert.rejects(createEngine("no-such-engine", { config: small(), weights }), unknown);
  // a factory of one's own is taken as it is
  assert.equal(engineFactory(referenceEngine).factory, referenceEngine);
  const named = await createEngine("reference", { config: small(), weights });
  assert.equal(named.name, "reference");
  named.dispose();

  // auto: an engine that cannot run the configuration (the wasm kernel runs two hidden layers
  // [h, h]) is skipped with its reason, and the next one in order runs.
  const narrow = small({ model: { ...small().model, hidden: [16] } });
  const narrowWeights = (await train({ ...narrow, steps: 1 }, { engine: tfjsEngine })).weights;
  const auto = engineFactory("auto");
  const e = await auto.factory({ config: narrow, weights: narrowWeights });
  assert.equal(e.name, "tfjs");
  assert.deepEqual(
    auto.skipped.map((s) => s.name),
    [WASM_ENGINE_NAME],
  );
  assert.match(auto.skipped[0].reason, /runs hidden=\[h, h\] .* but got hidden=\[16\]/);
  e.dispose();

  // the sheet's architecture: the first engine, where it runs here
  const sheet = engineFactory("auto");
  const first = await sheet.factory({ config: small(), weights });
  if (wasmUnavailableReason() === null) {
    assert.equal(first.name, WASM_ENGINE_NAME);
    assert.deepEqual(sheet.skipped, []);
  } else {
    assert.equal(first.name, "tfjs");
    assert.deepEqual(
      sheet.skipped.map((s) => s.name),
      [WASM_ENGINE_NAME],
    );
  }
  first.dispose();
});
