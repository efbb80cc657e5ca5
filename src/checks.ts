/**
 * Independent numerical checks of the sheet's claims, for the notebooks (each returns plain numbers
 * and a `passed` flag, so a notebook prints PASS/FAIL and a test asserts on it).
 *
 * Exercise 1: the closed-form score of a Gaussian perturbation, ∇_{x_t} log p(x_t | x0) = −ε/σ for
 * x_t = x0 + σε, verified two independent ways:
 *
 * - `symbolicScoreCheck`: mathjs differentiates the 1-D Gaussian log-density symbolically,
 *   simplifies, compares with −(x − x0)/σ², and substitutes x = x0 + σε.
 * - `dsmScoreCheck`: tfjs reverse-mode autodiff of log N(x; x0, σ²I) in d dimensions at seeded
 *   random draws x_t = x0 + σε, compared with −ε/σ.
 *
 *
 * Exercise 2b: `forwardMarginalCheck` simulates the forward SDE and compares with the closed-form marginal.
 * Exercise 3a: `boltzmannScoreCheck` compares finite differences of log p with βF.
 * Exercise 2d: `dsmLossComparison`, the training loss of several score functions on the same draws (model vs floor).
 * Exercise 2e: `moonsReferenceScore`, a near-exact score of the noised moons, to run the sampler without model error.
 * Exercise 3b: `forceCheck` (analytic vs autodiff forces) and `equivarianceCheck` (random rotations, float64/float32).
 */
import * as math from "mathjs";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "./random";
import { showTable } from "./display";
import { alpha, beta, defaultSchedule, sigma, validateSchedule, ScheduleConfig } from "./schedule";
import { gaussianMixtureScore, ScoreFn } from "./sample";
import { makeMoons } from "./moons";
import { autodiffForceFn, autodiffForces, boltzmannScore, equivarianceError, Potential, randomRotation, rotate } from "./equivariance";

/** Result of the symbolic check (all expressions as mathjs strings and LaTeX). */
export interface SymbolicScoreCheck {
  /** log N(x; x0, σ²) in one dimension, the function being differentiated. */
  logDensity: string;
  /** d/dx of `logDensity`, simplified by mathjs. */
  derivative: string;
  /** LaTeX of `derivative`. */
  derivativeTex: string;
  /** simplify(derivative − (−(x − x0)/σ²)); "0" means equal as expressions. */
  differenceFromClosedForm: string;
  /** The claimed closed form at x = x0 + σε (default −ε/σ). */
  claimed: string;
  /** `derivative` with x replaced by x0 + σε, simplified (expected: −ε/σ). */
  atPerturbedPoint: string;
  /** LaTeX of `atPerturbedPoint`. */
  atPerturbedPointTex: string;
  /** simplify(atPerturbedPoint − claimed); "0" means equal as expressions. */
  differenceFromClaimed: string;
  /**
   * max over `nPoints` seeded random (x0, σ, ε) of |derivative(x0+σε) − claimed| / max(1, |claimed|),
   * evaluated in float64.
   */
  maxError: number;
  /** Number of random points evaluated. */
  nPoints: number;
  /** Tolerance used for `passed` (relative, float64). */
  tolerance: number;
  /** True when both symbolic differences simplify to 0 and `maxError <= tolerance`. */
  passed: boolean;
}

/** Options of `symbolicScoreCheck`. */
export interface SymbolicScoreCheckOptions {
  /** Number of random evaluation points (default 1000). */
  nPoints?: number;
  /** Seed of the evaluation points (default 0). */
  seed?: number;
  /** Relative tolerance on the float64 evaluation (default 1e-9). */
  tolerance?: number;
  /** The claimed score at x = x0 + σε, in mathjs syntax (default "-eps / sigma", the sheet's claim). */
  claimed?: string;
}

/**
 * Differentiate the 1-D Gaussian log-density log N(x; x0, σ²) symbolically with mathjs and check
 * that the result equals −(x − x0)/σ² and, at x = x0 + σε, equals −ε/σ.
 * The d-dimensional case factorises into d copies of this one (see notebook 01).
 */
export function symbolicScoreCheck(opts: SymbolicScoreCheckOptions = {}): SymbolicScoreCheck {
  const nPoints = opts.nPoints ?? 1000;
  const seed = opts.seed ?? 0;
  const tolerance = opts.tolerance ?? 1e-9;
  const claimed = opts.claimed ?? "-eps / sigma";
  if (!Number.isInteger(nPoints) || nPoints < 1) {
    throw new RangeError(`Expected nPoints to be a positive integer, but got ${nPoints}`);
  }
  if (!(tolerance > 0)) throw new RangeError(`Expected tolerance > 0, but got ${tolerance}`);

  const logDensity = "-(x - x0)^2 / (2 * sigma^2) - log(sigma) - log(2 * pi) / 2";
  const derivative = math.simplify(math.derivative(logDensity, "x"));
  const difference = math.simplify(math.parse(`(${derivative.toString()}) - (-(x - x0) / sigma^2)`));
  const xAtPerturbed = math.parse("x0 + sigma * eps");
  const substituted = math.simplify(
    derivative.transform((node) => ((node as math.SymbolNode).isSymbolNode && (node as math.SymbolNode).name === "x" ? xAtPerturbed : node)),
  );

  const differenceFromClaimed = math.simplify(math.parse(`(${substituted.toString()}) - (${claimed})`)).toString();

  // Evaluate the symbolic result at random points: it must equal the claim in float64.
  const compiled = derivative.compile();
  const compiledClaim = math.compile(claimed);
  const rng = new Rng(seed);
  let maxError = 0;
  for (let i = 0; i < nPoints; i++) {
    const x0 = 4 * rng.uniform() - 2;
    const sigma = Math.exp(-6 + 6 * rng.uniform()); // σ in [e^-6, 1]: small noise levels matter most
    const eps = rng.normal();
    const value = compiled.evaluate({ x: x0 + sigma * eps, x0, sigma }) as number;
    const target = compiledClaim.evaluate({ x0, sigma, eps }) as number;
    // Relative to the size of the score, which is up to |ε|/σ ≈ 400 · |ε| here.
    const err = Math.abs(value - target) / Math.max(1, Math.abs(target));
    if (err > maxError) maxError = err;
  }
  const differenceFromClosedForm = difference.toString();
  return {
    logDensity,
    derivative: derivative.toString(),
    derivativeTex: derivative.toTex(),
    differenceFromClosedForm,
    claimed,
    atPerturbedPoint: substituted.toString(),
    atPerturbedPointTex: substituted.toTex(),
    differenceFromClaimed,
    maxError,
    nPoints,
    tolerance,
    passed: differenceFromClosedForm === "0" && differenceFromClaimed === "0" && maxError <= tolerance,
  };
}

/** One row of `dsmScoreCheck`: the comparison at one noise level σ. */
export interface DsmScoreCheckRow {
  sigma: number;
  /** max over draws and coordinates of |autodiff score − claimed score|. */
  maxAbsError: number;
  /** `maxAbsError` divided by max |claimed score| (for reading; `passed` uses `roundoffBound`). */
  maxRelError: number;
  /**
   * What float32 round-off alone can explain: 4u·(max|x0| + max|σε|)/σ² + 4u·max|ε|/σ with u = 2⁻²⁴.
   * Forming x_t = x0 + σε and then x_t − x0 in float32 loses ≈ u·|x0| absolutely, and the score
   * divides that by σ², so the error grows like 1/σ² at small σ (see notebook 01).
   */
  roundoffBound: number;
  /** maxAbsError ≤ roundoffBound. */
  passed: boolean;
}

/** Result of `dsmScoreCheck`. */
export interface DsmScoreCheck {
  /** Dimension d of x. */
  dim: number;
  /** Draws per noise level. */
  nDraws: number;
  /** Which tfjs backend computed the gradients. */
  backend: string;
  rows: DsmScoreCheckRow[];
  /** Largest relative error over all rows. */
  maxError: number;
  /** Every row passed. */
  passed: boolean;
}

/** Options of `dsmScoreCheck`. */
export interface DsmScoreCheckOptions {
  /** Dimension d (default 2, the two-moons dimension). */
  dim?: number;
  /** Draws (x0, ε) per noise level (default 1000). */
  nDraws?: number;
  /** Noise levels σ to test (default [1e-3, 1e-2, 0.1, 0.5, 1]). */
  sigmas?: number[];
  /** Seed of the draws (default 0). */
  seed?: number;
  /**
   * The claimed score as a function of one coordinate's noise ε and σ (default −ε/σ, the sheet's
   * claim). Passing a wrong claim, e.g. (eps) => −eps, makes the check fail: it can fail.
   */
  claimed?: (eps: number, sigma: number) => number;
}

/** Unit round-off of float32. */
const FLOAT32_U = 2 ** -24;

/**
 * Numeric check of ∇_x log N(x; x0, σ²I) at x = x0 + σε against −ε/σ, by tfjs autodiff
 * (tf.grad of the summed log-density; each draw's log-density depends only on its own row,
 * so the gradient of the sum is the per-draw gradient). Runs in float32 on tfjs's current backend.
 * x0 ~ U(−2, 2)^d and ε ~ N(0, I) come from `Rng(seed)`.
 */
export function dsmScoreCheck(opts: DsmScoreCheckOptions = {}): DsmScoreCheck {
  const dim = opts.dim ?? 2;
  const nDraws = opts.nDraws ?? 1000;
  const sigmas = opts.sigmas ?? [1e-3, 1e-2, 0.1, 0.5, 1];
  const claimed = opts.claimed ?? ((eps: number, sigma: number) => -eps / sigma);
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`Expected dim to be a positive integer, but got ${dim}`);
  if (!Number.isInteger(nDraws) || nDraws < 1) {
    throw new RangeError(`Expected nDraws to be a positive integer, but got ${nDraws}`);
  }
  for (const s of sigmas) {
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`Expected every sigma > 0, but got sigma=${s}`);
  }
  const rng = new Rng(opts.seed ?? 0);
  const rows: DsmScoreCheckRow[] = [];
  for (const sigma of sigmas) {
    const n = nDraws * dim;
    const x0 = rng.uniformArray(n, -2, 2, new Float32Array(n)) as Float32Array;
    const eps = rng.normalArray(n, new Float32Array(n)) as Float32Array;
    const xt = new Float32Array(n);
    for (let i = 0; i < n; i++) xt[i] = x0[i] + sigma * eps[i];

    const score = tf.tidy(() => {
      const x0T = tf.tensor2d(x0, [nDraws, dim]);
      // log N(x; x0, σ²I) = −‖x − x0‖²/(2σ²) − d log σ − (d/2) log 2π, summed over draws.
      const logNormalizer = dim * Math.log(sigma) + 0.5 * dim * Math.log(2 * Math.PI);
      const logDensity = (x: tf.Tensor) =>
        tf.sum(tf.sub(tf.div(tf.neg(tf.sum(tf.square(tf.sub(x, x0T)), 1)), 2 * sigma * sigma), logNormalizer));
      return tf.grad(logDensity)(tf.tensor2d(xt, [nDraws, dim]));
    });
    const s = score.dataSync();
    score.dispose();
    let maxAbsError = 0;
    let maxTarget = 0;
    let maxX0 = 0;
    let maxEps = 0;
    for (let i = 0; i < n; i++) {
      const target = claimed(eps[i], sigma);
      maxAbsError = Math.max(maxAbsError, Math.abs(s[i] - target));
      maxTarget = Math.max(maxTarget, Math.abs(target));
      maxX0 = Math.max(maxX0, Math.abs(x0[i]));
      maxEps = Math.max(maxEps, Math.abs(eps[i]));
    }
    const roundoffBound = (4 * FLOAT32_U * (maxX0 + sigma * maxEps)) / (sigma * sigma) + (4 * FLOAT32_U * maxEps) / sigma;
    rows.push({
      sigma,
      maxAbsError,
      maxRelError: maxAbsError / Math.max(maxTarget, Number.MIN_VALUE),
      roundoffBound,
      passed: maxAbsError <= roundoffBound,
    });
  }
  const maxError = Math.max(...rows.map((r) => r.maxRelError));
  return { dim, nDraws, backend: tf.getBackend(), rows, maxError, passed: rows.every((r) => r.passed) };
}

/** An expression as inline code, so Markdown does not read `*` as emphasis. */
function code(expr: string): string {
  return `\`${expr}\``;
}

/** PASS/FAIL label for printed checks. */
function verdict(passed: boolean): string {
  return passed ? "PASS" : "FAIL";
}

/** Display a `SymbolicScoreCheck` as a table with a PASS/FAIL line (plain text outside a kernel). */
export function showSymbolicCheck(r: SymbolicScoreCheck): void {
  showTable(
    [
      { quantity: "log-density log N(x; x0, σ²)", value: code(r.logDensity) },
      { quantity: "d/dx (mathjs, simplified)", value: code(r.derivative) },
      { quantity: "simplify(d/dx − (−(x − x0)/σ²))", value: code(r.differenceFromClosedForm) },
      { quantity: "d/dx at x = x0 + σ·eps", value: code(r.atPerturbedPoint) },
      { quantity: "claimed", value: code(r.claimed) },
      { quantity: "simplify(d/dx at x0 + σ·eps − claimed)", value: code(r.differenceFromClaimed) },
      { quantity: `max relative error over ${r.nPoints} random points (float64)`, value: r.maxError.toExponential(2) },
      { quantity: "check", value: `${verdict(r.passed)} (tolerance ${r.tolerance.toExponential(0)})` },
    ],
    { caption: `Symbolic check of the score: ${verdict(r.passed)}` },
  );
}

/** Display a `DsmScoreCheck`: one row per σ, then the overall PASS/FAIL. */
export function showDsmCheck(r: DsmScoreCheck): void {
  showTable(
    r.rows.map((row) => ({
      σ: row.sigma,
      "max |autodiff − (−ε/σ)|": row.maxAbsError,
      "relative error": row.maxRelError,
      "roundoff bound": row.roundoffBound,
      check: verdict(row.passed),
    })),
    {
      caption: `Autodiff check of the score in d=${r.dim}, ${r.nDraws} draws per σ, tfjs backend "${r.backend}" (float32): ` +
        `${verdict(r.passed)}, max relative error ${r.maxError.toExponential(2)}`,
    },
  );
}

/** One row of `forwardMarginalCheck`: simulated vs closed-form moments of x_t | x0 at one time t. */
export type ForwardMarginalRow = {
  t: number;
  /** Closed-form mean α(t)·x0. */
  alphaX0: number;
  /** Sample mean of the simulated x_t (drift −½βx). */
  meanSimulated: number;
  /** Closed-form standard deviation σ(t). */
  sigma: number;
  /** Sample standard deviation of the simulated x_t (drift −½βx). */
  stdSimulated: number;
  /** Sample mean when simulating with the sheet's printed drift +½βx (same noise draws). */
  meanWithSheetSign: number;
  /** |meanSimulated − αx0| and |stdSimulated − σ| within 5 standard errors plus 1% (time discretisation). */
  passed: boolean;
}

/** Options of `forwardMarginalCheck`. */
export interface ForwardMarginalCheckOptions {
  /** Starting point x0 (1-D; each coordinate of the VP-SDE evolves independently). Default 1. */
  x0?: number;
  /** Number of simulated paths (default 10000). */
  nPaths?: number;
  /** Euler–Maruyama steps on [0, 1] (default 1000). */
  steps?: number;
  /** Times at which moments are reported, each in (0, 1] (default [0.1, 0.25, 0.5, 1]). */
  times?: number[];
  /** Seed (default 0). */
  seed?: number;
}

/**
 * Simulate the forward VP-SDE dx = −½β(t)x dt + √β(t) dW from a fixed x0 by Euler–Maruyama (float64) and
 * compare the moments of x_t with the closed-form marginal N(α(t)x0, σ²(t)); also simulate the sheet's printed
 * drift +½β(t)x with the same noise, to show that its mean grows instead of decaying.
 */
export function forwardMarginalCheck(schedule: ScheduleConfig = defaultSchedule(), opts: ForwardMarginalCheckOptions = {}): ForwardMarginalRow[] {
  validateSchedule(schedule);
  const x0 = opts.x0 ?? 1;
  const nPaths = opts.nPaths ?? 10000;
  const steps = opts.steps ?? 1000;
  const times = opts.times ?? [0.1, 0.25, 0.5, 1];
  if (!Number.isInteger(nPaths) || nPaths < 2) throw new RangeError(`Expected nPaths to be an integer >= 2, but got nPaths=${nPaths}`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`Expected steps to be a positive integer, but got steps=${steps}`);
  for (const t of times) {
    if (!(t > 0 && t <= 1)) throw new RangeError(`Expected every time in (0, 1], but got t=${t}`);
  }
  const rng = new Rng(opts.seed ?? 0);
  const x = new Float64Array(nPaths).fill(x0);
  const xSheet = new Float64Array(nPaths).fill(x0);
  const dt = 1 / steps;
  const reportAt = new Map(times.map((t) => [Math.round(t * steps), t]));
  const rows: ForwardMarginalRow[] = [];
  for (let k = 0; k < steps; k++) {
    const b = beta(k * dt, schedule);
    const noise = Math.sqrt(b * dt);
    for (let p = 0; p < nPaths; p++) {
      const z = rng.normal();
      x[p] += -0.5 * b * x[p] * dt + noise * z;
      xSheet[p] += 0.5 * b * xSheet[p] * dt + noise * z;
    }
    const t = reportAt.get(k + 1);
    if (t === undefined) continue;
    const [m, s] = meanStd(x);
    const [mSheet] = meanStd(xSheet);
    const a = alpha(t, schedule) * x0;
    const sg = sigma(t, schedule);
    const se = s / Math.sqrt(nPaths);
    rows.push({
      t,
      alphaX0: a,
      meanSimulated: m,
      sigma: sg,
      stdSimulated: s,
      meanWithSheetSign: mSheet,
      passed: Math.abs(m - a) <= 5 * se + 0.01 * Math.abs(x0) && Math.abs(s - sg) <= 5 * se + 0.01 * sg,
    });
  }
  return rows;
}

function meanStd(v: Float64Array): [number, number] {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - m) ** 2;
  return [m, Math.sqrt(q / (v.length - 1))];
}

/** One row of `boltzmannScoreCheck`. */
export type BoltzmannScoreRow = {
  /** Inverse temperature β. */
  beta: number;
  /** max over coordinates of |finite-difference ∇log p − βF|. */
  maxAbsError: number;
  /** `maxAbsError` / max |βF|. */
  relError: number;
  passed: boolean;
}

/** Options of `boltzmannScoreCheck`. */
export interface BoltzmannScoreCheckOptions {
  /** Inverse temperatures to test (default [0.5, 1, 2]). */
  betas?: number[];
  /** Finite-difference step (default 1e-6, in length units). */
  h?: number;
  /** An arbitrary log Z added to log p, to show that it drops out (default 123.4). */
  logZ?: number;
  /** Relative tolerance (default 1e-6; central differences in float64 give ≈ 1e-9). */
  tolerance?: number;
}

/**
 * Exercise 3a numerically: the score of p(x) = exp(−βU(x))/Z, computed by central finite differences of
 * log p(x) = −βU(x) − log Z in float64 (no forces used), against βF(x) from `boltzmannScore` (analytic forces).
 * @param potential an energy with float64 `energy` and `forces`
 * @param x a configuration, N×3 row-major
 */
export function boltzmannScoreCheck(potential: Potential, x: Float64Array, opts: BoltzmannScoreCheckOptions = {}): BoltzmannScoreRow[] {
  const betas = opts.betas ?? [0.5, 1, 2];
  const h = opts.h ?? 1e-6;
  const logZ = opts.logZ ?? 123.4;
  const tolerance = opts.tolerance ?? 1e-6;
  if (!(h > 0)) throw new RangeError(`Expected h > 0, but got h=${h}`);
  return betas.map((b) => {
    const score = boltzmannScore(potential, b)(x);
    const logP = (y: Float64Array) => -b * potential.energy(y) - logZ;
    let maxAbsError = 0;
    let maxScore = 0;
    const y = Float64Array.from(x);
    for (let k = 0; k < x.length; k++) {
      y[k] = x[k] + h;
      const up = logP(y);
      y[k] = x[k] - h;
      const down = logP(y);
      y[k] = x[k];
      maxAbsError = Math.max(maxAbsError, Math.abs((up - down) / (2 * h) - score[k]));
      maxScore = Math.max(maxScore, Math.abs(score[k]));
    }
    const relError = maxAbsError / maxScore;
    return { beta: b, maxAbsError, relError, passed: relError <= tolerance };
  });
}

/** Display `forwardMarginalCheck` rows: simulated vs closed-form moments, and the sheet-sign mean. */
export function showForwardMarginalCheck(rows: ForwardMarginalRow[]): void {
  showTable(
    rows.map((r) => ({
      t: r.t,
      "α(t)·x0": r.alphaX0,
      "simulated mean": r.meanSimulated,
      "σ(t)": r.sigma,
      "simulated std": r.stdSimulated,
      "mean with the sheet's +½βx": r.meanWithSheetSign,
      check: verdict(r.passed),
    })),
    { caption: `Forward SDE simulated (drift −½βx) vs closed-form marginal: ${verdict(rows.every((r) => r.passed))}` },
  );
}

/** Display `boltzmannScoreCheck` rows with PASS/FAIL. */
export function showBoltzmannCheck(rows: BoltzmannScoreRow[]): void {
  showTable(
    rows.map((r) => ({
      "β (inverse temperature)": r.beta,
      "max |FD ∇log p − βF|": r.maxAbsError,
      "relative error": r.relError,
      check: verdict(r.passed),
    })),
    { caption: `Finite differences of log p = −βU − log Z vs βF (float64): ${verdict(rows.every((r) => r.passed))}` },
  );
}

/** Summary of `forceCheck`: the configuration, and analytic (float64) vs autodiff (float32) forces. */
export type ForceCheck = {
  nAtoms: number;
  /** U(x) (float64). */
  energy: number;
  /** max_i ‖F_i‖ (float64 analytic forces). */
  maxForce: number;
  /** max over coordinates of |F_autodiff − F_analytic|, relative to `maxForce`. */
  autodiffRelError: number;
  /** ‖Σ_i F_i‖ / maxForce: zero for a translation-invariant energy (Newton's third law). */
  netForceRel: number;
  passed: boolean;
};

/**
 * Forces two ways — analytic float64 (`potential.forces`) and tfjs autodiff float32 (`autodiffForces`) — compared
 * coordinate by coordinate; passes when they agree to 1e-5 relative (float32 round-off).
 */
export function forceCheck(potential: Potential, x: Float64Array): ForceCheck {
  const f64 = potential.forces(x);
  const f32 = autodiffForces(potential, x);
  const n = x.length / 3;
  let maxForce = 0, maxDiff = 0;
  const net = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    maxForce = Math.max(maxForce, Math.hypot(f64[3 * i], f64[3 * i + 1], f64[3 * i + 2]));
    for (let a = 0; a < 3; a++) {
      maxDiff = Math.max(maxDiff, Math.abs(f32[3 * i + a] - f64[3 * i + a]));
      net[a] += f64[3 * i + a];
    }
  }
  const autodiffRelError = maxDiff / maxForce;
  return {
    nAtoms: n,
    energy: potential.energy(x),
    maxForce,
    autodiffRelError,
    netForceRel: Math.hypot(net[0], net[1], net[2]) / maxForce,
    passed: autodiffRelError <= 1e-5,
  };
}

/** Display a `ForceCheck`. */
export function showForceCheck(name: string, r: ForceCheck): void {
  showTable(
    [{
      potential: name,
      atoms: r.nAtoms,
      "U(x)": r.energy,
      "max_i ‖F_i‖": r.maxForce,
      "max |F_autodiff − F_analytic| / max‖F_i‖": r.autodiffRelError,
      "‖Σ_i F_i‖ / max‖F_i‖": r.netForceRel,
      check: verdict(r.passed),
    }],
    { caption: `Forces: analytic (float64) vs tfjs autodiff (float32): ${verdict(r.passed)}` },
  );
}

/** One rotation's row of `equivarianceCheck`. */
export type EquivarianceRow = {
  /** ‖RᵀR − I‖_max and det R: R is a rotation. */
  orthogonalityError: number;
  det: number;
  /** |U(xRᵀ) − U(x)| (float64). */
  energyChange: number;
  /** ‖F(xRᵀ) − F(x)Rᵀ‖_F / ‖F(x)‖_F with float64 analytic forces. */
  errorFloat64: number;
  /** The same with float32 tfjs-autodiff forces. */
  errorFloat32: number;
};

/** Result of `equivarianceCheck`; `passed` means invariant energy and equivariant forces to round-off. */
export type EquivarianceCheck = {
  potential: string;
  /** U(x) at the unrotated configuration. */
  energy: number;
  rows: EquivarianceRow[];
  /** Tolerances: energy 1e-12·max(1, |U|) absolute; forces float64 1e-12, float32 1e-5 (relative). */
  passed: boolean;
};

/**
 * Exercise 3b numerically: for `nRotations` Haar-random rotations R (from `rng`), the change of the energy under
 * x ↦ xRᵀ and the equivariance error of its forces, in float64 (analytic) and float32 (autodiff).
 */
export function equivarianceCheck(potential: Potential, x: Float64Array, rng: Rng, nRotations = 5): EquivarianceCheck {
  if (!Number.isInteger(nRotations) || nRotations < 1) {
    throw new RangeError(`Expected nRotations to be a positive integer, but got nRotations=${nRotations}`);
  }
  const u = potential.energy(x);
  const rows: EquivarianceRow[] = [];
  for (let k = 0; k < nRotations; k++) {
    const R = randomRotation(rng);
    let orth = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let m = 0; m < 3; m++) s += R[3 * m + i] * R[3 * m + j];
        orth = Math.max(orth, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    const det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) + R[2] * (R[3] * R[7] - R[4] * R[6]);
    rows.push({
      orthogonalityError: orth,
      det,
      energyChange: Math.abs(potential.energy(rotate(x, R)) - u),
      errorFloat64: equivarianceError((y) => potential.forces(y), x, R),
      errorFloat32: equivarianceError(autodiffForceFn(potential), x, R),
    });
  }
  const passed = rows.every((r) => r.energyChange <= 1e-12 * Math.max(1, Math.abs(u)) && r.errorFloat64 <= 1e-12 && r.errorFloat32 <= 1e-5);
  return { potential: potential.name, energy: u, rows, passed };
}

/** Display an `EquivarianceCheck`, one row per rotation. */
export function showEquivarianceCheck(r: EquivarianceCheck): void {
  showTable(
    r.rows.map((row, k) => ({
      R: k + 1,
      "‖RᵀR − I‖": row.orthogonalityError,
      "det R": row.det,
      "|U(xRᵀ) − U(x)|": row.energyChange,
      "equivariance error, float64": row.errorFloat64,
      "equivariance error, float32 autodiff": row.errorFloat32,
    })),
    { caption: `${r.potential}, U(x) = ${r.energy.toPrecision(5)}: invariant energy and equivariant forces: ${verdict(r.passed)}`, digits: 3 },
  );
}

/**
 * A near-exact score of the noised two-moons density, for a reference run of the sampler: the data density
 * (noise-free moon curves blurred by N(0, noise²I)) is approximated by an equal-weight Gaussian mixture with
 * `pointsPerMoon` components N(c_k, noise²I) at evenly spaced points c_k of each noise-free curve (as `makeMoons`
 * places them), and the mixture's score under the VP marginal is exact (`gaussianMixtureScore`). With the default
 * 100 points per moon the spacing along the curves (π/99 ≈ 0.03) is below the noise 0.05, so the mixture is a
 * smooth tube like the data. Cost: O(n · 2·pointsPerMoon) per call.
 */
export function moonsReferenceScore(noise: number, schedule: ScheduleConfig = defaultSchedule(), pointsPerMoon = 100): ScoreFn {
  if (!(noise > 0) || !Number.isFinite(noise)) throw new RangeError(`Expected noise > 0, but got noise=${noise}`);
  if (!Number.isInteger(pointsPerMoon) || pointsPerMoon < 2) {
    throw new RangeError(`Expected pointsPerMoon to be an integer >= 2, but got pointsPerMoon=${pointsPerMoon}`);
  }
  const curve = makeMoons(2 * pointsPerMoon, { noise: 0, shuffle: false }).x;
  const K = 2 * pointsPerMoon;
  const means = Array.from({ length: K }, (_, k) => [curve[2 * k], curve[2 * k + 1]]);
  const cov = [[noise * noise, 0], [0, noise * noise]];
  return gaussianMixtureScore(new Array(K).fill(1), means, new Array(K).fill(cov), schedule);
}

/** One row of `dsmLossComparison`. */
export type DsmLossRow = {
  label: string;
  /** Monte Carlo estimate of E‖s(x_t, t) + ε/max(σ(t), σ_min)‖² (the training loss, as in `dsmLoss`). */
  loss: number;
  /** Its standard error. */
  standardError: number;
  /** loss − loss of the `floor` entry, on the same draws (paired), and its standard error. */
  excess: number;
  excessStandardError: number;
};

/** Options of `dsmLossComparison`. */
export interface DsmLossComparisonOptions {
  /** Number of times t, stratified: one uniform draw in each of `groups` equal slices of [tMin, 1] (default 400). */
  groups?: number;
  /** Points (x0, ε) per time (default 50). */
  perGroup?: number;
  /** Index of the entry that the `excess` column is measured against (default: the last entry). */
  floor?: number;
  /** Seed (default 0). */
  seed?: number;
}

/**
 * The DSM training loss of several score functions on the SAME random draws (paired, so differences are precise):
 * for `groups` stratified times t in [tMin, 1], `perGroup` rows x0 of `data` and ε ~ N(0, I) give x_t = α x0 + σ ε and
 * the squared residual ‖s(x_t, t) + ε/max(σ, σ_min)‖². Grouping by t lets a `ScoreFn` (one t per call) be used; with one
 * uniform t per equal slice the estimate of the expectation over t ~ U(tMin, 1) stays unbiased and has less variance.
 * Typical entries: the trained model, s = 0 (nothing learned), a near-exact score (the loss floor, put last).
 * @param data training points, n×2 row-major
 */
export function dsmLossComparison(
  entries: { label: string; score: ScoreFn }[],
  data: Float64Array | Float32Array,
  schedule: ScheduleConfig,
  lossCfg: { tMin: number; sigmaMin: number },
  opts: DsmLossComparisonOptions = {},
): DsmLossRow[] {
  const groups = opts.groups ?? 400;
  const perGroup = opts.perGroup ?? 50;
  const floor = opts.floor ?? entries.length - 1;
  if (!Number.isInteger(groups) || groups < 2) throw new RangeError(`Expected groups to be an integer >= 2, but got groups=${groups}`);
  if (!Number.isInteger(perGroup) || perGroup < 1) throw new RangeError(`Expected perGroup to be a positive integer, but got perGroup=${perGroup}`);
  if (!Number.isInteger(floor) || floor < 0 || floor >= entries.length) {
    throw new RangeError(`Expected floor to index one of the ${entries.length} entries, but got floor=${floor}`);
  }
  const nData = data.length / 2;
  const rng = new Rng(opts.seed ?? 0);
  const perGroupLoss = entries.map(() => new Float64Array(groups));
  for (let g = 0; g < groups; g++) {
    const t = lossCfg.tMin + ((1 - lossCfg.tMin) * (g + rng.uniform())) / groups;
    const a = alpha(t, schedule), sg = sigma(t, schedule), sClamped = Math.max(sg, lossCfg.sigmaMin);
    const xt = new Float64Array(2 * perGroup), eps = new Float64Array(2 * perGroup);
    for (let i = 0; i < perGroup; i++) {
      const j = rng.int(nData);
      for (let d = 0; d < 2; d++) {
        eps[2 * i + d] = rng.normal();
        xt[2 * i + d] = a * data[2 * j + d] + sg * eps[2 * i + d];
      }
    }
    entries.forEach((e, k) => {
      const s = e.score(xt, t, perGroup);
      let sum = 0;
      for (let q = 0; q < 2 * perGroup; q++) sum += (s[q] + eps[q] / sClamped) ** 2;
      perGroupLoss[k][g] = sum / perGroup;
    });
  }
  // Stratified estimate: mean of the slice means; its variance is Σ Var(slice)/groups², estimated from the spread
  // of neighbouring slices (pairs 2i, 2i+1), which is conservative for a smooth dependence on t.
  const stats = (v: Float64Array): [number, number] => {
    let m = 0;
    for (let g = 0; g < groups; g++) m += v[g];
    m /= groups;
    let q = 0, pairs = 0;
    for (let g = 0; g + 1 < groups; g += 2) {
      q += (v[g] - v[g + 1]) ** 2 / 2;
      pairs++;
    }
    return [m, Math.sqrt(q / pairs / groups)];
  };
  return entries.map((e, k) => {
    const [loss, standardError] = stats(perGroupLoss[k]);
    const diff = perGroupLoss[k].map((v, g) => v - perGroupLoss[floor][g]);
    const [excess, excessStandardError] = stats(diff);
    return { label: e.label, loss, standardError, excess, excessStandardError };
  });
}

/** Display `dsmLossComparison` rows. */
export function showDsmLossComparison(rows: DsmLossRow[]): void {
  const floor = rows.find((r) => r.excess === 0 && r.excessStandardError === 0)?.label ?? "floor";
  showTable(
    rows.map((r) => ({
      "score function": r.label,
      "DSM loss": r.loss,
      "± s.e.": r.standardError,
      [`excess over "${floor}"`]: r.excess,
      "± s.e. (paired)": r.excessStandardError,
    })),
    { caption: "DSM loss on the same random draws (stratified t in [ε, 1], x0 from the training set, ε ~ N(0, I))", digits: 4 },
  );
}

/** The score function s(x, t) = 0 ("nothing learned"): its DSM loss is E‖ε‖²/σ(t)², the loss's starting scale. */
export const zeroScore: ScoreFn = (_x, _t, n) => new Float64Array(2 * n);
