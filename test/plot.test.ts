/**
 * Plots: every figure is {vega-lite spec, PNG, text}; the PNG really contains text (axis
 * titles are drawn, not silently dropped for want of a font); data are thinned as documented;
 * the numeric helpers match direct computations.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as vegaLite from "vega-lite";
import {
  figureFromSpec,
  histogram,
  linePanels,
  linePlot,
  lossCurve,
  movingAverage,
  renderPng,
  scatter2d,
  show,
  trajectoryGrid,
} from "../src/notebook/plot";

function pngSize(png: Uint8Array): { w: number; h: number } {
  assert.deepEqual([...png.slice(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], "PNG signature");
  const dv = new DataView(png.buffer, png.byteOffset);
  return { w: dv.getUint32(16), h: dv.getUint32(20) }; // IHDR
}

function moons(n: number): Float64Array {
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const th = (Math.PI * i) / n;
    x[2 * i] = Math.cos(th);
    x[2 * i + 1] = Math.sin(th);
  }
  return x;
}

test("scatter2d: spec compiles, PNG is 2x the CSS size, data thinned to maxPoints, text has n and ranges", async () => {
  const a = moons(400);
  const fig = await scatter2d(
    [
      { label: "data", x: a },
      { label: "samples", x: a.map((v) => v + 1) },
    ],
    { maxPoints: 100, title: "T" },
  );
  assert.doesNotThrow(() => vegaLite.compile(fig.spec as any));
  const { w, h } = pngSize(fig.png);
  assert.equal(w, Math.round(2 * fig.width));
  assert.equal(h, Math.round(2 * fig.height));
  const values = (fig.spec.data as { values: { series: string }[] }).values;
  assert.equal(values.filter((r) => r.series === "data").length, 100);
  assert.equal(values.filter((r) => r.series === "samples").length, 100);
  assert.match(fig.text, /data: n=400 \(100 plotted\), x in \[-1, 1\], y in \[0, 1\]/);
  assert.match(fig.text, /samples: n=400 \(100 plotted\), x in \[3\.08e-5, 2\], y in \[1, 2\]/); // 1 + cos(399π/400)
  await assert.rejects(scatter2d(new Float64Array(3)), /n×2 row-major.*length 3/);
});

test("text is drawn into the PNG: hiding an axis title changes the pixels, not the layout", async () => {
  const base = {
    width: 100,
    height: 60,
    data: {
      values: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
    },
    mark: "point",
    encoding: {
      x: { field: "x", type: "quantitative", title: "WWWWWW" },
      y: { field: "y", type: "quantitative" },
    },
  };
  const drawn = await figureFromSpec(base, "");
  const hidden = await figureFromSpec({ ...base, config: { axis: { titleColor: "white" } } }, "");
  assert.deepEqual(pngSize(drawn.png), pngSize(hidden.png));
  assert.notDeepEqual(Buffer.from(drawn.png), Buffer.from(hidden.png));
  const direct = await renderPng(drawn.spec);
  assert.deepEqual(Buffer.from(direct.png), Buffer.from(drawn.png), "rendering is deterministic");
});

test("with a domain, points outside it are clipped: the PNG is the same as without them", async () => {
  const domain: [[number, number], [number, number]] = [
    [-1.5, 1.5],
    [-0.5, 1.5],
  ];
  const inside = moons(100);
  const outside = Float64Array.from([...inside, 1.75, 0.5, 0, 1.7]); // right of and above the plot area
  const a = await scatter2d(inside, { domain });
  const b = await scatter2d(outside, { domain });
  assert.equal((b.spec.mark as { clip?: boolean }).clip, true);
  assert.deepEqual(pngSize(b.png), pngSize(a.png));
  assert.deepEqual(
    Buffer.from(b.png),
    Buffer.from(a.png),
    "a point outside the domain changed the scatter2d image",
  );
  // scatter2d's scale-bound zoom already makes vega-lite clip; the grid has no zoom, so there the flag matters.
  const ga = await trajectoryGrid(
    [
      { t: 1, x: inside },
      { t: 0.5, x: inside },
    ],
    { domain },
  );
  const gb = await trajectoryGrid(
    [
      { t: 1, x: outside },
      { t: 0.5, x: inside },
    ],
    { domain },
  );
  assert.equal((gb.spec.spec as { mark: { clip?: boolean } }).mark.clip, true);
  assert.deepEqual(
    Buffer.from(gb.png),
    Buffer.from(ga.png),
    "a point outside the domain changed the trajectoryGrid image",
  );
  const fitted = await scatter2d(outside);
  assert.equal(
    (fitted.spec.mark as { clip?: boolean }).clip,
    undefined,
    "without a domain the axes fit the data: nothing to clip",
  );
});

test("movingAverage equals the direct trailing mean", () => {
  const v = Float64Array.from({ length: 57 }, (_, i) => Math.sin(i) * 3 + i / 10);
  const w = 7;
  const ma = movingAverage(v, w);
  for (let i = 0; i < v.length; i++) {
    let s = 0;
    const lo = Math.max(0, i - w + 1);
    for (let j = lo; j <= i; j++) s += v[j];
    assert.ok(Math.abs(ma[i] - s / (i - lo + 1)) < 1e-12, `i=${i}`);
  }
  assert.throws(() => movingAverage(v, 0), /window to be an integer >= 1, but got 0/);
});

test("histogram densities integrate to the share of values inside the domain", async () => {
  const values = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 1000);
  const fig = await histogram([{ label: "u", values }], { bins: 10, domain: [0, 0.5] });
  const rows = (fig.spec.data as { values: { x0: number; x1: number; density: number }[] }).values;
  const mass = rows.reduce((s, r) => s + r.density * (r.x1 - r.x0), 0);
  assert.ok(Math.abs(mass - 0.501) < 1e-3, `mass ${mass}`); // 0.000 … 0.500 inclusive: 501 of 1000
});

test("line panels, loss curve and trajectory grid render, with log axes where asked", async () => {
  const t = Array.from({ length: 50 }, (_, i) => (i + 1) / 50);
  const lines = await linePanels([
    { title: "alpha", series: [{ label: "a", x: t, y: t.map((v) => Math.exp(-v)) }] },
    { title: "SNR", logY: true, series: [{ label: "a", x: t, y: t.map((v) => Math.exp(-5 * v)) }] },
  ]);
  assert.equal((lines.spec.concat as unknown[]).length, 2);
  assert.equal((lines.spec.concat as any[])[1].encoding.y.scale.type, "log");
  const loss = Float32Array.from({ length: 5000 }, (_, i) => 1 + 1 / (1 + i));
  const lc = await lossCurve(loss, { maxPoints: 500 });
  assert.equal((lc.spec.encoding as any).y.scale.type, "log");
  assert.ok((lc.spec.data as { values: unknown[] }).values.length <= 1000);
  assert.match(lc.text, /over 5000 steps/);
  const grid = await trajectoryGrid([
    { t: 1, x: moons(50) },
    { t: 0.001, x: moons(50) },
  ]);
  assert.deepEqual((grid.spec.facet as any).sort, ["t = 1", "t = 0.001"]);
  for (const f of [lines, lc, grid]) pngSize(f.png);
});

test("linePanels logX: log x scale, x ≤ 0 left out, linear x by default; no x > 0 throws", async () => {
  const x = [0, 1e-3, 1e-2, 1e-1, 1];
  const series = [{ label: "e", x, y: x.map((v) => 1 + v) }];
  const log = await linePanels([{ title: "err", series }], { logX: true });
  const enc = (log.spec as any).encoding.x;
  assert.equal(enc.scale.type, "log");
  const xs = (log.spec.data as { values: { x: number }[] }).values.map((r) => r.x);
  assert.deepEqual(xs, [1e-3, 1e-2, 1e-1, 1]);
  const lin = await linePanels([{ title: "err", series }]);
  assert.equal((lin.spec as any).encoding.x.scale, undefined);
  assert.equal((lin.spec.data as { values: unknown[] }).values.length, 5);
  const perPanel = await linePanels([
    { title: "a", series },
    { title: "b", logX: true, series },
  ]);
  assert.equal((perPanel.spec.concat as any[])[0].encoding.x.scale, undefined);
  assert.equal((perPanel.spec.concat as any[])[1].encoding.x.scale.type, "log");
  await assert.rejects(
    () =>
      linePanels([{ title: "p", series: [{ label: "c", x: [-1, 0], y: [1, 2] }] }], { logX: true }),
    /some x > 0 in panels\[0\]\.series\[0\]/,
  );
  pngSize(log.png);
});

test("show() outside a kernel prints the text summary, never an SVG", async () => {
  const fig = await scatter2d(moons(10), { title: "printed" });
  const printed: string[] = [];
  const orig = console.log;
  console.log = (s: string) => printed.push(s);
  try {
    await show(fig);
  } finally {
    console.log = orig;
  }
  assert.equal(printed.join("\n"), fig.text);
});

test("plotly output is opt-in and comes as a second output, after the bundle", async () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: unknown };
  const fig = await scatter2d(moons(10));
  const sent: any[] = [];
  const prev = jupyter.lastWriteDisplayData;
  jupyter.lastWriteDisplayData = (msg: any) => sent.push(msg);
  try {
    await show(fig);
    assert.equal(sent.length, 1, "default: no plotly output");
    assert.deepEqual(Object.keys(sent[0].data).sort(), [
      "application/vnd.vegalite.v5+json",
      "image/png",
      "text/plain",
    ]);
    await show(fig, { plotly: true });
  } finally {
    jupyter.lastWriteDisplayData = prev;
  }
  assert.equal(sent.length, 3);
  assert.deepEqual(Object.keys(sent[2].data).sort(), ["text/html", "text/plain"]);
  assert.match(sent[2].data["text/html"], /Plotly\.plot\(/);
});

test("wrongly shaped or non-finite input is refused where it enters each helper, naming the argument and shape", async () => {
  const pairs = [
    [0, 1],
    [2, 3],
  ] as unknown as Float64Array; // an array of [x, y] pairs instead of one flat n×2 array
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      "scatter2d, empty",
      () => scatter2d(new Float64Array(0)),
      /points.*at least one point.*length 0/,
    ],
    ["scatter2d, no series", () => scatter2d([]), /points.*at least one point.*length 0/],
    [
      "scatter2d, odd length",
      () => scatter2d([{ label: "a", x: [0, 1, 2] }]),
      /"a".*n×2 row-major.*length 3/,
    ],
    ["scatter2d, pairs", () => scatter2d(pairs), /n×2 row-major.*flat/],
    [
      "scatter2d, NaN",
      () => scatter2d(Float64Array.from([0, 1, 2, NaN])),
      /points.*finite.*\[3\] = NaN/,
    ],
    [
      "scatter2d, no x",
      () => scatter2d([{ label: "b" } as never]),
      /"b".*n×2 row-major.*undefined/,
    ],
    [
      "trajectoryGrid, empty x",
      () => trajectoryGrid([{ t: 1, x: [] }]),
      /snapshots\[0\]\.x.*at least one point/,
    ],
    [
      "trajectoryGrid, bad t",
      () => trajectoryGrid([{ t: NaN, x: moons(3) }]),
      /snapshots\[0\]\.t.*NaN/,
    ],
    ["linePlot, no series", () => linePlot([]), /series.*at least one series/],
    [
      "linePanels, empty series",
      () => linePanels([{ title: "p", series: [{ label: "c", x: [], y: [] }] }]),
      /series\[0\]\.x \(series "c"\).*at least one value/,
    ],
    [
      "linePanels, lengths",
      () => linePanels([{ title: "p", series: [{ label: "c", x: [0, 1], y: [0] }] }]),
      /"c".*equal length.*2 and 1/,
    ],
    [
      "linePanels, Infinity",
      () => linePanels([{ title: "p", series: [{ label: "c", x: [0, 1], y: [0, Infinity] }] }]),
      /series\[0\]\.y \(series "c"\).*finite.*\.y\[1\] = Infinity/,
    ],
    ["lossCurve, NaN", () => lossCurve([1, NaN, 0.5]), /loss.*finite.*\[1\] = NaN/],
    ["histogram, empty", () => histogram([]), /data.*at least one value/],
    [
      "histogram, empty series",
      () => histogram([{ label: "d", values: [] }]),
      /"d".*at least one value/,
    ],
    ["histogram, NaN", () => histogram(Float64Array.from([1, NaN])), /data.*finite.*\[1\] = NaN/],
  ];
  for (const [name, call, message] of cases) await assert.rejects(call(), message, name);
  // Well-formed input still draws, with finite ranges in the text.
  const ok = await scatter2d(moons(5));
  assert.doesNotMatch(ok.text, /Infinity/);
});
