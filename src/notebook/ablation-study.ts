/**
 * The ablation of the training choices (notebook 06): the sheet's recipe, each choice alone and
 * the best combination (`recipes.best`, read at run time), each trained for several seeds and
 * measured the same way: Euler–Maruyama with the sheet's 1000 steps from the trained score
 * (`trainedScoreFn`, with the moving average of the weights where the variant keeps one), then the
 * share of samples within 0.15 of a moon arc (`moonShares`) and the energy distance to a fresh
 * two-moons set (`energyDistance`).
 *
 * Caching: every training goes through `trainCached` (one checkpoint per variant and seed, shared
 * with the CLI and the other notebooks), and the measured numbers of each run are a small JSON
 * file `<cacheDir>/ablation-run-<key>.json` (key: SHA-256 of a version tag, the training's cache
 * key and the measurement's sizes). Kernel → Interrupt stops between steps of a training (its
 * checkpoint is kept) or between runs; finished runs stay cached, so a re-run continues.
 *
 * The full-length study (`npm run ablation`, `scripts/ablation.ts`) writes its result to
 * `build/ablation/results.json`; `readAblationResults` reads such a file as untrusted input.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { iidMoons, makeMoons } from "../core/moons";
import { recipes } from "../core/recipes";
import { defaultSamplerConfig, sampleReverseSDE } from "../core/sampler";
import { TrainConfig, defaultTrainConfig, maxTrainSteps } from "../core/train";
import { trainedScoreFn } from "../engines";
import {
  TrainingInterrupted,
  canonicalJson,
  defaultCacheDir,
  trainCacheKey,
  trainCached,
} from "./cache";
import { atomicWriteFile, configDifferences } from "./checkpoint";
import { showMarkdown, showTable } from "./display";
import { Interrupted, withInterrupt } from "./interrupt";
import { energyDistance, moonShares } from "./metrics";
import { Figure, figureFromSpec } from "./plot/render";
import { ProgressBar, formatDuration } from "./progress";

/** Bump when the measured numbers' meaning or shape changes: old run files are then ignored. */
export const ablationVersion = "diffusion-workbook/ablation/v1";
const RESULTS_FORMAT = "diffusion-workbook/ablation-results";

/** One training recipe of the study. */
export interface AblationVariant {
  /** Short name, e.g. "eps+sigma2". */
  name: string;
  /** What differs from the sheet, e.g. "ε-output, λ = σ²". */
  what: string;
  /** Its training configuration (steps and seed are set per run by the study). */
  config: TrainConfig;
}

/**
 * The variants: the sheet, each choice alone (with the setting `recipes.best` uses where it uses
 * that choice), and `recipes.best` itself. A width of best's network other than the sheet's adds
 * a "hidden" variant. Order: sheet, single choices, best.
 */
export function ablationVariants(): AblationVariant[] {
  const sheet = defaultTrainConfig();
  const best = recipes.best();
  const fourier =
    best.model.timeEmbedding?.kind === "fourier"
      ? best.model.timeEmbedding
      : ({ kind: "fourier", frequencies: 6, maxFrequency: 16 } as const);
  const ema = best.ema ?? 0.999;
  const decay = (kind: "cosine" | "linear") => ({ kind, warmupSteps: 1000, minFactor: 0.01 });
  const one = (name: string, what: string, over: Partial<TrainConfig>): AblationVariant => ({
    name,
    what,
    config: { ...sheet, ...over },
  });
  const list = [
    one("sheet", "the exercise sheet", {}),
    one("eps", "ε-output (s = −ε̂/σ), λ = 1", { parameterization: "eps" }),
    one("sigma2", "λ = σ² (score output)", { weighting: "sigma2" }),
    one("eps+sigma2", "ε-output with λ = σ²: the plain ε-loss", {
      parameterization: "eps",
      weighting: "sigma2",
    }),
    one("likelihood", "λ = β(t) (likelihood weighting)", { weighting: "likelihood" }),
    one(
      "fourier",
      `Fourier time features (${fourier.frequencies}, up to ${fourier.maxFrequency})`,
      {
        model: { ...sheet.model, timeEmbedding: fourier },
      },
    ),
    one("ema", `EMA of the weights, decay ${ema}`, { ema }),
    one("cosine", "LR warm-up 1000, cosine decay to 1 %", { lrSchedule: decay("cosine") }),
    one("linear", "LR warm-up 1000, linear decay to 1 %", { lrSchedule: decay("linear") }),
  ];
  if (JSON.stringify(best.model.hidden) !== JSON.stringify(sheet.model.hidden))
    list.push(
      one("hidden", `hidden ${JSON.stringify(best.model.hidden)}`, {
        model: { ...sheet.model, hidden: best.model.hidden },
      }),
    );
  list.push({ name: "best", what: `recipes.best: ${combinationOf(best, list)}`, config: best });
  return list;
}

/**
 * `cfg` as a combination of the single variants: the names of those whose every change from the
 * sheet `cfg` makes too (dropping one contained in another, e.g. "eps" in "eps+sigma2"), then any
 * change of `cfg` none of them covers, as key=value.
 */
function combinationOf(cfg: TrainConfig, singles: AblationVariant[]): string {
  const sheet = defaultTrainConfig();
  const own = configDifferences(sheet, cfg).filter((d) => d.key !== "steps" && d.key !== "seed");
  const has = (d: { key: string; b?: string }) => own.some((o) => o.key === d.key && o.b === d.b);
  const parts = singles
    .map((v) => ({ name: v.name, diffs: configDifferences(sheet, v.config) }))
    .filter((v) => v.diffs.length > 0 && v.diffs.every(has));
  const inside = (v: (typeof parts)[0], w: (typeof parts)[0]) =>
    w !== v &&
    w.diffs.length > v.diffs.length &&
    v.diffs.every((d) => w.diffs.some((e) => e.key === d.key));
  const kept = parts.filter((v) => !parts.some((w) => inside(v, w)));
  const covered = (key: string) => kept.some((v) => v.diffs.some((d) => d.key === key));
  const rest = own.filter((d) => !covered(d.key)).map((d) => `${d.key}=${d.b ?? "(none)"}`);
  return [...kept.map((v) => v.name), ...rest].join(" + ") || "the sheet";
}

/** Sizes of a study. */
export interface AblationStudyConfig {
  /** Training steps of every run (the sheet: 100 000). */
  steps: number;
  /** Training seeds (at least 2): every variant trains once per seed. */
  seeds: number[];
  /** Samples per run, and points of the fresh reference set. */
  nSamples: number;
  /** Euler–Maruyama steps (the sheet: 1000). */
  samplerSteps: number;
  /** Variant names to run (default: all of `ablationVariants()`). */
  variants?: string[];
}

/**
 * Sizes by mode. "notebook": the shortened runs of notebook 06's full mode (the whole notebook
 * in ≈ 90 s from an empty cache on a 2-core machine); "quick": smaller still; "full": the
 * full-length study of `npm run ablation` (100 000 steps, 5000 samples).
 */
export function defaultAblationStudyConfig(
  mode: "quick" | "notebook" | "full",
): AblationStudyConfig {
  if (mode === "full") return { steps: 100_000, seeds: [0, 1], nSamples: 5000, samplerSteps: 1000 };
  if (mode === "notebook")
    return { steps: 6000, seeds: [0, 1], nSamples: 1500, samplerSteps: 1000 };
  return { steps: 1500, seeds: [0, 1], nSamples: 500, samplerSteps: 1000 };
}

/** Throws an error naming the bad value unless `cfg` is a valid study config; returns it. */
export function validateAblationStudyConfig(cfg: AblationStudyConfig): AblationStudyConfig {
  if (cfg === null || typeof cfg !== "object")
    throw new TypeError(`Expected an AblationStudyConfig object, but got ${String(cfg)}`);
  const count = (name: string, v: unknown, min: number, max: number) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw new RangeError(
        `Expected ${name} to be an integer in [${min}, ${max}], but got ${name}=${v}`,
      );
  };
  // the learning-rate schedules warm up for 1000 steps, so a run needs more
  count("steps", cfg.steps, 1001, maxTrainSteps);
  count("nSamples", cfg.nSamples, 2, 1_000_000);
  count("samplerSteps", cfg.samplerSteps, 1, 1_000_000);
  if (!Array.isArray(cfg.seeds) || cfg.seeds.length < 2)
    throw new RangeError(
      `Expected seeds to hold at least 2 seeds, but got seeds=${JSON.stringify(cfg.seeds)}`,
    );
  for (const s of cfg.seeds) count("each seed", s, 0, 0xffffffff);
  if (new Set(cfg.seeds).size !== cfg.seeds.length)
    throw new RangeError(`Expected distinct seeds, but got seeds=${JSON.stringify(cfg.seeds)}`);
  if (cfg.variants !== undefined) {
    const names = ablationVariants().map((v) => v.name);
    if (!Array.isArray(cfg.variants) || cfg.variants.length === 0)
      throw new RangeError(`Expected variants to be a non-empty array of ${names.join(", ")}`);
    for (const v of cfg.variants)
      if (!names.includes(v))
        throw new RangeError(
          `Expected variants to name runs of ${names.join(", ")}, but got ${JSON.stringify(v)}`,
        );
  }
  return cfg;
}

/** The measured numbers of one variant at one seed. */
export interface AblationRun {
  variant: string;
  seed: number;
  /** Training cache key (`trainCacheKey`) of the run. */
  trainKey: string;
  /** Engine that trained it, and the training's wall time (seconds; 0 if not recorded). */
  engine: string;
  trainSeconds: number;
  /** Shares within 0.15 of the outer and the inner moon arc. */
  outer: number;
  inner: number;
  /** Energy distance of the samples to the fresh reference set. */
  ed: number;
  /** True when the measurement used the moving average of the weights. */
  ema: boolean;
}

/** A study's result (what the full-length script writes, and what the notebook shows). */
export interface AblationStudyResult {
  version: string;
  config: AblationStudyConfig;
  /** Each variant's name and description, in table order. */
  variants: { name: string; what: string }[];
  runs: AblationRun[];
  /** Energy distance of i.i.d. data draws to the reference set: what a perfect sampler gets. */
  floor: { mean: number; sd: number; n: number };
  /** Wall time of this call (seconds; runs from the cache count as 0). */
  seconds: number;
}

/** Seed of the fresh reference set every run is compared with (as in `bench/ablation.ts`). */
const REFERENCE_SEED = 50_001;

/** The training configuration of `variant` at `seed` in a study of `cfg`. */
export function ablationTrainConfig(
  variant: AblationVariant,
  seed: number,
  cfg: AblationStudyConfig,
): TrainConfig {
  return { ...variant.config, steps: cfg.steps, seed };
}

/** 16 hex digits of SHA-256 of the version, the training's key and the measurement's sizes. */
export function ablationRunKey(trainKey: string, cfg: AblationStudyConfig): string {
  return createHash("sha256")
    .update(`${ablationVersion}\n${trainKey}\n`)
    .update(canonicalJson({ nSamples: cfg.nSamples, samplerSteps: cfg.samplerSteps }))
    .digest("hex")
    .slice(0, 16);
}

const isNum = (v: unknown) => typeof v === "number" && Number.isFinite(v);

/** What is wrong with a run record, or null. */
function runProblem(r: unknown, where: string): string | null {
  if (r === null || typeof r !== "object") return `${where} is not an object`;
  const o = r as Record<string, unknown>;
  for (const k of ["variant", "trainKey", "engine"])
    if (typeof o[k] !== "string") return `${where}.${k} is ${JSON.stringify(o[k])}, not a string`;
  for (const k of ["seed", "trainSeconds", "ed"])
    if (!isNum(o[k])) return `${where}.${k} is ${JSON.stringify(o[k])}, not a number`;
  for (const k of ["outer", "inner"])
    if (!isNum(o[k]) || (o[k] as number) < 0 || (o[k] as number) > 1)
      return `${where}.${k} is ${JSON.stringify(o[k])}, not a share in [0, 1]`;
  if (typeof o.ema !== "boolean") return `${where}.ema is ${JSON.stringify(o.ema)}, not a boolean`;
  return null;
}

/** A cached run, or null if absent; throws naming the file if it is corrupt. */
function readRunFile(file: string): AblationRun | null {
  if (!fs.existsSync(file)) return null;
  let doc: { version?: unknown; run?: unknown };
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(
      `The ablation cache file "${file}" is corrupt (${(e as Error).message}); delete it and ` +
        `run the cell again.`,
    );
  }
  const problem =
    doc === null || typeof doc !== "object"
      ? "not a JSON object"
      : doc.version !== ablationVersion
        ? `version ${JSON.stringify(doc.version)}`
        : runProblem(doc.run, "run");
  if (problem)
    throw new Error(
      `The ablation cache file "${file}" is corrupt (${problem}); delete it and run the cell ` +
        `again.`,
    );
  return doc.run as AblationRun;
}

/** Options of `runAblationStudy`. */
export interface AblationStudyOptions {
  /** Cache folder of the trainings and the run files (default `defaultCacheDir()`). */
  cacheDir?: string;
  /** Show a progress bar and a cache note (default true). */
  progress?: boolean;
  /** Training engine (default "auto"). */
  engine?: string;
  /** Stops the study like Kernel → Interrupt. */
  signal?: AbortSignal;
  /** Called after each run (e.g. a terminal line in the script). */
  onRun?: (run: AblationRun, done: number, total: number, fromCache: boolean) => void;
}

/**
 * The study's result: every variant × seed trained (or loaded) with `trainCached` and measured
 * (or its numbers loaded from the run file). Kernel → Interrupt stops it, throwing `Interrupted`;
 * what finished stays cached.
 */
export async function runAblationStudy(
  cfg: AblationStudyConfig,
  opts: AblationStudyOptions = {},
): Promise<AblationStudyResult> {
  validateAblationStudyConfig(cfg);
  const { cacheDir = defaultCacheDir(), progress = true, engine = "auto" } = opts;
  const chosen = ablationVariants().filter((v) => !cfg.variants || cfg.variants.includes(v.name));
  const jobs = chosen.flatMap((variant) => cfg.seeds.map((seed) => ({ variant, seed })));
  const bar = progress ? new ProgressBar({ label: "ablation" }) : null;
  const t0 = performance.now();
  let done = 0;
  let cached = 0;
  const runs = await withInterrupt(async (signal) => {
    const out: AblationRun[] = [];
    const reference = makeMoons(cfg.nSamples, {
      ...defaultTrainConfig().moons,
      seed: REFERENCE_SEED,
    }).x;
    for (const { variant, seed } of jobs) {
      await new Promise((resolve) => setImmediate(resolve)); // let Interrupt and the bar in
      if (signal.aborted) return null;
      const trainCfg = ablationTrainConfig(variant, seed, cfg);
      const trainKey = trainCacheKey(trainCfg);
      const file = path.join(cacheDir, `ablation-run-${ablationRunKey(trainKey, cfg)}.json`);
      const stored = readRunFile(file);
      // two variants of equal configs share a run file: the name is this variant's
      let run = stored && { ...stored, variant: variant.name, seed };
      const fromCache = run !== null;
      if (run === null) {
        let trained;
        try {
          trained = await trainCached(trainCfg, { cacheDir, progress: false, engine, signal });
        } catch (err) {
          if (err instanceof TrainingInterrupted) return null;
          throw err;
        }
        const ema = trained.emaWeights !== undefined;
        const { score } = trainedScoreFn(trained.emaWeights ?? trained.weights, trainCfg);
        const { x } = sampleReverseSDE(score, {
          ...defaultSamplerConfig(),
          steps: cfg.samplerSteps,
          nSamples: cfg.nSamples,
          seed: 1000 * seed + 1,
          schedule: trainCfg.schedule,
          tMin: trainCfg.loss.tMin,
        });
        const shares = moonShares(x);
        run = {
          variant: variant.name,
          seed,
          trainKey,
          engine: trained.engine,
          trainSeconds: trained.trainedSeconds ?? 0,
          outer: shares.outer,
          inner: shares.inner,
          ed: energyDistance(x, reference),
          ema,
        };
        fs.mkdirSync(cacheDir, { recursive: true });
        atomicWriteFile(file, JSON.stringify({ version: ablationVersion, run }) + "\n");
      } else cached++;
      out.push(run);
      done += 1;
      bar?.update({ step: done, steps: jobs.length });
      opts.onRun?.(run, done, jobs.length, fromCache);
    }
    return out;
  }, opts.signal);
  if (runs === null) {
    const msg = `interrupted after ${done} of ${jobs.length} runs (cached); re-run to go on`;
    bar?.done(msg);
    throw new Interrupted(`Ablation ${msg}.`);
  }
  bar?.done(cached ? `${cached} of ${jobs.length} runs from the cache` : undefined);
  const floor = edFloor(cfg.nSamples);
  if (progress && cached === jobs.length)
    showMarkdown(`Loaded all ${jobs.length} ablation runs from the cache.`);
  return {
    version: ablationVersion,
    config: cfg,
    variants: chosen.map((v) => ({ name: v.name, what: v.what })),
    runs,
    floor,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Energy distance of 4 i.i.d. draws of n data points to the reference set: mean, sd, count. */
function edFloor(n: number): { mean: number; sd: number; n: number } {
  const moons = defaultTrainConfig().moons;
  const reference = makeMoons(n, { ...moons, seed: REFERENCE_SEED }).x;
  const e = [0, 1, 2, 3].map((k) =>
    energyDistance(iidMoons(n, moons.noise, 70_001 + 100 * k), reference),
  );
  return { mean: mean(e), sd: sd(e), n: e.length };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) =>
  a.length < 2 ? 0 : Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1));
/** Half the range: mean ± this covers every seed. */
const halfRange = (a: number[]) => (Math.max(...a) - Math.min(...a)) / 2;

/** One variant's numbers over its seeds. */
export interface AblationRow {
  name: string;
  what: string;
  seeds: number;
  /** On-arc share (outer + inner) per seed, its mean and half-range. */
  onArc: number[];
  onArcMean: number;
  onArcSpread: number;
  ed: number[];
  edMean: number;
  edSpread: number;
  trainSecondsMean: number;
  trainSecondsSpread: number;
}

/** The rows of the table, one per variant, in the result's order. */
export function ablationRows(r: Pick<AblationStudyResult, "variants" | "runs">): AblationRow[] {
  return r.variants.map((v) => {
    const rs = r.runs.filter((x) => x.variant === v.name);
    if (rs.length === 0) throw new RangeError(`Expected runs of variant "${v.name}", but got none`);
    const onArc = rs.map((x) => x.outer + x.inner);
    const ed = rs.map((x) => x.ed);
    const secs = rs.map((x) => x.trainSeconds);
    return {
      name: v.name,
      what: v.what,
      seeds: rs.length,
      onArc,
      onArcMean: mean(onArc),
      onArcSpread: halfRange(onArc),
      ed,
      edMean: mean(ed),
      edSpread: halfRange(ed),
      trainSecondsMean: mean(secs),
      trainSecondsSpread: halfRange(secs),
    };
  });
}

/** What the table says, computed from it. */
export interface AblationSummary {
  sheet: AblationRow;
  best: AblationRow | null;
  /** The single choice of highest mean on-arc share (not the sheet, not best). */
  topSingle: AblationRow | null;
  /** Single choices whose seed range lies wholly above / below the sheet's (on arc). */
  helps: string[];
  hurts: string[];
  /** One line for the notebook. */
  line: string;
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
const ed3 = (v: number) => (1e3 * v).toFixed(2);

/**
 * Which single choice helps most (highest mean on-arc share), which help or hurt beyond the seed
 * spread (seed ranges not overlapping the sheet's), and best's gain over the sheet; and whether
 * best reaches `target` (default 0.97) on arc.
 */
export function summariseAblation(
  r: Pick<AblationStudyResult, "variants" | "runs">,
  target = 0.97,
): AblationSummary {
  const rows = ablationRows(r);
  const sheet = rows.find((x) => x.name === "sheet");
  if (!sheet) throw new RangeError(`Expected a "sheet" variant in the ablation, but found none`);
  const best = rows.find((x) => x.name === "best") ?? null;
  const singles = rows.filter((x) => x !== sheet && x !== best);
  const topSingle = [...singles].sort((a, b) => b.onArcMean - a.onArcMean)[0] ?? null;
  const lo = (x: AblationRow) => Math.min(...x.onArc);
  const hi = (x: AblationRow) => Math.max(...x.onArc);
  const helps = singles.filter((x) => lo(x) > hi(sheet)).map((x) => x.name);
  const hurts = singles.filter((x) => hi(x) < lo(sheet)).map((x) => x.name);
  const vsSheet = (x: AblationRow) => {
    const d = 100 * (x.onArcMean - sheet.onArcMean);
    const sign = d >= 0 ? "+" : "−";
    return (
      `${sign}${Math.abs(d).toFixed(1)} points on arc (${pct(sheet.onArcMean)} → ` +
      `${pct(x.onArcMean)}), ED×10³ ${ed3(sheet.edMean)} → ${ed3(x.edMean)}`
    );
  };
  const parts = [
    topSingle ? `top single choice: ${topSingle.name}, ${vsSheet(topSingle)}` : "",
    `above the sheet beyond the seed spread: ${helps.join(", ") || "none"}`,
    `below it: ${hurts.join(", ") || "none"}`,
    best ? `best combination: ${vsSheet(best)}` : "",
    best
      ? best.onArcMean >= target
        ? `the ${pct(target)} target is reached (${pct(best.onArcMean)})`
        : `the ${pct(target)} target is NOT reached (best: ${pct(best.onArcMean)})`
      : "",
  ].filter((s) => s);
  return { sheet, best, topSingle, helps, hurts, line: parts.join(" · ") };
}

/** The caption of a result's table: what was run, and the floor. */
export function ablationCaption(r: AblationStudyResult, fullLength: boolean): string {
  const c = r.config;
  const kind = fullLength ? "Full-length runs" : "Shortened runs";
  return (
    `${kind}: ${c.steps} training steps (the sheet: 100000), seeds ${c.seeds.join(", ")}; ` +
    `${c.nSamples} samples by Euler–Maruyama with ${c.samplerSteps} steps (EMA weights where ` +
    `kept) against ${c.nSamples} fresh moons; mean ± half the range over seeds; ED floor ` +
    `(i.i.d. data draws) ×10³ ${ed3(r.floor.mean)} ± ${ed3(r.floor.sd)}`
  );
}

/** Show the table (caption: sizes, floor) and the summary line under it; returns the summary. */
export function showAblation(r: AblationStudyResult, fullLength = false): AblationSummary {
  const rows = ablationRows(r).map((x) => ({
    variant: x.name,
    "differs from the sheet": x.what,
    "on arc %": `${(100 * x.onArcMean).toFixed(1)} ± ${(100 * x.onArcSpread).toFixed(1)}`,
    "ED ×10³": `${ed3(x.edMean)} ± ${ed3(x.edSpread)}`,
    "train s": `${x.trainSecondsMean.toFixed(1)} ± ${x.trainSecondsSpread.toFixed(1)}`,
  }));
  showTable(rows, { caption: ablationCaption(r, fullLength) });
  const s = summariseAblation(r);
  showMarkdown(`**Summary:** ${s.line}`, `Summary: ${s.line}`);
  return s;
}

/**
 * Dot plot: per variant, the on-arc share (left) and the energy distance ×10³ (right, log) of
 * each seed (points) and their mean (tick); dashed rules at the sheet's mean, on the left at the
 * 97 % target, on the right at the ED floor of i.i.d. data draws.
 */
export async function ablationFigure(
  r: AblationStudyResult,
  opts: { title?: string; target?: number } = {},
): Promise<Figure> {
  const rows = ablationRows(r);
  const order = rows.map((x) => x.name);
  const target = opts.target ?? 0.97;
  const points = r.runs.map((x) => ({
    variant: x.variant,
    seed: String(x.seed),
    onArc: 100 * (x.outer + x.inner),
    ed: 1e3 * x.ed,
  }));
  const means = rows.map((x) => ({
    variant: x.name,
    onArc: 100 * x.onArcMean,
    ed: 1e3 * x.edMean,
  }));
  const sheet = rows.find((x) => x.name === "sheet")!;
  const y = { field: "variant", type: "nominal", sort: order, title: null };
  const panel = (field: "onArc" | "ed", title: string, log: boolean, rules: object[]) => ({
    width: 260,
    height: 22 * rows.length,
    layer: [
      {
        data: { values: rules },
        mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
        encoding: { x: { field: "v", type: "quantitative" } },
      },
      {
        data: { values: means },
        mark: { type: "tick", color: "#333", thickness: 2 },
        encoding: {
          x: {
            field,
            type: "quantitative",
            title,
            scale: log ? { type: "log" } : { zero: false },
          },
          y,
        },
      },
      {
        data: { values: points },
        mark: { type: "point", filled: true, size: 50, opacity: 0.8 },
        encoding: {
          x: { field, type: "quantitative" },
          y,
          color: { field: "seed", type: "nominal", title: "seed" },
        },
      },
    ],
  });
  const spec = {
    title: {
      text: opts.title ?? "Training choices: each alone and the best combination",
      subtitle: [
        `points: seeds; tick: mean; ${r.config.steps} training steps; dashed: the sheet's mean,`,
        `the ${100 * target} % target (left) and the ED floor of i.i.d. data draws (right)`,
      ],
    },
    hconcat: [
      panel("onArc", "share within 0.15 of a moon arc (%)", false, [
        { v: 100 * sheet.onArcMean },
        { v: 100 * target },
      ]),
      panel("ed", "energy distance ×10³ (log)", true, [
        { v: 1e3 * sheet.edMean },
        { v: 1e3 * r.floor.mean },
      ]),
    ],
  };
  const text = [
    `On arc % and ED ×10³ per variant (mean over ${r.config.seeds.length} seeds):`,
    ...means.map((m) => `  ${m.variant}: ${m.onArc.toFixed(1)} %, ${m.ed.toFixed(2)}`),
  ].join("\n");
  return figureFromSpec(spec, text);
}

// ------------------------------------------------------------------------------------------------
// The full-length results file

/** Where `npm run ablation` writes its result: `<package>/build/ablation/results.json`. */
export function defaultAblationResultsFile(): string {
  return path.resolve(__dirname, "..", "..", "build", "ablation", "results.json");
}

/**
 * A full-length run recorded with the workbook (`records/ablation-full-length.json`, written by
 * `npm run ablation` on a 2-core CPU): shown, and labelled as such, until you run your own.
 */
export function recordedAblationResultsFile(): string {
  return path.resolve(__dirname, "..", "..", "records", "ablation-full-length.json");
}

/** Write a result as the results file (atomically, creating the folder). */
export function writeAblationResults(file: string, r: AblationStudyResult): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  atomicWriteFile(file, JSON.stringify({ format: RESULTS_FORMAT, result: r }, null, 1) + "\n");
}

/**
 * Read a results file as untrusted input: JSON of the right format and version, every number
 * where one belongs, runs for every variant named.
 * @throws naming the file and the first problem found
 */
export function readAblationResults(file: string): AblationStudyResult {
  const fail = (why: string): never => {
    throw new Error(
      `The ablation results file "${file}" is not usable (${why}); run \`npm run ablation\` ` +
        `again to rewrite it.`,
    );
  };
  let doc: { format?: unknown; result?: unknown };
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return fail(`not valid JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== "object") return fail("not a JSON object");
  if (doc.format !== RESULTS_FORMAT)
    fail(`format is ${JSON.stringify(doc.format)}, expected "${RESULTS_FORMAT}"`);
  const r = doc.result as AblationStudyResult;
  if (r === null || typeof r !== "object") return fail("no result");
  if (r.version !== ablationVersion)
    fail(`version is ${JSON.stringify(r.version)}, expected "${ablationVersion}"`);
  try {
    validateAblationStudyConfig({ ...r.config, variants: undefined });
  } catch (e) {
    fail(`config: ${(e as Error).message}`);
  }
  if (!Array.isArray(r.variants) || r.variants.length === 0) fail("variants is not a list");
  r.variants.forEach((v, i) => {
    if (
      v === null ||
      typeof v !== "object" ||
      typeof v.name !== "string" ||
      typeof v.what !== "string"
    )
      fail(`variants[${i}] is not {name, what}`);
  });
  if (!Array.isArray(r.runs)) fail("runs is not a list");
  r.runs.forEach((x, i) => {
    const p = runProblem(x, `runs[${i}]`);
    if (p) fail(p);
  });
  for (const v of r.variants)
    if (!r.runs.some((x) => x.variant === v.name)) fail(`no runs of variant "${v.name}"`);
  if (!r.variants.some((v) => v.name === "sheet")) fail(`no "sheet" variant`);
  const f = r.floor as unknown as Record<string, unknown> | null;
  if (f === null || typeof f !== "object" || !isNum(f.mean) || !isNum(f.sd))
    fail("floor is not {mean, sd, n}");
  if (!isNum(r.seconds)) fail(`seconds is ${JSON.stringify(r.seconds)}, not a number`);
  return r;
}

/**
 * The full-length table and plot if the results file exists and is valid; else the recorded run
 * (`recordedAblationResultsFile`, labelled so) if there is one; else a note saying how to produce
 * it, or (corrupt file) the problem. Never throws for a bad file; returns the result or null.
 */
export async function showFullLengthAblation(
  file: string = defaultAblationResultsFile(),
  recorded: string = recordedAblationResultsFile(),
): Promise<AblationStudyResult | null> {
  if (!fs.existsSync(file) && fs.existsSync(recorded)) {
    showMarkdown(
      `No full-length run of your own yet (\`build/ablation/results.json\`): the table below is ` +
        `the run recorded with the workbook (\`records/ablation-full-length.json\`, made by ` +
        `\`npm run ablation\` on a 2-core CPU). Run \`npm run ablation\` to measure it on your ` +
        `machine; this cell then shows your run instead.`,
    );
    return showFullLengthAblation(recorded, "");
  }
  if (!fs.existsSync(file)) {
    showMarkdown(
      `No full-length results yet (\`build/ablation/results.json\`). Run \`npm run ablation\` ` +
        `(100 000 steps × ${ablationVariants().length} variants × 2 seeds, about ` +
        `${formatDuration(ablationVariants().length * 2 * 50)} on one core here) and run this ` +
        `cell again.`,
    );
    return null;
  }
  let r: AblationStudyResult;
  try {
    r = readAblationResults(file);
  } catch (e) {
    showMarkdown(`**${(e as Error).message}**`, (e as Error).message);
    return null;
  }
  showAblation(r, true);
  const changed = changedVariants(r);
  if (changed.length > 0)
    showMarkdown(
      `**Note:** the configuration of ${changed.join(", ")} has changed since this file was ` +
        `written (e.g. a new \`recipes.best\`); the table shows the runs as they were. Run ` +
        `\`npm run ablation\` again to measure the current ones.`,
    );
  return r;
}

/**
 * Variants of a result whose training configuration is no longer what `ablationVariants()` gives
 * now (their stored training keys differ), or that no longer exist.
 */
export function changedVariants(r: AblationStudyResult): string[] {
  const now = new Map(ablationVariants().map((v) => [v.name, v]));
  const changed = r.runs.filter((run) => {
    const v = now.get(run.variant);
    return !v || trainCacheKey(ablationTrainConfig(v, run.seed, r.config)) !== run.trainKey;
  });
  return [...new Set(changed.map((run) => run.variant))];
}
