/**
 * The experiment of notebook 07 (learned equivariant scores), cached: MALA data, then the jobs of
 * `particle-jobs.ts` (three score models × seeds × data sizes), assembled into one plain-JSON
 * result.
 *
 * The result is cached on disk as one file per configuration, `<cacheDir>/particles-<key>.json`
 * (key: SHA-256 of a version tag and the configuration's canonical JSON; the trained weights'
 * folder), so every cell can ask for it after the setup cell alone. Kernel → Interrupt stops
 * between trainings and caches nothing; a corrupt or foreign cache file is an error that names
 * it and says how to recover.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { canonicalJson, defaultCacheDir } from "./cache";
import { atomicWriteFile } from "./checkpoint";
import { showMarkdown } from "./display";
import { ProgressBar, formatDuration } from "./progress";
import { Interrupted, withInterrupt } from "./interrupt";
import { Rng } from "../core/random";
import {
  MalaConfig,
  initialConfiguration,
  integratedAutocorrelationTime,
  particleSystem,
  runMala,
} from "../core/particles";
import { initParticleModel, particleParameterCount } from "../core/particle-scores";
import {
  axialUniformity,
  pairDistanceW1,
  pairDistances,
  principalAxes,
  sampleEnergies,
  wasserstein1,
} from "../core/particle-metrics";
import {
  ParticleExperimentConfig,
  defaultParticleExperimentConfig,
  positiveInt,
  validateParticleExperimentConfig,
} from "./particle-config";
import {
  JobAnswer,
  ParticleJob,
  ParticleJobContext,
  ParticleRun,
  particleJobsOf,
  runParticleJobs,
} from "./particle-jobs";

const VERSION_TAG = "diffusion-workbook/particle-experiment/v1";
const FORMAT = "diffusion-workbook/particle-experiment";
/** Cache key: 16 hex digits of SHA-256 of the version tag and the canonical JSON of `cfg`. */
export function particleExperimentKey(cfg: ParticleExperimentConfig): string {
  return createHash("sha256")
    .update(`${VERSION_TAG}\n`)
    .update(canonicalJson(cfg))
    .digest("hex")
    .slice(0, 16);
}

/** A MALA chain's diagnostics. */
export interface ChainSummary {
  /** Accepted fraction after burn-in. */
  acceptanceRate: number;
  /** Frozen Langevin step τ after the burn-in adaptation. */
  stepSize: number;
  /** Integrated autocorrelation time of U along the chain, in steps. */
  energyAutocorrelationTime: number;
  /** Steps after burn-in, and every how many a state was kept. */
  steps: number;
  thin: number;
  /** Kept configurations. */
  nSamples: number;
  /** τ_int of (longest principal axis)_z² over the kept states (1 = independent). */
  orientationAutocorrelationTime: number;
  /** Bingham's statistic S of the longest principal axes (χ²₅ if uniform) and its p-value. */
  bingham: number;
  binghamP: number;
}

/** Histogram inputs of one sample set (the first seed's samples for a model). */
export interface SampleSummary {
  /** All pair distances r_ij. */
  pairDistances: number[];
  /** U of every configuration. */
  energies: number[];
}

/** What `particleExperiment` returns (plain JSON). */
export interface ParticleExperimentResult {
  key: string;
  config: ParticleExperimentConfig;
  /** The system's description, e.g. "5 particles, double well(...), k=0.5". */
  systemName: string;
  training: ChainSummary;
  reference: ChainSummary;
  /** W1 of `nSamples` training configurations against the reference: the sampling floor. */
  floor: { w1PairDistance: number; w1Energy: number };
  /** Parameter count per model kind. */
  parameters: Record<string, number>;
  /** Full runs (all training configurations) for every seed × kind, in that order. */
  runs: ParticleRun[];
  /** Data-efficiency runs (first seed) for every data size × kind. */
  dataEfficiency: ParticleRun[];
  /** Histogram inputs: the reference chain, and each kind's first-seed samples. */
  referenceSamples: SampleSummary;
  modelSamples: Record<string, SampleSummary>;
  /** Wall and process CPU seconds of the computation (CPU includes the worker threads). */
  wallSeconds: number;
  cpuSeconds: number;
  /** Worker threads used. */
  threads: number;
}

// ------------------------------------------------------------------------------------------------
// The experiment, cached

/** Options of `particleExperiment`. */
export interface ParticleExperimentOptions {
  /** Cache folder (default `defaultCacheDir()`, the trained weights' folder). */
  cacheDir?: string;
  /** Recompute even if cached (the file is replaced). */
  force?: boolean;
  /** Worker threads for the trainings (default: 2, or 1 on a one-core machine). */
  threads?: number;
  /** Show the progress bar (default true). */
  progress?: boolean;
  /** Say so when the result comes from the cache (default true). */
  cacheNote?: boolean;
  /** Stops the computation like Kernel → Interrupt. */
  signal?: AbortSignal;
}

// Results of this kernel, and computations in flight, by cache file.
const memo = new Map<string, ParticleExperimentResult>();
const inflight = new Map<string, Promise<ParticleExperimentResult>>();

/** The cache file of a configuration. */
export function particleExperimentFile(
  cfg: ParticleExperimentConfig,
  cacheDir: string = defaultCacheDir(),
): string {
  return path.join(cacheDir, `particles-${particleExperimentKey(cfg)}.json`);
}

/**
 * The whole experiment of notebook 07, computed once per configuration and then loaded from the
 * cache (and kept for the kernel's lifetime): MALA training and reference chains; every model of
 * `cfg.kinds` trained for every seed on all training configurations and, for the first seed, on
 * each of `dataSizes`; samples, W1 distances, Bingham statistics, equivariance error vs t and
 * the small-t score vs inverseTemperature·F.
 * @throws `Interrupted` on Kernel → Interrupt (nothing cached); naming the file, if the cache
 *   file is corrupt or holds something else
 */
export async function particleExperiment(
  cfg: ParticleExperimentConfig = defaultParticleExperimentConfig(),
  opts: ParticleExperimentOptions = {},
): Promise<ParticleExperimentResult> {
  validateParticleExperimentConfig(cfg);
  const { cacheDir = defaultCacheDir(), force = false, progress = true, cacheNote = true } = opts;
  const threads = opts.threads ?? Math.min(2, os.cpus().length);
  positiveInt("threads", threads);
  const key = particleExperimentKey(cfg);
  const file = particleExperimentFile(cfg, cacheDir);
  if (!force) {
    const kept = memo.get(`${file}`);
    if (kept) return kept;
    if (fs.existsSync(file)) {
      const result = readParticleExperiment(file, cfg);
      if (progress && cacheNote)
        showMarkdown(
          `Loaded the particle experiment from the cache (computed in ` +
            `${formatDuration(result.wallSeconds)}; key ${key}). Pass \`force: true\` to ` +
            `recompute.`,
        );
      memo.set(file, result);
      return result;
    }
  }
  // A cell started while another computes the same experiment (tslab runs cells concurrently
  // under Run All) waits for it instead of computing it twice.
  const running = inflight.get(file);
  if (running && !force) return running;
  const computing = computeExperiment(cfg, key, file, cacheDir, threads, progress, opts.signal);
  inflight.set(file, computing);
  try {
    return await computing;
  } finally {
    if (inflight.get(file) === computing) inflight.delete(file);
  }
}

async function computeExperiment(
  cfg: ParticleExperimentConfig,
  key: string,
  file: string,
  cacheDir: string,
  threads: number,
  progress: boolean,
  outer: AbortSignal | undefined,
): Promise<ParticleExperimentResult> {
  const jobs = particleJobsOf(cfg);
  const bar = progress
    ? new ProgressBar({ label: `particles: MALA + ${jobs.length} trainings` })
    : null;
  const steps = jobs.length + 1;
  bar?.update({ step: 0, steps });
  const result = await withInterrupt(async (signal) => {
    const wall0 = performance.now();
    const cpu0 = process.cpuUsage();
    const chains = runChains(cfg);
    bar?.update({ step: 1, steps });
    await new Promise((resolve) => setImmediate(resolve));
    if (signal.aborted) return null;
    const ctx: ParticleJobContext = {
      config: cfg,
      train: chains.train,
      reference: chains.reference,
    };
    const answers = await runParticleJobs(ctx, jobs, threads, signal, (done) =>
      bar?.update({ step: 1 + done, steps }),
    );
    if (answers === null) return null;
    const cpu = process.cpuUsage(cpu0);
    return assemble(cfg, key, chains, jobs, answers, {
      wallSeconds: (performance.now() - wall0) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      threads: Math.min(threads, jobs.length),
    });
  }, outer);
  if (result === null) {
    bar?.done("interrupted; nothing cached");
    throw new Interrupted("Particle experiment interrupted; nothing cached; re-run the cell.");
  }
  bar?.done();
  fs.mkdirSync(cacheDir, { recursive: true });
  atomicWriteFile(
    file,
    JSON.stringify({ format: FORMAT, version: VERSION_TAG, key, result }) + "\n",
  );
  memo.set(file, result);
  return result;
}

interface Chains {
  train: Float64Array;
  reference: Float64Array;
  trainSummary: ChainSummary;
  referenceSummary: ChainSummary;
}

function runChains(cfg: ParticleExperimentConfig): Chains {
  const system = particleSystem(cfg.system);
  const N = cfg.system.nParticles;
  const summarise = (r: ReturnType<typeof runMala>, c: MalaConfig): ChainSummary => {
    const axes = principalAxes(r.samples, N, 0);
    const z2 = new Float64Array(axes.length / 3).map((_, b) => axes[3 * b + 2] ** 2);
    const u = axialUniformity(axes);
    return {
      acceptanceRate: r.acceptanceRate,
      stepSize: r.stepSize,
      energyAutocorrelationTime: r.energyAutocorrelationTime,
      steps: r.energyTrace.length,
      thin: c.thin,
      nSamples: c.nSamples,
      orientationAutocorrelationTime: integratedAutocorrelationTime(z2),
      bingham: u.statistic,
      binghamP: u.pValue,
    };
  };
  const trainCfg = cfg.mala;
  const refCfg = { ...cfg.mala, nSamples: cfg.nReference, seed: cfg.mala.seed + 1 };
  const train = runMala(system, initialConfiguration(system, new Rng(trainCfg.seed)), trainCfg);
  const ref = runMala(system, initialConfiguration(system, new Rng(refCfg.seed)), refCfg);
  return {
    train: train.samples,
    reference: ref.samples,
    trainSummary: summarise(train, trainCfg),
    referenceSummary: summarise(ref, refCfg),
  };
}

function summary(system: ReturnType<typeof particleSystem>, x: Float64Array): SampleSummary {
  const N = system.config.nParticles;
  return {
    pairDistances: Array.from(pairDistances(x, N)),
    energies: Array.from(sampleEnergies(system, x, N)),
  };
}

function assemble(
  cfg: ParticleExperimentConfig,
  key: string,
  chains: Chains,
  jobs: ParticleJob[],
  answers: JobAnswer[],
  timing: { wallSeconds: number; cpuSeconds: number; threads: number },
): ParticleExperimentResult {
  const system = particleSystem(cfg.system);
  const N = cfg.system.nParticles;
  const sub = chains.train.subarray(0, cfg.nSamples * 3 * N);
  const modelSamples: Record<string, SampleSummary> = {};
  jobs.forEach((job, i) => {
    const s = answers[i].samples;
    if (job.full && job.seed === cfg.seeds[0] && s) modelSamples[job.kind] = summary(system, s);
  });
  return {
    key,
    config: cfg,
    systemName: system.name,
    training: chains.trainSummary,
    reference: chains.referenceSummary,
    floor: {
      w1PairDistance: pairDistanceW1(sub, chains.reference, N),
      w1Energy: wasserstein1(
        sampleEnergies(system, sub, N),
        sampleEnergies(system, chains.reference, N),
      ),
    },
    parameters: Object.fromEntries(
      cfg.kinds.map((k) => [k, particleParameterCount(initParticleModel(k, N, cfg.hidden[k], 0))]),
    ),
    runs: answers.filter((_, i) => jobs[i].full).map((a) => a.run),
    dataEfficiency: answers.filter((_, i) => !jobs[i].full).map((a) => a.run),
    referenceSamples: summary(system, chains.reference),
    modelSamples,
    ...timing,
  };
}

/**
 * Read and validate a cached result of `cfg` from `file`.
 * @throws naming the file and how to recover (delete it) if it is not valid JSON, not a particle
 *   experiment, of another configuration, or of the wrong shape
 */
export function readParticleExperiment(
  file: string,
  cfg: ParticleExperimentConfig,
): ParticleExperimentResult {
  const fail = (why: string): never => {
    throw new Error(
      `Cannot load the cached particle experiment "${file}": ${why}. Delete that file (or pass ` +
        `force: true) to compute it again.`,
    );
  };
  let doc: { format?: unknown; version?: unknown; key?: unknown; result?: unknown };
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return fail(`not valid JSON, the file is corrupt or truncated (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== "object") return fail("expected a JSON object");
  if (doc.format !== FORMAT)
    return fail(`format is ${JSON.stringify(doc.format)}, expected "${FORMAT}"`);
  if (doc.version !== VERSION_TAG)
    return fail(`version ${JSON.stringify(doc.version)}, expected "${VERSION_TAG}"`);
  const r = doc.result as ParticleExperimentResult;
  if (r === null || typeof r !== "object") return fail("the result is missing");
  if (canonicalJson(r.config) !== canonicalJson(cfg))
    return fail("it holds a different configuration than its key says");
  const problem = shapeProblem(r, cfg);
  if (problem) return fail(problem);
  return r;
}

const isNum = (v: unknown) => typeof v === "number" && !Number.isNaN(v);
const isNums = (v: unknown, n?: number) =>
  Array.isArray(v) && (n === undefined || v.length === n) && v.every(isNum);

/** What is wrong with the shape of a cached result, or null. */
function shapeProblem(r: ParticleExperimentResult, cfg: ParticleExperimentConfig): string | null {
  const chainKeys = [
    "acceptanceRate",
    "stepSize",
    "energyAutocorrelationTime",
    "orientationAutocorrelationTime",
    "bingham",
    "binghamP",
  ] as const;
  for (const c of ["training", "reference"] as const)
    for (const k of chainKeys) if (!isNum(r[c]?.[k])) return `${c}.${k} is not a number`;
  for (const k of ["wallSeconds", "cpuSeconds", "threads"] as const)
    if (!isNum(r[k])) return `${k} is not a number`;
  if (!isNum(r.floor?.w1PairDistance) || !isNum(r.floor?.w1Energy))
    return "floor is not {w1PairDistance, w1Energy}";
  const runShape = (list: unknown, n: number, full: boolean, what: string): string | null => {
    if (!Array.isArray(list) || list.length !== n) return `${what} does not hold ${n} runs`;
    for (const [i, run] of (list as ParticleRun[]).entries()) {
      if (run === null || typeof run !== "object" || !cfg.kinds.includes(run.kind))
        return `${what}[${i}] is not a run of a configured model`;
      for (const k of ["finalLoss", "w1PairDistance", "w1Energy", "bingham"] as const)
        if (!isNum(run[k])) return `${what}[${i}].${k} is not a number`;
      const nt = full ? cfg.equivarianceTimes.length : 0;
      if (!isNums(run.equivarianceMean, nt) || !isNums(run.equivarianceMax, nt))
        return `${what}[${i}].equivarianceMean/Max do not hold ${nt} numbers`;
      const ns = full ? cfg.smallTimes.length : 0;
      if (
        !Array.isArray(run.scoreForce) ||
        run.scoreForce.length !== ns ||
        !run.scoreForce.every((s) => isNum(s?.relativeError) && isNum(s?.cosine))
      )
        return `${what}[${i}].scoreForce does not hold ${ns} {relativeError, cosine}`;
    }
    return null;
  };
  const p =
    runShape(r.runs, cfg.seeds.length * cfg.kinds.length, true, "runs") ??
    runShape(r.dataEfficiency, cfg.dataSizes.length * cfg.kinds.length, false, "dataEfficiency");
  if (p) return p;
  const samples = (s: SampleSummary | undefined) =>
    s !== undefined && isNums(s.pairDistances) && isNums(s.energies);
  if (!samples(r.referenceSamples)) return "referenceSamples is not {pairDistances, energies}";
  for (const k of cfg.kinds)
    if (!samples(r.modelSamples?.[k])) return `modelSamples.${k} is not {pairDistances, energies}`;
  for (const k of cfg.kinds)
    if (!isNum(r.parameters?.[k])) return `parameters.${k} is not a number`;
  return null;
}
