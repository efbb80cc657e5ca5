/**
 * Sample-quality numbers for 2-D point clouds (n×2 row-major arrays): two-sample distances (MMD
 * with a Gaussian kernel, energy distance) and the share of points lying on each noise-free moon.
 * All pairwise sums are exact O(n·m) loops in float64; a few thousand points take well under a
 * second.
 */

type Points = Float64Array | Float32Array;

function countPoints(x: Points, name: string): number {
  if (x.length === 0 || x.length % 2 !== 0) {
    throw new RangeError(
      `Expected ${name} to hold n×2 coordinates (positive even length), but got ` +
        `${name}.length=${x.length}`,
    );
  }
  for (let k = 0; k < x.length; k++) {
    if (!Number.isFinite(x[k]))
      throw new RangeError(`Expected finite coordinates in ${name}, but got ${name}[${k}]=${x[k]}`);
  }
  return x.length / 2;
}

function dist2(a: Points, i: number, b: Points, j: number): number {
  const dx = a[2 * i] - b[2 * j],
    dy = a[2 * i + 1] - b[2 * j + 1];
  return dx * dx + dy * dy;
}

/**
 * Median heuristic: the median distance between points of the pooled sample a ∪ b. For large
 * samples a deterministic, evenly strided subset of at most 1000 pooled points is used.
 */
export function medianBandwidth(a: Points, b: Points): number {
  const na = countPoints(a, "a"),
    nb = countPoints(b, "b");
  const n = na + nb;
  const stride = Math.max(1, Math.ceil(n / 1000));
  const pts: number[] = [];
  for (let k = 0; k < n; k += stride) {
    const src = k < na ? a : b,
      i = k < na ? k : k - na;
    pts.push(src[2 * i], src[2 * i + 1]);
  }
  const m = pts.length / 2;
  const d = new Float64Array((m * (m - 1)) / 2);
  let p = 0;
  for (let i = 0; i < m; i++)
    for (let j = i + 1; j < m; j++)
      d[p++] = Math.hypot(pts[2 * i] - pts[2 * j], pts[2 * i + 1] - pts[2 * j + 1]);
  if (d.length === 0) return 1;
  d.sort();
  const h = d.length % 2 ? d[(d.length - 1) / 2] : 0.5 * (d[d.length / 2 - 1] + d[d.length / 2]);
  return h > 0 ? h : 1; // all points equal: any bandwidth gives the same (zero) answer
}

/**
 * Squared maximum mean discrepancy with the Gaussian kernel k(x, y) = exp(−|x − y|² / (2h²)),
 * UNBIASED estimator (U-statistic, Gretton et al. 2012):
 *   MMD² = 1/(n(n−1)) Σ_{i≠i'} k(a_i, a_i') + 1/(m(m−1)) Σ_{j≠j'} k(b_j, b_j')
 *          − 2/(nm) Σ_{i,j} k(a_i, b_j).
 * Its expectation is 0 when a and b come from the same distribution, so it can be slightly
 * negative.
 * @param a n×2 row-major, n ≥ 2
 * @param b m×2 row-major, m ≥ 2
 * @param bandwidth h > 0; default: the median heuristic (`medianBandwidth(a, b)`)
 */
export function mmdRbf(a: Points, b: Points, bandwidth?: number): number {
  const n = countPoints(a, "a"),
    m = countPoints(b, "b");
  if (n < 2 || m < 2)
    throw new RangeError(`Expected at least 2 points in each sample, but got n=${n}, m=${m}`);
  const h = bandwidth ?? medianBandwidth(a, b);
  if (!(h > 0) || !Number.isFinite(h))
    throw new RangeError(
      `Expected bandwidth to be a positive finite number, but got bandwidth=${h}`,
    );
  const c = -1 / (2 * h * h);
  let kaa = 0,
    kbb = 0,
    kab = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) kaa += Math.exp(c * dist2(a, i, a, j));
  for (let i = 0; i < m; i++)
    for (let j = i + 1; j < m; j++) kbb += Math.exp(c * dist2(b, i, b, j));
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) kab += Math.exp(c * dist2(a, i, b, j));
  return (2 * kaa) / (n * (n - 1)) + (2 * kbb) / (m * (m - 1)) - (2 * kab) / (n * m);
}

/**
 * Energy distance (Székely & Rizzo), V-statistic (biased, always ≥ 0):
 *   D² = 2/(nm) Σ_{i,j} |a_i − b_j| − 1/n² Σ_{i,i'} |a_i − a_i'| − 1/m² Σ_{j,j'} |b_j − b_j'|.
 * Zero exactly when the two empirical distributions coincide. In 1-D it equals 2∫(F_a − F_b)² dx.
 */
export function energyDistance(a: Points, b: Points): number {
  const n = countPoints(a, "a"),
    m = countPoints(b, "b");
  let daa = 0,
    dbb = 0,
    dab = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) daa += Math.sqrt(dist2(a, i, a, j));
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) dbb += Math.sqrt(dist2(b, i, b, j));
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) dab += Math.sqrt(dist2(a, i, b, j));
  return (2 * dab) / (n * m) - (2 * daa) / (n * n) - (2 * dbb) / (m * m);
}

/**
 * Distance from (px, py) to the upper unit half-circle {(cos θ, sin θ): θ ∈ [0, π]}: radial if the
 * point lies in the closed upper half-plane, else to the nearer end point (±1, 0).
 */
function distanceToUpperHalfCircle(px: number, py: number): number {
  if (py >= 0) return Math.abs(Math.hypot(px, py) - 1);
  return Math.min(Math.hypot(px - 1, py), Math.hypot(px + 1, py));
}

/**
 * Distances of a point to the two noise-free moons of `make_moons`:
 * outer (cos θ, sin θ) and inner (1 − cos θ, 1 − sin θ − 0.5), θ ∈ [0, π].
 * The inner moon is the outer one turned by 180° about (0.5, 0.25): (x, y) -> (1 − x, 0.5 − y).
 */
export function moonDistances(px: number, py: number): { outer: number; inner: number } {
  return {
    outer: distanceToUpperHalfCircle(px, py),
    inner: distanceToUpperHalfCircle(1 - px, 0.5 - py),
  };
}

/** Shares of points on each moon (fractions in [0, 1] summing to 1). */
export interface MoonShares {
  /** Fraction within `threshold` of the outer moon (and nearer to it than to the inner one). */
  outer: number;
  /** Fraction within `threshold` of the inner moon (and nearer to it than to the outer one). */
  inner: number;
  /** Fraction farther than `threshold` from both moons. */
  neither: number;
}

/** Default distance threshold for `moonShares`: 3 × the default data noise 0.05. */
export const defaultMoonThreshold = 0.15;

function checkThreshold(threshold: number): void {
  if (!(threshold >= 0) || !Number.isFinite(threshold)) {
    throw new RangeError(
      `Expected threshold to be a finite number >= 0, but got threshold=${threshold}`,
    );
  }
}

/**
 * Label each point of x (n×2 row-major) by its distance to the noise-free moon curves: 0 = outer
 * moon, 1 = inner moon (the `y` labels of `makeMoons`), −1 = neither. A point gets the nearer moon
 * if that distance is ≤ threshold. For data made with noise s the distance is about |N(0, s²)|, so
 * threshold = 3s keeps ≈ 99.7% of clean samples.
 */
export function moonLabels(x: Points, threshold: number = defaultMoonThreshold): Int8Array {
  const n = countPoints(x, "x");
  checkThreshold(threshold);
  const labels = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const d = moonDistances(x[2 * i], x[2 * i + 1]);
    labels[i] = Math.min(d.outer, d.inner) > threshold ? -1 : d.outer <= d.inner ? 0 : 1;
  }
  return labels;
}

/**
 * Shares of points of x (n×2 row-major) on the outer moon, the inner moon and neither (see
 * `moonLabels`).
 */
export function moonShares(x: Points, threshold: number = defaultMoonThreshold): MoonShares {
  const labels = moonLabels(x, threshold);
  let outer = 0,
    inner = 0;
  for (const l of labels) {
    if (l === 0) outer++;
    else if (l === 1) inner++;
  }
  const n = labels.length;
  return { outer: outer / n, inner: inner / n, neither: (n - outer - inner) / n };
}
