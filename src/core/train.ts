/**
 * The training loop of part 2d, independent of how a step is computed.
 *
 * A `TrainEngine` does one Adam step on one batch (`referenceEngine` below in plain float64; the
 * fast ones live in `src/engines/` and are passed in); the loop draws the batches, records the
 * loss, reports progress, hands its state to `onCheckpoint`, stops on an abort signal and resumes
 * from a saved state. It does no I/O.
 *
 * Training data: a fixed two-moons data set `makeMoons(dataSize, moons)` (seeded by `moons.seed`,
 * like the data plotted in part 2a); each step draws `batchSize` rows from it with replacement,
 * plus t ~ U(tMin, 1) and ε ~ N(0, I), all from one `Rng(seed)` whose state is checkpointed.
 * The model's initial weights use a seed taken as the first draw of that same generator.
 */
import { OptimizerState, adamInit, adamStep } from "./adam";
import {
  Batch,
  LossConfig,
  defaultLossConfig,
  dsmLoss,
  sampleBatch,
  validateLossConfig,
} from "./loss";
import {
  ModelConfig,
  defaultModelConfig,
  initialWeights,
  modelConfigKeys,
  validateModelConfig,
} from "./mlp";
import { MoonsConfig, defaultMoonsConfig, makeMoons } from "./moons";
import { Rng, RngState } from "./random";
import { ScheduleConfig, defaultSchedule, validateSchedule } from "./sde";
import { rejectUnknownKeys } from "./config-keys";
import {
  Parameterization,
  Weighting,
  isSheetObjective,
  objectiveLoss,
  validateObjective,
} from "./objective";
import { LrSchedule, learningRateAt, validateLrSchedule } from "./lr-schedule";
import { emaInit, emaUpdate, validateEmaDecay } from "./ema";

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
  // The training variants below are optional; absent means the sheet's choice, and the sheet's
  // config leaves them out, so its cache key and its numbers stay what they were.
  /** What the network outputs (`objective.ts`): "score" (the sheet, absent) or "eps". */
  parameterization?: Parameterization;
  /** Loss weighting λ(t) (`objective.ts`): "none" (the sheet, absent), "sigma2", "likelihood". */
  weighting?: Weighting;
  /**
   * Decay of an exponential moving average of the weights (`ema.ts`), in [0, 1); absent: none.
   * When set, `train` also returns the average (`emaWeights`), the weights to sample with.
   */
  ema?: number;
  /** Step-size schedule (`lr-schedule.ts`); absent: the sheet's constant learningRate. */
  lrSchedule?: LrSchedule;
}

/** The optional TrainConfig fields (the training variants); the sheet's config has none. */
export const trainVariantKeys = ["parameterization", "weighting", "ema", "lrSchedule"];

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
    // a fixed data set, as a notebook would draw once with make_moons; 10k points cover the moons
    // densely
    dataSize: 10_000,
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
  rejectUnknownKeys(cfg, [...Object.keys(sheet), ...trainVariantKeys], "TrainConfig");
  if (cfg.model !== null && typeof cfg.model === "object")
    rejectUnknownKeys(cfg.model, modelConfigKeys, "TrainConfig.model");
  if (cfg.moons !== null && typeof cfg.moons === "object")
    rejectUnknownKeys(cfg.moons, Object.keys(sheet.moons), "TrainConfig.moons");
  positiveInt("steps", cfg.steps);
  if (cfg.steps > maxTrainSteps) {
    throw new RangeError(
      `Expected steps to be at most ${maxTrainSteps} (about an hour of training), but got ` +
        `steps=${cfg.steps}`,
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
  validateObjective(cfg);
  if (cfg.ema !== undefined) validateEmaDecay(cfg.ema);
  if (cfg.lrSchedule !== undefined) validateLrSchedule(cfg.lrSchedule, cfg.steps);
  return cfg;
}

/**
 * Adam's step size for step k (1-based) of a run of `cfg`: `cfg.learningRate` itself unless
 * `cfg.lrSchedule` decays it.
 */
export function stepLearningRate(cfg: TrainConfig, k: number): number {
  return learningRateAt(cfg.learningRate, cfg.lrSchedule, k, cfg.steps);
}

/** One way of computing training steps (plain float64, tfjs autodiff, a fused wasm kernel, …). */
export interface TrainEngine {
  /** Its name, e.g. "tfjs". */
  readonly name: string;
  /**
   * One Adam step on `batch`. Returns the DSM loss at the parameters *before* the update.
   * If that loss is not finite, the parameters and moments must be left unchanged.
   */
  step(batch: Batch): number;
  /** Copies of the parameters, in the shared layout. */
  getWeights(): Float32Array[];
  /**
   * Optional: the parameters without copying them, in the shared layout, valid until the next
   * call of any other method (for the moving average of the weights, read after every step).
   */
  peekWeights?(): ArrayLike<number>[];
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

/** Creates an engine; may be async (e.g. to instantiate WebAssembly); may throw if unavailable. */
export type EngineFactory = (init: EngineInit) => TrainEngine | Promise<TrainEngine>;

/**
 * The training step as the sheet defines it: `dsmLoss`'s gradient, then `adamStep`; for the
 * variants, `objectiveLoss`'s gradient and the scheduled step size.
 */
export const referenceEngine: EngineFactory = ({ config, weights }) => {
  const sheet = isSheetObjective(config, config.model.timeEmbedding);
  let w = weights.map((a) => Float32Array.from(a));
  let adam = adamInit(w);
  const copy = (s: OptimizerState): OptimizerState => ({
    step: s.step,
    m: s.m.map((a) => Float32Array.from(a)),
    v: s.v.map((a) => Float32Array.from(a)),
  });
  return {
    name: "reference",
    step(batch) {
      const { loss, grads } = sheet
        ? dsmLoss(w, batch, config.schedule, config.loss)
        : objectiveLoss(w, batch, config.schedule, config.loss, config, config.model.timeEmbedding);
      if (!Number.isFinite(loss)) return loss;
      const lr = config.lrSchedule ? stepLearningRate(config, adam.step + 1) : config.learningRate;
      adamStep(
        w,
        grads,
        adam,
        lr === config.learningRate ? config : { ...config, learningRate: lr },
      );
      return loss;
    },
    getWeights: () => w.map((a) => Float32Array.from(a)),
    setWeights: (next) => (w = next.map((a) => Float32Array.from(a))),
    getOptimizerState: () => copy(adam),
    setOptimizerState: (s) => (adam = copy(s)),
    dispose: () => undefined,
  };
};

/** What `onProgress` receives. */
export interface TrainProgress {
  /** Completed steps. */
  step: number;
  /** Total steps of the run. */
  steps: number;
  /** Loss of the last step. */
  loss: number;
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

/** Everything a run needs to continue where it stopped (what a checkpoint holds). */
export interface TrainState {
  /** Completed steps. */
  step: number;
  /** Name of the engine that computed them. */
  engine: string;
  weights: Float32Array[];
  optimizer: OptimizerState;
  /** State of the batch generator. */
  rngState: RngState;
  /** Loss of each completed step. */
  lossHistory: Float32Array;
  /** The moving average of the weights, when `config.ema` is set. */
  ema?: Float32Array[];
}

/** Options of `train` that do not change the result. */
export interface TrainOptions {
  /** Makes the engine (e.g. `referenceEngine`, or one of `src/engines/`). */
  engine: EngineFactory;
  /** Continue from this state (of the same configuration; `steps` may differ). */
  resumeFrom?: TrainState;
  /** Receives the state every `checkpointEvery` steps, when stopped, and at the end. */
  onCheckpoint?: (state: TrainState) => void;
  /**
   * Steps between periodic `onCheckpoint` calls (default 5000; 0 = only when stopped and at the
   * end).
   */
  checkpointEvery?: number;
  /** Called once the engine has started, before the first step. */
  onStart?: (engine: string) => void;
  /** Called at most every `progressEveryMs` and once at the end. */
  onProgress?: (p: TrainProgress) => void;
  /** Minimum time between progress reports (default 500 ms; 0 reports every step). */
  progressEveryMs?: number;
  /** Stops the run at the next step boundary (the state then goes to `onCheckpoint`). */
  signal?: AbortSignal;
  /**
   * Steps between yields to the event loop, so abort signals and displays get through (default 50).
   */
  yieldEvery?: number;
}

/** Outcome of `train`. */
export interface TrainResult {
  /** Final parameters, in the shared layout. */
  weights: Float32Array[];
  /** Their moving average when `config.ema` is set (sample with these), else absent. */
  emaWeights?: Float32Array[];
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

/**
 * Train the score model with DSM and Adam. Seeded and reproducible: the same config gives the
 * same loss history and weights with the same engine, also across a stop and a resume.
 * @throws `Loss became NaN at step k …` (or Infinity) if a loss is not finite
 */
export async function train(cfg: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  validateTrainConfig(cfg);
  const t0 = Date.now();
  const progressEveryMs = opts.progressEveryMs ?? 500;
  const checkpointEvery = opts.checkpointEvery ?? 5000;
  const yieldEvery = opts.yieldEvery ?? 50;

  const data = makeMoons(cfg.dataSize, cfg.moons).x;
  let rng = new Rng(cfg.seed);
  let weights = initialWeights(cfg.model, rng.nextUint32());
  const history = new Float32Array(cfg.steps);
  let step = 0;
  const resume = opts.resumeFrom;
  if (resume) {
    if (resume.step > cfg.steps) {
      throw new RangeError(
        `Cannot resume: the saved run has ${resume.step} steps, more than steps=${cfg.steps}`,
      );
    }
    weights = resume.weights;
    rng = Rng.fromState(resume.rngState);
    history.set(resume.lossHistory);
    step = resume.step;
  }
  const resumedFrom = step;
  // the average starts at the initial weights (or a resumed run's average, if it kept one)
  const ema = cfg.ema === undefined ? undefined : (resume?.ema ?? emaInit(weights));

  const engine = await opts.engine({ config: cfg, weights });
  let aborted = false;
  try {
    if (resume) engine.setOptimizerState(resume.optimizer);
    opts.onStart?.(engine.name);
    const checkpoint = () =>
      opts.onCheckpoint?.({
        step,
        engine: engine.name,
        weights: engine.getWeights(),
        optimizer: engine.getOptimizerState(),
        rngState: rng.getState(),
        lossHistory: history.slice(0, step),
        ...(ema ? { ema: ema.map((a) => Float32Array.from(a)) } : {}),
      });

    let lastReport = Date.now();
    let reportedStep = step;
    const report = () => {
      reportedStep = step;
      const now = Date.now();
      const stepsPerSec = (step - resumedFrom) / Math.max((now - t0) / 1000, 1e-9);
      const lossMeanSteps = Math.min(1000, step);
      let sum = 0;
      for (let i = step - lossMeanSteps; i < step; i++) sum += history[i];
      opts.onProgress!({
        step,
        steps: cfg.steps,
        loss: history[step - 1],
        lossMean: sum / Math.max(lossMeanSteps, 1),
        lossMeanSteps,
        stepsPerSec,
        etaSec: stepsPerSec > 0 ? (cfg.steps - step) / stepsPerSec : Infinity,
        engine: engine.name,
      });
      lastReport = now;
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
          `Loss became ${loss} at step ${step + 1} of ${cfg.steps} (engine ${engine.name}, ` +
            `learningRate=${cfg.learningRate}); the weights before that step are unchanged. ` +
            `Try a smaller learningRate or check the data and schedule.`,
        );
      }
      history[step] = loss;
      step += 1;
      if (ema) emaUpdate(ema, engine.peekWeights?.() ?? engine.getWeights(), cfg.ema!);
      if (opts.onProgress && (step === cfg.steps || Date.now() - lastReport >= progressEveryMs))
        report();
      if (checkpointEvery > 0 && step % checkpointEvery === 0 && step < cfg.steps) checkpoint();
      if (yieldEvery > 0 && step % yieldEvery === 0) await new Promise((r) => setImmediate(r));
    }
    // #endregion
    if (aborted && opts.onProgress && step > reportedStep) report();
    checkpoint();
    weights = engine.getWeights();
  } finally {
    engine.dispose();
  }
  return {
    weights,
    ...(ema ? { emaWeights: ema } : {}),
    config: cfg,
    lossHistory: history.slice(0, step),
    steps: step,
    resumedFrom,
    engine: engine.name,
    seconds: (Date.now() - t0) / 1000,
    aborted,
  };
}
