/**
 * Learned scores of a small 3-D particle system (exercise 3, beyond paper): the pipeline once,
 * small sizes, one core. Prints figures; it is not a test.
 *
 *   node --import tsx bench/particles.ts            # ≈ 1 min
 *   node --import tsx bench/particles.ts --quick    # fewer steps and samples (a smoke run)
 *
 * 1. Boltzmann samples of the default system (5 particles, double-well pairs, confinement about the
 *    centre of mass) by MALA: acceptance, step, integrated autocorrelation time of U.
 * 2. Three score models (plain MLP, MLP + random rotations, pair energy), one DSM loop
 *    on the same configurations with the same steps and batch, for 3 seeds: training time, loss,
 *    equivariance error vs t, W1 of pair distances and of energies vs a held-out MALA chain,
 *    orientation uniformity of the longest principal axis, small-t score vs inverseTemperature · F.
 * 3. Data efficiency: W1 vs the number of training configurations.
 */
import { Rng } from "../src/core/random";
import {
  defaultMalaConfig,
  defaultParticleSystem,
  initialConfiguration,
  integratedAutocorrelationTime,
  particleSystem,
  runMala,
} from "../src/core/particles";
import {
  ParticleModelKind,
  defaultParticleSamplerConfig,
  defaultParticleTrainConfig,
  initParticleModel,
  particleParameterCount,
  particleScoreFn,
  sampleParticles,
  trainParticleModel,
} from "../src/core/particle-scores";
import {
  axialUniformity,
  equivarianceErrorVsT,
  histogram,
  pairDistanceW1,
  principalAxes,
  sampleEnergies,
  scoreForceAgreement,
  wasserstein1,
} from "../src/core/particle-metrics";

const quick = process.argv.includes("--quick");
const SEEDS = [0, 1, 2];
const STEPS = quick ? 200 : 1000; // the same for all three models
const BATCH = 64;
const N_TRAIN = 2000; // training configurations (MALA, thinned)
const N_REF = 1000; // held-out MALA configurations: the reference of every W1
const N_GEN = quick ? 100 : 250; // configurations drawn from each model
const SAMPLER_STEPS = quick ? 50 : 150;
const DATA_SIZES = quick ? [100] : [100, 400]; // plus N_TRAIN from the main runs
const EQUI_TIMES = [0.01, 0.1, 0.5, 1];
const SMALL_TIMES = [0.001, 0.01, 0.05];
const HIDDEN: Record<ParticleModelKind, number[]> = {
  mlp: [64, 64],
  mlpRotationAugmented: [64, 64],
  pairEnergy: [16, 16], // φ(r, τ) is a function of two numbers; the double backward costs ~3×
};
const KINDS: ParticleModelKind[] = ["mlp", "mlpRotationAugmented", "pairEnergy"];
const LABEL: Record<ParticleModelKind, string> = {
  mlp: "(1) MLP",
  mlpRotationAugmented: "(2) MLP+rot",
  pairEnergy: "(3) pair E",
};

const start = performance.now();
const sec = (t0: number) => (performance.now() - t0) / 1000;
// CPU seconds of this process: less disturbed than wall time by other jobs on a shared machine
const cpu = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};
const meanSd = (a: number[]) => {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, a.length - 1));
  return `${fmt(m)} ± ${fmt(sd)}`;
};
const fmt = (v: number) =>
  Math.abs(v) >= 0.01 && Math.abs(v) < 1000 ? v.toFixed(3) : v.toExponential(2);
const pad = (s: string, n: number) => s.padEnd(n);

// ---- 1. data ---------------------------------------------------------------------------------
const system = particleSystem(defaultParticleSystem());
const N = system.config.nParticles;
const inverseTemperature = defaultMalaConfig().inverseTemperature;
console.log(`system: ${system.name}; inverseTemperature = ${inverseTemperature}`);
let t0 = performance.now();
const train = runMala(system, initialConfiguration(system, new Rng(1)), {
  ...defaultMalaConfig(),
  nSamples: N_TRAIN,
  seed: 11,
});
const ref = runMala(system, initialConfiguration(system, new Rng(2)), {
  ...defaultMalaConfig(),
  nSamples: N_REF,
  seed: 12,
});
const malaSec = sec(t0);
for (const [name, r] of [
  ["training chain", train],
  ["reference chain", ref],
] as const) {
  const kept = r.energyTrace.length;
  console.log(
    `MALA ${name}: acceptance ${r.acceptanceRate.toFixed(3)}, step τ = ${fmt(r.stepSize)}, ` +
      `τ_int(U) = ${r.energyAutocorrelationTime.toFixed(1)} steps ` +
      `(thin ${defaultMalaConfig().thin}),` +
      ` ESS(U) ≈ ${Math.round(kept / r.energyAutocorrelationTime)} of ${kept} steps`,
  );
}
console.log(`MALA time: ${malaSec.toFixed(2)} s for both chains`);
const refEnergies = sampleEnergies(system, ref.samples, N);
const trainSub = train.samples.subarray(0, N_GEN * 3 * N);
console.log(
  `noise floor (${N_GEN} training configs vs reference): W1(pair r) = ` +
    `${fmt(pairDistanceW1(trainSub, ref.samples, N))}, W1(U) = ` +
    `${fmt(wasserstein1(sampleEnergies(system, trainSub, N), refEnergies))}`,
);
const refAxisSeries = principalAxes(ref.samples, N, 0)
  .filter((_, k) => k % 3 === 2)
  .map((z) => z * z);
const refAxes = axialUniformity(principalAxes(ref.samples, N, 0));
console.log(
  `orientation autocorrelation: τ_int of (longest axis)_z² over kept reference states = ` +
    `${integratedAutocorrelationTime(refAxisSeries).toFixed(2)} (1 = independent)`,
);
console.log(
  `orientation (longest principal axis), reference: Bingham S = ${refAxes.statistic.toFixed(2)}` +
    ` (χ²₅, p = ${refAxes.pValue.toFixed(3)})`,
);

// ---- 2. three models, three seeds ------------------------------------------------------------
interface Row {
  trainSec: number;
  trainCpu: number;
  sampleSec: number;
  loss: number;
  w1r: number;
  w1u: number;
  bingham: number;
  equi: number[];
  small: { relativeError: number; cosine: number }[];
  samples: Float64Array;
}
const rows: Record<ParticleModelKind, Row[]> = {
  mlp: [],
  mlpRotationAugmented: [],
  pairEnergy: [],
};

function runOne(kind: ParticleModelKind, data: Float64Array, seed: number, full: boolean): Row {
  const cfg = { ...defaultParticleTrainConfig(), steps: STEPS, batchSize: BATCH, seed };
  cfg.hidden = HIDDEN[kind];
  let t = performance.now();
  const c0 = cpu();
  const { model, losses } = trainParticleModel(kind, data, N, cfg);
  const trainSec = sec(t);
  const trainCpu = cpu() - c0;
  const score = particleScoreFn(model, cfg.noise);
  t = performance.now();
  const samples = sampleParticles(N, score, {
    ...defaultParticleSamplerConfig(),
    steps: SAMPLER_STEPS,
    nSamples: N_GEN,
    seed: 1000 + seed,
    noise: cfg.noise,
  });
  const sampleSec = sec(t);
  const tail = losses.subarray(Math.floor(0.8 * losses.length));
  const row: Row = {
    trainSec,
    trainCpu,
    sampleSec,
    loss: tail.reduce((s, v) => s + v, 0) / tail.length,
    w1r: pairDistanceW1(samples, ref.samples, N),
    w1u: wasserstein1(sampleEnergies(system, samples, N), refEnergies),
    bingham: axialUniformity(principalAxes(samples, N, 0)).statistic,
    equi: [],
    small: [],
    samples,
  };
  if (!full) return row;
  const probe = ref.samples.subarray(0, 20 * 3 * N);
  row.equi = equivarianceErrorVsT(
    score,
    probe,
    N,
    EQUI_TIMES,
    cfg.noise.schedule,
    new Rng(seed),
    2,
  ).map((e) => e.mean);
  const clean = ref.samples.subarray(0, 200 * 3 * N);
  row.small = SMALL_TIMES.map((ts) =>
    scoreForceAgreement(score, system, clean, N, ts, inverseTemperature),
  );
  return row;
}

for (const seed of SEEDS)
  for (const kind of KINDS) {
    const r = runOne(kind, train.samples, seed, true);
    rows[kind].push(r);
    console.log(
      `seed ${seed} ${pad(LABEL[kind], 12)} train ${r.trainSec.toFixed(2)} s wall, ` +
        `${r.trainCpu.toFixed(2)} s cpu (${((1000 * r.trainCpu) / STEPS).toFixed(2)} ms/step), ` +
        `sample ${r.sampleSec.toFixed(2)} s, ` +
        `W1(r) ${fmt(r.w1r)}`,
    );
  }

console.log(
  `\nmean ± sd over ${SEEDS.length} seeds; ${STEPS} steps × batch ${BATCH}, ${N_TRAIN} training ` +
    `configs, ${N_GEN} samples by ${SAMPLER_STEPS} EM steps, reference ${N_REF} MALA configs`,
);
for (const kind of KINDS) {
  const rs = rows[kind];
  const params = particleParameterCount(initParticleModel(kind, N, HIDDEN[kind], 0));
  console.log(
    `${pad(LABEL[kind], 12)} params ${params}, ` +
      `train ${meanSd(rs.map((r) => r.trainSec))} s wall, ` +
      `${meanSd(rs.map((r) => r.trainCpu))} s cpu, ` +
      `final loss ${meanSd(rs.map((r) => r.loss))}`,
  );
  console.log(
    `  W1(pair r) ${meanSd(rs.map((r) => r.w1r))}, W1(U) ${meanSd(rs.map((r) => r.w1u))}, ` +
      `Bingham S ${meanSd(rs.map((r) => r.bingham))} (uniform: χ²₅, 95% < 11.07)`,
  );
  console.log(
    `  equivariance error ‖s(Rx)−Rs(x)‖/‖s(x)‖ at t = ` +
      EQUI_TIMES.map((t, k) => `${t}: ${meanSd(rs.map((r) => r.equi[k]))}`).join(", "),
  );
  console.log(
    `  small t, s vs inverseTemperature·F: ` +
      SMALL_TIMES.map(
        (t, k) =>
          `t=${t}: rel.err ${meanSd(rs.map((r) => r.small[k].relativeError))}, ` +
          `cos ${meanSd(rs.map((r) => r.small[k].cosine))}`,
      ).join("; "),
  );
}

// energy histograms (seed 0) against the reference
const uLo = 0,
  uHi = 20,
  bins = 10;
const beyond = (u: Float64Array) => u.filter((v) => v >= uHi).length / u.length;
const hRef = histogram(refEnergies, uLo, uHi, bins).density;
console.log(`\nenergy histogram, density on ${bins} bins of [${uLo}, ${uHi}] (seed 0):`);
console.log(
  `  ${pad("MALA", 12)} ${Array.from(hRef, (v) => v.toFixed(3)).join(" ")}; ` +
    `beyond ${uHi}: ${beyond(refEnergies).toFixed(3)}`,
);
for (const kind of KINDS) {
  const u = sampleEnergies(system, rows[kind][0].samples, N);
  const h = histogram(u, uLo, uHi, bins).density;
  console.log(
    `  ${pad(LABEL[kind], 12)} ${Array.from(h, (v) => v.toFixed(3)).join(" ")}; ` +
      `beyond ${uHi}: ${beyond(u).toFixed(3)}`,
  );
}

// ---- 3. data efficiency -------------------------------------------------------------------------
console.log(
  `\ndata efficiency: W1(pair r) vs training configurations (seed 0; ${N_TRAIN} from above)`,
);
for (const kind of KINDS) {
  const cells = DATA_SIZES.map((n) => {
    const r = runOne(kind, train.samples.slice(0, n * 3 * N), 0, false);
    return `n=${n}: ${fmt(r.w1r)}`;
  });
  cells.push(`n=${N_TRAIN}: ${fmt(rows[kind][0].w1r)}`);
  console.log(`  ${pad(LABEL[kind], 12)} ${cells.join(", ")}`);
}
console.log(`\ntotal ${sec(start).toFixed(1)} s wall, ${cpu().toFixed(1)} s cpu`);
