/**
 * Long computations of the notebooks' cells, as a student runs them: with a progress bar, stopped
 * by Kernel → Interrupt, and computed once per kernel, so every cell can ask for what it needs
 * (after the setup cell alone) without waiting again.
 */
import { canonicalJson } from "./cache";
import { Interrupted, withInterrupt } from "./interrupt";
import { ProgressBar } from "./progress";
import { SamplerConfig, SampleResult, ScoreFn, sampleReverseSDEAsync } from "../core/sampler";

const samplesByKey = new Map<string, SampleResult>();

/** Options of `sampleInCell`. */
export interface SampleInCellOptions {
  /** Times at which to record the state (see `sampleReverseSDE`). */
  saveAt?: number[];
  /** Progress bar label (default "sampling"). */
  label?: string;
  /**
   * Names the score function (e.g. the trained model's cache key): with it, the result is kept
   * for this kernel and a later call with the same name, config and `saveAt` returns it at once.
   */
  reuseAs?: string;
}

/**
 * `sampleReverseSDE` for a notebook cell: a progress bar, Kernel → Interrupt stops it (throwing
 * `Interrupted`; nothing is kept), and with `reuseAs` the samples are drawn once per kernel.
 * Same samples as `sampleReverseSDE(score, cfg, { saveAt })`.
 */
export async function sampleInCell(
  score: ScoreFn,
  cfg: SamplerConfig,
  opts: SampleInCellOptions = {},
): Promise<SampleResult> {
  const key =
    opts.reuseAs === undefined
      ? undefined
      : canonicalJson({ score: opts.reuseAs, cfg, saveAt: opts.saveAt ?? [] });
  const kept = key === undefined ? undefined : samplesByKey.get(key);
  if (kept) return kept;
  const bar = new ProgressBar({ label: opts.label ?? "sampling" });
  let last = 0;
  const result = await withInterrupt((signal) =>
    sampleReverseSDEAsync(score, cfg, {
      saveAt: opts.saveAt,
      signal,
      onProgress: (p) => {
        last = p.step;
        bar.update(p);
      },
    }),
  );
  if (result === null) {
    const message = `interrupted at step ${last} of ${cfg.steps}; re-run the cell to sample again`;
    bar.done(message);
    throw new Interrupted(`Sampling ${message}.`);
  }
  bar.done();
  if (key !== undefined) samplesByKey.set(key, result);
  return result;
}
