/**
 * The helper thread of `wasm-threads.ts`: its own instance of the wasm kernel, running the
 * commands the calling thread posts in the shared control block, one at a time, synchronously.
 * It never returns to its event loop; `Worker.terminate` (or the end of the process) stops it.
 */
import { performance } from "perf_hooks";
import { receiveMessageOnPort, workerData } from "worker_threads";
import type { KernelExports } from "./wasm";
import { Cmd, F64, F64_OFFSET, HelperInit, Slot, dataLayout } from "./wasm-threads";

/** The kernel exports the helper uses (a type-only import: erased, so the worker loads no tfjs). */
type HelperKernel = Pick<
  KernelExports,
  | "memory"
  | "reserve"
  | "paramsPtr"
  | "gradsPtr"
  | "x0Ptr"
  | "epsPtr"
  | "featuresPtr"
  | "alphaPtr"
  | "sigmaPtr"
  | "targetPtr"
  | "weightPtr"
  | "scorePtr"
  | "paramCount"
  | "maxParamCount"
  | "configure"
  | "syncTransposes"
  | "lossGrad"
  | "forward"
>;

function run(init: HelperInit): void {
  const ctl = new Int32Array(init.ctl, 0, F64_OFFSET / 4);
  const f64 = new Float64Array(init.ctl, F64_OFFSET, 2);
  let data = new Float32Array(init.data);
  let cap = init.cap;
  const ex = new WebAssembly.Instance(init.module, {
    env: {
      abort: () => {
        throw new Error("wasm kernel aborted");
      },
    },
  }).exports as unknown as HelperKernel;
  const maxNp = ex.maxParamCount();
  let width = 3;
  let hidden = 64;
  let np = ex.configure(width, hidden);
  let reserved = 0;
  const view = (ptr: number, length: number) => new Float32Array(ex.memory.buffer, ptr, length);

  Atomics.store(ctl, Slot.ready, 1);
  Atomics.notify(ctl, Slot.ready);
  let seen = 0;
  for (;;) {
    // poll for the next command (steps follow each other within microseconds), then sleep
    const t0 = performance.now();
    let k = 0;
    let seq: number;
    while ((seq = Atomics.load(ctl, Slot.seq)) === seen) {
      if ((++k & 255) === 0 && performance.now() - t0 > init.spinMs)
        Atomics.wait(ctl, Slot.seq, seen);
    }
    seen = seq;
    try {
      const cmd = Atomics.load(ctl, Slot.cmd);
      const rows = Atomics.load(ctl, Slot.rows);
      if (Atomics.load(ctl, Slot.resize) === 1) {
        const msg = receiveMessageOnPort(init.port);
        if (!msg) throw new Error("resize without a data block");
        data = new Float32Array(msg.message.data as SharedArrayBuffer);
        cap = msg.message.cap as number;
      }
      const L = dataLayout(cap, maxNp);
      const w = Atomics.load(ctl, Slot.width);
      const h = Atomics.load(ctl, Slot.hidden);
      if (w !== width || h !== hidden) {
        // another owner's layout: its parameters come with this command (loadParams is 1)
        width = w;
        hidden = h;
        np = ex.configure(w, h);
      }
      const nf = width - 2;
      if (Atomics.load(ctl, Slot.loadParams) === 1) {
        view(ex.paramsPtr(), np).set(data.subarray(L.params, L.params + np));
        ex.syncTransposes();
      }
      if (rows > reserved) {
        ex.reserve(rows);
        reserved = rows;
      }
      if (cmd === Cmd.grad) {
        view(ex.x0Ptr(), 2 * rows).set(data.subarray(L.x0, L.x0 + 2 * rows));
        view(ex.epsPtr(), 2 * rows).set(data.subarray(L.eps, L.eps + 2 * rows));
        view(ex.featuresPtr(), nf * rows).set(data.subarray(L.f, L.f + nf * rows));
        view(ex.alphaPtr(), rows).set(data.subarray(L.a, L.a + rows));
        view(ex.sigmaPtr(), rows).set(data.subarray(L.s, L.s + rows));
        view(ex.targetPtr(), 2 * rows).set(data.subarray(L.y, L.y + 2 * rows));
        view(ex.weightPtr(), rows).set(data.subarray(L.w, L.w + rows));
        f64[F64.lossSum] = ex.lossGrad(0, rows, Atomics.load(ctl, Slot.nTotal));
        data.set(view(ex.gradsPtr(), np), L.grads);
      } else if (cmd === Cmd.score) {
        view(ex.x0Ptr(), 2 * rows).set(data.subarray(L.x0, L.x0 + 2 * rows));
        const f = view(ex.featuresPtr(), nf * rows);
        const one = data.subarray(L.f, L.f + nf);
        for (let i = 0; i < rows; i++) f.set(one, i * nf);
        ex.forward(rows);
        data.set(view(ex.scorePtr(), 2 * rows), L.out);
      } else if (cmd !== Cmd.none) {
        throw new Error(`unknown command ${cmd}`);
      }
    } catch (e) {
      Atomics.store(ctl, Slot.status, 1);
      Atomics.store(ctl, Slot.done, seq);
      Atomics.notify(ctl, Slot.done);
      throw e;
    }
    Atomics.store(ctl, Slot.done, seq);
    Atomics.notify(ctl, Slot.done);
  }
}

run(workerData as HelperInit);
