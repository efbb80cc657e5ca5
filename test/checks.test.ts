import { test } from "node:test";
import assert from "node:assert/strict";
import * as math from "mathjs";
import { symbolicScoreCheck, dsmScoreCheck, forwardMarginalCheck, boltzmannScoreCheck, forceCheck, equivarianceCheck } from "../src/checks";
import { alpha } from "../src/schedule";
import { lennardJones, makeCluster, Potential, withAnisotropicTrap } from "../src/equivariance";
import { Rng } from "../src/random";

test("symbolic derivative of the 1-D Gaussian log-density is -(x - x0)/sigma^2 and -eps/sigma at x0 + sigma*eps", () => {
  const r = symbolicScoreCheck({ nPoints: 200 });
  assert.equal(r.differenceFromClosedForm, "0");
  assert.equal(r.differenceFromClaimed, "0");
  assert.ok(r.maxError < 1e-9, `maxError=${r.maxError}`);
  assert.equal(r.passed, true);
});

test("symbolic derivative agrees with central finite differences of the log-density (independent of mathjs's derivative)", () => {
  const r = symbolicScoreCheck({ nPoints: 1 });
  const f = math.compile(r.logDensity);
  const d = math.compile(r.derivative);
  for (const [x, x0, sigma] of [[0.3, -0.2, 0.7], [1.5, 1.1, 0.2], [-2, 0, 1.3]]) {
    const h = 1e-5;
    const fd = ((f.evaluate({ x: x + h, x0, sigma }) as number) - (f.evaluate({ x: x - h, x0, sigma }) as number)) / (2 * h);
    assert.ok(Math.abs(fd - (d.evaluate({ x, x0, sigma }) as number)) < 1e-6, `x=${x}, x0=${x0}, sigma=${sigma}`);
  }
});

test("symbolic check fails for a wrong claim", () => {
  const r = symbolicScoreCheck({ nPoints: 50, claimed: "-eps / sigma^2" });
  assert.notEqual(r.differenceFromClaimed, "0");
  assert.equal(r.passed, false);
});

test("tfjs autodiff of log N(x; x0, sigma^2 I) matches -eps/sigma within float32 round-off", () => {
  const r = dsmScoreCheck({ dim: 3, nDraws: 200 });
  assert.equal(r.passed, true, JSON.stringify(r.rows));
  // At sigma = 1 round-off is tiny in absolute terms too.
  const last = r.rows[r.rows.length - 1];
  assert.equal(last.sigma, 1);
  assert.ok(last.maxAbsError < 1e-5, `maxAbsError=${last.maxAbsError}`);
});

test("numeric check detects a claim that is off by 0.01%", () => {
  const r = dsmScoreCheck({ nDraws: 200, sigmas: [0.5], claimed: (eps, sigma) => (-eps / sigma) * 1.0001 });
  assert.equal(r.passed, false);
  const wrongPower = dsmScoreCheck({ nDraws: 50, sigmas: [0.5], claimed: (eps, sigma) => -eps / (sigma * sigma) });
  assert.equal(wrongPower.passed, false);
});

test("bad options are rejected with the bad value named", () => {
  assert.throws(() => dsmScoreCheck({ sigmas: [0.1, -1] }), /sigma=-1/);
  assert.throws(() => dsmScoreCheck({ nDraws: 0 }), /nDraws.*0/);
  assert.throws(() => symbolicScoreCheck({ nPoints: 1.5 }), /nPoints.*1\.5/);
});

test("simulated forward SDE matches the closed-form marginal; the sheet's +1/2 beta x drift gives mean x0/alpha instead", () => {
  const rows = forwardMarginalCheck({ betaMin: 0.1, betaMax: 20 }, { nPaths: 3000, steps: 500, times: [0.25, 1] });
  assert.equal(rows.length, 2);
  for (const r of rows) assert.equal(r.passed, true, JSON.stringify(r));
  // With +1/2 beta x the mean solves m' = +1/2 beta m, so m(1) = x0 / alpha(1) ~ 152 (Euler: within a few %).
  const last = rows[1];
  assert.ok(Math.abs(last.meanWithSheetSign * alpha(1) - 1) < 0.05, `meanWithSheetSign=${last.meanWithSheetSign}`);
});

test("finite differences of log p = -beta U - log Z match beta F, and a wrong force fails", () => {
  const lj = lennardJones();
  const x = makeCluster(new Rng(3));
  for (const r of boltzmannScoreCheck(lj, x)) assert.equal(r.passed, true, JSON.stringify(r));
  const wrong: Potential = { ...lj, forces: (y) => lj.forces(y).map((f) => 1.001 * f) };
  assert.ok(boltzmannScoreCheck(wrong, x).every((r) => !r.passed));
  assert.throws(() => forwardMarginalCheck(undefined, { times: [1.5] }), /t=1\.5/);
});

test("Lennard-Jones forces: autodiff agrees with the analytic ones; a wrong analytic force is caught", () => {
  const lj = lennardJones();
  const x = makeCluster(new Rng(4));
  const r = forceCheck(lj, x);
  assert.equal(r.passed, true, JSON.stringify(r));
  assert.ok(r.netForceRel < 1e-12, `net force ${r.netForceRel}`); // Newton's third law, independent of autodiff
  const wrong: Potential = { ...lj, forces: (y) => lj.forces(y).map((f, k) => (k === 0 ? f + 1e-3 * Math.abs(f) + 1e-3 : f)) };
  assert.equal(forceCheck(wrong, x).passed, false);
});

test("equivariance: passes for invariant energies (LJ, isotropic trap), fails for an anisotropic trap", () => {
  const lj = lennardJones();
  const x = makeCluster(new Rng(5));
  assert.equal(equivarianceCheck(lj, x, new Rng(6), 2).passed, true);
  assert.equal(equivarianceCheck(withAnisotropicTrap(lj, [1, 1, 1]), x, new Rng(6), 2).passed, true);
  const bad = equivarianceCheck(withAnisotropicTrap(lj, [0.5, 1, 2]), x, new Rng(6), 2);
  assert.equal(bad.passed, false);
  for (const row of bad.rows) assert.ok(row.errorFloat64 > 1e-4 && Math.abs(row.det - 1) < 1e-12);
});
