/**
 * Trained weights cached on disk, keyed by the training configuration, so re-running a
 * notebook (or only part 2e) does not retrain.
 *
 * One file per configuration: `<cacheDir>/<key>.json` is the training checkpoint of
 * `train()` (weights, Adam state, generator state, loss history, config). When it holds all
 * `config.steps` steps, `trainCached` loads it (with the moving average of the weights,
 * `emaWeights`, when the config keeps one); when it holds fewer (an interrupted run), it resumes
 * from it; `force` deletes it and trains from scratch. The key is a SHA-256 of the
 * full configuration in canonical JSON (sorted keys), so any changed field trains anew; the
 * engine is not part of the key because every engine computes the same update.
 *  Default folder `<package>/.cache/weights/`; the environment variable WORKBOOK_CACHE_DIR
 * overrides.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  TrainCheckpoint,
  atomicWriteFile,
  configDifferences,
  loadTrainCheckpoint,
  saveTrainCheckpoint,
} from "./checkpoint";
import { showMarkdown } from "./display";
import { ProgressBar, formatDuration } from "./progress";
import { Interrupted, withInterrupt } from "./interrupt";
import {
  EngineFactory,
  TrainConfig,
  TrainOptions,
  TrainResult,
  train,
  validateTrainConfig,
} from "../core/train";
import { SkippedEngine, engineFactory } from "../engines";

/** Cache folder: WORKBOOK_CACHE_DIR, else `<package>/.cache/weights`. */
export function defaultCacheDir(): string {
  return process.env.WORKBOOK_CACHE_DIR || path.resolve(__dirname, "..", "..", ".cache", "weights");
}

/** JSON with object keys sorted at every level: equal configs give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** Cache key of a training configuration: 16 hex digits of SHA-256 of its canonical JSON. */
export function trainCacheKey(cfg: TrainConfig): string {
  return createHash("sha256")
    .update("diffusion-workbook/train-cache/v1\n")
    .update(canonicalJson(cfg))
    .digest("hex")
    .slice(0, 16);
}

/** Options of `trainCached`: `train()`'s options plus the cache's own. */
export interface CachedTrainOptions
  extends Omit<TrainOptions, "engine" | "resumeFrom" | "onCheckpoint"> {
  /** Engine name (see `engines`), "auto" (default: the fastest that runs here), or a factory. */
  engine?: string | EngineFactory;
  /** Retrain even if finished weights are cached (the old entry is replaced). */
  force?: boolean;
  /** Cache folder (default `defaultCacheDir()`). */
  cacheDir?: string;
  /** Show a progress bar / cache note in the notebook (default true). */
  progress?: boolean;
  /**
   * Say so when the weights come from the cache (default true; false for cells that only reuse
   * them).
   */
  cacheNote?: boolean;
}

/** `train()`'s result plus where it came from. */
export interface CachedTrainResult extends TrainResult {
  /** True when the weights were loaded, not trained, in this call. */
  fromCache: boolean;
  /** The cache file (a training checkpoint). */
  file: string;
  /** Cache key (see `trainCacheKey`). */
  key: string;
  /** Wall time of the training that produced the cached weights, if recorded (seconds). */
  trainedSeconds: number | null;
}

interface CacheMeta {
  key: string;
  engine: string;
  steps: number;
  /** Total training wall time over all calls that contributed (seconds). */
  seconds: number;
  finishedAt: string | null;
}

function readMeta(file: string): CacheMeta | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as CacheMeta;
  } catch {
    return null;
  }
}

/**
 * Claim `<file>.lock` for this process, so two processes (say a notebook and
 * `npm run train-and-sample`) never write the same checkpoint at once. A lock whose process is
 * gone (a crash, a killed kernel) is taken over. Returns the release function.
 * @throws if a live process holds the lock, naming it
 */
export function lockTraining(file: string): () => void {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(fs.readFileSync(lock, "utf8"));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new Error(
          `Another process (pid ${pid}) is training this configuration into "${file}"; wait for ` +
            `it to finish, or stop it and run again (it resumes from its checkpoint)`,
        );
      }
      fs.rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`Could not create the lock file "${lock}"`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Runs in flight in this process, by key: a re-run cell waits for (and then resumes) an
// interrupted run instead of training the same file twice at once.
const inflight = new Map<string, Promise<unknown>>();

/** Thrown by `trainCached` when training stopped early (Kernel → Interrupt, Ctrl-C, `signal`). */
export class TrainingInterrupted extends Interrupted {
  /** Steps completed and saved in the checkpoint. */
  declare readonly step: number;
  /** Steps of the run. */
  declare readonly steps: number;
  /** The checkpoint a re-run resumes from. */
  declare readonly file: string;

  constructor(step: number, steps: number, file: string) {
    super(`Training interrupted at step ${step} of ${steps}; checkpoint saved; re-run to resume.`);
    this.name = "TrainingInterrupted";
    this.stack = `${this.name}: ${this.message}`;
    // Not enumerable: a notebook prints the error as its one line, without these fields.
    Object.defineProperties(this, {
      step: { value: step },
      steps: { value: steps },
      file: { value: file },
    });
  }
}

/** Read a cache file, or say how to recover from a corrupt one. */
function readCacheFile(file: string): TrainCheckpoint {
  try {
    return loadTrainCheckpoint(file);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}. To recover, train again with \`force: true\` ` +
        `(\`retrain = true\` in part 2d, \`--force\` on the command line) or delete that file.`,
    );
  }
}

/**
 * Throws unless the checkpoint `ck`, read from `file`, is of `cfg` (the configuration of its key).
 */
function checkCacheConfig(file: string, ck: TrainCheckpoint, cfg: TrainConfig): void {
  if (canonicalJson(ck.config) !== canonicalJson(cfg)) {
    throw new Error(
      `Cache file "${file}" holds a different configuration than its key says; delete it or ` +
        `pass force: true`,
    );
  }
}

/**
 * Train with `train(cfg, opts)`, or load the finished result from the cache.
 *
 * - finished entry for this exact config → loaded, no training (`fromCache: true`);
 * - partial entry (an interrupted run) → resumed, bit-identical to an uninterrupted run;
 * - an entry of a run with `ema` written without its average (older files) → trained anew;
 * - `force: true` → trained from scratch into a separate file that replaces the cached weights
 *   only when the new run has finished (an interrupted retrain leaves them usable, and a re-run
 *   with `force` resumes the retrain).
 * Kernel → Interrupt (SIGINT) or `signal` stops training at the next step, saves the checkpoint
 * and throws `TrainingInterrupted`, so a cell never goes on as if training had finished.
 */
export async function trainCached(
  cfg: TrainConfig,
  opts: CachedTrainOptions = {},
): Promise<CachedTrainResult> {
  validateTrainConfig(cfg);
  const {
    force = false,
    cacheDir = defaultCacheDir(),
    progress = true,
    cacheNote = true,
    ...trainOpts
  } = opts;
  const key = trainCacheKey(cfg);
  const file = path.join(cacheDir, `${key}.json`);
  const retrainFile = path.join(cacheDir, `${key}.retrain.json`);
  const metaFile = path.join(cacheDir, `${key}.meta.json`);

  const previous = inflight.get(key);
  if (previous) await previous.catch(() => undefined);
  const run = withInterrupt(async (signal): Promise<CachedTrainResult> => {
    fs.mkdirSync(cacheDir, { recursive: true });
    const meta = readMeta(metaFile);
    if (!force && fs.existsSync(file)) {
      const ck = readCacheFile(file);
      if (ck.step === cfg.steps && !lacksEma(ck, cfg)) {
        checkCacheConfig(file, ck, cfg);
        if (progress && cacheNote) {
          const took = meta?.seconds ? `, trained in ${formatDuration(meta.seconds)}` : "";
          showMarkdown(
            `Loaded trained weights from the cache (${ck.step} steps on engine ` +
              `${ck.engine}${took}; ` +
              `key ${key}). Pass \`force: true\` to retrain.`,
          );
        }
        return {
          weights: ck.weights,
          config: cfg,
          ...(ck.ema ? { emaWeights: ck.ema } : {}),
          lossHistory: ck.lossHistory,
          steps: ck.step,
          resumedFrom: ck.step,
          engine: ck.engine,
          seconds: 0,
          aborted: false,
          fromCache: true,
          file,
          key,
          trainedSeconds: meta?.seconds ?? null,
        };
      }
    }
    const target = force ? retrainFile : file;

    const bar = progress ? new ProgressBar({ label: "training" }) : null;
    const { factory, skipped } = engineFactory(trainOpts.engine ?? "auto");
    let result: TrainResult;
    const releaseLock = lockTraining(file);
    try {
      result = await train(cfg, {
        checkpointEvery: 2000,
        ...trainOpts,
        engine: factory,
        signal,
        resumeFrom: fs.existsSync(target) ? resumableState(target, cfg) : undefined,
        onCheckpoint: (state) => saveTrainCheckpoint(target, { ...state, config: cfg }),
        onStart: (engine) => {
          if (progress) showEngineChoice(engine, skipped, cfg);
          trainOpts.onStart?.(engine);
        },
        onProgress: (p) => {
          bar?.update({
            ...p,
            loss: p.lossMean,
            lossLabel: `mean loss, last ${p.lossMeanSteps} steps`,
          });
          trainOpts.onProgress?.(p);
        },
      });
      if (!result.aborted && force) fs.renameSync(retrainFile, file); // the new weights, at once
    } finally {
      releaseLock();
    }
    const retrainedBefore = force ? 0 : (meta?.seconds ?? 0);
    const seconds = (result.resumedFrom > 0 ? retrainedBefore : 0) + result.seconds;
    if (!force || !result.aborted) {
      atomicWriteFile(
        metaFile,
        JSON.stringify({
          key,
          engine: result.engine,
          steps: result.steps,
          seconds,
          finishedAt: result.aborted ? null : new Date().toISOString(),
        }),
      );
    }
    if (result.aborted) {
      const err = new TrainingInterrupted(result.steps, cfg.steps, target);
      bar?.done(err.message.replace(/^Training i/, "i"));
      throw err;
    }
    bar?.done(result.resumedFrom > 0 ? `resumed from step ${result.resumedFrom}` : undefined);
    return { ...result, fromCache: false, file, key, trainedSeconds: seconds };
  }, trainOpts.signal);
  inflight.set(key, run);
  try {
    return await run;
  } finally {
    if (inflight.get(key) === run) inflight.delete(key);
  }
}

/**
 * True for a checkpoint of a run with a moving average (`cfg.ema`) that does not hold it (written
 * before checkpoints stored it): neither loaded nor resumed, the run is trained anew.
 */
function lacksEma(ck: TrainCheckpoint, cfg: TrainConfig): boolean {
  return cfg.ema !== undefined && ck.ema === undefined;
}

/**
 * The saved state of an interrupted run of `cfg` in `file`, checked to be of the same run;
 * undefined (train from step 0) if it lacks the moving average its configuration keeps.
 */
function resumableState(file: string, cfg: TrainConfig): TrainCheckpoint | undefined {
  const ck = readCacheFile(file);
  if (lacksEma(ck, cfg)) return undefined;
  const diffs = configDifferences(ck.config, cfg).filter((d) => d.key !== "steps");
  if (diffs.length > 0) {
    const list = diffs.map((d) => `${d.key}: checkpoint ${d.a}, now ${d.b}`).join("; ");
    throw new Error(`Cannot resume from "${file}": the config differs (${list})`);
  }
  return ck;
}

/** A note before training when the fastest engine cannot run this configuration. */
function showEngineChoice(engine: string, skipped: SkippedEngine[], cfg: TrainConfig): void {
  if (skipped.length === 0) return;
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join("; ");
  showMarkdown(
    `Training ${cfg.steps} steps on engine **${engine}**, not the faster ` +
      `${skipped.map((s) => s.name).join(", ")} (${why}). The progress bar shows the expected ` +
      `time.`,
  );
}
