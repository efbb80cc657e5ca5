/**
 * Exercise 3:
 * - 3a: `boltzmannScoreCheck` compares finite differences of log p with βF.
 * - 3b: `forceCheck` (analytic vs autodiff forces) and `equivarianceCheck` (random rotations,
 *   float64/float32).
 *
 * Each returns a `CheckResult` for `showChecks`.
 */
import { Rng } from "../../core/random";
import { autodiffForceFn, autodiffForces } from "../../engines/tfjs-energy";
import {
  boltzmannScore,
  equivarianceError,
  Potential,
  randomRotation,
  rotate,
} from "../../core/equivariance";
import { Check, CheckResult, compare, overallStatus } from "./check";

/** One row of `boltzmannScoreCheck`. */
export type BoltzmannScoreRow = {
  /** Inverse temperature β. */
  beta: number;
  /** max over coordinates of |finite-difference ∇log p − βF|. */
  maxAbsError: number;
  /** `maxAbsError` / max |βF|. */
  relError: number;
};

/** Result of `boltzmannScoreCheck`; `checks`: per β, `relError` against 0 within the tolerance. */
export interface BoltzmannScoreCheck extends CheckResult {
  rows: BoltzmannScoreRow[];
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
 * Exercise 3a numerically: the score of p(x) = exp(−βU(x))/Z, computed by central finite
 * differences of log p(x) = −βU(x) − log Z in float64 (no forces used), against βF(x) from
 * `boltzmannScore` (analytic forces).
 * @param potential an energy with float64 `energy` and `forces`
 * @param x a configuration, N×3 row-major
 */
export function boltzmannScoreCheck(
  potential: Potential,
  x: Float64Array,
  opts: BoltzmannScoreCheckOptions = {},
): BoltzmannScoreCheck {
  const betas = opts.betas ?? [0.5, 1, 2];
  const h = opts.h ?? 1e-6;
  const logZ = opts.logZ ?? 123.4;
  const tolerance = opts.tolerance ?? 1e-6;
  if (!(h > 0)) throw new RangeError(`Expected h > 0, but got h=${h}`);
  const rows = betas.map((b): BoltzmannScoreRow => {
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
    return { beta: b, maxAbsError, relError: maxAbsError / maxScore };
  });
  const checks = rows.map((r) => compare(`β = ${r.beta}`, r.relError, 0, tolerance));
  return {
    title: "Finite differences of log p = −βU − log Z vs βF (float64)",
    checks,
    table: rows.map((r, k) => ({
      "β (inverse temperature)": r.beta,
      "max |FD ∇log p − βF|": r.maxAbsError,
      "relative error": r.relError,
      check: checks[k].status,
    })),
    rows,
  };
}

/**
 * Result of `forceCheck`: the configuration, and analytic (float64) vs autodiff (float32) forces.
 * `checks`: `autodiffRelError` against 0 within 1e-5 (float32 round-off).
 */
export interface ForceCheck extends CheckResult {
  nAtoms: number;
  /** U(x) (float64). */
  energy: number;
  /** max_i ‖F_i‖ (float64 analytic forces). */
  maxForce: number;
  /** max over coordinates of |F_autodiff − F_analytic|, relative to `maxForce`. */
  autodiffRelError: number;
  /** ‖Σ_i F_i‖ / maxForce: zero for a translation-invariant energy (Newton's third law). */
  netForceRel: number;
}

/**
 * Forces two ways — analytic float64 (`potential.forces`) and tfjs autodiff float32
 * (`autodiffForces`) — compared coordinate by coordinate; passes when they agree to 1e-5 relative
 * (float32 round-off).
 */
export function forceCheck(potential: Potential, x: Float64Array): ForceCheck {
  const f64 = potential.forces(x);
  const f32 = autodiffForces(potential, x);
  const n = x.length / 3;
  let maxForce = 0,
    maxDiff = 0;
  const net = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    maxForce = Math.max(maxForce, Math.hypot(f64[3 * i], f64[3 * i + 1], f64[3 * i + 2]));
    for (let a = 0; a < 3; a++) {
      maxDiff = Math.max(maxDiff, Math.abs(f32[3 * i + a] - f64[3 * i + a]));
      net[a] += f64[3 * i + a];
    }
  }
  const r = {
    nAtoms: n,
    energy: potential.energy(x),
    maxForce,
    autodiffRelError: maxDiff / maxForce,
    netForceRel: Math.hypot(net[0], net[1], net[2]) / maxForce,
  };
  const checks = [compare("autodiff vs analytic forces", r.autodiffRelError, 0, 1e-5)];
  return {
    title: "Forces: analytic (float64) vs tfjs autodiff (float32)",
    checks,
    table: [
      {
        potential: potential.name,
        atoms: r.nAtoms,
        "U(x)": r.energy,
        "max_i ‖F_i‖": r.maxForce,
        "max |F_autodiff − F_analytic| / max‖F_i‖": r.autodiffRelError,
        "‖Σ_i F_i‖ / max‖F_i‖": r.netForceRel,
        check: checks[0].status,
      },
    ],
    ...r,
  };
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

/**
 * Result of `equivarianceCheck`. `checks`, per rotation: U(xRᵀ) against U(x) within
 * 1e-12·max(1, |U|); the equivariance errors against 0 within 1e-12 (float64) and 1e-5 (float32).
 */
export interface EquivarianceCheck extends CheckResult {
  potential: string;
  /** U(x) at the unrotated configuration. */
  energy: number;
  rows: EquivarianceRow[];
}

/**
 * Exercise 3b numerically: for `nRotations` Haar-random rotations R (from `rng`), the change of the
 * energy under x ↦ xRᵀ and the equivariance error of its forces, in float64 (analytic) and float32
 * (autodiff).
 */
export function equivarianceCheck(
  potential: Potential,
  x: Float64Array,
  rng: Rng,
  nRotations = 5,
): EquivarianceCheck {
  if (!Number.isInteger(nRotations) || nRotations < 1) {
    throw new RangeError(
      `Expected nRotations to be a positive integer, but got nRotations=${nRotations}`,
    );
  }
  const u = potential.energy(x);
  const rows: EquivarianceRow[] = [];
  const checks: Check[][] = [];
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
    const det =
      R[0] * (R[4] * R[8] - R[5] * R[7]) -
      R[1] * (R[3] * R[8] - R[5] * R[6]) +
      R[2] * (R[3] * R[7] - R[4] * R[6]);
    const energyRotated = potential.energy(rotate(x, R));
    const row: EquivarianceRow = {
      orthogonalityError: orth,
      det,
      energyChange: Math.abs(energyRotated - u),
      errorFloat64: equivarianceError((y) => potential.forces(y), x, R),
      errorFloat32: equivarianceError(autodiffForceFn(potential), x, R),
    };
    rows.push(row);
    checks.push([
      compare(`R${k + 1}: U(xR^T)`, energyRotated, u, 1e-12 * Math.max(1, Math.abs(u)), "U(x)"),
      compare(`R${k + 1}: equivariance error, float64`, row.errorFloat64, 0, 1e-12),
      compare(`R${k + 1}: equivariance error, float32`, row.errorFloat32, 0, 1e-5),
    ]);
  }
  return {
    title: `${potential.name}, U(x) = ${u.toPrecision(5)}: invariant energy and equivariant forces`,
    checks: checks.flat(),
    table: rows.map((row, k) => ({
      R: k + 1,
      // R^T spelled out: the superscript-T character is missing from common print fonts.
      "‖R^T R − I‖": row.orthogonalityError,
      "det R": row.det,
      "|U(xR^T) − U(x)|": row.energyChange,
      "equiv. error, float64": row.errorFloat64,
      "equiv. error, float32 (autodiff)": row.errorFloat32,
      check: overallStatus(checks[k]),
    })),
    digits: 3,
    potential: potential.name,
    energy: u,
    rows,
  };
}
