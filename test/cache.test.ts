/**
 * trainCached: a second call loads instead of training, a changed config or `force` retrains,
 * and an interrupted run resumes to the same result as an uninterrupted one.
 * Steps are counted by a wrapping engine factory made for the test, not by timing.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  TrainingInterrupted,
  canonicalJson,
  lockTraining,
  trainCacheKey,
  trainCached,
} from "../src/notebook/cache";
import { loadTrainCheckpoint, saveTrainCheckpoint } from "../src/notebook/checkpoint";
import {
  defaultTrainConfig,
  EngineFactory,
  train,
  TrainConfig,
  TrainState,
} from "../src/core/train";
import { selectBackend } from "../src/engines/backend";
import { tfjsEngine } from "../src/engines/tfjs";

let engineSteps = 0;
/** The tfjs engine, counting the steps it computes. */
const countingTfjs: EngineFactory = async (init) => {
  const inner = await tfjsEngine(init);
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
};

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
const opts = { engine: countingTfjs, progress: false } as const;

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
  // An interrupted run throws (a notebook cell must not go on as if training had finished).
  await assert.rejects(
    trainCached(cfg, {
      ...opts,
      cacheDir,
      signal: controller.signal,
      progressEveryMs: 0,
      onProgress: (p) => {
        if (p.step === 15) controller.abort();
      },
    }),
    (err: unknown) =>
      err instanceof TrainingInterrupted &&
      err.step === 15 &&
      !/\n\s+at /.test(String(err.stack)) && // a notebook shows one line, not a stack trace
      !Object.keys(err).includes("step") &&
      /interrupted at step 15 of 40; checkpoint saved; re-run to resume/.test(err.message),
  );

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

test("an interrupted retrain keeps the cached weights; a re-run retrain resumes and replaces them", async () => {
  await selectBackend();
  const cacheDir = tmpDir();
  const cfg = smallConfig();
  const file = path.join(cacheDir, `${trainCacheKey(cfg)}.json`);
  const first = await trainCached(cfg, { ...opts, cacheDir });
  const before = fs.readFileSync(file);

  const controller = new AbortController();
  await assert.rejects(
    trainCached(cfg, {
      ...opts,
      cacheDir,
      force: true,
      signal: controller.signal,
      progressEveryMs: 0,
      onProgress: (p) => {
        if (p.step === 10) controller.abort();
      },
    }),
    TrainingInterrupted,
  );
  assert.deepEqual(fs.readFileSync(file), before, "the cached weights are untouched");
  assert.equal(loadTrainCheckpoint(file).step, cfg.steps, "and still complete");
  engineSteps = 0;
  const loaded = await trainCached(cfg, { ...opts, cacheDir });
  assert.equal(loaded.fromCache, true, "without force the finished weights still load");
  assert.equal(engineSteps, 0);

  engineSteps = 0;
  const retrained = await trainCached(cfg, { ...opts, cacheDir, force: true });
  assert.equal(retrained.resumedFrom, 10, "the retrain resumes from its own checkpoint");
  assert.equal(engineSteps, cfg.steps - 10);
  assert.deepEqual(retrained.weights, first.weights, "same config, same seed: same weights");
  assert.equal(loadTrainCheckpoint(file).step, cfg.steps);
  assert.ok(
    !fs.existsSync(file.replace(/\.json$/, ".retrain.json")),
    "the retrain file is moved in",
  );
});

test("a corrupt cache file is an error that says how to recover", async () => {
  const cacheDir = tmpDir();
  const cfg = smallConfig();
  const file = path.join(cacheDir, `${trainCacheKey(cfg)}.json`);
  await trainCached(cfg, { ...opts, cacheDir });
  const text = fs.readFileSync(file, "utf8");
  fs.writeFileSync(
    file,
    text.replace(/"weights":\["./, (m) => m.slice(0, -1) + (m.endsWith("A") ? "B" : "A")),
  );
  await assert.rejects(
    trainCached(cfg, { ...opts, cacheDir }),
    /checksum mismatch.*force: true.*retrain = true.*--force.*delete that file/,
  );
});

test("a misspelled setting is rejected before anything is trained or cached", async () => {
  const cacheDir = tmpDir();
  const typo = { ...smallConfig(), lr: 3e-3 } as unknown as TrainConfig;
  engineSteps = 0;
  await assert.rejects(
    trainCached(typo, { ...opts, cacheDir }),
    /Unknown key "lr" in TrainConfig; did you mean "learningRate"\?/,
  );
  assert.equal(engineSteps, 0);
  assert.deepEqual(fs.readdirSync(cacheDir), [], "no cache entry under a key with the typo");
});

test("a checkpoint of a different configuration is not resumed: the refusal names the fields", async () => {
  await selectBackend();
  const cacheDir = tmpDir();
  const cfg = smallConfig();
  const other: TrainConfig = { ...cfg, learningRate: 2e-3 };
  // An interrupted run of `other`, saved where `cfg`'s partial run would be.
  const controller = new AbortController();
  let saved: TrainState | undefined;
  await train(other, {
    engine: tfjsEngine,
    signal: controller.signal,
    progressEveryMs: 0,
    onProgress: (p) => p.step === 15 && controller.abort(),
    onCheckpoint: (s) => (saved = s),
  });
  assert.equal(saved?.step, 15);
  const file = path.join(cacheDir, `${trainCacheKey(cfg)}.json`);
  saveTrainCheckpoint(file, { ...saved!, config: other });
  const before = fs.readFileSync(file);

  engineSteps = 0;
  await assert.rejects(
    trainCached(cfg, { ...opts, cacheDir }),
    /Cannot resume from ".*": the config differs \(learningRate: checkpoint 0\.002, now 0\.001\)/,
  );
  assert.equal(engineSteps, 0, "nothing was trained");
  assert.deepEqual(fs.readFileSync(file), before, "the checkpoint is left as it was");
});

test("the engine may be given by name; an unknown name is refused before anything is trained", async () => {
  await selectBackend();
  const cacheDir = tmpDir();
  const cfg = { ...smallConfig(), steps: 5 };
  await assert.rejects(
    trainCached(cfg, { engine: "gpu", progress: false, cacheDir }),
    /Expected engine to be one of "auto", "wasm-simd", "tfjs", "reference", but got engine="gpu"/,
  );
  assert.deepEqual(fs.readdirSync(cacheDir), [], "nothing was cached");
  const r = await trainCached(cfg, { engine: "tfjs", progress: false, cacheDir });
  assert.equal(r.engine, "tfjs");
  assert.equal(r.steps, 5);
});

test("a cached ema run loads with its emaWeights bit-identical, also after a resume", async () => {
  await selectBackend();
  const cfg: TrainConfig = { ...smallConfig(), ema: 0.9 };
  const cacheDir = tmpDir();
  const first = await trainCached(cfg, { ...opts, cacheDir });
  assert.ok(first.emaWeights, "a fresh run returns its average");
  assert.notDeepEqual(first.emaWeights, first.weights);
  engineSteps = 0;
  const loaded = await trainCached(cfg, { ...opts, cacheDir });
  assert.equal(loaded.fromCache, true);
  assert.equal(engineSteps, 0);
  assert.deepEqual(loaded.emaWeights, first.emaWeights);

  // interrupted at step 15, resumed: the same average as the uninterrupted run
  const resumeDir = tmpDir();
  const controller = new AbortController();
  await assert.rejects(
    trainCached(cfg, {
      ...opts,
      cacheDir: resumeDir,
      signal: controller.signal,
      progressEveryMs: 0,
      onProgress: (p) => p.step === 15 && controller.abort(),
    }),
    TrainingInterrupted,
  );
  const resumed = await trainCached(cfg, { ...opts, cacheDir: resumeDir });
  assert.equal(resumed.resumedFrom, 15);
  assert.deepEqual(resumed.emaWeights, first.emaWeights);
  assert.deepEqual(resumed.weights, first.weights);
  const reloaded = await trainCached(cfg, { ...opts, cacheDir: resumeDir });
  assert.equal(reloaded.fromCache, true);
  assert.deepEqual(reloaded.emaWeights, first.emaWeights);
});

test("an ema run cached without its average (old files) is trained anew", async () => {
  await selectBackend();
  const cfg: TrainConfig = { ...smallConfig(), ema: 0.9 };
  const cacheDir = tmpDir();
  const first = await trainCached(cfg, { ...opts, cacheDir });
  const file = path.join(cacheDir, `${trainCacheKey(cfg)}.json`);
  const old = loadTrainCheckpoint(file);
  delete old.ema;
  saveTrainCheckpoint(file, old);
  engineSteps = 0;
  const again = await trainCached(cfg, { ...opts, cacheDir });
  assert.equal(again.fromCache, false);
  assert.equal(engineSteps, cfg.steps, "trained from step 0");
  assert.deepEqual(again.emaWeights, first.emaWeights);
  assert.ok(loadTrainCheckpoint(file).ema, "the new file holds the average");
});

test("the sheet's cache key and cache file are unchanged by the ema field", async () => {
  assert.equal(trainCacheKey(defaultTrainConfig()), "d64f8d314e2b60d5");
  const cacheDir = tmpDir();
  const r = await trainCached(smallConfig(), { ...opts, cacheDir });
  assert.equal(r.emaWeights, undefined);
  const doc = JSON.parse(fs.readFileSync(r.file, "utf8"));
  assert.ok(!("ema" in doc.content), "no ema field in a run without ema");
});
