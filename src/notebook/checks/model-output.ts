/**
 * Part 2c: the network's output has the shape of a score — one 2-D vector per 2-D input point —
 * measured by running the model, not read from its configuration.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../core/random";
import { ScoreModel, scoreFnFromModel } from "../../engines/tfjs-model";
import { CheckResult, compare } from "./check";

/**
 * Run `model` on n random points (x ∈ [−2, 2]², t ∈ [0, 1]) and compare the output's shape with
 * [n, 2], the shape of x: the score ∇ₓlog p_t(x) is a vector in the space of x. Both routes are
 * checked: the tensor model (`apply`) and the plain-array `ScoreFn` the sampler calls.
 */
export function modelOutputCheck(model: ScoreModel, n = 5, seed = 0): CheckResult {
  const rng = new Rng(seed);
  const x = rng.uniformArray(2 * n, -2, 2, new Float32Array(2 * n)) as Float32Array;
  const t = rng.uniformArray(n, 0, 1, new Float32Array(n)) as Float32Array;
  const shape = tf.tidy(() => model.apply(tf.tensor2d(x, [n, 2]), tf.tensor1d(t)).shape);
  const perPoint = scoreFnFromModel(model)(x, 0.5, n).length / n;
  const checks = [
    compare("tensor output shape", `[${shape}]`, `[${n},2]`, 0),
    compare("ScoreFn numbers per point", perPoint, 2, 0),
  ];
  return {
    title: `The model's output on ${n} points: one 2-D vector per point, like x`,
    checks,
    table: [
      {
        route: "model.apply(x [n, 2], t [n])",
        output: `[${shape.join(", ")}]`,
        expected: `[${n}, 2]`,
      },
      {
        route: "scoreFnFromModel(model)(x, t, n)",
        output: `${perPoint} numbers per point`,
        expected: "2",
      },
    ].map((r, k) => ({ ...r, check: checks[k].status })),
  };
}
