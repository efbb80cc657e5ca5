import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  BACKEND_ENV_VAR,
  currentBackend,
  describeBackend,
  selectBackend,
} from "../src/engines/backend";

function tfjsNodeInstalled(): boolean {
  try {
    require.resolve("@tensorflow/tfjs-node");
    return true;
  } catch {
    return false;
  }
}

/** Run `fn` with console.warn captured; returns everything that was warned. */
async function captureWarnings(fn: () => Promise<void> | void): Promise<string> {
  const original = console.warn;
  const seen: string[] = [];
  console.warn = (...args: unknown[]) => void seen.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return seen.join("\n");
}

// Tests run in order in one process; the first one sees tfjs before any backend was chosen.
test("cpu backend starts without the 'install tfjs-node' banner (and the check can see the banner)", async () => {
  const warned = await captureWarnings(async () => {
    assert.equal(await selectBackend("cpu"), "cpu");
    tf.tidy(() => tf.square(tf.tensor1d([1, 2, 3])).dataSync());
  });
  assert.doesNotMatch(warned, /tfjs-node/);

  // Control: a fresh, unsilenced cpu backend instance does print it, so the assertion above can fail.
  const { MathBackendCPU } = require("@tensorflow/tfjs-backend-cpu");
  tf.registerBackend("cpu-unsilenced", () => new MathBackendCPU());
  const control = await captureWarnings(async () => {
    await tf.setBackend("cpu-unsilenced");
    tf.tidy(() => tf.tensor1d([1]).dataSync());
  });
  tf.removeBackend("cpu-unsilenced");
  assert.match(control, /install our node backend/);
});

test("automatic choice: tfjs-node if installed, else wasm; idempotent and safe to call concurrently", async () => {
  const expected = tfjsNodeInstalled() ? "tensorflow" : "wasm";
  delete process.env[BACKEND_ENV_VAR];
  const [a, b, c] = await Promise.all([selectBackend(), selectBackend(), selectBackend()]);
  assert.deepEqual([a, b, c], [expected, expected, expected]);
  assert.equal(currentBackend(), expected);
  assert.equal(tf.getBackend(), expected);
  assert.equal(await selectBackend(), expected);
  assert.match(await describeBackend(), new RegExp(`on ${expected}`));
});

test("wasm backend computes correctly with SIMD and one thread", async () => {
  assert.equal(await selectBackend("wasm"), "wasm");
  assert.equal(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"), true);
  assert.equal(await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"), false);
  const y = tf.tidy(() =>
    tf
      .matMul(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
        tf.tensor2d([[5], [6]]),
      )
      .dataSync(),
  );
  assert.deepEqual(Array.from(y), [17, 39]);
  assert.match(await describeBackend(), /wasm \(SIMD, 1 thread\)/);
});

test("DIFFUSION_BACKEND overrides the automatic choice; bad names and unavailable backends are named", async () => {
  process.env[BACKEND_ENV_VAR] = "cpu";
  try {
    assert.equal(await selectBackend(), "cpu");
    assert.equal(tf.getBackend(), "cpu");
    process.env[BACKEND_ENV_VAR] = "gpu";
    await assert.rejects(selectBackend(), /DIFFUSION_BACKEND=gpu/);
  } finally {
    delete process.env[BACKEND_ENV_VAR];
  }
  await assert.rejects(selectBackend("webgl" as never), /preferred=webgl/);
  if (!tfjsNodeInstalled()) {
    await assert.rejects(
      selectBackend("tensorflow"),
      /Backend "tensorflow" was requested but could not be started/,
    );
  }
  // A failed request leaves the previous backend working.
  assert.equal(tf.getBackend(), "cpu");
});
