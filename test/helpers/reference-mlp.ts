/**
 * An independent float64 re-implementation of the score MLP and the DSM loss in plain JS numbers,
 * used by tests to check the tfjs versions (forward pass, loss value, gradients by finite differences).
 */

/** Forward pass y = MLP(concat(x, t)) in float64; weights in the shared layout [W1, b1, W2, b2, …], W [in, out]. */
export function mlpForward64(
  weights: ArrayLike<number>[],
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  n: number,
): Float64Array {
  const out = new Float64Array(2 * n);
  const layers = weights.length / 2;
  for (let i = 0; i < n; i++) {
    let h = [x[2 * i], x[2 * i + 1], t[i]];
    for (let l = 0; l < layers; l++) {
      const W = weights[2 * l];
      const b = weights[2 * l + 1];
      const nIn = h.length;
      const nOut = b.length;
      const next = new Array<number>(nOut);
      for (let o = 0; o < nOut; o++) {
        let s = b[o];
        for (let k = 0; k < nIn; k++) s += h[k] * W[k * nOut + o];
        next[o] = l + 1 < layers ? Math.tanh(s) : s;
      }
      h = next;
    }
    out[2 * i] = h[0];
    out[2 * i + 1] = h[1];
  }
  return out;
}

/** The DSM loss in float64 with the linear VP schedule written out (α = exp(−½∫β), σ = √(1 − α²)). */
export function dsmLoss64(
  weights: ArrayLike<number>[],
  x0: ArrayLike<number>,
  t: ArrayLike<number>,
  eps: ArrayLike<number>,
  betaMin: number,
  betaMax: number,
  sigmaMin: number,
): number {
  const n = t.length;
  const xt = new Float64Array(2 * n);
  const sig = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const intBeta = betaMin * t[i] + 0.5 * (betaMax - betaMin) * t[i] * t[i];
    const a = Math.exp(-0.5 * intBeta);
    sig[i] = Math.sqrt(1 - a * a);
    for (let d = 0; d < 2; d++) xt[2 * i + d] = a * x0[2 * i + d] + sig[i] * eps[2 * i + d];
  }
  const s = mlpForward64(weights, xt, t, n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < 2; d++) {
      const r = s[2 * i + d] + eps[2 * i + d] / Math.max(sig[i], sigmaMin);
      total += r * r;
    }
  }
  return total / n;
}
