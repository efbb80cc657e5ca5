/**
 * Benchmark (issue 5): training step and reverse-SDE sampling, per engine, against a PyTorch
 * reference run in the same session. Prints figures; it is not a test.
 *
 *   npm run bench                       # everything
 *   npm run bench -- --quick            # fewer repetitions
 *
 * Training: one DSM step of the sheet (batch 256, MLP 3-64-64-2 tanh, Adam lr 1e-3), ms/step as the
 * median of several repetitions, wall clock and CPU time of this process (CPU time is less disturbed
 * by other processes on a shared machine). Sampling: 1000 Euler–Maruyama steps of 10,000 points via
 * `sampleReverseSDE`. The wasm engine runs as by default (the helper thread only where the calls,
 * timed both ways at run time, are ≥ MIN_SPEEDUP× faster with it), on one thread, and with the
 * helper forced. PyTorch: bench/torch_reference.py under Debian's python3-torch.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selectBackend, currentBackend } from "../src/engines/backend";
import {
  MIN_SPEEDUP,
  helperChoices,
  startWasmThreads,
  wasmKernelVariant,
  wasmScoreFn,
  wasmThreadCount,
  wasmThreadsFailure,
  wasmThreadsStats,
  wasmUnavailableReason,
  WASM_ENGINE_NAME,
} from "../src/engines/wasm";
import { engines } from "../src/engines/index";
import { ScoreModel, scoreFnFromModel } from "../src/engines/tfjs-model";
import { initialWeights } from "../src/core/mlp";
import { ScoreFn, defaultSamplerConfig, sampleReverseSDE } from "../src/core/sampler";
import { defaultTrainConfig, train } from "../src/core/train";

const quick = process.argv.includes("--quick");
const REPS = quick ? 3 : 7;
const STEPS_PER_REP = quick ? 500 : 2000;
const SAMPLE_POINTS = 10_000;
const SAMPLE_STEPS = 1000;
const SAMPLE_REPS = quick ? 1 : 3;
const PYTHON = process.env.TORCH_PYTHON ?? "/usr/bin/python3";

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

interface Row {
  engine: string;
  trainWall: number; // ms/step
  trainCpu: number;
  sampleWall?: number; // s for 1000 steps of 10k points
  sampleCpu?: number;
  sampleNote?: string;
  peakRssMiB: number;
}

/**
 * ms/step (wall, cpu) of a whole `train()` run of `steps` steps (fresh data set, initial weights,
 * batch drawing, the engine's step, loss history), median over `reps` runs after one warm-up.
 * Timed end to end like the PyTorch reference, whose loop also draws its batches.
 */
async function timeTraining(
  engineName: string,
  steps: number,
  reps: number,
): Promise<{ wall: number; cpu: number; loss: number }> {
  const cfg = { ...defaultTrainConfig(), steps };
  const walls: number[] = [],
    cpus: number[] = [];
  let loss = 0;
  for (let rep = 0; rep <= reps; rep++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await train(cfg, { engine: engines[engineName], checkpointEvery: 0 });
    const wall = (performance.now() - t0) / steps;
    const cpu = cpuMs(process.cpuUsage(c0)) / steps;
    if (r.engine !== engineName)
      throw new Error(`Asked for engine ${engineName} but train() ran ${r.engine}`);
    loss = r.lossHistory[steps - 1];
    if (rep > 0) {
      walls.push(wall);
      cpus.push(cpu);
    }
  }
  return { wall: median(walls), cpu: median(cpus), loss };
}

/** Seconds (wall, cpu) for `steps` EM steps of `n` points, median over reps. */
function timeSampling(
  score: ScoreFn,
  n: number,
  steps: number,
  reps: number,
): { wall: number; cpu: number } {
  const walls: number[] = [],
    cpus: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    sampleReverseSDE(score, { ...defaultSamplerConfig(), steps, nSamples: n, seed: rep });
    walls.push((performance.now() - t0) / 1000);
    cpus.push(cpuMs(process.cpuUsage(c0)) / 1000);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

interface TorchResult {
  threads: number;
  trainMsPerStep: number;
  trainCpuMsPerStep: number;
  sampleSeconds: number;
  sampleCpuSeconds: number;
  peakRssMiB: number;
  torch: string;
}

function runTorch(threads: number): TorchResult | string {
  const script = path.join(__dirname, "torch_reference.py");
  const args = [
    script,
    "--threads",
    String(threads),
    "--steps",
    String(STEPS_PER_REP),
    "--reps",
    String(REPS),
    "--sample-reps",
    String(SAMPLE_REPS),
  ];
  const r = spawnSync(PYTHON, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.error) return `PyTorch reference skipped: ${PYTHON} not runnable (${r.error.message})`;
  if (r.status !== 0) {
    const err = (r.stderr || "").trim().split("\n").slice(-1)[0];
    return `PyTorch reference skipped: ${err.includes("No module named 'torch'") ? "python3-torch is not installed (apt-get install python3-torch)" : err}`;
  }
  return JSON.parse(r.stdout.trim().split("\n").slice(-1)[0]) as TorchResult;
}

const fmt = (x: number | undefined, d = 3) => (x === undefined ? "—" : x.toFixed(d));

async function main() {
  await selectBackend();
  const load0 = os.loadavg()[0];
  console.log(
    `# Benchmark: DSM training step (batch 256, MLP 3-64-64-2 tanh, Adam) and 1000-step reverse-SDE sampling of 10k points`,
  );
  console.log(
    `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model}, tfjs backend "${currentBackend()}", load average at start ${load0.toFixed(2)}`,
  );
  console.log(
    `wasm kernel: ${wasmUnavailableReason() ?? `available (${wasmKernelVariant()} build, ${wasmThreadCount()} thread(s) by default; DIFFUSION_WASM_VARIANT=simd and DIFFUSION_WASM_THREADS=1 force the plain build and one thread)`}`,
  );
  console.log(
    `${REPS} repetitions of ${STEPS_PER_REP} training steps (median), ${SAMPLE_REPS} sampling run(s) (median)\n`,
  );

  const rows: Row[] = [];
  const w = initialWeights(defaultTrainConfig().model, 1);

  if (wasmUnavailableReason() === null) {
    // the default first (the ratios use it), then one thread and the helper forced, for comparison
    const modes: ("default" | 1 | 2)[] = wasmThreadCount() > 1 ? ["default", 1, 2] : ["default"];
    for (const k of modes) {
      const env = process.env.DIFFUSION_WASM_THREADS;
      if (k === "default")
        delete process.env.DIFFUSION_WASM_THREADS; // as a notebook runs it
      else process.env.DIFFUSION_WASM_THREADS = String(k);
      const helper = k !== 1 && wasmThreadCount() > 1;
      if (helper) await startWasmThreads(); // as a notebook's earlier cells would have
      const s0 = wasmThreadsStats();
      const tr = await timeTraining(WASM_ENGINE_NAME, STEPS_PER_REP, REPS);
      if (helper) await startWasmThreads();
      const sm = timeSampling(wasmScoreFn(w), SAMPLE_POINTS, SAMPLE_STEPS, SAMPLE_REPS);
      if (env === undefined) delete process.env.DIFFUSION_WASM_THREADS;
      else process.env.DIFFUSION_WASM_THREADS = env;
      const s1 = wasmThreadsStats();
      const how =
        k === "default"
          ? `default: ${wasmThreadCount()} thread(s) available`
          : k === 1
            ? "1 thread"
            : "2 threads, helper forced";
      rows.push({
        engine: `${WASM_ENGINE_NAME} ${wasmKernelVariant()} (${how})`,
        trainWall: tr.wall,
        trainCpu: tr.cpu,
        sampleWall: sm.wall,
        sampleCpu: sm.cpu,
        peakRssMiB: peakRssMiB(),
      });
      if (helper) {
        const failure = wasmThreadsFailure();
        console.log(
          `${how}: helper computed ${s1.served - s0.served} parts, ` +
            `${s1.late - s0.late} taken back because it was late` +
            (failure ? `; failure: ${failure}` : ""),
        );
      }
      if (k === "default") {
        // the run-time decisions (helper only where ≥ MIN_SPEEDUP× faster), from the last timing
        for (const d of helperChoices()) {
          console.log(
            `  ${d.key}: ${d.helper ? "helper" : "one thread"} (one thread ${fmt(d.oneMs)} ms, ` +
              `helper ${fmt(d.helperMs)} ms from call to call: ×${fmt(d.oneMs / d.helperMs, 2)}; ` +
              `needs ×${MIN_SPEEDUP}; ${d.calibrations} calibration(s), ` +
              `last ${fmt(d.calibrationMs, 0)} ms)`,
          );
        }
      }
    }
  }
  {
    // tfjs is slow: fewer steps, and sampling extrapolated from 50 of the 1000 steps
    const tfSteps = quick ? 50 : 200;
    const tr = await timeTraining("tfjs", tfSteps, quick ? 1 : 3);
    const model = new ScoreModel(defaultTrainConfig().model, w);
    const partial = 50;
    const sm = timeSampling(scoreFnFromModel(model), SAMPLE_POINTS, partial, 1);
    model.dispose();
    const k = SAMPLE_STEPS / partial;
    rows.push({
      engine: `tfjs (${currentBackend()} backend)`,
      trainWall: tr.wall,
      trainCpu: tr.cpu,
      sampleWall: sm.wall * k,
      sampleCpu: sm.cpu * k,
      sampleNote: `extrapolated ×${k} from ${partial} steps`,
      peakRssMiB: peakRssMiB(),
    });
  }

  const torch: { label: string; r: TorchResult }[] = [];
  for (const threads of [0, 1, 2]) {
    const r = runTorch(threads);
    if (typeof r === "string") {
      console.log(r);
      break;
    }
    const label =
      threads === 0
        ? `PyTorch ${r.torch} default (${r.threads} thread${r.threads > 1 ? "s" : ""})`
        : `PyTorch ${r.torch} ${threads} thread${threads > 1 ? "s" : ""}`;
    torch.push({ label, r });
    rows.push({
      engine: label,
      trainWall: r.trainMsPerStep,
      trainCpu: r.trainCpuMsPerStep,
      sampleWall: r.sampleSeconds,
      sampleCpu: r.sampleCpuSeconds,
      peakRssMiB: r.peakRssMiB,
    });
  }

  console.log(
    "| engine | train ms/step (wall) | train ms/step (CPU) | sample 1000×10k s (wall) | sample s (CPU) | peak RSS MiB |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.engine} | ${fmt(r.trainWall)} | ${fmt(r.trainCpu)} | ${fmt(r.sampleWall, 2)}${r.sampleNote ? ` (${r.sampleNote})` : ""} | ${fmt(r.sampleCpu, 2)} | ${fmt(r.peakRssMiB, 0)} |`,
    );
  }
  console.log(
    `(peak RSS of this Node process is cumulative over the rows above it; V8 heap now ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB)`,
  );

  if (torch.length > 0 && rows[0].engine.startsWith(WASM_ENGINE_NAME)) {
    const ours = rows[0];
    console.log(
      "\nRatios ours / PyTorch (≤ 0.5 for training and ≤ 1.0 for sampling is the issue's target; the first PyTorch row is its default here):",
    );
    for (const { label, r } of torch) {
      console.log(
        `  vs ${label}: training ${fmt(ours.trainWall / r.trainMsPerStep, 2)} (wall), ${fmt(ours.trainCpu / r.trainCpuMsPerStep, 2)} (CPU); ` +
          `sampling ${fmt(ours.sampleWall! / r.sampleSeconds, 2)} (wall), ${fmt(ours.sampleCpu! / r.sampleCpuSeconds, 2)} (CPU)`,
      );
    }
  }

  // Arithmetic bound. Multiply-adds of the three layers (3·64 + 64·64 + 64·2 = 4416 per point):
  // forward 2·B·4416 FLOPs, weight gradients the same again, input gradients of layers 2 and 3 2·B·(64·64 + 64·2).
  const B = 256;
  const macs = 3 * 64 + 64 * 64 + 64 * 2;
  const trainFlops = 2 * B * macs * 2 + 2 * B * (64 * 64 + 64 * 2);
  const sampleFlops = 2 * SAMPLE_POINTS * macs * SAMPLE_STEPS;
  const mhz =
    Number((fs.readFileSync("/proc/cpuinfo", "utf8").match(/cpu MHz\s*:\s*([\d.]+)/) ?? [])[1]) ||
    NaN;
  const ghz = mhz / 1000;
  const flags =
    (fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "").match(
      /^flags\s*:(.*)$/m,
    )?.[1] ?? "";
  const lanes = / avx512f /.test(flags + " ") ? 16 : / avx2 /.test(flags + " ") ? 8 : 4;
  const hwPeak = ghz * lanes * 2 /* FMA = 2 FLOPs */ * 2; /* two FMA units (assumed) */
  // f32x4 on two FP ports; the plain build issues mul and add separately (baseline wasm SIMD has no FMA),
  // the relaxed-simd build fuses them (relaxed_madd: 2 FLOPs per lane per instruction)
  const fma = wasmKernelVariant() === "relaxed-simd";
  const wasmPeak = ghz * 4 * 2 * (fma ? 2 : 1);
  console.log(
    `\nArithmetic: ${(trainFlops / 1e6).toFixed(2)} MFLOP per training step (matrix products only; tanh, loss and Adam not counted), ${(sampleFlops / 1e9).toFixed(1)} GFLOP per sampling run.`,
  );
  console.log(
    `Peak of one core at ${ghz.toFixed(2)} GHz (/proc/cpuinfo; turbo not known): hardware ${hwPeak.toFixed(0)} GFLOP/s (${lanes}-lane FMA × 2 units, assumed), ` +
      `128-bit wasm SIMD ${fma ? "with FMA (relaxed-simd build)" : "without FMA"} ${wasmPeak.toFixed(1)} GFLOP/s (4 lanes × 2 vector ${fma ? "FMA" : "mul-or-add"} per cycle).`,
  );
  if (rows[0]?.engine.startsWith(WASM_ENGINE_NAME)) {
    const r = rows[0];
    const gTrain = trainFlops / (r.trainCpu * 1e-3) / 1e9;
    const gSample = sampleFlops / r.sampleCpu! / 1e9;
    console.log(
      `${r.engine}: training ${gTrain.toFixed(1)} GFLOP/s per CPU-second (all threads' CPU time) = ${((100 * gTrain) / hwPeak).toFixed(0)}% of hardware peak, ${((100 * gTrain) / wasmPeak).toFixed(0)}% of the wasm-SIMD bound; ` +
        `sampling ${gSample.toFixed(1)} GFLOP/s (includes the JS sampler loop and its random numbers).`,
    );
  }
  console.log(
    `load average at end ${os.loadavg()[0].toFixed(2)} (other processes share these ${os.cpus().length} cores; wall figures include their interference)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
