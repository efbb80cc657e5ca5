/**
 * The score network s_θ(x, t) of part 2c: an MLP of sizes [3, 64, 64, 2] with tanh, whose input is
 * the concatenation of the 2-D point x and the diffusion time t.
 *
 * Parameters are Float32Arrays in one layout that every engine shares:
 *   [W1 (3×64), b1 (64), W2 (64×64), b2 (64), W3 (64×2), b3 (2)],
 * each W stored as [in, out] row-major, each layer y = x W + b (tanh on all but the last).
 * `mlpForward` and `mlpBackward` are the network and its gradient in plain float64: the
 * definition the engines (tfjs, wasm) are tested against.
 */
import { Rng } from "./random";
import {
  TimeEmbedding,
  embeddingWidth,
  timeFeatures,
  validateTimeEmbedding,
} from "./time-embedding";

/** Dimension of the data x (two moons live in R²). */
export const DATA_DIM = 2;

/** Hidden layers and activation of the score MLP. Input size is DATA_DIM + 1, output DATA_DIM. */
export interface ModelConfig {
  /** Widths of the hidden layers, each a positive integer. */
  hidden: number[];
  /** Activation after every hidden layer (the sheet's Tanh; the output layer is linear). */
  activation: "tanh";
  /**
   * Initial weights (see `initialWeights`): "torch", PyTorch's nn.Linear default (the default
   * config's choice), or "glorot" (also what an absent field means). Only the starting point
   * differs; the layout and the network are the same.
   */
  init?: WeightInit;
  /**
   * How t enters the network (`time-embedding.ts`); absent means the sheet's raw t. The input
   * width is 2 + `embeddingWidth(timeEmbedding)`.
   */
  timeEmbedding?: TimeEmbedding;
}

/** The keys a ModelConfig may have (the optional ones included). */
export const modelConfigKeys = ["hidden", "activation", "init", "timeEmbedding"];

/**
 * "glorot": W ~ U(±√(6/(in+out))), b = 0.
 * "torch": W, b ~ U(±1/√in), what PyTorch's nn.Linear starts from (kaiming_uniform_ with a = √5).
 */
export type WeightInit = "glorot" | "torch";

/** The sheet's network: [3, 64, 64, 2] with tanh. */
export function defaultModelConfig(): ModelConfig {
  return {
    hidden: [64, 64], // two hidden layers of 64, as the sheet's [3, 64, 64, 2]
    activation: "tanh", // the sheet's Tanh: smooth, so the learned score is smooth in x and t
    // the sheet's reference is PyTorch: start where its nn.Linear starts. Measured at 100k steps:
    // ~11% of samples off the moons vs ~14% with Glorot (2 seeds each); at 10k steps 50% vs 39%
    // on the moons
    init: "torch",
  };
}

/** Throws if a model config is malformed (naming the bad field); returns it otherwise. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  if (config === null || typeof config !== "object") {
    throw new TypeError(`Expected a model config {hidden, activation}, but got ${String(config)}`);
  }
  if (!Array.isArray(config.hidden) || config.hidden.length === 0) {
    throw new RangeError(
      `Expected hidden to be a non-empty array of layer widths, but got ` +
        `hidden=${JSON.stringify(config.hidden)}`,
    );
  }
  for (const h of config.hidden) {
    if (!Number.isInteger(h) || h <= 0) {
      throw new RangeError(
        `Expected every hidden width to be a positive integer, but got ` +
          `hidden=${JSON.stringify(config.hidden)}`,
      );
    }
  }
  if (config.init !== undefined && config.init !== "glorot" && config.init !== "torch") {
    throw new RangeError(
      `Expected init to be "glorot" or "torch", but got init=${JSON.stringify(config.init)}`,
    );
  }
  if (config.timeEmbedding !== undefined) validateTimeEmbedding(config.timeEmbedding);
  if (config.activation !== "tanh") {
    throw new RangeError(
      `Expected activation to be "tanh", but got activation=${JSON.stringify(config.activation)}`,
    );
  }
  return config;
}

/** Layer sizes including input and output, e.g. [3, 64, 64, 2]. */
export function layerSizes(config: ModelConfig): number[] {
  return [DATA_DIM + embeddingWidth(config.timeEmbedding), ...config.hidden, DATA_DIM];
}

/**
 * The network's input rows [x, features(t)] for n points, n × (2 + width) row-major, float64.
 * @param x n×2 row-major points; @param t n times
 */
export function networkInputs(
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  n: number,
  embedding?: TimeEmbedding,
): Float64Array {
  const width = embeddingWidth(embedding);
  const d = DATA_DIM + width;
  const f = timeFeatures(
    Array.from({ length: n }, (_, i) => t[i]),
    embedding,
    new Float64Array(n * width),
  );
  const h = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    h[d * i] = x[2 * i];
    h[d * i + 1] = x[2 * i + 1];
    for (let j = 0; j < width; j++) h[d * i + 2 + j] = f[i * width + j];
  }
  return h;
}

/** Shapes of the parameter arrays in layout order: [in, out] for each W, [out] for each b. */
export function parameterShapes(config: ModelConfig): number[][] {
  const sizes = layerSizes(validateModelConfig(config));
  const shapes: number[][] = [];
  for (let l = 0; l + 1 < sizes.length; l++) shapes.push([sizes[l], sizes[l + 1]], [sizes[l + 1]]);
  return shapes;
}

/**
 * Initial parameters in layout order, drawn from `Rng(seed)` (W1 first, row-major, then b1, …).
 * `config.init = "torch"` (the default config): W and b ~ U(−1/√in, +1/√in), PyTorch's nn.Linear
 * default. "glorot" (or absent): Glorot-uniform W ~ U(−√(6/(in+out)), +√(6/(in+out))), zero biases.
 */
export function initialWeights(config: ModelConfig, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const torch = config.init === "torch";
  const shapes = parameterShapes(config);
  return shapes.map((shape, i) => {
    const w = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const fanIn = shapes[i - (i % 2)][0]; // the layer's W is [in, out]
    if (torch) {
      rng.uniformArray(w.length, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), w);
    } else if (shape.length === 2) {
      const limit = Math.sqrt(6 / (shape[0] + shape[1]));
      rng.uniformArray(w.length, -limit, limit, w);
    }
    return w;
  });
}

/** Number of scalar parameters of an architecture. */
export function parameterCount(config: ModelConfig): number {
  return parameterShapes(config).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
}

/**
 * Throws unless `weights` are Float32Arrays in the layout of `config` (count and lengths), naming
 * the first bad array (e.g. "W2 (weights[2])"); returns `weights` otherwise.
 */
export function validateWeights(config: ModelConfig, weights: Float32Array[]): Float32Array[] {
  const shapes = parameterShapes(config);
  if (!Array.isArray(weights) || weights.length !== shapes.length) {
    throw new RangeError(
      `Expected ${shapes.length} weight arrays (W1, b1, …), but got ` +
        `${Array.isArray(weights) ? weights.length : String(weights)}`,
    );
  }
  weights.forEach((w, i) => {
    const expected = shapes[i].reduce((a, b) => a * b, 1);
    const kind = `${i % 2 === 0 ? "W" : "b"}${Math.floor(i / 2) + 1}`;
    if (!(w instanceof Float32Array) || w.length !== expected) {
      throw new RangeError(
        `Expected ${kind} (weights[${i}]) to be a Float32Array of length ${expected} (shape ` +
          `[${shapes[i]}]), ` +
          `but got ${w instanceof Float32Array ? `length ${w.length}` : String(w)}`,
      );
    }
  });
  return weights;
}

/** What `mlpForward` keeps for `mlpBackward`: each layer's input, n×width row-major. */
export type MlpActivations = Float64Array[];

/**
 * s_θ(x_i, t_i) for n points, in float64 (the network's output: the score unless the run
 * predicts ε, see `TrainConfig.parameterization`).
 * @param x n×2 row-major points; @param t n times
 * @param embedding how t enters (absent: the sheet's raw t)
 * @returns out: n×2 row-major outputs; inputs: each layer's input (for `mlpBackward`)
 */
export function mlpForward(
  weights: ArrayLike<number>[],
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  n: number,
  embedding?: TimeEmbedding,
): { out: Float64Array; inputs: MlpActivations } {
  let h: Float64Array;
  if (embedding === undefined || embedding.kind === "raw") {
    h = new Float64Array(n * (DATA_DIM + 1)); // [x, t] per row
    for (let i = 0; i < n; i++) {
      h[3 * i] = x[2 * i];
      h[3 * i + 1] = x[2 * i + 1];
      h[3 * i + 2] = t[i];
    }
  } else h = networkInputs(x, t, n, embedding);
  const inputs: MlpActivations = [];
  const layers = weights.length / 2;
  for (let l = 0; l < layers; l++) {
    const [W, b] = [weights[2 * l], weights[2 * l + 1]];
    const nOut = b.length;
    const nIn = W.length / nOut;
    inputs.push(h);
    const z = new Float64Array(n * nOut);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < nOut; o++) {
        let sum = b[o];
        for (let k = 0; k < nIn; k++) sum += h[i * nIn + k] * W[k * nOut + o];
        z[i * nOut + o] = l + 1 < layers ? Math.tanh(sum) : sum; // the last layer is linear
      }
    }
    h = z;
  }
  return { out: h, inputs };
}

/**
 * Gradient of a loss with respect to the parameters, by backpropagation through `mlpForward`.
 * @param inputs `mlpForward`'s inputs; @param dOut ∂loss/∂out, n×2 row-major
 * @returns ∂loss/∂θ in the parameter layout (float64)
 */
export function mlpBackward(
  weights: ArrayLike<number>[],
  inputs: MlpActivations,
  dOut: Float64Array,
  n: number,
): Float64Array[] {
  const layers = weights.length / 2;
  const grads: Float64Array[] = new Array(weights.length);
  let dZ = dOut; // ∂loss/∂(this layer's pre-activation)
  for (let l = layers - 1; l >= 0; l--) {
    const [W, h] = [weights[2 * l], inputs[l]];
    const nOut = weights[2 * l + 1].length;
    const nIn = W.length / nOut;
    const dW = new Float64Array(W.length);
    const db = new Float64Array(nOut);
    const dH = new Float64Array(n * nIn);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < nOut; o++) {
        const g = dZ[i * nOut + o];
        db[o] += g;
        for (let k = 0; k < nIn; k++) {
          dW[k * nOut + o] += h[i * nIn + k] * g;
          dH[i * nIn + k] += W[k * nOut + o] * g;
        }
      }
    }
    grads[2 * l] = dW;
    grads[2 * l + 1] = db;
    if (l > 0) for (let k = 0; k < dH.length; k++) dH[k] *= 1 - h[k] * h[k]; // tanh' = 1 − tanh²
    dZ = dH;
  }
  return grads;
}
