/**
 * Predictor–corrector sampling (Song et al. 2021, Algorithm 1 / score_sde `pc_sampler`): at each
 * time of the Euler–Maruyama grid, first a Langevin corrector step at fixed t,
 *
 *   x ← x + ε s(x, t) + √(2ε) z,   ε = 2 a_i (snr · mean‖z‖ / mean‖s‖)²,
 *
 * (score_sde's `LangevinCorrector` for the VP-SDE: the step is set so that the signal-to-noise
 * ratio of the move is `snr`; the norms are per point, averaged over the batch). score_sde's a_i is
 * DDPM's 1 − β_i = 1 − β(t_i)Δt; here a_i = α(t_i)²/α(t_i − Δt)² = exp(−∫β over the step),
 * the same to first order in Δt but in (0, 1] also for coarse grids (1 − βΔt < 0 when Δt > 1/β).
 * Then the
 * Euler–Maruyama predictor step of `sampler.ts`. The last predictor step returns its noise-free
 * mean. Two score evaluations per step.
 */
import { Rng } from "./random";
import { ScoreFn, eulerMaruyamaStep } from "./sampler";
import { ScheduleConfig, alpha } from "./sde";

/** Settings of the Langevin corrector. */
export interface CorrectorConfig {
  /** Target signal-to-noise ratio of a corrector move, > 0 (score_sde's VP default 0.16). */
  snr: number;
}

/** score_sde's corrector setting for the VP-SDE. */
export function defaultCorrectorConfig(): CorrectorConfig {
  return { snr: 0.16 };
}

/**
 * One Langevin corrector step at time t (score_sde's `LangevinCorrector.update_fn`, one step).
 * @param x n×2 row-major state (not modified)
 * @param a the VP factor a_i ≈ 1 − β(t_i)Δt scaling the step, in (0, 1]
 * @returns the new state (a new array); draws 2n normals from rng
 */
export function langevinCorrectorStep(
  x: Float64Array,
  t: number,
  a: number,
  score: ScoreFn,
  snr: number,
  rng: Rng,
): Float64Array {
  const n = x.length / 2;
  const s = score(x, t, n);
  const z = rng.normalArray(x.length) as Float64Array;
  let sNorm = 0;
  let zNorm = 0;
  for (let i = 0; i < n; i++) {
    sNorm += Math.hypot(s[2 * i], s[2 * i + 1]);
    zNorm += Math.hypot(z[2 * i], z[2 * i + 1]);
  }
  const eps = sNorm > 0 ? 2 * a * ((snr * zNorm) / sNorm) ** 2 : 0;
  const g = Math.sqrt(2 * eps);
  const out = new Float64Array(x.length);
  for (let k = 0; k < x.length; k++) out[k] = x[k] + eps * s[k] + g * z[k];
  return out;
}

/**
 * Predictor–corrector samples: x_N ~ N(0, I) from Rng(seed) (the same draw as
 * `sampleReverseSDE`), then for i = N … 1 a corrector step and a predictor step at
 * t_i = tMin + iΔt, Δt = (1 − tMin)/steps. The caller validates the settings.
 * @returns samples at tMin (nSamples×2 row-major) and NFE = 2·steps
 */
export function samplePredictorCorrector(
  score: ScoreFn,
  cfg: { steps: number; tMin: number; nSamples: number; seed: number; schedule: ScheduleConfig },
  corrector: CorrectorConfig = defaultCorrectorConfig(),
): { x: Float64Array; nfe: number } {
  const { steps: N, tMin, nSamples, schedule } = cfg;
  if (!(corrector.snr > 0))
    throw new RangeError(`Expected snr to be a positive number, but got snr=${corrector.snr}`);
  const dt = (1 - tMin) / N;
  const rng = new Rng(cfg.seed);
  let x = rng.normalArray(2 * nSamples) as Float64Array;
  for (let i = N; i >= 1; i--) {
    const t = i === N ? 1 : tMin + i * dt;
    const a = (alpha(t, schedule) / alpha(tMin + (i - 1) * dt, schedule)) ** 2;
    x = langevinCorrectorStep(x, t, a, score, corrector.snr, rng);
    x = eulerMaruyamaStep(x, t, dt, score, schedule, rng, i > 1).x;
  }
  return { x, nfe: 2 * N };
}
