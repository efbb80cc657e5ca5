/**
 * The two half moons data set of part 2a, generated as scikit-learn's `make_moons` does:
 * outer moon (cos θ, sin θ), θ = linspace(0, π, ⌊n/2⌋), label 0; inner moon
 * (1 − cos θ, 1 − sin θ − 0.5), θ = linspace(0, π, n − ⌊n/2⌋), label 1; outer rows then
 * inner rows; then the rows are shuffled; then N(0, noise²) is added to every coordinate.
 * Only the random stream differs from scikit-learn (ours is `Rng`, seeded).
 */
import { Rng } from "./random";

/** Options of `makeMoons`. */
export interface MoonsConfig {
  /** Standard deviation of the Gaussian noise added to each coordinate; 0 for the exact curves. */
  noise: number;
  /** Shuffle the rows (points and labels together) before adding noise. */
  shuffle: boolean;
  /** Seed of a fresh `Rng`, used when no `rng` is given. */
  seed: number;
}

/** Defaults for the workbook's training data. */
export function defaultMoonsConfig(): MoonsConfig {
  return {
    // the value commonly used with make_moons for diffusion demos: thin but visibly noisy moons
    noise: 0.05,
    shuffle: true, // as scikit-learn's default
    seed: 0, // explicit, so every notebook run sees the same points
  };
}

/** Two moons: n points in R², row-major, with labels. */
export interface Moons {
  /** n×2 row-major: x[2i], x[2i+1] are the coordinates of point i. */
  x: Float64Array;
  /** n labels: 0 = outer (upper) moon, 1 = inner (lower) moon. */
  y: Uint8Array;
}

/**
 * Largest `nSamples` of `makeMoons`: 10 million points are 160 MB of coordinates, far beyond
 * the workbook's 10 000; a larger count is almost certainly a typo (1e12).
 */
export const MAX_MOONS_SAMPLES = 10_000_000;

/** numpy.linspace(start, stop, num) with endpoint: i·step + start, last element exactly stop. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = num > 1 ? i * step + start : start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * Generate the two moons data set (scikit-learn `make_moons`, seeded).
 * @param nSamples total number of points (positive integer, at most `MAX_MOONS_SAMPLES`); ⌊n/2⌋
 *   outer, the rest inner
 * @param opts overrides of `defaultMoonsConfig()`; `rng`, if given, is used (and advanced) instead
 *   of `seed`
 */
export function makeMoons(
  nSamples: number,
  opts: Partial<MoonsConfig> & { rng?: Rng } = {},
): Moons {
  if (!Number.isInteger(nSamples) || nSamples <= 0) {
    throw new RangeError(
      `Expected nSamples to be a positive integer, but got nSamples=${nSamples}`,
    );
  }
  if (nSamples > MAX_MOONS_SAMPLES) {
    throw new RangeError(
      `Expected nSamples to be at most ${MAX_MOONS_SAMPLES} (MAX_MOONS_SAMPLES), but got ` +
        `nSamples=${nSamples}`,
    );
  }
  const cfg = { ...defaultMoonsConfig(), ...opts };
  if (typeof cfg.noise !== "number" || !Number.isFinite(cfg.noise) || cfg.noise < 0) {
    throw new RangeError(`Expected noise to be a finite number >= 0, but got noise=${cfg.noise}`);
  }
  const rng = opts.rng ?? new Rng(cfg.seed);

  const nOut = Math.floor(nSamples / 2);
  const nIn = nSamples - nOut;
  const x = new Float64Array(2 * nSamples);
  const y = new Uint8Array(nSamples);
  const thetaOut = linspace(0, Math.PI, nOut);
  for (let i = 0; i < nOut; i++) {
    x[2 * i] = Math.cos(thetaOut[i]);
    x[2 * i + 1] = Math.sin(thetaOut[i]);
  }
  const thetaIn = linspace(0, Math.PI, nIn);
  for (let j = 0; j < nIn; j++) {
    const i = nOut + j;
    x[2 * i] = 1 - Math.cos(thetaIn[j]);
    x[2 * i + 1] = 1 - Math.sin(thetaIn[j]) - 0.5;
    y[i] = 1;
  }

  if (cfg.shuffle) {
    const perm = rng.permutation(nSamples);
    const xs = new Float64Array(x.length);
    const ys = new Uint8Array(nSamples);
    for (let i = 0; i < nSamples; i++) {
      xs[2 * i] = x[2 * perm[i]];
      xs[2 * i + 1] = x[2 * perm[i] + 1];
      ys[i] = y[perm[i]];
    }
    x.set(xs);
    y.set(ys);
  }
  if (cfg.noise > 0) {
    for (let k = 0; k < x.length; k++) x[k] += cfg.noise * rng.normal();
  }
  return { x, y };
}

/**
 * n i.i.d. draws from the data distribution: a moon with probability ½, θ ~ U(0, π) on it, plus
 * N(0, noise²) per coordinate (`makeMoons` places θ on a grid, so two of its data sets are closer to each other than
 * independent samples would be).
 */
export function iidMoons(n: number, noise: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const theta = Math.PI * rng.uniform();
    const outer = rng.uniform() < 0.5;
    x[2 * i] = (outer ? Math.cos(theta) : 1 - Math.cos(theta)) + noise * rng.normal();
    x[2 * i + 1] = (outer ? Math.sin(theta) : 0.5 - Math.sin(theta)) + noise * rng.normal();
  }
  return x;
}
