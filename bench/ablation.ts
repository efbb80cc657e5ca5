/**
 * Ablation of the training variants (issue: "known training choices do much better"): trains the
 * sheet's recipe and each variant alone and in combinations, for several training seeds, samples
 * each trained model with the sheet's reverse-SDE sampler (Euler–Maruyama, 1000 steps; with the
 * EMA weights where the run keeps an average) and prints a table: training time (wall and CPU),
 * the share of samples within 0.15 of a moon arc (`moonShares`) and the energy distance to fresh
 * reference data (`energyDistance`), beside the energy distance a perfect sampler reaches (i.i.d.
 * draws from the data distribution against the same number of reference points). Prints figures;
 * it is not a test.
 *
 *   node --import tsx bench/ablation.ts [--only a,b] [--seeds 0,1] [--sampling-seeds 1]
 *                                       [--samples 5000] [--steps N] [--out FILE.jsonl]
 *
 * `--only` takes names from the table (`--list` prints them); `--steps` overrides every run's
 * steps; `--out` appends one JSON line per run (to merge runs made by several processes).
 * Other hidden widths ([h, h], h a multiple of 4 up to 256) train on the same wasm kernel; they
 * get about the same time budget (≈ 60 s here), not the same steps (see `variants`).
 */
import * as fs from "fs";
import * as os from "os";
import { selectBackend } from "../src/engines/backend";
import { engineFactory, trainedScoreFn } from "../src/engines";
import { iidMoons, makeMoons } from "../src/core/moons";
import { defaultSamplerConfig, sampleReverseSDE } from "../src/core/sampler";
import { TrainConfig, defaultTrainConfig, train } from "../src/core/train";
import { recipes } from "../src/core/recipes";
import { energyDistance, moonShares } from "../src/notebook/metrics";

const sheet = defaultTrainConfig();
const fourier = { kind: "fourier", frequencies: 6, maxFrequency: 16 } as const;
const cosine = { kind: "cosine", warmupSteps: 1000, minFactor: 0.01 } as const;
const linear = { kind: "linear", warmupSteps: 1000, minFactor: 0.01 } as const;
const fourier64 = { kind: "fourier", frequencies: 8, maxFrequency: 64 } as const;
/** The ε-network with the σ²-weighted loss and an EMA: the base of the later combinations. */
const epsBase = { parameterization: "eps", weighting: "sigma2", ema: 0.999 } as const;

/** The runs, by name: overrides of the sheet's config (steps stay the sheet's 100k unless set). */
const variants: Record<string, Partial<TrainConfig>> = {
  sheet: {},
  // one choice at a time
  eps: { parameterization: "eps" },
  sigma2: { weighting: "sigma2" },
  "eps+sigma2": { parameterization: "eps", weighting: "sigma2" },
  likelihood: { weighting: "likelihood" },
  fourier: { model: { ...sheet.model, timeEmbedding: fourier } },
  ema: { ema: 0.999 },
  cosine: { lrSchedule: cosine },
  linear: { lrSchedule: linear },
  // wasm, ≈ 60 s each here: a wider network fits fewer steps in the budget
  h128: { model: { ...sheet.model, hidden: [128, 128] }, steps: 60_000 },
  "sheet@2.5k": { steps: 2500 },
  // combinations
  "ema+cosine": { ema: 0.999, lrSchedule: cosine },
  "sigma2+ema+cosine": { weighting: "sigma2", ema: 0.999, lrSchedule: cosine },
  "eps+sigma2+ema": { parameterization: "eps", weighting: "sigma2", ema: 0.999 },
  // the best combination, narrower and longer in about the same time: [48, 48], 185k steps
  "best@h48-185k": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    model: { ...sheet.model, hidden: [48, 48], timeEmbedding: fourier },
    steps: 185_000,
  },
  "eps+sigma2+cosine": { parameterization: "eps", weighting: "sigma2", lrSchedule: cosine },
  "eps+sigma2+ema+cosine": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    lrSchedule: cosine,
  },
  "eps+sigma2+fourier": {
    parameterization: "eps",
    weighting: "sigma2",
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  "eps+sigma2+ema+fourier": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  "eps+sigma2+ema+b512": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    batchSize: 512,
    steps: 50_000,
  },
  // a higher step size, decayed: at 100k steps the sheet's network is still learning
  "eps+sigma2+ema+lr3e-3+cosine": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    learningRate: 3e-3,
    lrSchedule: cosine,
  },
  "eps+sigma2+ema+lr2e-3": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    learningRate: 2e-3,
  },
  "eps+sigma2+ema+fourier+lr3e-3+cosine": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    learningRate: 3e-3,
    lrSchedule: cosine,
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  "eps+sigma2+ema+fourier+lr2e-3": {
    ...epsBase,
    learningRate: 2e-3,
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  "eps+sigma2+ema+fourier64+lr2e-3": {
    ...epsBase,
    learningRate: 2e-3,
    model: { ...sheet.model, timeEmbedding: fourier64 },
  },
  "eps+sigma2+ema.9999+fourier+lr2e-3": {
    ...epsBase,
    ema: 0.9999,
    learningRate: 2e-3,
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  "eps+sigma2+ema+fourier+lr2e-3+b512@60k": {
    ...epsBase,
    learningRate: 2e-3,
    batchSize: 512,
    steps: 60_000,
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  "eps+sigma2+ema+cosine+fourier": {
    parameterization: "eps",
    weighting: "sigma2",
    ema: 0.999,
    lrSchedule: cosine,
    model: { ...sheet.model, timeEmbedding: fourier },
  },
  best: {}, // recipes.best, as shipped
};

function parseArgs(argv: string[]) {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const ints = (s: string | undefined, d: number[]) =>
    s === undefined ? d : s.split(",").map((x) => Number(x));
  const only = get("--only")?.split(",") ?? Object.keys(variants);
  for (const name of only)
    if (!(name in variants))
      throw new RangeError(
        `Expected --only to name runs of ${Object.keys(variants).join(", ")}, but got ${name}`,
      );
  return {
    only,
    seeds: ints(get("--seeds"), [0, 1]),
    samplingSeeds: ints(get("--sampling-seeds"), [1]),
    samples: Number(get("--samples") ?? 5000),
    steps: get("--steps") === undefined ? undefined : Number(get("--steps")),
    out: get("--out"),
    list: argv.includes("--list"),
  };
}

/** Seeds of the reference data sets the samples are compared with (one per sampling seed). */
const REFERENCE_SEED = 50_000;

interface Row {
  name: string;
  seed: number;
  engine: string;
  steps: number;
  trainWallS: number;
  trainCpuS: number;
  onArc: number;
  energy: number;
  energies: number[];
  finalLoss: number;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

async function run(name: string, seed: number, args: ReturnType<typeof parseArgs>): Promise<Row> {
  const base = name === "best" ? recipes.best() : { ...sheet, ...variants[name] };
  const cfg: TrainConfig = { ...base, seed, ...(args.steps ? { steps: args.steps } : {}) };
  const c0 = process.cpuUsage();
  const r = await train(cfg, { engine: engineFactory("auto").factory, checkpointEvery: 0 });
  const cpu = process.cpuUsage(c0);
  const weights = r.emaWeights ?? r.weights;
  const { score } = trainedScoreFn(weights, cfg);
  const onArc: number[] = [];
  const energies: number[] = [];
  for (const s of args.samplingSeeds) {
    const sampler = {
      ...defaultSamplerConfig(),
      nSamples: args.samples,
      seed: 1000 * seed + s,
      schedule: cfg.schedule,
      tMin: cfg.loss.tMin,
    };
    const { x } = sampleReverseSDE(score, sampler);
    const sh = moonShares(x);
    onArc.push(sh.outer + sh.inner);
    const ref = makeMoons(args.samples, { ...cfg.moons, seed: REFERENCE_SEED + s }).x;
    energies.push(energyDistance(x, ref));
  }
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((p, q) => p + q, 0) / a.length;
  return {
    name,
    seed,
    engine: r.engine,
    steps: r.steps,
    trainWallS: r.seconds,
    trainCpuS: (cpu.user + cpu.system) / 1e6,
    onArc: mean(onArc),
    energy: mean(energies),
    energies,
    finalLoss: mean(r.lossHistory.subarray(-1000)),
  };
}

/** Energy distance of i.i.d. data draws against the reference sets: what a perfect sampler gets. */
function floor(args: ReturnType<typeof parseArgs>): { mean: number; sd: number; n: number } {
  const e: number[] = [];
  for (let k = 0; k < 5; k++)
    for (const s of args.samplingSeeds) {
      const draw = iidMoons(args.samples, sheet.moons.noise, 70_000 + 100 * k + s);
      const ref = makeMoons(args.samples, { ...sheet.moons, seed: REFERENCE_SEED + s }).x;
      e.push(energyDistance(draw, ref));
    }
  const m = e.reduce((a, b) => a + b, 0) / e.length;
  const sd = Math.sqrt(e.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(e.length - 1, 1));
  return { mean: m, sd, n: e.length };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const [k, v] of Object.entries(variants)) console.log(`${k}\t${JSON.stringify(v)}`);
    return;
  }
  await selectBackend();
  console.log(
    `# Ablation: ${args.only.length} runs × seeds ${args.seeds.join(",")}; ` +
      `${args.samples} samples ` +
      `× sampling seeds ${args.samplingSeeds.join(",")}; Node ${process.version}, ` +
      `${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}, ` +
      `DIFFUSION_WASM_THREADS=${process.env.DIFFUSION_WASM_THREADS ?? "(auto)"}`,
  );
  const f = floor(args);
  console.log(
    `perfect-sampler floor: energy distance ${f.mean.toFixed(5)} ± ${f.sd.toFixed(5)} ` +
      `(${f.n} i.i.d. draws of ${args.samples} vs the reference sets)`,
  );
  console.log(
    `| run | seed | engine | steps | train wall s | train CPU s | on arc | energy | loss |`,
  );
  console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  const rows: Row[] = [];
  for (const name of args.only)
    for (const seed of args.seeds) {
      const r = await run(name, seed, args);
      rows.push(r);
      console.log(
        `| ${r.name} | ${r.seed} | ${r.engine} | ${r.steps} | ${r.trainWallS.toFixed(1)} | ` +
          `${r.trainCpuS.toFixed(1)} | ${pct(r.onArc)} | ${r.energy.toFixed(5)} | ` +
          `${r.finalLoss.toFixed(4)} |`,
      );
      if (args.out) fs.appendFileSync(args.out, JSON.stringify({ ...r, floor: f }) + "\n");
    }
  console.log(`\n| run | seeds | on arc (mean) | energy (mean) | train wall s (mean) |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const name of args.only) {
    const rs = rows.filter((r) => r.name === name);
    const m = (k: "onArc" | "energy" | "trainWallS") =>
      rs.reduce((a, r) => a + r[k], 0) / rs.length;
    console.log(
      `| ${name} | ${rs.length} | ${pct(m("onArc"))} | ${m("energy").toFixed(5)} | ` +
        `${m("trainWallS").toFixed(1)} |`,
    );
  }
  process.exit(0);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
