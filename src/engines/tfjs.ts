/**
 * The training engine "tfjs": TensorFlow.js autodiff of the DSM loss on the current backend and
 * the Adam update of `core/adam.ts` on `tf.Variable`s. Readable and everywhere available; the
 * fallback of "wasm-simd".
 */
import * as tf from "@tensorflow/tfjs";
import { currentBackend, selectBackend } from "./backend";
import { OptimizerState } from "../core/adam";
import { Batch } from "../core/loss";
import { validateWeights } from "../core/mlp";
import { isSheetObjective } from "../core/objective";
import {
  EngineFactory,
  TrainConfig,
  TrainEngine,
  stepLearningRate,
  validateTrainConfig,
} from "../core/train";
import { dsmLossOnBatch, objectiveLossOnBatch } from "./tfjs-loss";
import { ScoreModel } from "./tfjs-model";

/**
 * The reference engine: tfjs autodiff (`tf.variableGrads`) of `dsmLoss` (via `dsmLossOnBatch`; of
 * `objectiveLoss` via `objectiveLossOnBatch` for the training variants) and
 * the Adam update of `OptimizerState`, all inside `tf.tidy` so no tensor outlives a step.
 * @param model the parameters to train, updated in place; the engine does not dispose it
 */
export function createTfjsEngine(model: ScoreModel, cfg: TrainConfig): TrainEngine {
  validateTrainConfig(cfg);
  const zeros = () => tf.tidy(() => model.params.map((p) => tf.variable(tf.zerosLike(p), false)));
  let m = zeros();
  let v = zeros();
  let adamStep = 0;
  const { adamBeta1: b1, adamBeta2: b2, adamEpsilon: epsAdam } = cfg;
  // the sheet's loss as before; the variants through the targets and weights of `lossTargets`
  const sheet = isSheetObjective(cfg, cfg.model.timeEmbedding);

  const engine: TrainEngine = {
    name: "tfjs",
    step(batch: Batch): number {
      return tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () =>
            sheet
              ? dsmLossOnBatch(model, batch, cfg.schedule, cfg.loss)
              : objectiveLossOnBatch(model, batch, cfg),
          model.params,
        );
        const loss = value.dataSync()[0];
        if (!Number.isFinite(loss)) return loss; // leave parameters and moments unchanged
        adamStep += 1;
        const lr = stepLearningRate(cfg, adamStep);
        const stepSize = lr / (1 - Math.pow(b1, adamStep));
        const invC2 = 1 / (1 - Math.pow(b2, adamStep));
        model.params.forEach((p, i) => {
          const g = grads[p.name];
          const mNew = tf.add(tf.mul(m[i], b1), tf.mul(g, 1 - b1));
          const vNew = tf.add(tf.mul(v[i], b2), tf.mul(tf.square(g), 1 - b2));
          m[i].assign(mNew);
          v[i].assign(vNew);
          p.assign(
            tf.sub(
              p,
              tf.mul(stepSize, tf.div(mNew, tf.add(tf.sqrt(tf.mul(vNew, invC2)), epsAdam))),
            ),
          );
        });
        return loss;
      });
    },
    getWeights: () => model.getWeights(),
    setWeights: (w) => model.setWeights(w),
    getOptimizerState: () => ({
      step: adamStep,
      m: m.map((a) => Float32Array.from(a.dataSync() as Float32Array)),
      v: v.map((a) => Float32Array.from(a.dataSync() as Float32Array)),
    }),
    setOptimizerState(s: OptimizerState) {
      validateWeights(model.config, s.m);
      validateWeights(model.config, s.v);
      if (!Number.isInteger(s.step) || s.step < 0)
        throw new RangeError(`Expected optimizer step to be a count, but got step=${s.step}`);
      tf.tidy(() => {
        m.forEach((a, i) => a.assign(tf.tensor(s.m[i], a.shape)));
        v.forEach((a, i) => a.assign(tf.tensor(s.v[i], a.shape)));
      });
      adamStep = s.step;
    },
    dispose() {
      tf.dispose([...m, ...v]);
      m = [];
      v = [];
    },
  };
  return engine;
}

/** The "tfjs" engine for `train`: a model on the current tfjs backend, freed with the engine. */
export const tfjsEngine: EngineFactory = async ({ config, weights }) => {
  if (currentBackend() === null) await selectBackend();
  const model = new ScoreModel(config.model, weights);
  const engine = createTfjsEngine(model, config);
  return {
    ...engine,
    dispose() {
      engine.dispose();
      model.dispose();
    },
  };
};
