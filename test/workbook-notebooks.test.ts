/**
 * The executed workbook (build/notebooks/, refreshed by `npm test`'s pretest step) as a reader
 * sees it: every notebook ran, every cell without error, every plot a PNG + text bundle that
 * JupyterLab, nbconvert's PDF and our PDF can all show, the derivation checks passed (and the
 * counter-examples failed), and the code of parts 2b–2e is listed from src/.
 * In CI the run must have gone through the real Jupyter kernel protocol.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import {
  checkExecuted,
  defaultWorkbookPaths,
  workbookNotebookNames,
} from "../src/export/freshness";

const ROOT = path.resolve(__dirname, "..");
const CI = process.env.CI === "true";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Output[];
}
interface Notebook {
  cells: Cell[];
  metadata: { workbook?: { quick?: boolean; kernel?: string } };
}

const join = (t: unknown) => (Array.isArray(t) ? t.join("") : typeof t === "string" ? t : "");

/** Executed notebooks by file name, or null (with the reason) when the build is stale. */
function executed(): { books: Map<string, Notebook>; stale: string | null } {
  const state = checkExecuted(defaultWorkbookPaths(ROOT));
  const books = new Map<string, Notebook>();
  for (const f of state.files)
    books.set(path.basename(f), JSON.parse(fs.readFileSync(f, "utf8")) as Notebook);
  return { books, stale: state.staleReason };
}

/** All text a notebook shows: text/plain of display data and stream text. */
function shownText(nb: Notebook): string {
  return nb.cells
    .flatMap((c) => c.outputs ?? [])
    .map((o) => join(o.data?.["text/plain"]) + join(o.text))
    .join("\n");
}

function find(books: Map<string, Notebook>, prefix: string): Notebook {
  const name = [...books.keys()].find((k) => k.startsWith(prefix));
  assert.ok(name, `an executed notebook ${prefix}-*.ipynb`);
  return books.get(name)!;
}

const { books, stale } = executed();
const skip =
  stale !== null && !CI
    ? `executed notebooks not up to date (${stale}); npm test refreshes them in its pretest step`
    : false;

test("every notebook was executed, through the Jupyter kernel in CI", { skip }, () => {
  assert.equal(stale, null, `build/notebooks is stale: ${stale}`);
  const sources = workbookNotebookNames(path.join(ROOT, "notebooks"));
  assert.ok(sources.length >= 7, `the workbook has its notebooks, found ${sources.length}`);
  assert.deepEqual([...books.keys()].sort(), sources.sort());
  for (const [name, nb] of books) {
    assert.ok(nb.metadata.workbook, `${name} carries the runner's stamp`);
    if (CI)
      assert.equal(
        nb.metadata.workbook!.kernel,
        "jupyter",
        `${name} ran through the real kernel protocol`,
      );
  }
});

test(
  "no cell failed: every code cell ran, no error output, no uncaught exception on stderr",
  { skip },
  () => {
    for (const [name, nb] of books) {
      nb.cells.forEach((c, i) => {
        if (c.cell_type !== "code" || join(c.source).trim() === "") return;
        assert.ok(
          typeof c.execution_count === "number",
          `${name} cell ${i + 1} has an execution count`,
        );
        for (const o of c.outputs ?? []) {
          assert.notEqual(o.output_type, "error", `${name} cell ${i + 1} has an error output`);
          if (o.name === "stderr") {
            assert.doesNotMatch(
              join(o.text),
              /Error|Exception|Rejection/,
              `${name} cell ${i + 1} wrote an error to stderr`,
            );
          }
        }
      });
    }
  },
);

test("every plot is a PNG + text/plain bundle (+ vega-lite), never SVG-only", { skip }, () => {
  const plotsPer = new Map<string, number>();
  for (const [name, nb] of books) {
    for (const o of nb.cells.flatMap((c) => c.outputs ?? [])) {
      const mimes = Object.keys(o.data ?? {});
      const isPlot = mimes.some((m) => m.startsWith("image/") || m.includes("vegalite"));
      if (!isPlot) continue;
      assert.ok(
        mimes.includes("image/png"),
        `${name}: a plot output without image/png (${mimes.join(", ")})`,
      );
      assert.ok(mimes.includes("text/plain"), `${name}: a plot output without text/plain`);
      assert.ok(
        mimes.includes("application/vnd.vegalite.v5+json"),
        `${name}: a plot output without its vega-lite spec`,
      );
      const png = Buffer.from(join(o.data!["image/png"]), "base64");
      assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${name}: image/png holds a PNG`);
      assert.ok(png.length > 5000, `${name}: the PNG is a real picture (${png.length} bytes)`);
      plotsPer.set(name.slice(0, 3), (plotsPer.get(name.slice(0, 3)) ?? 0) + 1);
    }
  }
  // The parts the sheet asks to plot: 2a data, 2b schedule, 2d loss, 2e samples + trajectory;
  // Ex 1 (the DSM minimiser), 2c (score size) and Ex 3 (force arrows, error vs angle) too.
  for (const [part, min] of [
    ["01-", 1],
    ["02a", 1],
    ["02b", 1],
    ["02c", 1],
    ["02d", 1],
    ["02e", 2],
    ["03-", 2],
  ] as const) {
    assert.ok(
      (plotsPer.get(part) ?? 0) >= min,
      `${part} shows at least ${min} plot(s), found ${plotsPer.get(part) ?? 0}`,
    );
  }
  const sheetPlots = [...plotsPer]
    .filter(([p]) => /^0[123]/.test(p))
    .reduce((a, [, n]) => a + n, 0);
  assert.ok(sheetPlots >= 8, `the sheet's notebooks show at least 8 plots, found ${sheetPlots}`);
});

test(
  "the derivation checks printed passing results, and the counter-examples failed",
  { skip },
  () => {
    const ex1 = shownText(find(books, "01"));
    assert.match(ex1, /Symbolic check of the score: PASS/);
    assert.match(
      ex1,
      /Symbolic check of the score: FAIL/,
      "the deliberately wrong claim is caught",
    );
    assert.match(ex1, /Autodiff check of the score[^\n]*: PASS/);
    assert.match(ex1, /Mean of the DSM target[^\n]*: PASS/);
    assert.match(
      ex1,
      /Mean of the DSM target[^\n]*: FAIL/,
      "the clean density's score is rejected",
    );
    const ex2b = shownText(find(books, "02b"));
    assert.match(ex2b, /Forward SDE simulated[^\n]*: PASS/);
    assert.match(ex2b, /SNR = 1 at t = 0\.259\d \(closed form\)[^\n]*: PASS/);
    const ex2c = shownText(find(books, "02c"));
    assert.match(ex2c, /The model's output on \d+ points[^\n]*: PASS/);
    const ex2d = shownText(find(books, "02d"));
    assert.match(ex2d, /Loss of the zero score: closed form [^\n]* = 49\.2\d[^\n]*: PASS/);
    const ex3 = shownText(find(books, "03"));
    assert.match(ex3, /Forces: analytic \(float64\) vs tfjs autodiff \(float32\): PASS/);
    assert.match(
      ex3,
      /Lennard-Jones\([^)]*\), U\(x\) = [^:]*: invariant energy and equivariant forces: PASS/,
    );
    assert.match(
      ex3,
      /\+ trap[^\n]*: invariant energy and equivariant forces: FAIL/,
      "the non-invariant energy is caught",
    );
    assert.match(ex3, /Finite differences of log p[^\n]*: PASS/);
    assert.match(ex3, /Score of p ∝ exp\(−κU\)[^\n]*: PASS/);
    for (const text of [ex1, ex2b, ex2c, ex2d, ex3]) {
      // A FAIL line is only allowed where the notebook shows a counter-example on purpose.
      const fails = text.split("\n").filter((l) => /: FAIL/.test(l));
      for (const l of fails)
        assert.match(
          l,
          /Symbolic check of the score|Mean of the DSM target|trap/,
          `unexpected failing check: ${l}`,
        );
    }
  },
);

test("parts 2b–2e list their code from src/ at run time", { skip }, () => {
  const listings: [string, string[]][] = [
    ["02b", ["core/sde.ts"]],
    ["02c", ["core/mlp.ts"]],
    ["02d", ["core/loss.ts", "core/mlp.ts", "core/adam.ts", "core/train.ts"]],
    ["02e", ["core/sde.ts", "core/sampler.ts"]],
  ];
  for (const [part, files] of listings) {
    const nb = find(books, part);
    const md = nb.cells
      .flatMap((c) => c.outputs ?? [])
      .map((o) => join(o.data?.["text/markdown"]))
      .join("\n");
    for (const file of files) {
      const m = new RegExp(
        "From `src/" + file.replace(".", "\\.") + "`[^\\n]*\\n\\n```ts\\n([\\s\\S]*?)```",
      ).exec(md);
      assert.ok(m, `${part} shows a listing of src/${file}`);
      // The listing is the file's own text, not a copy: every listed line occurs in src/ now.
      const src = fs.readFileSync(path.join(ROOT, "src", file), "utf8");
      const lines = m![1].split("\n").filter((l) => l.trim().length > 0);
      assert.ok(lines.length >= 5, `${part}: listing of ${file} has code`);
      for (const l of lines)
        assert.ok(src.includes(l), `${part}: listed line not in src/${file}: ${l}`);
    }
  }
});
