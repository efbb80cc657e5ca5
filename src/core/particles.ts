/**
 * A small 3-D particle system for exercise 3's learned scores, and Boltzmann samples of it.
 *
 *   U(x) = Σ_{i<j} u(r_ij) + k Σ_i ‖x_i − x̄‖²,   p(x) ∝ exp(−inverseTemperature · U(x))
 *
 * u is a pair potential (a quartic double well by default, or Lennard-Jones); the confinement
 * k Σ‖x_i − x̄‖² = (k/N) Σ_{i<j} r_ij² holds the cluster together about its own centre of mass, so
 * U is invariant under rotations and translations (a box or a tether to a fixed point would break
 * both). U does not depend on x̄, so exp(−κU) cannot be normalised along it: p is taken on the
 * centre-of-mass-free subspace Σ_i x_i = 0, where the chain below runs. The inverse temperature
 * κ = 1/(k_B T) is named `inverseTemperature` throughout; `beta` is the noise rate β(t) of sde.ts.
 *  Conventions as in `equivariance.ts`: a configuration is N×3 row-major (Float64Array, length 3N);
 * a set of configurations is nConfigs×3N row-major.
 */
import { Rng } from "./random";
import { makeCluster } from "./equivariance";
import { projectComFree } from "./com-free";

/** Quartic double well u(r) = height · (((r − center)/halfWidth)² − 1)², minima at center ± w. */
export interface DoubleWellPair {
  kind: "doubleWell";
  /** Barrier height at r = center (energy units, > 0). */
  height: number;
  /** Position of the barrier (length units, > halfWidth). */
  center: number;
  /** Half the distance between the two minima (length units, > 0). */
  halfWidth: number;
}

/** Lennard-Jones u(r) = 4ε[(σ/r)¹² − (σ/r)⁶], minimum −ε at r = 2^{1/6}σ. */
export interface LennardJonesPair {
  kind: "lennardJones";
  /** Well depth ε > 0. */
  epsilon: number;
  /** Length σ > 0 where u(σ) = 0. */
  sigma: number;
}

/** The pair potential u(r_ij) of the system. */
export type PairPotential = DoubleWellPair | LennardJonesPair;

/** A particle system: N identical particles, a pair potential and the invariant confinement. */
export interface ParticleSystemConfig {
  /** Number of particles N (integer ≥ 2). */
  nParticles: number;
  /** Pair potential u(r). */
  pair: PairPotential;
  /** Confinement strength k ≥ 0 of k Σ_i ‖x_i − x̄‖² (energy / length²). */
  confinement: number;
}

/** The default: 5 particles, a double well with minima at r = 1 and r = 2.2, k = 0.5. */
export function defaultParticleSystem(): ParticleSystemConfig {
  return {
    nParticles: 5, // 10 pairs: small enough to train three models in seconds on one core
    // barrier 1 (1 kT at inverseTemperature 1): both wells populated, MALA mixes; curvature 8h/w²
    // ≈ 22 at the minima (well width ≈ 0.2). Smooth at r = 0 (unlike Lennard-Jones). Height 2 and
    // half-width 0.5 (curvature 64) were too sharp for a few seconds of training: sampled
    // energies came out ~5× further from MALA's
    pair: { kind: "doubleWell", height: 1, center: 1.6, halfWidth: 0.6 },
    confinement: 0.5, // keeps the 5 particles within ~1.5 of their centre: data at unit scale
  };
}

/** An energy in float64 with analytic forces; what the chain samples. */
export interface EnergyFunction {
  /** U(x); x is N×3 row-major. */
  energy(x: Float64Array): number;
  /** F = −∇U(x), N×3 row-major (a new array). */
  forces(x: Float64Array): Float64Array;
}

/** A particle system ready to use: its energy, forces and the configuration it came from. */
export interface ParticleSystem extends EnergyFunction {
  config: ParticleSystemConfig;
  /** Short description, e.g. "5 particles, double well(h=1, c=1.6, w=0.6), k=0.5". */
  name: string;
  /** The pair distance of the lowest pair energy (the inner well of the double well). */
  pairMinimum: number;
}

function checkPositive(name: string, v: number): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
    throw new RangeError(`Expected ${name} to be a positive finite number, but got ${name}=${v}`);
}

/** Throws (naming the bad field) unless the configuration is valid; returns it otherwise. */
export function validateParticleSystem(cfg: ParticleSystemConfig): ParticleSystemConfig {
  if (!Number.isInteger(cfg.nParticles) || cfg.nParticles < 2)
    throw new RangeError(
      `Expected nParticles to be an integer >= 2, but got nParticles=${cfg.nParticles}`,
    );
  if (!Number.isFinite(cfg.confinement) || cfg.confinement < 0)
    throw new RangeError(`Expected confinement >= 0, but got confinement=${cfg.confinement}`);
  const p = cfg.pair;
  if (p.kind === "doubleWell") {
    checkPositive("height", p.height);
    checkPositive("halfWidth", p.halfWidth);
    checkPositive("center", p.center);
  } else if (p.kind === "lennardJones") {
    checkPositive("epsilon", p.epsilon);
    checkPositive("sigma", p.sigma);
  } else {
    throw new RangeError(`Expected pair.kind "doubleWell" or "lennardJones", but got ${p}`);
  }
  return cfg;
}

/** u(r) and du/dr of a pair potential at distance r > 0. */
export function pairEnergy(p: PairPotential, r: number): { u: number; du: number } {
  if (p.kind === "doubleWell") {
    const s = (r - p.center) / p.halfWidth;
    const q = s * s - 1;
    return { u: p.height * q * q, du: (4 * p.height * q * s) / p.halfWidth };
  }
  const sr6 = Math.pow(p.sigma / r, 6);
  return {
    u: 4 * p.epsilon * (sr6 * sr6 - sr6),
    du: (-24 * p.epsilon * (2 * sr6 * sr6 - sr6)) / r,
  };
}

/** Build a particle system: U(x) = Σ_{i<j} u(r_ij) + k Σ_i ‖x_i − x̄‖², F = −∇U, both float64. */
export function particleSystem(
  config: ParticleSystemConfig = defaultParticleSystem(),
): ParticleSystem {
  const cfg = validateParticleSystem(config);
  const n = cfg.nParticles;
  const k = cfg.confinement;
  const p = cfg.pair;
  const check = (x: Float64Array) => {
    if (x.length !== 3 * n)
      throw new RangeError(`Expected x to hold ${n}×3 = ${3 * n} numbers, but got ${x.length}`);
  };
  const energy = (x: Float64Array): number => {
    check(x);
    let u = 0;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const dx = x[3 * i] - x[3 * j],
          dy = x[3 * i + 1] - x[3 * j + 1],
          dz = x[3 * i + 2] - x[3 * j + 2];
        u += pairEnergy(p, Math.sqrt(dx * dx + dy * dy + dz * dz)).u;
      }
    const c = centerOfMass(x);
    for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) u += k * (x[3 * i + d] - c[d]) ** 2;
    return u;
  };
  const forces = (x: Float64Array): Float64Array => {
    check(x);
    const f = new Float64Array(3 * n);
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const dx = x[3 * i] - x[3 * j],
          dy = x[3 * i + 1] - x[3 * j + 1],
          dz = x[3 * i + 2] - x[3 * j + 2];
        const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
        const g = -pairEnergy(p, r).du / r; // F_i += g (x_i − x_j), F_j −= the same
        f[3 * i] += g * dx;
        f[3 * i + 1] += g * dy;
        f[3 * i + 2] += g * dz;
        f[3 * j] -= g * dx;
        f[3 * j + 1] -= g * dy;
        f[3 * j + 2] -= g * dz;
      }
    // ∂/∂x_i of k Σ_j ‖x_j − x̄‖² is 2k(x_i − x̄): the x̄-terms cancel because Σ_j (x_j − x̄) = 0
    const c = centerOfMass(x);
    for (let i = 0; i < n; i++)
      for (let d = 0; d < 3; d++) f[3 * i + d] -= 2 * k * (x[3 * i + d] - c[d]);
    return f;
  };
  const pairName =
    p.kind === "doubleWell"
      ? `double well(h=${p.height}, c=${p.center}, w=${p.halfWidth})`
      : `Lennard-Jones(eps=${p.epsilon}, sigma=${p.sigma})`;
  return {
    config: cfg,
    name: `${n} particles, ${pairName}, k=${k}`,
    pairMinimum: p.kind === "doubleWell" ? p.center - p.halfWidth : Math.pow(2, 1 / 6) * p.sigma,
    energy,
    forces,
  };
}

/** Centre of mass x̄ = (1/N) Σ_i x_i of one N×3 configuration (equal masses). */
export function centerOfMass(x: ArrayLike<number>): [number, number, number] {
  const n = x.length / 3;
  const c: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) c[d] += x[3 * i + d];
  return [c[0] / n, c[1] / n, c[2] / n];
}

/**
 * Subtract each configuration's centre of mass. x is nConfigs×3N row-major (one configuration is
 * nConfigs = 1); returns a new Float64Array with Σ_i x_i = 0 in every configuration.
 */
export function removeCenterOfMass(x: ArrayLike<number>, nParticles: number): Float64Array {
  return projectComFree(x, nParticles);
}

/**
 * A starting configuration: the first N sites of a cubic lattice at the pair minimum, jittered by
 * 0.05 of it, centre of mass removed. N×3 row-major.
 */
export function initialConfiguration(system: ParticleSystem, rng: Rng): Float64Array {
  const spacing = system.pairMinimum;
  const x = makeCluster(rng, { nAtoms: system.config.nParticles, spacing, jitter: 0.05 * spacing });
  return removeCenterOfMass(x, system.config.nParticles);
}

/** Settings of the Metropolis-adjusted Langevin chain. */
export interface MalaConfig {
  /** Inverse temperature 1/(k_B T) > 0 of p ∝ exp(−inverseTemperature · U). */
  inverseTemperature: number;
  /** Langevin step τ > 0: proposal y = x + τ ∇log p(x) + √(2τ) ξ. Initial value if adapted. */
  stepSize: number;
  /** Steps before the first kept sample (integer ≥ 0). */
  burnIn: number;
  /** Keep every `thin`-th state after burn-in (integer ≥ 1). */
  thin: number;
  /** Number of kept states (integer ≥ 1); the chain runs burnIn + nSamples·thin steps. */
  nSamples: number;
  /** Adapt τ during burn-in toward `targetAcceptance` (then freeze it: the kept chain is exact). */
  adaptStepSize: boolean;
  /** Target acceptance rate of the adaptation, in (0, 1); 0.574 is optimal for MALA. */
  targetAcceptance: number;
  /**
   * Project the proposal noise onto Σ_i ξ_i = 0 (the chain then stays centre-of-mass free): needed
   * for translation-invariant energies, whose density is not normalisable in the CoM direction.
   */
  comFree: boolean;
  /** Seed of the chain's Rng. */
  seed: number;
}

/** Defaults for the default particle system at inverseTemperature 1. */
export function defaultMalaConfig(): MalaConfig {
  return {
    inverseTemperature: 1, // kT = 1 in the energy unit of the pair potential
    stepSize: 0.01, // initial τ; adapted during burn-in
    burnIn: 5000, // several autocorrelation times (τ_int of U ≈ 10–30 steps here)
    // τ_int of U is ≈ 15–20 steps, but the orientation of the cluster decorrelates by rotational
    // diffusion, several times slower (bench/particles.ts measures both)
    thin: 100,
    nSamples: 2000,
    adaptStepSize: true,
    targetAcceptance: 0.574, // Roberts & Rosenthal (1998): optimal MALA acceptance
    comFree: true,
    seed: 0,
  };
}

/** What a chain returns. */
export interface MalaResult {
  /** Kept states, nSamples×dim row-major (dim = x0.length). */
  samples: Float64Array;
  /** U at every step after burn-in (length nSamples·thin), for autocorrelation checks. */
  energyTrace: Float64Array;
  /** Accepted fraction of the proposals after burn-in, in [0, 1]. */
  acceptanceRate: number;
  /** The (frozen) step size τ used after burn-in. */
  stepSize: number;
  /** Integrated autocorrelation time of `energyTrace`, in steps (≥ ~1; 1 = independent). */
  energyAutocorrelationTime: number;
}

/**
 * Sample p(x) ∝ exp(−inverseTemperature · U(x)) by MALA: propose y = x + τ κ F(x) + √(2τ) ξ
 * (κ = inverseTemperature, ξ ~ N(0, I), projected CoM-free if `comFree`), accept with probability
 * min(1, p(y) q(x|y) / (p(x) q(y|x))), q(y|x) ∝ exp(−‖y − x − τκF(x)‖² / 4τ).
 * @param x0 the start, any length (N×3 for particles; with `comFree` its CoM is removed first)
 */
export function runMala(target: EnergyFunction, x0: Float64Array, config: MalaConfig): MalaResult {
  const cfg = validateMalaConfig(config);
  if (cfg.comFree && x0.length % 3 !== 0)
    throw new RangeError(`Expected x0 to hold N×3 numbers with comFree, got length ${x0.length}`);
  const rng = new Rng(cfg.seed);
  const kappa = cfg.inverseTemperature;
  const dim = x0.length;
  let x = cfg.comFree ? removeCenterOfMass(x0, dim / 3) : Float64Array.from(x0);
  let u = target.energy(x);
  let f = target.forces(x);
  if (!Number.isFinite(u)) throw new RangeError(`Expected a finite U(x0), but got ${u}`);
  let tau = cfg.stepSize;
  const nKept = cfg.nSamples * cfg.thin;
  const samples = new Float64Array(cfg.nSamples * dim);
  const energyTrace = new Float64Array(nKept);
  const xi = new Float64Array(dim);
  let accepted = 0;
  for (let step = 0; step < cfg.burnIn + nKept; step++) {
    for (let k = 0; k < dim; k++) xi[k] = rng.normal();
    if (cfg.comFree) projectComFree(xi, dim / 3, xi);
    const s = Math.sqrt(2 * tau);
    const y = new Float64Array(dim);
    for (let k = 0; k < dim; k++) y[k] = x[k] + tau * kappa * f[k] + s * xi[k];
    const uy = target.energy(y);
    let logRatio = -Infinity;
    let fy: Float64Array | null = null;
    if (Number.isFinite(uy)) {
      fy = target.forces(y);
      // log q(x|y) − log q(y|x); ‖y − x − τκF(x)‖² = 2τ‖ξ‖²
      let back = 0,
        fwd = 0;
      for (let k = 0; k < dim; k++) {
        const b = x[k] - y[k] - tau * kappa * fy[k];
        back += b * b;
        fwd += s * s * xi[k] * xi[k];
      }
      logRatio = -kappa * (uy - u) - (back - fwd) / (4 * tau);
    }
    const accept = Math.log(rng.uniform()) < logRatio;
    if (accept && fy) {
      x = y;
      u = uy;
      f = fy;
    }
    if (step < cfg.burnIn) {
      if (cfg.adaptStepSize) tau *= Math.exp(0.02 * ((accept ? 1 : 0) - cfg.targetAcceptance));
      continue;
    }
    const k = step - cfg.burnIn;
    if (accept) accepted++;
    energyTrace[k] = u;
    if ((k + 1) % cfg.thin === 0) samples.set(x, ((k + 1) / cfg.thin - 1) * dim);
  }
  return {
    samples,
    energyTrace,
    acceptanceRate: accepted / nKept,
    stepSize: tau,
    energyAutocorrelationTime: integratedAutocorrelationTime(energyTrace),
  };
}

/** Throws (naming the bad field) unless the chain settings are valid; returns them otherwise. */
export function validateMalaConfig(cfg: MalaConfig): MalaConfig {
  checkPositive("inverseTemperature", cfg.inverseTemperature);
  checkPositive("stepSize", cfg.stepSize);
  const ints: [string, number, number][] = [
    ["burnIn", cfg.burnIn, 0],
    ["thin", cfg.thin, 1],
    ["nSamples", cfg.nSamples, 1],
  ];
  for (const [name, v, min] of ints)
    if (!Number.isInteger(v) || v < min)
      throw new RangeError(`Expected ${name} to be an integer >= ${min}, but got ${name}=${v}`);
  if (!(cfg.targetAcceptance > 0 && cfg.targetAcceptance < 1))
    throw new RangeError(
      `Expected targetAcceptance in (0, 1), but got targetAcceptance=${cfg.targetAcceptance}`,
    );
  return cfg;
}

/**
 * Integrated autocorrelation time τ_int = 1 + 2 Σ_{k=1}^{M} ρ(k) of a scalar series, with Sokal's
 * automatic window (the smallest M ≥ 5 τ_int(M)). In steps of the series; the effective number of
 * independent draws is length / τ_int, and the standard error of the mean is √(Var · τ_int / n).
 * @param series length ≥ 2; a constant series returns 1
 */
export function integratedAutocorrelationTime(series: ArrayLike<number>): number {
  const n = series.length;
  if (n < 2) throw new RangeError(`Expected a series of length >= 2, but got length ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += series[i];
  mean /= n;
  const y = new Float64Array(n);
  let c0 = 0;
  for (let i = 0; i < n; i++) {
    y[i] = series[i] - mean;
    c0 += y[i] * y[i];
  }
  if (c0 === 0) return 1;
  let tau = 1;
  for (let m = 1; m < n; m++) {
    let c = 0;
    for (let i = 0; i + m < n; i++) c += y[i] * y[i + m];
    tau += (2 * c) / c0;
    if (m >= 5 * tau) break;
  }
  return Math.max(tau, 1e-3);
}
