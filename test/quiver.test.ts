/**
 * quiver: inputs are validated with errors that name the bad value; the spec holds one arrow per
 * point and series, from p to p + scale·v with the head turned along v; one scale for all panels.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as vegaLite from "vega-lite";
import { quiver, QuiverPanel } from "../src/notebook/plot";

type Row = {
  panel: string;
  series?: string;
  dot?: number;
  x: number;
  y: number;
  x2: number;
  y2: number;
  angle: number;
};
const rowsOf = (spec: Record<string, unknown>) => (spec.data as { values: Row[] }).values;

function pngSize(png: Uint8Array): { w: number; h: number } {
  const dv = new DataView(png.buffer, png.byteOffset);
  return { w: dv.getUint32(16), h: dv.getUint32(20) };
}

const panel = (title: string, scale = 1): QuiverPanel => ({
  title,
  points: [0, 0, 1, 0, 0, 1],
  vectors: [{ label: "v", v: [1, 0, 0, scale, -scale, -scale] }],
});

test("quiver: arrows from p to p + scale·v, heads along v, one scale for all panels", async () => {
  const fig = await quiver([panel("a"), panel("b", 2)], { scale: 0.5, title: "T" });
  assert.doesNotThrow(() => vegaLite.compile(fig.spec as any));
  const { w, h } = pngSize(fig.png);
  assert.equal(w, Math.round(2 * fig.width));
  assert.equal(h, Math.round(2 * fig.height));
  const rows = rowsOf(fig.spec);
  const arrows = rows.filter((r) => r.dot !== 1);
  assert.equal(arrows.length, 6);
  assert.equal(rows.filter((r) => r.dot === 1).length, 6, "one dot per point");
  const b = arrows.filter((r) => r.panel === "b");
  // point (1, 0) with v = (0, 2): tip (1, 1), pointing up (angle 0); (0, 1) with v = (−2, −2):
  // tip (−1, 0), pointing down-left (225° clockwise from up)
  assert.deepEqual([b[1].x2, b[1].y2, b[1].angle], [1, 1, 0]);
  assert.deepEqual([b[2].x2, b[2].y2, b[2].angle], [-1, 0, 225]);
  assert.deepEqual([b[0].x2, b[0].y2, b[0].angle], [0.5, 0, 90]); // v = (1, 0): right, 90°
  assert.match(fig.text, /Quiver plot "T" \(2 panels; arrow = 0\.5 × v, the same in every panel\)/);
  assert.match(fig.text, /b \/ v: 3 arrows, \|v\| in \[1, 2\.83\]/);
  // equal units on both axes: the pixel size follows the domain's aspect ratio
  const spec = fig.spec as { spec: { width: number; height: number } };
  const dom = (fig.spec as any).spec.layer[1].encoding;
  const dx = dom.x.scale.domain[1] - dom.x.scale.domain[0];
  const dy = dom.y.scale.domain[1] - dom.y.scale.domain[0];
  assert.ok(Math.abs(spec.spec.width / spec.spec.height - dx / dy) < 0.02);
});

test("quiver: auto scale: mean arrow = span / max(10, √n); the domain holds all tips", async () => {
  const n = 400;
  const points: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < 20; i++)
    for (let j = 0; j < 20; j++) {
      const x = -2 + (4 * i) / 19,
        y = -2 + (4 * j) / 19;
      points.push(x, y);
      v.push(-y, x);
    }
  const t0 = Date.now();
  const fig = await quiver([
    {
      title: "score",
      points,
      vectors: [
        { label: "exact", v },
        { label: "learned", v: v.map((z) => 1.1 * z) },
      ],
    },
  ]);
  assert.ok(Date.now() - t0 < 5000, "400 arrows × 2 render in seconds");
  const arrows = rowsOf(fig.spec).filter((r) => r.dot !== 1);
  assert.equal(arrows.length, 2 * n);
  let mean = 0;
  for (let i = 0; i < v.length; i += 2) mean += (Math.hypot(v[i], v[i + 1]) * 2.1) / (2 * n);
  const expectedScale = 4 / 20 / mean; // span 4, √n = 20
  const r = arrows[5];
  const len = Math.hypot(r.x2 - r.x, r.y2 - r.y);
  const k = 5;
  assert.ok(Math.abs(len - expectedScale * Math.hypot(v[2 * k], v[2 * k + 1])) < 1e-3);
  const enc = (fig.spec as any).layer[1].encoding;
  const [x0, x1] = enc.x.scale.domain,
    [y0, y1] = enc.y.scale.domain;
  for (const a of arrows) assert.ok(a.x2 >= x0 && a.x2 <= x1 && a.y2 >= y0 && a.y2 <= y1);
  assert.equal(enc.color.scale.domain.join(), "exact,learned");
});

test("quiver: inputs are validated with errors that name the bad value", async () => {
  await assert.rejects(quiver([]), /Expected panels to be a non-empty array.*but got none/);
  await assert.rejects(
    quiver([{ title: "a", points: [0, 0, 1], vectors: [{ label: "v", v: [1, 1] }] }]),
    /panels\[0\]\.points.*even length.*length 3/,
  );
  await assert.rejects(
    quiver([{ title: "a", points: [0, 0, 1, 1], vectors: [{ label: "v", v: [1, 1] }] }]),
    new RegExp(
      String.raw`panels\[0\]\.vectors\[0\]\.v \(series "v"\) to hold one vector per point ` +
        String.raw`\(2 of panels\[0\]\.points\), but got 1`,
    ),
  );
  await assert.rejects(
    quiver([{ title: "a", points: [0, 0], vectors: [{ label: "v", v: [1, NaN] }] }]),
    /panels\[0\]\.vectors\[0\]\.v\[1\] = NaN/,
  );
  await assert.rejects(
    quiver([{ title: "a", points: [0, 0], vectors: [] }]),
    /panels\[0\]\.vectors to hold at least one series/,
  );
  await assert.rejects(
    quiver([{ title: 3 as unknown as string, points: [0, 0], vectors: [] }]),
    /panels\[0\].*string title, but got title 3/,
  );
  await assert.rejects(quiver([panel("a")], { scale: -1 }), /scale=-1/);
  await assert.rejects(quiver([panel("a")], { columns: 0 }), /columns=0/);
  await assert.rejects(
    quiver([panel("a")], {
      domain: [
        [1, 0],
        [0, 1],
      ],
    }),
    /\[\[xmin, xmax\], \[ymin, ymax\]\] with min < max, but got domain=\[\[1,0\],\[0,1\]\]/,
  );
});
