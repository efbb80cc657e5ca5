/**
 * A second core for the wasm kernel (`wasm.ts`), synchronously: one helper thread
 * (`wasm-worker.ts`) with its own instance of the same compiled kernel computes one part of a
 * training batch's gradient, or of a score call's points, while the calling thread computes the
 * other part. `TrainEngine.step` and `ScoreFn` stay synchronous: the parts meet through a
 * SharedArrayBuffer; the caller posts a command with `Atomics.notify`, the helper polls for
 * HELPER_SPIN_MS after each command (training steps follow each other faster) and then sleeps in
 * `Atomics.wait`.
 *
 * The caller never blocks on the helper: if the helper is not started yet, still busy, or not done
 * shortly after the caller's own part (another process took its core), the caller computes that
 * part itself and ignores the helper's late answer. The numbers are the same either way, because
 * the engine splits a batch into the same two parts whether one thread computes both or two
 * threads one each (see `splitRows` in wasm.ts), and a score is per point.
 *
 * Whether the helper pays depends on the machine and on what else runs on it: on two idle cores
 * it makes a training step ~1.3× and a large score call ~1.4× faster; when another process keeps
 * a core busy, both are slower with it. So by default each kind and size of call times itself
 * both ways at first use and every few seconds after (`HelperChoice`); `DIFFUSION_WASM_THREADS=1`
 * forces one thread, `=2` the helper on every call large enough to split. The helper starts
 * (asynchronously) when first wanted, is shared by every engine and score function of the
 * process, does not keep the process alive (`unref`), and stops when the last engine using it is
 * disposed (`stopWasmThreads` stops it at once; a later call starts it again).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { MessageChannel, MessagePort, Worker } from "worker_threads";

/** Slots of the control block (Int32Array over `HelperInit.ctl`). */
export const Slot = {
  /** Command number, incremented by the caller for each command. */
  seq: 0,
  /** Command kind (`Cmd`). */
  cmd: 1,
  /** Rows of the part the helper computes. */
  rows: 2,
  /** Rows of the whole batch (the gradient is that of the batch's mean loss). */
  nTotal: 3,
  /** Number of the last command the helper finished. */
  done: 4,
  /** 0, or 1 if the helper failed (it then stops). */
  status: 5,
  /** 1 once the helper has instantiated its kernel. */
  ready: 6,
  /** 1: first copy `params` of the data block into the kernel. */
  loadParams: 7,
  /** 1: first switch to the larger data block just sent on the port. */
  resize: 8,
  /** Input width of the kernel (2 + time features) the command's parameters are laid out for. */
  width: 9,
  /** Hidden width of the kernel the command's parameters are laid out for. */
  hidden: 10,
} as const;
/** Int32 slots of the control block, followed by float64 scalars at `F64_OFFSET` bytes. */
export const CTL_BYTES = 256;
export const F64_OFFSET = 128;
/** Float64 scalars: [0] the part's loss sum (out), [1] unused. */
export const F64 = { lossSum: 0, t: 1 } as const;

/** Commands (after the `loadParams` and `resize` preludes). */
export const Cmd = {
  /** Nothing more (a command that only loads parameters). */
  none: 0,
  /**
   * Loss sum and gradient of `rows` rows (x0, eps, features, α, σ, y, w) as part of an nTotal-row
   * batch → `grads`.
   */
  grad: 1,
  /** Scores of `rows` points (x, the scalar t) → `out`. */
  score: 2,
} as const;

/** Most time features per row (the kernel's widest input row, 36, minus x). */
export const MAX_FEATURES = 34;

/**
 * Float offsets of the data block's arrays for a capacity of `cap` rows and at most `np`
 * parameters.
 */
export function dataLayout(cap: number, np: number) {
  const params = 0,
    grads = np,
    x0 = 2 * np;
  const eps = x0 + 2 * cap,
    f = eps + 2 * cap,
    a = f + MAX_FEATURES * cap,
    s = a + cap,
    y = s + cap,
    w = y + 2 * cap,
    out = w + cap;
  return { params, grads, x0, eps, f, a, s, y, w, out, floats: out + 2 * cap };
}

/** What the helper thread receives. */
export interface HelperInit {
  module: WebAssembly.Module;
  ctl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  cap: number;
  port: MessagePort;
  spinMs: number;
}

/**
 * How long the helper polls for the next command before it sleeps: longer than the gap between two
 * training steps.
 */
const HELPER_SPIN_MS = 0.5;
/**
 * How long the caller waits for the helper's part after finishing its own, as a fraction of its own
 * part's time (at least MIN_GRACE_MS), before computing the part itself.
 */
const GRACE = 0.5;
const MIN_GRACE_MS = 0.05;

/**
 * Threads the wasm kernel may use here: DIFFUSION_WASM_THREADS if set (1 or 2), else min(2, cores).
 */
export function wasmThreadCount(): number {
  const env = process.env.DIFFUSION_WASM_THREADS;
  if (env !== undefined && env !== "") {
    const k = Number(env);
    if (!Number.isInteger(k) || k < 1) {
      throw new RangeError(
        `Expected DIFFUSION_WASM_THREADS to be a positive integer, but got ` +
          `DIFFUSION_WASM_THREADS=${env}`,
      );
    }
    return Math.min(k, 2);
  }
  const cores =
    typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.min(2, Math.max(1, cores));
}

/**
 * The helper's code: wasm-worker.js beside this file (dist/engines/), or, when this file runs from
 * src/ under tsx, wasm-worker.ts loaded through tsx's synchronous CommonJS hook (a worker does
 * not get tsx's `--import` hooks in Node 20, and must not wait for them while the caller blocks).
 */
function helperWorker(init: HelperInit): Worker {
  const base = path.join(__dirname, "wasm-worker");
  const options = { workerData: init, transferList: [init.port], execArgv: [] as string[] };
  if (fs.existsSync(`${base}.js`)) return new Worker(`${base}.js`, options);
  if (path.extname(__filename) === ".ts" && fs.existsSync(`${base}.ts`)) {
    const tsx = require.resolve("tsx/cjs/api");
    const worker = JSON.stringify(`${base}.ts`);
    const code = `require(${JSON.stringify(tsx)}).register(); require(${worker});`;
    return new Worker(code, { ...options, eval: true });
  }
  throw new Error(`the helper ${base}.js is missing`);
}

/** The architecture a kernel is configured for: what its parameter layout depends on. */
export interface KernelShape {
  /** Inputs per row: 2 + time features. */
  width: number;
  /** Width of each of the two hidden layers. */
  hidden: number;
}

/** Whoever owns a set of parameters (an engine, a score function) and how often they changed. */
export interface ParamsOwner {
  version: number;
}

/** Per-row inputs of a training batch (views of the caller's kernel memory). */
export interface GradInputs {
  /** The kernel's architecture (its input width is 2 + features per row). */
  shape: KernelShape;
  x0: Float32Array;
  eps: Float32Array;
  /** Time features, rows × (width − 2). */
  f: Float32Array;
  a: Float32Array;
  s: Float32Array;
  /** Targets (rows × 2) and loss weights of the output. */
  y: Float32Array;
  w: Float32Array;
}

/**
 * The helper thread, from the calling thread's side. Every method returns at once or after a short
 * grace.
 */
export class WasmHelper {
  private readonly ctl: Int32Array;
  private readonly f64: Float64Array;
  private data: Float32Array;
  private cap: number;
  private seq = 0;
  private loaded: { owner: ParamsOwner; version: number } | null = null;
  private broken: string | null = null;
  /** Where the posted command's answer goes, for `finish`. */
  private pending: { cmd: number; rows: number; since: number } | null = null;
  /**
   * Parts the helper computed, and parts the caller computed itself because the helper was late.
   */
  readonly stats = { served: 0, late: 0 };

  private constructor(
    private readonly worker: Worker,
    ctl: SharedArrayBuffer,
    data: SharedArrayBuffer,
    cap: number,
    private readonly port: MessagePort,
    private readonly np: number,
  ) {
    this.ctl = new Int32Array(ctl, 0, F64_OFFSET / 4);
    this.f64 = new Float64Array(ctl, F64_OFFSET, 2);
    this.data = new Float32Array(data);
    this.cap = cap;
  }

  /**
   * Start a helper on `module` (it must be the module the caller runs: same build, same results).
   */
  static start(module: WebAssembly.Module, np: number, cap = 512): WasmHelper {
    const ctl = new SharedArrayBuffer(CTL_BYTES);
    const data = new SharedArrayBuffer(4 * dataLayout(cap, np).floats);
    const { port1, port2 } = new MessageChannel();
    const init: HelperInit = { module, ctl, data, cap, port: port2, spinMs: HELPER_SPIN_MS };
    const worker = helperWorker(init);
    worker.unref();
    port1.unref();
    const h = new WasmHelper(worker, ctl, data, cap, port1, np);
    worker.on("error", (e) => h.fail(`helper thread failed: ${e.message}`));
    worker.on("exit", () => h.fail("helper thread exited"));
    return h;
  }

  /** Why the helper cannot be used, or null. */
  get failure(): string | null {
    return this.broken;
  }

  private fail(why: string): void {
    if (this.broken === null) this.broken = why;
  }

  stop(): void {
    this.fail("stopped");
    this.port.close();
    void this.worker.terminate();
  }

  /** True once the helper thread has started its kernel. */
  get ready(): boolean {
    return this.broken === null && Atomics.load(this.ctl, Slot.ready) === 1;
  }

  /** True if the helper is up and has finished every command posted (does not wait). */
  private idle(): boolean {
    if (this.broken !== null) return false;
    const ctl = this.ctl;
    if (Atomics.load(ctl, Slot.status) !== 0) {
      this.fail("helper thread reported an error");
      void this.worker.terminate();
      return false;
    }
    return Atomics.load(ctl, Slot.ready) === 1 && Atomics.load(ctl, Slot.done) === this.seq;
  }

  /**
   * Post a command, with the parameters of `owner` (laid out for the architecture `shape`) first if
   * the helper does not hold them yet.
   */
  private post(
    cmd: number,
    owner: ParamsOwner,
    params: Float32Array,
    shape: KernelShape,
    rows = 0,
    nTotal = 0,
  ): void {
    const ctl = this.ctl;
    const stale = !(
      this.loaded &&
      this.loaded.owner === owner &&
      this.loaded.version === owner.version
    );
    if (stale) {
      this.data.set(params, dataLayout(this.cap, this.np).params);
      this.loaded = { owner, version: owner.version };
    }
    Atomics.store(ctl, Slot.loadParams, stale ? 1 : 0);
    Atomics.store(ctl, Slot.width, shape.width);
    Atomics.store(ctl, Slot.hidden, shape.hidden);
    Atomics.store(ctl, Slot.cmd, cmd);
    Atomics.store(ctl, Slot.rows, rows);
    Atomics.store(ctl, Slot.nTotal, nTotal);
    this.seq += 1;
    Atomics.store(ctl, Slot.seq, this.seq);
    Atomics.notify(ctl, Slot.seq);
    this.pending = cmd === Cmd.none ? null : { cmd, rows, since: performance.now() };
  }

  /** Make room for `rows` rows; the helper switches blocks with the next command. */
  private reserve(rows: number): void {
    if (rows <= this.cap) {
      Atomics.store(this.ctl, Slot.resize, 0);
      return;
    }
    let cap = this.cap;
    while (cap < rows) cap *= 2;
    const data = new SharedArrayBuffer(4 * dataLayout(cap, this.np).floats);
    const old = this.data;
    this.data = new Float32Array(data);
    this.data.set(old.subarray(0, this.np)); // keep `params`: `loaded` still describes them
    this.cap = cap;
    this.port.postMessage({ data, cap });
    Atomics.store(this.ctl, Slot.resize, 1);
  }

  /**
   * If the helper is idle, let it copy `owner`'s current parameters now (before they are needed).
   */
  offerParams(owner: ParamsOwner, params: Float32Array, shape: KernelShape): void {
    if (this.idle()) {
      Atomics.store(this.ctl, Slot.resize, 0);
      this.post(Cmd.none, owner, params, shape);
    }
  }

  /**
   * Post the loss sum and gradient of rows [row0, row0 + rows), as part of an nTotal-row batch.
   * Returns false (posting nothing) if the helper is not ready or still busy.
   */
  startGrad(
    owner: ParamsOwner,
    params: Float32Array,
    inputs: GradInputs,
    row0: number,
    rows: number,
    nTotal: number,
  ): boolean {
    if (!this.idle()) return false;
    this.reserve(rows);
    const L = dataLayout(this.cap, this.np),
      d = this.data;
    const r1 = row0 + rows;
    const nf = inputs.shape.width - 2;
    d.set(inputs.x0.subarray(2 * row0, 2 * r1), L.x0);
    d.set(inputs.eps.subarray(2 * row0, 2 * r1), L.eps);
    d.set(inputs.f.subarray(nf * row0, nf * r1), L.f);
    d.set(inputs.a.subarray(row0, r1), L.a);
    d.set(inputs.s.subarray(row0, r1), L.s);
    d.set(inputs.y.subarray(2 * row0, 2 * r1), L.y);
    d.set(inputs.w.subarray(row0, r1), L.w);
    this.post(Cmd.grad, owner, params, inputs.shape, rows, nTotal);
    return true;
  }

  /**
   * Post the scores of points [row0, row0 + rows) of x (n×2) at one time whose features (one row,
   * shape.width − 2 numbers) are `features`; false if the helper is not ready or busy.
   */
  startScore(
    owner: ParamsOwner,
    params: Float32Array,
    shape: KernelShape,
    x: Float32Array | Float64Array,
    features: Float32Array,
    row0: number,
    rows: number,
  ): boolean {
    if (!this.idle()) return false;
    this.reserve(rows);
    const L = dataLayout(this.cap, this.np);
    this.data.set(x.subarray(2 * row0, 2 * (row0 + rows)), L.x0);
    this.data.set(features, L.f); // one row: the helper repeats it
    this.post(Cmd.score, owner, params, shape, rows);
    return true;
  }

  /**
   * Wait for the posted part, at most a grace period after `ownMs` (the caller's time for its own
   * part). True if it is done; false if the caller should compute the part itself.
   */
  private await(ownMs: number): boolean {
    const ctl = this.ctl;
    const deadline = performance.now() + Math.max(MIN_GRACE_MS, GRACE * ownMs);
    let k = 0;
    while (Atomics.load(ctl, Slot.done) !== this.seq) {
      if ((++k & 63) === 0 && performance.now() > deadline) {
        this.stats.late += 1;
        this.pending = null;
        return false;
      }
    }
    return this.idle(); // (also checks that the helper did not fail)
  }

  /**
   * The posted part's loss sum with its gradient copied into `grads`, or null: compute it yourself.
   */
  finishGrad(grads: Float32Array, ownMs: number): number | null {
    if (this.pending?.cmd !== Cmd.grad || !this.await(ownMs)) return null;
    this.pending = null;
    this.stats.served += 1;
    const L = dataLayout(this.cap, this.np);
    grads.set(this.data.subarray(L.grads, L.grads + grads.length));
    return this.f64[F64.lossSum];
  }

  /** Copy the posted part's scores into `out` at `offset` floats; false: compute them yourself. */
  finishScore(out: Float32Array, offset: number, ownMs: number): boolean {
    const p = this.pending;
    if (p?.cmd !== Cmd.score || !this.await(ownMs)) return false;
    this.pending = null;
    this.stats.served += 1;
    const L = dataLayout(this.cap, this.np);
    out.set(this.data.subarray(L.out, L.out + 2 * p.rows), offset);
    return true;
  }
}

/** What a `HelperChoice` last decided, for reports (`helperChoices`). */
export interface HelperDecision {
  /** Kind and size of the calls, e.g. "train:256", "score:16384" (sizes rounded up to 2^k). */
  key: string;
  /** Whether these calls use the helper. */
  helper: boolean;
  /** Mean ms from one call to the next on one thread and with the helper, last calibration. */
  oneMs: number;
  helperMs: number;
  /** Wall time of the last calibration (its calls are real work, in either mode). */
  calibrationMs: number;
  /** Calibrations so far (the first, then one every RECHECK_MS of use). */
  calibrations: number;
}

/**
 * Whether calls of one kind and size (`HelperChoice.for`, one per process) use the helper, decided
 * on this machine by timing them. After WARMUP calls (compilers warm up, the helper starts), and
 * again when a decision is RECHECK_MS old (other processes come and go), 2·ROUNDS blocks of calls
 * (each at least BLOCK calls and BLOCK_MS long) run alternately on one thread and with the helper.
 * A call is timed from its start to the next call's start, so the time includes what the caller
 * does between calls (draws the next batch, moves the samples) and how much a helper competing
 * for the cores slows that down; the first call of a block is not timed (it still feels the other
 * mode: a helper waking up, or still polling). The helper is then kept only if the mean time per
 * call on one thread is at least MIN_SPEEDUP times that with the helper (means, not medians: with
 * other processes about, the helper's cost comes as rare long stalls). The timed calls are the
 * caller's real calls, whose results do not depend on the mode: a calibration costs only the
 * time lost in the slower mode. Until the helper runs, calls use one thread and calibration waits.
 */
export class HelperChoice {
  private static readonly byKey = new Map<string, HelperChoice>();
  /** The process's choice for calls of this kind and size. */
  static for(kind: string, rows: number): HelperChoice {
    const key = `${kind}:${2 ** Math.ceil(Math.log2(rows))}`;
    let c = HelperChoice.byKey.get(key);
    if (!c) HelperChoice.byKey.set(key, (c = new HelperChoice(key)));
    return c;
  }
  /** Every decision made so far in this process. */
  static decisions(): HelperDecision[] {
    return [...HelperChoice.byKey.values()].flatMap((c) => (c.last ? [{ ...c.last }] : []));
  }

  private last: HelperDecision | null = null;
  private decidedAt = -Infinity;
  private warm = 0;
  private calibrating = false;
  private started = 0;
  /** Blocks done in this calibration, and the current block's calls and start. */
  private blocks = 0;
  private calls = 0;
  private blockStart = 0;
  private ms: [number[], number[]] = [[], []];
  /** The previous call, if it is being timed: its mode and start. */
  private timing: { mode: 0 | 1; since: number } | null = null;

  private constructor(private readonly key: string) {}

  /**
   * The helper for the call about to start, or null: one thread. `helper` gives the process's
   * helper (starting it) or null if it cannot run; it is asked only when the helper may be used.
   */
  next<H extends { readonly ready: boolean }>(helper: () => H | null): H | null {
    const now = performance.now();
    if (this.timing) this.ms[this.timing.mode].push(now - this.timing.since);
    this.timing = null;
    if (this.warm < WARMUP) {
      this.warm += 1;
      helper();
      return null;
    }
    if (this.calibrating && this.blocks === 2 * ROUNDS) this.decide(now);
    if (!this.calibrating) {
      if (now - this.decidedAt < RECHECK_MS) return this.last?.helper ? helper() : null;
      this.calibrating = true;
      this.started = now;
      this.blocks = this.calls = 0;
      this.blockStart = now;
      this.ms = [[], []];
    }
    const h = helper();
    if (!h?.ready) return null;
    if (this.calls >= BLOCK && now - this.blockStart >= BLOCK_MS) {
      this.blocks += 1;
      this.calls = 0;
      this.blockStart = now;
      if (this.blocks === 2 * ROUNDS) return null; // timed no more: decided at the next call
    }
    const mode = this.blocks % 2 === 0 ? 0 : 1;
    if (this.calls > 0) this.timing = { mode, since: now };
    this.calls += 1;
    return mode === 1 ? h : null;
  }

  private decide(now: number): void {
    // a gap of many calls' time is the caller pausing (a display, the next notebook cell)
    const limit = PAUSE * median([...this.ms[0], ...this.ms[1]]);
    const [oneMs, helperMs] = this.ms.map((a) => mean(a.filter((x) => x <= limit)));
    this.last = {
      key: this.key,
      helper: oneMs >= MIN_SPEEDUP * helperMs,
      oneMs,
      helperMs,
      calibrationMs: now - this.started,
      calibrations: (this.last?.calibrations ?? 0) + 1,
    };
    this.decidedAt = now;
    this.calibrating = false;
  }
}
/** The helper is used only where it makes calls at least this many times faster. */
export const MIN_SPEEDUP = 1.25;
/** Calls before the first calibration. */
const WARMUP = 16;
/** A calibration lasts ≥ 2·ROUNDS·BLOCK_MS: ≈ 80 ms of steps, 0.15–0.25 s of 10k-point scores. */
const BLOCK = 6;
const BLOCK_MS = 10;
const ROUNDS = 4;
const RECHECK_MS = 3000;
const PAUSE = 50;

function median(a: number[]): number {
  const b = [...a].sort((x, y) => x - y);
  return b.length === 0 ? NaN : b[b.length >> 1];
}

function mean(a: number[]): number {
  return a.reduce((s, x) => s + x, 0) / a.length;
}

/** What each kind and size of call decided about the helper so far in this process. */
export function helperChoices(): HelperDecision[] {
  return HelperChoice.decisions();
}

let shared: WasmHelper | null = null;
let sharedModule: WebAssembly.Module | null = null;
let lastFailure: string | null = null;
const holders = new Set<object>();

/**
 * The process's helper thread for `module`, started on first use; null when only one thread is
 * wanted or the helper cannot run here (then `wasmThreadsFailure` says why).
 */
export function sharedHelper(module: WebAssembly.Module, np: number): WasmHelper | null {
  if (shared && shared.failure === null && sharedModule === module) return shared;
  if (shared) {
    if (shared.failure !== null && shared.failure !== "stopped") lastFailure = shared.failure;
    stopWasmThreads();
    if (lastFailure !== null) return null; // failed once: do not keep trying in this process
  }
  if (lastFailure !== null) return null;
  try {
    shared = WasmHelper.start(module, np);
    sharedModule = module;
    return shared;
  } catch (e) {
    lastFailure = (e as Error).message;
    return null;
  }
}

/** Why the helper thread failed in this process, or null. */
export function wasmThreadsFailure(): string | null {
  return lastFailure ?? (shared?.failure && shared.failure !== "stopped" ? shared.failure : null);
}

/** True while a helper thread is running. */
export function wasmThreadsActive(): boolean {
  return shared !== null && shared.failure === null;
}

const pastStats = { served: 0, late: 0 };
/**
 * Parts computed by helper threads in this process, and parts their callers took back because they
 * were late.
 */
export function wasmThreadsStats(): { served: number; late: number } {
  return {
    served: pastStats.served + (shared?.stats.served ?? 0),
    late: pastStats.late + (shared?.stats.late ?? 0),
  };
}

/** Resolves true once the helper for `module` runs (starting it if needed), false if it cannot. */
export async function helperReady(
  module: WebAssembly.Module,
  np: number,
  timeoutMs = 10_000,
): Promise<boolean> {
  const t0 = performance.now();
  for (;;) {
    const h = sharedHelper(module, np);
    if (!h) return false;
    if (h.ready) return true;
    if (performance.now() - t0 > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Note that `holder` (an engine) uses the helper; `release` stops the helper when no holder is
 * left.
 */
export function holdHelper(holder: object): void {
  holders.add(holder);
}

export function releaseHelper(holder: object): void {
  if (holders.delete(holder) && holders.size === 0) stopWasmThreads();
}

/** Stop the helper thread now (a later large call starts a new one). */
export function stopWasmThreads(): void {
  if (shared) {
    pastStats.served += shared.stats.served;
    pastStats.late += shared.stats.late;
    shared.stop();
  }
  shared = null;
}
