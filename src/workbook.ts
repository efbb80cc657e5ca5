/**
 * Notebook-wide settings and the one-call setup for the first cell of every notebook.
 *
 * Full mode (default) uses the exercise sheet's settings. Quick mode (`WORKBOOK_QUICK=1`, set by
 * `npm run workbook -- --quick` and CI) keeps every code path but shrinks the work so all
 * notebooks run in minutes.
 */
import { BackendName, describeBackend, selectBackend } from "./backend";
import { showMarkdown } from "./display";
import { defaultCacheDir } from "./cache";
import { registeredEngines } from "./train";

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
      trainSteps: 20_000, // ~5 s on the wasm engine; the samples already form the two moons, blurred (~60% on a moon vs ~89% at 100k)
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

/** What `setup` found: the settings plus the compute back-ends in use. */
export interface WorkbookSetup extends WorkbookSettings {
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
  const result: WorkbookSetup = {
    ...settings,
    backend,
    backendDescription,
    engines: registeredEngines().map((e) => e.name),
    cacheDir: defaultCacheDir(),
  };
  if (!options.quiet) {
    // One compact line: the same in every notebook (each runs on its own in JupyterLab), so it must not take a page.
    const parts = [
      settings.quick
        ? "**quick mode** (WORKBOOK_QUICK=1: shortened training)"
        : "**full mode** (the sheet's settings)",
      `training: ${settings.trainSteps} steps`,
      `sampler: ${settings.samplerSteps} steps`,
      `2e: ${settings.nSamples} samples / ${settings.nData} reference points`,
      `tfjs ${backendDescription.replace(/^tfjs /, "")}`,
      `training engines: ${result.engines.join(", ")} (fastest first)`,
      `Node.js ${process.version}`,
    ];
    const line = `Setup: ${parts.join(" · ")}`;
    showMarkdown(line, line.replace(/\*\*/g, ""));
  }
  return result;
}
