import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/engines/backend";
import {
  defaultModelConfig,
  initialWeights,
  parameterCount,
  parameterShapes,
} from "../src/core/mlp";
import { createScoreModel, scoreFnFromModel, ScoreModel } from "../src/engines/tfjs-model";
import { Rng } from "../src/core/random";
import { mlpForward64 } from "./helpers/reference-mlp";
import { modelOutputCheck } from "../src/notebook/checks/model-output";
import { overallStatus } from "../src/notebook/checks/check";

before(async () => {
  await selectBackend();
});

test("layout is [W1 3×64, b1 64, W2 64×64, b2 64, W3 64×2, b3 2] with 4546 parameters", () => {
  const cfg = defaultModelConfig();
  assert.deepEqual(parameterShapes(cfg), [[3, 64], [64], [64, 64], [64], [64, 2], [2]]);
  // counted by hand: 3·64 + 64 + 64·64 + 64 + 64·2 + 2
  assert.equal(parameterCount(cfg), 192 + 64 + 4096 + 64 + 128 + 2);
  const m = createScoreModel(cfg, 0);
  assert.equal(m.parameterCount(), 4546);
  assert.deepEqual(
    m.params.map((p) => p.shape),
    parameterShapes(cfg),
  );
  m.dispose();
});

test("Glorot-uniform init: seeded, inside ±√(6/(in+out)), variance limit²/3, zero biases", () => {
  const cfg = { ...defaultModelConfig(), init: "glorot" as const };
  const a = initialWeights(cfg, 7);
  const b = initialWeights(cfg, 7);
  const c = initialWeights(cfg, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a[0], c[0]);
  parameterShapes(cfg).forEach((shape, i) => {
    if (shape.length === 1) {
      assert.ok(
        a[i].every((v) => v === 0),
        `bias ${i} should be zero`,
      );
      return;
    }
    const limit = Math.sqrt(6 / (shape[0] + shape[1]));
    assert.ok(
      a[i].every((v) => Math.abs(v) <= limit),
      `W${i / 2 + 1} outside ±${limit}`,
    );
    if (a[i].length >= 1000) {
      let ss = 0;
      for (const v of a[i]) ss += v * v;
      const variance = ss / a[i].length;
      assert.ok(
        Math.abs(variance / ((limit * limit) / 3) - 1) < 0.1,
        `W${i / 2 + 1} variance ${variance}`,
      );
    }
  });
});

test('init "torch" (PyTorch nn.Linear default): W and b inside ±1/√in with variance 1/(3·in)', () => {
  const cfg = { ...defaultModelConfig(), init: "torch" as const };
  const w = initialWeights(cfg, 7);
  assert.deepEqual(w, initialWeights(cfg, 7));
  parameterShapes(cfg).forEach((shape, i) => {
    const fanIn = i % 2 === 0 ? shape[0] : parameterShapes(cfg)[i - 1][0];
    const limit = 1 / Math.sqrt(fanIn);
    assert.ok(
      w[i].every((v) => Math.abs(v) <= limit),
      `array ${i} outside ±${limit}`,
    );
    assert.ok(
      w[i].some((v) => v !== 0),
      `array ${i} is all zero`,
    );
  });
  let ss = 0;
  for (const v of w[2]) ss += v * v;
  assert.ok(
    Math.abs(ss / w[2].length / (1 / (3 * 64)) - 1) < 0.1,
    `W2 variance ${ss / w[2].length}`,
  );
  assert.throws(
    () => initialWeights({ ...defaultModelConfig(), init: "he" as never }, 0),
    /init="he"/,
  );
});

test("apply matches an independent float64 forward pass of concat(x, t) through the MLP", () => {
  const m = createScoreModel(defaultModelConfig(), 3);
  const rng = new Rng(11);
  const n = 50;
  const x = rng.normalArray(2 * n, new Float32Array(2 * n)) as Float32Array;
  const t = rng.uniformArray(n, 0, 1, new Float32Array(n)) as Float32Array;
  const y = tf.tidy(() => m.apply(tf.tensor2d(x, [n, 2]), tf.tensor1d(t)).dataSync());
  const ref = mlpForward64(m.getWeights(), x, t, n);
  // Also perturb the weights so biases are non-zero and every parameter matters.
  const w = m.getWeights().map((a) => a.map((v) => v + 0.1 * rng.normal()));
  m.setWeights(w);
  const y2 = tf.tidy(() => m.apply(tf.tensor2d(x, [n, 2]), tf.tensor2d(t, [n, 1])).dataSync());
  const ref2 = mlpForward64(w, x, t, n);
  for (let i = 0; i < 2 * n; i++) {
    assert.ok(
      Math.abs(y[i] - ref[i]) < 1e-5 * (1 + Math.abs(ref[i])),
      `out ${i}: ${y[i]} vs ${ref[i]}`,
    );
    assert.ok(
      Math.abs(y2[i] - ref2[i]) < 1e-5 * (1 + Math.abs(ref2[i])),
      `out ${i}: ${y2[i]} vs ${ref2[i]}`,
    );
  }
  m.dispose();
});

test("apply rejects bad shapes, naming them", () => {
  const m = createScoreModel(defaultModelConfig(), 0);
  tf.tidy(() => {
    assert.throws(
      () => m.apply(tf.zeros([4, 3]) as tf.Tensor2D, tf.zeros([4])),
      /x\.shape=\[4,3\]/,
    );
    assert.throws(() => m.apply(tf.zeros([4, 2]) as tf.Tensor2D, tf.zeros([5])), /t\.shape=\[5\]/);
  });
  m.dispose();
});

test("get/setWeights round-trip, return copies, and validate count and lengths", () => {
  const m = createScoreModel(defaultModelConfig(), 1);
  const w = m.getWeights();
  w[0][0] = 123; // mutating the copy must not touch the model
  assert.notEqual(m.getWeights()[0][0], 123);
  m.setWeights(w);
  assert.equal(m.getWeights()[0][0], 123);
  assert.throws(() => m.setWeights(w.slice(0, 5)), /Expected 6 weight arrays .* but got 5/);
  const bad = m.getWeights();
  bad[2] = new Float32Array(10);
  assert.throws(
    () => m.setWeights(bad),
    /W2 \(weights\[2\]\) .* length 4096 \(shape \[64,64\]\), but got length 10/,
  );
  assert.throws(
    () => createScoreModel({ hidden: [64, 0], activation: "tanh" }, 0),
    /hidden=\[64,0\]/,
  );
  m.dispose();
});

test("apply, setWeights and scoreFnFromModel leak no tensors", () => {
  const m = createScoreModel(defaultModelConfig(), 2);
  const f = scoreFnFromModel(m);
  const x = new Float64Array([0.1, 0.2, -1, 0.5]);
  const before = tf.memory().numTensors;
  for (let k = 0; k < 5; k++) {
    tf.tidy(() => {
      m.apply(tf.tensor2d([[0, 0]]), tf.tensor1d([0.5]));
    });
    m.setWeights(m.getWeights());
    f(x, 0.3, 2);
  }
  assert.equal(tf.memory().numTensors, before);
  const viaApply = tf.tidy(() =>
    m.apply(tf.tensor2d(Float32Array.from(x), [2, 2]), tf.tensor1d([0.3, 0.3])).dataSync(),
  );
  assert.deepEqual(Array.from(f(x, 0.3, 2)), Array.from(viaApply));
  m.dispose();
  assert.equal(tf.memory().numTensors, before - 6);
});

test("ScoreModel constructor rejects weights of the wrong layout", () => {
  assert.throws(
    () => new ScoreModel(defaultModelConfig(), [new Float32Array(3)]),
    /Expected 6 weight arrays/,
  );
});

test("modelOutputCheck runs the model: n 2-D vectors for n points; a wrong output width fails", () => {
  const model = createScoreModel(defaultModelConfig(), 0);
  const ok = modelOutputCheck(model, 7);
  assert.equal(overallStatus(ok.checks), "PASS");
  assert.equal(ok.table[0].output, "[7, 2]");
  model.dispose();
  // a network whose last layer has 3 outputs (as if [3, 64, 64, 3]) is caught by both routes
  const wide = {
    apply: (x: tf.Tensor2D) => tf.zeros([x.shape[0], 3]) as tf.Tensor2D,
    params: [],
  } as unknown as ScoreModel;
  const bad = modelOutputCheck(wide, 4);
  assert.equal(bad.checks[0].status, "FAIL");
});
