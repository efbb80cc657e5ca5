/**
 * Kernel → Interrupt (SIGINT) while a cell's async work runs: `withInterrupt` stops the work, is the
 * only listener meanwhile (tslab's would abandon the cell with a trace of its own start-up), puts
 * the kernel's listener back afterwards, and the process survives; a SIGINT listener added during
 * tslab's vm call kills it (the cause).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "child_process";
import * as path from "path";

function runCell(
  mode: string,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", path.join(__dirname, "fixtures", "sigint-in-vm.ts"), mode],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready") && !out.includes("sent")) {
        out += "sent\n";
        setTimeout(() => child.kill("SIGINT"), 200);
      }
      if (out.includes("stopped at step") && !out.includes("again")) {
        out += "again\n";
        setTimeout(() => child.kill("SIGINT"), 100); // now the kernel's listener answers
      }
    });
    child.on("exit", (code, signal) => resolve({ code, signal, out }));
  });
}

test("withInterrupt: SIGINT stops the work at a step and the kernel process lives on", async () => {
  const r = await runCell("withInterrupt");
  assert.equal(r.code, 0, `exit ${r.code} / ${r.signal}; output:\n${r.out}`);
  assert.match(r.out, /sent\nstopped at step \d+\nagain\nkernel listener: interrupt\n/);
  assert.doesNotMatch(r.out, /finished/);
});

test("the cause: a SIGINT listener added during tslab's vm call leaves SIGINT fatal", async () => {
  const r = await runCell("early");
  assert.ok(r.code === 130 || r.signal === "SIGINT", `exit ${r.code} / ${r.signal}`);
  assert.doesNotMatch(r.out, /stopped at step/);
});
