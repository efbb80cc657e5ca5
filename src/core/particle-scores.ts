/**
 * Three learned scores for the particle system of `particles.ts`, trained by one denoising score
 * matching loop on the same data, all in plain float64 arithmetic:
 *
 *   "mlp"                   s = −P x / V − c P y_θ(x, τ), y_θ an MLP of the 3N coordinates and τ
 *   "mlpRotationAugmented"  the same network, each batch item rotated by a fresh random rotation
 *   "pairEnergy"            s = −P ∇ₓE_θ(x, t),  E_θ = Σ_{i<j} [r_ij² / (2NV) + c φ_θ(r_ij², τ)],
 *                           φ_θ an MLP of (r², τ): invariant energy, equivariant score by
 *                           construction (r², not r: E is then smooth at r = 0, where φ'(r) ≠ 0
 *                           would pull pairs into a kink the data never visit)
 *
 * σ = max(σ(t), sigmaMin); τ = ¼ ln σ is the time input. The rest is EDM's preconditioning (Karras
 * et al. 2022), written for the score:
 *  - −P x / V, V = α²σ_d² + σ², is the exact score if the data were N(0, σ_d² P) (EDM's c_skip).
 *    It keeps every model confining far from the data, where a tanh network saturates and the
 *    reverse SDE's +½βx would push samples out; Σ_{i<j} r_ij² = N ‖P x‖², so it is a pair energy.
 *  - c = σ_d / (σ √(σ² + σ_d²)) scales the network (EDM's c_out / σ²): ε-prediction of the
 *    non-Gaussian part for σ ≪ σ_d, and an O(1) target for the network at every σ.
 *  - the loss weight w = 1/(σ c)² = (σ² + σ_d²)/σ_d² (EDM's λ) makes the network's error count
 *    alike at every σ, and t is drawn log-uniformly on [tMin, 1]: U(tMin, 1), the sheet's choice,
 *    puts 90 % of the draws at t > 0.1, where σ(t) > 0.3 already blurs the pair wells (width
 *    ≈ 0.2) that the samples must resolve.
 * P is the CoM-free projection of `com-free.ts` (it leaves ∇ₓE_θ unchanged: a translation-invariant
 * E has Σ_i ∂E/∂x_i = 0). The loss is the sheet's DSM loss, weighted by σ² w, with CoM-free noise:
 *
 *   L(θ) = (1/B) Σ_b w_b ‖σ_b s_θ(x_t,b, t_b) + ε_b‖²,  x_t = α x0 + σ ε,  ε = P ξ,  ln t ~ U.
 *
 * ∂L/∂θ of "pairEnergy" needs the parameter gradient of ∇ₓE_θ, a second derivative through the
 * network. tfjs gets it wrong through tanh (NOTES.md), so it is written out here: the pair MLP is
 * run forward with a tangent in ρ = r² (φ and ∂φ/∂ρ together), then backward through both, with
 * tanh' = 1 − tanh² and tanh'' = −2 tanh (1 − tanh²). Tests compare it with finite differences.
 *  Layouts: configurations nConfigs×N×3 row-major; weights [W1, b1, W2, b2, …], W as [in, out]
 * row-major, tanh after every hidden layer, the last layer linear (as `mlp.ts`).
 */
import { Rng } from "./random";
import { ScheduleConfig, alphaSigma, beta, defaultSchedule, validateSchedule } from "./sde";
import { AdamConfig, adamInit, adamStep } from "./adam";
import { randomRotation, rotate } from "./equivariance";
import { comFreeNormal, projectComFree } from "./com-free";

/** Which of the three score models. */
export type ParticleModelKind = "mlp" | "mlpRotationAugmented" | "pairEnergy";

/** Parameters in the layout above; Float32Array in training (Adam's), Float64Array in tests. */
export type ParticleWeights = (Float32Array | Float64Array)[];

/** A score model: its kind, its particle count and its parameters. */
export interface ParticleModel {
  /** Which model; "mlp" and "mlpRotationAugmented" share the network and differ in training. */
  kind: ParticleModelKind;
  /** Number of particles N. */
  nParticles: number;
  /** Layer sizes including input and output: [3N + 1, …hidden, 3N] or [2, …hidden, 1]. */
  sizes: number[];
  /** [W1, b1, W2, b2, …], W as [in, out] row-major (see the top of this file). */
  weights: ParticleWeights;
}

/** Time and clamp settings shared by the models, the loss and the sampler. */
export interface NoiseConfig {
  /** Noise schedule β(t) of `sde.ts` (the noise rate, not the inverse temperature). */
  schedule: ScheduleConfig;
  /** Smallest training and sampling time, in (0, 1). */
  tMin: number;
  /** σ(t) is clamped from below at sigmaMin (> 0) before dividing by it. */
  sigmaMin: number;
  /**
   * Data scale σ_d > 0, about the spread of one coordinate of the data: the Gaussian skip −P x / V
   * with V = α²σ_d² + σ², the output scale c = σ_d / (σ √(σ² + σ_d²)) and the loss weight
   * (σ² + σ_d²)/σ_d² (see the top of this file).
   */
  sigmaData: number;
}

/** The sheet's schedule and hints. */
export function defaultNoiseConfig(): NoiseConfig {
  return {
    schedule: defaultSchedule(), // betaMin 0.1, betaMax 20
    tMin: 1e-3, // the sheet's ε: σ(1e-3) ≈ 0.01
    sigmaMin: 1e-5, // the sheet's clamp
    sigmaData: 0.6, // about the spread of one coordinate of the default particle system (≈ 0.69)
  };
}

/** Throws (naming the bad field) unless the noise settings are valid; returns them otherwise. */
export function validateNoiseConfig(noise: NoiseConfig): NoiseConfig {
  validateSchedule(noise.schedule);
  if (!(noise.tMin > 0 && noise.tMin < 1))
    throw new RangeError(`Expected tMin in (0, 1), but got tMin=${noise.tMin}`);
  for (const name of ["sigmaMin", "sigmaData"] as const)
    if (!(noise[name] > 0 && Number.isFinite(noise[name])))
      throw new RangeError(`Expected ${name} > 0, but got ${name}=${noise[name]}`);
  return noise;
}

/** Layer sizes of a model kind for N particles and the given hidden widths. */
export function particleModelSizes(
  kind: ParticleModelKind,
  nParticles: number,
  hidden: number[],
): number[] {
  if (!Number.isInteger(nParticles) || nParticles < 2)
    throw new RangeError(`Expected nParticles to be an integer >= 2, but got ${nParticles}`);
  if (
    !Array.isArray(hidden) ||
    hidden.length === 0 ||
    !hidden.every((h) => Number.isInteger(h) && h > 0)
  )
    throw new RangeError(
      `Expected hidden to be a non-empty array of positive integers, but got ` +
        `hidden=${JSON.stringify(hidden)}`,
    );
  if (kind === "pairEnergy") return [2, ...hidden, 1];
  if (kind === "mlp" || kind === "mlpRotationAugmented")
    return [3 * nParticles + 1, ...hidden, 3 * nParticles];
  throw new RangeError(
    `Expected kind "mlp", "mlpRotationAugmented" or "pairEnergy", but got kind=${kind}`,
  );
}

/**
 * A model with PyTorch-style initial weights W, b ~ U(±1/√fanIn), drawn from Rng(seed).
 * @param hidden hidden layer widths, e.g. [64, 64] for the MLPs, [16, 16] for φ
 */
export function initParticleModel(
  kind: ParticleModelKind,
  nParticles: number,
  hidden: number[],
  seed: number,
): ParticleModel {
  const sizes = particleModelSizes(kind, nParticles, hidden);
  const rng = new Rng(seed);
  const weights: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const lim = 1 / Math.sqrt(sizes[l]);
    weights.push(
      rng.uniformArray(
        sizes[l] * sizes[l + 1],
        -lim,
        lim,
        new Float32Array(sizes[l] * sizes[l + 1]),
      ) as Float32Array,
    );
    weights.push(
      rng.uniformArray(sizes[l + 1], -lim, lim, new Float32Array(sizes[l + 1])) as Float32Array,
    );
  }
  return { kind, nParticles, sizes, weights };
}

/** Number of scalar parameters of a model. */
export function particleParameterCount(model: ParticleModel): number {
  return model.weights.reduce((s, w) => s + w.length, 0);
}

/** The time input τ = ¼ ln σ of the networks, from the clamped σ. */
export function timeFeature(sigmaClamped: number): number {
  return 0.25 * Math.log(sigmaClamped);
}

// ---------------------------------------------------------------------------------------------
// A general MLP (tanh hidden layers, linear output), forward and backward, n rows at once.

function denseForward(
  w: ArrayLike<number>[],
  input: Float64Array,
  n: number,
): { out: Float64Array; acts: Float64Array[] } {
  const layers = w.length / 2;
  const acts: Float64Array[] = [];
  let h = input;
  for (let l = 0; l < layers; l++) {
    const [W, b] = [w[2 * l], w[2 * l + 1]];
    const nOut = b.length;
    const nIn = W.length / nOut;
    acts.push(h);
    const z = new Float64Array(n * nOut);
    const last = l + 1 === layers;
    for (let i = 0; i < n; i++) {
      const zi = i * nOut;
      for (let o = 0; o < nOut; o++) z[zi + o] = b[o];
      for (let k = 0; k < nIn; k++) {
        const hk = h[i * nIn + k];
        const wk = k * nOut;
        for (let o = 0; o < nOut; o++) z[zi + o] += hk * W[wk + o];
      }
      if (!last) for (let o = 0; o < nOut; o++) z[zi + o] = Math.tanh(z[zi + o]);
    }
    h = z;
  }
  return { out: h, acts };
}

function denseBackward(
  w: ArrayLike<number>[],
  acts: Float64Array[],
  dOut: Float64Array,
  n: number,
): Float64Array[] {
  const layers = w.length / 2;
  const grads: Float64Array[] = new Array(w.length);
  let dZ = dOut;
  for (let l = layers - 1; l >= 0; l--) {
    const [W, h] = [w[2 * l], acts[l]];
    const nOut = w[2 * l + 1].length;
    const nIn = W.length / nOut;
    const dW = new Float64Array(W.length);
    const db = new Float64Array(nOut);
    const dH = new Float64Array(n * nIn);
    for (let i = 0; i < n; i++) {
      const zi = i * nOut;
      for (let o = 0; o < nOut; o++) db[o] += dZ[zi + o];
      for (let k = 0; k < nIn; k++) {
        const hk = h[i * nIn + k];
        const wk = k * nOut;
        let s = 0;
        for (let o = 0; o < nOut; o++) {
          const g = dZ[zi + o];
          dW[wk + o] += hk * g;
          s += W[wk + o] * g;
        }
        dH[i * nIn + k] = s;
      }
    }
    grads[2 * l] = dW;
    grads[2 * l + 1] = db;
    if (l > 0) for (let k = 0; k < dH.length; k++) dH[k] *= 1 - h[k] * h[k]; // tanh' = 1 − tanh²
    dZ = dH;
  }
  return grads;
}

// ---------------------------------------------------------------------------------------------
// The pair MLP φ(ρ, τ), ρ = r²: forward with a tangent in ρ; backward of Σ c_n ∂φ/∂ρ(row n).

interface PairPass {
  phi: Float64Array; // φ per row
  dphi: Float64Array; // ∂φ/∂ρ per row
  h: Float64Array[]; // tanh outputs of each hidden layer, rows × width
  zdot: Float64Array[]; // ∂(pre-activation)/∂r of each hidden layer
  hdot: Float64Array[]; // ∂h/∂r = (1 − h²) zdot
}

function pairForward(
  w: ArrayLike<number>[],
  rho: Float64Array,
  tau: Float64Array,
  n: number,
): PairPass {
  const layers = w.length / 2;
  const h: Float64Array[] = [];
  const zdot: Float64Array[] = [];
  const hdot: Float64Array[] = [];
  // first hidden layer: input (ρ, τ), tangent (1, 0)
  {
    const [W, b] = [w[0], w[1]];
    const m = b.length;
    const hl = new Float64Array(n * m);
    const zd = new Float64Array(n * m);
    const hd = new Float64Array(n * m);
    for (let i = 0; i < n; i++)
      for (let o = 0; o < m; o++) {
        const v = Math.tanh(rho[i] * W[o] + tau[i] * W[m + o] + b[o]);
        hl[i * m + o] = v;
        zd[i * m + o] = W[o];
        hd[i * m + o] = (1 - v * v) * W[o];
      }
    h.push(hl);
    zdot.push(zd);
    hdot.push(hd);
  }
  for (let l = 1; l + 1 < layers; l++) {
    const [W, b] = [w[2 * l], w[2 * l + 1]];
    const m = b.length;
    const nIn = W.length / m;
    const [hp, hdp] = [h[l - 1], hdot[l - 1]];
    const hl = new Float64Array(n * m);
    const zd = new Float64Array(n * m);
    const hd = new Float64Array(n * m);
    for (let i = 0; i < n; i++) {
      const zi = i * m;
      for (let o = 0; o < m; o++) hl[zi + o] = b[o];
      for (let k = 0; k < nIn; k++) {
        const a = hp[i * nIn + k];
        const ad = hdp[i * nIn + k];
        const wk = k * m;
        for (let o = 0; o < m; o++) {
          hl[zi + o] += a * W[wk + o];
          zd[zi + o] += ad * W[wk + o];
        }
      }
      for (let o = 0; o < m; o++) {
        const v = Math.tanh(hl[zi + o]);
        hl[zi + o] = v;
        hd[zi + o] = (1 - v * v) * zd[zi + o];
      }
    }
    h.push(hl);
    zdot.push(zd);
    hdot.push(hd);
  }
  const [W, b] = [w[2 * layers - 2], w[2 * layers - 1]];
  const nIn = W.length;
  const [hp, hdp] = [h[layers - 2], hdot[layers - 2]];
  const phi = new Float64Array(n);
  const dphi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[0],
      sd = 0;
    for (let k = 0; k < nIn; k++) {
      s += hp[i * nIn + k] * W[k];
      sd += hdp[i * nIn + k] * W[k];
    }
    phi[i] = s;
    dphi[i] = sd;
  }
  return { phi, dphi, h, zdot, hdot };
}

/**
 * ∂/∂θ of Σ_n c_n ∂φ/∂ρ(ρ_n, τ_n): reverse mode through the primal and the tangent of
 * `pairForward`. Per tanh unit, with ḣ = (1 − h²) ż: adj(ż) = adj(ḣ)(1 − h²), adj(h) += adj(ḣ) ż
 * (−2h) (that is tanh''), adj(z) = adj(h)(1 − h²).
 */
function pairDoubleBackward(
  w: ArrayLike<number>[],
  pass: PairPass,
  rho: Float64Array,
  tau: Float64Array,
  c: Float64Array,
  n: number,
): Float64Array[] {
  const layers = w.length / 2;
  const grads: Float64Array[] = new Array(w.length);
  const WL = w[2 * layers - 2];
  const mL = WL.length;
  const gWL = new Float64Array(mL);
  let gBar = new Float64Array(n * mL); // adjoint of ḣ of the last hidden layer
  let hBar = new Float64Array(n * mL); // adjoint of h (φ itself is not in the loss: zero)
  const hdL = pass.hdot[layers - 2];
  for (let i = 0; i < n; i++)
    for (let k = 0; k < mL; k++) {
      gWL[k] += c[i] * hdL[i * mL + k];
      gBar[i * mL + k] = c[i] * WL[k];
    }
  grads[2 * layers - 2] = gWL;
  grads[2 * layers - 1] = new Float64Array(1); // ∂φ/∂ρ does not depend on the output bias
  for (let l = layers - 2; l >= 0; l--) {
    const W = w[2 * l];
    const m = w[2 * l + 1].length;
    const nIn = W.length / m;
    const [hl, zd] = [pass.h[l], pass.zdot[l]];
    const zt = new Float64Array(n * m); // adjoint of ż
    const zp = new Float64Array(n * m); // adjoint of z
    for (let q = 0; q < n * m; q++) {
      const d = 1 - hl[q] * hl[q];
      zt[q] = gBar[q] * d;
      zp[q] = (hBar[q] - 2 * hl[q] * gBar[q] * zd[q]) * d;
    }
    const gW = new Float64Array(W.length);
    const gb = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let o = 0; o < m; o++) gb[o] += zp[i * m + o];
    if (l === 0) {
      // input (ρ, τ), tangent (1, 0)
      for (let i = 0; i < n; i++)
        for (let o = 0; o < m; o++) {
          gW[o] += rho[i] * zp[i * m + o] + zt[i * m + o];
          gW[m + o] += tau[i] * zp[i * m + o];
        }
    } else {
      const [hp, hdp] = [pass.h[l - 1], pass.hdot[l - 1]];
      const gPrev = new Float64Array(n * nIn);
      const hPrev = new Float64Array(n * nIn);
      for (let i = 0; i < n; i++)
        for (let k = 0; k < nIn; k++) {
          const a = hp[i * nIn + k];
          const ad = hdp[i * nIn + k];
          const wk = k * m;
          let sg = 0,
            sh = 0;
          for (let o = 0; o < m; o++) {
            const t1 = zt[i * m + o];
            const t2 = zp[i * m + o];
            gW[wk + o] += a * t2 + ad * t1;
            sg += W[wk + o] * t1;
            sh += W[wk + o] * t2;
          }
          gPrev[i * nIn + k] = sg;
          hPrev[i * nIn + k] = sh;
        }
      gBar = gPrev;
      hBar = hPrev;
    }
    grads[2 * l] = gW;
    grads[2 * l + 1] = gb;
  }
  return grads;
}

/** Pair geometry of nConfigs configurations: ρ = r_ij² and x_i − x_j, pairs i<j in order. */
function pairGeometry(
  x: ArrayLike<number>,
  nParticles: number,
  nConfigs: number,
): { rho: Float64Array; u: Float64Array } {
  const nPairs = (nParticles * (nParticles - 1)) / 2;
  const rho = new Float64Array(nConfigs * nPairs);
  const u = new Float64Array(3 * nConfigs * nPairs);
  let q = 0;
  for (let b = 0; b < nConfigs; b++) {
    const o = b * 3 * nParticles;
    for (let i = 0; i < nParticles; i++)
      for (let j = i + 1; j < nParticles; j++, q++) {
        const dx = x[o + 3 * i] - x[o + 3 * j],
          dy = x[o + 3 * i + 1] - x[o + 3 * j + 1],
          dz = x[o + 3 * i + 2] - x[o + 3 * j + 2];
        rho[q] = dx * dx + dy * dy + dz * dz;
        u[3 * q] = dx;
        u[3 * q + 1] = dy;
        u[3 * q + 2] = dz;
      }
  }
  return { rho, u };
}

/**
 * Per time: α(t), σ(t) clamped at sigmaMin, the time input τ, the output scale c(σ) and the
 * variance V = α²σ_d² + σ² of the Gaussian skip −P x / V.
 */
function noiseScales(t: ArrayLike<number>, noise: NoiseConfig) {
  const n = t.length;
  const [alpha, sigma] = [new Float64Array(n), new Float64Array(n)];
  const [tau, scale, variance] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  alphaSigma(t, noise.schedule, alpha, sigma);
  const sd2 = noise.sigmaData * noise.sigmaData;
  for (let b = 0; b < n; b++) {
    sigma[b] = Math.max(sigma[b], noise.sigmaMin);
    tau[b] = timeFeature(sigma[b]);
    scale[b] = noise.sigmaData / (sigma[b] * Math.sqrt(sigma[b] * sigma[b] + sd2));
    variance[b] = alpha[b] * alpha[b] * sd2 + sigma[b] * sigma[b];
  }
  return { alpha, sigma, tau, scale, variance };
}

function checkConfigs(x: ArrayLike<number>, nParticles: number): number {
  const dim = 3 * nParticles;
  if (x.length === 0 || x.length % dim !== 0)
    throw new RangeError(
      `Expected x to hold nConfigs×${nParticles}×3 numbers, but got length ${x.length}`,
    );
  return x.length / dim;
}

/**
 * E_θ(x, t) = c(σ) Σ_{i<j} φ_θ(r_ij², τ(t)) of one configuration (float64), the invariant energy
 * of the "pairEnergy" model. x: N×3 row-major; t in [0, 1].
 */
export function pairEnergyValue(
  model: ParticleModel,
  x: ArrayLike<number>,
  t: number,
  noise: NoiseConfig = defaultNoiseConfig(),
): number {
  if (model.kind !== "pairEnergy")
    throw new RangeError(`Expected a pairEnergy model, got ${model.kind}`);
  if (checkConfigs(x, model.nParticles) !== 1)
    throw new RangeError(`Expected one configuration of ${model.nParticles}×3 numbers`);
  const { scale, tau, variance } = noiseScales([t], noise);
  const { rho } = pairGeometry(x, model.nParticles, 1);
  const taus = new Float64Array(rho.length).fill(tau[0]);
  const { phi } = pairForward(model.weights, rho, taus, rho.length);
  const skip = rho.reduce((a, b) => a + b, 0) / (2 * model.nParticles * variance[0]);
  return skip + phi.reduce((a, b) => a + b, 0) * scale[0];
}

/**
 * ∇ₓE_θ(x, t) of the "pairEnergy" model: c(σ) Σ_{j≠i} 2 ∂φ/∂ρ(r_ij²) (x_i − x_j) per particle.
 * @param x nConfigs×N×3 row-major; @param t one time per configuration (or one for all)
 * @returns nConfigs×N×3 row-major
 */
export function pairEnergyGradient(
  model: ParticleModel,
  x: ArrayLike<number>,
  t: number | ArrayLike<number>,
  noise: NoiseConfig = defaultNoiseConfig(),
): Float64Array {
  const nConfigs = checkConfigs(x, model.nParticles);
  const ts = typeof t === "number" ? new Float64Array(nConfigs).fill(t) : t;
  const { scale, tau, variance } = noiseScales(ts, noise);
  const g = pairGradientRaw(model, x, tau, nConfigs).g;
  const px = projectComFree(x, model.nParticles);
  const dim = 3 * model.nParticles;
  for (let k = 0; k < g.length; k++) {
    const b = Math.floor(k / dim);
    g[k] = px[k] / variance[b] + g[k] * scale[b];
  }
  return g;
}

/** g = ∇ₓ Σ φ (no 1/σ), with what the double backward needs. */
function pairGradientRaw(
  model: ParticleModel,
  x: ArrayLike<number>,
  tauPerConfig: Float64Array,
  nConfigs: number,
): { g: Float64Array; pass: PairPass; rho: Float64Array; u: Float64Array; tau: Float64Array } {
  const N = model.nParticles;
  const nPairs = (N * (N - 1)) / 2;
  const { rho, u } = pairGeometry(x, N, nConfigs);
  const tau = new Float64Array(rho.length);
  for (let q = 0; q < rho.length; q++) tau[q] = tauPerConfig[Math.floor(q / nPairs)];
  const pass = pairForward(model.weights, rho, tau, rho.length);
  const g = new Float64Array(nConfigs * 3 * N);
  let q = 0;
  for (let b = 0; b < nConfigs; b++) {
    const o = b * 3 * N;
    for (let i = 0; i < N; i++)
      for (let j = i + 1; j < N; j++, q++)
        for (let d = 0; d < 3; d++) {
          const v = 2 * pass.dphi[q] * u[3 * q + d]; // ∂φ/∂x_i = 2 (∂φ/∂ρ) (x_i − x_j)
          g[o + 3 * i + d] += v;
          g[o + 3 * j + d] -= v;
        }
  }
  return { g, pass, rho, u, tau };
}

/**
 * The network output y = −s / c(σ) of any model for nConfigs configurations (projected CoM-free:
 * the MLP's output, or ∇ₓ Σ φ), and what the gradient needs. τ per configuration.
 */
function networkOutput(
  model: ParticleModel,
  x: ArrayLike<number>,
  tau: Float64Array,
  nConfigs: number,
) {
  const N = model.nParticles;
  const dim = 3 * N;
  if (model.kind === "pairEnergy") {
    const raw = pairGradientRaw(model, x, tau, nConfigs);
    return { out: projectComFree(raw.g, N), raw, acts: null };
  }
  const input = new Float64Array(nConfigs * (dim + 1));
  for (let b = 0; b < nConfigs; b++) {
    for (let k = 0; k < dim; k++) input[b * (dim + 1) + k] = x[b * dim + k];
    input[b * (dim + 1) + dim] = tau[b];
  }
  const { out, acts } = denseForward(model.weights, input, nConfigs);
  return { out: projectComFree(out, N, out), raw: null, acts };
}

/**
 * The model's score s_θ(x, t) = −c(σ) P y for nConfigs configurations at one time t (CoM-free).
 * @param x nConfigs×N×3 row-major; @param t in [0, 1]
 * @returns nConfigs×N×3 row-major
 */
export function particleScore(
  model: ParticleModel,
  x: ArrayLike<number>,
  t: number,
  noise: NoiseConfig = defaultNoiseConfig(),
): Float64Array {
  const nConfigs = checkConfigs(x, model.nParticles);
  const { scale, tau, variance } = noiseScales([t], noise);
  const { out } = networkOutput(model, x, new Float64Array(nConfigs).fill(tau[0]), nConfigs);
  const px = projectComFree(x, model.nParticles);
  for (let k = 0; k < out.length; k++) out[k] = -px[k] / variance[0] - out[k] * scale[0];
  return out;
}

/** One DSM batch: clean CoM-free configurations, their times and their CoM-free noise. */
export interface ParticleBatch {
  /** nConfigs×N×3 row-major, CoM-free. */
  x0: Float64Array;
  /** nConfigs times in [tMin, 1]. */
  t: Float64Array;
  /** nConfigs×N×3 CoM-free standard normal noise. */
  eps: Float64Array;
}

/**
 * The weighted DSM loss L = (1/B) Σ_b w_b ‖σ_b s_θ(x_t,b, t_b) + ε_b‖² and its gradient ∂L/∂θ
 * (float64, in the layout of `model.weights`), x_t = α x0 + σ ε, w = (σ² + σ_d²)/σ_d².
 * @returns loss ≥ 0 (of order 3N − 3 for an untrained model) and grads
 */
export function particleDsmLoss(
  model: ParticleModel,
  batch: ParticleBatch,
  noise: NoiseConfig,
): { loss: number; grads: Float64Array[] } {
  const N = model.nParticles;
  const dim = 3 * N;
  const B = batch.t.length;
  const { alpha, sigma, tau, scale, variance } = noiseScales(batch.t, noise);
  const xt = new Float64Array(B * dim);
  for (let k = 0; k < xt.length; k++) {
    const b = Math.floor(k / dim);
    xt[k] = alpha[b] * batch.x0[k] + sigma[b] * batch.eps[k];
  }
  const { out, raw, acts } = networkOutput(model, xt, tau, B);
  // σ s + ε = ε − σ P x_t / V − σ c P y =: e (y the network output; x_t and ε are CoM-free);
  // ∂L/∂y = −(2/B) σ c P e = −(2/B) σ c e
  let loss = 0;
  const dOut = new Float64Array(B * dim);
  for (let k = 0; k < dOut.length; k++) {
    const b = Math.floor(k / dim);
    const sc = sigma[b] * scale[b];
    const e = batch.eps[k] - (sigma[b] * xt[k]) / variance[b] - sc * out[k];
    const wgt = 1 / (sc * sc); // = (σ² + σ_d²) / σ_d²
    loss += wgt * e * e;
    dOut[k] = (-2 * wgt * sc * e) / B;
  }
  if (acts) return { loss: loss / B, grads: denseBackward(model.weights, acts, dOut, B) };
  // g_i = Σ_{j≠i} 2 φ_ρ(ρ_ij) (x_i − x_j), so ∂L/∂φ_ρ(ρ_ij) = 2 (∂L/∂g_i − ∂L/∂g_j) · (x_i − x_j)
  const { pass, rho, u, tau: tauRows } = raw!;
  const c = new Float64Array(rho.length);
  let q = 0;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < N; i++)
      for (let j = i + 1; j < N; j++, q++) {
        let s = 0;
        for (let d = 0; d < 3; d++)
          s += (dOut[b * dim + 3 * i + d] - dOut[b * dim + 3 * j + d]) * u[3 * q + d];
        c[q] = 2 * s;
      }
  return {
    loss: loss / B,
    grads: pairDoubleBackward(model.weights, pass, rho, tauRows, c, rho.length),
  };
}

/** Settings of the DSM training loop (one for all three models). */
export interface ParticleTrainConfig extends AdamConfig {
  /** Adam steps (integer ≥ 1). */
  steps: number;
  /** Configurations per step (integer ≥ 1). */
  batchSize: number;
  /** Hidden widths of the network (the MLP, or φ for "pairEnergy"). */
  hidden: number[];
  /** Seed of the initial weights and of the batches (configurations, rotations, t, ε). */
  seed: number;
  /** Schedule, tMin and the σ clamp. */
  noise: NoiseConfig;
}

/** A small budget: a few seconds per model on one core for N = 5. */
export function defaultParticleTrainConfig(): ParticleTrainConfig {
  return {
    steps: 1000, // ≈ 2.5 s of one core per model at N = 5 (bench/particles.ts measures it)
    batchSize: 64,
    hidden: [64, 64], // the sheet's width, for the MLPs; bench/particles.ts gives φ [16, 16]
    seed: 0,
    learningRate: 2e-3, // short runs: a little above the sheet's 1e-3
    adamBeta1: 0.9,
    adamBeta2: 0.999,
    adamEpsilon: 1e-8,
    noise: defaultNoiseConfig(),
  };
}

/**
 * Draw one batch: B rows of `data` (uniform, with replacement), each rotated by a fresh random
 * rotation if `augment`, then t log-uniform on [tMin, 1], then ε = P ξ.
 */
export function sampleParticleBatch(
  rng: Rng,
  data: Float64Array,
  nParticles: number,
  batchSize: number,
  tMin: number,
  augment: boolean,
): ParticleBatch {
  const dim = 3 * nParticles;
  const nData = data.length / dim;
  const x0 = new Float64Array(batchSize * dim);
  for (let b = 0; b < batchSize; b++) {
    const j = rng.int(nData);
    let row: Float64Array = data.subarray(j * dim, (j + 1) * dim);
    if (augment) row = rotate(row, randomRotation(rng));
    x0.set(row, b * dim);
  }
  const t = new Float64Array(batchSize);
  for (let b = 0; b < batchSize; b++) t[b] = Math.pow(tMin, 1 - rng.uniform()); // log-uniform
  const eps = comFreeNormal(rng, nParticles, batchSize);
  return { x0, t, eps };
}

/**
 * Train a model of `kind` by DSM on CoM-free configurations `data` (nData×N×3 row-major).
 * "mlpRotationAugmented" differs from "mlp" only in the rotated batches.
 * @param onStep called after every step with (step, loss), e.g. for progress
 * @returns the trained model (Float32Array weights) and the loss of every step
 */
export function trainParticleModel(
  kind: ParticleModelKind,
  data: Float64Array,
  nParticles: number,
  config: ParticleTrainConfig,
  onStep?: (step: number, loss: number) => void,
): { model: ParticleModel; losses: Float64Array } {
  validateNoiseConfig(config.noise);
  const ints: [string, number][] = [
    ["steps", config.steps],
    ["batchSize", config.batchSize],
  ];
  for (const [name, v] of ints)
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`Expected ${name} to be a positive integer, but got ${name}=${v}`);
  checkConfigs(data, nParticles);
  const model = initParticleModel(kind, nParticles, config.hidden, config.seed);
  const weights = model.weights as Float32Array[];
  const opt = adamInit(weights);
  const rng = new Rng((config.seed + 0x9e3779b9) >>> 0);
  const losses = new Float64Array(config.steps);
  const augment = kind === "mlpRotationAugmented";
  for (let step = 0; step < config.steps; step++) {
    const batch = sampleParticleBatch(
      rng,
      data,
      nParticles,
      config.batchSize,
      config.noise.tMin,
      augment,
    );
    const { loss, grads } = particleDsmLoss(model, batch, config.noise);
    adamStep(weights, grads, opt, config);
    losses[step] = loss;
    onStep?.(step, loss);
  }
  return { model, losses };
}

/** Settings of the CoM-free reverse-SDE sampler. */
export interface ParticleSamplerConfig {
  /** Euler–Maruyama steps (integer ≥ 1). */
  steps: number;
  /** Configurations drawn (integer ≥ 1). */
  nSamples: number;
  /** Seed of the prior draw and the step noise. */
  seed: number;
  /** Must be the noise settings the model was trained with. */
  noise: NoiseConfig;
}

/** 200 steps, 500 configurations. */
export function defaultParticleSamplerConfig(): ParticleSamplerConfig {
  return { steps: 200, nSamples: 500, seed: 0, noise: defaultNoiseConfig() };
}

/**
 * One Euler–Maruyama step of the reverse SDE backwards from t to t − dt in the CoM-free subspace:
 * x ← x + (½β(t) x + β(t) s) dt + √(β(t) dt) P z (no noise if `last`: the noise-free mean).
 * @param x nConfigs×N×3 row-major (updated copy returned); @param score s(x, t), same layout
 */
export function comFreeReverseStep(
  x: Float64Array,
  score: ArrayLike<number>,
  t: number,
  dt: number,
  rng: Rng,
  nParticles: number,
  schedule: ScheduleConfig,
  last: boolean,
): Float64Array {
  const b = beta(t, schedule);
  const y = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) y[k] = x[k] + (0.5 * b * x[k] + b * score[k]) * dt;
  if (!last) {
    const z = comFreeNormal(rng, nParticles, x.length / (3 * nParticles));
    const s = Math.sqrt(b * dt);
    for (let k = 0; k < x.length; k++) y[k] += s * z[k];
  }
  return y;
}

/**
 * Sample a model: x_1 = P ξ, then `steps` reverse steps on the grid t_i = tMin + iΔt, Δt = (1 −
 * tMin)/steps, down to t_0 = tMin (the last step noise-free).
 * @param scoreFn defaults to the model's score; any (x, t) -> score of the same layout works
 * @returns nSamples×N×3 row-major
 */
export function sampleParticles(
  nParticles: number,
  scoreFn: (x: Float64Array, t: number) => ArrayLike<number>,
  config: ParticleSamplerConfig,
): Float64Array {
  validateNoiseConfig(config.noise);
  if (!Number.isInteger(config.steps) || config.steps < 1)
    throw new RangeError(`Expected steps to be a positive integer, but got steps=${config.steps}`);
  const rng = new Rng(config.seed);
  let x = comFreeNormal(rng, nParticles, config.nSamples);
  const { tMin, schedule } = config.noise;
  const dt = (1 - tMin) / config.steps;
  for (let i = config.steps; i >= 1; i--) {
    const t = tMin + i * dt;
    x = comFreeReverseStep(x, scoreFn(x, t), t, dt, rng, nParticles, schedule, i === 1);
  }
  return x;
}

/** The score function (x, t) -> s_θ(x, t) of a model, for `sampleParticles` and the metrics. */
export function particleScoreFn(
  model: ParticleModel,
  noise: NoiseConfig = defaultNoiseConfig(),
): (x: Float64Array, t: number) => Float64Array {
  return (x, t) => particleScore(model, x, t, noise);
}
