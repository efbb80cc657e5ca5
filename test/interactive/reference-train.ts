/**
 * Reference for test/interactive.test.ts (part B): train the configuration stored in a training
 * checkpoint from scratch, uninterrupted, in this process, and compare the result float by float
 * (bit patterns) with the checkpoint's weights.
 *
 *   node --import tsx test/interactive/reference-train.ts CACHE_FILE.json
 *
 * Prints one JSON line: the checkpoint's step and config, the engine, and the mismatches.
 * Runs the compiled library in dist/ (what the notebook's kernel ran), with the checkpoint's engine.
 */
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");
// The code the kernel ran (dist/), typed by its sources.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const lib = require(path.join(ROOT, "dist", "index.js")) as typeof import("../../src/index");

/** Positions where two float32 arrays differ in their bits (NaN-safe, -0 ≠ +0). */
function bitDiffs(a: Float32Array, b: Float32Array): number[] {
  if (a.length !== b.length) return [-1];
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const out: number[] = [];
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) out.push(i);
  return out;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error("Usage: reference-train.ts CACHE_FILE.json");
  const ck = lib.loadTrainCheckpoint(file);
  const t0 = Date.now();
  const ref = await lib.train(ck.config, { engine: lib.engineFactory(ck.engine).factory });
  const seconds = (Date.now() - t0) / 1000;
  let floats = 0;
  let mismatches = 0;
  const examples: { array: number; index: number; notebook: number; reference: number }[] = [];
  const nArrays = Math.max(ck.weights.length, ref.weights.length);
  for (let k = 0; k < nArrays; k++) {
    const a = ck.weights[k] ?? new Float32Array(0);
    const b = ref.weights[k] ?? new Float32Array(0);
    floats += Math.max(a.length, b.length);
    const d = bitDiffs(a, b);
    if (d[0] === -1) {
      mismatches += Math.max(a.length, b.length);
      examples.push({ array: k, index: -1, notebook: a.length, reference: b.length });
      continue;
    }
    mismatches += d.length;
    for (const i of d.slice(0, 3))
      examples.push({ array: k, index: i, notebook: a[i], reference: b[i] });
  }
  const lossDiffs = bitDiffs(ck.lossHistory, ref.lossHistory);
  console.log(
    JSON.stringify({
      file,
      step: ck.step,
      steps: ck.config.steps,
      config: ck.config,
      configJson: lib.canonicalJson(ck.config),
      engine: ck.engine,
      referenceEngine: ref.engine,
      referenceSteps: ref.steps,
      referenceSeconds: seconds,
      floats,
      mismatches,
      examples: examples.slice(0, 6),
      lossHistoryMismatches: lossDiffs[0] === -1 ? -1 : lossDiffs.length,
    }),
  );
}

main().catch((e) => {
  console.error(String((e as Error).stack ?? e));
  process.exit(1);
});
