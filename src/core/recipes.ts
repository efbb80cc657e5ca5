/**
 * Named training recipes: complete `TrainConfig`s by name. "sheet" is the exercise sheet's setup
 * (`defaultTrainConfig`, the default everywhere); "best" is the best of the training variants
 * measured by `bench/ablation.ts` on this data (see its table for the numbers behind it).
 */
import { TrainConfig, defaultTrainConfig } from "./train";

/** The recipe names. */
export type RecipeName = "sheet" | "best";

/** Each recipe as a function returning a fresh config (edit the copy, not the recipe). */
export const recipes: Readonly<Record<RecipeName, () => TrainConfig>> = {
  sheet: defaultTrainConfig,
  best: () => {
    const sheet = defaultTrainConfig();
    return {
      ...sheet,
      // the network predicts the noise, s = −ε̂/σ̃, trained on the plain ‖ε̂ − ε‖² (λ = σ²)
      parameterization: "eps",
      weighting: "sigma2",
      // t enters as [t, sin 2πf_k t, cos 2πf_k t], six frequencies from 1 to 16
      model: {
        ...sheet.model,
        timeEmbedding: { kind: "fourier", frequencies: 6, maxFrequency: 16 },
      },
      // sample with the moving average of the weights over the last ~1000 steps
      ema: 0.999,
    };
  },
};

/** The names `recipes` accepts, e.g. for a command-line option. */
export const recipeNames = Object.keys(recipes) as RecipeName[];
