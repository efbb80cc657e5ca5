/**
 * The engines that compute part 2d's training step and evaluate s_θ fast, by name: a plain map,
 * filled here, not by importing a module. "auto" tries them fastest first.
 */
import { ModelConfig, defaultModelConfig } from "../core/mlp";
import { outputToScore } from "../core/objective";
import { ScoreFn } from "../core/sampler";
import { sigma } from "../core/sde";
import {
  EngineFactory,
  EngineInit,
  TrainConfig,
  TrainEngine,
  referenceEngine,
} from "../core/train";
import { tfjsEngine } from "./tfjs";
import { ScoreModel, scoreFnFromModel } from "./tfjs-model";
import {
  WASM_ENGINE_NAME,
  kernelFits,
  wasmEngine,
  wasmScoreFn,
  wasmUnavailableReason,
} from "./wasm";

/** The training engines by name, fastest first: what "auto" tries, in this order. */
export const engines: Readonly<Record<string, EngineFactory>> = {
  [WASM_ENGINE_NAME]: wasmEngine, // the fused WebAssembly SIMD kernel (hidden [h, h], 4 | h ≤ 256)
  tfjs: tfjsEngine, // TensorFlow.js autodiff: any architecture, ~10× slower
  reference: referenceEngine, // the core's plain float64 step: the definition, slowest
};

/** The names an engine option accepts: "auto" and the keys of `engines`. */
export function engineNames(): string[] {
  return ["auto", ...Object.keys(engines)];
}

/** A faster engine that "auto" skipped, and why. */
export interface SkippedEngine {
  name: string;
  reason: string;
}

/**
 * The factory for an engine option: a name, "auto", or a factory of your own. For "auto", the
 * factory tries `engines` in order and fills `skipped` with those that could not start.
 * @throws naming the option and the known names if `choice` is an unknown name
 */
export function engineFactory(choice: string | EngineFactory): {
  factory: EngineFactory;
  skipped: SkippedEngine[];
} {
  const skipped: SkippedEngine[] = [];
  if (typeof choice === "function") return { factory: choice, skipped };
  if (choice !== "auto") {
    const factory = engines[choice];
    if (!factory) {
      throw new RangeError(
        `Expected engine to be one of ${engineNames()
          .map((n) => `"${n}"`)
          .join(", ")}, ` + `but got engine=${JSON.stringify(choice)}`,
      );
    }
    return { factory, skipped };
  }
  const auto = async (init: EngineInit): Promise<TrainEngine> => {
    skipped.length = 0; // this start's reasons only
    for (const [name, factory] of Object.entries(engines)) {
      try {
        return await factory(init);
      } catch (e) {
        skipped.push({ name, reason: (e as Error).message });
      }
    }
    const failures = skipped.map((s) => `${s.name}: ${s.reason}`);
    throw new Error(`No training engine could be started (${failures.join("; ")})`);
  };
  return { factory: auto, skipped };
}

/** Create an engine by name (or "auto") outside `train`, e.g. to compare two on one step. */
export async function createEngine(choice: string, init: EngineInit): Promise<TrainEngine> {
  return engineFactory(choice).factory(init);
}

/**
 * The fastest way to evaluate a trained s_θ here, as a `ScoreFn`: the wasm kernel where
 * WebAssembly SIMD runs, else the tfjs model (`scoreFnFromModel`). Same network, same weights;
 * `engine` says which one was picked.
 */
export function fastestScoreFn(
  weights: Float32Array[],
  config: ModelConfig = defaultModelConfig(),
): { score: ScoreFn; engine: string } {
  if (wasmUnavailableReason() === null && kernelFits(config)) {
    return { score: wasmScoreFn(weights, config), engine: WASM_ENGINE_NAME };
  }
  return { score: scoreFnFromModel(new ScoreModel(config, weights)), engine: "tfjs" };
}

/**
 * The score of a trained run, s_θ(x, t), as a `ScoreFn` on the fastest engine here: the network
 * of `fastestScoreFn`, read as the score (parameterization "score", the sheet) or as the noise,
 * s = −ε̂ / max(σ(t), sigmaMin) ("eps"). Pass `emaWeights` for a run with `ema`.
 * @param weights the trained parameters in the layout of `cfg.model`
 * @param cfg the run's configuration (its model, schedule, clamp and parameterization)
 */
export function trainedScoreFn(
  weights: Float32Array[],
  cfg: TrainConfig,
): { score: ScoreFn; engine: string } {
  const { score: net, engine } = fastestScoreFn(weights, cfg.model);
  if ((cfg.parameterization ?? "score") === "score") return { score: net, engine };
  const score: ScoreFn = (x, t, n) =>
    outputToScore(net(x, t, n), Math.max(sigma(t, cfg.schedule), cfg.loss.sigmaMin), "eps");
  return { score, engine };
}
