/**
 * The exact likelihood, as notebook 05 shows it: the probability-flow ODE's log p_ε against the
 * closed form on a Gaussian mixture, the effect of the divergence's difference step, and the
 * trained model's negative log-likelihood on held-out moons beside a kernel-density estimate and
 * the near-exact mixture density.
 */
import { gaussianMixtureScore } from "../core/exact-scores";
import {
  LikelihoodConfig,
  defaultFdStep,
  gaussianMixtureLogDensity,
  kdeBandwidthByHeldOut,
  kdeLogDensity,
  logLikelihoodPFODE,
  moonsReferenceLogDensity,
  scottBandwidth,
} from "../core/likelihood";
import { ScoreFn } from "../core/sampler";
import { ScheduleConfig } from "../core/sde";
import { showMarkdown, showTable } from "./display";
import { moonLabels } from "./metrics";
import { figureFromSpec, show } from "./plot/render";

type Vec2 = [number, number];
type Mat2 = [Vec2, Vec2];

/** A three-component 2-D Gaussian mixture with correlated, unequal covariances (the test case). */
export function validationMixture(): { weights: number[]; means: Vec2[]; covs: Mat2[] } {
  return {
    weights: [0.5, 0.3, 0.2],
    means: [
      [-1, 0.5],
      [1, -0.5],
      [0.5, 1.5],
    ],
    covs: [
      [
        [0.05, 0.02],
        [0.02, 0.03],
      ],
      [
        [0.1, -0.04],
        [-0.04, 0.06],
      ],
      [
        [0.02, 0],
        [0, 0.08],
      ],
    ],
  };
}

/** The validation points: near each mean, between the components, and in the tails. */
export function validationPoints(): Float64Array {
  return Float64Array.from([
    -1, 0.5, 1, -0.5, 0.5, 1.5, 0, 0, -0.8, 0.6, 1.2, -0.3, 0.2, 1, -2, -1, 2, 2, 0, -1.5,
  ]);
}

const median = (a: ArrayLike<number>) => {
  const s = Array.from(a).sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const se = (a: ArrayLike<number>) => {
  const m = mean(a);
  const v = Array.from(a).reduce((s, x) => s + (x - m) ** 2, 0) / (a.length - 1);
  return Math.sqrt(v / a.length);
};

/**
 * The validation table: log p_ε by the PF-ODE (RK45, rtol 1e-8) with the mixture's exact score,
 * once with the N(0, I) prior at t = 1 and once with the mixture's exact p_1, against the closed
 * form `gaussianMixtureLogDensity` at t = ε. Prints the table and the largest errors.
 * @returns the largest absolute errors (nats) of the two columns
 */
export function showMixtureValidation(
  schedule: ScheduleConfig,
  tMin: number,
): { maxErrorNormalPrior: number; maxErrorExactPrior: number; nfe: number } {
  const { weights, means, covs } = validationMixture();
  const score = gaussianMixtureScore(weights, means, covs, schedule);
  const x = validationPoints();
  const exact = gaussianMixtureLogDensity(x, tMin, weights, means, covs, schedule);
  const cfg: LikelihoodConfig = { tMin, schedule, rtol: 1e-8 };
  const withNormal = logLikelihoodPFODE(score, x, cfg);
  const withExact = logLikelihoodPFODE(score, x, {
    ...cfg,
    logPrior: (x1) => gaussianMixtureLogDensity(x1, 1, weights, means, covs, schedule),
  });
  const rows = Array.from(exact, (e, i) => ({
    x: `(${x[2 * i]}, ${x[2 * i + 1]})`,
    "closed form log p_ε": e,
    "ODE, N(0,I) prior": withNormal.logp[i],
    "error (N(0,I))": withNormal.logp[i] - e,
    "ODE, exact p_1": withExact.logp[i],
    "error (exact p_1)": withExact.logp[i] - e,
  }));
  showTable(rows, {
    digits: 6,
    caption: `PF-ODE log-likelihood vs closed form, 3-component Gaussian mixture, t = ε = ${tMin}`,
  });
  const maxAbs = (a: Float64Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - exact[i])));
  const out = {
    maxErrorNormalPrior: maxAbs(withNormal.logp),
    maxErrorExactPrior: maxAbs(withExact.logp),
    nfe: withNormal.nfe,
  };
  showMarkdown(
    `max |error|: ${out.maxErrorNormalPrior.toExponential(2)} nats with the N(0, I) prior, ` +
      `${out.maxErrorExactPrior.toExponential(2)} nats with the exact p_1 ` +
      `(${out.nfe} field evaluations)`,
  );
  return out;
}

/**
 * How much the difference step of ∇·s moves log p_ε: the model's log-likelihood of `x` with the
 * default step h(t) and with h/4 and 4h (RK45 at `rtol`). Prints the largest changes (nats).
 */
export function showDivergenceStepCheck(
  score: ScoreFn,
  x: Float64Array,
  schedule: ScheduleConfig,
  tMin: number,
  rtol = 1e-5,
): { factor: number; maxChange: number; meanChange: number }[] {
  const probe = score(x.subarray(0, 2), 0.5, 1);
  const h = defaultFdStep(schedule, probe instanceof Float32Array);
  const base = logLikelihoodPFODE(score, x, { tMin, schedule, rtol, fdStep: h }).logp;
  const rows = [0.25, 4].map((factor) => {
    const l = logLikelihoodPFODE(score, x, {
      tMin,
      schedule,
      rtol,
      fdStep: (t) => factor * h(t),
    }).logp;
    const d = Array.from(l, (v, i) => Math.abs(v - base[i]));
    return { factor, maxChange: Math.max(...d), meanChange: mean(d) };
  });
  showTable(
    rows.map((r) => ({
      "step h(t)": `${r.factor} × default`,
      "max |Δ log p| (nats)": r.maxChange,
      "mean |Δ log p| (nats)": r.meanChange,
    })),
    {
      digits: 3,
      caption:
        `Model log p_ε of ${x.length / 2} held-out points: change when the difference step ` +
        `of ∇·s is scaled (default h = (3u)^{1/3} σ(t), u = ` +
        `${probe instanceof Float32Array ? "2⁻²⁴, a float32 score" : "2⁻⁵³"})`,
    },
  );
  return rows;
}

/** Inputs of `showHeldOutNll`. */
export interface HeldOutNllInput {
  /** The trained model's score s_θ. */
  score: ScoreFn;
  /** Training-size sample of the data: the KDE's centres, m×2. */
  train: Float64Array;
  /** Held-out data to choose the KDE bandwidth on, n×2. */
  validation: Float64Array;
  /** Held-out test data, n×2: every NLL is measured on these. */
  test: Float64Array;
  schedule: ScheduleConfig;
  tMin: number;
  /** The data's noise (for the near-exact mixture density). */
  noise: number;
  /** RK45 relative tolerance of the ODE (default 1e-5). */
  rtol?: number;
}

/** One row of `showHeldOutNll`: a density and its NLL on the test points. */
export interface NllRow {
  density: string;
  /** −mean log p / 2 (nats per dimension). */
  natsPerDim: number;
  /** Standard error of `natsPerDim`. */
  standardError: number;
  /** −median log p / 2 (nats per dimension): robust to a few badly fitted points. */
  medianNatsPerDim: number;
}

/**
 * Negative log-likelihood of held-out moons in nats per dimension: the trained model by the
 * PF-ODE (log p_ε), the near-exact mixture (closed form at ε), and Gaussian KDEs of the data with
 * the bandwidth chosen by held-out likelihood and by Scott's rule. Prints a table.
 */
export function showHeldOutNll(input: HeldOutNllInput): {
  rows: NllRow[];
  bandwidth: number;
  scott: number;
  nfe: number;
  /** Test points the ODE carries beyond |x_1| = 4. */
  far: number;
  /** Lowest model log p_ε among the test points. */
  worst: number;
} {
  const { score, train, validation, test, schedule, tMin, noise } = input;
  const model = logLikelihoodPFODE(score, test, { tMin, schedule, rtol: input.rtol ?? 1e-5 });
  const exact = moonsReferenceLogDensity(noise, schedule)(test, tMin);
  const grid = [0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15];
  const { bandwidth } = kdeBandwidthByHeldOut(train, validation, grid);
  const scott = scottBandwidth(train);
  const row = (density: string, logp: Float64Array): NllRow => ({
    density,
    natsPerDim: -mean(logp) / 2,
    standardError: se(logp) / 2,
    medianNatsPerDim: -median(logp) / 2,
  });
  const rows = [
    row(`trained model, PF-ODE log p_ε (${model.nfe} evaluations)`, model.logp),
    row("near-exact mixture p_ε (closed form)", exact),
    row(
      `KDE of ${train.length / 2} data points, h = ${bandwidth} (held-out)`,
      kdeLogDensity(train, test, bandwidth),
    ),
    row(`KDE, h = ${scott.toFixed(3)} (Scott's rule)`, kdeLogDensity(train, test, scott)),
  ];
  showTable(
    rows.map((r) => ({
      density: r.density,
      "NLL (nats/dim)": r.natsPerDim,
      "± s.e.": r.standardError,
      "median (nats/dim)": r.medianNatsPerDim,
    })),
    {
      digits: 4,
      caption:
        `Negative log-likelihood of ${test.length / 2} held-out two-moons points ` +
        `(KDE bandwidth chosen among ${grid.join(", ")} on ${validation.length / 2} other points)`,
    },
  );
  const n = test.length / 2;
  let far = 0;
  for (let i = 0; i < n; i++) if (Math.hypot(model.x1[2 * i], model.x1[2 * i + 1]) > 4) far++;
  const worst = Math.min(...Array.from(model.logp));
  showMarkdown(
    `The model's ODE carries ${far} of ${n} test points to |x_1| > 4 (probability under ` +
      `N(0, I): e^{−8} = 3.4e-4); lowest model log p_ε ${worst.toFixed(1)} nats.`,
  );
  return { rows, bandwidth, scott, nfe: model.nfe, far, worst };
}

/**
 * Two maps of log p_ε on a grid around the moons — the trained model's by the PF-ODE (RK45 at
 * `rtol`) and the near-exact mixture's in closed form, one colour scale clipped to [lo, hi] nats —
 * then a line with each density's mass over the grid (midpoint rule) and the share of that mass
 * within 0.15 of a moon curve (`moonLabels`).
 * @param opts nx × ny cells (default 36 × 24) over x ∈ [−1.5, 2.5], y ∈ [−1, 1.5]
 */
export async function showLikelihoodMap(
  score: ScoreFn,
  schedule: ScheduleConfig,
  tMin: number,
  noise: number,
  opts: { nx?: number; ny?: number; rtol?: number; clip?: [number, number] } = {},
): Promise<{ massModel: number; massExact: number; onMoonsModel: number; onMoonsExact: number }> {
  const nx = opts.nx ?? 36;
  const ny = opts.ny ?? 24;
  const [x0, x1, y0, y1] = [-1.5, 2.5, -1, 1.5];
  const dx = (x1 - x0) / nx;
  const dy = (y1 - y0) / ny;
  const pts = new Float64Array(2 * nx * ny);
  for (let j = 0; j < ny; j++)
    for (let i = 0; i < nx; i++) {
      pts[2 * (j * nx + i)] = x0 + (i + 0.5) * dx;
      pts[2 * (j * nx + i) + 1] = y0 + (j + 0.5) * dy;
    }
  const model = logLikelihoodPFODE(score, pts, { tMin, schedule, rtol: opts.rtol ?? 1e-4 }).logp;
  const exact = moonsReferenceLogDensity(noise, schedule)(pts, tMin);
  const [lo, hi] = opts.clip ?? [-8, 2];
  const labels = moonLabels(pts);
  const mass = (l: Float64Array) => {
    let all = 0,
      on = 0;
    l.forEach((v, p) => {
      const m = Math.exp(v) * dx * dy;
      all += m;
      if (labels[p] >= 0) on += m;
    });
    return { all, share: on / all };
  };
  const mm = mass(model);
  const me = mass(exact);
  const rows: Record<string, unknown>[] = [];
  const panels = ["trained model (PF-ODE)", "near-exact mixture (closed form)"];
  [model, exact].forEach((l, k) => {
    for (let p = 0; p < nx * ny; p++) {
      const cx = pts[2 * p];
      const cy = pts[2 * p + 1];
      rows.push({
        panel: panels[k],
        x: cx - dx / 2,
        x2: cx + dx / 2,
        y: cy - dy / 2,
        y2: cy + dy / 2,
        logp: Math.min(hi, Math.max(lo, l[p])),
      });
    }
  });
  const axis = (d: number[], title: string) => ({
    type: "quantitative",
    title,
    scale: { domain: d, nice: false },
  });
  const spec = {
    title: `log p_ε(x), ε = ${tMin} (colour clipped to [${lo}, ${hi}] nats)`,
    data: { values: rows },
    facet: { field: "panel", type: "nominal", title: null, sort: panels },
    columns: 2,
    spec: {
      width: 300,
      height: Math.round((300 * (y1 - y0)) / (x1 - x0)),
      mark: { type: "rect" },
      encoding: {
        x: { field: "x", ...axis([x0, x1], "x") },
        x2: { field: "x2" },
        y: { field: "y", ...axis([y0, y1], "y") },
        y2: { field: "y2" },
        color: {
          field: "logp",
          type: "quantitative",
          title: "log p",
          scale: { scheme: "viridis", domain: [lo, hi] },
        },
      },
    },
  };
  const range = (a: Float64Array) =>
    `[${Math.min(...Array.from(a)).toFixed(1)}, ${Math.max(...Array.from(a)).toFixed(1)}]`;
  await show(
    figureFromSpec(
      spec,
      `log p_ε on a ${nx}×${ny} grid: model in ${range(model)}, near-exact in ${range(exact)}`,
    ),
  );
  showMarkdown(
    `On this ${nx}×${ny} grid: model log p_ε in ${range(model)} nats, near-exact in ` +
      `${range(exact)}; mass over the grid (midpoint rule) model ${mm.all.toFixed(3)}, ` +
      `near-exact ${me.all.toFixed(3)}; share of that mass within 0.15 of a moon: model ` +
      `${(100 * mm.share).toFixed(1)} %, near-exact ${(100 * me.share).toFixed(1)} %.`,
  );
  return {
    massModel: mm.all,
    massExact: me.all,
    onMoonsModel: mm.share,
    onMoonsExact: me.share,
  };
}

/**
 * log p_ε of a few points by the PF-ODE with RK45 at rtol 1e-4 and 1e-6 and with 2000 RK4 steps
 * (whether the likelihood is converged), beside the near-exact mixture's. Prints a table.
 * @param x n×2 row-major points (a handful: the RK4 run costs 8000 evaluations)
 */
export function showLikelihoodConvergence(
  score: ScoreFn,
  x: Float64Array,
  schedule: ScheduleConfig,
  tMin: number,
  noise: number,
): void {
  const exact = moonsReferenceLogDensity(noise, schedule)(x, tMin);
  const runs = [
    { label: "RK45, rtol 1e-4", r: logLikelihoodPFODE(score, x, { tMin, schedule, rtol: 1e-4 }) },
    { label: "RK45, rtol 1e-6", r: logLikelihoodPFODE(score, x, { tMin, schedule, rtol: 1e-6 }) },
    { label: "RK4, 2000 steps", r: logLikelihoodPFODE(score, x, { tMin, schedule, steps: 2000 }) },
  ];
  showTable(
    Array.from({ length: x.length / 2 }, (_, i) => {
      const row: Record<string, string | number> = {
        x: `(${x[2 * i]}, ${x[2 * i + 1]})`,
      };
      for (const { label, r } of runs) row[label] = r.logp[i];
      row["near-exact (closed form)"] = exact[i];
      return row;
    }),
    {
      digits: 5,
      caption:
        `Model log p_ε by the PF-ODE at three accuracies (field evaluations: ` +
        `${runs.map((q) => q.r.nfe).join(", ")})`,
    },
  );
}
