/**
 * trainCached: a second call loads instead of training, a changed config or `force` retrains,
 * and an interrupted run resumes to the same result as an uninterrupted one.
 * Steps are counted by a wrapping engine registered for the test, not by timing.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { canonicalJson, lockTraining, trainCacheKey, trainCached } from "../src/cache";
import { createEngine, defaultTrainConfig, registerEngine, TrainConfig } from "../src/train";
import { selectBackend } from "../src/backend";

let engineSteps = 0;
registerEngine("counting-tfjs", async (init) => {
  const inner = await createEngine("tfjs", init);
  return {
    name: "counting-tfjs",
    step(batch) {
      engineSteps += 1;
      return inner.step(batch);
    },
    getWeights: () => inner.getWeights(),
    setWeights: (w) => inner.setWeights(w),
    getOptimizerState: () => inner.getOptimizerState(),
    setOptimizerState: (s) => inner.setOptimizerState(s),
    dispose: () => inner.dispose(),
  };
});

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-cache-test-"));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function smallConfig(): TrainConfig {
  return { ...defaultTrainConfig(), steps: 40, batchSize: 32, dataSize: 200 };
}
const opts = { engine: "counting-tfjs", progress: false } as const;

test("the cache key is stable under key order and changes with any field", () => {
  const a = smallConfig();
  const reordered = JSON.parse(canonicalJson(a)) as TrainConfig;
  const shuffled = Object.fromEntries(
    Object.entries(reordered).reverse(),
  ) as unknown as TrainConfig;
  assert.equal(trainCacheKey(shuffled), trainCacheKey(a));
  assert.notEqual(
    trainCacheKey({ ...a, schedule: { ...a.schedule, betaMax: 19 } }),
    trainCacheKey(a),
  );
  assert.notEqual(trainCacheKey({ ...a, seed: 1 }), trainCacheKey(a));
  assert.match(trainCacheKey(a), /^[0-9a-f]{16}$/);
});

test("second call loads, changed config and force retrain", async () => {
  await selectBackend();
  const cacheDir = tmpDir();
  const cfg = smallConfig();

  engineSteps = 0;
  const first = await trainCached(cfg, { ...opts, cacheDir });
  assert.equal(first.fromCache, false);
  assert.equal(engineSteps, cfg.steps);

  engineSteps = 0;
  const second = await trainCached({ ...cfg }, { ...opts, cacheDir });
  assert.equal(engineSteps, 0, "the second call must not train");
  assert.equal(second.fromCache, true);
  assert.deepEqual(second.weights, first.weights);
  assert.deepEqual(second.lossHistory, first.lossHistory);

  engineSteps = 0;
  const changed = await trainCached({ ...cfg, learningRate: 5e-4 }, { ...opts, cacheDir });
  assert.equal(changed.fromCache, false);
  assert.equal(engineSteps, cfg.steps, "a changed config retrains");

  engineSteps = 0;
  const forced = await trainCached(cfg, { ...opts, cacheDir, force: true });
  assert.equal(forced.fromCache, false);
  assert.equal(engineSteps, cfg.steps, "force retrains");
  assert.deepEqual(forced.weights, first.weights, "same config, same seed: same weights");
});

test("an interrupted run resumes from its checkpoint to the uninterrupted result", async () => {
  await selectBackend();
  const cfg = smallConfig();
  const reference = await trainCached(cfg, { ...opts, cacheDir: tmpDir() });

  const cacheDir = tmpDir();
  const controller = new AbortController();
  engineSteps = 0;
  const interrupted = await trainCached(cfg, {
    ...opts,
    cacheDir,
    signal: controller.signal,
    progressEveryMs: 0,
    onProgress: (p) => {
      if (p.step === 15) controller.abort();
    },
  });
  assert.equal(interrupted.aborted, true);
  assert.equal(interrupted.steps, 15);

  engineSteps = 0;
  const resumed = await trainCached(cfg, { ...opts, cacheDir });
  assert.equal(resumed.fromCache, false);
  assert.equal(resumed.resumedFrom, 15);
  assert.equal(engineSteps, cfg.steps - 15, "only the remaining steps are trained");
  assert.deepEqual(resumed.lossHistory, reference.lossHistory);
  assert.deepEqual(resumed.weights, reference.weights);

  engineSteps = 0;
  const loaded = await trainCached(cfg, { ...opts, cacheDir });
  assert.equal(loaded.fromCache, true);
  assert.equal(engineSteps, 0);
});

test("a live process's lock stops a second trainer with its pid; a dead process's lock is taken over", async () => {
  const dir = tmpDir();
  const cfg = smallConfig();
  const file = path.join(dir, `${trainCacheKey(cfg)}.json`);
  // A live process (the parent of this test process) holds the lock.
  fs.writeFileSync(`${file}.lock`, String(process.ppid));
  await assert.rejects(
    trainCached(cfg, { ...opts, cacheDir: dir }),
    new RegExp(`Another process \\(pid ${process.ppid}\\) is training`),
  );
  assert.ok(!fs.existsSync(file), "nothing was written");
  // A lock left by a process that is gone (pid beyond the kernel's range) is stale.
  fs.writeFileSync(`${file}.lock`, "4194305");
  const r = await trainCached(cfg, { ...opts, cacheDir: dir });
  assert.equal(r.steps, cfg.steps);
  assert.ok(!fs.existsSync(`${file}.lock`), "the lock is released after training");
  // Direct use: the second claim in the same folder fails while the first is held.
  const release = lockTraining(file);
  fs.writeFileSync(`${file}.lock`, String(process.ppid));
  assert.throws(() => lockTraining(file), /Another process/);
  release();
});
