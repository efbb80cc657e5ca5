/**
 * The fast training engine "wasm-simd": the score MLP [3, 64, 64, 2] (tanh) of part 2c as one fused
 * WebAssembly kernel (forward, DSM loss, backward and Adam in a single call, f32x4 SIMD), compiled
 * from `assembly/score-mlp.ts` by AssemblyScript at build time (`npm run build:wasm`). The hidden
 * width is set at run time: two hidden layers [h, h], h a multiple of 4 up to
 * KERNEL_MAX_HIDDEN_WIDTH (`kernelFits`); the sheet's h = 64 gives the same numbers as ever.
 *
 * The training variants of `TrainConfig` run here too, for any such width: the kernel's loss is
 * Σ w_i ‖o_i − y_i‖² with targets and weights from `lossTargets` (`core/objective.ts`), its input
 * row is [x_t, time features] of any width up to `maxInputWidth`, the scheduled step size is
 * passed per step, and the moving average of the weights is kept by `train`.
 *
 * At batch 256 the per-operation bookkeeping of tfjs, not arithmetic, dominates a training step;
 * one call per step removes it. The engine computes exactly what the tfjs engine (`engine-tfjs.ts`)
 * computes (same parameter layout, same batch, same loss, same Adam update in float32) and
 * registers itself with `train` under the name "wasm-simd" with a priority above "tfjs", so
 * `train(cfg)` uses it by default wherever WebAssembly SIMD runs and falls back to tfjs elsewhere.
 *
 * `wasmScoreFn(weights)` is the same network as a `ScoreFn` for `sampleReverseSDE`.
 * The schedule (α, σ, β) stays in `schedule.ts`: this module only passes its values to the kernel.
 *
 * Two cores: a batch of ≥ SPLIT_MIN_ROWS rows is always computed as two parts whose gradients are
 * added, and a helper thread (`wasm-threads.ts`) may compute one part while this thread computes
 * the other; scores are split by points. The numbers do not depend on the thread count, so the
 * helper is used only where timing the calls both ways on this machine shows that it pays
 * (`HelperChoice`), and it is never waited for long.
 */
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { Batch } from "../core/loss";
import { OptimizerState } from "../core/adam";
import {
  ModelConfig,
  defaultModelConfig,
  parameterShapes,
  validateModelConfig,
  validateWeights,
} from "../core/mlp";
import { ScoreFn, scoreCallRows } from "../core/sampler";
import { ObjectiveChoice, isSheetObjective, lossTargets } from "../core/objective";
import { alphaSigma } from "../core/sde";
import { embeddingWidth, timeFeatures } from "../core/time-embedding";
import {
  EngineFactory,
  EngineInit,
  TrainConfig,
  TrainEngine,
  stepLearningRate,
  validateTrainConfig,
} from "../core/train";
import {
  KernelShape,
  ParamsOwner,
  HelperChoice,
  WasmHelper,
  helperReady,
  holdHelper,
  releaseHelper,
  sharedHelper,
  wasmThreadCount,
} from "./wasm-threads";
export {
  MIN_SPEEDUP,
  helperChoices,
  stopWasmThreads,
  wasmThreadCount,
  wasmThreadsActive,
  wasmThreadsFailure,
  wasmThreadsStats,
} from "./wasm-threads";

/** Name under which the engine registers with `train` (`train(cfg, { engine: "wasm-simd" })`). */
export const WASM_ENGINE_NAME = "wasm-simd";

/** The exports of the compiled kernel (see assembly/score-mlp.ts). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  reserve(n: number): void;
  paramsPtr(): number;
  gradsPtr(): number;
  gradsInPtr(): number;
  adamMPtr(): number;
  adamVPtr(): number;
  x0Ptr(): number;
  epsPtr(): number;
  featuresPtr(): number;
  alphaPtr(): number;
  sigmaPtr(): number;
  targetPtr(): number;
  weightPtr(): number;
  scorePtr(): number;
  paramCount(): number;
  maxParamCount(): number;
  maxInputWidth(): number;
  maxHiddenWidth(): number;
  configure(inputWidth: number, hidden: number): number;
  syncTransposes(): void;
  trainStep(
    n: number,
    b1: number,
    omb1: number,
    b2: number,
    omb2: number,
    stepSize: number,
    invC2: number,
    epsAdam: number,
  ): number;
  lossGrad(row0: number, rows: number, nTotal: number): number;
  stashGrads(): void;
  addStashedGrads(): void;
  adam(
    b1: number,
    omb1: number,
    b2: number,
    omb2: number,
    stepSize: number,
    invC2: number,
    epsAdam: number,
  ): void;
  chunkRows(): number;
  forward(n: number): void;
  tanhf(x: number): number;
}

/**
 * Which build of the kernel runs: "relaxed-simd" uses fused multiply-add where the runtime has it.
 */
export type WasmKernelVariant = "simd" | "relaxed-simd";

let compiled: { module: WebAssembly.Module; variant: WasmKernelVariant } | null = null;
let unavailable: string | null = null;

/**
 * The .wasm files live in dist/ (above the compiled engines/wasm.js; from src/ under tsx), or in
 * DIFFUSION_WASM_DIR if set (to try a kernel built elsewhere).
 */
function findKernel(file: string): string | null {
  const env = process.env.DIFFUSION_WASM_DIR;
  const dirs = env ? [env] : [path.join(__dirname, ".."), path.join(__dirname, "..", "..", "dist")];
  for (const dir of dirs) {
    const p = path.join(dir, file);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/**
 * The relaxed-SIMD build, compiled, or null if this runtime cannot run it.
 *  Trade-off: its multiply-adds are fused (one rounding instead of two), which makes a training
 * step about 9% faster here; the results differ from the plain build and from tfjs by float32
 * rounding only (the equivalence tests pass with either), but relaxed SIMD lets the hardware choose
 * fused or not, so the last bits may differ between CPUs. Node 22 and later run it as is. Node 20
 * has it only behind V8's `--experimental-wasm-relaxed-simd`, which is turned on here
 * (`v8.setFlagsFromString`, affecting only modules compiled afterwards) if the build does not
 * validate without it; anything that throws falls back to the plain build.
 * DIFFUSION_WASM_VARIANT=simd forces the plain build.
 */
function relaxedModule(bytes: BufferSource): WebAssembly.Module | null {
  try {
    if (!WebAssembly.validate(bytes)) {
      require("v8").setFlagsFromString("--experimental-wasm-relaxed-simd");
      if (!WebAssembly.validate(bytes)) return null;
    }
    return new WebAssembly.Module(bytes);
  } catch {
    return null;
  }
}

function loadKernelModule(): { module: WebAssembly.Module; variant: WasmKernelVariant } {
  if (compiled) return compiled;
  if (unavailable) throw new Error(unavailable);
  const fail = (why: string): never => {
    unavailable = why;
    throw new Error(why);
  };
  if (typeof WebAssembly !== "object")
    fail("WebAssembly is not available in this JavaScript runtime");
  const plain = findKernel("score-mlp.wasm");
  if (!plain) fail("the kernel dist/score-mlp.wasm is missing; run `npm run build:wasm`");
  const relaxed = findKernel("score-mlp-relaxed.wasm");
  if (process.env.DIFFUSION_WASM_VARIANT !== "simd" && relaxed) {
    const module = relaxedModule(new Uint8Array(fs.readFileSync(relaxed)));
    if (module) return (compiled = { module, variant: "relaxed-simd" });
  }
  const bytes = fs.readFileSync(plain!);
  if (!WebAssembly.validate(bytes))
    fail("this runtime's WebAssembly has no SIMD (v128), which the kernel needs");
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

/**
 * Start the helper thread now rather than on the first large call (which does not wait for it and
 * computes alone until it runs). Resolves true once it runs; false if one thread is wanted
 * (DIFFUSION_WASM_THREADS=1, one core) or it cannot start here.
 */
export async function startWasmThreads(): Promise<boolean> {
  if (wasmThreadCount() < 2 || wasmUnavailableReason() !== null) return false;
  const k = new Kernel(defaultModelConfig());
  return helperReady(k.module, k.ex.maxParamCount());
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

/** Widest input row [x, time features] the kernel takes: 2 + 1 + 2·16 (see `assembly/`). */
export const KERNEL_MAX_INPUT_WIDTH = 36;

/** Widest hidden layer the kernel takes (its buffers' size, see `assembly/`). */
export const KERNEL_MAX_HIDDEN_WIDTH = 256;

/**
 * True when the kernel runs this architecture: two hidden layers of one width h, a multiple of 4
 * with 4 ≤ h ≤ KERNEL_MAX_HIDDEN_WIDTH (the sheet's [64, 64], [96, 96], [128, 128], …), with any
 * time embedding of at most KERNEL_MAX_INPUT_WIDTH inputs. Other architectures train on "tfjs".
 */
export function kernelFits(config: ModelConfig): boolean {
  const [h, h2] = config.hidden;
  return (
    config.hidden.length === 2 &&
    h === h2 &&
    Number.isInteger(h) &&
    h % 4 === 0 &&
    h >= 4 &&
    h <= KERNEL_MAX_HIDDEN_WIDTH &&
    2 + embeddingWidth(config.timeEmbedding) <= KERNEL_MAX_INPUT_WIDTH
  );
}

function checkArchitecture(config: ModelConfig): void {
  validateModelConfig(config);
  if (!kernelFits(config)) {
    throw new RangeError(
      `The wasm kernel runs hidden=[h, h] with h a multiple of 4 up to ` +
        `${KERNEL_MAX_HIDDEN_WIDTH} (e.g. [64, 64], [128, 128]), but got ` +
        `hidden=${JSON.stringify(config.hidden)}; other architectures train on the "tfjs" engine`,
    );
  }
}

/**
 * A batch of at least this many rows is computed in two parts (rows [0, h) and [h, n), h =
 * `splitRows(n)`) whose gradients are added, whether one thread computes both or two threads one
 * each: so the results never depend on the thread count. Below it the batch is one part, and one
 * thread computes it.
 */
export const SPLIT_MIN_ROWS = 64;

/**
 * Rows of the first part of an n-row batch (a whole number of kernel chunks), or n if it is not
 * split.
 */
function splitRows(n: number, chunk: number): number {
  return n < SPLIT_MIN_ROWS ? n : Math.ceil(n / 2 / chunk) * chunk;
}

/**
 * One instance of the kernel: its own linear memory holding parameters, Adam moments and buffers.
 */
class Kernel {
  readonly ex: KernelExports;
  readonly variant: WasmKernelVariant;
  readonly module: WebAssembly.Module;
  /** Counts changes of the parameters, so the helper thread knows when to copy them again. */
  readonly owner: ParamsOwner = { version: 0 };
  private readonly layout: { offset: number; length: number }[];
  private capacity = 0;

  /** @param objective the run's loss choices (absent: the sheet's), for `loadBatch` */
  constructor(
    readonly config: ModelConfig,
    objective: ObjectiveChoice = {},
  ) {
    checkArchitecture(config);
    const { module, variant } = loadKernelModule();
    this.variant = variant;
    this.module = module;
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: () => {
          throw new Error("wasm kernel aborted");
        },
      },
    });
    this.ex = instance.exports as unknown as KernelExports;
    this.inputWidth = 2 + embeddingWidth(config.timeEmbedding);
    this.sheet = isSheetObjective(objective, config.timeEmbedding);
    this.shape = { width: this.inputWidth, hidden: config.hidden[0] };
    this.ex.configure(this.inputWidth, config.hidden[0]);
    this.layout = offsets(config);
  }

  /** Inputs per row: 2 + the width of the time features. */
  readonly inputWidth: number;
  /** The architecture the kernel is configured for (input and hidden width). */
  readonly shape: KernelShape;
  /** True for the sheet's loss and input (score output, λ = 1, raw t). */
  private readonly sheet: boolean;

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
    this.owner.version += 1;
  }
  /** The flat parameter vector inside the kernel (a view: valid until the memory grows). */
  paramsView(): Float32Array {
    return this.view(this.ex.paramsPtr(), this.ex.paramCount());
  }
  /** The process's helper thread (started by the first call), or null if it cannot run here. */
  helper(): WasmHelper | null {
    return sharedHelper(this.module, this.ex.maxParamCount());
  }
  getWeights(): Float32Array[] {
    return this.read(this.ex.paramsPtr());
  }
  /** Views of the parameters inside the kernel (valid until the memory grows). */
  peekWeights(): Float32Array[] {
    const flat = this.paramsView();
    return this.layout.map(({ offset, length }) => flat.subarray(offset, offset + length));
  }
  setMoments(m: Float32Array[], v: Float32Array[]): void {
    this.write(this.ex.adamMPtr(), m);
    this.write(this.ex.adamVPtr(), v);
  }
  getMoments(): { m: Float32Array[]; v: Float32Array[] } {
    return { m: this.read(this.ex.adamMPtr()), v: this.read(this.ex.adamVPtr()) };
  }
  /**
   * Copy a batch into the kernel with α(t), σ(t), the time features, the targets y and the loss
   * weights w per row, from `lossTargets` (core/objective.ts).
   */
  loadBatch(batch: Batch, cfg: TrainConfig): void {
    const n = batch.t.length;
    if (batch.x0.length !== 2 * n || batch.eps.length !== 2 * n) {
      throw new RangeError(
        `Expected x0 and eps of length 2·${n}, but got x0.length=${batch.x0.length}, ` +
          `eps.length=${batch.eps.length}`,
      );
    }
    this.ensure(n);
    const ex = this.ex;
    if (this.sheet) {
      // the sheet's loss: `lossTargets`' numbers (t, y = −ε/σ̃, w = 1) written in place
      this.view(ex.x0Ptr(), 2 * n).set(batch.x0);
      this.view(ex.epsPtr(), 2 * n).set(batch.eps);
      this.view(ex.featuresPtr(), n).set(batch.t);
      const s = this.view(ex.sigmaPtr(), n);
      alphaSigma(batch.t, cfg.schedule, this.view(ex.alphaPtr(), n), s);
      const y = this.view(ex.targetPtr(), 2 * n);
      const sigmaMin = cfg.loss.sigmaMin;
      for (let i = 0; i < n; i++) {
        const sc = Math.fround(Math.max(s[i], sigmaMin));
        y[2 * i] = -batch.eps[2 * i] / sc;
        y[2 * i + 1] = -batch.eps[2 * i + 1] / sc;
      }
      this.view(ex.weightPtr(), n).fill(1);
      return;
    }
    const y = lossTargets(batch, cfg.schedule, cfg.loss, cfg, cfg.model.timeEmbedding);
    this.view(ex.x0Ptr(), 2 * n).set(batch.x0);
    this.view(ex.epsPtr(), 2 * n).set(batch.eps);
    this.view(ex.featuresPtr(), n * (this.inputWidth - 2)).set(y.features);
    this.view(ex.alphaPtr(), n).set(y.alpha);
    this.view(ex.sigmaPtr(), n).set(y.sigma);
    this.view(ex.targetPtr(), 2 * n).set(y.target);
    this.view(ex.weightPtr(), n).set(y.weight);
  }

  /**
   * Σ over the loaded n-row batch of w ‖o − y‖² (float64), and the gradient of its mean in
   * `grads`. From SPLIT_MIN_ROWS rows on, in two parts: rows [h, n) on `helper` while this thread
   * computes rows [0, h), or here if there is no helper or it is busy or late; then the two
   * gradients are added (two terms: the sum does not depend on which part came first).
   */
  lossGradient(n: number, helper: WasmHelper | null): number {
    const ex = this.ex;
    const h = splitRows(n, ex.chunkRows());
    if (h === n) return ex.lossGrad(0, n, n);
    if (helper) {
      const inputs = {
        shape: this.shape,
        x0: this.view(ex.x0Ptr(), 2 * n),
        eps: this.view(ex.epsPtr(), 2 * n),
        f: this.view(ex.featuresPtr(), n * (this.inputWidth - 2)),
        a: this.view(ex.alphaPtr(), n),
        s: this.view(ex.sigmaPtr(), n),
        y: this.view(ex.targetPtr(), 2 * n),
        w: this.view(ex.weightPtr(), n),
      };
      if (helper.startGrad(this.owner, this.paramsView(), inputs, h, n - h, n)) {
        const t0 = performance.now();
        const sumA = ex.lossGrad(0, h, n);
        const sumB = helper.finishGrad(
          this.view(ex.gradsInPtr(), ex.paramCount()),
          performance.now() - t0,
        );
        if (sumB !== null) {
          ex.addStashedGrads();
          return sumA + sumB;
        }
        // the helper is late: part B here (grads holds part A)
        ex.stashGrads();
        const sumB2 = ex.lossGrad(h, n - h, n);
        ex.addStashedGrads();
        return sumA + sumB2;
      }
    }
    const sumB = ex.lossGrad(h, n - h, n);
    ex.stashGrads();
    const sumA = ex.lossGrad(0, h, n);
    ex.addStashedGrads();
    return sumA + sumB;
  }

  /** The time features of one time t (width − 2 numbers, float32). */
  features(t: number): Float32Array {
    return timeFeatures([t], this.config.timeEmbedding, new Float32Array(this.inputWidth - 2));
  }

  /** Outputs of points [row0, row0 + rows) of x (n×2) at time t, into out at the same rows. */
  forwardInto(
    x: Float32Array | Float64Array,
    t: number,
    row0: number,
    rows: number,
    out: Float32Array,
  ): void {
    const ex = this.ex;
    this.ensure(rows);
    this.view(ex.x0Ptr(), 2 * rows).set(x.subarray(2 * row0, 2 * (row0 + rows)));
    const nf = this.inputWidth - 2;
    const f = this.view(ex.featuresPtr(), rows * nf);
    if (nf === 1) f.fill(t);
    else {
      const one = this.features(t);
      for (let i = 0; i < rows; i++) f.set(one, i * nf);
    }
    ex.forward(rows);
    out.set(this.view(ex.scorePtr(), 2 * rows), 2 * row0);
  }

  /** Gradient of the last `lossGradient`, in the parameter layout. */
  getGradients(): Float32Array[] {
    return this.read(this.ex.gradsPtr());
  }
}

/** Options of the wasm engine and score function that do not change their results. */
export interface WasmOptions {
  /**
   * Threads (1 or 2; more count as 2); results are the same for any value. Default:
   * DIFFUSION_WASM_THREADS if set, else min(2, cores) and then, per kind and size of call, the
   * helper only where timing the calls both ways here shows it pays (`HelperChoice`). A count
   * given here or in DIFFUSION_WASM_THREADS is used as given: 2 uses the helper on every call
   * large enough (TRAIN_THREAD_MIN_ROWS, SCORE_THREAD_MIN_ROWS).
   */
  threads?: number;
}

/**
 * Calls with fewer rows (training) or points (scores) never use the helper: the hand-over between
 * threads (tens of µs) would cost more than half of such a call saves.
 */
const TRAIN_THREAD_MIN_ROWS = 128;
const SCORE_THREAD_MIN_ROWS = 512;

/** One thread; the helper on every large call (asked for); the helper where it pays (default). */
type ThreadMode = "one" | "two" | "auto";

function threadMode(opts: WasmOptions): ThreadMode {
  const k = opts.threads ?? wasmThreadCount();
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`Expected threads to be a positive integer, but got threads=${k}`);
  const env = process.env.DIFFUSION_WASM_THREADS;
  if (k < 2) return "one";
  return opts.threads === undefined && (env === undefined || env === "") ? "auto" : "two";
}

/** The helper for a call of `rows` rows about to start, or null: this thread computes it all. */
function helperFor(
  k: Kernel,
  mode: ThreadMode,
  kind: "train" | "score",
  rows: number,
): WasmHelper | null {
  const min = kind === "train" ? TRAIN_THREAD_MIN_ROWS : SCORE_THREAD_MIN_ROWS;
  if (mode === "one" || rows < min) return null;
  if (mode === "two") return k.helper();
  return HelperChoice.for(kind, rows).next(() => k.helper());
}

/**
 * Create the wasm engine directly (`train` does this through the registry).
 * @throws if WebAssembly SIMD or the compiled kernel is unavailable, or the architecture is not
 *   one the kernel runs (`kernelFits`)
 */
export function createWasmEngine(
  cfg: TrainConfig,
  weights: Float32Array[],
  opts: WasmOptions = {},
): TrainEngine & { readonly variant: WasmKernelVariant; readonly threads: number } {
  validateTrainConfig(cfg);
  const mode = threadMode(opts);
  let kernel: Kernel | null = new Kernel(cfg.model, cfg);
  kernel.setWeights(weights);
  kernel.setMoments(
    weights.map((w) => new Float32Array(w.length)),
    weights.map((w) => new Float32Array(w.length)),
  );
  const { adamBeta1: b1, adamBeta2: b2, adamEpsilon: epsAdam } = cfg;
  let adamStep = 0;
  const live = (): Kernel => {
    if (!kernel) throw new Error("This wasm engine was disposed");
    return kernel;
  };
  const token = {}; // holds the helper thread while this engine lives
  if (mode !== "one") holdHelper(token);

  return {
    name: WASM_ENGINE_NAME,
    variant: kernel.variant,
    threads: mode === "one" ? 1 : 2,
    step(batch: Batch): number {
      const k = live();
      const n = batch.t.length;
      const helper = helperFor(k, mode, "train", n);
      k.loadBatch(batch, cfg);
      const loss = Math.fround(k.lossGradient(n, helper) / n);
      // a non-finite loss leaves parameters and moments unchanged
      if (!Number.isFinite(loss)) return loss;
      // Adam scalars exactly as the tfjs engine forms them (float64 here, float32 in the kernel).
      const next = adamStep + 1;
      const lr = stepLearningRate(cfg, next);
      const stepSize = lr / (1 - Math.pow(b1, next));
      const invC2 = 1 / (1 - Math.pow(b2, next));
      k.ex.adam(b1, 1 - b1, b2, 1 - b2, stepSize, invC2, epsAdam);
      k.owner.version += 1;
      adamStep = next;
      // the helper copies them while the next batch is drawn
      helper?.offerParams(k.owner, k.paramsView(), k.shape);
      return loss;
    },
    getWeights: () => live().getWeights(),
    peekWeights: () => live().peekWeights(),
    setWeights: (w) => live().setWeights(w),
    getOptimizerState: (): OptimizerState => ({ step: adamStep, ...live().getMoments() }),
    setOptimizerState(st: OptimizerState) {
      if (!Number.isInteger(st.step) || st.step < 0)
        throw new RangeError(`Expected optimizer step to be a count, but got step=${st.step}`);
      live().setMoments(st.m, st.v);
      adamStep = st.step;
    },
    dispose() {
      kernel = null; // the instance's memory is freed by the garbage collector
      releaseHelper(token); // stops the helper thread if no other engine uses it
    },
  };
}

/**
 * The loss and its gradient at `weights` on one batch, without an update (for tests and checks);
 * the helper computes a part only if asked for (`threads: 2` or DIFFUSION_WASM_THREADS=2).
 * @returns loss (the sheet's: mean over the batch of ‖s + ε/σ̃‖²; `objective.ts` for the variants)
 *   and dloss/dθ in the parameter layout
 */
export function wasmLossAndGradient(
  cfg: TrainConfig,
  weights: Float32Array[],
  batch: Batch,
  opts: WasmOptions = {},
): { loss: number; grads: Float32Array[] } {
  validateTrainConfig(cfg);
  const mode = threadMode(opts);
  const k = new Kernel(cfg.model, cfg);
  k.setWeights(weights);
  k.loadBatch(batch, cfg);
  const n = batch.t.length;
  const helper = mode === "two" ? helperFor(k, mode, "train", n) : null;
  const loss = Math.fround(k.lossGradient(n, helper) / n); // the engine's parts
  return { loss, grads: k.getGradients() };
}

/**
 * s_θ(x, t) by the wasm kernel, as a `ScoreFn` for `sampleReverseSDE` (the network's output: for a
 * run with parameterization "eps" use `trainedScoreFn` in `engines/index.ts`; same network as
 * `scoreFnFromModel(new ScoreModel(config, weights))`, float32, without tfjs): (x n×2 row-major,
 * t in [0, 1], n = x.length / 2 if omitted) → n×2 scores; t outside [0, 1] or x not n×2 throw.
 * @param weights parameters in the shared layout (copied: later changes to them are not seen)
 * @throws if the kernel cannot run here (see `wasmUnavailableReason`)
 */
export function wasmScoreFn(
  weights: Float32Array[],
  config: ModelConfig = { hidden: [64, 64], activation: "tanh" },
  opts: WasmOptions = {},
): ScoreFn {
  const mode = threadMode(opts);
  const k = new Kernel(config);
  k.setWeights(weights);
  const chunk = k.ex.chunkRows();
  return (x, t, nPoints?: number) => {
    const n = scoreCallRows(x, t, nPoints);
    const helper = helperFor(k, mode, "score", n);
    const out = new Float32Array(2 * n);
    // points [h, n) on the helper thread while this one does [0, h)
    const h = Math.ceil(n / 2 / chunk) * chunk;
    if (helper && helper.startScore(k.owner, k.paramsView(), k.shape, x, k.features(t), h, n - h)) {
      const t0 = performance.now();
      k.forwardInto(x, t, 0, h, out);
      if (!helper.finishScore(out, 2 * h, performance.now() - t0))
        k.forwardInto(x, t, h, n - h, out); // late: here
      return out;
    }
    k.forwardInto(x, t, 0, n, out);
    return out;
  };
}

/** The "wasm-simd" engine for `train`; throws (with the reason) where it cannot run. */
export const wasmEngine: EngineFactory = ({ config, weights }: EngineInit) =>
  createWasmEngine(config, weights);
