/**
 * TensorFlow.js backend selection, in one place.
 *
 * Order: "tensorflow" (native libtensorflow through the optional `@tensorflow/tfjs-node`, if it
 * loads) → "wasm" (`@tensorflow/tfjs-backend-wasm`: SIMD on, threads off in Node) → "cpu"
 * (plain JavaScript, always available). Override with the argument of `selectBackend` or the
 * environment variable `DIFFUSION_BACKEND` (tensorflow | wasm | cpu).
 *
 * The pure-JS cpu backend prints a "looks like you are running TensorFlow.js in Node.js …
 * install our node backend" banner the first time it stores a tensor. This module switches
 * off exactly that banner (see `silenceCpuBanner`); every other tfjs warning still shows.
 */
import * as path from "path";
import * as tf from "@tensorflow/tfjs";

/** The backends this workbook can run on, fastest first. */
export type BackendName = "tensorflow" | "wasm" | "cpu";

/** Fallback order when nothing is requested. */
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

/** Environment variable that overrides the automatic choice. */
export const BACKEND_ENV_VAR = "DIFFUSION_BACKEND";

let current: BackendName | null = null;
let queue: Promise<unknown> = Promise.resolve();
let wasmPathsSet = false;

function isBackendName(x: unknown): x is BackendName {
  return typeof x === "string" && (BACKEND_ORDER as readonly string[]).includes(x);
}

/**
 * The cpu backend's "install tfjs-node" banner is printed once per backend instance, guarded by
 * its `firstUse` field (tfjs-backend-cpu 4.22, `MathBackendCPU.write`). Setting that field is the
 * narrowest switch: tfjs's global `PROD`/`IS_TEST` flags would also hide other warnings, and
 * `IS_TEST` additionally turns on per-kernel leak checks.
 */
function silenceCpuBanner(): void {
  // findBackend instantiates the registered cpu backend without making it the active one.
  const cpu = tf.engine().findBackend("cpu") as unknown as { firstUse?: boolean } | null;
  if (cpu && typeof cpu.firstUse === "boolean") cpu.firstUse = false;
}

/**
 * Register the native backend by loading `@tensorflow/tfjs-node` (throws if it is not installed).
 */
function loadTensorflow(): void {
  // A computed name keeps TypeScript and bundlers from resolving the optional package at build
  // time.
  const name = "@tensorflow/tfjs-node";
  // libtensorflow logs CPU-feature notices to stderr at load; level 2 hides INFO and WARNING, keeps
  // errors.
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = "2";
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require(name);
}

/** Register the wasm backend and point it at the .wasm binaries that ship in its npm package. */
function loadWasm(): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm =
    require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
  if (!wasmPathsSet) {
    // The binaries sit next to the package's Node entry point (dist/tf-backend-wasm.node.js).
    const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
    wasm.setWasmPaths(dir + path.sep);
    wasmPathsSet = true;
  }
  // In Node tfjs already reports no thread support; SIMD is detected (Node ≥ 16 has it).
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
}

async function activate(name: BackendName): Promise<void> {
  if (name === "tensorflow") loadTensorflow();
  if (name === "wasm") loadWasm();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend("${name}") returned false`);
  await tf.ready();
}

async function choose(preferred: BackendName | undefined): Promise<BackendName> {
  silenceCpuBanner();
  const fromEnv = process.env[BACKEND_ENV_VAR];
  if (preferred === undefined && fromEnv !== undefined && fromEnv !== "") {
    if (!isBackendName(fromEnv)) {
      throw new RangeError(
        `Expected ${BACKEND_ENV_VAR} to be one of ${BACKEND_ORDER.join(", ")}, but got ` +
          `${BACKEND_ENV_VAR}=${fromEnv}`,
      );
    }
    preferred = fromEnv;
  }
  if (preferred !== undefined) {
    if (current === preferred && tf.getBackend() === preferred) return preferred;
    try {
      await activate(preferred);
    } catch (e) {
      throw new Error(
        `Backend "${preferred}" was requested but could not be started: ${(e as Error).message}`,
      );
    }
    current = preferred;
    return preferred;
  }
  if (current !== null && tf.getBackend() === current) return current;
  const failures: string[] = [];
  for (const name of BACKEND_ORDER) {
    try {
      await activate(name);
      current = name;
      return name;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(`No TensorFlow.js backend could be started (${failures.join("; ")})`);
}

/**
 * Pick and initialise the tfjs backend; returns its name.
 *
 * Idempotent: once a backend is active, later calls without a different request return it
 * immediately, so every notebook cell may call this. Concurrent calls share one initialisation.
 * @param preferred force one backend (overrides `DIFFUSION_BACKEND`); throws if it cannot start
 */
export function selectBackend(preferred?: BackendName): Promise<BackendName> {
  if (preferred !== undefined && !isBackendName(preferred)) {
    return Promise.reject(
      new RangeError(
        `Expected preferred to be one of ${BACKEND_ORDER.join(", ")}, but got ` +
          `preferred=${String(preferred)}`,
      ),
    );
  }
  // Calls run one after another, so concurrent cells never initialise two backends at once.
  const run = queue.then(
    () => choose(preferred),
    () => choose(preferred),
  );
  queue = run.catch(() => undefined);
  return run;
}

/** Name of the backend chosen by `selectBackend`, or null if it has not run yet. */
export function currentBackend(): BackendName | null {
  return current;
}

/** One-line description for notebooks and logs, e.g. `tfjs 4.22.0 on wasm (SIMD, 1 thread)`. */
export async function describeBackend(): Promise<string> {
  const name = current ?? (await selectBackend());
  let detail = "";
  if (name === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    detail = simd ? " (SIMD, 1 thread)" : " (no SIMD, 1 thread)";
  } else if (name === "cpu") {
    detail = " (pure JavaScript)";
  } else {
    detail = " (native libtensorflow via tfjs-node)";
  }
  return `tfjs ${tf.version.tfjs} on ${name}${detail}`;
}
