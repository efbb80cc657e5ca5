"use strict";
/**
 * Execute one notebook with tslab's own executor, in this process (helper of run-notebooks.ts).
 *
 * This is the tslab kernel minus ZeroMQ: the same converter (tslab's TypeScript 5.0.4), the same
 * executor (rootDir = the notebook's folder, where the kernel would start), the same output
 * plumbing (process.stdout/stderr.write become stream outputs; `jupyter.lastWriteDisplayData`
 * receives display_data and update_display_data), and the same process-wide handlers that print
 * "UncaughtException:" / "UnhandledPromiseRejection:" to stderr. Plain JavaScript on purpose: no
 * tsx loader is active, so `require` behaves as in the real kernel.
 *
 * Started by the runner with cwd = the notebook's folder and an IPC channel:
 *   node inprocess-kernel.js NOTEBOOK.ipynb
 * Messages to the parent: {event: "start"|"done"|"error", cell, seconds}, then
 * {event: "finished", notebook} with the executed notebook (outputs filled in).
 */
const fs = require("fs");
const path = require("path");

const tslabDist = path.dirname(require.resolve("tslab/dist/executor", { paths: [__dirname] }));
const { createConverter } = require(path.join(tslabDist, "converter"));
const { createExecutor } = require(path.join(tslabDist, "executor"));
const jupyter = require(path.join(tslabDist, "jupyter"));

function send(msg) {
  return new Promise((resolve) => process.send(msg, () => resolve()));
}

function sourceText(cell) {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source || "";
}

async function main() {
  const nbPath = process.argv[2];
  const nb = JSON.parse(fs.readFileSync(nbPath, "utf8"));

  let node = null;
  let browser = null;
  const convs = {
    get node() {
      return (node = node || createConverter({ isJS: false, isBrowser: false }));
    },
    get browser() {
      return (browser = browser || createConverter({ isJS: false, isBrowser: true }));
    },
    close() {
      if (node) node.close();
      if (browser) browser.close();
    },
  };
  convs.node; // warm up, as the kernel does
  const executor = createExecutor(process.cwd(), convs, { log: console.log, error: console.error });

  // Output plumbing: where stream and display outputs of the running cell go.
  let outputs = null;
  const displayIds = new Map(); // display_id -> list of output objects showing it
  const writeStream = (name) => (chunk, encoding, cb) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (outputs) {
      const last = outputs[outputs.length - 1];
      if (last && last.output_type === "stream" && last.name === name) last.text += text;
      else outputs.push({ output_type: "stream", name, text });
    }
    if (typeof encoding === "function") encoding();
    else if (typeof cb === "function") cb();
    return true;
  };
  process.stdout.write = writeStream("stdout");
  process.stderr.write = writeStream("stderr");
  jupyter.lastWriteDisplayData = (msg, update) => {
    const id = msg.transient && msg.transient.display_id;
    if (update) {
      // update_display_data: replace every output that shows this display id (nbclient semantics).
      for (const out of displayIds.get(id) || []) {
        out.data = msg.data;
        out.metadata = msg.metadata || {};
      }
      return;
    }
    const out = { output_type: "display_data", data: msg.data, metadata: msg.metadata || {} };
    if (id) displayIds.set(id, [...(displayIds.get(id) || []), out]);
    if (outputs) outputs.push(out);
  };
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));

  let count = 0;
  for (let index = 0; index < nb.cells.length; index++) {
    const cell = nb.cells[index];
    if (cell.cell_type !== "code") continue;
    await send({ event: "start", cell: index });
    outputs = [];
    cell.outputs = outputs;
    const t0 = Date.now();
    const ok = await executor.execute(sourceText(cell));
    // Let pending stream writes and timers of this cell land in its outputs (as the kernel
    // forwards output after execution finished, until the next cell starts).
    await new Promise((r) => setImmediate(r));
    cell.execution_count = ++count;
    const seconds = (Date.now() - t0) / 1000;
    // tslab only logs these (status stays ok); the workbook treats them as a failed cell.
    const uncaught = outputs.some(
      (o) => o.output_type === "stream" && o.name === "stderr" && /(^|\n)(UncaughtException|UnhandledPromiseRejection):/.test(o.text),
    );
    if (!ok || uncaught) {
      await send({ event: "error", cell: index, seconds });
      break;
    }
    await send({ event: "done", cell: index, seconds });
  }
  outputs = null;
  nb.metadata = nb.metadata || {};
  nb.metadata.language_info = { name: "typescript", version: "", mimetype: "text/typescript", file_extension: ".ts" };
  await send({ event: "finished", notebook: nb });
  executor.close();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write = () => true;
  send({ event: "crash", message: String((e && e.stack) || e) }).then(() => process.exit(2));
});
