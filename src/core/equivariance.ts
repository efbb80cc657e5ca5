/**
 * Rotations, a rotation-invariant energy for N atoms, its forces, and the equivariance check of
 * exercise 3: for a Boltzmann density p(x) ∝ exp(−κU(x)) (κ = 1/(k_B T), the sheet's β) the score
 * is ∇log p = −κ∇U = κF, and an energy with U(xRᵀ) = U(x) has forces with F(xRᵀ) = F(x)Rᵀ. Also a
 * many-body energy (det of the gyration tensor), a generic finite-difference gradient that knows
 * nothing of rotations, and the net force and torque of a force field.
 *  Conventions: a configuration x ∈ R^{N×3} is a row-major Float64Array of length 3N (row i = atom
 * i); a rotation R is a row-major 3×3 Float64Array; rotating a configuration maps every atom x_i to
 * R x_i, which for the stacked rows is x Rᵀ.
 */
import { Rng } from "./random";

/** A force field: configuration (N×3, row-major) -> forces F = −∇U (N×3, row-major). */
export type ForceFn = (x: Float64Array) => Float64Array | Float32Array;

/** An energy U(x) of N atoms with its forces in float64 (analytic), and what it is made of. */
export interface Potential {
  /** Short description, e.g. "Lennard-Jones(epsilon=1, sigma=1)". */
  name: string;
  /** U(x) in float64; x is N×3 row-major. */
  energy(x: Float64Array): number;
  /** F = −∇U(x) in float64 from analytic pair formulas; N×3 row-major. */
  forces(x: Float64Array): Float64Array;
  /** Its parameters, for other implementations of the same energy (e.g. tfjs autodiff). */
  terms:
    | { lennardJones: LennardJonesConfig }
    | { base: Potential; trap: number[] }
    | { gyration: number };
}

/** Lennard-Jones pair potential u(r) = 4ε[(σ/r)¹² − (σ/r)⁶]. */
export interface LennardJonesConfig {
  /** Well depth ε > 0 (energy unit). */
  epsilon: number;
  /** Length scale σ > 0 where u(σ) = 0; the minimum sits at r = 2^{1/6}σ. */
  sigma: number;
}

/** Reduced units: ε = 1, σ = 1. */
export function defaultLennardJonesConfig(): LennardJonesConfig {
  return {
    epsilon: 1, // energies in units of ε
    sigma: 1, // lengths in units of σ
  };
}

/** A small jittered cubic-lattice cluster, the default test configuration. */
export interface ClusterConfig {
  /** Number of atoms N (positive integer). */
  nAtoms: number;
  /** Lattice spacing (in units of σ). */
  spacing: number;
  /** Standard deviation of the Gaussian jitter added to each coordinate (in units of σ). */
  jitter: number;
}

/** The default 13-atom cluster (see `ClusterConfig`). */
export function defaultClusterConfig(): ClusterConfig {
  return {
    nAtoms: 13, // a classic LJ cluster size; small enough for O(N²) checks everywhere
    spacing: Math.pow(2, 1 / 6), // the LJ pair minimum, so the cluster is near a bound state
    jitter: 0.1, // breaks lattice symmetry so that forces are non-zero and generic
  };
}

function checkPositiveFinite(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0)
    throw new RangeError(`Expected ${name} to be a positive finite number, but got ${name}=${v}`);
}

function checkConfiguration(x: Float64Array | Float32Array, name = "x"): number {
  if (x.length === 0 || x.length % 3 !== 0) {
    throw new RangeError(
      `Expected ${name} to hold N×3 coordinates (length a positive multiple of 3), but got ` +
        `length ${x.length}`,
    );
  }
  for (let k = 0; k < x.length; k++) {
    if (!Number.isFinite(x[k]))
      throw new RangeError(`Expected finite coordinates in ${name}, but got ${name}[${k}]=${x[k]}`);
  }
  return x.length / 3;
}

function checkRotationShape(R: Float64Array | number[]): void {
  if (R.length !== 9)
    throw new RangeError(
      `Expected R to be a 3×3 row-major matrix (length 9), but got length ${R.length}`,
    );
}

/**
 * A uniformly random rotation (Haar measure on SO(3)): a unit quaternion from four independent
 * standard normals is uniform on the 3-sphere, and its rotation matrix is Haar-distributed; det R =
 * +1.
 * @returns row-major 3×3 Float64Array.
 */
export function randomRotation(rng: Rng): Float64Array {
  let w = 0,
    a = 0,
    b = 0,
    c = 0,
    n2 = 0;
  while (n2 < 1e-12) {
    w = rng.normal();
    a = rng.normal();
    b = rng.normal();
    c = rng.normal();
    n2 = w * w + a * a + b * b + c * c;
  }
  const s = 1 / Math.sqrt(n2);
  w *= s;
  a *= s;
  b *= s;
  c *= s;
  return new Float64Array([
    1 - 2 * (b * b + c * c),
    2 * (a * b - w * c),
    2 * (a * c + w * b),
    2 * (a * b + w * c),
    1 - 2 * (a * a + c * c),
    2 * (b * c - w * a),
    2 * (a * c - w * b),
    2 * (b * c + w * a),
    1 - 2 * (a * a + b * b),
  ]);
}

/**
 * Rotate every row: returns x Rᵀ, i.e. atom i goes to R x_i. x is N×3 row-major, R is 3×3
 * row-major. Works in float64 whatever the input type.
 */
export function rotate(x: Float64Array | Float32Array, R: Float64Array | number[]): Float64Array {
  checkRotationShape(R);
  if (x.length % 3 !== 0)
    throw new RangeError(`Expected x to hold N×3 coordinates, but got length ${x.length}`);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i += 3) {
    const x0 = x[i],
      x1 = x[i + 1],
      x2 = x[i + 2];
    y[i] = R[0] * x0 + R[1] * x1 + R[2] * x2;
    y[i + 1] = R[3] * x0 + R[4] * x1 + R[5] * x2;
    y[i + 2] = R[6] * x0 + R[7] * x1 + R[8] * x2;
  }
  return y;
}

/**
 * N atoms on a simple cubic lattice (the first N sites of the smallest cube that holds them),
 * jittered with N(0, jitter²) per coordinate and centred at the origin. Returns N×3 row-major.
 */
export function makeCluster(rng: Rng, cfg: ClusterConfig = defaultClusterConfig()): Float64Array {
  if (!Number.isInteger(cfg.nAtoms) || cfg.nAtoms < 2)
    throw new RangeError(`Expected nAtoms to be an integer >= 2, but got nAtoms=${cfg.nAtoms}`);
  checkPositiveFinite("spacing", cfg.spacing);
  if (!Number.isFinite(cfg.jitter) || cfg.jitter < 0)
    throw new RangeError(`Expected jitter >= 0, but got jitter=${cfg.jitter}`);
  const side = Math.ceil(Math.cbrt(cfg.nAtoms) - 1e-9);
  const x = new Float64Array(3 * cfg.nAtoms);
  for (let i = 0; i < cfg.nAtoms; i++) {
    const ix = i % side,
      iy = Math.floor(i / side) % side,
      iz = Math.floor(i / (side * side));
    x[3 * i] = ix * cfg.spacing + cfg.jitter * rng.normal();
    x[3 * i + 1] = iy * cfg.spacing + cfg.jitter * rng.normal();
    x[3 * i + 2] = iz * cfg.spacing + cfg.jitter * rng.normal();
  }
  for (let d = 0; d < 3; d++) {
    let m = 0;
    for (let i = 0; i < cfg.nAtoms; i++) m += x[3 * i + d];
    m /= cfg.nAtoms;
    for (let i = 0; i < cfg.nAtoms; i++) x[3 * i + d] -= m;
  }
  return x;
}

/**
 * The rotation-invariant default energy: U(x) = Σ_{i<j} 4ε[(σ/r_ij)¹² − (σ/r_ij)⁶], r_ij = |x_i −
 * x_j|. Forces: F_i = Σ_{j≠i} (24ε/r²)[2(σ/r)¹² − (σ/r)⁶](x_i − x_j).
 */
export function lennardJones(cfg: LennardJonesConfig = defaultLennardJonesConfig()): Potential {
  checkPositiveFinite("epsilon", cfg.epsilon);
  checkPositiveFinite("sigma", cfg.sigma);
  const { epsilon, sigma } = cfg;
  const s2 = sigma * sigma;
  const energy = (x: Float64Array): number => {
    const n = checkConfiguration(x);
    let u = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = x[3 * i] - x[3 * j],
          dy = x[3 * i + 1] - x[3 * j + 1],
          dz = x[3 * i + 2] - x[3 * j + 2];
        const sr6 = Math.pow(s2 / (dx * dx + dy * dy + dz * dz), 3);
        u += 4 * epsilon * (sr6 * sr6 - sr6);
      }
    }
    return u;
  };
  const forces = (x: Float64Array): Float64Array => {
    const n = checkConfiguration(x);
    const f = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = x[3 * i] - x[3 * j],
          dy = x[3 * i + 1] - x[3 * j + 1],
          dz = x[3 * i + 2] - x[3 * j + 2];
        const r2 = dx * dx + dy * dy + dz * dz;
        const sr6 = Math.pow(s2 / r2, 3);
        const g = ((24 * epsilon) / r2) * (2 * sr6 * sr6 - sr6); // F_i += g (x_i − x_j)
        f[3 * i] += g * dx;
        f[3 * i + 1] += g * dy;
        f[3 * i + 2] += g * dz;
        f[3 * j] -= g * dx;
        f[3 * j + 1] -= g * dy;
        f[3 * j + 2] -= g * dz;
      }
    }
    return f;
  };
  return {
    name: `Lennard-Jones(epsilon=${epsilon}, sigma=${sigma})`,
    energy,
    forces,
    terms: { lennardJones: { epsilon, sigma } },
  };
}

/**
 * A deliberately NOT rotation-invariant counter-example: the base energy plus an anisotropic
 * harmonic trap, U(x) = U_base(x) + ½ Σ_i Σ_a k_a x_{ia}², with spring constants k = (k_x, k_y,
 * k_z) ≥ 0. Its forces are F_base − K x_i per atom (K = diag k), so F(xRᵀ) − F(x)Rᵀ = (RK − KR) x_i
 * per atom, which is non-zero unless all k_a are equal (an isotropic trap is invariant). (A
 * constant external field c·Σx_i would be a poor counter-example: it vanishes for centred
 * clusters.)
 */
export function withAnisotropicTrap(base: Potential, k: ArrayLike<number>): Potential {
  if (k.length !== 3 || !Array.from(k).every((v) => Number.isFinite(v) && v >= 0)) {
    throw new RangeError(
      `Expected k to be 3 finite numbers >= 0, but got k=[${Array.from(k).join(", ")}]`,
    );
  }
  const kk = [k[0], k[1], k[2]];
  return {
    name: `${base.name} + trap(${kk.join(", ")})`,
    energy(x) {
      let u = base.energy(x);
      for (let i = 0; i < x.length; i += 3)
        u += 0.5 * (kk[0] * x[i] ** 2 + kk[1] * x[i + 1] ** 2 + kk[2] * x[i + 2] ** 2);
      return u;
    },
    forces(x) {
      const f = base.forces(x);
      for (let i = 0; i < f.length; i += 3)
        for (let a = 0; a < 3; a++) f[i + a] -= kk[a] * x[i + a];
      return f;
    },
    terms: { base, trap: kk },
  };
}

/**
 * Relative equivariance error ‖F(xRᵀ) − F(x)Rᵀ‖_F / ‖F(x)‖_F, computed in float64 from whatever F
 * returns. Zero (up to rounding) for forces of a rotation-invariant energy.
 */
export function equivarianceError(F: ForceFn, x: Float64Array, R: Float64Array | number[]): number {
  return equivarianceErrorBetween(F, F, x, R);
}

/**
 * The equivariance error with the two sides computed by two routes:
 * ‖G(xRᵀ) − F(x)Rᵀ‖_F / ‖F(x)‖_F. With G a route that does not share F's formula (e.g. finite
 * differences of U at the rotated configuration), a small value is evidence that is independent of
 * how F was written. `equivarianceError(F, ...)` is the case G = F.
 * @param G the route for the left-hand side, evaluated at xRᵀ only
 * @param F the reference route, evaluated at x only
 */
export function equivarianceErrorBetween(
  G: ForceFn,
  F: ForceFn,
  x: Float64Array,
  R: Float64Array | number[],
): number {
  checkConfiguration(x);
  checkRotationShape(R);
  const fx = F(x);
  const lhs = G(rotate(x, R));
  const rhs = rotate(fx, R);
  let num = 0,
    den = 0;
  for (let k = 0; k < rhs.length; k++) {
    num += (lhs[k] - rhs[k]) ** 2;
    den += fx[k] * fx[k];
  }
  if (den === 0)
    throw new RangeError(
      "equivarianceError: F(x) is zero, so the relative error is undefined; pick a " +
        "configuration with non-zero forces",
    );
  return Math.sqrt(num / den);
}

/**
 * Score of the Boltzmann density p(x) ∝ exp(−κU(x)): ∇log p = −κ∇U = κF.
 * @param forces a Potential (its float64 analytic forces are used) or any ForceFn.
 * @param inverseTemperature κ = 1/(k_B T) > 0 (the sheet's β; not the noise rate β(t)).
 * @returns x (N×3) -> κF(x) (N×3, Float64Array).
 */
export function boltzmannScore(forces: Potential | ForceFn, inverseTemperature: number): ForceFn {
  checkPositiveFinite("inverseTemperature", inverseTemperature);
  const F: ForceFn = typeof forces === "function" ? forces : (x) => forces.forces(x);
  return (x) => {
    const f = F(x);
    const s = new Float64Array(f.length);
    for (let k = 0; k < f.length; k++) s[k] = inverseTemperature * f[k];
    return s;
  };
}

/**
 * The rotation by `angle` (radians, right-handed) about `axis` (3 numbers, any non-zero length),
 * by Rodrigues' formula R = I + sin θ K + (1 − cos θ) K², K the cross-product matrix of the unit
 * axis. Row-major 3×3 Float64Array.
 */
export function rotationAboutAxis(axis: ArrayLike<number>, angle: number): Float64Array {
  const n = axis.length === 3 ? Math.hypot(axis[0], axis[1], axis[2]) : NaN;
  if (!(n > 0) || !Number.isFinite(n))
    throw new RangeError(
      `Expected axis to be 3 finite numbers, not all zero, but got axis=[${Array.from(axis)}]`,
    );
  if (!Number.isFinite(angle))
    throw new RangeError(`Expected angle to be a finite number, but got angle=${angle}`);
  const [u, v, w] = [axis[0] / n, axis[1] / n, axis[2] / n];
  const c = Math.cos(angle),
    s = Math.sin(angle),
    t = 1 - c;
  return new Float64Array([
    c + t * u * u,
    t * u * v - s * w,
    t * u * w + s * v,
    t * u * v + s * w,
    c + t * v * v,
    t * v * w - s * u,
    t * u * w - s * v,
    t * v * w + s * u,
    c + t * w * w,
  ]);
}

/**
 * The gyration tensor G = Σ_i (x_i − x̄)ᵀ(x_i − x̄) of a configuration (x̄ the centroid), as a
 * row-major 3×3 Float64Array. Its entries are frame-dependent (G(xRᵀ) = R G(x) Rᵀ); its
 * determinant and trace are rotation-invariant.
 */
export function gyrationTensor(x: Float64Array): Float64Array {
  const n = checkConfiguration(x);
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) c[a] += x[3 * i + a] / n;
  const G = new Float64Array(9);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) G[3 * a + b] += (x[3 * i + a] - c[a]) * (x[3 * i + b] - c[b]);
  return G;
}

function det3(A: ArrayLike<number>): number {
  return (
    A[0] * (A[4] * A[8] - A[5] * A[7]) -
    A[1] * (A[3] * A[8] - A[5] * A[6]) +
    A[2] * (A[3] * A[7] - A[4] * A[6])
  );
}

/**
 * A many-body, rotation-invariant energy that is not a sum over pairs: U(x) = λ det G(x), with G
 * the gyration tensor (`gyrationTensor`). det G couples all atoms at once (it is the product of the
 * three principal moments) and is computed here from G's frame-dependent entries, so its
 * invariance, det(RGRᵀ) = det G, is a property of the determinant, not of the code. It is also
 * translation-invariant (G uses x_i − x̄). Forces: F_i = −2λ adj(G)(x_i − x̄), adj G = det G · G⁻¹.
 * Add a trap (`withAnisotropicTrap`) for a normalisable exp(−κU).
 * @param lambda coupling λ ≥ 0 (energy per length⁶).
 */
export function gyrationDeterminant(lambda: number): Potential {
  if (!Number.isFinite(lambda) || lambda < 0)
    throw new RangeError(`Expected lambda to be a finite number >= 0, but got lambda=${lambda}`);
  return {
    name: `${lambda}·det G`,
    energy(x) {
      return lambda * det3(gyrationTensor(x));
    },
    forces(x) {
      const G = gyrationTensor(x);
      const adj = [
        G[4] * G[8] - G[5] * G[7],
        G[2] * G[7] - G[1] * G[8],
        G[1] * G[5] - G[2] * G[4],
        G[5] * G[6] - G[3] * G[8],
        G[0] * G[8] - G[2] * G[6],
        G[2] * G[3] - G[0] * G[5],
        G[3] * G[7] - G[4] * G[6],
        G[1] * G[6] - G[0] * G[7],
        G[0] * G[4] - G[1] * G[3],
      ];
      const n = x.length / 3;
      const c = [0, 0, 0];
      for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) c[a] += x[3 * i + a] / n;
      const f = new Float64Array(x.length);
      for (let i = 0; i < n; i++) {
        const y = [x[3 * i] - c[0], x[3 * i + 1] - c[1], x[3 * i + 2] - c[2]];
        for (let a = 0; a < 3; a++)
          f[3 * i + a] =
            -2 * lambda * (adj[3 * a] * y[0] + adj[3 * a + 1] * y[1] + adj[3 * a + 2] * y[2]);
      }
      return f;
    },
    terms: { gyration: lambda },
  };
}

/**
 * The gradient of any scalar function f of a flat array by central finite differences in float64,
 * (f(x + h e_k) − f(x − h e_k)) / 2h for every coordinate k. It treats x as a plain vector: it
 * knows nothing of atoms, rotations or the formula of f. Error O(h²) + O(ε|f|/h).
 * @param h step > 0 (default 1e-5, in the units of x).
 */
export function finiteDifferenceGradient(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-5,
): Float64Array {
  checkPositiveFinite("h", h);
  const y = Float64Array.from(x);
  const g = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) {
    y[k] = x[k] + h;
    const up = f(y);
    y[k] = x[k] - h;
    const down = f(y);
    y[k] = x[k];
    g[k] = (up - down) / (2 * h);
  }
  return g;
}

/**
 * log p(x) = −κU(x) − log Z of the Boltzmann density p ∝ exp(−κU), with an arbitrary stand-in for
 * the unknown log Z (it drops out of every gradient).
 * @param inverseTemperature κ > 0.
 */
export function boltzmannLogDensity(
  potential: Potential,
  inverseTemperature: number,
  logZ = 0,
): (x: Float64Array) => number {
  checkPositiveFinite("inverseTemperature", inverseTemperature);
  return (x) => -inverseTemperature * potential.energy(x) - logZ;
}

/**
 * The score ∇log p of a density given by its log (any normalisation), by central finite
 * differences (`finiteDifferenceGradient`): a score that uses no force formula and no rotation.
 * @returns x (N×3) -> ∇log p(x) (N×3, Float64Array).
 */
export function finiteDifferenceScore(logDensity: (x: Float64Array) => number, h = 1e-5): ForceFn {
  checkPositiveFinite("h", h);
  return (x) => finiteDifferenceGradient(logDensity, x, h);
}

/** The net force Σ_i F_i of N×3 forces (3 numbers); zero for a translation-invariant energy. */
export function netForce(f: ArrayLike<number>): Float64Array {
  const s = new Float64Array(3);
  for (let i = 0; i + 2 < f.length; i += 3) for (let a = 0; a < 3; a++) s[a] += f[i + a];
  return s;
}

/**
 * The net torque about the origin Σ_i x_i × F_i (3 numbers); zero for an energy invariant under
 * rotations about the origin (differentiate U(x exp(θΩ)ᵀ) = U(x) at θ = 0).
 * @param x positions, N×3 row-major; `f` forces, N×3 row-major
 */
export function netTorque(x: ArrayLike<number>, f: ArrayLike<number>): Float64Array {
  if (x.length !== f.length || x.length % 3 !== 0)
    throw new RangeError(
      `Expected x and f to be N×3 of the same length, but got lengths ${x.length} and ${f.length}`,
    );
  const t = new Float64Array(3);
  for (let i = 0; i < x.length; i += 3) {
    t[0] += x[i + 1] * f[i + 2] - x[i + 2] * f[i + 1];
    t[1] += x[i + 2] * f[i] - x[i] * f[i + 2];
    t[2] += x[i] * f[i + 1] - x[i + 1] * f[i];
  }
  return t;
}

/** The first two columns of an N×3 configuration (its projection on the xy plane), N×2. */
export function projectXY(x: ArrayLike<number>): Float64Array {
  if (x.length % 3 !== 0)
    throw new RangeError(`Expected x to hold N×3 coordinates, but got length ${x.length}`);
  const y = new Float64Array((2 * x.length) / 3);
  for (let i = 0; 3 * i < x.length; i++) {
    y[2 * i] = x[3 * i];
    y[2 * i + 1] = x[3 * i + 1];
  }
  return y;
}
