/**
 * Part 2e's far-out points: does the reverse trajectory stray further than the forward process
 * ever goes, and which way do the scores point where it does? The forward marginal p_t is sampled
 * exactly (data noised in closed form), so it is the reference for how far points should reach.
 */
import { Rng } from "../core/random";
import { ScoreFn } from "../core/sampler";
import { ScheduleConfig, marginalSample } from "../core/sde";
import { showTable } from "./display";

/** One row of `trajectoryTailTable`. */
export interface TailRow {
  t: number;
  /** Largest ‖x‖ among the reverse trajectory's points at t. */
  maxRadius: number;
  /** Largest ‖x‖ of an exact forward sample x_t = α x0 + σ ε of the same size. */
  forwardMaxRadius: number;
  /** Trajectory points beyond `forwardMaxRadius` (about 1 is expected if both were alike). */
  beyond: number;
  /** At those points: mean radial component s·x/‖x‖ of each score (negative pulls inward). */
  radial: Record<string, number | null>;
}

/**
 * For each recorded time t of a reverse trajectory: its largest radius against an exact forward
 * sample of the same size from `data`, the number of trajectory points beyond the forward
 * sample's largest radius (for two samples of one distribution that count is about 1: the chance
 * that a given point of one sample tops all n of the other is 1/(n + 1)), and, at those points,
 * the mean radial component of each score function (e.g. s_θ and the near-exact score).
 * Prints the table and returns its rows.
 * @param trajectory the sampler's snapshots {t, x (n×2 row-major)}
 * @param data x0 rows to noise, n×2 row-major (reused cyclically if fewer than the trajectory's)
 */
export function trajectoryTailTable(
  trajectory: { t: number; x: Float64Array }[],
  data: Float64Array | Float32Array,
  schedule: ScheduleConfig,
  scores: { label: string; score: ScoreFn }[],
  seed = 0,
): TailRow[] {
  const rng = new Rng(seed);
  const rows = trajectory.map(({ t, x }) => {
    const n = x.length / 2;
    const x0 = new Float64Array(2 * n);
    for (let k = 0; k < 2 * n; k++) x0[k] = data[k % data.length];
    const eps = rng.normalArray(2 * n, new Float64Array(2 * n));
    const forwardMaxRadius = maxRadius(marginalSample(x0, t, eps, schedule));
    const far: number[] = [];
    for (let i = 0; i < n; i++)
      if (Math.hypot(x[2 * i], x[2 * i + 1]) > forwardMaxRadius) far.push(x[2 * i], x[2 * i + 1]);
    const radial: Record<string, number | null> = {};
    for (const { label, score } of scores) {
      if (far.length === 0 || t <= 0) {
        radial[label] = null;
        continue;
      }
      const s = score(Float64Array.from(far), t, far.length / 2);
      let sum = 0;
      for (let i = 0; i < far.length / 2; i++) {
        const r = Math.hypot(far[2 * i], far[2 * i + 1]);
        sum += (s[2 * i] * far[2 * i] + s[2 * i + 1] * far[2 * i + 1]) / r;
      }
      radial[label] = sum / (far.length / 2);
    }
    return { t, maxRadius: maxRadius(x), forwardMaxRadius, beyond: far.length / 2, radial };
  });
  showTable(
    rows.map((r) => ({
      t: r.t,
      "largest ‖x‖, reverse trajectory": r.maxRadius,
      "largest ‖x‖, exact forward sample": r.forwardMaxRadius,
      "points beyond it (≈1 expected)": r.beyond,
      ...Object.fromEntries(
        Object.entries(r.radial).map(([label, v]) => [`radial ${label} there`, v]),
      ),
    })),
    {
      caption:
        `How far the ${trajectory[0]?.x.length / 2} trajectory points reach, against an exact ` +
        `forward sample of p_t of the same size; radial = mean s·x/‖x‖ at the points beyond ` +
        `(negative: the score pulls them back)`,
      digits: 3,
    },
  );
  return rows;
}

function maxRadius(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i + 1 < x.length; i += 2) m = Math.max(m, Math.hypot(x[i], x[i + 1]));
  return m;
}
