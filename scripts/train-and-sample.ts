/**
 * End to end without a notebook: train the score model (2d), sample with the reverse SDE (2e),
 * write the loss history and the samples to CSV files, and print how close the samples are to
 * the two moons.
 *
 *   npm run train-and-sample -- [--recipe NAME] [--steps N] [--samples N] [--sampler-steps N]
 *                               [--sampler NAME] [--nfe N] [--seed N] [--engine NAME] [--out DIR]
 *                               [--force]
 *
 * `--help` prints the options (HELP below). Defaults are the sheet's (100 000 training steps, 1000
 * sampler steps); `--recipe best` trains the best recipe of `src/core/recipes.ts` instead, and
 * writes to the same place; `--sampler dpmpp2m-sde --nfe 20` samples with a fast sampler of
 * `src/core/samplers.ts` instead of the sheet's 1000 Euler–Maruyama steps. Trained weights go through the same on-disk cache as the notebooks, so
 * a second run with the same settings only samples, and an interrupted run (Ctrl-C) resumes where
 * it stopped.
 *
 * Every argument is checked before any work starts: the numbers and flags first, without loading
 * the library (so `--help` and typos answer at once); then, with the library, the full training
 * and sampler configs and the engine name; then the output folder is created and a file written
 * in it. A refusal is one line on stderr and exit status 1.
 */
import * as fs from "fs";
import * as path from "path";
import type { SamplerConfig } from "../src/core/sampler";
import type { TrainConfig } from "../src/core/train";

const HELP = `Usage: npm run train-and-sample -- [options]

Trains the score model (part 2d), samples with the reverse SDE (part 2e), writes loss.csv,
samples.csv and summary.json to the output folder and prints how close the samples are to
the two moons. Trained weights are cached (as in the notebooks): a second run with the same
settings only samples, and an interrupted run (Ctrl-C) resumes.

Options:
  --recipe NAME      training recipe: sheet (default: the exercise sheet's) or best (the
                     best measured by bench/ablation.ts; see src/core/recipes.ts)
  --steps N          training steps (default: the recipe's, 100000; at most 10000000)
  --samples N        points to sample (default 10000; at most 10000000)
  --sampler-steps N  Euler–Maruyama steps (default 1000, the sheet's; at most 10000000)
  --sampler NAME     sampler of src/core/samplers.ts (default em, the sheet's Euler–Maruyama);
                     e.g. dpmpp2m-sde, which matches 1000 Euler–Maruyama steps with 20 score
                     evaluations (notebook 04); an unknown name lists them
  --nfe N            budget of score evaluations for --sampler (default 1000 for em, else 20)
  --seed N           seed of training; sampling uses N + 1 (default 0; 0 to 4294967294)
  --engine NAME      training engine: auto (default: the fastest that starts here),
                     wasm-simd, tfjs or reference (an unknown name lists them)
  --out DIR          output folder (default: build/train-and-sample)
  --force            retrain even if the cache holds weights for these settings
  -h, --help         this text

Environment: WORKBOOK_CACHE_DIR (cache folder), DIFFUSION_BACKEND (tfjs backend).`;

/**
 * Largest --steps, --samples and --sampler-steps. For --steps it is train.ts's `maxTrainSteps`
 * (checked here too, before the library loads); for the others, far above the sheet's values:
 * a larger count is almost certainly a typo (1e12), which would fail only after training.
 */
const MAX_COUNT = 10_000_000;
/** Largest --seed: seeds are uint32, and sampling uses seed + 1. */
const MAX_SEED = 0xffffffff - 1;

/** A refusal of the command line: printed as its message alone, exit status 1. */
class UsageError extends Error {}

/** The command line, checked for form and range; the library fills in the rest. */
interface Args {
  recipe: string;
  steps?: number;
  samples: number;
  samplerSteps?: number;
  sampler?: string;
  nfe?: number;
  seed: number;
  engine: string;
  out: string;
  force: boolean;
}

/** The options taking a count: the field each sets and its range. */
const COUNTS: Record<
  string,
  { key: "steps" | "samples" | "samplerSteps" | "nfe" | "seed"; min: number; max: number }
> = {
  "--steps": { key: "steps", min: 1, max: MAX_COUNT },
  "--samples": { key: "samples", min: 1, max: MAX_COUNT },
  "--sampler-steps": { key: "samplerSteps", min: 1, max: MAX_COUNT },
  "--nfe": { key: "nfe", min: 1, max: MAX_COUNT },
  "--seed": { key: "seed", min: 0, max: MAX_SEED },
};

/** Parse argv (after the script name); null means --help was asked for. */
function parseArgs(argv: string[]): Args | null {
  if (argv.includes("--help") || argv.includes("-h")) return null;
  const args: Args = {
    recipe: "sheet",
    samples: 10_000,
    seed: 0,
    engine: "auto",
    out: path.resolve(__dirname, "..", "build", "train-and-sample"),
    force: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const eq = argv[i].indexOf("=");
    const flag = eq > 0 && argv[i].startsWith("--") ? argv[i].slice(0, eq) : argv[i];
    const inline = flag === argv[i] ? undefined : argv[i].slice(eq + 1);
    const value = (example: string): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.trim() === "")
        throw new UsageError(
          `Expected a value after ${flag} (e.g. ${flag} ${example}); see --help`,
        );
      return v;
    };
    const count = COUNTS[flag];
    if (count) {
      const raw = value(String(count.min === 0 ? 0 : 1000));
      const v = Number(raw);
      if (!Number.isInteger(v) || v < count.min || v > count.max) {
        const kind = count.min === 0 ? "a non-negative integer" : "a positive integer";
        throw new UsageError(
          `Expected ${flag} to be ${kind} of at most ${count.max}, but got ${flag}=${raw}`,
        );
      }
      args[count.key] = v;
    } else if (flag === "--engine") args.engine = value("auto");
    else if (flag === "--recipe") args.recipe = value("best");
    else if (flag === "--sampler") args.sampler = value("dpmpp2m-sde");
    else if (flag === "--out") args.out = path.resolve(value("build/run"));
    else if (flag === "--force" && inline === undefined) args.force = true;
    else if (flag === "--force")
      throw new UsageError(`Expected --force without a value, but got ${argv[i]}`);
    else throw new UsageError(`Unknown option ${argv[i]}; see --help`);
  }
  if (args.samplerSteps !== undefined && (args.sampler !== undefined || args.nfe !== undefined))
    throw new UsageError(
      `Expected either --sampler-steps (Euler–Maruyama steps) or --sampler/--nfe, but got both`,
    );
  return args;
}

/** The parts of the library the run uses, loaded after the command line is known to be well formed. */
function loadLibrary() {
  /* eslint-disable @typescript-eslint/no-var-requires */
  return {
    ...(require("../src/core/train") as typeof import("../src/core/train")),
    ...(require("../src/core/recipes") as typeof import("../src/core/recipes")),
    ...(require("../src/core/sampler") as typeof import("../src/core/sampler")),
    ...(require("../src/core/samplers") as typeof import("../src/core/samplers")),
    ...(require("../src/engines") as typeof import("../src/engines")),
    ...(require("../src/notebook/cache") as typeof import("../src/notebook/cache")),
    ...(require("../src/engines/backend") as typeof import("../src/engines/backend")),
    ...(require("../src/notebook/metrics") as typeof import("../src/notebook/metrics")),
    ...(require("../src/core/moons") as typeof import("../src/core/moons")),
  };
  /* eslint-enable @typescript-eslint/no-var-requires */
}
type Library = ReturnType<typeof loadLibrary>;

/**
 * The full training and sampler configs of the run, validated as `train` and the sampler will
 * validate them, and the engine name checked against the known engines: all before any work.
 */
function runConfig(
  lib: Library,
  args: Args,
): { train: TrainConfig; sampler: SamplerConfig; fast: FastSampling | null } {
  const names: string[] = lib.recipeNames;
  if (!names.includes(args.recipe)) {
    const known = names.map((e) => JSON.stringify(e)).join(", ");
    throw new UsageError(
      `Expected --recipe to be one of ${known}, but got --recipe=${JSON.stringify(args.recipe)}`,
    );
  }
  const train: TrainConfig = {
    ...lib.recipes[args.recipe as keyof typeof lib.recipes](),
    ...(args.steps !== undefined ? { steps: args.steps } : {}),
    seed: args.seed,
  };
  const sampler = {
    ...lib.defaultSamplerConfig(),
    ...(args.samplerSteps !== undefined ? { steps: args.samplerSteps } : {}),
    nSamples: args.samples,
    seed: args.seed + 1,
    schedule: train.schedule,
  };
  const check = (what: string, validate: () => void) => {
    try {
      validate();
    } catch (e) {
      throw new UsageError(`Invalid ${what}: ${(e as Error).message}`);
    }
  };
  check("training settings (--recipe, --steps, --seed)", () => lib.validateTrainConfig(train));
  check("sampler settings (--sampler-steps, --samples, --seed)", () =>
    lib.validateSamplerConfig(sampler),
  );
  let fast: FastSampling | null = null;
  if (args.sampler !== undefined || args.nfe !== undefined) {
    const name = args.sampler ?? "em";
    check("--sampler", () => lib.checkSamplerName(name));
    const nfe = args.nfe ?? (name === "em" ? lib.defaultNfe : lib.fastSampler.nfe);
    const run = {
      nfe,
      tMin: sampler.tMin,
      nSamples: sampler.nSamples,
      seed: sampler.seed,
      schedule: sampler.schedule,
    };
    check("sampler budget (--sampler, --nfe)", () => lib.resolveSamplerConfig(name, run));
    fast = { name, run };
  }
  const engines = lib.engineNames();
  if (!engines.includes(args.engine))
    throw new UsageError(
      `Expected --engine to be one of ${engines.map((e) => JSON.stringify(e)).join(", ")}, but got --engine=${JSON.stringify(args.engine)}`,
    );
  return { train, sampler, fast };
}

/** A sampler of src/core/samplers.ts chosen with --sampler/--nfe, and its run settings. */
interface FastSampling {
  name: string;
  run: import("../src/core/samplers").SamplerRunConfig;
}

/**
 * Create `dir` and its missing parents, one level at a time: Node's recursive mkdir never returns
 * where mkdir fails with ENOENT under an existing parent (/proc/nope); this throws that error.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d) && path.dirname(d) !== d; d = path.dirname(d))
    missing.unshift(d);
  for (const d of missing) fs.mkdirSync(d);
  if (!fs.statSync(dir).isDirectory()) throw new Error("not a directory");
}

/**
 * Create `dir` and write and remove a probe file in it, so a bad --out fails now, naming the path
 * and the reason, instead of after training and sampling.
 */
function checkOutputDir(dir: string): void {
  try {
    makeDirs(dir);
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    fs.writeFileSync(probe, "");
    fs.rmSync(probe);
  } catch (e) {
    throw new UsageError(
      `Cannot write to --out ${dir}: ${(e as Error).message}; choose a writable folder with --out DIR`,
    );
  }
}

function writeCsv(file: string, header: string, rows: number, row: (i: number) => string): void {
  const lines = [header];
  for (let i = 0; i < rows; i++) lines.push(row(i));
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args === null) {
    console.log(HELP);
    return;
  }
  const lib = loadLibrary();
  const { train: cfg, sampler: samplerCfg, fast } = runConfig(lib, args);
  checkOutputDir(args.out);

  const backend = await lib.selectBackend();
  const recipe = args.recipe === "sheet" ? "" : `Recipe ${args.recipe}: `; // sheet: as before
  console.log(
    `${recipe}Training ${cfg.steps} steps (batch ${cfg.batchSize}, lr ${cfg.learningRate}, ` +
      `seed ${cfg.seed}); tfjs backend: ${backend}`,
  );

  const controller = new AbortController();
  process.once("SIGTERM", () => controller.abort()); // Ctrl-C (SIGINT) is handled by trainCached
  let run: Awaited<ReturnType<Library["trainCached"]>>; // with emaWeights when cfg.ema is set
  try {
    run = await lib.trainCached(cfg, {
      engine: args.engine,
      force: args.force,
      signal: controller.signal,
    });
  } catch (err) {
    if (!(err instanceof lib.TrainingInterrupted)) throw err;
    console.log(`${err.message} The checkpoint is ${err.file}; run the same command to resume.`);
    process.exitCode = 130;
    return;
  }
  console.log(
    run.fromCache
      ? `Loaded cached weights (${run.file}).`
      : `Trained in ${run.seconds.toFixed(1)} s on engine ${run.engine}.`,
  );

  // the recipe's score: its network read as s (or as ε, s = −ε̂/σ̃), with the EMA weights if kept
  const { score, engine } = lib.trainedScoreFn(run.emaWeights ?? run.weights, cfg);
  const t0 = Date.now();
  const sampled = fast
    ? lib.sampleWith(fast.name, score, fast.run)
    : { ...lib.sampleReverseSDE(score, samplerCfg), nfe: samplerCfg.steps };
  const { x } = sampled;
  const how = fast
    ? `${lib.samplers[fast.name as keyof typeof lib.samplers].label} (${sampled.nfe} score evaluations)`
    : `${samplerCfg.steps} Euler–Maruyama steps`;
  console.log(
    `Sampled ${samplerCfg.nSamples} points with ${how} in ${((Date.now() - t0) / 1000).toFixed(1)} s (score on ${engine}).`,
  );

  // How close to the data? Energy distance to fresh two-moons data, beside the same distance
  // between two fresh data sets (the floor a perfect sampler would reach), and moon shares.
  const nMetric = Math.min(2000, samplerCfg.nSamples);
  const fresh = (seed: number) => lib.makeMoons(nMetric, { ...cfg.moons, seed }).x;
  const ours = x.subarray(0, 2 * nMetric);
  const ed = lib.energyDistance(ours, fresh(1001));
  const floor = lib.energyDistance(fresh(1002), fresh(1003));
  const shares = lib.moonShares(x);

  makeDirs(args.out); // again, in case it was removed while training
  const lossFile = path.join(args.out, "loss.csv");
  const samplesFile = path.join(args.out, "samples.csv");
  const summaryFile = path.join(args.out, "summary.json");
  writeCsv(lossFile, "step,loss", run.lossHistory.length, (i) => `${i + 1},${run.lossHistory[i]}`);
  writeCsv(samplesFile, "x,y", samplerCfg.nSamples, (i) => `${x[2 * i]},${x[2 * i + 1]}`);
  const summary = {
    ...(args.recipe === "sheet" ? {} : { recipe: args.recipe }),
    trainSteps: run.steps,
    engine: run.engine,
    backend,
    samples: samplerCfg.nSamples,
    ...(fast ? { sampler: fast.name, nfe: sampled.nfe } : { samplerSteps: samplerCfg.steps }),
    energyDistanceToData: ed,
    energyDistanceDataToData: floor,
    moonShares: shares,
    finalLossMean1000: mean(run.lossHistory.subarray(Math.max(0, run.lossHistory.length - 1000))),
  };
  fs.writeFileSync(summaryFile, JSON.stringify(summary, null, 2) + "\n");

  console.log(
    `Energy distance samples↔data ${ed.toFixed(4)}  (data↔data floor ${floor.toFixed(4)})`,
  );
  console.log(
    `Share on the outer moon ${pct(shares.outer)}, inner moon ${pct(shares.inner)}, off the moons ${pct(shares.neither)}`,
  );
  console.log(`Wrote:\n  ${lossFile}\n  ${samplesFile}\n  ${summaryFile}`);
}

function mean(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / Math.max(a.length, 1);
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
