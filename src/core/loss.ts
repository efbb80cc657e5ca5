/**
 * Denoising score matching (part 2d):
 *
 *   L(θ) = E_{x0, t, ε} ‖ s_θ(x_t, t) + ε / σ(t) ‖²,   x_t = α(t) x0 + σ(t) ε,
 *   t ~ U(tMin, 1),  ε ~ N(0, I),  σ(t) replaced by max(σ(t), sigmaMin) in the division.
 *
 * The expectation is estimated on a batch: squared norm summed over the 2 coordinates, then
 * averaged over the batch. Batches are plain Float32Arrays drawn by `sampleBatch` from the shared
 * `Rng`, so every training engine sees bit-identical batches. `dsmLoss` is the loss and its
 * gradient in plain float64, the definition the engines are tested against.
 */
import { Rng } from "./random";
import { ScheduleConfig, alphaSigma } from "./sde";
import { DATA_DIM, mlpBackward, mlpForward } from "./mlp";
import { rejectUnknownKeys } from "./config-keys";

/** Sampling range of t and clamp of σ (the sheet's two numerical hints). */
export interface LossConfig {
  /** Lower end of t ~ U(tMin, 1); in (0, 1). */
  tMin: number;
  /** σ(t) is clamped from below at sigmaMin before dividing ε by it; > 0. */
  sigmaMin: number;
}

/** The sheet's values. */
export function defaultLossConfig(): LossConfig {
  return {
    tMin: 1e-3, // the sheet's ε ≈ 1e-3: at t → 0 the target ε/σ(t) blows up (σ(1e-3) ≈ 0.01)
    sigmaMin: 1e-5, // the sheet's clamp: keeps ε/σ finite even if t = 0 slips through
  };
}

/** Throws if a loss config is out of range (naming the bad value); returns it otherwise. */
export function validateLossConfig(cfg: LossConfig): LossConfig {
  if (cfg === null || typeof cfg !== "object") {
    throw new TypeError(`Expected a loss config {tMin, sigmaMin}, but got ${String(cfg)}`);
  }
  rejectUnknownKeys(cfg, ["tMin", "sigmaMin"], "loss config");
  if (typeof cfg.tMin !== "number" || !(cfg.tMin > 0 && cfg.tMin < 1)) {
    throw new RangeError(`Expected tMin to be a number in (0, 1), but got tMin=${cfg.tMin}`);
  }
  if (typeof cfg.sigmaMin !== "number" || !(cfg.sigmaMin > 0) || !Number.isFinite(cfg.sigmaMin)) {
    throw new RangeError(
      `Expected sigmaMin to be a finite number > 0, but got sigmaMin=${cfg.sigmaMin}`,
    );
  }
  return cfg;
}

/** Where the clean data x0 of a batch come from. */
export type X0Source =
  /** A fixed data set, n×2 row-major: rows are drawn uniformly with replacement. */
  | Float64Array
  | Float32Array
  /**
   * A generator: returns `batchSize` fresh points, batchSize×2 row-major, drawing only from `rng`.
   */
  | ((rng: Rng, batchSize: number) => ArrayLike<number>);

/** One training batch as plain arrays (what every engine consumes). */
export interface Batch {
  /** Clean points, batchSize×2 row-major. */
  x0: Float32Array;
  /** Times, batchSize, in [tMin, 1] (float32 rounding may reach 1). */
  t: Float32Array;
  /** Standard normal noise, batchSize×2 row-major. */
  eps: Float32Array;
}

/**
 * Draw one batch from `rng`, in this order: the x0 rows (indices for a data set, or the
 * generator's draws), then t ~ U(tMin, 1) for each row, then ε ~ N(0, I), row-major.
 * The order is part of the contract: it makes a run reproducible from the generator's state.
 * Called once per training step: `cfg` and `batchSize` are checked where they enter (`train`).
 */
export function sampleBatch(
  rng: Rng,
  x0Source: X0Source,
  batchSize: number,
  cfg: LossConfig,
): Batch {
  const x0 = new Float32Array(batchSize * DATA_DIM);
  if (typeof x0Source === "function") {
    const drawn = x0Source(rng, batchSize);
    if (drawn.length !== x0.length) {
      throw new RangeError(
        `Expected the x0 generator to return ${x0.length} numbers, but got ${drawn.length}`,
      );
    }
    x0.set(drawn);
  } else {
    const nData = x0Source.length / DATA_DIM;
    if (!Number.isInteger(nData) || nData === 0) {
      throw new RangeError(
        `Expected the data set to hold n×${DATA_DIM} numbers with n > 0, but got length ` +
          `${x0Source.length}`,
      );
    }
    for (let i = 0; i < batchSize; i++) {
      const j = rng.int(nData);
      for (let d = 0; d < DATA_DIM; d++) x0[i * DATA_DIM + d] = x0Source[j * DATA_DIM + d];
    }
  }
  const t = rng.uniformArray(batchSize, cfg.tMin, 1, new Float32Array(batchSize)) as Float32Array;
  const eps = rng.normalArray(
    batchSize * DATA_DIM,
    new Float32Array(batchSize * DATA_DIM),
  ) as Float32Array;
  return { x0, t, eps };
}

/**
 * The batch's noised points x_t = α(t) x0 + σ(t) ε (n×2, float64), with α(t_i) and σ(t_i) per row:
 * the closed-form marginal of part 2b, as every loss forms it.
 */
export function noisedBatch(
  batch: Batch,
  schedule: ScheduleConfig,
): { xt: Float64Array; alpha: Float64Array; sigma: Float64Array } {
  const { x0, t, eps } = batch;
  const n = t.length;
  const [alpha, sigma] = [new Float64Array(n), new Float64Array(n)];
  alphaSigma(t, schedule, alpha, sigma);
  const xt = new Float64Array(2 * n);
  for (let k = 0; k < 2 * n; k++) xt[k] = alpha[k >> 1] * x0[k] + sigma[k >> 1] * eps[k];
  return { xt, alpha, sigma };
}

/**
 * The DSM loss of the network `weights` on one batch, and its gradient ∂L/∂θ (float64).
 * @returns loss: mean over the batch of ‖s_θ(x_t, t) + ε / max(σ(t), sigmaMin)‖²; grads: the layout
 */
export function dsmLoss(
  weights: ArrayLike<number>[],
  batch: Batch,
  schedule: ScheduleConfig,
  cfg: LossConfig,
): { loss: number; grads: Float64Array[] } {
  const { t, eps } = batch;
  const n = t.length;
  const { xt, sigma } = noisedBatch(batch, schedule);
  const { out: s, inputs } = mlpForward(weights, xt, t, n);
  let loss = 0;
  const dOut = new Float64Array(2 * n); // ∂L/∂s = 2 (s + ε/σ̃) / n
  for (let k = 0; k < 2 * n; k++) {
    const residual = s[k] + eps[k] / Math.max(sigma[k >> 1], cfg.sigmaMin);
    loss += residual * residual;
    dOut[k] = (2 * residual) / n;
  }
  return { loss: loss / n, grads: mlpBackward(weights, inputs, dOut, n) };
}
