/**
 * Exercise 1, section 1.4: the mean DSM target near x is the noised density's score (Tweedie).
 * The closed-form mixture score is compared with finite differences of the mixture's log-density
 * written out here, and the check must reject the tempting wrong answers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  defaultMixture1d,
  dsmMinimiserCheck,
  mixture1dScore,
} from "../src/notebook/checks/dsm-minimiser";
import { overallStatus } from "../src/notebook/checks/check";

test("mixture1dScore is the derivative of the blurred mixture's log-density (finite differences)", () => {
  const m = defaultMixture1d();
  for (const sigma of [0, 0.2, 1]) {
    const logp = (x: number) =>
      Math.log(
        m.weights.reduce((acc, w, k) => {
          const v = m.sds[k] ** 2 + sigma ** 2;
          return (
            acc + (w * Math.exp(-((x - m.means[k]) ** 2) / (2 * v))) / Math.sqrt(2 * Math.PI * v)
          );
        }, 0),
      );
    for (const x of [-2.5, -1.5, 0, 0.7, 2]) {
      const h = 1e-5;
      const fd = (logp(x + h) - logp(x - h)) / (2 * h);
      assert.ok(
        Math.abs(mixture1dScore(m, sigma, x) - fd) < 1e-6 * (1 + Math.abs(fd)),
        `${sigma} ${x}`,
      );
    }
  }
});

test("the mean DSM target per bin equals the noised score: PASS; the clean score or a wrong σ: FAIL", () => {
  const m = defaultMixture1d();
  const right = dsmMinimiserCheck({ nDraws: 100_000 });
  assert.equal(overallStatus(right.checks), "PASS");
  assert.equal(right.checks.length, 3);
  assert.ok(right.bins.length >= 60, `bins compared: ${right.bins.length}`);
  const clean = dsmMinimiserCheck({ nDraws: 100_000, claimed: (x) => mixture1dScore(m, 0, x) });
  assert.ok(clean.checks.every((c) => c.status === "FAIL"));
  const blurredLess = dsmMinimiserCheck({
    nDraws: 100_000,
    claimed: (x, s) => mixture1dScore(m, 0.8 * s, x),
  });
  assert.equal(overallStatus(blurredLess.checks), "FAIL");
  assert.throws(() => dsmMinimiserCheck({ sigmas: [0] }), /sigma=0/);
  assert.throws(() => dsmMinimiserCheck({ nDraws: 10 }), /nDraws=10/);
});
