/** Progress bar: throttled redraws of one in-place output (kernel) or stderr lines (terminal). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProgressBar, formatDuration } from "../src/notebook/progress";
import { captureKernel } from "./helpers/kernel";

test("progress bar: throttled, always draws the last step, updates one output in place", () => {
  let now = 0;
  const { result: bar, sent } = captureKernel(() => {
    const b = new ProgressBar({ label: "train", throttleMs: 1000, now: () => now });
    for (let step = 1; step <= 100; step++) {
      now += 50; // 20 steps per second
      b.update({ step, steps: 100, loss: 0.5, stepsPerSec: 20, etaSec: (100 - step) / 20 });
    }
    b.done();
    return b;
  });
  // 5 s of fake time at one redraw per second: first step, ~4 throttled ones, the last step, done().
  assert.ok(bar.renders >= 5 && bar.renders <= 8, `renders=${bar.renders}`);
  assert.deepEqual(
    sent.map((s) => s.update),
    [false, ...Array(sent.length - 1).fill(true)],
  );
  const last = sent[sent.length - 1].msg.data;
  assert.match(
    last["text/plain"],
    /100% \| step 100\/100 \| loss 0\.5000 \| 20 steps\/s \| 5s total/,
  );
  assert.match(last["text/html"], /width: 100\.0%/);
  // The HTML form shows what the text form shows: the label, the percent, the fields.
  assert.match(last["text/html"], /^<div[^>]*>train </);
  assert.match(
    last["text/html"],
    /<\/div><\/div> 100% \| step 100\/100 \| loss 0\.5000 \| 20 steps\/s/,
  );
  const mid = sent[2].msg.data["text/html"];
  assert.match(mid, />train <.*<\/div><\/div> +\d+% \| step \d+\/100/);
  assert.equal(formatDuration(3725), "1h 02m");
  assert.equal(formatDuration(245), "4m 05s");
});

test("progress bar labels a running mean loss as such", () => {
  const lines: string[] = [];
  const bar = new ProgressBar({ throttleMs: 0, write: (l) => lines.push(l) });
  bar.update({ step: 5, steps: 10, loss: 42.5, lossLabel: "mean loss, last 5 steps" });
  assert.match(lines[0], /step 5\/10 \| mean loss, last 5 steps 42\.5000/);
});

test("progress bar outside a kernel writes lines, throttled", () => {
  let now = 0;
  const lines: string[] = [];
  const bar = new ProgressBar({ throttleMs: 5000, now: () => now, write: (l) => lines.push(l) });
  for (let step = 1; step <= 100; step++) {
    now += 200;
    bar.update({ step, steps: 100 });
  }
  bar.done();
  assert.equal(lines.length, 5); // t=0.2 s, 5.2, 10.2, 15.2 s, and the last step (done() adds nothing)
  assert.match(lines[4], /step 100\/100/);
  assert.throws(() => bar.update({ step: 1, steps: 0 }), /steps > 0.*steps=0/);
});
