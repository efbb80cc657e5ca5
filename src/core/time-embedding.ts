/**
 * How the diffusion time t enters the score network (part 2c feeds t itself): the network's input
 * row is [x (2), features(t) (width)].
 *
 *   "raw":     features(t) = [t]                                     (the sheet; width 1)
 *   "fourier": features(t) = [t, sin(2π f_k t)…, cos(2π f_k t)…],  k = 0…K−1,
 *              f_k = maxFrequency^(k/(K−1)) geometric from 1 to maxFrequency (f_0 = 1 if K = 1)
 *                                                                      (width 1 + 2K)
 */

/** The sheet's input: t itself. */
export interface RawTimeEmbedding {
  kind: "raw";
}

/** Sinusoidal features of t beside t (a Fourier / "positional" embedding). */
export interface FourierTimeEmbedding {
  kind: "fourier";
  /** Number of frequencies K, an integer in [1, maxFourierFrequencies]. */
  frequencies: number;
  /** Highest frequency f_{K−1} in cycles per unit time, ≥ 1. */
  maxFrequency: number;
}

export type TimeEmbedding = RawTimeEmbedding | FourierTimeEmbedding;

/** Most Fourier frequencies (the wasm kernel's input row holds at most 2 + 1 + 2·16 numbers). */
export const maxFourierFrequencies = 16;

/** The sheet's embedding: t as one input. */
export function rawTimeEmbedding(): TimeEmbedding {
  return { kind: "raw" };
}

/** Throws naming the bad field unless `e` is a valid embedding; returns it otherwise. */
export function validateTimeEmbedding(e: TimeEmbedding): TimeEmbedding {
  if (e === null || typeof e !== "object")
    throw new TypeError(`Expected timeEmbedding to be an object {kind}, but got ${String(e)}`);
  if (e.kind === "raw") {
    const extra = Object.keys(e).filter((k) => k !== "kind");
    if (extra.length > 0)
      throw new TypeError(`Unknown key "${extra[0]}" in timeEmbedding {kind: "raw"}`);
    return e;
  }
  if (e.kind === "fourier") {
    const extra = Object.keys(e).filter(
      (k) => !["kind", "frequencies", "maxFrequency"].includes(k),
    );
    if (extra.length > 0)
      throw new TypeError(
        `Unknown key "${extra[0]}" in timeEmbedding {kind: "fourier", frequencies, maxFrequency}`,
      );
    const k = e.frequencies;
    if (!Number.isInteger(k) || k < 1 || k > maxFourierFrequencies)
      throw new RangeError(
        `Expected timeEmbedding.frequencies to be an integer in [1, ${maxFourierFrequencies}], ` +
          `but got frequencies=${k}`,
      );
    if (typeof e.maxFrequency !== "number" || !(e.maxFrequency >= 1) || !isFinite(e.maxFrequency))
      throw new RangeError(
        `Expected timeEmbedding.maxFrequency to be a finite number ≥ 1, but got ` +
          `maxFrequency=${e.maxFrequency}`,
      );
    return e;
  }
  throw new RangeError(
    `Expected timeEmbedding.kind to be "raw" or "fourier", but got ` +
      `kind=${JSON.stringify((e as { kind: unknown }).kind)}`,
  );
}

/** Number of time features: 1 for "raw" (or absent), 1 + 2K for "fourier". */
export function embeddingWidth(e: TimeEmbedding | undefined): number {
  return e === undefined || e.kind === "raw" ? 1 : 1 + 2 * e.frequencies;
}

/** The frequencies f_k (cycles per unit time) of a Fourier embedding. */
export function fourierFrequencies(e: FourierTimeEmbedding): number[] {
  const k = e.frequencies;
  return Array.from({ length: k }, (_, i) => (k === 1 ? 1 : e.maxFrequency ** (i / (k - 1))));
}

/**
 * Time features of n times into `out` (n × width row-major, width = `embeddingWidth(e)`), in the
 * precision of `out` (float64 arithmetic, rounded once on store).
 * @param t n times in [0, 1]
 */
export function timeFeatures<T extends Float32Array | Float64Array>(
  t: ArrayLike<number>,
  e: TimeEmbedding | undefined,
  out: T,
): T {
  const n = t.length;
  if (e === undefined || e.kind === "raw") {
    for (let i = 0; i < n; i++) out[i] = t[i];
    return out;
  }
  const f = fourierFrequencies(e).map((v) => 2 * Math.PI * v);
  const k = f.length;
  const width = 1 + 2 * k;
  for (let i = 0; i < n; i++) {
    const o = i * width;
    out[o] = t[i];
    for (let j = 0; j < k; j++) {
      out[o + 1 + j] = Math.sin(f[j] * t[i]);
      out[o + 1 + k + j] = Math.cos(f[j] * t[i]);
    }
  }
  return out;
}
