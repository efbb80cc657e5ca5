/**
 * Variants of part 2d's training objective. Whatever the network predicts, the loss is the
 * sheet's denoising score matching loss, weighted over time:
 *
 *   L(θ) = (1/B) Σ_i λ(t_i) ‖ s_θ(x_t,i, t_i) + ε_i / σ̃(t_i) ‖²,   σ̃ = max(σ, sigmaMin),
 *
 * where the network output o is the score itself ("score", the sheet) or the noise ("eps", with
 * s_θ = −o / σ̃), and λ is 1 ("none", the sheet), σ̃² ("sigma2", Song et al. 2021; with "eps" this
 * is the plain ‖o − ε‖²) or β(t) ("likelihood", Song et al. 2021's likelihood weighting g(t)²).
 *
 * Engines compute every variant as Σ_i w_i ‖o_i − y_i‖² / B with per-row targets y and weights w
 * from `lossTargets`: "score": y = −ε/σ̃, w = λ; "eps": y = ε, w = λ/σ̃² (exactly 1 for "sigma2").
 * `objectiveLoss` is the loss and its gradient in plain float64, written from the formula above.
 */
import { Batch, LossConfig, noisedBatch } from "./loss";
import { DATA_DIM, mlpBackward, mlpForward } from "./mlp";
import { ScheduleConfig, alphaSigma, beta } from "./sde";
import { TimeEmbedding, embeddingWidth, timeFeatures } from "./time-embedding";

/** What the network outputs: the score s (the sheet) or the noise ε, read as s = −ε̂/σ̃(t). */
export type Parameterization = "score" | "eps";

/** The time weighting λ(t) of the score-matching loss. */
export type Weighting = "none" | "sigma2" | "likelihood";

/** The fields of a training configuration that choose the objective (absent: the sheet's). */
export interface ObjectiveChoice {
  parameterization?: Parameterization;
  weighting?: Weighting;
}

/** Throws naming the bad value unless the choice is valid; returns it otherwise. */
export function validateObjective(c: ObjectiveChoice): ObjectiveChoice {
  if (c.parameterization !== undefined && !["score", "eps"].includes(c.parameterization))
    throw new RangeError(
      `Expected parameterization to be "score" or "eps", but got ` +
        `parameterization=${JSON.stringify(c.parameterization)}`,
    );
  if (c.weighting !== undefined && !["none", "sigma2", "likelihood"].includes(c.weighting))
    throw new RangeError(
      `Expected weighting to be "none", "sigma2" or "likelihood", but got ` +
        `weighting=${JSON.stringify(c.weighting)}`,
    );
  return c;
}

/** True when the objective and input are the sheet's (score output, λ = 1, raw t). */
export function isSheetObjective(c: ObjectiveChoice, embedding?: TimeEmbedding): boolean {
  return (
    (c.parameterization ?? "score") === "score" &&
    (c.weighting ?? "none") === "none" &&
    (embedding === undefined || embedding.kind === "raw")
  );
}

/** λ(t) for one row: σ̃ = max(σ(t), sigmaMin), β = β(t). */
export function lossWeight(weighting: Weighting | undefined, sigmaTilde: number, betaT: number) {
  if (weighting === "sigma2") return sigmaTilde * sigmaTilde;
  if (weighting === "likelihood") return betaT;
  return 1;
}

/** Per-row inputs of the generalised loss Σ w ‖o − y‖² / B, float32 as the engines use them. */
export interface LossTargets {
  /** α(t_i), σ(t_i) (unclamped), n each: x_t = α x0 + σ ε. */
  alpha: Float32Array;
  sigma: Float32Array;
  /** Time features, n × embeddingWidth row-major. */
  features: Float32Array;
  /** Targets y_i of the network output, n×2 row-major. */
  target: Float32Array;
  /** Weights w_i (the batch mean's 1/B not included), n. */
  weight: Float32Array;
}

/**
 * Targets and weights of the generalised loss for one batch (see the top of this file). Row
 * formulas in float64, each result rounded to float32 once, so y = −ε/σ̃ is the float32 quotient.
 */
export function lossTargets(
  batch: Batch,
  schedule: ScheduleConfig,
  cfg: LossConfig,
  choice: ObjectiveChoice,
  embedding?: TimeEmbedding,
): LossTargets {
  const n = batch.t.length;
  const alpha = new Float32Array(n);
  const sigma = new Float32Array(n);
  alphaSigma(batch.t, schedule, alpha, sigma);
  const features = timeFeatures(
    batch.t,
    embedding,
    new Float32Array(n * embeddingWidth(embedding)),
  );
  const target = new Float32Array(2 * n);
  const weight = new Float32Array(n);
  const eps = choice.parameterization === "eps";
  for (let i = 0; i < n; i++) {
    const sc = Math.fround(Math.max(sigma[i], cfg.sigmaMin)); // σ̃ in float32, as engines hold it
    const betaT = choice.weighting === "likelihood" ? beta(batch.t[i], schedule) : 0;
    const lambda = lossWeight(choice.weighting, sc, betaT);
    for (let d = 0; d < DATA_DIM; d++) {
      const e = batch.eps[2 * i + d];
      target[2 * i + d] = eps ? e : -e / sc;
    }
    weight[i] = !eps ? lambda : choice.weighting === "sigma2" ? 1 : lambda / (sc * sc);
  }
  return { alpha, sigma, features, target, weight };
}

/**
 * The weighted DSM loss of the network `weights` on one batch and its gradient ∂L/∂θ, float64.
 * @returns loss: (1/B) Σ λ ‖s_θ + ε/σ̃‖² with s_θ = o ("score") or −o/σ̃ ("eps"); grads: the layout
 */
export function objectiveLoss(
  weights: ArrayLike<number>[],
  batch: Batch,
  schedule: ScheduleConfig,
  cfg: LossConfig,
  choice: ObjectiveChoice,
  embedding?: TimeEmbedding,
): { loss: number; grads: Float64Array[] } {
  const { t, eps } = batch;
  const n = t.length;
  const { xt, sigma } = noisedBatch(batch, schedule);
  const { out, inputs } = mlpForward(weights, xt, t, n, embedding);
  const epsOut = choice.parameterization === "eps";
  let loss = 0;
  const dOut = new Float64Array(2 * n);
  for (let k = 0; k < 2 * n; k++) {
    const sc = Math.max(sigma[k >> 1], cfg.sigmaMin);
    const lambda = lossWeight(choice.weighting, sc, beta(t[k >> 1], schedule));
    const s = epsOut ? -out[k] / sc : out[k];
    const residual = s + eps[k] / sc;
    loss += lambda * residual * residual;
    // ∂/∂o of λ r²/n: ∂s/∂o = 1 ("score") or −1/σ̃ ("eps")
    dOut[k] = ((2 * lambda * residual) / n) * (epsOut ? -1 / sc : 1);
  }
  return { loss: loss / n, grads: mlpBackward(weights, inputs, dOut, n) };
}

/**
 * Network outputs of n points at one time t turned into scores, in place: unchanged for "score",
 * s = −o / max(σ(t), sigmaMin) for "eps".
 */
export function outputToScore<T extends Float32Array | Float64Array>(
  out: T,
  sigmaTilde: number,
  parameterization: Parameterization | undefined,
): T {
  if (parameterization === "eps")
    for (let k = 0; k < out.length; k++) out[k] = -out[k] / sigmaTilde;
  return out;
}
