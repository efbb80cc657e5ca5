/**
 * What notebook 07 shows of a particle experiment (`particle-experiment.ts`): tables with
 * mean ± sd over seeds (captions say full run or quick mode) and figures built with the plot
 * helpers.
 */
import { showTable, TableCell } from "./display";
import { Figure, LineSeries, linePanels, linePlot } from "./plot";
import { sigma } from "../core/sde";
import { ParticleModelKind } from "../core/particle-scores";
import { histogram as densityHistogram } from "../core/particle-metrics";
import { particleModelLabels } from "./particle-config";
import { ParticleRun } from "./particle-jobs";
import { ChainSummary, ParticleExperimentResult, SampleSummary } from "./particle-experiment";

function meanSd(values: number[]): { mean: number; sd: number } {
  const m = values.reduce((s, v) => s + v, 0) / values.length;
  const v = values.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean: m, sd: Math.sqrt(v) };
}

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(1);
  return v.toPrecision(a < 0.1 && a !== 0 ? 2 : 3);
}

/** "0.185 ± 0.013" of the values (sample sd over seeds). */
export function formatMeanSd(values: number[]): string {
  const { mean, sd } = meanSd(values);
  return `${num(mean)} ± ${num(sd)}`;
}

function modeNote(r: ParticleExperimentResult): string {
  const c = r.config;
  return (
    `${c.quick ? "QUICK MODE (fewer steps and samples than the full run)" : "full run"}: ` +
    `${c.seeds.length} seeds, ${c.steps} steps × batch ${c.batchSize}, ` +
    `${c.mala.nSamples} training configs, ${c.nSamples} samples by ${c.samplerSteps} steps, ` +
    `reference ${c.nReference} MALA configs`
  );
}

function runsOf(r: ParticleExperimentResult, kind: ParticleModelKind): ParticleRun[] {
  return r.runs.filter((x) => x.kind === kind);
}

/** MALA diagnostics of the training and reference chains, and the sampling floor of W1. */
export function showParticleChains(r: ParticleExperimentResult): void {
  const row = (label: string, c: ChainSummary) => ({
    chain: label,
    "kept configs": c.nSamples,
    "steps after burn-in": c.steps,
    acceptance: c.acceptanceRate,
    "step τ": c.stepSize,
    "τ_int(U) (steps)": c.energyAutocorrelationTime,
    thin: c.thin,
    "ESS(U)": Math.round(c.steps / c.energyAutocorrelationTime),
    "τ_int(axis_z²) (kept states)": c.orientationAutocorrelationTime,
    "Bingham S": c.bingham,
    "p (χ²₅)": c.binghamP,
  });
  showTable([row("training", r.training), row("reference (held out)", r.reference)], {
    caption:
      `MALA on ${r.systemName}, inverseTemperature ${r.config.mala.inverseTemperature} ` +
      `(${r.config.quick ? "QUICK MODE" : "full run"})`,
    digits: 3,
  });
  console.log(
    `floor: ${r.config.nSamples} training configs vs reference: W1(pair r) = ` +
      `${num(r.floor.w1PairDistance)}, W1(U) = ${num(r.floor.w1Energy)}\n` +
      `experiment computed in ${r.wallSeconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s ` +
      `CPU (whole process, ${r.threads} worker threads)`,
  );
}

/** Energy above which the tables count a sample as far out (the energy figure's upper end). */
const U_TAIL = 20;

/** Per model: parameters, time, loss and the sample-quality numbers, mean ± sd over seeds. */
export function showParticleModels(r: ParticleExperimentResult): void {
  const tail = energyTailFractions(r, U_TAIL);
  const rows = r.config.kinds.map((k) => {
    const rs = runsOf(r, k);
    return {
      model: particleModelLabels[k],
      parameters: r.parameters[k],
      "train s (wall)": formatMeanSd(rs.map((x) => x.trainSeconds)),
      "final loss": formatMeanSd(rs.map((x) => x.finalLoss)),
      "W1(pair r)": formatMeanSd(rs.map((x) => x.w1PairDistance)),
      "W1(U)": formatMeanSd(rs.map((x) => x.w1Energy)),
      "Bingham S": formatMeanSd(rs.map((x) => x.bingham)),
      [`U > ${U_TAIL} (seed ${r.config.seeds[0]})`]: tail[particleModelLabels[k]],
    } as Record<string, TableCell>;
  });
  rows.push({
    model: "floor: training data vs reference",
    parameters: null,
    "train s (wall)": "",
    "final loss": "",
    "W1(pair r)": num(r.floor.w1PairDistance),
    "W1(U)": num(r.floor.w1Energy),
    "Bingham S": num(r.training.bingham),
    [`U > ${U_TAIL} (seed ${r.config.seeds[0]})`]: `${num(tail.MALA)} (reference chain)`,
  });
  showTable(rows, { caption: `Mean ± sd over seeds; ${modeNote(r)}` });
}

/** W1(pair r) and Bingham's S of every seed and model (the spreads of the table above). */
export function showParticleSeeds(r: ParticleExperimentResult): void {
  const rows = r.config.seeds.map((seed) => {
    const row: Record<string, TableCell> = { seed };
    for (const k of r.config.kinds) {
      const run = r.runs.find((x) => x.kind === k && x.seed === seed);
      row[`W1(pair r) ${particleModelLabels[k]}`] = run ? run.w1PairDistance : NaN;
    }
    for (const k of r.config.kinds) {
      const run = r.runs.find((x) => x.kind === k && x.seed === seed);
      row[`Bingham S ${particleModelLabels[k].slice(0, 3)}`] = run ? run.bingham : NaN;
    }
    return row;
  });
  showTable(rows, {
    caption: `Per seed (Bingham S: χ²₅ if uniform, 95 % quantile 11.07); ${modeNote(r)}`,
    digits: 3,
  });
}

/** Equivariance error ‖s(Rx) − R s(x)‖/‖s(x)‖ at each t per model, mean ± sd over seeds. */
export function showParticleEquivariance(r: ParticleExperimentResult): void {
  const rows = r.config.equivarianceTimes.map((t, i) => {
    const row: Record<string, TableCell> = { t };
    for (const k of r.config.kinds)
      row[particleModelLabels[k]] = formatMeanSd(runsOf(r, k).map((x) => x.equivarianceMean[i]));
    return row;
  });
  showTable(rows, {
    caption:
      `Equivariance error, mean over ${r.config.equivarianceConfigs} configs × ` +
      `${r.config.rotationsPerConfig} rotations, mean ± sd over seeds (${modeNote(r)})`,
  });
}

/** The learned score at small t against inverseTemperature·F: relative error and cosine. */
export function showParticleScoreForce(r: ParticleExperimentResult): void {
  const rows = r.config.kinds.flatMap((k) =>
    r.config.smallTimes.map((t, i) => {
      const rs = runsOf(r, k).map((x) => x.scoreForce[i]);
      return {
        model: particleModelLabels[k],
        t,
        "σ(t)": sigma(t, r.config.noise.schedule),
        "‖s − κF‖/‖κF‖": formatMeanSd(rs.map((s) => s.relativeError)),
        "cos(s, F)": formatMeanSd(rs.map((s) => s.cosine)),
      } as Record<string, TableCell>;
    }),
  );
  showTable(rows, {
    caption:
      `Score at small t vs κF on ${r.config.scoreForceConfigs} clean reference configs, ` +
      `mean ± sd over seeds (${modeNote(r)})`,
  });
}

/** W1(pair r) against the number of training configurations (first seed). */
export function showParticleDataEfficiency(r: ParticleExperimentResult): void {
  const sizes = [...r.config.dataSizes, r.config.mala.nSamples];
  const rows = r.config.kinds.map((k) => {
    const row: Record<string, TableCell> = { model: particleModelLabels[k] };
    for (const n of sizes) row[`n = ${n}`] = dataEfficiencyW1(r, k, n);
    return row;
  });
  showTable(rows, {
    caption:
      `W1(pair r) vs training configurations n, seed ${r.config.seeds[0]}; floor ` +
      `${num(r.floor.w1PairDistance)} (${modeNote(r)})`,
    digits: 3,
  });
}

function dataEfficiencyW1(r: ParticleExperimentResult, k: ParticleModelKind, n: number): number {
  const run =
    n === r.config.mala.nSamples
      ? r.runs.find((x) => x.kind === k && x.seed === r.config.seeds[0])
      : r.dataEfficiency.find((x) => x.kind === k && x.nData === n);
  return run ? run.w1PairDistance : NaN;
}

/** Fraction of each model's (first-seed) sampled energies above `uMax`, and MALA's. */
export function energyTailFractions(
  r: ParticleExperimentResult,
  uMax: number,
): Record<string, number> {
  const frac = (u: number[]) => u.filter((v) => v > uMax).length / u.length;
  const out: Record<string, number> = { MALA: frac(r.referenceSamples.energies) };
  for (const k of r.config.kinds) out[particleModelLabels[k]] = frac(r.modelSamples[k].energies);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Figures

/** Equivariance error vs log₁₀ t per model (mean over seeds), log y. */
export async function particleEquivarianceFigure(r: ParticleExperimentResult): Promise<Figure> {
  const x = r.config.equivarianceTimes.map((t) => Math.log10(t));
  const series: LineSeries[] = r.config.kinds.map((k) => ({
    label: particleModelLabels[k],
    x,
    y: r.config.equivarianceTimes.map(
      (_, i) => meanSd(runsOf(r, k).map((run) => run.equivarianceMean[i])).mean,
    ),
  }));
  return linePlot(series, {
    logY: true,
    xTitle: "log₁₀ t",
    yTitle: "‖s(Rx) − R s(x)‖ / ‖s(x)‖",
    title: `Equivariance error vs t (mean over ${r.config.seeds.length} seeds)`,
    width: 460,
    height: 260,
  });
}

/**
 * Density histograms (as lines) of the reference chain against each model's first-seed samples,
 * one panel per model: `what` = "pair" (pair distances r_ij) or "energy" (U, on [0, uMax]).
 */
export async function particleHistogramFigure(
  r: ParticleExperimentResult,
  what: "pair" | "energy",
  uMax = 20,
): Promise<Figure> {
  const [lo, hi, bins] = what === "pair" ? [0, 3.5, 35] : [0, uMax, 20];
  const pick = (s: SampleSummary) => (what === "pair" ? s.pairDistances : s.energies);
  const line = (label: string, v: number[]): LineSeries => {
    const h = densityHistogram(v, lo, hi, bins);
    return { label, x: Array.from(h.centers), y: Array.from(h.density) };
  };
  const ref = line("MALA (reference)", pick(r.referenceSamples));
  return linePanels(
    r.config.kinds.map((k) => ({
      title: particleModelLabels[k],
      series: [
        ref,
        line("model samples (seed " + r.config.seeds[0] + ")", pick(r.modelSamples[k])),
      ],
      yTitle: "density",
    })),
    {
      xTitle: what === "pair" ? "pair distance r" : "energy U",
      title:
        what === "pair"
          ? "Pair-distance density: MALA vs each model"
          : `Energy density on [0, ${uMax}]: MALA vs each model`,
      width: 220,
      height: 170,
    },
  );
}

/** W1(pair r) vs log₁₀ n per model (first seed), with the sampling floor. */
export async function particleDataEfficiencyFigure(r: ParticleExperimentResult): Promise<Figure> {
  const sizes = [...r.config.dataSizes, r.config.mala.nSamples];
  const x = sizes.map((n) => Math.log10(n));
  const series: LineSeries[] = r.config.kinds.map((k) => ({
    label: particleModelLabels[k],
    x,
    y: sizes.map((n) => dataEfficiencyW1(r, k, n)),
  }));
  series.push({ label: "floor (training data)", x, y: x.map(() => r.floor.w1PairDistance) });
  return linePlot(series, {
    logY: true,
    xTitle: "log₁₀ (training configurations n)",
    yTitle: "W1(pair r) vs MALA",
    title: `Data efficiency (seed ${r.config.seeds[0]})`,
    width: 420,
    height: 240,
  });
}
