/**
 * The DSM loss of `core/loss.ts` on tensors, for TensorFlow.js autodiff (the tfjs engine) and for
 * evaluating any tensor score function on a batch.
 */
import * as tf from "@tensorflow/tfjs";
import { Batch, LossConfig } from "../core/loss";
import { DATA_DIM } from "../core/mlp";
import { ScheduleConfig } from "../core/sde";
import { ScoreModel } from "./tfjs-model";
import { lossTargets } from "../core/objective";
import { embeddingWidth } from "../core/time-embedding";
import type { TrainConfig } from "../core/train";

/** ∫₀ᵗ β for a tensor of times (float32; t is not range-checked, keep it in [0, 1]). */
function betaIntegralTensor(t: tf.Tensor, s: ScheduleConfig): tf.Tensor {
  return tf.tidy(() =>
    t
      .mul(0.5 * (s.betaMax - s.betaMin))
      .add(s.betaMin)
      .mul(t),
  );
}

/** α(t) for a tensor of times, same shape as t (float32). Same formula as `alpha`. */
export function alphaTensor(t: tf.Tensor, s: ScheduleConfig): tf.Tensor {
  return tf.tidy(() => tf.exp(betaIntegralTensor(t, s).mul(-0.5)));
}

/** σ(t) for a tensor of times, same shape as t (float32). Same formula as `sigma`. */
export function sigmaTensor(t: tf.Tensor, s: ScheduleConfig): tf.Tensor {
  return tf.tidy(() => tf.sqrt(tf.neg(tf.expm1(tf.neg(betaIntegralTensor(t, s))))));
}

/** A score function on tensors: (x [n, 2], t [n]) → score [n, 2]. */
export type TensorScoreFn = (x: tf.Tensor2D, t: tf.Tensor1D) => tf.Tensor2D;

/**
 * The DSM loss on one batch.
 * @param score the model, or any tensor score function (e.g. an exact score in tests)
 * @param x0 clean data, [n, 2]
 * @param t diffusion times, [n], in [0, 1]
 * @param eps standard normal noise, [n, 2]
 * @returns scalar: mean over the batch of ‖s(x_t, t) + ε / max(σ(t), sigmaMin)‖² (summed over
 *   coordinates)
 */
export function tfDsmLoss(
  score: ScoreModel | TensorScoreFn,
  x0: tf.Tensor2D,
  t: tf.Tensor1D,
  eps: tf.Tensor2D,
  schedule: ScheduleConfig,
  cfg: LossConfig,
): tf.Scalar {
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
    // ε / σ̃, so the residual is s + ε/σ̃
    const target = tf.div(eps, tf.maximum(sigma, cfg.sigmaMin));
    const residual = tf.add(s(xt, t), target);
    return tf.mean(tf.sum(tf.square(residual), 1)) as tf.Scalar;
  });
}

/** `tfDsmLoss` on a plain-array batch (its tensors are made here; call inside `tf.tidy`). */
export function dsmLossOnBatch(
  score: ScoreModel | TensorScoreFn,
  batch: Batch,
  schedule: ScheduleConfig,
  cfg: LossConfig,
): tf.Scalar {
  const n = batch.t.length;
  const x0 = tf.tensor2d(batch.x0, [n, DATA_DIM]);
  const eps = tf.tensor2d(batch.eps, [n, DATA_DIM]);
  return tfDsmLoss(score, x0, tf.tensor1d(batch.t), eps, schedule, cfg);
}

/** `tfDsmLoss` on a plain-array batch: creates the tensors, returns the loss as a number. */
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

/**
 * The training variants' loss (`core/objective.ts`) on a plain-array batch, for autodiff:
 * (1/B) Σ_i w_i ‖o(x_t,i, features_i) − y_i‖² with y, w, α, σ and the features from `lossTargets`
 * (the arrays the wasm kernel gets). Its tensors are made here; call inside `tf.tidy`.
 */
export function objectiveLossOnBatch(model: ScoreModel, batch: Batch, cfg: TrainConfig): tf.Scalar {
  const n = batch.t.length;
  const emb = cfg.model.timeEmbedding;
  const y = lossTargets(batch, cfg.schedule, cfg.loss, cfg, emb);
  return tf.tidy(() => {
    const x0 = tf.tensor2d(batch.x0, [n, DATA_DIM]);
    const eps = tf.tensor2d(batch.eps, [n, DATA_DIM]);
    const xt = tf.add(
      tf.mul(tf.tensor2d(y.alpha, [n, 1]), x0),
      tf.mul(tf.tensor2d(y.sigma, [n, 1]), eps),
    ) as tf.Tensor2D;
    const out = model.network(xt, tf.tensor2d(y.features, [n, embeddingWidth(emb)]));
    const residual = tf.sub(out, tf.tensor2d(y.target, [n, DATA_DIM]));
    const perRow = tf.mul(tf.tensor1d(y.weight), tf.sum(tf.square(residual), 1));
    return tf.div(tf.sum(perRow), n) as tf.Scalar;
  });
}
