/**
 * Samplers by cost: sample quality against the number of score evaluations (NFE) for the trained
 * model s_θ and for the near-exact two-moons score, over several seeds, computed once and cached
 * on disk (the results JSON, not the samples). Quality is the energy distance of the samples to
 * fresh two-moons data (a new data set per seed) and the shares on each moon (`moonShares`).
 *
 * A sampler "matches EM-1000" when its mean energy distance is at most EM-1000's mean plus
 * EM-1000's own seed-to-seed standard deviation (being better counts as matching).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { moonsReferenceScore } from "../core/exact-scores";
import { makeMoons } from "../core/moons";
import { Rng } from "../core/random";
import { ScoreFn } from "../core/sampler";
import { SamplerName, checkSamplerName, sampleWith, samplers } from "../core/samplers";
import { ScheduleConfig, alpha, sigma, validateSchedule } from "../core/sde";
import { canonicalJson, defaultCacheDir } from "./cache";
import { atomicWriteFile } from "./checkpoint";
import { showMarkdown, showTable } from "./display";
import { Interrupted, withInterrupt } from "./interrupt";
import { energyDistance, moonShares } from "./metrics";
import { Figure, figureFromSpec } from "./plot/render";
import { ProgressBar } from "./progress";

/** Bump when the results' meaning or shape changes: old cache files are then ignored. */
export const samplerStudyVersion = "sampler-study/v1";

/** Which score a run uses: the trained network or the near-exact score of the noised data. */
export type StudyScore = "model" | "exact";

/** Samplers and budgets (NFE) to run with one score. */
export interface StudyLine {
  sampler: SamplerName;
  /** Budgets of score evaluations, positive integers (each ≥ the sampler's NFE per step). */
  budgets: number[];
}

/** What the study runs. */
export interface SamplerStudyConfig {
  /** Runs with the trained model s_θ. Must include Euler–Maruyama at 1000 NFE (the yardstick). */
  model: StudyLine[];
  /** Runs with the near-exact score `moonsReferenceScore(noise, schedule)`. */
  exact: StudyLine[];
  /** Seeds of the prior draw and noise; seed k's reference data uses moons seed 1000 + k. */
  seeds: number[];
  /** Samples per run and fresh data points per reference set (positive integer). */
  nSamples: number;
  /** End time ε of every sampler, in (0, 1). */
  tMin: number;
  /** Noise schedule the model was trained with. */
  schedule: ScheduleConfig;
  /** Noise of the two-moons data (reference sets and the near-exact score). */
  noise: number;
}

const cheap = ["dpm2", "dpmpp2m", "dpmpp1-sde", "dpmpp2m-sde"] as const;

/**
 * The notebook's study. Full: 3 seeds × 1000 samples; the model with Euler–Maruyama at 10 … 1000
 * NFE, PC and the DPM-Solvers at 10 … 100; the near-exact score (≈ 10× the network per call here)
 * with EM, DPM-Solver++(2M) and its SDE variant at 10 … 50. Quick: 500 samples, fewer budgets.
 */
export function defaultSamplerStudyConfig(
  quick: boolean,
  train: { schedule: ScheduleConfig; loss: { tMin: number }; moons: { noise: number } },
): SamplerStudyConfig {
  const fast = quick ? [10, 20, 50] : [10, 20, 50, 100];
  return {
    model: [
      {
        sampler: "em",
        budgets: quick ? [10, 20, 50, 100, 1000] : [10, 20, 50, 100, 200, 500, 1000],
      },
      { sampler: "pc", budgets: fast },
      ...cheap.map((sampler) => ({ sampler, budgets: fast })),
    ],
    exact: (["em", "dpmpp2m", "dpmpp2m-sde"] as const).map((sampler) => ({
      sampler,
      budgets: quick ? [10, 20] : [10, 20, 50],
    })),
    seeds: [0, 1, 2],
    nSamples: quick ? 500 : 1000,
    tMin: train.loss.tMin,
    schedule: train.schedule,
    noise: train.moons.noise,
  };
}

/** Throws an error naming the bad value unless `cfg` is a valid study config; returns it. */
export function validateSamplerStudyConfig(cfg: SamplerStudyConfig): SamplerStudyConfig {
  if (cfg === null || typeof cfg !== "object")
    throw new TypeError(`Expected a SamplerStudyConfig object, but got ${String(cfg)}`);
  for (const which of ["model", "exact"] as const) {
    if (!Array.isArray(cfg[which]))
      throw new TypeError(`Expected ${which} to be an array of {sampler, budgets}`);
    cfg[which].forEach((line, i) => {
      checkSamplerName(line.sampler);
      if (line.sampler === "rk45")
        throw new RangeError(`Expected a fixed-budget sampler in ${which}[${i}], but got "rk45"`);
      if (!Array.isArray(line.budgets) || line.budgets.length === 0)
        throw new RangeError(`Expected ${which}[${i}].budgets to be a non-empty array`);
      for (const b of line.budgets)
        if (!Number.isInteger(b) || b < samplers[line.sampler].nfePerStep)
          throw new RangeError(
            `Expected ${which}[${i}].budgets to hold integers >= ` +
              `${samplers[line.sampler].nfePerStep} (one step of "${line.sampler}"), but got ${b}`,
          );
    });
  }
  if (!cfg.model.some((l) => l.sampler === "em" && l.budgets.includes(1000)))
    throw new RangeError(`Expected model to include {sampler: "em"} with budget 1000 (EM-1000)`);
  if (!Array.isArray(cfg.seeds) || cfg.seeds.length < 2)
    throw new RangeError(`Expected seeds to hold at least 2 seeds, but got seeds=${cfg.seeds}`);
  for (const s of cfg.seeds)
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff)
      throw new RangeError(`Expected seeds to be integers in [0, 2^32), but got ${s}`);
  if (!Number.isInteger(cfg.nSamples) || cfg.nSamples < 2)
    throw new RangeError(
      `Expected nSamples to be an integer >= 2, but got nSamples=${cfg.nSamples}`,
    );
  if (typeof cfg.tMin !== "number" || !(cfg.tMin > 0 && cfg.tMin < 1))
    throw new RangeError(`Expected tMin to be in (0, 1), but got tMin=${cfg.tMin}`);
  if (!(cfg.noise > 0) || !Number.isFinite(cfg.noise))
    throw new RangeError(`Expected noise > 0, but got noise=${cfg.noise}`);
  validateSchedule(cfg.schedule);
  return cfg;
}

/** One sampler at one budget with one score, over the seeds (arrays: one entry per seed). */
export interface StudyCell {
  score: StudyScore;
  sampler: SamplerName;
  /** The budget asked for. */
  budget: number;
  /** NFE used (≤ budget; the same for every seed). */
  nfe: number;
  /** Energy distance to the seed's fresh reference data. */
  ed: number[];
  /** Shares on the outer moon, the inner moon and neither (`moonShares`, threshold 0.15). */
  outer: number[];
  inner: number[];
  neither: number[];
}

/** The study's results, as cached. */
export interface SamplerStudyResult {
  version: string;
  /** Cache key: SHA-256 of the version, the config and the model's key (16 hex digits). */
  key: string;
  /** The trained model's cache key (`trainCacheKey`). */
  modelKey: string;
  config: SamplerStudyConfig;
  cells: StudyCell[];
  /** Energy distance of a second fresh data set to the reference, per seed (the floor). */
  floor: number[];
  /** Energy distance of iid draws of the exact p_ε (the near-exact score's target), per seed. */
  exactFloor: number[];
  /** Wall time of the computation (seconds). */
  seconds: number;
}

/** 16 hex digits of SHA-256 of the version tag, the canonical config and the model's key. */
export function samplerStudyKey(cfg: SamplerStudyConfig, modelKey: string): string {
  return createHash("sha256")
    .update(`${samplerStudyVersion}\n`)
    .update(canonicalJson(cfg))
    .update(`\n${modelKey}`)
    .digest("hex")
    .slice(0, 16);
}

/** The cache file of a study: `<cacheDir>/sampler-study-<key>.json`. */
export function samplerStudyFile(key: string, cacheDir: string = defaultCacheDir()): string {
  return path.join(cacheDir, `sampler-study-${key}.json`);
}

const isNumArray = (v: unknown, n: number) =>
  Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number");

/**
 * Read a cached study and check its shape.
 * @throws naming the file and saying to delete it if it is not valid JSON of a study
 */
export function readSamplerStudyFile(file: string): SamplerStudyResult {
  const fail = (why: string): never => {
    throw new Error(
      `The sampler-study cache file "${file}" is corrupt (${why}); delete it and run the cell ` +
        `again to recompute.`,
    );
  };
  let r: SamplerStudyResult;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8")) as SamplerStudyResult;
  } catch (err) {
    return fail((err as Error).message);
  }
  if (r === null || typeof r !== "object") return fail("not a JSON object");
  if (r.version !== samplerStudyVersion) fail(`version ${JSON.stringify(r.version)}`);
  if (typeof r.key !== "string" || typeof r.modelKey !== "string") fail("no key or modelKey");
  if (r.config === null || typeof r.config !== "object") fail("no config");
  const nSeeds = Array.isArray(r.config.seeds) ? r.config.seeds.length : -1;
  if (nSeeds < 1) fail("config.seeds is not an array");
  if (!isNumArray(r.floor, nSeeds)) fail(`floor is not ${nSeeds} numbers`);
  if (!isNumArray(r.exactFloor, nSeeds)) fail(`exactFloor is not ${nSeeds} numbers`);
  if (!Array.isArray(r.cells) || r.cells.length === 0) fail("cells is not a non-empty array");
  r.cells.forEach((c, i) => {
    if (c === null || typeof c !== "object") fail(`cells[${i}] is not an object`);
    if (c.score !== "model" && c.score !== "exact") fail(`cells[${i}].score is ${c.score}`);
    if (!Object.prototype.hasOwnProperty.call(samplers, c.sampler))
      fail(`cells[${i}].sampler is ${JSON.stringify(c.sampler)}`);
    if (typeof c.budget !== "number" || typeof c.nfe !== "number")
      fail(`cells[${i}] has no budget or nfe`);
    for (const k of ["ed", "outer", "inner", "neither"] as const)
      if (!isNumArray(c[k], nSeeds)) fail(`cells[${i}].${k} is not ${nSeeds} numbers`);
  });
  return r;
}

/**
 * n iid draws of the noised reference mixture at t (the density the near-exact score belongs
 * to): a component c_k of `moonsReferenceScore` uniformly, then N(α c_k, (α² noise² + σ²) I).
 */
export function exactMixtureDraws(
  n: number,
  t: number,
  noise: number,
  schedule: ScheduleConfig,
  seed: number,
  pointsPerMoon = 100,
): Float64Array {
  const curve = makeMoons(2 * pointsPerMoon, { noise: 0, shuffle: false }).x;
  const a = alpha(t, schedule);
  const spread = Math.sqrt(a * a * noise * noise + sigma(t, schedule) ** 2);
  const rng = new Rng(seed);
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(2 * pointsPerMoon);
    x[2 * i] = a * curve[2 * k] + spread * rng.normal();
    x[2 * i + 1] = a * curve[2 * k + 1] + spread * rng.normal();
  }
  return x;
}

/** Options of `runSamplerStudy`. */
export interface SamplerStudyOptions {
  /** Cache folder (default `defaultCacheDir()`). */
  cacheDir?: string;
  /** Recompute even if cached. */
  force?: boolean;
  /** Show a progress bar and a cache note (default true). */
  progress?: boolean;
  /** Stop between runs when this aborts (Kernel → Interrupt also stops it). */
  signal?: AbortSignal;
}

/**
 * The study's results: from the cache if there, else computed (progress bar; Kernel → Interrupt
 * stops it between runs, throwing `Interrupted`, and nothing is cached) and cached atomically.
 * @param modelScore the trained model's score s_θ
 * @param modelKey the trained model's cache key (part of the study's key)
 */
export async function runSamplerStudy(
  modelScore: ScoreFn,
  modelKey: string,
  cfg: SamplerStudyConfig,
  opts: SamplerStudyOptions = {},
): Promise<SamplerStudyResult & { fromCache: boolean; file: string }> {
  validateSamplerStudyConfig(cfg);
  const { cacheDir = defaultCacheDir(), force = false, progress = true } = opts;
  const key = samplerStudyKey(cfg, modelKey);
  const file = samplerStudyFile(key, cacheDir);
  if (!force && fs.existsSync(file)) {
    const cached = readSamplerStudyFile(file);
    if (progress)
      showMarkdown(
        `Loaded the sampler study from the cache (computed in ${cached.seconds.toFixed(1)} s; ` +
          `key ${key}).`,
      );
    return { ...cached, fromCache: true, file };
  }
  const exact = moonsReferenceScore(cfg.noise, cfg.schedule);
  const jobs = [
    ...cfg.model.flatMap((l) => l.budgets.map((b) => ({ score: "model" as const, ...l, b }))),
    ...cfg.exact.flatMap((l) => l.budgets.map((b) => ({ score: "exact" as const, ...l, b }))),
  ];
  const total = jobs.length * cfg.seeds.length;
  const bar = progress ? new ProgressBar({ label: "sampler study" }) : null;
  const t0 = performance.now();
  let done = 0;
  const result = await withInterrupt(async (signal) => {
    const refs = cfg.seeds.map(
      (k) => makeMoons(cfg.nSamples, { noise: cfg.noise, seed: 1000 + k }).x as Float64Array,
    );
    const cells: StudyCell[] = [];
    for (const job of jobs) {
      const cell: StudyCell = {
        score: job.score,
        sampler: job.sampler,
        budget: job.b,
        nfe: 0,
        ed: [],
        outer: [],
        inner: [],
        neither: [],
      };
      for (let k = 0; k < cfg.seeds.length; k++) {
        await new Promise((resolve) => setImmediate(resolve)); // let Interrupt and the bar in
        if (signal.aborted) return null;
        const r = sampleWith(job.sampler, job.score === "model" ? modelScore : exact, {
          nfe: job.b,
          tMin: cfg.tMin,
          nSamples: cfg.nSamples,
          seed: cfg.seeds[k],
          schedule: cfg.schedule,
        });
        cell.nfe = r.nfe;
        cell.ed.push(energyDistance(r.x, refs[k]));
        const sh = moonShares(r.x);
        cell.outer.push(sh.outer);
        cell.inner.push(sh.inner);
        cell.neither.push(sh.neither);
        bar?.update({ step: ++done, steps: total });
      }
      cells.push(cell);
    }
    const floor = cfg.seeds.map((k, i) =>
      energyDistance(makeMoons(cfg.nSamples, { noise: cfg.noise, seed: 2000 + k }).x, refs[i]),
    );
    const exactFloor = cfg.seeds.map((k, i) =>
      energyDistance(
        exactMixtureDraws(cfg.nSamples, cfg.tMin, cfg.noise, cfg.schedule, 3000 + k),
        refs[i],
      ),
    );
    return { cells, floor, exactFloor };
  }, opts.signal);
  if (result === null) {
    const msg = `interrupted after ${done} of ${total} runs; nothing cached; re-run the cell`;
    bar?.done(msg);
    throw new Interrupted(`Sampler study ${msg}.`);
  }
  bar?.done();
  const out: SamplerStudyResult = {
    version: samplerStudyVersion,
    key,
    modelKey,
    config: cfg,
    ...result,
    seconds: (performance.now() - t0) / 1000,
  };
  fs.mkdirSync(cacheDir, { recursive: true });
  atomicWriteFile(file, JSON.stringify(out));
  return { ...out, fromCache: false, file };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) =>
  a.length < 2 ? 0 : Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1));

/** What the study says about the goal, computed from its cells. */
export interface SamplerStudySummary {
  /** The model's EM-1000 cell (the yardstick). */
  em1000: StudyCell;
  /** EM-1000's mean energy distance plus its seed-to-seed standard deviation: "matches" ≤ this. */
  threshold: number;
  /** Model cells with NFE ≤ 20, other than EM-1000, that match, best first. */
  matchesAt20: StudyCell[];
  /** The model cell with NFE ≤ 10 of lowest mean energy distance. */
  bestAt10: StudyCell | null;
  /** The model cell with NFE ≤ 20 of lowest mean energy distance. */
  bestAt20: StudyCell | null;
  /** The cheapest model cell that matches EM-1000 (fewest NFE, then lowest mean ED), if any. */
  cheapestMatch: StudyCell | null;
  /** One line for the notebook. */
  line: string;
}

const label = (c: StudyCell) => `${c.sampler}@${c.nfe}`;
const edText = (c: StudyCell) =>
  `ED×10³ ${(1e3 * mean(c.ed)).toFixed(2)} ± ${(1e3 * sd(c.ed)).toFixed(2)}`;

/** Which sampler matches EM-1000 at ≤ 20 NFE with the trained model, and the best at 10. */
export function summariseSamplerStudy(r: Pick<SamplerStudyResult, "cells">): SamplerStudySummary {
  const model = r.cells.filter((c) => c.score === "model");
  const em1000 = model.find((c) => c.sampler === "em" && c.nfe === 1000);
  if (!em1000) throw new RangeError(`Expected a model cell of "em" at 1000 NFE, but found none`);
  const threshold = mean(em1000.ed) + sd(em1000.ed);
  const byEd = (a: StudyCell, b: StudyCell) => mean(a.ed) - mean(b.ed);
  const others = model.filter((c) => c !== em1000);
  const matching = others.filter((c) => mean(c.ed) <= threshold);
  const matchesAt20 = matching.filter((c) => c.nfe <= 20).sort(byEd);
  const best = (max: number) => others.filter((c) => c.nfe <= max).sort(byEd)[0] ?? null;
  const bestAt10 = best(10);
  const bestAt20 = best(20);
  const cheapestMatch = [...matching].sort((a, b) => a.nfe - b.nfe || byEd(a, b))[0] ?? null;
  const parts = [
    `EM-1000 ${edText(em1000)} (match: mean ≤ ${(1e3 * threshold).toFixed(2)})`,
    matchesAt20.length
      ? `matches EM-1000 at ≤ 20 NFE: ${matchesAt20.map(label).join(", ")}`
      : `no sampler matches EM-1000 at ≤ 20 NFE`,
    bestAt20 ? `best at ≤ 20: ${label(bestAt20)} (${edText(bestAt20)})` : "",
    bestAt10 ? `best at ≤ 10: ${label(bestAt10)} (${edText(bestAt10)})` : "",
    cheapestMatch ? `cheapest match: ${label(cheapestMatch)} (${edText(cheapestMatch)})` : "",
  ].filter((s) => s);
  return {
    em1000,
    threshold,
    matchesAt20,
    bestAt10,
    bestAt20,
    cheapestMatch,
    line: parts.join(" · "),
  };
}

/** One table row per cell: score, sampler, NFE, mean ± sd of the energy distance and shares. */
export function samplerStudyRows(r: SamplerStudyResult): Record<string, string | number>[] {
  const s = summariseSamplerStudy(r);
  const pm = (a: number[], k: number, d: number) =>
    `${(k * mean(a)).toFixed(d)} ± ${(k * sd(a)).toFixed(d)}`;
  return r.cells.map((c) => ({
    score: c.score === "model" ? "s_θ" : "near-exact",
    sampler: samplers[c.sampler].label,
    NFE: c.nfe,
    "ED ×10³": pm(c.ed, 1e3, 2),
    "outer %": pm(c.outer, 100, 1),
    "inner %": pm(c.inner, 100, 1),
    "neither %": pm(c.neither, 100, 1),
    "≤ EM-1000": c.score === "model" && mean(c.ed) <= s.threshold ? "yes" : "",
  }));
}

/** Show the table (caption: sizes and floors) and the summary line under it. */
export function showSamplerStudy(r: SamplerStudyResult): SamplerStudySummary {
  const c = r.config;
  const floors =
    `floor (fresh data vs fresh data) ED×10³ ${(1e3 * mean(r.floor)).toFixed(2)} ± ` +
    `${(1e3 * sd(r.floor)).toFixed(2)}; iid draws of the exact p_ε ` +
    `${(1e3 * mean(r.exactFloor)).toFixed(2)} ± ${(1e3 * sd(r.exactFloor)).toFixed(2)}`;
  showTable(samplerStudyRows(r), {
    caption:
      `${c.seeds.length} seeds × ${c.nSamples} samples (mean ± sd over seeds); ` +
      `${floors}; "≤ EM-1000": mean ED at most EM-1000's mean + sd`,
  });
  const s = summariseSamplerStudy(r);
  showMarkdown(`**Summary:** ${s.line}`, `Summary: ${s.line}`);
  return s;
}

/**
 * Energy distance against NFE (log–log), one line per score and sampler, mean over seeds with
 * error bars of ± one standard deviation; dashed horizontal rules at the fresh-data floor and at
 * the EM-1000 match threshold.
 */
export async function samplerStudyFigure(
  r: SamplerStudyResult,
  opts: { width?: number; height?: number; title?: string } = {},
): Promise<Figure> {
  const s = summariseSamplerStudy(r);
  const rows = r.cells.map((c) => {
    const m = mean(c.ed),
      d = sd(c.ed);
    return {
      series: `${c.score === "model" ? "s_θ" : "near-exact"}: ${samplers[c.sampler].label}`,
      nfe: c.nfe,
      ed: 1e3 * m,
      lo: 1e3 * Math.max(m - d, m / 10),
      hi: 1e3 * (m + d),
      dash: c.score === "model" ? "s_θ" : "near-exact",
    };
  });
  const x = {
    field: "nfe",
    type: "quantitative",
    title: "score evaluations (NFE)",
    scale: { type: "log" },
  };
  const y = {
    field: "ed",
    type: "quantitative",
    title: "energy distance ×10³",
    scale: { type: "log" },
  };
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    legend: { orient: "right", labelLimit: 400 },
  };
  const rules = [
    { what: "fresh-data floor", v: 1e3 * mean(r.floor) },
    { what: "EM-1000 match threshold", v: 1e3 * s.threshold },
  ];
  const spec = {
    title: {
      text: opts.title ?? "Sample quality against cost",
      subtitle:
        `dashed: s_θ, solid: near-exact score; mean ± sd over ` + `${r.config.seeds.length} seeds`,
    },
    width: opts.width ?? 420,
    height: opts.height ?? 300,
    layer: [
      {
        data: { values: rows },
        mark: { type: "line", point: true },
        encoding: {
          x,
          y,
          color,
          strokeDash: { field: "dash", type: "nominal", legend: null },
        },
      },
      {
        data: { values: rows },
        mark: { type: "errorbar", ticks: true },
        encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color },
      },
      {
        data: { values: rules },
        mark: { type: "rule", strokeDash: [3, 3], color: "#777" },
        encoding: { y: { field: "v", type: "quantitative" } },
      },
      {
        data: { values: rules },
        mark: { type: "text", align: "right", dy: -6, color: "#555", x: "width" },
        encoding: { y: { field: "v", type: "quantitative" }, text: { field: "what" } },
      },
    ],
  };
  const text = [
    `Energy distance ×10³ against NFE (log-log), mean ± sd over ${r.config.seeds.length} seeds:`,
    ...rows.map((q) => `  ${q.series} @${q.nfe}: ${q.ed.toFixed(2)}`),
  ].join("\n");
  return figureFromSpec(spec, text);
}
