import { test } from "node:test";
import assert from "node:assert/strict";
import * as math from "mathjs";
import { symbolicScoreCheck, dsmScoreCheck } from "../src/notebook/checks/perturbation-score";
import { forwardMarginalCheck } from "../src/notebook/checks/forward-marginal";
import { dsmLossComparison, dsmLossSummary } from "../src/notebook/checks/reference-score";
import {
  boltzmannScoreCheck,
  forceCheck,
  equivarianceCheck,
} from "../src/notebook/checks/equivariance";
import { gaussianScore, moonsReferenceScore } from "../src/core/exact-scores";
import { alpha, sigma, defaultSchedule } from "../src/core/sde";
import {
  lennardJones,
  makeCluster,
  Potential,
  withAnisotropicTrap,
} from "../src/core/equivariance";
import { Rng } from "../src/core/random";
import { engineAgreementCheck } from "../src/notebook/checks/engine-agreement";
import { wasmUnavailableReason, WASM_ENGINE_NAME } from "../src/engines/wasm";
import { defaultTrainConfig } from "../src/core/train";
import { selectBackend } from "../src/engines/backend";
import { Check, compare, overallStatus, showChecks, skipped } from "../src/notebook/checks/check";
import { captureKernel } from "./helpers/kernel";

const statusOf = (r: { checks: Check[] }) => overallStatus(r.checks);

test("symbolic derivative of the 1-D Gaussian log-density is -(x - x0)/sigma^2 and -eps/sigma at x0 + sigma*eps", () => {
  const r = symbolicScoreCheck({ nPoints: 200 });
  assert.equal(r.differenceFromClosedForm, "0");
  assert.equal(r.differenceFromClaimed, "0");
  assert.ok(r.maxError < 1e-9, `maxError=${r.maxError}`);
  assert.equal(statusOf(r), "PASS");
  assert.deepEqual(
    r.checks.map((c) => c.status),
    ["PASS", "PASS", "PASS"],
  );
});

test("symbolic derivative agrees with central finite differences of the log-density (independent of mathjs's derivative)", () => {
  const r = symbolicScoreCheck({ nPoints: 1 });
  const f = math.compile(r.logDensity);
  const d = math.compile(r.derivative);
  for (const [x, x0, sigma] of [
    [0.3, -0.2, 0.7],
    [1.5, 1.1, 0.2],
    [-2, 0, 1.3],
  ]) {
    const h = 1e-5;
    const fd =
      ((f.evaluate({ x: x + h, x0, sigma }) as number) -
        (f.evaluate({ x: x - h, x0, sigma }) as number)) /
      (2 * h);
    assert.ok(
      Math.abs(fd - (d.evaluate({ x, x0, sigma }) as number)) < 1e-6,
      `x=${x}, x0=${x0}, sigma=${sigma}`,
    );
  }
});

test("symbolic check fails for a wrong claim", () => {
  const r = symbolicScoreCheck({ nPoints: 50, claimed: "-eps / sigma^2" });
  assert.notEqual(r.differenceFromClaimed, "0");
  assert.equal(statusOf(r), "FAIL");
  // The derivative itself is right; the claim and the numbers at random points are not.
  assert.deepEqual(
    r.checks.map((c) => c.status),
    ["PASS", "FAIL", "FAIL"],
  );
});

test("tfjs autodiff of log N(x; x0, sigma^2 I) matches -eps/sigma within float32 round-off", () => {
  const r = dsmScoreCheck({ dim: 3, nDraws: 200 });
  assert.equal(statusOf(r), "PASS", JSON.stringify(r.checks));
  assert.equal(r.checks.length, r.rows.length);
  // At sigma = 1 round-off is tiny in absolute terms too.
  const last = r.rows[r.rows.length - 1];
  assert.equal(last.sigma, 1);
  assert.ok(last.maxAbsError < 1e-5, `maxAbsError=${last.maxAbsError}`);
});

test("numeric check detects a claim that is off by 0.01%", () => {
  const r = dsmScoreCheck({
    nDraws: 200,
    sigmas: [0.5],
    claimed: (eps, sigma) => (-eps / sigma) * 1.0001,
  });
  assert.equal(statusOf(r), "FAIL");
  const wrongPower = dsmScoreCheck({
    nDraws: 50,
    sigmas: [0.5],
    claimed: (eps, sigma) => -eps / (sigma * sigma),
  });
  assert.equal(statusOf(wrongPower), "FAIL");
});

test("bad options are rejected with the bad value named", () => {
  assert.throws(() => dsmScoreCheck({ sigmas: [0.1, -1] }), /sigma=-1/);
  assert.throws(() => dsmScoreCheck({ nDraws: 0 }), /nDraws.*0/);
  assert.throws(() => symbolicScoreCheck({ nPoints: 1.5 }), /nPoints.*1\.5/);
});

test("simulated forward SDE matches the closed-form marginal; the sheet's +1/2 beta x drift gives mean x0/alpha instead", () => {
  const r = forwardMarginalCheck(
    { betaMin: 0.1, betaMax: 20 },
    { nPaths: 3000, steps: 500, times: [0.25, 1] },
  );
  const rows = r.rows;
  assert.equal(rows.length, 2);
  assert.equal(r.checks.length, 4, "mean and std at each time");
  for (const c of r.checks) assert.equal(c.status, "PASS", JSON.stringify(c));
  // With +1/2 beta x the mean solves m' = +1/2 beta m, so m(1) = x0 / alpha(1) ~ 152 (Euler: within a few %).
  const last = rows[1];
  assert.ok(
    Math.abs(last.meanWithSheetSign * alpha(1) - 1) < 0.05,
    `meanWithSheetSign=${last.meanWithSheetSign}`,
  );
});

test("finite differences of log p = -beta U - log Z match beta F, and a wrong force fails", () => {
  const lj = lennardJones();
  const x = makeCluster(new Rng(3));
  const r = boltzmannScoreCheck(lj, x);
  assert.equal(r.checks.length, 3);
  for (const c of r.checks) assert.equal(c.status, "PASS", JSON.stringify(c));
  const wrong: Potential = { ...lj, forces: (y) => lj.forces(y).map((f) => 1.001 * f) };
  assert.ok(boltzmannScoreCheck(wrong, x).checks.every((c) => c.status === "FAIL"));
  assert.throws(() => forwardMarginalCheck(undefined, { times: [1.5] }), /t=1\.5/);
});

test("Lennard-Jones forces: autodiff agrees with the analytic ones; a wrong analytic force is caught", () => {
  const lj = lennardJones();
  const x = makeCluster(new Rng(4));
  const r = forceCheck(lj, x);
  assert.equal(statusOf(r), "PASS", JSON.stringify(r.checks));
  assert.ok(r.netForceRel < 1e-12, `net force ${r.netForceRel}`); // Newton's third law, independent of autodiff
  const wrong: Potential = {
    ...lj,
    forces: (y) => lj.forces(y).map((f, k) => (k === 0 ? f + 1e-3 * Math.abs(f) + 1e-3 : f)),
  };
  assert.equal(statusOf(forceCheck(wrong, x)), "FAIL");
});

test("equivariance: passes for invariant energies (LJ, isotropic trap), fails for an anisotropic trap", () => {
  const lj = lennardJones();
  const x = makeCluster(new Rng(5));
  assert.equal(statusOf(equivarianceCheck(lj, x, new Rng(6), 2)), "PASS");
  assert.equal(
    statusOf(equivarianceCheck(withAnisotropicTrap(lj, [1, 1, 1]), x, new Rng(6), 2)),
    "PASS",
  );
  const bad = equivarianceCheck(withAnisotropicTrap(lj, [0.5, 1, 2]), x, new Rng(6), 2);
  assert.equal(statusOf(bad), "FAIL");
  assert.equal(bad.checks.length, 6, "energy, float64 and float32 forces per rotation");
  for (const row of bad.rows) assert.ok(row.errorFloat64 > 1e-4 && Math.abs(row.det - 1) < 1e-12);
});

test("moons reference score equals finite differences of the log of the noised mixture density, summed directly", () => {
  const noise = 0.05,
    per = 20,
    sched = defaultSchedule();
  const score = moonsReferenceScore(noise, sched, per);
  // Independent: the mixture's means are the noise-free moons, written out here from the make_moons formulas.
  const means: number[][] = [];
  for (let i = 0; i < per; i++) {
    const th = (Math.PI * i) / (per - 1);
    means.push([Math.cos(th), Math.sin(th)]);
  }
  for (let i = 0; i < per; i++) {
    const th = (Math.PI * i) / (per - 1);
    means.push([1 - Math.cos(th), 1 - Math.sin(th) - 0.5]);
  }
  for (const t of [0.05, 0.3, 0.9]) {
    const a = alpha(t, sched),
      v = a * a * noise * noise + sigma(t, sched) ** 2;
    const logp = (x: number, y: number) =>
      Math.log(
        means.reduce(
          (acc, m) => acc + Math.exp(-((x - a * m[0]) ** 2 + (y - a * m[1]) ** 2) / (2 * v)),
          0,
        ),
      );
    const pts = [0.3, 0.8, 1.2, -0.2, -0.5, 0.1];
    const s = score(Float64Array.from(pts), t, 3);
    for (let p = 0; p < 3; p++) {
      const [x, y] = [pts[2 * p], pts[2 * p + 1]],
        h = 1e-6 * Math.sqrt(v);
      const fx = (logp(x + h, y) - logp(x - h, y)) / (2 * h),
        fy = (logp(x, y + h) - logp(x, y - h)) / (2 * h);
      assert.ok(
        Math.abs(fx - s[2 * p]) < 1e-4 * (1 + Math.abs(fx)) &&
          Math.abs(fy - s[2 * p + 1]) < 1e-4 * (1 + Math.abs(fy)),
        `t=${t}, p=${p}`,
      );
    }
  }
});

test("DSM loss comparison: zero for the exact score of a point mass, 2 E[1/sigma^2] (quadrature) for s = 0", () => {
  const sched = defaultSchedule(),
    lossCfg = { tMin: 1e-3, sigmaMin: 1e-5 };
  const data = Float64Array.from([0.3, -0.2, 0.3, -0.2]);
  const rows = dsmLossComparison(
    [
      { label: "zero", score: (x) => new Float64Array(x.length) },
      {
        label: "exact",
        score: gaussianScore(
          [0.3, -0.2],
          [
            [0, 0],
            [0, 0],
          ],
          sched,
        ),
      },
    ],
    data,
    sched,
    lossCfg,
    { groups: 4000, perGroup: 2 },
  );
  assert.ok(rows[1].loss < 1e-12, `exact-score loss ${rows[1].loss}`);
  assert.ok(Math.abs(rows[0].excess - rows[0].loss) < 1e-9 * rows[0].loss);
  // Independent: 2 E_t[1/sigma(t)^2] for t ~ U(tMin, 1) by the midpoint rule on a log-spaced grid.
  let integral = 0;
  const K = 20000,
    a = Math.log(lossCfg.tMin);
  for (let k = 0; k < K; k++) {
    const u0 = Math.exp(a - (a * k) / K),
      u1 = Math.exp(a - (a * (k + 1)) / K),
      um = Math.sqrt(u0 * u1);
    integral += (u1 - u0) * (2 / sigma(um, sched) ** 2);
  }
  const expected = integral / (1 - lossCfg.tMin);
  assert.ok(
    Math.abs(rows[0].loss - expected) < 5 * rows[0].standardError,
    `zero-score loss ${rows[0].loss} ± ${rows[0].standardError}, expected ${expected}`,
  );
});

test("engineAgreementCheck: one step on tfjs and the fast engine agree from the same weights and batch", async () => {
  await selectBackend();
  const r = await engineAgreementCheck({ ...defaultTrainConfig(), batchSize: 64 });
  assert.equal(r.reference, "tfjs");
  if (wasmUnavailableReason() === null) assert.equal(r.other, WASM_ENGINE_NAME);
  if (r.other === null) return; // no second engine here (no WebAssembly SIMD): nothing to compare
  assert.equal(r.rows.length, 3);
  assert.equal(statusOf(r), "PASS", JSON.stringify(r.checks));
  for (const row of r.rows)
    assert.ok(row.relDiff < 1e-4 && row.relDiff >= 0, `${row.quantity}: ${row.relDiff}`);
  // A different batch size is a different step: the check is not vacuous.
  const other = await engineAgreementCheck({ ...defaultTrainConfig(), batchSize: 32 });
  assert.notEqual(other.loss.reference, r.loss.reference);
});

test("compare: PASS within the tolerance, FAIL outside it, for NaN and for different expressions", () => {
  assert.equal(compare("a", 1.5, 1, 0.5).status, "PASS");
  assert.equal(compare("a", 1.5, 1, 0.49).status, "FAIL");
  assert.equal(compare("a", NaN, 0, Infinity).status, "FAIL");
  assert.equal(compare("a", "0", "0", 0).status, "PASS");
  assert.equal(compare("a", "eps", "0", 0).status, "FAIL");
  assert.equal(compare("a", "0", 0, 0).status, "FAIL", "an expression is not a number");
  const pass = compare("a", 0, 0, 0);
  assert.equal(overallStatus([pass, compare("b", 2, 0, 1)]), "FAIL");
  assert.equal(overallStatus([pass, skipped("c", "not here")]), "PASS");
});

test("a check that compared nothing says SKIPPED, never PASS", async () => {
  assert.equal(overallStatus([]), "SKIPPED");
  assert.equal(overallStatus([skipped("a second engine", "none here")]), "SKIPPED");
  // End to end: an engine that cannot start leaves nothing to compare.
  const r = await engineAgreementCheck(
    { ...defaultTrainConfig(), batchSize: 8 },
    { reference: "reference", other: "no-such-engine" },
  );
  assert.equal(r.other, null);
  assert.equal(statusOf(r), "SKIPPED");
  assert.match(r.checks[0].note ?? "", /no-such-engine/);
  const { sent } = captureKernel(() => showChecks(r));
  const text = sent.map((s) => s.msg.data["text/plain"]).join("\n");
  assert.match(text, /: SKIPPED \(no other engine starts here/);
  assert.doesNotMatch(text, /PASS/);
});

test("showChecks prints the overall status in the caption and the table's numbers", () => {
  const r = forceCheck(lennardJones(), makeCluster(new Rng(4)));
  const { sent } = captureKernel(() => showChecks(r));
  assert.equal(sent.length, 1);
  const text: string = sent[0].msg.data["text/plain"];
  assert.match(text, /^Forces: analytic \(float64\) vs tfjs autodiff \(float32\): PASS\n/);
  assert.match(text, new RegExp(r.nAtoms + "\\s"));
  const failed = captureKernel(() => showChecks([compare("x", 1, 0, 0.5), compare("y", 0, 0, 0.5)]))
    .sent[0].msg.data["text/plain"] as string;
  assert.match(failed, /^Checks: FAIL\n/);
  assert.match(failed, /x\s+1\s+0\s+0\.5\s+FAIL/);
});

test("dsmLossSummary: the floor, the gap and the share left, as numbers with labels", () => {
  const row = (label: string, loss: number, excess: number, excessStandardError: number) => ({
    label,
    loss,
    standardError: 7,
    excess,
    excessStandardError,
  });
  const rows = [
    row("model", 37.48, 4.5, 1.04),
    row("s = 0", 42.63, 9, 1.26),
    row("floor", 32.98, 0, 0),
  ];
  assert.equal(
    dsmLossSummary(rows),
    "floor 32.98 · model 37.48 · learnable gap (s = 0 minus floor) 9.00 · " +
      "model's excess 4.50 ± 1.04 (4.3 s.e., above the floor): 50% of the gap left, 50% captured",
  );
  const close = [row("model", 33.5, 0.5, 1.0), rows[1], rows[2]];
  assert.match(dsmLossSummary(close), /0\.50 ± 1\.00 \(0\.5 s\.e\., within the floor's noise\)/);
  assert.throws(() => dsmLossSummary(rows, 0, 5), /rows 0 \(model\) and 5 \(s = 0\)/);
});
