/**
 * The Adam step size as a function of the step k = 1…steps (the sheet keeps it at 10⁻³):
 *
 *   "constant": lr(k) = lr                                                        (the sheet)
 *   "cosine":   lr(k) = lr · k / warm-up for k ≤ warmupSteps, then
 *               lr · (m + (1 − m) · ½(1 + cos(π p))),
 *               p = (k − warmupSteps) / (steps − warmupSteps)
 *   "linear":   the same warm-up, then lr · (m + (1 − m) · (1 − p)),
 * with m = minFactor (the final step size as a fraction of lr).
 */

/** The sheet's constant step size. */
export interface ConstantLrSchedule {
  kind: "constant";
}

/** Linear warm-up, then cosine or linear decay to minFactor · learningRate at the last step. */
export interface DecayLrSchedule {
  kind: "cosine" | "linear";
  /** Steps of linear warm-up from lr/warmupSteps to lr (0: none); less than `steps`. */
  warmupSteps: number;
  /** Final step size as a fraction of the learning rate, in [0, 1]. */
  minFactor: number;
}

export type LrSchedule = ConstantLrSchedule | DecayLrSchedule;

/** Throws naming the bad field unless `s` is a valid schedule for a run of `steps` steps. */
export function validateLrSchedule(s: LrSchedule, steps: number): LrSchedule {
  if (s === null || typeof s !== "object")
    throw new TypeError(`Expected lrSchedule to be an object {kind}, but got ${String(s)}`);
  const keys = s.kind === "constant" ? ["kind"] : ["kind", "warmupSteps", "minFactor"];
  const extra = Object.keys(s).filter((k) => !keys.includes(k));
  if (extra.length > 0)
    throw new TypeError(
      `Unknown key "${extra[0]}" in lrSchedule; valid keys for kind ` +
        `${JSON.stringify(s.kind)}: ${keys.join(", ")}`,
    );
  if (s.kind === "constant") return s;
  if (s.kind !== "cosine" && s.kind !== "linear")
    throw new RangeError(
      `Expected lrSchedule.kind to be "constant", "cosine" or "linear", but got ` +
        `kind=${JSON.stringify((s as { kind: unknown }).kind)}`,
    );
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0 || s.warmupSteps >= steps)
    throw new RangeError(
      `Expected lrSchedule.warmupSteps to be an integer in [0, steps=${steps}), but got ` +
        `warmupSteps=${s.warmupSteps}`,
    );
  if (typeof s.minFactor !== "number" || !(s.minFactor >= 0 && s.minFactor <= 1))
    throw new RangeError(
      `Expected lrSchedule.minFactor to be in [0, 1], but got minFactor=${s.minFactor}`,
    );
  return s;
}

/**
 * The step size of Adam step k (1-based) of a `steps`-step run.
 * @param schedule absent means "constant": the result is then `learningRate` itself
 */
export function learningRateAt(
  learningRate: number,
  schedule: LrSchedule | undefined,
  k: number,
  steps: number,
): number {
  if (schedule === undefined || schedule.kind === "constant") return learningRate;
  const { warmupSteps: w, minFactor: m } = schedule;
  if (k <= w) return (learningRate * k) / w;
  const p = Math.min(1, (k - w) / (steps - w));
  const shape = schedule.kind === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * p)) : 1 - p;
  return learningRate * (m + (1 - m) * shape);
}
