/**
 * Exercise 3's energies as TensorFlow.js scalars, and forces F = −∇U by tfjs reverse-mode autodiff
 * (float32): the second, independent way the notebook computes forces.
 */
import * as tf from "@tensorflow/tfjs";
import { ForceFn, Potential } from "../core/equivariance";

function upperTriangleMask(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) m[i * n + j] = 1;
  return m;
}

/**
 * U(x) of `potential` as a tfjs scalar (float32) for `tf.grad`; x is an [N, 3] tensor. Knows the
 * terms of `lennardJones`, `withAnisotropicTrap` and `gyrationDeterminant`; throws for any
 * other energy.
 */
export function energyTensor(potential: Potential, x: tf.Tensor2D): tf.Scalar {
  const terms = potential.terms;
  return tf.tidy(() => {
    if ("trap" in terms) {
      const base = energyTensor(terms.base, x); // first: the tape's order fixes float32 sums
      const trap = tf.mul(0.5, tf.sum(tf.mul(tf.square(x), tf.tensor1d(terms.trap))));
      return tf.add(base, trap) as tf.Scalar;
    }
    if ("gyration" in terms) {
      const y = tf.sub(x, tf.mean(x, 0, true)); // [N, 3], centred
      const g = tf.unstack(tf.reshape(tf.matMul(y, y, true, false), [9])); // G, row-major
      const minor = (a: number, b: number, c: number, d: number) =>
        tf.sub(tf.mul(g[a], g[b]), tf.mul(g[c], g[d]));
      const det = tf.addN([
        tf.mul(g[0], minor(4, 8, 5, 7)),
        tf.neg(tf.mul(g[1], minor(3, 8, 5, 6))),
        tf.mul(g[2], minor(3, 7, 4, 6)),
      ]);
      return tf.mul(terms.gyration, det) as tf.Scalar;
    }
    if (!("lennardJones" in terms) || !terms.lennardJones)
      throw new Error(`energyTensor: no TensorFlow.js form of the energy ${potential.name}`);
    const { epsilon, sigma } = terms.lennardJones;
    const n = x.shape[0];
    const upper = tf.tensor2d(upperTriangleMask(n), [n, n]); // 1 for i < j: each pair once
    const diff = tf.sub(tf.expandDims(x, 1), tf.expandDims(x, 0)); // [N, N, 3]
    const r2 = tf.sum(tf.square(diff), -1); // [N, N]
    // Shift the unused entries (diagonal, i > j) by 1 so that no 1/0 enters the graph.
    const r2safe = tf.add(r2, tf.sub(1, upper));
    const sr6 = tf.pow(tf.div(sigma * sigma, r2safe), 3);
    const pair = tf.mul(4 * epsilon, tf.sub(tf.square(sr6), sr6));
    return tf.sum(tf.mul(pair, upper)) as tf.Scalar;
  });
}

/**
 * Forces F = −∇U by tfjs reverse-mode autodiff (`tf.grad` of `energyTensor`), in float32. x is N×3
 * row-major (converted to float32); returns N×3 row-major Float32Array. No tensors are leaked.
 */
export function autodiffForces(potential: Potential, x: Float64Array | Float32Array): Float32Array {
  if (x.length === 0 || x.length % 3 !== 0) {
    throw new RangeError(
      `Expected x to be N×3 row-major (length a multiple of 3), but got ${x.length}`,
    );
  }
  const n = x.length / 3;
  const grad = tf.grad((xt: tf.Tensor) => energyTensor(potential, xt as tf.Tensor2D));
  const f = tf.tidy(() => tf.neg(grad(tf.tensor2d(Float32Array.from(x), [n, 3]))));
  const out = f.dataSync() as Float32Array;
  f.dispose();
  return Float32Array.from(out);
}

/** The float32 autodiff force field of `potential` as a ForceFn. */
export function autodiffForceFn(potential: Potential): ForceFn {
  return (x) => autodiffForces(potential, x);
}
