/**
 * Adam (Kingma & Ba, 2015) with PyTorch's bias corrections, the optimiser of part 2d. Every engine
 * applies this update; `adamStep` is it in plain float64 arithmetic.
 *
 *   step ← step + 1;  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
 *   θ ← θ − (lr / (1 − β1^step)) · m / (√(v / (1 − β2^step)) + ε)
 */

/** Adam's state in the model's parameter layout, shared by all engines. */
export interface OptimizerState {
  /** Adam updates applied so far. */
  step: number;
  /** First moments, one Float32Array per parameter array. */
  m: Float32Array[];
  /** Second moments, one Float32Array per parameter array. */
  v: Float32Array[];
}

/** Adam's settings. */
export interface AdamConfig {
  learningRate: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
}

/** Zero moments for parameters shaped like `weights`. */
export function adamInit(weights: Float32Array[]): OptimizerState {
  return {
    step: 0,
    m: weights.map((w) => new Float32Array(w.length)),
    v: weights.map((w) => new Float32Array(w.length)),
  };
}

/** One Adam update of `weights` (in place) and `state` (in place) from the gradient `grads`. */
export function adamStep(
  weights: Float32Array[],
  grads: ArrayLike<number>[],
  state: OptimizerState,
  cfg: AdamConfig,
): void {
  const { learningRate: lr, adamBeta1: b1, adamBeta2: b2, adamEpsilon: eps } = cfg;
  state.step += 1;
  const stepSize = lr / (1 - Math.pow(b1, state.step));
  const invC2 = 1 / (1 - Math.pow(b2, state.step));
  weights.forEach((w, i) => {
    const [g, m, v] = [grads[i], state.m[i], state.v[i]];
    for (let k = 0; k < w.length; k++) {
      m[k] = b1 * m[k] + (1 - b1) * g[k];
      v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
      w[k] -= (stepSize * m[k]) / (Math.sqrt(v[k] * invC2) + eps);
    }
  });
}
