import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend";
import { loadTrainCheckpoint } from "../src/checkpoint";
import { batchLoss, sampleBatch } from "../src/loss";
import { parameterCount, ScoreModel } from "../src/model";
import { makeMoons } from "../src/moons";
import { Rng } from "../src/random";
import {
  createEngine,
  defaultTrainConfig,
  registerEngine,
  registeredEngines,
  train,
  TrainConfig,
  TrainEngine,
  TrainProgress,
} from "../src/train";

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
  const a = await train(small({ steps: 40 }), { engine: "tfjs" });
  const b = await train(small({ steps: 40 }), { engine: "tfjs" });
  const c = await train(small({ steps: 40, seed: 1 }), { engine: "tfjs" });
  assert.equal(a.lossHistory.length, 40);
  assert.deepEqual(a.lossHistory, b.lossHistory);
  assert.deepEqual(a.weights, b.weights);
  assert.notDeepEqual(a.lossHistory, c.lossHistory);
});

test("abort at step 30 writes a checkpoint; resuming gives exactly the uninterrupted 60-step run", async () => {
  const full = await train(small(), { engine: "tfjs" });

  const ck = path.join(dir, "resume.json");
  const controller = new AbortController();
  const first = await train(small(), {
    engine: "tfjs",
    checkpointPath: ck,
    signal: controller.signal,
    progressEveryMs: 0,
    onProgress: (p) => p.step === 30 && controller.abort(),
  });
  assert.equal(first.aborted, true);
  assert.equal(first.steps, 30);
  const saved = loadTrainCheckpoint(ck);
  assert.equal(saved.step, 30);
  assert.equal(saved.optimizer.step, 30);
  assert.deepEqual(saved.lossHistory, full.lossHistory.slice(0, 30));

  const second = await train(small(), { engine: "tfjs", checkpointPath: ck, resume: true });
  assert.equal(second.aborted, false);
  assert.equal(second.resumedFrom, 30);
  assert.equal(second.steps, 60);
  assert.deepEqual(second.lossHistory, full.lossHistory);
  assert.deepEqual(second.weights, full.weights);
  assert.equal(loadTrainCheckpoint(ck).step, 60); // final checkpoint written at the end

  // Resuming with a different config is refused, naming the field.
  await assert.rejects(
    train(small({ learningRate: 2e-3 }), { engine: "tfjs", checkpointPath: ck, resume: true }),
    /learningRate: checkpoint 0\.001, now 0\.002/,
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
  registerEngine("nan-at-7", fake, { priority: -1 });
  await assert.rejects(train(small(), { engine: "nan-at-7" }), /Loss became NaN at step 7 of 60/);

  // Real divergence: an absurd learning rate blows the tfjs model up within a few steps.
  await assert.rejects(
    train(small({ learningRate: 1e30 }), { engine: "tfjs" }),
    /Loss became (NaN|Infinity) at step \d+ of 60/,
  );
});

test("tf.memory().numTensors does not grow over 300 steps, and the model learns", async () => {
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  const r = await train(small({ steps: 300 }), {
    engine: "tfjs",
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
  const start = lossOf((await train(small({ steps: 1 }), { engine: "tfjs" })).weights);
  const end = lossOf(r.weights);
  assert.ok(end < 0.95 * start, `evaluation loss went from ${start} to ${end}`);
});

test("progress reports are throttled and always include the final step", async () => {
  const seen: TrainProgress[] = [];
  await train(small({ steps: 20 }), {
    engine: "tfjs",
    progressEveryMs: 1e9,
    onProgress: (p) => seen.push(p),
  });
  assert.equal(seen.length, 1);
  assert.equal(seen[0].step, 20);
  assert.equal(seen[0].steps, 20);
  assert.equal(seen[0].etaSec, 0);
  assert.ok(
    seen[0].stepsPerSec > 0 && Number.isFinite(seen[0].loss) && Number.isFinite(seen[0].lossAvg),
  );
  assert.equal(seen[0].engine, "tfjs");
});

test("periodic checkpoints, and the loop yields to the event loop so a timer can abort it", async () => {
  const ck = path.join(dir, "periodic.json");
  const controller = new AbortController();
  // Only a timer (no progress callback) stops this run: it must see the event loop.
  setTimeout(() => controller.abort(), 200);
  const r = await train(small({ steps: 100_000 }), {
    engine: "tfjs",
    checkpointPath: ck,
    checkpointEvery: 10,
    yieldEvery: 5,
    signal: controller.signal,
  });
  assert.equal(r.aborted, true);
  assert.ok(r.steps > 0 && r.steps < 100_000);
  assert.equal(loadTrainCheckpoint(ck).step, r.steps);
});

test("engine registry: unknown names are refused; auto takes the highest priority that starts", async () => {
  await assert.rejects(
    train(small(), { engine: "no-such-engine" }),
    /Unknown engine "no-such-engine"; registered: .*tfjs/,
  );
  assert.throws(
    () =>
      registerEngine("auto", () => {
        throw new Error("x");
      }),
    /other than "auto"/,
  );
  registerEngine(
    "broken-fast",
    () => {
      throw new Error("not available here");
    },
    { priority: 100 },
  );
  assert.equal(registeredEngines()[0].name, "broken-fast");
  const cfg = small();
  const e = await createEngine("auto", {
    config: cfg,
    weights: (await train(small({ steps: 1 }), { engine: "tfjs" })).weights,
  });
  assert.ok(e.name !== "broken-fast");
  e.dispose();
});
