/**
 * The fast training engine "wasm-simd": the score MLP [3, 64, 64, 2] (tanh) of part 2c as one fused
 * WebAssembly kernel (forward, DSM loss, backward and Adam in a single call, f32x4 SIMD), compiled
 * from `assembly/score-mlp.ts` by AssemblyScript at build time (`npm run build:wasm`).
 *
 * At batch 256 the per-operation bookkeeping of tfjs, not arithmetic, dominates a training step;
 * one call per step removes it. The engine computes exactly what the tfjs engine (`engine-tfjs.ts`)
 * computes (same parameter layout, same batch, same loss, same Adam update in float32) and
 * registers itself with `train` under the name "wasm-simd" with a priority above "tfjs", so
 * `train(cfg)` uses it by default wherever WebAssembly SIMD runs and falls back to tfjs elsewhere.
 *
 * `wasmScoreFn(weights)` is the same network as a `ScoreFn` for `sampleReverseSDE`.
 * The schedule (α, σ, β) stays in `schedule.ts`: this module only passes its values to the kernel.
 */
import * as fs from "fs";
import * as path from "path";
import { Batch } from "./loss";
import { ModelConfig, ScoreModel, defaultModelConfig, parameterShapes, scoreFnFromModel, validateModelConfig, validateWeights } from "./model";
import type { ScoreFn } from "./sample";
import { ScheduleConfig, alphaSigma } from "./schedule";
import { EngineInit, OptimizerState, TrainConfig, TrainEngine, registerEngine, validateTrainConfig } from "./train";

/** Name under which the engine registers with `train` (`train(cfg, { engine: "wasm-simd" })`). */
export const WASM_ENGINE_NAME = "wasm-simd";

/** Exports of the compiled kernel (see assembly/score-mlp.ts). */
interface KernelExports {
  memory: WebAssembly.Memory;
  reserve(n: number): void;
  paramsPtr(): number;
  gradsPtr(): number;
  adamMPtr(): number;
  adamVPtr(): number;
  x0Ptr(): number;
  epsPtr(): number;
  tPtr(): number;
  alphaPtr(): number;
  sigmaPtr(): number;
  sigmaClampedPtr(): number;
  scorePtr(): number;
  paramCount(): number;
  syncTransposes(): void;
  trainStep(n: number, b1: number, omb1: number, b2: number, omb2: number, stepSize: number, invC2: number, epsAdam: number): number;
  forward(n: number): void;
  tanhf(x: number): number;
}

/** Which build of the kernel runs: "relaxed-simd" uses fused multiply-add where the runtime has it. */
export type WasmKernelVariant = "simd" | "relaxed-simd";

let compiled: { module: WebAssembly.Module; variant: WasmKernelVariant } | null = null;
let unavailable: string | null = null;

/** The .wasm files live in dist/ (beside the compiled engine-wasm.js, or reached from src/ when run by tsx). */
function findKernel(file: string): string | null {
  for (const dir of [__dirname, path.join(__dirname, "..", "dist")]) {
    const p = path.join(dir, file);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function loadKernelModule(): { module: WebAssembly.Module; variant: WasmKernelVariant } {
  if (compiled) return compiled;
  if (unavailable) throw new Error(unavailable);
  const fail = (why: string): never => {
    unavailable = why;
    throw new Error(why);
  };
  if (typeof WebAssembly !== "object") fail("WebAssembly is not available in this JavaScript runtime");
  const plain = findKernel("score-mlp.wasm");
  if (!plain) fail("the kernel dist/score-mlp.wasm is missing; run `npm run build:wasm`");
  const relaxed = findKernel("score-mlp-relaxed.wasm");
  if (process.env.DIFFUSION_WASM_VARIANT !== "simd" && relaxed) {
    const bytes = fs.readFileSync(relaxed);
    if (WebAssembly.validate(bytes)) return (compiled = { module: new WebAssembly.Module(bytes), variant: "relaxed-simd" });
  }
  const bytes = fs.readFileSync(plain!);
  if (!WebAssembly.validate(bytes)) fail("this runtime's WebAssembly has no SIMD (v128), which the kernel needs");
  return (compiled = { module: new WebAssembly.Module(bytes), variant: "simd" });
}

/** Why the wasm engine cannot run here (missing build, no WebAssembly SIMD), or null if it can. */
export function wasmUnavailableReason(): string | null {
  try {
    loadKernelModule();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The kernel build that runs here, or null if none can. */
export function wasmKernelVariant(): WasmKernelVariant | null {
  return wasmUnavailableReason() === null ? compiled!.variant : null;
}

/** Layout offsets (in floats) of each parameter array inside the kernel's flat parameter vector. */
function offsets(config: ModelConfig): { offset: number; length: number }[] {
  let offset = 0;
  return parameterShapes(config).map((s) => {
    const length = s.reduce((a, b) => a * b, 1);
    const o = { offset, length };
    offset += length;
    return o;
  });
}

/** True when the kernel is built for this architecture (it is specialised to the sheet's [3, 64, 64, 2]). */
function kernelFits(config: ModelConfig): boolean {
  return config.hidden.length === 2 && config.hidden[0] === 64 && config.hidden[1] === 64;
}

function checkArchitecture(config: ModelConfig): void {
  validateModelConfig(config);
  if (!kernelFits(config)) {
    throw new RangeError(`The wasm kernel is specialised to hidden=[64, 64], but got hidden=${JSON.stringify(config.hidden)}`);
  }
}

/** One instance of the kernel: its own linear memory holding parameters, Adam moments and buffers. */
class Kernel {
  readonly ex: KernelExports;
  readonly variant: WasmKernelVariant;
  private readonly layout: { offset: number; length: number }[];
  private capacity = 0;

  constructor(readonly config: ModelConfig) {
    checkArchitecture(config);
    const { module, variant } = loadKernelModule();
    this.variant = variant;
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: () => {
          throw new Error("wasm kernel aborted");
        },
      },
    });
    this.ex = instance.exports as unknown as KernelExports;
    this.layout = offsets(config);
  }

  /** A float32 view of `length` floats at byte address `ptr` (recreated: memory may have grown). */
  view(ptr: number, length: number): Float32Array {
    return new Float32Array(this.ex.memory.buffer, ptr, length);
  }

  ensure(n: number): void {
    if (n > this.capacity) {
      this.ex.reserve(n);
      this.capacity = n;
    }
  }

  private write(ptr: number, arrays: Float32Array[]): void {
    validateWeights(this.config, arrays);
    const flat = this.view(ptr, this.ex.paramCount());
    flat.fill(0);
    arrays.forEach((a, i) => flat.set(a, this.layout[i].offset));
  }

  private read(ptr: number): Float32Array[] {
    const flat = this.view(ptr, this.ex.paramCount());
    return this.layout.map(({ offset, length }) => flat.slice(offset, offset + length));
  }

  setWeights(w: Float32Array[]): void {
    this.write(this.ex.paramsPtr(), w);
    this.ex.syncTransposes();
  }
  getWeights(): Float32Array[] {
    return this.read(this.ex.paramsPtr());
  }
  setMoments(m: Float32Array[], v: Float32Array[]): void {
    this.write(this.ex.adamMPtr(), m);
    this.write(this.ex.adamVPtr(), v);
  }
  getMoments(): { m: Float32Array[]; v: Float32Array[] } {
    return { m: this.read(this.ex.adamMPtr()), v: this.read(this.ex.adamVPtr()) };
  }
  /** Copy a batch into the kernel with α(t), σ(t) and max(σ(t), sigmaMin) per row, from schedule.ts. */
  loadBatch(batch: Batch, schedule: ScheduleConfig, sigmaMin: number): void {
    const n = batch.t.length;
    if (batch.x0.length !== 2 * n || batch.eps.length !== 2 * n) {
      throw new RangeError(`Expected x0 and eps of length 2·${n}, but got x0.length=${batch.x0.length}, eps.length=${batch.eps.length}`);
    }
    this.ensure(n);
    const ex = this.ex;
    this.view(ex.x0Ptr(), 2 * n).set(batch.x0);
    this.view(ex.epsPtr(), 2 * n).set(batch.eps);
    this.view(ex.tPtr(), n).set(batch.t);
    const a = this.view(ex.alphaPtr(), n);
    const s = this.view(ex.sigmaPtr(), n);
    const sc = this.view(ex.sigmaClampedPtr(), n);
    alphaSigma(batch.t, schedule, a, s);
    for (let i = 0; i < n; i++) sc[i] = Math.max(s[i], sigmaMin); // = fround(max(σ, σmin)): rounding is monotone
  }

  /** Gradient of the last `trainStep`, in the parameter layout. */
  getGradients(): Float32Array[] {
    return this.read(this.ex.gradsPtr());
  }
}

/**
 * Create the wasm engine directly (`train` does this through the registry).
 * @throws if WebAssembly SIMD or the compiled kernel is unavailable, or the architecture is not [3, 64, 64, 2]
 */
export function createWasmEngine(cfg: TrainConfig, weights: Float32Array[]): TrainEngine & { readonly variant: WasmKernelVariant } {
  validateTrainConfig(cfg);
  let kernel: Kernel | null = new Kernel(cfg.model);
  kernel.setWeights(weights);
  kernel.setMoments(
    weights.map((w) => new Float32Array(w.length)),
    weights.map((w) => new Float32Array(w.length)),
  );
  const { adamBeta1: b1, adamBeta2: b2, adamEpsilon: epsAdam, learningRate: lr, schedule } = cfg;
  const sigmaMin = cfg.loss.sigmaMin;
  let adamStep = 0;
  const live = (): Kernel => {
    if (!kernel) throw new Error("This wasm engine was disposed");
    return kernel;
  };

  return {
    name: WASM_ENGINE_NAME,
    variant: kernel.variant,
    step(batch: Batch): number {
      const k = live();
      k.loadBatch(batch, schedule, sigmaMin);
      // Adam scalars exactly as the tfjs engine forms them (float64 here, float32 in the kernel).
      const next = adamStep + 1;
      const stepSize = lr / (1 - Math.pow(b1, next));
      const invC2 = 1 / (1 - Math.pow(b2, next));
      const loss = k.ex.trainStep(batch.t.length, b1, 1 - b1, b2, 1 - b2, stepSize, invC2, epsAdam);
      if (Number.isFinite(loss)) adamStep = next; // a non-finite loss leaves parameters and moments unchanged
      return loss;
    },
    getWeights: () => live().getWeights(),
    setWeights: (w) => live().setWeights(w),
    getOptimizerState: (): OptimizerState => ({ step: adamStep, ...live().getMoments() }),
    setOptimizerState(st: OptimizerState) {
      if (!Number.isInteger(st.step) || st.step < 0) throw new RangeError(`Expected optimizer step to be a count, but got step=${st.step}`);
      live().setMoments(st.m, st.v);
      adamStep = st.step;
    },
    dispose() {
      kernel = null; // the instance's memory is freed by the garbage collector
    },
  };
}

/**
 * The loss and its gradient at `weights` on one batch, without an update (for tests and checks).
 * @returns loss (mean over the batch of ‖s + ε/σ̃‖²) and dloss/dθ in the parameter layout
 */
export function wasmLossAndGradient(cfg: TrainConfig, weights: Float32Array[], batch: Batch): { loss: number; grads: Float32Array[] } {
  validateTrainConfig(cfg);
  const k = new Kernel(cfg.model);
  k.setWeights(weights);
  k.loadBatch(batch, cfg.schedule, cfg.loss.sigmaMin);
  const loss = k.ex.trainStep(batch.t.length, 0, 0, 0, 0, 0, 0, 0); // stepSize 0: gradient only, no update
  return { loss, grads: k.getGradients() };
}

/**
 * s_θ(x, t) by the wasm kernel, as a `ScoreFn` for `sampleReverseSDE` (same network as
 * `scoreFnFromModel(new ScoreModel(config, weights))`, float32, without tfjs).
 * @param weights parameters in the shared layout (copied: later changes to them are not seen)
 * @throws if the kernel cannot run here (see `wasmUnavailableReason`)
 */
export function wasmScoreFn(weights: Float32Array[], config: ModelConfig = { hidden: [64, 64], activation: "tanh" }): ScoreFn {
  const k = new Kernel(config);
  k.setWeights(weights);
  return (x, t, n) => {
    if (x.length !== 2 * n) throw new RangeError(`Expected x of length 2n = ${2 * n}, but got x.length=${x.length}`);
    k.ensure(n);
    const ex = k.ex;
    k.view(ex.x0Ptr(), 2 * n).set(x);
    k.view(ex.tPtr(), n).fill(t);
    ex.forward(n);
    return k.view(ex.scorePtr(), 2 * n).slice();
  };
}

registerEngine(
  WASM_ENGINE_NAME,
  ({ config, weights }: EngineInit) => createWasmEngine(config, weights),
  { priority: 10 },
);

/**
 * The fastest way to evaluate a trained s_θ here, as a `ScoreFn`: the wasm kernel where
 * WebAssembly SIMD runs, else the tfjs model (`scoreFnFromModel`). Same network, same weights;
 * `engine` says which one was picked.
 */
export function fastestScoreFn(weights: Float32Array[], config: ModelConfig = defaultModelConfig()): { score: ScoreFn; engine: string } {
  if (wasmUnavailableReason() === null && kernelFits(config)) {
    return { score: wasmScoreFn(weights, config), engine: WASM_ENGINE_NAME };
  }
  return { score: scoreFnFromModel(new ScoreModel(config, weights)), engine: "tfjs" };
}
