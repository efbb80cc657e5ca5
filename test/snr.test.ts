/** Part 2b: the time where SNR = α²/σ² = 1, against the quadratic solved here and α² = ½ there. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { alpha, snrCrossingTime } from "../src/core/sde";
import { snrCrossingCheck } from "../src/notebook/checks/forward-marginal";
import { overallStatus } from "../src/notebook/checks/check";

test("SNR = 1 at t ≈ 0.259 for the sheet's schedule; α² = ½ there", () => {
  const [bmin, bmax] = [0.1, 20];
  // β_min t + ½(β_max − β_min) t² = ln 2
  const a = 0.5 * (bmax - bmin);
  const t = (-bmin + Math.sqrt(bmin * bmin + 4 * a * Math.LN2)) / (2 * a);
  const s = { betaMin: bmin, betaMax: bmax };
  assert.ok(Math.abs(snrCrossingTime(s) - t) < 1e-12);
  assert.ok(Math.abs(t - 0.259) < 5e-4, `${t}`);
  assert.ok(Math.abs(alpha(t, s) ** 2 - 0.5) < 1e-12);
  const r = snrCrossingCheck(s);
  assert.equal(overallStatus(r.checks), "PASS");
  const half = r.table.find((row) => row.t === 0.5)!;
  assert.ok(
    Math.abs((half["share of α's fall done"] as number) - (1 - alpha(0.5, s)) / (1 - alpha(1, s))) <
      1e-12,
  );
  assert.ok((half["share of α's fall done"] as number) > 0.7); // α falls mostly in the first half
});

test("a schedule that never reaches SNR = 1 says so; constant β has the crossing ln 2/β", () => {
  assert.equal(snrCrossingTime({ betaMin: 0.1, betaMax: 0.5 }), Infinity);
  assert.equal(overallStatus(snrCrossingCheck({ betaMin: 0.1, betaMax: 0.5 }).checks), "PASS");
  assert.ok(Math.abs(snrCrossingTime({ betaMin: 5, betaMax: 5 }) - Math.LN2 / 5) < 1e-15);
});
