/**
 * End to end without a notebook: train the score model (2d), sample with the reverse SDE (2e),
 * write the loss history and the samples to CSV files, and print how close the samples are to
 * the two moons.
 *
 *   npm run train-and-sample -- [--steps N] [--samples N] [--sampler-steps N] [--seed N]
 *                               [--engine auto|wasm-simd|tfjs] [--out DIR] [--force]
 *
 * Defaults are the sheet's (100 000 training steps, 1000 sampler steps). Trained weights go
 * through the same on-disk cache as the notebooks, so a second run with the same settings only
 * samples, and an interrupted run (Ctrl-C) resumes where it stopped.
 */
import * as fs from "fs";
import * as path from "path";
import {
  defaultSamplerConfig,
  defaultTrainConfig,
  energyDistance,
  fastestScoreFn,
  makeMoons,
  moonShares,
  sampleReverseSDE,
  selectBackend,
  trainCached,
} from "../src/index";

interface Args {
  steps: number;
  samples: number;
  samplerSteps: number;
  seed: number;
  engine: string;
  out: string;
  force: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    steps: defaultTrainConfig().steps,
    samples: 10_000,
    samplerSteps: defaultSamplerConfig().steps,
    seed: 0,
    engine: "auto",
    out: path.resolve(__dirname, "..", "build", "train-and-sample"),
    force: false,
  };
  const ints: Record<string, keyof Args> = {
    "--steps": "steps",
    "--samples": "samples",
    "--sampler-steps": "samplerSteps",
    "--seed": "seed",
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    if (flag in ints) {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0 || (flag !== "--seed" && v === 0))
        throw new RangeError(
          `Expected ${flag} to be a positive integer, but got ${flag}=${argv[i]}`,
        );
      (args as unknown as Record<string, number>)[ints[flag]] = v;
    } else if (flag === "--engine") args.engine = value();
    else if (flag === "--out") args.out = path.resolve(value());
    else if (flag === "--force") args.force = true;
    else
      throw new Error(`Unknown option ${argv[i]}; see the header of scripts/train-and-sample.ts`);
  }
  return args;
}

function writeCsv(file: string, header: string, rows: number, row: (i: number) => string): void {
  const lines = [header];
  for (let i = 0; i < rows; i++) lines.push(row(i));
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backend = await selectBackend();
  const cfg = { ...defaultTrainConfig(), steps: args.steps, seed: args.seed };
  console.log(
    `Training ${cfg.steps} steps (batch ${cfg.batchSize}, lr ${cfg.learningRate}, seed ${cfg.seed}); tfjs backend: ${backend}`,
  );

  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  const run = await trainCached(cfg, {
    engine: args.engine,
    force: args.force,
    signal: controller.signal,
  });
  if (run.aborted) {
    console.log(
      `Interrupted after ${run.steps} steps; the checkpoint is saved in ${run.file}. Run the same command to resume.`,
    );
    process.exitCode = 130;
    return;
  }
  console.log(
    run.fromCache
      ? `Loaded cached weights (${run.file}).`
      : `Trained in ${run.seconds.toFixed(1)} s on engine ${run.engine}.`,
  );

  const { score, engine } = fastestScoreFn(run.weights, cfg.model);
  const samplerCfg = {
    ...defaultSamplerConfig(),
    steps: args.samplerSteps,
    nSamples: args.samples,
    seed: args.seed + 1,
    schedule: cfg.schedule,
  };
  const t0 = Date.now();
  const { x } = sampleReverseSDE(score, samplerCfg);
  console.log(
    `Sampled ${args.samples} points with ${args.samplerSteps} Euler–Maruyama steps in ${((Date.now() - t0) / 1000).toFixed(1)} s (score on ${engine}).`,
  );

  // How close to the data? Energy distance to fresh two-moons data, beside the same distance
  // between two fresh data sets (the floor a perfect sampler would reach), and moon shares.
  const nMetric = Math.min(2000, args.samples);
  const fresh = (seed: number) => makeMoons(nMetric, { ...cfg.moons, seed }).x;
  const ours = x.subarray(0, 2 * nMetric);
  const ed = energyDistance(ours, fresh(1001));
  const floor = energyDistance(fresh(1002), fresh(1003));
  const shares = moonShares(x);

  fs.mkdirSync(args.out, { recursive: true });
  const lossFile = path.join(args.out, "loss.csv");
  const samplesFile = path.join(args.out, "samples.csv");
  const summaryFile = path.join(args.out, "summary.json");
  writeCsv(lossFile, "step,loss", run.lossHistory.length, (i) => `${i + 1},${run.lossHistory[i]}`);
  writeCsv(samplesFile, "x,y", args.samples, (i) => `${x[2 * i]},${x[2 * i + 1]}`);
  const summary = {
    trainSteps: run.steps,
    engine: run.engine,
    backend,
    samples: args.samples,
    samplerSteps: args.samplerSteps,
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
