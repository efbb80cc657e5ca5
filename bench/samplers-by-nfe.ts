/**
 * Sample quality against the number of score evaluations (NFE), per sampler of
 * `src/core/samplers.ts`, for the sheet's trained model (if its weights are cached) and for the
 * near-exact two-moons score `moonsReferenceScore`. Prints figures; it is not a test.
 *
 *   node --import tsx bench/samplers-by-nfe.ts            # both scores, 5 seeds
 *   node --import tsx bench/samplers-by-nfe.ts --quick    # 1 seed, fewer budgets
 *   node --import tsx bench/samplers-by-nfe.ts --samplers=em,dpmpp2m-sde   # only these
 *
 * Quality: energy distance (×10³) of 2000 samples to 2000 fresh two-moons points (a new data set
 * per seed), and the shares of samples on the outer moon, the inner moon and neither
 * (`moonShares`), mean ± standard deviation over seeds. Every sampler at seed k starts from the
 * same prior draw. A sampler "matches EM-1000" when its mean energy distance exceeds EM-1000's by
 * at most two standard errors of the difference of the means, 2·√(sd²/n + sd_EM²/n) (being better
 * counts as matching). Floors: two fresh data sets (stratified by `makeMoons`, so lower than any
 * sampler), and for the near-exact score, iid draws from the exact noised mixture at t = ε (what a
 * perfect sampler gives). Each solver takes the most steps its evaluations per step allow within
 * the budget; RK45 runs over a grid of tolerances and is listed at the NFE it used. The near-exact
 * score costs O(n·200) per call, so it runs budgets up to 200 (and EM at 1000).
 */
import { moonsReferenceScore } from "../src/core/exact-scores";
import { makeMoons } from "../src/core/moons";
import { ScoreFn } from "../src/core/sampler";
import {
  SamplerName,
  SamplerRunConfig,
  defaultSamplerRunConfig,
  sampleWith,
  samplerNames,
  samplers,
} from "../src/core/samplers";
import { defaultTrainConfig } from "../src/core/train";
import { selectBackend } from "../src/engines/backend";
import { fastestScoreFn } from "../src/engines/index";
import { ScoreModel, scoreFnFromModel } from "../src/engines/tfjs-model";
import { trainCached, trainCacheKey, defaultCacheDir } from "../src/notebook/cache";
import { energyDistance, moonShares } from "../src/notebook/metrics";
import { exactMixtureDraws } from "../src/notebook/sampler-study";
import * as fs from "fs";
import * as path from "path";

const quick = process.argv.includes("--quick");
const SEEDS = quick ? [0] : [0, 1, 2, 3, 4];
const N_SAMPLES = 2000;
const N_REFERENCE = 2000;
const BUDGETS = quick ? [10, 20, 50] : [10, 20, 50, 100, 200, 500, 1000];
const RTOLS = quick ? [1e-2, 1e-4] : [1e-1, 3e-2, 1e-2, 1e-3, 1e-4, 1e-5];
const NOISE = defaultTrainConfig().moons.noise;
const ONLY = process.argv
  .find((a) => a.startsWith("--samplers="))
  ?.slice("--samplers=".length)
  .split(",");

interface Cell {
  sampler: SamplerName;
  nfe: number[];
  ed: number[];
  outer: number[];
  inner: number[];
  neither: number[];
  rtol?: number;
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) =>
  a.length < 2 ? 0 : Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1));
const pm = (a: number[], scale = 1, digits = 2) =>
  `${(mean(a) * scale).toFixed(digits)} ± ${(sd(a) * scale).toFixed(digits)}`;

/** Fresh two-moons data for seed k (not the training set's seed). */
const referencePoints = SEEDS.map(
  (k) => makeMoons(N_REFERENCE, { noise: NOISE, seed: 1000 + k }).x as Float64Array,
);

function measure(score: ScoreFn, sampler: SamplerName, budget: { nfe?: number; rtol?: number }) {
  const cell: Cell = {
    sampler,
    nfe: [],
    ed: [],
    outer: [],
    inner: [],
    neither: [],
    rtol: budget.rtol,
  };
  SEEDS.forEach((seed, k) => {
    const cfg: SamplerRunConfig = { ...defaultSamplerRunConfig(), nSamples: N_SAMPLES, seed };
    const r = sampleWith(sampler, score, { ...cfg, ...budget });
    cell.nfe.push(r.nfe);
    cell.ed.push(energyDistance(r.x, referencePoints[k]));
    const shares = moonShares(r.x);
    cell.outer.push(shares.outer);
    cell.inner.push(shares.inner);
    cell.neither.push(shares.neither);
  });
  return cell;
}

function run(label: string, score: ScoreFn, maxBudget: number, exactFloor: boolean): void {
  const t0 = performance.now();
  const cells: Cell[] = [];
  for (const name of samplerNames) {
    if (ONLY && !ONLY.includes(name)) continue;
    if (name === "rk45") {
      for (const rtol of RTOLS) cells.push(measure(score, name, { rtol }));
      continue;
    }
    for (const nfe of BUDGETS) {
      if (nfe > maxBudget && !(name === "em" && nfe === 1000)) continue;
      if (nfe < samplers[name].nfePerStep) continue;
      cells.push(measure(score, name, { nfe }));
    }
  }
  const floor = SEEDS.map((k) =>
    energyDistance(
      makeMoons(N_SAMPLES, { noise: NOISE, seed: 2000 + k }).x as Float64Array,
      referencePoints[k],
    ),
  );
  const em1000 = cells.find((c) => c.sampler === "em" && mean(c.nfe) === 1000);
  const n = SEEDS.length;
  const matches = (c: Cell) =>
    em1000 !== undefined &&
    mean(c.ed) - mean(em1000.ed) <= 2 * Math.sqrt((sd(c.ed) ** 2 + sd(em1000.ed) ** 2) / n);

  console.log(`\n## ${label}  (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  console.log(`seeds ${SEEDS.length}, ${N_SAMPLES} samples, reference ${N_REFERENCE} fresh moons`);
  console.log(`floor, fresh moons vs fresh moons: ED×10³ ${pm(floor, 1e3)}`);
  if (exactFloor) {
    const iid = SEEDS.map((k) =>
      energyDistance(
        exactMixtureDraws(
          N_SAMPLES,
          defaultSamplerRunConfig().tMin,
          NOISE,
          defaultTrainConfig().schedule,
          3000 + k,
        ),
        referencePoints[k],
      ),
    );
    console.log(`floor, iid draws of the exact p_ε: ED×10³ ${pm(iid, 1e3)}`);
  }
  console.log("\n| sampler | NFE | ED ×10³ | outer % | inner % | neither % | ≈ EM-1000 |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | :---: |");
  for (const c of cells) {
    const nfe = c.rtol ? `${mean(c.nfe).toFixed(0)} (rtol ${c.rtol})` : `${mean(c.nfe)}`;
    const shares = [c.outer, c.inner, c.neither].map((v) => pm(v, 100, 1)).join(" | ");
    console.log(
      `| ${c.sampler} | ${nfe} | ${pm(c.ed, 1e3)} | ${shares} | ${matches(c) ? "yes" : ""} |`,
    );
  }
  const within = (nfe: number) => cells.filter((c) => Math.max(...c.nfe) <= nfe);
  const best = (cs: Cell[]) => cs.reduce((a, b) => (mean(b.ed) < mean(a.ed) ? b : a));
  const cheap = within(20).filter(matches);
  console.log(
    `\nmatch EM-1000 at ≤ 20 NFE: ` +
      (cheap.map((c) => `${c.sampler}@${mean(c.nfe)}`).join(", ") || "none"),
  );
  if (within(10).length) {
    const b = best(within(10));
    console.log(`best at ≤ 10 NFE: ${b.sampler}@${mean(b.nfe)} (ED×10³ ${pm(b.ed, 1e3)})`);
  }
}

/** `fastestScoreFn`, or the tfjs model if the fastest engine fails here (saying why). */
async function trainedScore(
  weights: Float32Array[],
  cfg: ReturnType<typeof defaultTrainConfig>,
): Promise<{ score: ScoreFn; engine: string }> {
  try {
    const fastest = fastestScoreFn(weights, cfg.model);
    fastest.score(new Float64Array(2), 0.5, 1);
    return fastest;
  } catch (e) {
    const backend = await selectBackend();
    console.log(`fastestScoreFn failed (${(e as Error).message}); using tfjs (${backend})`);
    return {
      score: scoreFnFromModel(new ScoreModel(cfg.model, weights)),
      engine: `tfjs-${backend}`,
    };
  }
}

async function main(): Promise<void> {
  const cfg = defaultTrainConfig();
  const cached = fs.existsSync(path.join(defaultCacheDir(), `${trainCacheKey(cfg)}.json`));
  if (cached) {
    const { weights } = await trainCached(cfg, { progress: false });
    const { score, engine } = await trainedScore(weights, cfg);
    run(
      `trained model (sheet config, ${cfg.steps} steps; score on ${engine})`,
      score,
      Infinity,
      false,
    );
  } else {
    console.log("No cached weights for the sheet's training config: trained model skipped.");
  }
  run(
    "near-exact score (moonsReferenceScore)",
    moonsReferenceScore(NOISE, cfg.schedule),
    200,
    true,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
