/**
 * The ablation study of notebook 06: its run cache (a second call trains nothing and returns the
 * same numbers), the results file read as untrusted input, the summary computed from a table,
 * and validation messages that name the bad value.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  AblationStudyConfig,
  AblationStudyResult,
  ablationVariants,
  changedVariants,
  readAblationResults,
  runAblationStudy,
  showFullLengthAblation,
  recordedAblationResultsFile,
  summariseAblation,
  validateAblationStudyConfig,
  writeAblationResults,
} from "../src/notebook/ablation-study";
import { recipes } from "../src/core/recipes";
import { captureKernel } from "./helpers/kernel";
import { selectBackend } from "../src/engines/backend";

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "ablation-test-"));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const tiny: AblationStudyConfig = {
  steps: 1001,
  seeds: [3, 4],
  nSamples: 40,
  samplerSteps: 20,
  variants: ["sheet", "ema"],
};

test("the variants are the sheet, each choice alone and recipes.best as it is now", () => {
  const v = ablationVariants();
  assert.equal(v[0].name, "sheet");
  assert.equal(v.at(-1)!.name, "best");
  assert.deepEqual(v.at(-1)!.config, recipes.best());
  const names = v.map((x) => x.name);
  for (const n of ["eps", "sigma2", "likelihood", "fourier", "ema", "cosine", "linear"])
    assert.ok(names.includes(n), n);
  assert.equal(new Set(names).size, names.length, "unique names");
});

test("runs are cached: a second call trains nothing and returns the same numbers", async () => {
  await selectBackend();
  const cacheDir = tmpDir();
  const first = await runAblationStudy(tiny, { cacheDir, progress: false });
  assert.equal(first.runs.length, 4);
  assert.deepEqual(
    first.runs.map((r) => [r.variant, r.seed, r.ema]),
    [
      ["sheet", 3, false],
      ["sheet", 4, false],
      ["ema", 3, true],
      ["ema", 4, true],
    ],
  );
  assert.deepEqual(changedVariants(first), [], "the runs are of the current configurations");
  const renamed = {
    ...first,
    runs: first.runs.map((r, i) => (i === 0 ? { ...r, trainKey: "x" } : r)),
  };
  assert.deepEqual(changedVariants(renamed), ["sheet"]);
  for (const r of first.runs) {
    assert.ok(r.outer >= 0 && r.outer + r.inner <= 1);
    assert.ok(r.ed > 0);
  }
  // without the trained weights, only the run files can answer
  for (const f of fs.readdirSync(cacheDir))
    if (!f.startsWith("ablation-run-")) fs.rmSync(path.join(cacheDir, f));
  const fromCache: boolean[] = [];
  const second = await runAblationStudy(tiny, {
    cacheDir,
    progress: false,
    onRun: (_r, _d, _t, cached) => fromCache.push(cached),
  });
  assert.deepEqual(fromCache, [true, true, true, true]);
  assert.deepEqual(second.runs, first.runs);
  assert.ok(
    fs.readdirSync(cacheDir).every((f) => f.startsWith("ablation-run-")),
    "nothing was trained",
  );
  // a corrupt run file is an error naming it
  const runFile = fs.readdirSync(cacheDir).find((f) => f.startsWith("ablation-run-"))!;
  fs.writeFileSync(path.join(cacheDir, runFile), '{"version": "diffusion-workbook/ablation/v1"');
  await assert.rejects(
    runAblationStudy(tiny, { cacheDir, progress: false }),
    new RegExp(`ablation cache file ".*${runFile}" is corrupt.*delete it`),
  );
});

/** A synthetic result: on-arc shares per variant and seed (ED 0.01 − share/100). */
function synthetic(onArc: Record<string, number[]>): AblationStudyResult {
  const names = Object.keys(onArc);
  return {
    version: "diffusion-workbook/ablation/v1",
    config: { steps: 2000, seeds: [0, 1], nSamples: 100, samplerSteps: 1000 },
    variants: names.map((name) => ({ name, what: name })),
    runs: names.flatMap((name) =>
      onArc[name].map((s, seed) => ({
        variant: name,
        seed,
        trainKey: "k",
        engine: "test",
        trainSeconds: 1,
        outer: s / 2,
        inner: s / 2,
        ed: 0.01 - s / 100,
        ema: false,
      })),
    ),
    floor: { mean: 0.0002, sd: 0.0001, n: 4 },
    seconds: 1,
  };
}

test("the summary picks the single choice that helps most and best's gain over the sheet", () => {
  const s = summariseAblation(
    synthetic({
      sheet: [0.8, 0.82],
      a: [0.84, 0.86], // above the sheet's range
      b: [0.9, 0.7], // highest single? no: mean 0.8
      c: [0.87, 0.89], // the top single choice
      d: [0.6, 0.62], // below
      best: [0.95, 0.93],
    }),
  );
  assert.equal(s.topSingle?.name, "c");
  assert.deepEqual(s.helps, ["a", "c"]);
  assert.deepEqual(s.hurts, ["d"]);
  assert.match(s.line, /top single choice: c, \+7\.0 points on arc \(81\.0 % → 88\.0 %\)/);
  assert.match(s.line, /best combination: \+13\.0 points on arc/);
  assert.match(s.line, /97\.0 % target is NOT reached \(best: 94\.0 %\)/);
  assert.match(
    summariseAblation(synthetic({ sheet: [0.8, 0.8], best: [0.98, 0.97] })).line,
    /target is reached \(97\.5 %\)/,
  );
});

test("results file: round trip; a corrupt or bad file is a clear error, no crash", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "results.json");
  const r = synthetic({ sheet: [0.8, 0.82], best: [0.9, 0.92] });
  writeAblationResults(file, r);
  assert.deepEqual(readAblationResults(file), r);

  fs.writeFileSync(file, '{"format": "diffusion-workbook/ablation-results", "res');
  assert.throws(
    () => readAblationResults(file),
    new RegExp(`results file ".*results\\.json" is not usable \\(not valid JSON.*npm run ablation`),
  );
  assert.equal(await showFullLengthAblation(file), null, "shown as a message, no throw");

  const bad = JSON.parse(
    JSON.stringify({ format: "diffusion-workbook/ablation-results", result: r }),
  );
  bad.result.runs[1].outer = 1.7;
  fs.writeFileSync(file, JSON.stringify(bad));
  assert.throws(
    () => readAblationResults(file),
    /runs\[1\]\.outer is 1\.7, not a share in \[0, 1\]/,
  );
  bad.result.runs[1].outer = 0.4;
  bad.result.config.seeds = [0];
  fs.writeFileSync(file, JSON.stringify(bad));
  assert.throws(() => readAblationResults(file), /config: Expected seeds to hold at least 2/);
  assert.equal(await showFullLengthAblation(path.join(dir, "absent.json"), ""), null);
  // no run of one's own: the recorded run is shown (and said to be the recorded one)
  const recorded = path.join(dir, "recorded.json");
  writeAblationResults(recorded, r);
  const shown = captureKernel(() =>
    showFullLengthAblation(path.join(dir, "absent.json"), recorded),
  );
  assert.deepEqual(await shown.result, r);
  const texts = shown.sent.map((m) => String(m.msg.data["text/plain"] ?? ""));
  assert.match(texts[0], /No full-length run of your own yet[\s\S]*recorded with the workbook/);
  // a run of one's own wins over the recorded one
  writeAblationResults(file, synthetic({ sheet: [0.5, 0.52], best: [0.6, 0.62] }));
  assert.notDeepEqual(await showFullLengthAblation(file, recorded), r);
  // the workbook's recorded run is a valid results file
  assert.ok(readAblationResults(recordedAblationResultsFile()).runs.length > 0);
});

test("validation errors name the bad value", () => {
  const ok: AblationStudyConfig = { steps: 2000, seeds: [0, 1], nSamples: 100, samplerSteps: 10 };
  assert.equal(validateAblationStudyConfig(ok), ok);
  assert.throws(
    () => validateAblationStudyConfig({ ...ok, steps: 500 }),
    /Expected steps to be an integer in \[1001, 10000000\], but got steps=500/,
  );
  assert.throws(
    () => validateAblationStudyConfig({ ...ok, seeds: [7] }),
    /at least 2 seeds, but got seeds=\[7\]/,
  );
  assert.throws(
    () => validateAblationStudyConfig({ ...ok, seeds: [1, 1] }),
    /distinct seeds, but got seeds=\[1,1\]/,
  );
  assert.throws(() => validateAblationStudyConfig({ ...ok, nSamples: 1.5 }), /nSamples=1\.5/);
  assert.throws(
    () => validateAblationStudyConfig({ ...ok, variants: ["sheet", "dropout"] }),
    /Expected variants to name runs of sheet, .*, but got "dropout"/,
  );
});
