/**
 * Denoising score matching (part 2d):
 *
 *   L(θ) = E_{x0, t, ε} ‖ s_θ(x_t, t) + ε / σ(t) ‖²,   x_t = α(t) x0 + σ(t) ε,
 *   t ~ U(tMin, 1),  ε ~ N(0, I),  σ(t) replaced by max(σ(t), sigmaMin) in the division.
 *
 * The expectation is estimated on a batch: squared norm summed over the 2 coordinates, then
 * averaged over the batch. Batches are plain Float32Arrays drawn by `sampleBatch` from the shared
 * `Rng`, so every training engine sees bit-identical batches.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "./random";
import { ScheduleConfig, alphaTensor, sigmaTensor } from "./schedule";
import { DATA_DIM, ScoreModel } from "./model";
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

/** A score function on tensors: (x [n, 2], t [n]) → score [n, 2]. */
export type TensorScoreFn = (x: tf.Tensor2D, t: tf.Tensor1D) => tf.Tensor2D;

/**
 * The DSM loss on one batch.
 * @param score the model, or any tensor score function (e.g. an exact score in tests)
 * @param x0 clean data, [n, 2]
 * @param t diffusion times, [n], in [0, 1]
 * @param eps standard normal noise, [n, 2]
 * @returns scalar: mean over the batch of ‖s(x_t, t) + ε / max(σ(t), sigmaMin)‖² (summed over coordinates)
 */
export function dsmLoss(
  score: ScoreModel | TensorScoreFn,
  x0: tf.Tensor2D,
  t: tf.Tensor1D,
  eps: tf.Tensor2D,
  schedule: ScheduleConfig,
  cfg: LossConfig,
): tf.Scalar {
  validateLossConfig(cfg);
  const n = x0.shape[0];
  if (x0.rank !== 2 || x0.shape[1] !== DATA_DIM) {
    throw new RangeError(
      `Expected x0 to have shape [n, ${DATA_DIM}], but got x0.shape=[${x0.shape}]`,
    );
  }
  if (t.rank !== 1 || t.shape[0] !== n)
    throw new RangeError(`Expected t to have shape [${n}], but got t.shape=[${t.shape}]`);
  if (eps.rank !== 2 || eps.shape[0] !== n || eps.shape[1] !== DATA_DIM) {
    throw new RangeError(
      `Expected eps to have shape [${n}, ${DATA_DIM}], but got eps.shape=[${eps.shape}]`,
    );
  }
  const s: TensorScoreFn = typeof score === "function" ? score : (x, tt) => score.apply(x, tt);
  return tf.tidy(() => {
    const tCol = tf.reshape(t, [n, 1]);
    const sigma = sigmaTensor(tCol, schedule); // [n, 1]
    const xt = tf.add(tf.mul(alphaTensor(tCol, schedule), x0), tf.mul(sigma, eps)) as tf.Tensor2D;
    const target = tf.div(eps, tf.maximum(sigma, cfg.sigmaMin)); // ε / σ̃, so the residual is s + ε/σ̃
    const residual = tf.add(s(xt, t), target);
    return tf.mean(tf.sum(tf.square(residual), 1)) as tf.Scalar;
  });
}

/** Where the clean data x0 of a batch come from. */
export type X0Source =
  /** A fixed data set, n×2 row-major: rows are drawn uniformly with replacement. */
  | Float64Array
  | Float32Array
  /** A generator: returns `batchSize` fresh points, batchSize×2 row-major, drawing only from `rng`. */
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
 */
export function sampleBatch(
  rng: Rng,
  x0Source: X0Source,
  batchSize: number,
  cfg: LossConfig,
): Batch {
  validateLossConfig(cfg);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(
      `Expected batchSize to be a positive integer, but got batchSize=${batchSize}`,
    );
  }
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
        `Expected the data set to hold n×${DATA_DIM} numbers with n > 0, but got length ${x0Source.length}`,
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

/** `dsmLoss` on a plain-array batch (its tensors are made here; call inside `tf.tidy`). */
export function dsmLossOnBatch(
  score: ScoreModel | TensorScoreFn,
  batch: Batch,
  schedule: ScheduleConfig,
  cfg: LossConfig,
): tf.Scalar {
  const n = batch.t.length;
  const x0 = tf.tensor2d(batch.x0, [n, DATA_DIM]);
  const eps = tf.tensor2d(batch.eps, [n, DATA_DIM]);
  return dsmLoss(score, x0, tf.tensor1d(batch.t), eps, schedule, cfg);
}

/** `dsmLoss` on a plain-array batch: creates the tensors, returns the loss as a number. */
export function batchLoss(
  score: ScoreModel | TensorScoreFn,
  batch: Batch,
  schedule: ScheduleConfig,
  cfg: LossConfig,
): number {
  const l = tf.tidy(() => dsmLossOnBatch(score, batch, schedule, cfg));
  const v = l.dataSync()[0];
  l.dispose();
  return v;
}
