/**
 * An exponential moving average of the parameters over training steps (Polyak averaging), the
 * weights one samples with when `TrainConfig.ema` is set:
 *
 *   θ̄ ← d · θ̄ + (1 − d) · θ   after every Adam step,   θ̄ = θ at the start.
 *
 * d = 0 gives θ̄ = θ after every step (the raw weights).
 */

/** Throws unless `decay` is a number in [0, 1); returns it otherwise. */
export function validateEmaDecay(decay: number): number {
  if (typeof decay !== "number" || !(decay >= 0 && decay < 1))
    throw new RangeError(`Expected ema to be a decay rate in [0, 1), but got ema=${decay}`);
  return decay;
}

/** A fresh average: copies of the weights. */
export function emaInit(weights: Float32Array[]): Float32Array[] {
  return weights.map((w) => Float32Array.from(w));
}

/**
 * θ̄ ← decay · θ̄ + (1 − decay) · θ in place (float64 arithmetic, rounded to float32 on store).
 * @param ema the average, updated in place; @param weights θ in the same layout
 */
export function emaUpdate(ema: Float32Array[], weights: ArrayLike<number>[], decay: number): void {
  const keep = 1 - decay;
  for (let i = 0; i < ema.length; i++) {
    const [a, w] = [ema[i], weights[i]];
    for (let k = 0; k < a.length; k++) a[k] = decay * a[k] + keep * w[k];
  }
}
