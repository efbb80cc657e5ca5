/** Part 2e's far-out points: a trajectory drawn from p_t itself has about one point beyond. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { trajectoryTailTable } from "../src/notebook/tails";
import { makeMoons } from "../src/core/moons";
import { marginalSample, defaultSchedule } from "../src/core/sde";
import { Rng } from "../src/core/random";
import { captureKernel } from "./helpers/kernel";

test("trajectoryTailTable: ≈1 point beyond for a sample of p_t, many for a widened one; radial of −x", () => {
  const s = defaultSchedule();
  const data = makeMoons(2000, { seed: 3 }).x;
  const rng = new Rng(9);
  const x0 = Float64Array.from(data);
  const exact = marginalSample(x0, 0.6, rng.normalArray(x0.length, new Float64Array(x0.length)), s);
  const wide = exact.map((v) => 1.5 * v);
  const minusX = (x: Float32Array | Float64Array) => x.map((v) => -v);
  const { result: rows } = captureKernel(() =>
    trajectoryTailTable(
      [
        { t: 0.6, x: exact },
        { t: 0.6, x: wide },
      ],
      data,
      s,
      [{ label: "−x", score: minusX }],
    ),
  );
  assert.ok(rows[0].beyond <= 6, `same distribution: ${rows[0].beyond} beyond`);
  assert.ok(rows[1].beyond >= 30, `widened: ${rows[1].beyond} beyond`);
  assert.ok((rows[1].radial["−x"] as number) < -rows[1].forwardMaxRadius); // −‖x‖ beyond the reach
});
