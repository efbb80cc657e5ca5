/**
 * Exercise 1, the step after the sheet's identity: the minimiser of denoising score matching is
 * the score of the noised density. By Tweedie's argument E[−ε/σ | x] = ∇log p_σ(x), so the mean of
 * the DSM target over the draws that land near x must equal the exact score there. Checked on a
 * 1-D Gaussian mixture, whose noised score is known in closed form, against Monte Carlo draws.
 */
import { Rng } from "../../core/random";
import { LinePanel, linePanels } from "../plot/lines";
import { Figure } from "../plot/render";
import { CheckResult, compare } from "./check";

/** A 1-D Gaussian mixture Σ_k w_k N(μ_k, s_k²) (weights sum to 1). */
export interface Mixture1d {
  weights: number[];
  means: number[];
  sds: number[];
}

/** The default data density of the check: two unequal, well-separated bumps. */
export function defaultMixture1d(): Mixture1d {
  return { weights: [0.3, 0.7], means: [-1.5, 1], sds: [0.3, 0.5] };
}

/**
 * Score of the mixture blurred by N(0, σ²): p_σ = Σ_k w_k N(μ_k, s_k² + σ²), so
 * ∇log p_σ(x) = −Σ_k r_k(x)(x − μ_k)/(s_k² + σ²) with responsibilities r_k ∝ w_k N(x; μ_k, ·).
 */
export function mixture1dScore(m: Mixture1d, sigma: number, x: number): number {
  let num = 0;
  let den = 0;
  const logs = m.weights.map((w, k) => {
    const v = m.sds[k] ** 2 + sigma ** 2;
    return Math.log(w) - 0.5 * Math.log(v) - (x - m.means[k]) ** 2 / (2 * v);
  });
  const top = Math.max(...logs);
  logs.forEach((l, k) => {
    const r = Math.exp(l - top);
    num += (-r * (x - m.means[k])) / (m.sds[k] ** 2 + sigma ** 2);
    den += r;
  });
  return num / den;
}

/** One bin of the check: draws whose noisy x fell in [lo, hi). */
export interface MinimiserBin {
  sigma: number;
  /** Mean of the noisy x over the bin's draws. */
  x: number;
  count: number;
  /** Mean of the DSM target −ε/σ over the bin's draws, and its standard error. */
  target: number;
  targetSe: number;
  /** Mean of the closed-form score ∇log p_σ(x) over the same draws. */
  score: number;
  /** Mean of the claimed minimiser over the same draws (the score unless `claimed` is given). */
  claimed: number;
}

/** Options of `dsmMinimiserCheck`. */
export interface DsmMinimiserOptions {
  mixture?: Mixture1d;
  /** Noise levels (default [0.2, 0.5, 1]). */
  sigmas?: number[];
  /** Draws per noise level (default 200 000). */
  nDraws?: number;
  /** Bins over the central 99 % of x (default 24); a bin needs 500 draws to be compared. */
  bins?: number;
  seed?: number;
  /**
   * The claimed minimiser f(x, σ) (default: the closed-form score ∇log p_σ). A wrong claim, e.g.
   * the score of the clean mixture, makes the check fail: it can fail.
   */
  claimed?: (x: number, sigma: number) => number;
}

/** Result of `dsmMinimiserCheck`. */
export interface DsmMinimiserCheck extends CheckResult {
  bins: MinimiserBin[];
  mixture: Mixture1d;
}

/** Largest |z| allowed for one bin (about 1 in 15 000 under the normal law, per bin). */
const Z_MAX = 4;

/**
 * Draw x0 from the mixture and ε ~ N(0, 1), form x = x0 + σε and the DSM target y = −ε/σ; bin
 * the draws by x and compare, per bin, the mean of y with the mean of the claimed minimiser over
 * the same draws. Averaging the score over the bin's own draws (instead of evaluating it at the
 * bin's centre) leaves no binning bias: E[y | x] = ∇log p_σ(x) makes both means estimate the same
 * number, so their difference is Monte Carlo noise of known size (the s.e. of y's mean).
 */
export function dsmMinimiserCheck(opts: DsmMinimiserOptions = {}): DsmMinimiserCheck {
  const m = opts.mixture ?? defaultMixture1d();
  const sigmas = opts.sigmas ?? [0.2, 0.5, 1];
  const nDraws = opts.nDraws ?? 200_000;
  const nBins = opts.bins ?? 24;
  for (const s of sigmas)
    if (!(s > 0) || !Number.isFinite(s))
      throw new RangeError(`Expected every sigma > 0, but got sigma=${s}`);
  if (!Number.isInteger(nDraws) || nDraws < 1000)
    throw new RangeError(`Expected nDraws to be an integer ≥ 1000, but got nDraws=${nDraws}`);
  if (!Number.isInteger(nBins) || nBins < 1)
    throw new RangeError(`Expected bins to be a positive integer, but got bins=${nBins}`);
  const claimed = opts.claimed ?? ((x: number, s: number) => mixture1dScore(m, s, x));
  const rng = new Rng(opts.seed ?? 0);
  const cdf = cumulative(m.weights);
  const bins: MinimiserBin[] = [];
  for (const sigma of sigmas) {
    const x = new Float64Array(nDraws);
    const y = new Float64Array(nDraws);
    for (let i = 0; i < nDraws; i++) {
      const u = rng.uniform();
      const k = cdf.findIndex((c) => u < c);
      const x0 = m.means[k] + m.sds[k] * rng.normal();
      const eps = rng.normal();
      x[i] = x0 + sigma * eps;
      y[i] = -eps / sigma;
    }
    const sorted = Float64Array.from(x).sort();
    const [lo, hi] = [sorted[Math.floor(0.005 * nDraws)], sorted[Math.floor(0.995 * nDraws)]];
    const acc = Array.from({ length: nBins }, () => ({ n: 0, x: 0, y: 0, yy: 0, s: 0, c: 0 }));
    for (let i = 0; i < nDraws; i++) {
      const b = Math.floor(((x[i] - lo) / (hi - lo)) * nBins);
      if (b < 0 || b >= nBins) continue;
      const a = acc[b];
      a.n += 1;
      a.x += x[i];
      a.y += y[i];
      a.yy += y[i] * y[i];
      a.s += mixture1dScore(m, sigma, x[i]);
      a.c += claimed(x[i], sigma);
    }
    for (const a of acc) {
      if (a.n < 500) continue;
      const mean = a.y / a.n;
      const variance = (a.yy / a.n - mean * mean) * (a.n / (a.n - 1));
      bins.push({
        sigma,
        x: a.x / a.n,
        count: a.n,
        target: mean,
        targetSe: Math.sqrt(variance / a.n),
        score: a.s / a.n,
        claimed: a.c / a.n,
      });
    }
  }
  const checks = sigmas.map((sigma) => {
    const rows = bins.filter((b) => b.sigma === sigma);
    const zMax = Math.max(...rows.map((b) => Math.abs(b.target - b.claimed) / b.targetSe));
    return compare(`σ = ${sigma}: largest |z| over ${rows.length} bins`, zMax, 0, Z_MAX);
  });
  const table = sigmas.map((sigma, k) => {
    const rows = bins.filter((b) => b.sigma === sigma);
    const worst = rows.reduce((w, b) =>
      Math.abs(b.target - b.claimed) / b.targetSe > Math.abs(w.target - w.claimed) / w.targetSe
        ? b
        : w,
    );
    return {
      σ: sigma,
      bins: rows.length,
      draws: rows.reduce((a, b) => a + b.count, 0),
      "max |z|": checks[k].value as number,
      "at x ≈": worst.x,
      "mean −ε/σ there": worst.target,
      "mean claim there": worst.claimed,
      check: checks[k].status,
    };
  });
  return {
    title:
      `Mean of the DSM target −ε/σ near x against the claimed minimiser (1-D mixture, ` +
      `${nDraws} draws per σ; z = (mean target − mean claim)/s.e. per bin, PASS at |z| ≤ ${Z_MAX})`,
    checks,
    table,
    bins,
    mixture: m,
  };
}

/**
 * One panel per σ: the closed-form score ∇log p_σ(x) on a grid, and the bins' mean DSM target
 * −ε/σ (Monte Carlo), which should lie on it.
 */
export function dsmMinimiserFigure(result: DsmMinimiserCheck): Promise<Figure> {
  const sigmas = [...new Set(result.bins.map((b) => b.sigma))];
  const panels: LinePanel[] = sigmas.map((sigma) => {
    const rows = result.bins.filter((b) => b.sigma === sigma);
    const [lo, hi] = [rows[0].x, rows[rows.length - 1].x];
    const grid = Array.from({ length: 121 }, (_, i) => lo + ((hi - lo) * i) / 120);
    return {
      title: `σ = ${sigma}`,
      series: [
        {
          label: "∇log p_σ (closed form)",
          x: grid,
          y: grid.map((x) => mixture1dScore(result.mixture, sigma, x)),
        },
        { label: "mean of −ε/σ per bin", x: rows.map((b) => b.x), y: rows.map((b) => b.target) },
      ],
    };
  });
  return linePanels(panels, { xTitle: "x (noisy)", yTitle: "score", columns: 3 });
}

function cumulative(w: number[]): number[] {
  const total = w.reduce((a, b) => a + b, 0);
  let c = 0;
  return w.map((v, k) => (k === w.length - 1 ? Infinity : (c += v / total)));
}
