/**
 * Part 2d's loss scale: the zero score's loss 2·E_t[1/σ̃(t)²] ≈ 49.3 for the sheet's schedule,
 * against a fine trapezoid rule in t written here (an independent quadrature), and the checks
 * that read the loss table with it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  zeroScoreLoss,
  zeroScoreLossCheck,
  dsmLossSummary,
} from "../src/notebook/checks/reference-score";
import { overallStatus } from "../src/notebook/checks/check";
import { lossTail } from "../src/notebook/figures";
import { defaultTrainConfig } from "../src/core/train";

const cfg = defaultTrainConfig();

/** 2/(1 − tMin) ∫ 1/σ̃(t)² dt by the trapezoid rule on a geometric grid of t (no Simpson, no ln t). */
function trapezoid(betaMin: number, betaMax: number, tMin: number, sigmaMin: number): number {
  const n = 200_000;
  const f = (t: number) => {
    const integral = betaMin * t + 0.5 * (betaMax - betaMin) * t * t;
    return 1 / Math.max(1 - Math.exp(-integral), sigmaMin ** 2);
  };
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const [a, b] = [tMin * (1 / tMin) ** (i / n), tMin * (1 / tMin) ** ((i + 1) / n)];
    sum += 0.5 * (f(a) + f(b)) * (b - a);
  }
  return (2 * sum) / (1 - tMin);
}

test("zero score's DSM loss: closed form ≈ 49.3 for the sheet's schedule, = an independent quadrature", () => {
  const closed = zeroScoreLoss(cfg.schedule, cfg.loss);
  const reference = trapezoid(
    cfg.schedule.betaMin,
    cfg.schedule.betaMax,
    cfg.loss.tMin,
    cfg.loss.sigmaMin,
  );
  assert.ok(Math.abs(closed - reference) < 1e-4 * reference, `${closed} vs ${reference}`);
  assert.ok(Math.abs(closed - 49.3) < 0.05, `${closed}`);
  // another schedule and ε move it as the quadrature says
  const other = { betaMin: 1, betaMax: 10 };
  const lossCfg = { tMin: 0.01, sigmaMin: 1e-5 };
  assert.ok(Math.abs(zeroScoreLoss(other, lossCfg) - trapezoid(1, 10, 0.01, 1e-5)) < 1e-3);
});

test("zeroScoreLossCheck: Monte Carlo within 4 s.e. of the closed form; a far-off table row fails", () => {
  const ok = zeroScoreLossCheck(cfg.schedule, cfg.loss, { nDraws: 200_000 });
  assert.equal(overallStatus(ok.checks), "PASS");
  assert.ok(Math.abs(ok.monteCarlo - ok.closedForm) < 4 * ok.monteCarloStandardError);
  const row = { label: "s = 0", loss: 80, standardError: 2, excess: 0, excessStandardError: 0 };
  const bad = zeroScoreLossCheck(cfg.schedule, cfg.loss, { nDraws: 1000, measured: row });
  assert.equal(bad.checks[1].status, "FAIL");
  assert.match(bad.footer![0], /t < 0\.01: \d+%/);
  // the model's loss implied by the closed form: 49.28 − (s = 0 row − model row)
  const zero = { ...row, loss: 42.6, standardError: 7 };
  const model = { ...row, label: "model", loss: 35.2 };
  const training = (mean: number) => ({ label: "training", mean, standardError: 1.4 });
  const agree = zeroScoreLossCheck(cfg.schedule, cfg.loss, {
    nDraws: 1000,
    measured: zero,
    model,
    training: training(42.6),
  });
  assert.equal(agree.checks[2].status, "PASS");
  const implied = agree.table.find((r) => String(r["estimate of"]).startsWith('"model"'))!;
  assert.ok(Math.abs((implied.value as number) - (agree.closedForm - 7.4)) < 1e-9);
  const off = zeroScoreLossCheck(cfg.schedule, cfg.loss, {
    nDraws: 1000,
    measured: zero,
    model,
    training: training(49),
  });
  assert.equal(off.checks[2].status, "FAIL");
});

test("lossTail: mean and standard error of independent per-step losses", () => {
  const { mean, standardError } = lossTail([1, 2, 3, 4]);
  assert.equal(mean, 2.5);
  assert.ok(Math.abs(standardError - Math.sqrt(5 / 3 / 4)) < 1e-12); // sample variance 5/3
});

test("dsmLossSummary says whether the model is within the floor's noise", () => {
  const row = (label: string, loss: number, excess: number, se: number) => ({
    label,
    loss,
    standardError: 7,
    excess,
    excessStandardError: se,
  });
  const floor = row("floor", 33, 0, 0);
  const zero = row("s = 0", 42, 9, 1.3);
  assert.match(
    dsmLossSummary([row("m", 35.2, 2.2, 0.76), zero, floor]),
    /2\.9 s\.e\., above the floor/,
  );
  assert.match(dsmLossSummary([row("m", 33.5, 0.5, 1), zero, floor]), /within the floor's noise/);
});
