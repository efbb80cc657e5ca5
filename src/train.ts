/**
 * The training loop of part 2d, independent of how a step is computed.
 *
 * A `TrainEngine` does one Adam step on one batch; the loop draws the batches, records the loss,
 * reports progress, checkpoints, stops on an abort signal and resumes. Engines register by name
 * (`registerEngine`); "tfjs" (TensorFlow.js autodiff on the current backend, `engine-tfjs.ts`) is
 * always there.
 *
 * Training data: a fixed two-moons data set `makeMoons(dataSize, moons)` (seeded by `moons.seed`,
 * like the data plotted in part 2a); each step draws `batchSize` rows from it with replacement,
 * plus t ~ U(tMin, 1) and ε ~ N(0, I), all from one `Rng(seed)` whose state is checkpointed.
 * The model's initial weights use a seed taken as the first draw of that same generator.
 */
import { performance } from "perf_hooks";
import * as fs from "fs";
import { loadTrainCheckpoint, saveTrainCheckpoint } from "./checkpoint";
import { Batch, LossConfig, defaultLossConfig, sampleBatch, validateLossConfig } from "./loss";
import { ModelConfig, defaultModelConfig, initialWeights, validateModelConfig } from "./model";
import { MoonsConfig, defaultMoonsConfig, makeMoons } from "./moons";
import { Rng } from "./random";
import { ScheduleConfig, defaultSchedule, validateSchedule } from "./schedule";
import { rejectUnknownKeys } from "./config-keys";

/** Everything that determines a training run. */
export interface TrainConfig {
  /** Adam steps (one batch each). */
  steps: number;
  /** Points per batch. */
  batchSize: number;
  /** Adam step size. */
  learningRate: number;
  /** Adam decay rate of the first moment. */
  adamBeta1: number;
  /** Adam decay rate of the second moment. */
  adamBeta2: number;
  /** Adam's ε in the denominator √v̂ + ε. */
  adamEpsilon: number;
  /** Seed of the batch generator (and, through its first draw, of the initial weights). */
  seed: number;
  /** Size of the fixed two-moons training set. */
  dataSize: number;
  model: ModelConfig;
  schedule: ScheduleConfig;
  loss: LossConfig;
  /** Two-moons generator options (noise, shuffle, seed of the data set). */
  moons: MoonsConfig;
}

/** The sheet's training setup. */
export function defaultTrainConfig(): TrainConfig {
  return {
    steps: 100_000, // the sheet: "around 100000 steps"
    batchSize: 256, // the sheet
    learningRate: 1e-3, // the sheet
    adamBeta1: 0.9, // Adam's (and PyTorch's) default
    adamBeta2: 0.999, // Adam's (and PyTorch's) default
    adamEpsilon: 1e-8, // PyTorch's default (tf.train.adam would use 1e-7)
    seed: 0, // explicit: the same config trains the same model
    dataSize: 10_000, // a fixed data set, as a notebook would draw once with make_moons; 10k points cover the moons densely
    model: defaultModelConfig(),
    schedule: defaultSchedule(),
    loss: defaultLossConfig(),
    moons: defaultMoonsConfig(),
  };
}

/**
 * Upper limit of `steps`: 10 million steps take about an hour on the fast engine and keep the loss
 * history at 40 MB; more is almost certainly a typo (1e12).
 */
export const maxTrainSteps = 10_000_000;

function positiveInt(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
    throw new RangeError(`Expected ${name} to be a positive integer, but got ${name}=${v}`);
}

/** Throws if any field is out of range (naming it); returns the config otherwise. */
export function validateTrainConfig(cfg: TrainConfig): TrainConfig {
  if (cfg === null || typeof cfg !== "object")
    throw new TypeError(`Expected a TrainConfig object, but got ${String(cfg)}`);
  const sheet = defaultTrainConfig();
  rejectUnknownKeys(cfg, Object.keys(sheet), "TrainConfig");
  for (const part of ["model", "moons"] as const) {
    if (cfg[part] !== null && typeof cfg[part] === "object")
      rejectUnknownKeys(cfg[part], Object.keys(sheet[part]), `TrainConfig.${part}`);
  }
  positiveInt("steps", cfg.steps);
  if (cfg.steps > maxTrainSteps) {
    throw new RangeError(
      `Expected steps to be at most ${maxTrainSteps} (about an hour of training), but got steps=${cfg.steps}`,
    );
  }
  positiveInt("batchSize", cfg.batchSize);
  positiveInt("dataSize", cfg.dataSize);
  if (!(cfg.learningRate > 0) || !Number.isFinite(cfg.learningRate)) {
    throw new RangeError(
      `Expected learningRate to be a finite number > 0, but got learningRate=${cfg.learningRate}`,
    );
  }
  for (const k of ["adamBeta1", "adamBeta2"] as const) {
    if (!(cfg[k] >= 0 && cfg[k] < 1))
      throw new RangeError(`Expected ${k} to be in [0, 1), but got ${k}=${cfg[k]}`);
  }
  if (!(cfg.adamEpsilon > 0))
    throw new RangeError(`Expected adamEpsilon > 0, but got adamEpsilon=${cfg.adamEpsilon}`);
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > 0xffffffff) {
    throw new RangeError(`Expected seed to be an integer in [0, 2^32), but got seed=${cfg.seed}`);
  }
  validateModelConfig(cfg.model);
  validateSchedule(cfg.schedule);
  validateLossConfig(cfg.loss);
  return cfg;
}

/**
 * Adam state in the model's parameter layout, shared by all engines. The update every engine
 * implements (bias corrections in float64 from `step`, as in PyTorch):
 *   step ← step + 1;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
 *   θ ← θ − (lr / (1 − β1^step)) · m / (√(v / (1 − β2^step)) + ε)
 */
export interface OptimizerState {
  /** Adam updates applied so far. */
  step: number;
  /** First moments, one Float32Array per parameter array. */
  m: Float32Array[];
  /** Second moments, one Float32Array per parameter array. */
  v: Float32Array[];
}

/** One way of computing training steps (tfjs autodiff, a fused wasm kernel, …). */
export interface TrainEngine {
  /** Registry name, e.g. "tfjs". */
  readonly name: string;
  /**
   * One Adam step on `batch`. Returns the DSM loss at the parameters *before* the update.
   * If that loss is not finite, the parameters and moments must be left unchanged.
   */
  step(batch: Batch): number;
  /** Copies of the parameters, in the shared layout. */
  getWeights(): Float32Array[];
  setWeights(w: Float32Array[]): void;
  /** Copies of the Adam state. */
  getOptimizerState(): OptimizerState;
  setOptimizerState(s: OptimizerState): void;
  /** Free engine resources (tensors, wasm memory). */
  dispose(): void;
}

/** What an engine factory receives: the run's configuration and the starting parameters. */
export interface EngineInit {
  config: TrainConfig;
  weights: Float32Array[];
}

/** Creates an engine; may be async (e.g. to instantiate WebAssembly); may throw if unavailable here. */
export type EngineFactory = (init: EngineInit) => TrainEngine | Promise<TrainEngine>;

interface EngineEntry {
  name: string;
  factory: EngineFactory;
  priority: number;
}

const engines = new Map<string, EngineEntry>();

/**
 * The registry, with the reference engine in it. engine-tfjs.ts registers "tfjs" when it loads; it
 * is required here on first use, not imported at the top, because it imports this module and under
 * CommonJS its `registerEngine` call would otherwise run before `engines` exists.
 */
function registry(): Map<string, EngineEntry> {
  require("./engine-tfjs");
  return engines;
}

/**
 * Make an engine available to `train` under `name`. "auto" picks the highest `priority` whose
 * factory succeeds; "tfjs" has priority 0, so a faster engine should register with priority > 0.
 * Registering a name again replaces the earlier entry.
 */
export function registerEngine(
  name: string,
  factory: EngineFactory,
  opts: { priority?: number } = {},
): void {
  if (typeof name !== "string" || name === "" || name === "auto") {
    throw new RangeError(
      `Expected an engine name other than "auto", but got name=${JSON.stringify(name)}`,
    );
  }
  registry().set(name, { name, factory, priority: opts.priority ?? 0 });
}

/** Registered engines, highest priority first. */
export function registeredEngines(): { name: string; priority: number }[] {
  return [...registry().values()]
    .sort((a, b) => b.priority - a.priority)
    .map(({ name, priority }) => ({ name, priority }));
}

/** An engine that started, and the faster ones that could not run this configuration. */
export interface TrainStart {
  /** Name of the engine that runs. */
  engine: string;
  /** Engines of higher priority that failed to start here, with their reasons ("auto" only). */
  skipped: { name: string; reason: string }[];
}

/**
 * Create an engine by name, or the fastest that works ("auto": by priority, falling back on
 * failure), and say which faster engines were skipped and why.
 * @throws naming the engine if it is unknown or fails to start
 */
export async function startEngine(
  name: string,
  init: EngineInit,
): Promise<{ engine: TrainEngine; skipped: TrainStart["skipped"] }> {
  if (name !== "auto") {
    const entry = registry().get(name);
    if (!entry) {
      throw new RangeError(
        `Unknown engine "${name}"; registered: ${registeredEngines()
          .map((e) => e.name)
          .join(", ")}`,
      );
    }
    return { engine: await entry.factory(init), skipped: [] };
  }
  const skipped: TrainStart["skipped"] = [];
  for (const { name: n } of registeredEngines()) {
    try {
      return { engine: await registry().get(n)!.factory(init), skipped };
    } catch (e) {
      skipped.push({ name: n, reason: (e as Error).message });
    }
  }
  const failures = skipped.map((s) => `${s.name}: ${s.reason}`);
  throw new Error(`No training engine could be started (${failures.join("; ")})`);
}

/** `startEngine` without the reasons. */
export async function createEngine(name: string, init: EngineInit): Promise<TrainEngine> {
  return (await startEngine(name, init)).engine;
}

/** What `onProgress` receives. */
export interface TrainProgress {
  /** Completed steps. */
  step: number;
  /** Total steps of the run. */
  steps: number;
  /** Loss of the last step. */
  loss: number;
  /** Mean loss since the previous report (smoother than `loss`). */
  lossAvg: number;
  /** Mean loss of the last `lossMeanSteps` steps (a running mean, steady from report to report). */
  lossMean: number;
  /** Steps in `lossMean`: min(1000, step). */
  lossMeanSteps: number;
  /** Steps per second in this call of `train`. */
  stepsPerSec: number;
  /** Estimated seconds to finish. */
  etaSec: number;
  /** Engine name. */
  engine: string;
}

/** Options of `train` that do not change the result. */
export interface TrainOptions {
  /** Engine name, or "auto" (default) for the fastest registered one that starts. */
  engine?: string;
  /** Called once the engine has started, before the first step. */
  onStart?: (info: TrainStart) => void;
  /** Called at most every `progressEveryMs` and once at the end. */
  onProgress?: (p: TrainProgress) => void;
  /** Minimum time between progress reports (default 500 ms; 0 reports every step). */
  progressEveryMs?: number;
  /** Stops the run at the next step boundary; a checkpoint is written if `checkpointPath` is set. */
  signal?: AbortSignal;
  /** Where to write checkpoints (periodically, on abort, and at the end). */
  checkpointPath?: string;
  /** Steps between periodic checkpoints (default 5000; 0 = only on abort and at the end). */
  checkpointEvery?: number;
  /** Continue from `checkpointPath` if that file exists (its config must match, except `steps`). */
  resume?: boolean;
  /** Steps between yields to the event loop, so abort signals and display updates get through (default 50). */
  yieldEvery?: number;
}

/** Outcome of `train`. */
export interface TrainResult {
  /** Final parameters, in the shared layout (`new ScoreModel(config.model, weights)`). */
  weights: Float32Array[];
  config: TrainConfig;
  /** Loss of every completed step (including steps done before a resume). */
  lossHistory: Float32Array;
  /** Completed steps (less than config.steps if aborted). */
  steps: number;
  /** Step the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  engine: string;
  /** Wall time of this call. */
  seconds: number;
  aborted: boolean;
}

/** A configuration field (dotted path, e.g. "model.hidden") whose values differ. */
export interface ConfigDifference {
  key: string;
  /** JSON of the value in the first configuration (undefined if absent). */
  a: string | undefined;
  /** JSON of the value in the second configuration. */
  b: string | undefined;
}

/** The fields (dotted paths) whose values differ between two configurations, in `b`'s order. */
export function configDifferences(a: object, b: object): ConfigDifference[] {
  const flat = (o: unknown, prefix: string, out: Map<string, string>) => {
    if (o !== null && typeof o === "object" && !Array.isArray(o)) {
      for (const [k, v] of Object.entries(o)) flat(v, prefix ? `${prefix}.${k}` : k, out);
    } else out.set(prefix, JSON.stringify(o));
    return out;
  };
  const fa = flat(a, "", new Map());
  const fb = flat(b, "", new Map());
  return [...new Set([...fb.keys(), ...fa.keys()])]
    .filter((k) => fa.get(k) !== fb.get(k))
    .map((key) => ({ key, a: fa.get(key), b: fb.get(key) }));
}

/**
 * Train the score model with DSM and Adam. Seeded and reproducible: the same config gives the
 * same loss history and weights with the same engine, also across an abort + resume.
 * @throws `Loss became NaN at step k …` (or Infinity) if a loss is not finite; the last periodic
 *   checkpoint, if any, is kept
 */
export async function train(
  cfg: TrainConfig = defaultTrainConfig(),
  opts: TrainOptions = {},
): Promise<TrainResult> {
  validateTrainConfig(cfg);
  const t0 = performance.now();
  const progressEveryMs = opts.progressEveryMs ?? 500;
  const checkpointEvery = opts.checkpointEvery ?? 5000;
  const yieldEvery = opts.yieldEvery ?? 50;
  const ckPath = opts.checkpointPath;

  const data = makeMoons(cfg.dataSize, cfg.moons).x;
  let rng = new Rng(cfg.seed);
  let weights = initialWeights(cfg.model, rng.nextUint32());
  const history = new Float32Array(cfg.steps);
  let step = 0;
  let optimizer: OptimizerState | null = null;
  if (opts.resume && ckPath !== undefined && fs.existsSync(ckPath)) {
    const ck = loadTrainCheckpoint(ckPath);
    const diffs = configDifferences(ck.config, cfg)
      .filter((d) => d.key !== "steps")
      .map((d) => `${d.key}: checkpoint ${d.a}, now ${d.b}`);
    if (diffs.length > 0)
      throw new Error(`Cannot resume from "${ckPath}": the config differs (${diffs.join("; ")})`);
    if (ck.step > cfg.steps) {
      throw new RangeError(
        `Cannot resume from "${ckPath}": it has ${ck.step} steps, more than steps=${cfg.steps}`,
      );
    }
    weights = ck.weights;
    optimizer = ck.optimizer;
    rng = Rng.fromState(ck.rngState);
    history.set(ck.lossHistory);
    step = ck.step;
  }
  const resumedFrom = step;

  const { engine, skipped } = await startEngine(opts.engine ?? "auto", { config: cfg, weights });
  let aborted = false;
  try {
    opts.onStart?.({ engine: engine.name, skipped });
    if (optimizer) engine.setOptimizerState(optimizer);
    const save = () =>
      ckPath !== undefined &&
      saveTrainCheckpoint(ckPath, {
        config: cfg,
        step,
        engine: engine.name,
        weights: engine.getWeights(),
        optimizer: engine.getOptimizerState(),
        rngState: rng.getState(),
        lossHistory: history.slice(0, step),
      });

    let lastReport = performance.now();
    let sumSinceReport = 0;
    let countSinceReport = 0;
    const report = () => {
      const now = performance.now();
      const stepsPerSec = (step - resumedFrom) / Math.max((now - t0) / 1000, 1e-9);
      const lossMeanSteps = Math.min(1000, step);
      let sum = 0;
      for (let i = step - lossMeanSteps; i < step; i++) sum += history[i];
      opts.onProgress!({
        step,
        steps: cfg.steps,
        loss: history[step - 1],
        lossAvg: sumSinceReport / Math.max(countSinceReport, 1),
        lossMean: sum / Math.max(lossMeanSteps, 1),
        lossMeanSteps,
        stepsPerSec,
        etaSec: stepsPerSec > 0 ? (cfg.steps - step) / stepsPerSec : Infinity,
        engine: engine.name,
      });
      lastReport = now;
      sumSinceReport = 0;
      countSinceReport = 0;
    };

    // #region loop
    while (step < cfg.steps) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      const loss = engine.step(sampleBatch(rng, data, cfg.batchSize, cfg.loss));
      if (!Number.isFinite(loss)) {
        throw new Error(
          `Loss became ${loss} at step ${step + 1} of ${cfg.steps} (engine ${engine.name}, learningRate=${cfg.learningRate}); ` +
            `the weights before that step are unchanged. Try a smaller learningRate or check the data and schedule.`,
        );
      }
      history[step] = loss;
      step += 1;
      sumSinceReport += loss;
      countSinceReport += 1;
      if (
        opts.onProgress &&
        (step === cfg.steps || performance.now() - lastReport >= progressEveryMs)
      )
        report();
      if (checkpointEvery > 0 && step % checkpointEvery === 0 && step < cfg.steps) save();
      if (yieldEvery > 0 && step % yieldEvery === 0) await new Promise((r) => setImmediate(r));
    }
    // #endregion
    if (aborted && opts.onProgress && countSinceReport > 0) report();
    save();
    weights = engine.getWeights();
  } finally {
    engine.dispose();
  }
  return {
    weights,
    config: cfg,
    lossHistory: history.slice(0, step),
    steps: step,
    resumedFrom,
    engine: engine.name,
    seconds: (performance.now() - t0) / 1000,
    aborted,
  };
}
