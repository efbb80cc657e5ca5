/** The workbook's library: one module per concept of the exercise sheet. */
export * from "./random";
export * from "./checks";
export * from "./schedule";
export * from "./moons";
export * from "./backend";
export * from "./model";
export * from "./loss";
export * from "./sample";
export * from "./metrics";
export * from "./equivariance";
export * from "./figures";
export * from "./checkpoint";
export * from "./train";
export * from "./engine-tfjs"; // the reference "tfjs" engine (train.ts also loads it on first use of the registry)
export * from "./engine-wasm"; // registers the "wasm-simd" training engine, so train() uses it by default
export * from "./display";
export * from "./plot";
export * from "./progress";
export * from "./listing";
export * from "./cache";
export * from "./interrupt";
export * from "./notebook-runs";
export * from "./config-keys";
export * from "./workbook";
