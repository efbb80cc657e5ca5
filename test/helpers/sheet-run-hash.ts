/**
 * Prints, as JSON, the SHA-256 of the final weights and of the loss history of the sheet's
 * configuration trained for 2000 steps on the wasm engine, with the kernel build that runs here
 * (DIFFUSION_WASM_VARIANT chooses it). Run in a child process by test/engine-wasm.test.ts, since a
 * process loads one build only.
 */
import { createHash } from "crypto";
import { wasmEngine, wasmKernelVariant } from "../../src/engines/wasm";
import { defaultTrainConfig, train } from "../../src/core/train";

/** SHA-256 (hex) of the bytes of float32 arrays, in order. */
function hash(arrays: Float32Array[]): string {
  const h = createHash("sha256");
  for (const a of arrays) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  return h.digest("hex");
}

async function main(): Promise<void> {
  const cfg = { ...defaultTrainConfig(), steps: 2000 };
  const r = await train(cfg, { engine: wasmEngine, yieldEvery: 0, checkpointEvery: 0 });
  const out = {
    variant: wasmKernelVariant(),
    weights: hash(r.weights),
    lossHistory: hash([r.lossHistory]),
  };
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
}

void main();
