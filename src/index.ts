/**
 * The workbook's library, as the notebooks import it. `core/` is the sheet's science (no I/O, no
 * engines); `engines/` computes it fast; `notebook/` shows it; `export/` makes the hand-in.
 */
export * from "./core/random";
export * from "./core/config-keys";
export * from "./core/moons";
export * from "./core/sde";
export * from "./core/mlp";
export * from "./core/loss";
export * from "./core/adam";
export * from "./core/train";
export * from "./core/sampler";
export * from "./core/exact-scores";
export * from "./notebook/metrics";
export * from "./core/equivariance";
export * from "./core/probability-flow";
export * from "./core/dpm-solver";
export * from "./core/predictor-corrector";
export * from "./core/samplers";
export * from "./core/likelihood";
export * from "./core/score-error";
export * from "./engines";
export * from "./engines/backend";
export * from "./engines/tfjs-model";
export * from "./engines/tfjs-loss";
export * from "./engines/tfjs";
export * from "./engines/tfjs-energy";
export * from "./engines/wasm";
export * from "./notebook/display";
export * from "./notebook/plot";
export * from "./notebook/progress";
export * from "./notebook/listing";
export * from "./notebook/checks";
export * from "./notebook/figures";
export * from "./notebook/checkpoint";
export * from "./notebook/cache";
export * from "./notebook/interrupt";
export * from "./notebook/runs";
export * from "./notebook/particle-runs";
export * from "./notebook/tails";
export * from "./notebook/sampler-study";
export * from "./notebook/score-field";
export * from "./notebook/likelihood-study";
export * from "./notebook/workbook";
