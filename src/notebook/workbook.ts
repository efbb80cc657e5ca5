/**
 * Notebook-wide settings and the one-call setup for the first cell of every notebook.
 *
 * Full mode (default) uses the exercise sheet's settings. Quick mode (`WORKBOOK_QUICK=1`, set by
 * `npm run workbook -- --quick` and CI) keeps every code path but shrinks the work so all
 * notebooks run in minutes.
 */
import * as fs from "fs";
import * as path from "path";
import { BackendName, describeBackend, selectBackend } from "../engines/backend";
import { showMarkdown } from "./display";
import { defaultCacheDir } from "./cache";
import { rejectUnknownKeys } from "../core/config-keys";
import { SamplerConfig, defaultSamplerConfig, validateSamplerConfig } from "../core/sampler";
import { TrainConfig, defaultTrainConfig, validateTrainConfig } from "../core/train";
import { engines } from "../engines";
import { configDifferences } from "./checkpoint";

/** Sizes the notebooks use, for the current mode. */
export interface WorkbookSettings {
  /** True in quick mode (`WORKBOOK_QUICK=1`). */
  quick: boolean;
  /** Training steps (sheet: ~100 000). */
  trainSteps: number;
  /** Euler–Maruyama steps of the reverse SDE (sheet: 1000). */
  samplerSteps: number;
  /** Generated samples for plots and metrics. */
  nSamples: number;
  /** Fresh data points drawn for plots and as the metrics' reference. */
  nData: number;
  /** Points per side in the two-sample distances (MMD / energy distance are O(n²)). */
  nMetric: number;
  /** Seed for everything a notebook draws beyond the configs' own seeds. */
  seed: number;
}

/** True when the environment asks for quick mode. */
export function isQuick(): boolean {
  return process.env.WORKBOOK_QUICK === "1";
}

/** Settings of the current mode (read from the environment at each call). */
export function workbookSettings(): WorkbookSettings {
  if (isQuick()) {
    return {
      quick: true,
      // ~5 s on the wasm engine; the samples already form the two moons, blurred (~60% on a moon vs
      // ~89% at 100k)
      trainSteps: 20_000,
      samplerSteps: 1_000, // the sheet's value: sampling is cheap, so quick mode keeps it
      nSamples: 1_000,
      nData: 1_000,
      nMetric: 500,
      seed: 0,
    };
  }
  return {
    quick: false,
    trainSteps: 100_000, // the sheet: "around 100000 steps"
    samplerSteps: 1_000, // the sheet: 1000 discretisation steps
    nSamples: 10_000, // dense enough that the plot shows the density, not single points
    nData: 10_000,
    nMetric: 2_000, // O(n²) distances: 2000 per side takes about a second
    seed: 0,
  };
}

/**
 * The one place for settings that every part reads: `notebooks/settings.json` (or the file named by
 * WORKBOOK_SETTINGS). It holds only what differs from the sheet, e.g. `{ "train": { "learningRate":
 * 0.003, "model": { "hidden": [128, 128] } }, "sampler": { "steps": 500 } }`.
 */
export function settingsFile(): string {
  return (
    process.env.WORKBOOK_SETTINGS ||
    path.resolve(__dirname, "..", "..", "notebooks", "settings.json")
  );
}

/** What the settings file may hold. */
export interface SettingsChanges {
  /** Changes to the sheet's training configuration (nested objects are merged, arrays replaced). */
  train?: Record<string, unknown>;
  /** Changes to the sampler: its number of steps and its seed. */
  sampler?: { steps?: number; seed?: number };
}

/** `base` with `changes` written over it; nested objects are merged, anything else replaced. */
function mergeChanges<T extends object>(base: T, changes: Record<string, unknown>): T {
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    const b = out[k];
    const bothObjects = [b, v].every(
      (o) => o !== null && typeof o === "object" && !Array.isArray(o),
    );
    out[k] = bothObjects ? mergeChanges(b as object, v as Record<string, unknown>) : v;
  }
  return out as T;
}

/**
 * The training and sampler configurations of the current mode with the settings file's changes,
 * validated (an unknown key names the nearest valid one).
 * @throws naming the file if it is not valid JSON or holds an unknown key or a bad value
 */
export function workbookConfigs(file: string = settingsFile()): {
  train: TrainConfig;
  sampler: SamplerConfig;
} {
  let changes: SettingsChanges = {};
  if (fs.existsSync(file)) {
    try {
      changes = JSON.parse(fs.readFileSync(file, "utf8")) as SettingsChanges;
      if (changes === null || typeof changes !== "object" || Array.isArray(changes))
        throw new TypeError(`expected a JSON object, but got ${JSON.stringify(changes)}`);
    } catch (err) {
      throw new Error(`Cannot read the settings file "${file}": ${(err as Error).message}`);
    }
  }
  const s = workbookSettings();
  try {
    rejectUnknownKeys(changes, ["train", "sampler"], "the settings file");
    const train = mergeChanges(
      { ...defaultTrainConfig(), steps: s.trainSteps },
      (changes.train ?? {}) as Record<string, unknown>,
    );
    validateTrainConfig(train);
    rejectUnknownKeys(changes.sampler ?? {}, ["steps", "seed"], "sampler settings");
    const sampler: SamplerConfig = {
      ...defaultSamplerConfig(),
      steps: s.samplerSteps,
      nSamples: s.nSamples,
      ...changes.sampler,
      tMin: train.loss.tMin, // the smallest time seen in training
      schedule: train.schedule, // the schedule the score was trained with
    };
    return { train, sampler: validateSamplerConfig(sampler) };
  } catch (err) {
    throw new Error(`In the settings file "${file}": ${(err as Error).message}`);
  }
}

/**
 * "the sheet's settings", or "the sheet's settings except learningRate = 0.003 (sheet: 0.001)":
 * what a trained model is, in one phrase.
 */
export function describeSettings(cfg: TrainConfig): string {
  const changed = configDifferences(defaultTrainConfig(), cfg);
  if (changed.length === 0) return "the sheet's settings";
  const list = changed.map((d) => `${d.key} = ${d.b ?? "(none)"} (sheet: ${d.a ?? "(none)"})`);
  return `the sheet's settings except ${list.join(", ")}`;
}

/** What `setup` found: the settings plus the compute back-ends in use. */
export interface WorkbookSetup extends WorkbookSettings {
  /** The training configuration every part uses (the sheet's, with the settings file's changes). */
  train: TrainConfig;
  /** The sampler configuration of part 2e (the sheet's, with the settings file's changes). */
  sampler: SamplerConfig;
  /** tfjs backend in use. */
  backend: BackendName;
  /** One-line description of the backend (version, SIMD, threads). */
  backendDescription: string;
  /** Training engines available, fastest first ("auto" picks the first that starts). */
  engines: string[];
  /** Where trained weights are cached. */
  cacheDir: string;
}

/**
 * First cell of each notebook: pick the tfjs backend (tfjs-node, else wasm, else cpu; override
 * with `backend` or DIFFUSION_BACKEND), show the mode, back-end and engines, return the settings.
 * Safe to run again.
 */
export async function setup(
  options: { backend?: BackendName; quiet?: boolean } = {},
): Promise<WorkbookSetup> {
  const backend = await selectBackend(options.backend);
  const backendDescription = await describeBackend();
  const settings = workbookSettings();
  const configs = workbookConfigs();
  const result: WorkbookSetup = {
    ...settings,
    ...configs,
    backend,
    backendDescription,
    engines: Object.keys(engines),
    cacheDir: defaultCacheDir(),
  };
  if (!options.quiet) {
    // One compact line: the same in every notebook (each runs on its own in JupyterLab), so it must
    // not take a page.
    const parts = [
      settings.quick
        ? "**quick mode** (WORKBOOK_QUICK=1: shortened training)"
        : "**full mode** (the sheet's settings)",
      `training: ${configs.train.steps} steps`,
      `sampler: ${configs.sampler.steps} steps`,
      `2e: ${settings.nSamples} samples / ${settings.nData} reference points`,
      `tfjs ${backendDescription.replace(/^tfjs /, "")}`,
      `training engines: ${result.engines.join(", ")} (fastest first)`,
      `Node.js ${process.version}`,
      `model: ${describeSettings(configs.train)}`,
    ];
    const line = `Setup: ${parts.join(" · ")}`;
    showMarkdown(line, line.replace(/\*\*/g, ""));
  }
  return result;
}
