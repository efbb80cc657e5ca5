/**
 * The sampler study's cache (round trip, corrupt files, interrupts), its summary (which sampler
 * matches EM-1000) on a synthetic result table, the validation of its settings, and the score
 * field's slider figure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import { gaussianScore, moonsReferenceScore } from "../src/core/exact-scores";
import { defaultSchedule } from "../src/core/sde";
import {
  SamplerStudyConfig,
  StudyCell,
  readSamplerStudyFile,
  runSamplerStudy,
  samplerStudyKey,
  summariseSamplerStudy,
  validateSamplerStudyConfig,
} from "../src/notebook/sampler-study";
import { scoreFieldSlider } from "../src/notebook/score-field";
import { Interrupted } from "../src/notebook/interrupt";

const schedule = defaultSchedule();

function tinyConfig(): SamplerStudyConfig {
  return {
    model: [
      { sampler: "em", budgets: [10, 1000] },
      { sampler: "dpmpp2m-sde", budgets: [10] },
    ],
    exact: [{ sampler: "dpmpp2m", budgets: [10] }],
    seeds: [0, 1],
    nSamples: 30,
    tMin: 1e-3,
    schedule,
    noise: 0.05,
  };
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "sampler-study-"));
const model = gaussianScore([0.5, 0.25]);

test("the study is computed once, then read back from the cache unchanged", async () => {
  const dir = tmp();
  const a = await runSamplerStudy(model, "model-a", tinyConfig(), {
    cacheDir: dir,
    progress: false,
  });
  assert.equal(a.fromCache, false);
  assert.ok(fs.existsSync(a.file));
  assert.equal(a.cells.length, 4);
  assert.deepEqual(
    a.cells.map((c) => `${c.score}:${c.sampler}@${c.nfe}`),
    ["model:em@10", "model:em@1000", "model:dpmpp2m-sde@10", "exact:dpmpp2m@10"],
  );
  for (const c of a.cells) assert.equal(c.ed.length, 2);
  const b = await runSamplerStudy(model, "model-a", tinyConfig(), {
    cacheDir: dir,
    progress: false,
  });
  assert.equal(b.fromCache, true);
  assert.deepEqual(b.cells, a.cells);
  assert.deepEqual(b.floor, a.floor);
  // The key changes with the model and with any setting.
  assert.notEqual(samplerStudyKey(tinyConfig(), "model-b"), a.key);
  assert.notEqual(samplerStudyKey({ ...tinyConfig(), nSamples: 31 }, "model-a"), a.key);
  assert.equal(samplerStudyKey(tinyConfig(), "model-a"), a.key);
  fs.rmSync(dir, { recursive: true });
});

test("a corrupt or malformed cache file: an error naming the file, saying to delete it", async () => {
  const dir = tmp();
  const first = await runSamplerStudy(model, "m", tinyConfig(), { cacheDir: dir, progress: false });
  const good = fs.readFileSync(first.file, "utf8");
  fs.writeFileSync(first.file, good.slice(0, good.length / 2)); // a half-written file
  await assert.rejects(
    () => runSamplerStudy(model, "m", tinyConfig(), { cacheDir: dir, progress: false }),
    (e: Error) => e.message.includes(first.file) && /corrupt.*delete it/.test(e.message),
  );
  const broken = JSON.parse(good);
  broken.cells[1].ed = [1];
  fs.writeFileSync(first.file, JSON.stringify(broken));
  assert.throws(() => readSamplerStudyFile(first.file), /cells\[1\]\.ed is not 2 numbers/);
  broken.cells[1].ed = [1, 2];
  broken.cells[0].sampler = "em2";
  fs.writeFileSync(first.file, JSON.stringify(broken));
  assert.throws(() => readSamplerStudyFile(first.file), /cells\[0\]\.sampler is "em2"/);
  fs.rmSync(dir, { recursive: true });
});

test("an aborted study throws Interrupted and caches nothing", async () => {
  const dir = tmp();
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    () =>
      runSamplerStudy(model, "m", tinyConfig(), {
        cacheDir: dir,
        progress: false,
        signal: controller.signal,
      }),
    (e: Error) => e instanceof Interrupted && /nothing cached/.test(e.message),
  );
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.rmSync(dir, { recursive: true });
});

function cell(
  sampler: StudyCell["sampler"],
  nfe: number,
  ed: number[],
  score = "model",
): StudyCell {
  return {
    score: score as StudyCell["score"],
    sampler,
    budget: nfe,
    nfe,
    ed,
    outer: ed.map(() => 0.45),
    inner: ed.map(() => 0.45),
    neither: ed.map(() => 0.1),
  };
}

test("the summary finds the sampler that matches EM-1000 at ≤ 20 NFE and the best at 10", () => {
  // EM-1000: mean 2, sd 1 → match threshold 3.
  const cells = [
    cell("em", 1000, [1, 2, 3]),
    cell("em", 20, [10, 11, 12]),
    cell("dpmpp2m", 10, [4, 4, 4]), // best at 10, no match
    cell("dpmpp2m", 20, [3.5, 3.5, 3.5]), // just above the threshold
    cell("dpmpp2m-sde", 10, [5, 5, 5]),
    cell("dpmpp2m-sde", 20, [2.9, 3, 3.1]), // matches (mean 3 ≤ 3)
    cell("em", 50, [2, 2, 2]), // matches, but at 50 NFE
    cell("dpmpp2m", 10, [0.1, 0.1, 0.1], "exact"), // the exact score's cells never count
  ];
  const s = summariseSamplerStudy({ cells });
  assert.equal(s.threshold, 3);
  assert.deepEqual(
    s.matchesAt20.map((c) => `${c.sampler}@${c.nfe}`),
    ["dpmpp2m-sde@20"],
  );
  assert.equal(`${s.bestAt10!.sampler}@${s.bestAt10!.nfe}`, "dpmpp2m@10");
  assert.equal(`${s.cheapestMatch!.sampler}@${s.cheapestMatch!.nfe}`, "dpmpp2m-sde@20");
  assert.match(s.line, /matches EM-1000 at ≤ 20 NFE: dpmpp2m-sde@20/);
  const none = summariseSamplerStudy({ cells: cells.filter((c) => c.sampler !== "dpmpp2m-sde") });
  assert.match(none.line, /no sampler matches EM-1000 at ≤ 20 NFE/);
  assert.throws(() => summariseSamplerStudy({ cells: cells.slice(1) }), /"em" at 1000 NFE/);
});

test("study settings are validated, errors naming the value", () => {
  const base = tinyConfig();
  assert.throws(
    () => validateSamplerStudyConfig({ ...base, model: [{ sampler: "em", budgets: [10] }] }),
    /budget 1000/,
  );
  assert.throws(
    () =>
      validateSamplerStudyConfig({
        ...base,
        exact: [{ sampler: "dpmpp2n" as never, budgets: [10] }],
      }),
    /sampler="dpmpp2n"; did you mean "dpmpp2m"/,
  );
  assert.throws(
    () => validateSamplerStudyConfig({ ...base, exact: [{ sampler: "ode-rk4", budgets: [3] }] }),
    /exact\[0\]\.budgets to hold integers >= 4.*but got 3/,
  );
  assert.throws(() => validateSamplerStudyConfig({ ...base, seeds: [1] }), /seeds=1/);
  assert.throws(() => validateSamplerStudyConfig({ ...base, nSamples: 1.5 }), /nSamples=1.5/);
  assert.throws(() => validateSamplerStudyConfig({ ...base, tMin: 0 }), /tMin=0/);
  assert.throws(() => validateSamplerStudyConfig({ ...base, noise: -1 }), /noise=-1/);
  assert.equal(validateSamplerStudyConfig(base), base);
});

test("the score-field slider shows one time, and moving the slider shows another", async () => {
  const exact = moonsReferenceScore(0.05, schedule);
  const times = [0.01, 0.1, 0.5];
  const grid = { xMin: -1, xMax: 2, yMin: -0.5, yMax: 1, nx: 4, ny: 3 };
  const fig = await scoreFieldSlider(
    [
      { label: "a", score: exact },
      { label: "b", score: gaussianScore() },
    ],
    times,
    schedule,
    { grid, initial: 1 },
  );
  const param = (fig.spec.params as any[])[0];
  assert.deepEqual(param.bind, { input: "range", min: 0, max: 2, step: 1, name: "t index " });
  const view = new vega.View(vega.parse(vegaLite.compile(fig.spec as any).spec), {
    renderer: "none",
  });
  const shown = async () => {
    await view.runAsync();
    const svg = await view.toSVG();
    return times.map((t) => svg.includes(`t = ${t}<`));
  };
  assert.deepEqual(await shown(), [false, true, false]);
  view.signal("tIndex", 2);
  assert.deepEqual(await shown(), [false, false, true]);
  view.finalize();
  await assert.rejects(
    () => scoreFieldSlider([], times, schedule, { initial: 3 }),
    /initial.*got 3/,
  );
});
