/**
 * Part 2d: the training engines compute the same thing. The notebook lists the core's plain step
 * (`referenceEngine`) while a faster engine (e.g. "wasm-simd", hand-written gradients in
 * WebAssembly) may have trained; this check runs one training step on two engines from the same
 * weights and batch and compares loss, gradient and updated parameters. It returns a
 * `CheckResult` for `showChecks`; with no second engine here it is SKIPPED.
 */
import { TrainConfig } from "../../core/train";
import { createEngine, engines } from "../../engines";
import { initialWeights } from "../../core/mlp";
import { sampleBatch } from "../../core/loss";
import { makeMoons } from "../../core/moons";
import { Rng } from "../../core/random";
import { CheckResult, compare, skipped } from "./check";

/** One compared quantity of `engineAgreementCheck`. */
export interface EngineAgreementRow {
  quantity: string;
  /** Largest |reference − other| over all entries. */
  maxAbsDiff: number;
  /** maxAbsDiff relative to the quantity's scale (see `scale`). */
  relDiff: number;
  /** What relDiff is relative to. */
  scale: string;
}

/**
 * Result of `engineAgreementCheck`: `other` is null when only the reference engine runs here (then
 * `checks` holds one SKIPPED check saying why). `checks`: per row, `relDiff` against 0 within
 * `tolerance`.
 */
export interface EngineAgreement extends CheckResult {
  reference: string;
  other: string | null;
  loss: { reference: number; other: number | null };
  rows: EngineAgreementRow[];
  tolerance: number;
}

function maxAbs(a: Float32Array[]): number {
  let m = 0;
  for (const v of a) for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((v, k) => {
    for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i] - b[k][i]));
  });
  return m;
}

async function oneStep(
  name: string,
  cfg: TrainConfig,
  weights: Float32Array[],
  batch: ReturnType<typeof sampleBatch>,
) {
  const engine = await createEngine(name, {
    config: cfg,
    weights: weights.map((w) => Float32Array.from(w)),
  });
  try {
    const loss = engine.step(batch);
    const state = engine.getOptimizerState();
    // After the first Adam step m = (1 − β₁)·g: the gradient, read through the shared engine
    // interface.
    const grads = state.m.map((m) => m.map((v) => v / (1 - cfg.adamBeta1)));
    return { name: engine.name, loss, grads, weights: engine.getWeights() };
  } finally {
    engine.dispose();
  }
}

/**
 * One training step (DSM loss, gradient, Adam update) on the reference engine and on another
 * engine, from the same initial weights and the same batch (drawn as `train` draws it).
 * @param cfg training configuration (model, schedule, loss, Adam settings, batch size)
 * @param opts other: the engine to compare (default: the fastest in `engines` other than the
 *   reference); reference (default "tfjs"; "reference" is the core's plain step); seed for
 *   weights and batch (default cfg.seed); tolerance on the relative differences (default 1e-4)
 */
export async function engineAgreementCheck(
  cfg: TrainConfig,
  opts: { other?: string; reference?: string; seed?: number; tolerance?: number } = {},
): Promise<EngineAgreement> {
  const reference = opts.reference ?? "tfjs";
  const tolerance = opts.tolerance ?? 1e-4;
  const seed = opts.seed ?? cfg.seed;
  const rng = new Rng(seed);
  const w0 = initialWeights(cfg.model, rng.nextUint32());
  const batch = sampleBatch(rng, makeMoons(cfg.dataSize, cfg.moons).x, cfg.batchSize, cfg.loss);
  const ref = await oneStep(reference, cfg, w0, batch);
  const candidates = opts.other
    ? [opts.other]
    : Object.keys(engines).filter((n) => n !== reference && n !== "reference");
  let other: Awaited<ReturnType<typeof oneStep>> | null = null;
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      other = await oneStep(name, cfg, w0, batch);
      break;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  if (!other) {
    const why =
      candidates.length === 0
        ? "there is no other engine"
        : `no other engine starts here (${failures.join("; ")})`;
    return {
      title: `One training step on "${reference}" and a second engine`,
      checks: [skipped("a second engine", why)],
      table: [],
      reference,
      other: null,
      loss: { reference: ref.loss, other: null },
      rows: [],
      tolerance,
    };
  }
  const update = ref.weights.map((w, k) => w.map((v, i) => v - w0[k][i]));
  const gradDiff = maxAbsDiff(ref.grads, other.grads);
  const weightDiff = maxAbsDiff(ref.weights, other.weights);
  const rows: EngineAgreementRow[] = [
    {
      quantity: "loss",
      maxAbsDiff: Math.abs(ref.loss - other.loss),
      relDiff: Math.abs(ref.loss - other.loss) / Math.abs(ref.loss),
      scale: "the loss",
    },
    {
      quantity: "gradient (all 4546 entries)",
      maxAbsDiff: gradDiff,
      relDiff: gradDiff / maxAbs(ref.grads),
      scale: "largest |gradient|",
    },
    {
      quantity: "parameters after the Adam step",
      maxAbsDiff: weightDiff,
      relDiff: weightDiff / maxAbs(update),
      scale: "largest update",
    },
  ];
  rows[1].quantity = `gradient (all ${ref.grads.reduce((s, g) => s + g.length, 0)} entries)`;
  const largest = Math.max(...rows.map((x) => x.relDiff)).toExponential(1);
  return {
    title:
      `One training step, ${reference} vs ${other.name}, same weights and batch ` +
      `(largest relative difference ${largest}, tolerance ${tolerance})`,
    checks: rows.map((x) => compare(x.quantity, x.relDiff, 0, tolerance, `relative to ${x.scale}`)),
    table: rows.map((x) => ({
      quantity: x.quantity,
      "max abs. difference": x.maxAbsDiff,
      relative: x.relDiff,
      "relative to": x.scale,
    })),
    digits: 2,
    footer: [
      `Loss of this batch: ${reference} ${ref.loss.toPrecision(8)}, ` +
        `${other.name} ${other.loss.toPrecision(8)}.`,
    ],
    reference,
    other: other.name,
    loss: { reference: ref.loss, other: other.loss },
    rows,
    tolerance,
  };
}
