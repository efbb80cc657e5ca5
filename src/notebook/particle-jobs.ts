/**
 * One training job of notebook 07's particle experiment — train a score model, sample it, measure
 * it — and the loop that runs a list of them on worker threads (or in-process), stoppable between
 * jobs. Each job is seeded, so its numbers do not depend on the thread that ran it.
 */
import * as path from "path";
import { Worker } from "worker_threads";
import { Rng } from "../core/random";
import { particleSystem } from "../core/particles";
import {
  ParticleModelKind,
  particleScoreFn,
  sampleParticles,
  trainParticleModel,
} from "../core/particle-scores";
import {
  axialUniformity,
  equivarianceErrorVsT,
  pairDistanceW1,
  principalAxes,
  sampleEnergies,
  scoreForceAgreement,
  wasserstein1,
} from "../core/particle-metrics";
import { ParticleExperimentConfig } from "./particle-config";

/** One model, one seed, one training set: what the experiment measured. */
export interface ParticleRun {
  kind: ParticleModelKind;
  seed: number;
  /** Training configurations used. */
  nData: number;
  /** Wall seconds of training and of sampling (on a worker thread). */
  trainSeconds: number;
  sampleSeconds: number;
  /** Mean DSM loss over the last 20 % of the steps. */
  finalLoss: number;
  /** W1 of the pair distances and of the energies U against the reference chain. */
  w1PairDistance: number;
  w1Energy: number;
  /** Bingham's S of the samples' longest principal axes. */
  bingham: number;
  /** Mean and max equivariance error at each `equivarianceTimes` (full runs only, else []). */
  equivarianceMean: number[];
  equivarianceMax: number[];
  /** Score vs inverseTemperature·F at each `smallTimes` (full runs only, else []). */
  scoreForce: { relativeError: number; cosine: number }[];
}

// ------------------------------------------------------------------------------------------------
// One training job (on a worker thread or in-process)

/** A training job: model, seed and number of training configurations. */
export interface ParticleJob {
  kind: ParticleModelKind;
  seed: number;
  nData: number;
  /** Also measure equivariance vs t and the small-t score (and keep the samples). */
  full: boolean;
}

/** What a job needs besides its own fields: the configuration and the two chains' samples. */
export interface ParticleJobContext {
  config: ParticleExperimentConfig;
  /** Training configurations, nTrain×N×3 row-major. */
  train: Float64Array;
  /** Reference configurations, nReference×N×3 row-major. */
  reference: Float64Array;
}

/**
 * Train one model, sample it and measure it (plain float64; seeded, so the same job gives the
 * same numbers on any thread). Used by `particleExperiment`'s worker threads.
 * @returns the run and, for full runs, the samples (nSamples×N×3)
 */
export function runParticleJob(
  ctx: ParticleJobContext,
  job: ParticleJob,
): { run: ParticleRun; samples: Float64Array | null } {
  const cfg = ctx.config;
  const system = particleSystem(cfg.system);
  const N = cfg.system.nParticles;
  const dim = 3 * N;
  const trainCfg = {
    ...initTrainDefaults(cfg),
    hidden: cfg.hidden[job.kind],
    seed: job.seed,
  };
  let t0 = performance.now();
  const { model, losses } = trainParticleModel(
    job.kind,
    ctx.train.subarray(0, job.nData * dim),
    N,
    trainCfg,
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  const score = particleScoreFn(model, cfg.noise);
  t0 = performance.now();
  const samples = sampleParticles(N, score, {
    steps: cfg.samplerSteps,
    nSamples: cfg.nSamples,
    seed: 1000 + job.seed,
    noise: cfg.noise,
  });
  const sampleSeconds = (performance.now() - t0) / 1000;
  const tail = losses.subarray(Math.floor(0.8 * losses.length));
  const run: ParticleRun = {
    kind: job.kind,
    seed: job.seed,
    nData: job.nData,
    trainSeconds,
    sampleSeconds,
    finalLoss: tail.reduce((s, v) => s + v, 0) / tail.length,
    w1PairDistance: pairDistanceW1(samples, ctx.reference, N),
    w1Energy: wasserstein1(
      sampleEnergies(system, samples, N),
      sampleEnergies(system, ctx.reference, N),
    ),
    bingham: axialUniformity(principalAxes(samples, N, 0)).statistic,
    equivarianceMean: [],
    equivarianceMax: [],
    scoreForce: [],
  };
  if (!job.full) return { run, samples: null };
  const equi = equivarianceErrorVsT(
    score,
    ctx.reference.subarray(0, cfg.equivarianceConfigs * dim),
    N,
    cfg.equivarianceTimes,
    cfg.noise.schedule,
    new Rng(job.seed),
    cfg.rotationsPerConfig,
  );
  run.equivarianceMean = equi.map((e) => e.mean);
  run.equivarianceMax = equi.map((e) => e.max);
  const clean = ctx.reference.subarray(0, cfg.scoreForceConfigs * dim);
  run.scoreForce = cfg.smallTimes.map((t) =>
    scoreForceAgreement(score, system, clean, N, t, cfg.mala.inverseTemperature),
  );
  return { run, samples };
}

function initTrainDefaults(cfg: ParticleExperimentConfig) {
  return {
    steps: cfg.steps,
    batchSize: cfg.batchSize,
    learningRate: cfg.learningRate,
    adamBeta1: 0.9,
    adamBeta2: 0.999,
    adamEpsilon: 1e-8,
    noise: cfg.noise,
  };
}

/** The experiment's jobs: every seed × kind on all data, then every data size × kind (seed 0). */
export function particleJobsOf(cfg: ParticleExperimentConfig): ParticleJob[] {
  const nTrain = cfg.mala.nSamples;
  const jobs: ParticleJob[] = [];
  for (const seed of cfg.seeds)
    for (const kind of cfg.kinds) jobs.push({ kind, seed, nData: nTrain, full: true });
  for (const nData of cfg.dataSizes)
    for (const kind of cfg.kinds) jobs.push({ kind, seed: cfg.seeds[0], nData, full: false });
  return jobs;
}

// ------------------------------------------------------------------------------------------------
// Worker threads

/** What a job returns: its run, and the samples of a full run. */
export type JobAnswer = { run: ParticleRun; samples: Float64Array | null };

/** A worker thread that loads this module and runs `runParticleJob` on each message. */
function startWorker(ctx: ParticleJobContext): Worker {
  const self = JSON.stringify(__filename);
  const load =
    path.extname(__filename) === ".ts"
      ? `require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).register(); `
      : "";
  const code =
    `const { parentPort, workerData } = require("worker_threads"); ${load}` +
    `const m = require(${self}); parentPort.on("message", (job) => { ` +
    `try { parentPort.postMessage({ ok: m.runParticleJob(workerData, job) }); } ` +
    `catch (e) { parentPort.postMessage({ error: String((e && e.stack) || e) }); } });`;
  return new Worker(code, { eval: true, workerData: ctx, execArgv: [] });
}

/**
 * Run `jobs` on `threads` worker threads (in-process when threads = 1), in any order; answers in
 * the jobs' order. Returns null if `signal` aborts (the workers are stopped at once).
 */
export async function runParticleJobs(
  ctx: ParticleJobContext,
  jobs: ParticleJob[],
  threads: number,
  signal: AbortSignal,
  onDone: (done: number) => void,
): Promise<JobAnswer[] | null> {
  const answers: JobAnswer[] = new Array(jobs.length);
  let done = 0;
  if (threads <= 1) {
    for (let i = 0; i < jobs.length; i++) {
      await new Promise((resolve) => setImmediate(resolve)); // let Kernel → Interrupt through
      if (signal.aborted) return null;
      answers[i] = runParticleJob(ctx, jobs[i]);
      onDone(++done);
    }
    return answers;
  }
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () => startWorker(ctx));
  let next = 0;
  try {
    return await new Promise<JobAnswer[] | null>((resolve, reject) => {
      const stop = () => resolve(null);
      if (signal.aborted) return stop();
      signal.addEventListener("abort", stop, { once: true });
      const feed = (w: Worker) => {
        if (next >= jobs.length) return;
        const i = next++;
        w.once("message", (msg: { ok?: JobAnswer; error?: string }) => {
          if (msg.error !== undefined)
            return reject(new Error(`Training job failed: ${msg.error}`));
          answers[i] = msg.ok!;
          onDone(++done);
          if (done === jobs.length) return resolve(answers);
          if (!signal.aborted) feed(w);
        });
        w.postMessage(jobs[i]);
      };
      for (const w of workers) {
        w.on("error", reject);
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
