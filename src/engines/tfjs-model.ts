/**
 * The score network of part 2c in TensorFlow.js: the parameters of `core/mlp.ts`'s layout as
 * `tf.Variable`s, its forward pass as tensor ops (for autodiff in the tfjs engine), and the model
 * as a plain-array score function for the sampler.
 */
import * as tf from "@tensorflow/tfjs";
import {
  DATA_DIM,
  ModelConfig,
  initialWeights,
  parameterCount,
  parameterShapes,
  validateModelConfig,
  validateWeights,
} from "../core/mlp";
import { ScoreFn, scoreCallRows } from "../core/sampler";
import { embeddingWidth, timeFeatures } from "../core/time-embedding";

/** The score network with its parameters as tfjs variables (float32, on the current backend). */
export class ScoreModel {
  /** Architecture; never mutated. */
  readonly config: ModelConfig;
  /** [W1, b1, W2, b2, …] — the shared layout described at the top of this module. */
  readonly params: tf.Variable[];
  private readonly shapes: number[][];

  /** Prefer `createScoreModel`; this takes ownership of nothing and copies `weights`. */
  constructor(config: ModelConfig, weights: Float32Array[]) {
    this.config = { ...validateModelConfig(config), hidden: [...config.hidden] };
    this.shapes = parameterShapes(this.config);
    validateWeights(this.config, weights);
    // tidy frees the initial-value tensors; variables survive a tidy.
    this.params = tf.tidy(() =>
      weights.map((w, i) => tf.variable(tf.tensor(w, this.shapes[i], "float32"), true)),
    );
  }

  /**
   * s_θ(x, t): the network's output (the score, or ε̂ for a run with parameterization "eps"),
   * its time input embedded as `config.timeEmbedding` says.
   * @param x points x_t, shape [n, 2]
   * @param t diffusion times in [0, 1], shape [n] or [n, 1]
   * @returns the predicted score, shape [n, 2]
   */
  apply(x: tf.Tensor2D, t: tf.Tensor): tf.Tensor2D {
    const n = x.shape[0];
    if (x.rank !== 2 || x.shape[1] !== DATA_DIM) {
      throw new RangeError(
        `Expected x to have shape [n, ${DATA_DIM}], but got x.shape=[${x.shape}]`,
      );
    }
    if (t.size !== n || t.rank > 2 || (t.rank === 2 && t.shape[1] !== 1)) {
      throw new RangeError(
        `Expected t to have shape [${n}] or [${n}, 1], but got t.shape=[${t.shape}]`,
      );
    }
    const emb = this.config.timeEmbedding;
    if (emb !== undefined && emb.kind !== "raw") {
      const width = embeddingWidth(emb);
      const f = timeFeatures(t.dataSync(), emb, new Float32Array(n * width));
      return tf.tidy(() => this.network(x, tf.tensor2d(f, [n, width])));
    }
    return tf.tidy(() => this.network(x, tf.reshape(t, [n, 1]) as tf.Tensor2D));
  }

  /**
   * The network on input rows [x, features]: x [n, 2], features [n, embeddingWidth] (for the raw
   * embedding, t as [n, 1]) → output [n, 2].
   */
  network(x: tf.Tensor2D, features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor2D = tf.concat([x, features], 1);
      const layers = this.params.length / 2;
      for (let l = 0; l < layers; l++) {
        h = tf.add(tf.matMul(h, this.params[2 * l] as tf.Tensor2D), this.params[2 * l + 1]);
        if (l + 1 < layers) h = tf.tanh(h);
      }
      return h;
    });
  }

  /** Copies of the parameters in layout order (row-major Float32Arrays). */
  getWeights(): Float32Array[] {
    // dataSync may hand out the backend's own buffer: copy so callers cannot corrupt the model.
    return this.params.map((p) => Float32Array.from(p.dataSync() as Float32Array));
  }

  /**
   * Overwrite the parameters; `weights` must match `parameterShapes(config)` in count and length.
   */
  setWeights(weights: Float32Array[]): void {
    validateWeights(this.config, weights);
    tf.tidy(() =>
      this.params.forEach((p, i) => p.assign(tf.tensor(weights[i], this.shapes[i], "float32"))),
    );
  }

  /** Number of scalar parameters (4546 for [3, 64, 64, 2]). */
  parameterCount(): number {
    return parameterCount(this.config);
  }

  /** Free the variables; the model cannot be used afterwards. */
  dispose(): void {
    this.params.forEach((p) => p.dispose());
  }
}

/**
 * A new score model with initial weights from `Rng(seed)` (see `initialWeights` for `config.init`).
 * @param seed integer in [0, 2^32); the same seed gives the same weights
 */
export function createScoreModel(config: ModelConfig, seed: number): ScoreModel {
  return new ScoreModel(config, initialWeights(config, seed));
}

/**
 * Wrap a model as a plain-array score function for the sampler (float32 inside).
 * @returns (x: n×2 row-major, t in [0, 1]: one time for all rows, n = x.length / 2 if omitted)
 *   → score, n×2 row-major Float32Array
 * @throws naming t or x if t is outside [0, 1] or x is not n×2
 */
export function scoreFnFromModel(model: ScoreModel): ScoreFn {
  return (x, t, n?: number) => {
    const rows = scoreCallRows(x, t, n);
    const x32 = x instanceof Float32Array ? x : Float32Array.from(x);
    const s = tf.tidy(() => model.apply(tf.tensor2d(x32, [rows, DATA_DIM]), tf.fill([rows], t)));
    const out = Float32Array.from(s.dataSync() as Float32Array);
    s.dispose();
    return out;
  };
}
