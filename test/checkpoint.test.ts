import { test, before, after, mock } from "node:test";
import assert from "node:assert/strict";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import {
  atomicWriteFile,
  configDifferences,
  loadModel,
  loadTrainCheckpoint,
  readModelFile,
  saveModel,
  saveTrainCheckpoint,
  TrainCheckpoint,
} from "../src/notebook/checkpoint";
import { defaultModelConfig, initialWeights } from "../src/core/mlp";
import { createScoreModel } from "../src/engines/tfjs-model";
import { Rng } from "../src/core/random";
import { defaultTrainConfig } from "../src/core/train";

// The real module object: src/notebook/checkpoint.ts reads fs functions through it at call time, so mocks apply.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const fs = require("fs") as typeof import("fs");

let dir = "";
before(async () => {
  await selectBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkpoint-test-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = (name: string) => path.join(dir, name);
const listDir = () => fs.readdirSync(dir).sort();

test("saveModel / loadModel round-trip the weights exactly and the model computes the same", () => {
  const m = createScoreModel(defaultModelConfig(), 4);
  m.setWeights(m.getWeights().map((w) => w.map((v, i) => v + 1e-3 * i))); // non-zero biases too
  saveModel(file("m.json"), m);
  const back = loadModel(file("m.json"), defaultModelConfig());
  assert.deepEqual(back.getWeights(), m.getWeights());
  assert.deepEqual(back.config, m.config);
  const x = tf.tensor2d([
    [0.3, -0.2],
    [1, 1],
  ]);
  const t = tf.tensor1d([0.1, 0.9]);
  assert.deepEqual(Array.from(back.apply(x, t).dataSync()), Array.from(m.apply(x, t).dataSync()));
  tf.dispose([x, t]);
  const plain = readModelFile(file("m.json"));
  assert.deepEqual(plain.weights, m.getWeights());
  m.dispose();
  back.dispose();
  assert.deepEqual(listDir(), ["m.json"]); // no temp file left behind
});

test("a failed write (fsync error) leaves the old file intact and no temp file behind", () => {
  const target = file("keep.json");
  saveModel(target, {
    config: defaultModelConfig(),
    weights: initialWeights(defaultModelConfig(), 1),
  });
  const oldBytes = fs.readFileSync(target);
  const fsync = mock.method(fs, "fsyncSync", () => {
    throw new Error("EIO: simulated disk failure");
  });
  try {
    assert.throws(
      () =>
        saveModel(target, {
          config: defaultModelConfig(),
          weights: initialWeights(defaultModelConfig(), 2),
        }),
      (e: Error) =>
        e.message.includes(`Could not write "${target}"`) &&
        e.message.includes("simulated disk failure"),
    );
    assert.ok(fsync.mock.callCount() > 0, "the simulated failure must have been hit");
  } finally {
    fsync.mock.restore();
  }
  assert.deepEqual(fs.readFileSync(target), oldBytes);
  assert.deepEqual(readModelFile(target).weights, initialWeights(defaultModelConfig(), 1));
  assert.ok(!listDir().some((f) => f.endsWith(".tmp")), `temp file left: ${listDir()}`);
});

test("a failed rename also leaves the old file intact", () => {
  const target = file("keep2.txt");
  atomicWriteFile(target, "old contents");
  const rename = mock.method(fs, "renameSync", () => {
    throw new Error("EXDEV: simulated");
  });
  try {
    assert.throws(
      () => atomicWriteFile(target, "new contents"),
      /Could not write .*keep2\.txt.*simulated/,
    );
  } finally {
    rename.mock.restore();
  }
  assert.equal(fs.readFileSync(target, "utf8"), "old contents");
  assert.ok(!listDir().some((f) => f.endsWith(".tmp")));
  atomicWriteFile(target, "new contents");
  assert.equal(fs.readFileSync(target, "utf8"), "new contents");
});

test("corrupt, truncated, foreign and mismatched files give errors naming the file and the problem", () => {
  const good = file("good.json");
  saveModel(good, {
    config: defaultModelConfig(),
    weights: initialWeights(defaultModelConfig(), 3),
  });
  const text = fs.readFileSync(good, "utf8");

  const truncated = file("truncated.json");
  fs.writeFileSync(truncated, text.slice(0, text.length / 2));
  assert.throws(
    () => readModelFile(truncated),
    (e: Error) => e.message.includes(truncated) && /not valid JSON/.test(e.message),
  );

  // One changed base64 character inside W2: still valid JSON, caught by the checksum.
  const flipped = file("flipped.json");
  const at = text.indexOf('"weights":[') + 3000;
  fs.writeFileSync(
    flipped,
    text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1),
  );
  assert.throws(
    () => readModelFile(flipped),
    (e: Error) => e.message.includes(flipped) && /checksum mismatch/.test(e.message),
  );

  assert.throws(() => readModelFile(file("missing.json")), /missing\.json.*file not found/);
  assert.throws(
    () => readModelFile(good, { hidden: [32, 32], activation: "tanh" }),
    /good\.json.*does not match the expected/,
  );

  const ckPath = file("ck.json");
  saveTrainCheckpoint(ckPath, sampleCheckpoint());
  assert.throws(
    () => readModelFile(ckPath),
    /ck\.json.*format is "diffusion-workbook\/train-checkpoint", expected "diffusion-workbook\/score-model"/,
  );

  // A well-formed file whose weights do not fit its config (checksum recomputed, so only validation can catch it).
  const doc = JSON.parse(text);
  doc.content.config.hidden = [64, 32];
  const body = JSON.stringify(doc.content);
  doc.sha256 = require("crypto").createHash("sha256").update(body).digest("hex");
  const mismatched = file("mismatched.json");
  fs.writeFileSync(mismatched, JSON.stringify(doc));
  assert.throws(
    () => readModelFile(mismatched),
    /mismatched\.json.*weights\[2\] \(W2, shape \[64,32\]\) holds 4096 numbers, but 2048 are expected/,
  );
});

function sampleCheckpoint(): TrainCheckpoint {
  const config = { ...defaultTrainConfig(), steps: 50 };
  const rng = new Rng(5);
  rng.normal(); // leaves a cached Box–Muller value in the state
  const w = initialWeights(config.model, 7);
  return {
    config,
    step: 3,
    engine: "tfjs",
    weights: w,
    optimizer: {
      step: 3,
      m: w.map((a) => a.map((v) => v * 0.5)),
      v: w.map((a) => a.map((v) => v * v)),
    },
    rngState: rng.getState(),
    lossHistory: new Float32Array([3.5, 2.25, Math.PI]),
  };
}

test("training checkpoints round-trip every field exactly and validate their contents", () => {
  const ck = sampleCheckpoint();
  const p = file("train.json");
  saveTrainCheckpoint(p, ck);
  const back = loadTrainCheckpoint(p);
  assert.deepEqual(back, ck);
  assert.throws(
    () => saveTrainCheckpoint(p, { ...ck, lossHistory: new Float32Array(2) }),
    /one entry per step \(3\), but got 2/,
  );
  assert.throws(
    () => loadTrainCheckpoint(file("good.json")),
    /good\.json.*format is "diffusion-workbook\/score-model"/,
  );
  assert.deepEqual(loadTrainCheckpoint(p), ck); // the rejected save did not touch the file
});

test("configDifferences names the fields (dotted paths) whose values differ, with both values", () => {
  const a = defaultTrainConfig();
  assert.deepEqual(configDifferences(a, defaultTrainConfig()), []);
  const b = {
    ...a,
    learningRate: 2e-3,
    model: { ...a.model, hidden: [32, 32] },
    schedule: { ...a.schedule, betaMax: 10 },
  };
  assert.deepEqual(configDifferences(a, b), [
    { key: "learningRate", a: "0.001", b: "0.002" },
    { key: "model.hidden", a: "[64,64]", b: "[32,32]" },
    { key: "schedule.betaMax", a: "20", b: "10" },
  ]);
  // a field only on one side
  assert.deepEqual(configDifferences({ x: 1 }, { x: 1, y: { z: true } }), [
    { key: "y.z", a: undefined, b: "true" },
  ]);
});

test("an ema checkpoint round-trips its average exactly; bad averages are refused", () => {
  const base = sampleCheckpoint();
  const ck: TrainCheckpoint = {
    ...base,
    config: { ...base.config, ema: 0.999 },
    ema: base.weights.map((a) => a.map((v) => v * 0.25 + 1e-3)),
  };
  const p = file("train-ema.json");
  saveTrainCheckpoint(p, ck);
  const back = loadTrainCheckpoint(p);
  assert.deepEqual(back, ck);
  assert.ok(
    back.ema!.every((a, i) => Buffer.from(a.buffer).equals(Buffer.from(ck.ema![i].buffer))),
  );
  // a file without an average (as written before averages were stored) still loads, without one
  const doc = JSON.parse(fs.readFileSync(p, "utf8"));
  const rehash = (d: { content: unknown; sha256: string }) =>
    (d.sha256 = require("crypto")
      .createHash("sha256")
      .update(JSON.stringify(d.content))
      .digest("hex"));
  delete doc.content.ema;
  rehash(doc);
  fs.writeFileSync(file("old-ema.json"), JSON.stringify(doc));
  assert.equal(loadTrainCheckpoint(file("old-ema.json")).ema, undefined);
  // a truncated average is named
  const bad = JSON.parse(fs.readFileSync(p, "utf8"));
  bad.content.ema[0] = bad.content.ema[0].slice(0, 8);
  rehash(bad);
  fs.writeFileSync(file("bad-ema.json"), JSON.stringify(bad));
  assert.throws(
    () => loadTrainCheckpoint(file("bad-ema.json")),
    /bad-ema\.json.*ema\[0\] \(W1, shape \[3,64\]\) holds 1\.5 numbers, but 192 are expected/,
  );
  // an average stored for a config without ema is inconsistent
  const foreign = JSON.parse(fs.readFileSync(p, "utf8"));
  delete foreign.content.config.ema;
  rehash(foreign);
  fs.writeFileSync(file("foreign-ema.json"), JSON.stringify(foreign));
  assert.throws(
    () => loadTrainCheckpoint(file("foreign-ema.json")),
    /foreign-ema\.json.*ema weights are stored, but the config has no ema/,
  );
  assert.throws(
    () => saveTrainCheckpoint(file("x.json"), { ...ck, config: base.config }),
    /Expected no ema weights for a config without ema/,
  );
});

test("a checkpoint without ema is written exactly as before (no ema field)", () => {
  const p = file("sheet-like.json");
  saveTrainCheckpoint(p, sampleCheckpoint());
  const doc = JSON.parse(fs.readFileSync(p, "utf8"));
  assert.deepEqual(Object.keys(doc.content), [
    "config",
    "step",
    "engine",
    "weights",
    "optimizer",
    "rngState",
    "lossHistory",
  ]);
});
