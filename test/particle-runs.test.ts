/**
 * Notebook 07's cached particle experiment: the cache round-trip (the second call loads the same
 * result, on one thread or two), clear errors for corrupt, foreign and mismatched cache files, an
 * interrupt that caches nothing, configuration errors that name the bad value, the checks' statuses
 * (PASS for the trained models, FAIL when the kinds are swapped, SKIPPED for a missing model) and
 * the quick sizes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  ParticleExperimentConfig,
  ParticleExperimentResult,
  comFreeNoiseCheck,
  defaultParticleExperimentConfig,
  pairEnergyGradientCheck,
  particleEquivarianceCheck,
  particleExperiment,
  particleExperimentFile,
  readParticleExperiment,
  showParticleModels,
  validateParticleExperimentConfig,
} from "../src/notebook/particle-runs";
import { overallStatus } from "../src/notebook/checks/check";
import { Interrupted } from "../src/notebook/interrupt";

/** A tiny experiment: every code path in a few seconds. */
function tinyConfig(): ParticleExperimentConfig {
  const base = defaultParticleExperimentConfig(true);
  return {
    ...base,
    mala: { ...base.mala, nSamples: 200, burnIn: 200, thin: 10 },
    nReference: 100,
    steps: 30,
    nSamples: 30,
    samplerSteps: 10,
    dataSizes: [50],
    equivarianceTimes: [0.01, 0.5],
    equivarianceConfigs: 5,
    smallTimes: [0.01],
    scoreForceConfigs: 20,
  };
}

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `particle-runs-${name}-`));
const opts = { progress: false };

/** Everything but the timings (which differ from run to run). */
function numbers(r: ParticleExperimentResult) {
  const strip = (runs: ParticleExperimentResult["runs"]) =>
    runs.map(({ trainSeconds: _a, sampleSeconds: _b, ...rest }) => rest);
  const { wallSeconds: _w, cpuSeconds: _c, threads: _t, ...rest } = r;
  return { ...rest, runs: strip(r.runs), dataEfficiency: strip(r.dataEfficiency) };
}

let shared: { dir: string; result: ParticleExperimentResult } | null = null;
async function computed(): Promise<{ dir: string; result: ParticleExperimentResult }> {
  if (!shared) {
    const dir = tmp("shared");
    shared = { dir, result: await particleExperiment(tinyConfig(), { ...opts, cacheDir: dir }) };
  }
  return shared;
}

test("cache round-trip: written once, a second call loads the identical result", async () => {
  const { dir, result } = await computed();
  const file = particleExperimentFile(tinyConfig(), dir);
  assert.ok(fs.existsSync(file), "the result is cached as one JSON file");
  assert.match(path.basename(file), /^particles-[0-9a-f]{16}\.json$/);
  // a fresh folder holding only the file: the call must read it (nothing computed in this process)
  const other = tmp("copy");
  fs.copyFileSync(file, path.join(other, path.basename(file)));
  const t0 = performance.now();
  const loaded = await particleExperiment(tinyConfig(), { ...opts, cacheDir: other });
  assert.ok(performance.now() - t0 < 1000, "loading takes well under a second");
  assert.deepEqual(loaded, JSON.parse(JSON.stringify(result)));
  assert.equal(result.runs.length, 2 * 3);
  assert.equal(result.dataEfficiency.length, 3);
  // a changed configuration is another key, another file
  const changed = { ...tinyConfig(), steps: 31 };
  assert.notEqual(particleExperimentFile(changed, dir), file);
});

test("the numbers do not depend on the number of worker threads", async () => {
  const { result } = await computed();
  const one = await particleExperiment(tinyConfig(), { ...opts, cacheDir: tmp("one"), threads: 1 });
  assert.equal(one.threads, 1);
  assert.ok(result.threads >= 1);
  assert.deepEqual(numbers(one), numbers(result));
});

test("two concurrent calls (cells run at once) share one computation", async () => {
  const dir = tmp("concurrent");
  const [a, b] = await Promise.all([
    particleExperiment(tinyConfig(), { ...opts, cacheDir: dir }),
    particleExperiment(tinyConfig(), { ...opts, cacheDir: dir }),
  ]);
  assert.equal(a, b, "the second call returns the first call's result object");
});

test("a corrupt, foreign or mismatched cache file is a clear error naming it", async () => {
  const { dir } = await computed();
  const good = fs.readFileSync(particleExperimentFile(tinyConfig(), dir), "utf8");
  const cases: [string, string, RegExp][] = [
    ["truncated", good.slice(0, good.length / 2), /not valid JSON/],
    ["foreign", JSON.stringify({ format: "something else" }), /format is "something else"/],
    [
      "wrong shape",
      good.replace(/"finalLoss":[-0-9.e]+/, '"finalLoss":"x"'),
      /runs\[0\]\.finalLoss is not a number/,
    ],
    [
      "other config",
      good.replace(/"steps":30/, '"steps":29'),
      /different configuration than its key says/,
    ],
  ];
  for (const [name, text, why] of cases) {
    const d = tmp(name.replace(" ", "-"));
    const file = particleExperimentFile(tinyConfig(), d);
    fs.writeFileSync(file, text);
    await assert.rejects(
      particleExperiment(tinyConfig(), { ...opts, cacheDir: d }),
      (err: Error) => {
        assert.ok(err.message.includes(file), `${name}: names the file: ${err.message}`);
        assert.match(err.message, why, name);
        assert.match(err.message, /Delete that file/, `${name}: says how to recover`);
        return true;
      },
    );
    assert.throws(() => readParticleExperiment(file, tinyConfig()), why);
  }
});

test("an interrupt stops the experiment and caches nothing", async () => {
  const dir = tmp("abort");
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    particleExperiment(tinyConfig(), { ...opts, cacheDir: dir, signal: controller.signal }),
    (err: Error) => err instanceof Interrupted && /nothing cached/.test(err.message),
  );
  assert.ok(!fs.existsSync(particleExperimentFile(tinyConfig(), dir)), "no cache file");
});

test("configuration errors name the bad value", () => {
  const bad: [Partial<ParticleExperimentConfig> & Record<string, unknown>, RegExp][] = [
    [{ seeds: [0] }, /seeds=\[0\]/],
    [{ seeds: [1, 1] }, /seeds=\[1,1\]/],
    [{ dataSizes: [5000] }, /dataSizes=\[5000\]/],
    [{ steps: 0 }, /steps=0/],
    [{ kinds: ["cnn" as never] }, /kinds=\["cnn"\]/],
    [{ equivarianceTimes: [0, 0.5] }, /equivarianceTimes=\[0,0.5\]/],
    [{ nSamples: 10_000 }, /nSamples=10000/],
    [{ seed: 3 }, /Unknown key "seed".*did you mean "seeds"/],
    [{ learningRate: -1 }, /learningRate=-1/],
  ];
  for (const [change, message] of bad)
    assert.throws(
      () => validateParticleExperimentConfig({ ...tinyConfig(), ...change }),
      message,
      JSON.stringify(change),
    );
  assert.throws(
    () =>
      validateParticleExperimentConfig({
        ...tinyConfig(),
        mala: { ...tinyConfig().mala, thin: 0 },
      }),
    /thin=0/,
  );
  validateParticleExperimentConfig(defaultParticleExperimentConfig(false));
  validateParticleExperimentConfig(defaultParticleExperimentConfig(true));
});

test("checks: PASS for trained models, FAIL with kinds swapped, SKIPPED if absent", async () => {
  const { result } = await computed();
  const real = particleEquivarianceCheck(result);
  assert.equal(overallStatus(real.checks), "PASS");
  assert.deepEqual(
    real.checks.map((c) => c.status),
    ["PASS", "PASS", "PASS"],
  );
  // the MLP's numbers under the pair-energy label, and the other way round
  const swap = {
    mlp: "pairEnergy",
    pairEnergy: "mlp",
    mlpRotationAugmented: "mlpRotationAugmented",
  };
  const swapped = {
    ...result,
    runs: result.runs.map((r) => ({ ...r, kind: swap[r.kind] as typeof r.kind })),
  };
  const bad = particleEquivarianceCheck(swapped);
  assert.equal(overallStatus(bad.checks), "FAIL");
  assert.equal(bad.checks.find((c) => /pair energy/.test(c.name))!.status, "FAIL");
  assert.equal(bad.checks.find((c) => /\(1\) MLP:/.test(c.name))!.status, "FAIL");
  // only the pair-energy runs: the MLP checks compare nothing
  const only = { ...result, runs: result.runs.filter((r) => r.kind === "pairEnergy") };
  const part = particleEquivarianceCheck(only);
  assert.deepEqual(
    part.checks.map((c) => c.status),
    ["SKIPPED", "SKIPPED", "PASS"],
  );
  const none = particleEquivarianceCheck({ ...result, runs: [] });
  assert.equal(overallStatus(none.checks), "SKIPPED");
});

test("CoM-free noise check and the pair-energy gradient check pass", () => {
  const noise = comFreeNoiseCheck(5, 0);
  assert.equal(overallStatus(noise.checks), "PASS");
  assert.ok((noise.checks[0].value as number) < 1e-13);
  const grad = pairEnergyGradientCheck(4, [5, 4], 1, 3);
  assert.equal(overallStatus(grad.checks), "PASS");
  assert.ok((grad.checks[0].value as number) < 1e-6);
});

test("quick mode: ≥ 2 seeds, fewer steps and samples, and the tables say so", async () => {
  const quick = defaultParticleExperimentConfig(true);
  const full = defaultParticleExperimentConfig(false);
  assert.equal(quick.quick, true);
  assert.equal(full.quick, false);
  assert.ok(quick.seeds.length >= 2 && full.seeds.length >= 3);
  assert.ok(quick.steps < full.steps && quick.nSamples < full.nSamples);
  assert.ok(quick.samplerSteps < full.samplerSteps);
  assert.ok(quick.mala.nSamples <= full.mala.nSamples);
  const { result } = await computed(); // a quick-mode configuration
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(String(s));
  try {
    showParticleModels(result);
    showParticleModels({ ...result, config: { ...result.config, quick: false } });
  } finally {
    console.log = log;
  }
  assert.match(lines[0], /QUICK MODE/);
  assert.doesNotMatch(lines[1], /QUICK MODE/);
  assert.match(lines[1], /full run/);
});
