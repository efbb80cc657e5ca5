/**
 * The configuration of notebook 07's particle experiment: one typed default per mode (full run,
 * quick mode) and its validation, with errors that name the bad field and value.
 */
import { rejectUnknownKeys } from "../core/config-keys";
import {
  MalaConfig,
  ParticleSystemConfig,
  defaultMalaConfig,
  defaultParticleSystem,
  validateMalaConfig,
  validateParticleSystem,
} from "../core/particles";
import {
  NoiseConfig,
  ParticleModelKind,
  defaultNoiseConfig,
  validateNoiseConfig,
} from "../core/particle-scores";

const KINDS: ParticleModelKind[] = ["mlp", "mlpRotationAugmented", "pairEnergy"];

/** The three model kinds, in the notebook's order. */
export const particleModelKinds: readonly ParticleModelKind[] = KINDS;

/** Short labels of the three models, as the tables and figures print them. */
export const particleModelLabels: Record<ParticleModelKind, string> = {
  mlp: "(1) MLP",
  mlpRotationAugmented: "(2) MLP + rotations",
  pairEnergy: "(3) pair energy",
};

/** Everything that determines a particle experiment (and its cache key). */
export interface ParticleExperimentConfig {
  /** True for the quick-mode sizes (shown in the tables' captions). */
  quick: boolean;
  /** The particle system: N, pair potential, confinement. */
  system: ParticleSystemConfig;
  /** The training chain; the held-out reference chain runs with `seed + 1` and `nReference`. */
  mala: MalaConfig;
  /** Held-out MALA configurations: the reference of every W1 (integer ≥ 1). */
  nReference: number;
  /** Model seeds (initial weights, batches; sampler seed 1000 + seed): ≥ 2 distinct integers. */
  seeds: number[];
  /** Which models, in order (default all three). */
  kinds: ParticleModelKind[];
  /** Hidden widths per model: the MLP's, or φ's for the pair energy. */
  hidden: Record<ParticleModelKind, number[]>;
  /** Adam steps, the same for every model (the budget). */
  steps: number;
  /** Configurations per Adam step, the same for every model. */
  batchSize: number;
  /** Adam's learning rate, the same for every model. */
  learningRate: number;
  /** Noise schedule β(t), tMin, σ clamp and σ_d, shared by training and sampling. */
  noise: NoiseConfig;
  /** Configurations drawn from each model (≤ mala.nSamples). */
  nSamples: number;
  /** Euler–Maruyama steps of the CoM-free reverse SDE. */
  samplerSteps: number;
  /** Smaller training sets for the data-efficiency runs (first seed only), each < nTrain. */
  dataSizes: number[];
  /** Times of the equivariance error, in (0, 1]. */
  equivarianceTimes: number[];
  /** Reference configurations noised to each time for the equivariance error. */
  equivarianceConfigs: number;
  /** Haar-random rotations per configuration. */
  rotationsPerConfig: number;
  /** Small times at which the score is compared with inverseTemperature · F, in (0, 1]. */
  smallTimes: number[];
  /** Clean reference configurations of that comparison. */
  scoreForceConfigs: number;
}

/**
 * The notebook's experiment: in full mode the sizes of bench/particles.ts (3 seeds, 1000 steps ×
 * batch 64, 2000 training and 1000 reference configurations, 250 samples by 150 steps, data sizes
 * 100 and 400); quick mode keeps 2 seeds and every code path with fewer steps and samples.
 */
export function defaultParticleExperimentConfig(quick = false): ParticleExperimentConfig {
  return {
    quick,
    system: defaultParticleSystem(),
    mala: { ...defaultMalaConfig(), nSamples: quick ? 1000 : 2000, seed: 11 },
    nReference: quick ? 500 : 1000,
    seeds: quick ? [0, 1] : [0, 1, 2],
    kinds: [...KINDS],
    hidden: {
      mlp: [64, 64], // the sheet's width
      mlpRotationAugmented: [64, 64],
      pairEnergy: [16, 16], // φ(r², τ) is a function of two numbers
    },
    steps: quick ? 200 : 1000, // ≈ 2.5 s of one core per model in full mode
    batchSize: 64,
    learningRate: 2e-3,
    noise: defaultNoiseConfig(),
    nSamples: quick ? 100 : 250,
    samplerSteps: quick ? 50 : 150,
    dataSizes: quick ? [100] : [100, 400],
    equivarianceTimes: [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1],
    equivarianceConfigs: 20,
    rotationsPerConfig: 2,
    smallTimes: [0.001, 0.01, 0.05],
    scoreForceConfigs: 200,
  };
}

const CONFIG_KEYS = Object.keys(defaultParticleExperimentConfig());

/** Throws (naming it) unless `v` is an integer ≥ 1. */
export function positiveInt(name: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 1)
    throw new RangeError(`Expected ${name} to be a positive integer, but got ${name}=${v}`);
}

function times(name: string, v: unknown): void {
  if (!Array.isArray(v) || v.length === 0 || !v.every((t) => t > 0 && t <= 1))
    throw new RangeError(
      `Expected ${name} to be a non-empty array of times in (0, 1], but got ` +
        `${name}=${JSON.stringify(v)}`,
    );
}

/** Throws (naming the bad field and its value) unless `cfg` is valid; returns it otherwise. */
export function validateParticleExperimentConfig(
  cfg: ParticleExperimentConfig,
): ParticleExperimentConfig {
  if (cfg === null || typeof cfg !== "object")
    throw new TypeError(`Expected a ParticleExperimentConfig object, but got ${cfg}`);
  rejectUnknownKeys(cfg, CONFIG_KEYS, "ParticleExperimentConfig");
  for (const k of CONFIG_KEYS)
    if (!(k in cfg)) throw new TypeError(`Missing key "${k}" in ParticleExperimentConfig`);
  validateParticleSystem(cfg.system);
  validateMalaConfig(cfg.mala);
  validateNoiseConfig(cfg.noise);
  const ints: [string, unknown][] = [
    ["nReference", cfg.nReference],
    ["steps", cfg.steps],
    ["batchSize", cfg.batchSize],
    ["nSamples", cfg.nSamples],
    ["samplerSteps", cfg.samplerSteps],
    ["equivarianceConfigs", cfg.equivarianceConfigs],
    ["rotationsPerConfig", cfg.rotationsPerConfig],
    ["scoreForceConfigs", cfg.scoreForceConfigs],
  ];
  for (const [name, v] of ints) positiveInt(name, v);
  if (
    !Array.isArray(cfg.seeds) ||
    cfg.seeds.length < 2 ||
    !cfg.seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32 - 1000) ||
    new Set(cfg.seeds).size !== cfg.seeds.length
  )
    throw new RangeError(
      `Expected seeds to hold at least 2 distinct integers in [0, 2^32 − 1000) (the tables ` +
        `report mean ± sd over seeds), but got seeds=${JSON.stringify(cfg.seeds)}`,
    );
  if (
    !Array.isArray(cfg.kinds) ||
    cfg.kinds.length === 0 ||
    !cfg.kinds.every((k) => KINDS.includes(k)) ||
    new Set(cfg.kinds).size !== cfg.kinds.length
  )
    throw new RangeError(
      `Expected kinds to be distinct of ${KINDS.map((k) => `"${k}"`).join(", ")}, but got ` +
        `kinds=${JSON.stringify(cfg.kinds)}`,
    );
  for (const k of cfg.kinds) {
    const h = cfg.hidden?.[k];
    if (!Array.isArray(h) || h.length === 0 || !h.every((w) => Number.isInteger(w) && w > 0))
      throw new RangeError(
        `Expected hidden.${k} to be a non-empty array of positive integers, but got ` +
          `hidden.${k}=${JSON.stringify(h)}`,
      );
  }
  if (!(cfg.learningRate > 0 && Number.isFinite(cfg.learningRate)))
    throw new RangeError(`Expected learningRate > 0, but got learningRate=${cfg.learningRate}`);
  const nTrain = cfg.mala.nSamples;
  if (
    !Array.isArray(cfg.dataSizes) ||
    !cfg.dataSizes.every((n) => Number.isInteger(n) && n >= 1 && n < nTrain)
  )
    throw new RangeError(
      `Expected dataSizes to be integers in [1, mala.nSamples = ${nTrain}), but got ` +
        `dataSizes=${JSON.stringify(cfg.dataSizes)}`,
    );
  if (cfg.nSamples > nTrain)
    throw new RangeError(
      `Expected nSamples <= mala.nSamples = ${nTrain} (the noise floor compares that many ` +
        `training configurations), but got nSamples=${cfg.nSamples}`,
    );
  for (const [name, n] of [
    ["equivarianceConfigs", cfg.equivarianceConfigs],
    ["scoreForceConfigs", cfg.scoreForceConfigs],
  ] as const)
    if (n > cfg.nReference)
      throw new RangeError(
        `Expected ${name} <= nReference = ${cfg.nReference}, but got ${name}=${n}`,
      );
  times("equivarianceTimes", cfg.equivarianceTimes);
  times("smallTimes", cfg.smallTimes);
  return cfg;
}
