/**
 * Exercise 1: the closed-form score of a Gaussian perturbation, ∇_{x_t} log p(x_t | x0) = −ε/σ for
 * x_t = x0 + σε, verified two independent ways:
 *
 * - `symbolicScoreCheck`: mathjs differentiates the 1-D Gaussian log-density symbolically,
 *   simplifies, compares with −(x − x0)/σ², and substitutes x = x0 + σε.
 * - `dsmScoreCheck`: tfjs reverse-mode autodiff of log N(x; x0, σ²I) in d dimensions at seeded
 *   random draws x_t = x0 + σε, compared with −ε/σ.
 *
 * Both return a `CheckResult` for `showChecks`.
 */
import * as math from "mathjs";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../core/random";
import { CheckResult, compare } from "./check";

/** An expression as inline code, so Markdown does not read `*` as emphasis. */
function code(expr: string): string {
  return `\`${expr}\``;
}

/**
 * Result of the symbolic check (all expressions as mathjs strings and LaTeX). `checks`: both
 * simplified differences against "0", and `maxError` against 0 within `tolerance`.
 */
export interface SymbolicScoreCheck extends CheckResult {
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
   * max over `nPoints` seeded random (x0, σ, ε) of |derivative(x0+σε) − claimed| / max(1,
   * |claimed|), evaluated in float64.
   */
  maxError: number;
  /** Number of random points evaluated. */
  nPoints: number;
  /** Tolerance on `maxError` (relative, float64). */
  tolerance: number;
}

/** Options of `symbolicScoreCheck`. */
export interface SymbolicScoreCheckOptions {
  /** Number of random evaluation points (default 1000). */
  nPoints?: number;
  /** Seed of the evaluation points (default 0). */
  seed?: number;
  /** Relative tolerance on the float64 evaluation (default 1e-9). */
  tolerance?: number;
  /**
   * The claimed score at x = x0 + σε, in mathjs syntax (default "-eps / sigma", the sheet's claim).
   */
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
  const difference = math.simplify(
    math.parse(`(${derivative.toString()}) - (-(x - x0) / sigma^2)`),
  );
  const xAtPerturbed = math.parse("x0 + sigma * eps");
  const substituted = math.simplify(
    derivative.transform((node) =>
      (node as math.SymbolNode).isSymbolNode && (node as math.SymbolNode).name === "x"
        ? xAtPerturbed
        : node,
    ),
  );

  const differenceFromClaimed = math
    .simplify(math.parse(`(${substituted.toString()}) - (${claimed})`))
    .toString();

  // Evaluate the symbolic result at random points: it must equal the claim in float64.
  const compiled = derivative.compile();
  const compiledClaim = math.compile(claimed);
  const rng = new Rng(seed);
  let maxError = 0;
  for (let i = 0; i < nPoints; i++) {
    const x0 = 4 * rng.uniform() - 2;
    // σ in [e^-6, 1]: small noise levels matter most
    const sigma = Math.exp(-6 + 6 * rng.uniform());
    const eps = rng.normal();
    const value = compiled.evaluate({ x: x0 + sigma * eps, x0, sigma }) as number;
    const target = compiledClaim.evaluate({ x0, sigma, eps }) as number;
    // Relative to the size of the score, which is up to |ε|/σ ≈ 400 · |ε| here.
    const err = Math.abs(value - target) / Math.max(1, Math.abs(target));
    if (err > maxError) maxError = err;
  }
  const differenceFromClosedForm = difference.toString();
  const closedFormName = "simplify(d/dx − (−(x − x0)/σ²))";
  const claimName = "simplify(d/dx at x0 + σ·eps − claimed)";
  const errorName = `max relative error over ${nPoints} random points (float64)`;
  const checks = [
    compare(closedFormName, differenceFromClosedForm, "0", 0),
    compare(claimName, differenceFromClaimed, "0", 0),
    compare(errorName, maxError, 0, tolerance),
  ];
  const [closedForm, claim, error] = checks;
  const row = (quantity: string, value: string, check = "") => ({ quantity, value, check });
  return {
    title: "Symbolic check of the score",
    checks,
    table: [
      row("log-density log N(x; x0, σ²)", code(logDensity)),
      row("d/dx (mathjs, simplified)", code(derivative.toString())),
      row(closedFormName, code(differenceFromClosedForm), closedForm.status),
      row("d/dx at x = x0 + σ·eps", code(substituted.toString())),
      row("claimed", code(claimed)),
      row(claimName, code(differenceFromClaimed), claim.status),
      row(
        errorName,
        maxError.toExponential(2),
        `${error.status} (tolerance ${tolerance.toExponential(0)})`,
      ),
    ],
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
  };
}

/** One row of `dsmScoreCheck`: the comparison at one noise level σ. */
export interface DsmScoreCheckRow {
  sigma: number;
  /** max over draws and coordinates of |autodiff score − claimed score|. */
  maxAbsError: number;
  /** `maxAbsError` divided by max |claimed score| (for reading; the check uses `roundoffBound`). */
  maxRelError: number;
  /**
   * What float32 round-off alone can explain: 4u·(max|x0| + max|σε|)/σ² + 4u·max|ε|/σ with u =
   * 2⁻²⁴. Forming x_t = x0 + σε and then x_t − x0 in float32 loses ≈ u·|x0| absolutely, and the
   * score divides that by σ², so the error grows like 1/σ² at small σ (see notebook 01).
   */
  roundoffBound: number;
}

/** Result of `dsmScoreCheck`; `checks`: per σ, maxAbsError against 0 within roundoffBound. */
export interface DsmScoreCheck extends CheckResult {
  /** Dimension d of x. */
  dim: number;
  /** Draws per noise level. */
  nDraws: number;
  /** Which tfjs backend computed the gradients. */
  backend: string;
  rows: DsmScoreCheckRow[];
  /** Largest relative error over all rows. */
  maxError: number;
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
  if (!Number.isInteger(dim) || dim < 1)
    throw new RangeError(`Expected dim to be a positive integer, but got ${dim}`);
  if (!Number.isInteger(nDraws) || nDraws < 1) {
    throw new RangeError(`Expected nDraws to be a positive integer, but got ${nDraws}`);
  }
  for (const s of sigmas) {
    if (!(s > 0) || !Number.isFinite(s))
      throw new RangeError(`Expected every sigma > 0, but got sigma=${s}`);
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
        tf.sum(
          tf.sub(
            tf.div(tf.neg(tf.sum(tf.square(tf.sub(x, x0T)), 1)), 2 * sigma * sigma),
            logNormalizer,
          ),
        );
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
    const roundoffBound =
      (4 * FLOAT32_U * (maxX0 + sigma * maxEps)) / (sigma * sigma) +
      (4 * FLOAT32_U * maxEps) / sigma;
    rows.push({
      sigma,
      maxAbsError,
      maxRelError: maxAbsError / Math.max(maxTarget, Number.MIN_VALUE),
      roundoffBound,
    });
  }
  const maxError = Math.max(...rows.map((r) => r.maxRelError));
  const checks = rows.map((r) =>
    compare(`σ = ${r.sigma}`, r.maxAbsError, 0, r.roundoffBound, "float32 round-off bound"),
  );
  const backend = tf.getBackend();
  return {
    title:
      `Autodiff check of the score in d=${dim}, ${nDraws} draws per σ, tfjs backend ` +
      `"${backend}" (float32), max relative error ${maxError.toExponential(2)}`,
    checks,
    table: rows.map((row, k) => ({
      σ: row.sigma,
      "max |autodiff − (−ε/σ)|": row.maxAbsError,
      "relative error": row.maxRelError,
      "roundoff bound": row.roundoffBound,
      check: checks[k].status,
    })),
    dim,
    nDraws,
    backend,
    rows,
    maxError,
  };
}
