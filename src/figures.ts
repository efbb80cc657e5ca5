/**
 * The notebooks' domain figures and tables, built from the generic helpers of `plot.ts` and
 * `display.ts`, so that a notebook cell is one call: the moons by label, the schedule over t for
 * several (β_min, β_max), the schedule's role in numbers, and generated samples against data.
 */
import { Figure, linePanels, scatter2d, LineSeries } from "./plot";
import { showTable, TableCell } from "./display";
import { Moons } from "./moons";
import { alpha, beta, sigma, validateSchedule, ScheduleConfig } from "./schedule";
import { energyDistance, mmdRbf, moonShares } from "./metrics";

/** Split an n×2 row-major array by a per-point label. */
function rowsWithLabel(x: Float64Array | Float32Array, labels: ArrayLike<number>, label: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === label) out.push(x[2 * i], x[2 * i + 1]);
  return Float64Array.from(out);
}

/** Scatter plot of the two moons, coloured by moon (label 0 = outer, 1 = inner). */
export function moonsFigure(moons: Moons, opts: { title?: string } = {}): Promise<Figure> {
  return scatter2d(
    [
      { label: "outer moon (y = 0)", x: rowsWithLabel(moons.x, moons.y, 0) },
      { label: "inner moon (y = 1)", x: rowsWithLabel(moons.x, moons.y, 1) },
    ],
    { title: opts.title ?? `Two moons, n = ${moons.y.length}`, width: 420, height: 280 },
  );
}

/** Label of a schedule in legends and tables. */
export function scheduleLabel(s: ScheduleConfig): string {
  return `β_min=${s.betaMin}, β_max=${s.betaMax}`;
}

/**
 * β(t), α(t), σ(t) and the signal-to-noise ratio α²/σ² (log axis) over t ∈ [tMin, 1], one colour per schedule.
 * @param schedules the schedules to compare (the first is drawn first)
 * @param opts tMin: start of the t grid (default 1e-3, the training ε); points: grid size (default 200)
 */
export function scheduleFigure(schedules: ScheduleConfig[], opts: { tMin?: number; points?: number } = {}): Promise<Figure> {
  const tMin = opts.tMin ?? 1e-3;
  const points = opts.points ?? 200;
  if (!(tMin >= 0 && tMin < 1)) throw new RangeError(`Expected tMin in [0, 1), but got tMin=${tMin}`);
  schedules.forEach(validateSchedule);
  const ts = Array.from({ length: points }, (_, i) => tMin + ((1 - tMin) * i) / (points - 1));
  const series = (f: (t: number, s: ScheduleConfig) => number): LineSeries[] =>
    schedules.map((s) => ({ label: scheduleLabel(s), x: ts, y: ts.map((t) => f(t, s)) }));
  return linePanels(
    [
      { title: "β(t)", series: series(beta) },
      { title: "α(t)", series: series(alpha) },
      { title: "σ(t)", series: series(sigma) },
      { title: "SNR α²/σ² (log)", series: series((t, s) => (alpha(t, s) / sigma(t, s)) ** 2), logY: true },
    ],
    { columns: 2, width: 260, height: 170 },
  );
}

/** The time where α² = σ² = ½ (SNR = 1): ∫₀ᵗβ = ln 2, solved in closed form; Infinity if never reached by t = 1. */
export function snrCrossingTime(s: ScheduleConfig): number {
  validateSchedule(s);
  const a = 0.5 * (s.betaMax - s.betaMin), b = s.betaMin, c = -Math.LN2; // a t² + b t + c = 0
  const t = a > 0 ? (-b + Math.sqrt(b * b - 4 * a * c)) / (2 * a) : b > 0 ? -c / b : Infinity;
  return t <= 1 ? t : Infinity;
}

/**
 * One row per schedule with the numbers that answer "what do β_min and β_max do?":
 * σ(ε) and SNR(ε) (how close x_ε is to the data), the SNR = 1 crossing time, α(1) and SNR(1)
 * (how close x_1 is to N(0, I)), and the prior mismatch KL(p_1 ‖ N(0, I)) ≤ E KL(N(α x0, σ²I) ‖ N(0, I))
 * = ½[α(1)² E‖x0‖² + d(σ(1)² − 1 − ln σ(1)²)], with E‖x0‖² estimated from `x0` (n×2 row-major).
 */
export function scheduleRoleTable(schedules: ScheduleConfig[], x0: Float64Array | Float32Array, opts: { tMin?: number } = {}): void {
  const tMin = opts.tMin ?? 1e-3;
  let m2 = 0;
  for (let k = 0; k < x0.length; k++) m2 += x0[k] * x0[k];
  m2 /= x0.length / 2;
  const d = 2;
  const rows: Record<string, TableCell>[] = schedules.map((s) => {
    const a1 = alpha(1, s), s1 = sigma(1, s);
    return {
      schedule: scheduleLabel(s),
      "σ(ε)": sigma(tMin, s),
      "SNR(ε)": (alpha(tMin, s) / sigma(tMin, s)) ** 2,
      "t at SNR = 1": snrCrossingTime(s),
      "α(1)": a1,
      "SNR(1)": (a1 / s1) ** 2,
      "KL bound p₁ ‖ N(0,I)": 0.5 * (a1 * a1 * m2 + d * (s1 * s1 - 1 - Math.log(s1 * s1))),
    };
  });
  showTable(rows, { caption: `Schedules at ε = ${tMin} and t = 1 (E‖x0‖² = ${m2.toFixed(3)} from ${x0.length / 2} data points)`, digits: 3 });
}

/** A labelled point cloud (n×2 row-major) to compare with the data. */
export interface LabelledPoints {
  label: string;
  x: Float64Array | Float32Array;
}

/**
 * Compare point clouds with a reference data sample: unbiased MMD² (RBF kernel, median-heuristic bandwidth),
 * energy distance, and the shares of points on the outer moon, the inner moon and neither (`moonShares`).
 * Put a fresh data sample among `clouds` to show the floor that sampling noise alone gives.
 */
export function sampleQualityTable(reference: Float64Array | Float32Array, clouds: LabelledPoints[], opts: { caption?: string } = {}): void {
  const rows: Record<string, TableCell>[] = clouds.map((c) => {
    const shares = moonShares(c.x);
    return {
      "compared with the data": c.label,
      n: c.x.length / 2,
      "MMD²": mmdRbf(c.x, reference),
      "energy distance": energyDistance(c.x, reference),
      "outer moon": shares.outer,
      "inner moon": shares.inner,
      neither: shares.neither,
    };
  });
  showTable(rows, { caption: opts.caption ?? `Two-sample distances to ${reference.length / 2} data points, and shares near each moon`, digits: 3 });
}
