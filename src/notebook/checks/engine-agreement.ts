/**
 * Part 2d: the training engines compute the same thing. The notebook lists the tfjs engine (readable:
 * autodiff + Adam on tensors) while a faster engine (e.g. "wasm-simd", hand-written gradients in
 * WebAssembly) may have trained; this check runs one training step on each from the same weights and
 * batch and compares loss, gradient and updated parameters.
 */
import { TrainConfig } from "../../core/train";
import { createEngine, engines } from "../../engines";
import { initialWeights } from "../../core/mlp";
import { sampleBatch } from "../../core/loss";
import { makeMoons } from "../../core/moons";
import { Rng } from "../../core/random";
import { showMarkdown, formatTable } from "../display";
import { verdict } from "./format";

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

/** Result of `engineAgreementCheck`: `other` is null when only the reference engine runs here. */
export interface EngineAgreement {
  reference: string;
  other: string | null;
  /** Why no other engine was compared, if so. */
  note?: string;
  loss: { reference: number; other: number | null };
  rows: EngineAgreementRow[];
  tolerance: number;
  passed: boolean;
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
    // After the first Adam step m = (1 − β₁)·g: the gradient, read through the shared engine interface.
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
 * @param opts other: the engine to compare (default: the fastest in `engines` other than the reference);
 *   reference (default "tfjs"); seed for weights and batch (default cfg.seed); tolerance on the relative differences (default 1e-4)
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
    return {
      reference,
      other: null,
      note:
        candidates.length === 0
          ? "there is no other engine"
          : `no other engine starts here (${failures.join("; ")})`,
      loss: { reference: ref.loss, other: null },
      rows: [],
      tolerance,
      passed: true,
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
  return {
    reference,
    other: other.name,
    loss: { reference: ref.loss, other: other.loss },
    rows,
    tolerance,
    passed: rows.every((r) => r.relDiff <= tolerance),
  };
}

/** Table and PASS/FAIL line of `engineAgreementCheck`. */
export function showEngineAgreement(r: EngineAgreement): void {
  if (r.other === null) {
    const msg = `Engine agreement: only "${r.reference}" runs here (${r.note}); nothing to compare.`;
    showMarkdown(msg, msg);
    return;
  }
  const title =
    `One training step, ${r.reference} vs ${r.other}, same weights and batch: ${verdict(r.passed)} ` +
    `(largest relative difference ${Math.max(...r.rows.map((x) => x.relDiff)).toExponential(1)}, tolerance ${r.tolerance})`;
  const { markdown, text } = formatTable(
    r.rows.map((x) => ({
      quantity: x.quantity,
      "max abs. difference": x.maxAbsDiff,
      relative: x.relDiff,
      "relative to": x.scale,
    })),
    { caption: title, digits: 2 },
  );
  const losses = `Loss of this batch: ${r.reference} ${r.loss.reference.toPrecision(8)}, ${r.other} ${r.loss.other!.toPrecision(8)}.`;
  showMarkdown(`${markdown}\n\n${losses}`, `${text}\n${losses}`);
}
