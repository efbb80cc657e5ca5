/**
 * Display: inside a kernel (simulated by installing tslab's display hook, as the kernel and the
 * in-process runner do) a bundle goes out as one message with binary data base64-encoded;
 * in-place handles send update=true after the first message; outside, text/plain is printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DisplayHandle,
  formatTable,
  inKernel,
  showBundle,
  showMarkdown,
} from "../src/notebook/display";
import { captureKernel } from "./helpers/kernel";

function capturePrint(fn: () => void): string[] {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    fn();
  } finally {
    console.log = orig;
  }
  return lines;
}

test("in a kernel: one message per bundle, PNG as base64, metadata passed through", () => {
  assert.equal(inKernel(), false);
  const png = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
  const { sent } = captureKernel(() => {
    assert.equal(inKernel(), true);
    showBundle({ "image/png": png, "text/plain": "a plot" }, { "image/png": { width: 10 } });
  });
  assert.equal(sent.length, 1);
  assert.equal(sent[0].update, false);
  assert.deepEqual(sent[0].msg.data, {
    "image/png": Buffer.from(png).toString("base64"),
    "text/plain": "a plot",
  });
  assert.deepEqual(sent[0].msg.metadata, { "image/png": { width: 10 } });
});

test("bundles without text/plain, or SVG without PNG, are refused", () => {
  assert.throws(
    () => showBundle({ "text/html": "<b>x</b>" }),
    /"text\/plain" string, but got members \[text\/html\]/,
  );
  assert.throws(() => showBundle({ "image/svg+xml": "<svg/>", "text/plain": "x" }), /SVG-only/);
});

test("a DisplayHandle creates one output, then updates it in place", () => {
  const { sent } = captureKernel(() => {
    const h = new DisplayHandle();
    h.update({ "text/plain": "1" });
    h.update({ "text/plain": "2" });
  });
  assert.deepEqual(
    sent.map((s) => s.update),
    [false, true],
  );
  assert.equal(sent[0].msg.transient.display_id, sent[1].msg.transient.display_id);
  assert.ok(sent[0].msg.transient.display_id);
});

test("outside a kernel the text/plain member is printed", () => {
  assert.deepEqual(
    capturePrint(() => showMarkdown("**x**", "x")),
    ["x"],
  );
});

test("formatTable: markdown and aligned text", () => {
  const { markdown, text } = formatTable(
    [
      { name: "a", value: 1.23456 },
      { name: "bb", value: 1e-5 },
    ],
    { digits: 3 },
  );
  assert.equal(markdown, "| name | value |\n| --- | ---: |\n| a | 1.23 |\n| bb | 1.00e-5 |");
  assert.equal(text, "name    value\n----  -------\na        1.23\nbb    1.00e-5");
  assert.throws(() => formatTable([]), /non-empty array of rows/);
});
