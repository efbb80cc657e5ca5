/**
 * Kernel → Interrupt for long asynchronous work in a notebook cell.
 *
 * Jupyter interrupts a tslab kernel with SIGINT. tslab stops a synchronous loop, but of an async
 * cell it only stops *awaiting* the promise: the loop goes on. So long work (training, sampling)
 * listens for SIGINT itself and stops at its next step boundary.
 *
 * The listener must be added after the cell's first `await`. tslab runs the synchronous start of a
 * cell in `vm.runInThisContext(code, { breakOnSigint: true })`. When that call returns, Node's
 * SIGINT watchdog resets the process's SIGINT handler to the default (exit); Node re-installs its
 * own handler only when a SIGINT listener is added while none is registered. A listener added
 * *during* the call (before the first await) is such a registration already used up, so tslab's
 * listener, put back after the call, installs nothing: the next Interrupt kills the kernel. (Seen
 * with Node 20: `process.on("SIGINT", …)` inside such a call, then SIGINT → exit code 130.)
 */

/**
 * Thrown when long work stopped because of Kernel → Interrupt (SIGINT) or an abort signal. Its
 * stack is its message alone: a notebook shows one line, not a trace of the library.
 */
export class Interrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Interrupted";
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * Run `work` with SIGINT (and `outer`, if given) wired to the `AbortSignal` it receives. While it
 * runs, its listener is the only SIGINT listener: the kernel's own (tslab's, which would abandon
 * the cell with a stack trace of its start-up) is set aside and put back when `work` settles, so
 * the cell ends with `work`'s own message. `work` decides what stopping means (a checkpoint, a
 * partial result, an `Interrupted` error) and must stop soon after the signal.
 */
export async function withInterrupt<T>(
  work: (signal: AbortSignal) => Promise<T>,
  outer?: AbortSignal,
): Promise<T> {
  await new Promise((resolve) => setImmediate(resolve)); // leave tslab's vm call first (see above)
  const controller = new AbortController();
  const abort = () => controller.abort();
  const others = process.rawListeners("SIGINT") as ((...args: unknown[]) => void)[];
  process.removeAllListeners("SIGINT");
  process.on("SIGINT", abort);
  outer?.addEventListener("abort", abort);
  if (outer?.aborted) abort();
  try {
    return await work(controller.signal);
  } finally {
    process.off("SIGINT", abort);
    for (const listener of others) process.on("SIGINT", listener);
    outer?.removeEventListener("abort", abort);
  }
}
