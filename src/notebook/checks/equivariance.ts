/**
 * Exercise 3:
 * - 3a: `boltzmannScoreCheck` compares finite differences of log p with κF.
 * - 3b: `forceCheck`/`forceChecks` (analytic vs autodiff forces; net force and net torque),
 *   `equivarianceCheck` (random rotations; F(xRᵀ) by routes independent of the force formula),
 *   `scoreEquivarianceCheck` and `equivarianceSweep` (the score of p ∝ exp(−κU), by finite
 *   differences of log p only, is equivariant when U is invariant), and `forceArrowPanels` (the
 *   data of a force-arrow figure).
 *
 * Each check returns a `CheckResult` for `showChecks`. κ is the inverse temperature (the sheet's β;
 * `beta` in this library is the noise rate β(t)).
 */
import { Rng } from "../../core/random";
import { autodiffForceFn, autodiffForces } from "../../engines/tfjs-energy";
import {
  boltzmannLogDensity,
  boltzmannScore,
  equivarianceErrorBetween,
  finiteDifferenceGradient,
  finiteDifferenceScore,
  ForceFn,
  netForce,
  netTorque,
  Potential,
  projectXY,
  randomRotation,
  rotate,
  rotationAboutAxis,
} from "../../core/equivariance";
import { QuiverPanel } from "../plot/quiver";
import { LineSeries } from "../plot/lines";
import { Check, CheckResult, compare, overallStatus, skipped } from "./check";

/** One row of `boltzmannScoreCheck`. */
export type BoltzmannScoreRow = {
  /** Inverse temperature κ. */
  inverseTemperature: number;
  /** max over coordinates of |finite-difference ∇log p − κF|. */
  maxAbsError: number;
  /** `maxAbsError` / max |κF|. */
  relError: number;
};

/** Result of `boltzmannScoreCheck`; `checks`: per κ, `relError` against 0 within the tolerance. */
export interface BoltzmannScoreCheck extends CheckResult {
  rows: BoltzmannScoreRow[];
}

/** Options of `boltzmannScoreCheck`. */
export interface BoltzmannScoreCheckOptions {
  /** Inverse temperatures κ to test (default [0.5, 1, 2]). */
  inverseTemperatures?: number[];
  /** Finite-difference step (default 1e-6, in length units). */
  h?: number;
  /** An arbitrary log Z added to log p, to show that it drops out (default 123.4). */
  logZ?: number;
  /** Relative tolerance (default 1e-6; central differences in float64 give ≈ 1e-9). */
  tolerance?: number;
}

/**
 * Exercise 3a numerically: the score of p(x) = exp(−κU(x))/Z, computed by central finite
 * differences of log p(x) = −κU(x) − log Z in float64 (no forces used), against κF(x) from
 * `boltzmannScore` (analytic forces).
 * @param potential an energy with float64 `energy` and `forces`
 * @param x a configuration, N×3 row-major
 */
export function boltzmannScoreCheck(
  potential: Potential,
  x: Float64Array,
  opts: BoltzmannScoreCheckOptions = {},
): BoltzmannScoreCheck {
  const kappas = opts.inverseTemperatures ?? [0.5, 1, 2];
  const h = opts.h ?? 1e-6;
  const logZ = opts.logZ ?? 123.4;
  const tolerance = opts.tolerance ?? 1e-6;
  if (!(h > 0)) throw new RangeError(`Expected h > 0, but got h=${h}`);
  const rows = kappas.map((kappa): BoltzmannScoreRow => {
    const score = boltzmannScore(potential, kappa)(x);
    const fd = finiteDifferenceGradient(boltzmannLogDensity(potential, kappa, logZ), x, h);
    let maxAbsError = 0;
    let maxScore = 0;
    for (let k = 0; k < x.length; k++) {
      maxAbsError = Math.max(maxAbsError, Math.abs(fd[k] - score[k]));
      maxScore = Math.max(maxScore, Math.abs(score[k]));
    }
    return { inverseTemperature: kappa, maxAbsError, relError: maxAbsError / maxScore };
  });
  const checks = rows.map((r) => compare(`κ = ${r.inverseTemperature}`, r.relError, 0, tolerance));
  return {
    title: "Finite differences of log p = −κU − log Z vs κF (float64)",
    checks,
    table: rows.map((r, k) => ({
      "κ (inverse temperature)": r.inverseTemperature,
      "max |FD ∇log p − κF|": r.maxAbsError,
      "relative error": r.relError,
      check: checks[k].status,
    })),
    rows,
  };
}

/** tfjs autodiff forces, or the reason they could not be computed (then a check is SKIPPED). */
function tryAutodiff(potential: Potential, x: Float64Array): Float32Array | string {
  try {
    return autodiffForces(potential, x);
  } catch (e) {
    return `tfjs autodiff unavailable for ${potential.name}: ${(e as Error).message}`;
  }
}

/**
 * Result of `forceCheck`: the configuration, analytic (float64) vs autodiff (float32) forces, and
 * the net force and torque of the analytic forces. `checks`: `autodiffRelError` against 0 within
 * 1e-5 (float32 round-off; SKIPPED when tfjs cannot differentiate the energy), `netForceRel` and
 * `netTorqueRel` against 0 within 1e-12 (float64 round-off).
 */
export interface ForceCheck extends CheckResult {
  nAtoms: number;
  /** U(x) (float64). */
  energy: number;
  /** max_i ‖F_i‖ (float64 analytic forces). */
  maxForce: number;
  /** max over coordinates of |F_autodiff − F_analytic|, relative to `maxForce` (NaN: skipped). */
  autodiffRelError: number;
  /**
   * ‖Σ_i F_i‖ / Σ_i ‖F_i‖: zero for a translation-invariant energy (differentiate
   * U(x + 1cᵀ) = U(x) in c; Newton's third law for pair forces).
   */
  netForceRel: number;
  /**
   * ‖Σ_i x_i × F_i‖ / Σ_i ‖x_i‖‖F_i‖ (torque about the origin): zero for an energy invariant under
   * rotations about the origin.
   */
  netTorqueRel: number;
}

/**
 * Forces of `potential` at x: analytic float64 (`potential.forces`) against tfjs autodiff float32
 * (`autodiffForces`), coordinate by coordinate (passes at 1e-5 relative, float32 round-off); and
 * two consequences of invariance that need no second implementation: zero net force (translation
 * invariance) and zero net torque about the origin (rotation invariance), both at 1e-12 relative.
 */
export function forceCheck(potential: Potential, x: Float64Array): ForceCheck {
  const f64 = potential.forces(x);
  const f32 = tryAutodiff(potential, x);
  const n = x.length / 3;
  let maxForce = 0,
    maxDiff = 0,
    sumForce = 0,
    sumMoment = 0;
  for (let i = 0; i < n; i++) {
    const fi = Math.hypot(f64[3 * i], f64[3 * i + 1], f64[3 * i + 2]);
    maxForce = Math.max(maxForce, fi);
    sumForce += fi;
    sumMoment += Math.hypot(x[3 * i], x[3 * i + 1], x[3 * i + 2]) * fi;
    if (typeof f32 !== "string")
      for (let a = 0; a < 3; a++)
        maxDiff = Math.max(maxDiff, Math.abs(f32[3 * i + a] - f64[3 * i + a]));
  }
  const r = {
    nAtoms: n,
    energy: potential.energy(x),
    maxForce,
    autodiffRelError: typeof f32 === "string" ? NaN : maxDiff / maxForce,
    netForceRel: Math.hypot(...netForce(f64)) / sumForce,
    netTorqueRel: Math.hypot(...netTorque(x, f64)) / sumMoment,
  };
  const checks = [
    typeof f32 === "string"
      ? skipped(`${potential.name}: autodiff vs analytic forces`, f32)
      : compare(`${potential.name}: autodiff vs analytic forces`, r.autodiffRelError, 0, 1e-5),
    compare(`${potential.name}: net force (translation invariance)`, r.netForceRel, 0, 1e-12),
    compare(`${potential.name}: net torque (rotation invariance)`, r.netTorqueRel, 0, 1e-12),
  ];
  const failed = ["autodiff", "net force", "net torque"].filter(
    (_, k) => checks[k].status === "FAIL",
  );
  const status = overallStatus(checks);
  return {
    title: "Forces: analytic (float64) vs tfjs autodiff (float32)",
    checks,
    table: [
      {
        potential: potential.name,
        atoms: r.nAtoms,
        "U(x)": r.energy,
        "max_i ‖F_i‖": r.maxForce,
        "autodiff vs analytic": typeof f32 === "string" ? null : r.autodiffRelError,
        "net force (translation)": r.netForceRel,
        "net torque (rotation)": r.netTorqueRel,
        check:
          status +
          (failed.length ? ` (${failed.join(", ")})` : "") +
          (checks[0].status === "SKIPPED" ? " (autodiff SKIPPED)" : ""),
      },
    ],
    digits: 3,
    ...r,
  };
}

/** Options of `forceChecks`. */
export interface ForceChecksOptions {
  /** The table's caption (default "Forces: analytic (float64) vs tfjs autodiff (float32)"). */
  title?: string;
}

/**
 * `forceCheck` for several energies at the same x, as one table (one row per energy), with a footer
 * that says what the columns are and how far the configuration's centroid is from the origin.
 */
export function forceChecks(
  potentials: Potential[],
  x: Float64Array,
  opts: ForceChecksOptions = {},
): CheckResult & { results: ForceCheck[] } {
  if (!Array.isArray(potentials) || potentials.length === 0)
    throw new RangeError(
      `Expected potentials to be a non-empty array of Potential, but got ${String(potentials)}`,
    );
  const results = potentials.map((p) => forceCheck(p, x));
  const n = x.length / 3;
  const centroid = Math.hypot(...netForce(x)) / n; // Σ_i x_i: the same sum as a net force
  return {
    title: opts.title ?? results[0].title,
    checks: results.flatMap((r) => r.checks),
    table: results.map((r) => {
      const { atoms: _atoms, ...row } = r.table[0];
      return row;
    }),
    digits: 3,
    footer: [
      `${n} atoms. autodiff vs analytic: max |F_autodiff − F_analytic| / max‖F_i‖ (≤ 1e-5);`,
      `net force: ‖Σ F_i‖ / Σ‖F_i‖ (≤ 1e-12); net torque about the origin:`,
      `‖Σ x_i × F_i‖ / Σ‖x_i‖‖F_i‖ (≤ 1e-12); centroid of x: ‖Σ x_i‖ / N = ` +
        centroid.toExponential(2),
    ],
    results,
  };
}

/** One rotation's row of `equivarianceCheck`. */
export type EquivarianceRow = {
  /** ‖RᵀR − I‖_max and det R: R is a rotation. */
  orthogonalityError: number;
  det: number;
  /** |U(xRᵀ) − U(x)| (float64). */
  energyChange: number;
  /** ‖F(xRᵀ) − F(x)Rᵀ‖_F / ‖F(x)‖_F, both sides from the analytic formula (float64). */
  errorAnalytic: number;
  /**
   * The same with F(xRᵀ) from central finite differences of U at xRᵀ (float64, no force formula)
   * and F(x)Rᵀ from the analytic forces.
   */
  errorFloat64: number;
  /** The same with F(xRᵀ) from tfjs autodiff (float32) and F(x)Rᵀ analytic (NaN: skipped). */
  errorFloat32: number;
};

/**
 * Result of `equivarianceCheck`. `checks`, per rotation: U(xRᵀ) against U(x) within
 * 1e-12·max(1, |U|); the independent-route errors against 0 within 1e-6 (finite differences) and
 * 1e-5 (float32 autodiff; SKIPPED when tfjs cannot differentiate the energy).
 */
export interface EquivarianceCheck extends CheckResult {
  potential: string;
  /** U(x) at the unrotated configuration. */
  energy: number;
  rows: EquivarianceRow[];
}

/**
 * Exercise 3b numerically: for `nRotations` Haar-random rotations R (from `rng`), the change of the
 * energy under x ↦ xRᵀ and the equivariance error of its forces, with F(xRᵀ) computed by a route
 * that does not use the force formula (finite differences of U, float64; tfjs autodiff, float32)
 * against the analytic F(x)Rᵀ. The analytic-both-sides error is reported, not checked.
 * @param h finite-difference step (default 1e-5)
 */
export function equivarianceCheck(
  potential: Potential,
  x: Float64Array,
  rng: Rng,
  nRotations = 5,
  h = 1e-5,
): EquivarianceCheck {
  if (!Number.isInteger(nRotations) || nRotations < 1) {
    throw new RangeError(
      `Expected nRotations to be a positive integer, but got nRotations=${nRotations}`,
    );
  }
  const u = potential.energy(x);
  const analytic: ForceFn = (y) => potential.forces(y);
  const fd: ForceFn = (y) => finiteDifferenceGradient(potential.energy, y, h).map((g) => -g);
  const probe = tryAutodiff(potential, x);
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
      errorAnalytic: equivarianceErrorBetween(analytic, analytic, x, R),
      errorFloat64: equivarianceErrorBetween(fd, analytic, x, R),
      errorFloat32:
        typeof probe === "string"
          ? NaN
          : equivarianceErrorBetween(autodiffForceFn(potential), analytic, x, R),
    };
    rows.push(row);
    checks.push([
      compare(`R${k + 1}: U(xR^T)`, energyRotated, u, 1e-12 * Math.max(1, Math.abs(u)), "U(x)"),
      compare(`R${k + 1}: FD F(xR^T) vs analytic F(x)R^T`, row.errorFloat64, 0, 1e-6),
      typeof probe === "string"
        ? skipped(`R${k + 1}: autodiff F(xR^T) vs analytic F(x)R^T`, probe)
        : compare(`R${k + 1}: autodiff F(xR^T) vs analytic F(x)R^T`, row.errorFloat32, 0, 1e-5),
    ]);
  }
  return {
    title: `${potential.name}, U(x) = ${u.toPrecision(5)}: invariant energy and equivariant forces`,
    checks: checks.flat(),
    footer: [
      "equivariance errors ‖F(xR^T) − F(x)R^T‖ / ‖F(x)‖, F(x)R^T from the analytic forces;",
      "F(xR^T) by three routes: the same analytic formula (reported, not checked), central",
      `finite differences of U at xR^T (h = ${sci(h)}, ≤ 1e-6), tfjs autodiff in float32 (≤ 1e-5)`,
    ],
    table: rows.map((row, k) => ({
      R: k + 1,
      // R^T spelled out: the superscript-T character is missing from common print fonts.
      "‖R^T R − I‖": row.orthogonalityError,
      "det R": row.det,
      "|U(xR^T) − U(x)|": row.energyChange,
      "F(xR^T) analytic (same formula)": row.errorAnalytic,
      "F(xR^T) by FD of U, float64": row.errorFloat64,
      "F(xR^T) by autodiff, float32": Number.isNaN(row.errorFloat32) ? null : row.errorFloat32,
      check: overallStatus(checks[k]),
    })),
    digits: 3,
    potential: potential.name,
    energy: u,
    rows,
  };
}

/** An energy for the score-equivariance experiments, and what the theorem predicts for it. */
export interface ScoreCase {
  potential: Potential;
  /** true: U is rotation-invariant, so the score must be equivariant; false: a control. */
  invariant: boolean;
  /** Short label for tables and legends (default: the potential's name). */
  label?: string;
}

/** Options of `scoreEquivarianceCheck` and `equivarianceSweep`. */
export interface ScoreEquivarianceOptions {
  /** Inverse temperature κ of p ∝ exp(−κU) (default 1). */
  inverseTemperature?: number;
  /** Finite-difference step (default 1e-5). */
  h?: number;
  /**
   * An invariant case passes when the error is ≤ tolerance (default 1e-6, finite-difference
   * precision with a wide margin); a control passes when it is > 100 × tolerance (violation seen).
   */
  tolerance?: number;
}

/** 1e-6 rather than 0.000001 (and 1e-4, not 0.00009999999999999999). */
function sci(v: number): string {
  return Number(v.toPrecision(3)).toExponential();
}

function scoreCheck(c: ScoreCase, name: string, err: number, tolerance: number): Check {
  if (c.invariant) return compare(name, err, 0, tolerance, "equivariant to FD precision");
  const seen = err > 100 * tolerance;
  return {
    name,
    value: err,
    reference: 100 * tolerance,
    tolerance: 0,
    status: seen ? "PASS" : "FAIL",
    note: "control: the error must exceed the reference",
  };
}

function scoreSetup(cases: ScoreCase[], opts: ScoreEquivarianceOptions) {
  if (!Array.isArray(cases) || cases.length === 0)
    throw new RangeError(
      `Expected cases to be a non-empty array of {potential, invariant}, but got ` +
        `${String(cases)}`,
    );
  const kappa = opts.inverseTemperature ?? 1;
  const h = opts.h ?? 1e-5;
  const tolerance = opts.tolerance ?? 1e-6;
  const scores = cases.map((c) =>
    finiteDifferenceScore(boltzmannLogDensity(c.potential, kappa), h),
  );
  return { kappa, h, tolerance, scores };
}

/**
 * The distributional statement of exercise 3: if U is rotation-invariant, the score s = ∇log p of
 * p ∝ exp(−κU) satisfies s(xRᵀ) = s(x)Rᵀ. Both sides come from central finite differences of
 * log p alone (`finiteDifferenceScore`, a Cartesian gradient that knows nothing of rotations), for
 * `nRotations` Haar-random R. Invariant cases pass when the relative error is at FD precision;
 * controls (`invariant: false`) pass when the violation is clearly above it.
 */
export function scoreEquivarianceCheck(
  cases: ScoreCase[],
  x: Float64Array,
  rng: Rng,
  nRotations = 3,
  opts: ScoreEquivarianceOptions = {},
): CheckResult & { errors: number[][] } {
  if (!Number.isInteger(nRotations) || nRotations < 1)
    throw new RangeError(
      `Expected nRotations to be a positive integer, but got nRotations=${nRotations}`,
    );
  const { kappa, h, tolerance, scores } = scoreSetup(cases, opts);
  const Rs = Array.from({ length: nRotations }, () => randomRotation(rng));
  const errors = cases.map((_, i) =>
    Rs.map((R) => equivarianceErrorBetween(scores[i], scores[i], x, R)),
  );
  const checks = cases.map((c, i) =>
    scoreCheck(c, `${c.label ?? c.potential.name}`, Math.max(...errors[i]), tolerance),
  );
  return {
    title:
      `Score of p ∝ exp(−κU), κ = ${kappa}, by central finite differences of log p ` +
      `(h = ${sci(h)}): max over ${nRotations} random R of ‖s(xR^T) − s(x)R^T‖ / ‖s(x)‖`,
    checks,
    table: cases.map((c, i) => ({
      energy: c.label ?? c.potential.name,
      "U invariant?": c.invariant ? "yes" : "no (control)",
      "max error": Math.max(...errors[i]),
      "min error": Math.min(...errors[i]),
      "passes when": c.invariant ? `≤ ${sci(tolerance)}` : `> ${sci(100 * tolerance)}`,
      check: checks[i].status,
    })),
    digits: 3,
    errors,
  };
}

/** Options of `equivarianceSweep`. */
export interface SweepOptions extends ScoreEquivarianceOptions {
  /** Rotation axis (default (1, 2, 3), a generic direction). */
  axis?: [number, number, number];
  /** Number of angles, evenly spaced on [0, 2π] (default 73, every 5°). */
  nAngles?: number;
  /** Errors below this are drawn at it, so that a log axis can show them (default 1e-17). */
  floor?: number;
}

/**
 * The equivariance error of the finite-difference score of p ∝ exp(−κU) as a function of the
 * rotation angle θ ∈ [0, 2π] about a fixed axis, for each case: the data of a log-scale line plot
 * (`series`, errors floored at `floor`) and checks on the angles θ ∉ {0, 2π} (at θ = 0, R = I and
 * the error is exactly 0 for any map) as in `scoreEquivarianceCheck`.
 */
export function equivarianceSweep(
  cases: ScoreCase[],
  x: Float64Array,
  opts: SweepOptions = {},
): CheckResult & { angles: number[]; errors: number[][]; series: LineSeries[] } {
  const nAngles = opts.nAngles ?? 73;
  const floor = opts.floor ?? 1e-17;
  const axis = opts.axis ?? [1, 2, 3];
  if (!Number.isInteger(nAngles) || nAngles < 3)
    throw new RangeError(`Expected nAngles to be an integer >= 3, but got nAngles=${nAngles}`);
  if (!(floor > 0)) throw new RangeError(`Expected floor > 0, but got floor=${floor}`);
  const { kappa, tolerance, scores } = scoreSetup(cases, opts);
  const angles = Array.from({ length: nAngles }, (_, k) => (2 * Math.PI * k) / (nAngles - 1));
  const Rs = angles.map((a) => rotationAboutAxis(axis, a));
  const errors = cases.map((_, i) =>
    Rs.map((R) => equivarianceErrorBetween(scores[i], scores[i], x, R)),
  );
  const inner = (e: number[]) => e.slice(1, -1);
  const checks = cases.map((c, i) =>
    scoreCheck(c, `${c.label ?? c.potential.name}`, Math.max(...inner(errors[i])), tolerance),
  );
  const series = cases.map((c, i) => ({
    label: c.label ?? c.potential.name,
    x: angles,
    y: errors[i].map((e) => Math.max(e, floor)),
  }));
  return {
    title:
      `Rotations about (${axis.join(", ")}) by θ ∈ (0, 2π), ${nAngles - 2} angles: ` +
      `‖s(xR^T) − s(x)R^T‖ / ‖s(x)‖ with s = FD ∇log p, κ = ${kappa}`,
    checks,
    table: cases.map((c, i) => ({
      energy: c.label ?? c.potential.name,
      "U invariant?": c.invariant ? "yes" : "no (control)",
      "min error": Math.min(...inner(errors[i])),
      "max error": Math.max(...inner(errors[i])),
      "error at θ = 0": errors[i][0],
      "error at θ = 2π": errors[i][nAngles - 1],
      check: checks[i].status,
    })),
    digits: 3,
    footer: [`errors below ${floor} are drawn at ${floor} on the log axis`],
    angles,
    errors,
    series,
  };
}

/**
 * The panels of a force-arrow figure (`quiver`), projected on the xy plane: x with F(x); xRᵀ with
 * F(xRᵀ) from central finite differences of U at xRᵀ (no force formula) and the analytic F(x)Rᵀ,
 * which coincide when U is rotation-invariant.
 */
export function forceArrowPanels(
  potential: Potential,
  x: Float64Array,
  R: Float64Array | number[],
  h = 1e-5,
): QuiverPanel[] {
  const y = rotate(x, R);
  const fx = potential.forces(x);
  const fdAtY = finiteDifferenceGradient(potential.energy, y, h).map((g) => -g);
  return [
    {
      title: "configuration x",
      points: projectXY(x),
      vectors: [{ label: "F(x)", v: projectXY(fx) }],
    },
    {
      title: "rotated copy xR^T",
      points: projectXY(y),
      vectors: [
        { label: "F(x)R^T (analytic, rotated)", v: projectXY(rotate(fx, R)) },
        { label: "F(xR^T) (finite differences of U)", v: projectXY(fdAtY) },
      ],
    },
  ];
}
