/**
 * Learned equivariant scores (notebook 07) as a notebook runs them: the configuration
 * (`particle-config.ts`), one training job and the worker threads that run them
 * (`particle-jobs.ts`), the cached experiment (`particle-experiment.ts`), its tables and figures
 * (`particle-display.ts`) and its checks (`checks/particles.ts`).
 */
export * from "./particle-config";
export * from "./particle-jobs";
export * from "./particle-experiment";
export * from "./particle-display";
export * from "./checks/particles";
