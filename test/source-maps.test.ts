/**
 * Stack traces from the compiled library (dist/, what the notebooks import) name src/ lines (e.g. src/core/moons.ts)
 * once `enableSourceMaps()` has run, and the emitted .js.map files point back to ../src.
 * The library is loaded in a child process, so this test process's own loader plays no part.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");

/**
 * Why dist/ cannot be used for `modules` (missing or older than their src/*.ts), or null.
 * A module missing from src/ is a failure, not a reason to skip.
 */
function distProblem(modules: string[]): string | null {
  for (const m of modules) {
    const js = path.join(DIST, `${m}.js`);
    const ts = path.join(ROOT, "src", `${m}.ts`);
    assert.ok(fs.existsSync(ts), `src/${m}.ts is missing`);
    if (!fs.existsSync(js) || !fs.existsSync(`${js}.map`)) return `dist/${m}.js(.map) is missing`;
    if (fs.statSync(js).mtimeMs < fs.statSync(ts).mtimeMs)
      return `dist/${m}.js is older than src/${m}.ts`;
  }
  return null;
}

/** 1-based line of the `throw` that raises `message` in a source file. */
function throwLine(file: string, message: string): number {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const at = lines.findIndex((l) => l.includes(message));
  assert.ok(at >= 0, `"${message}" not found in ${file}`);
  for (let i = at; i >= 0; i--) if (/\bthrow\b/.test(lines[i])) return i + 1;
  assert.fail(`no throw before "${message}" in ${file}`);
}

test("every dist/**/*.js.map names its ../src/**/*.ts source, which exists", (t) => {
  if (!fs.existsSync(DIST)) {
    t.skip("SKIPPED: dist/ is not built (npx tsc -p tsconfig.json)");
    return;
  }
  const maps: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js.map")) maps.push(p);
    }
  };
  walk(DIST);
  assert.ok(maps.length > 10, `found ${maps.length} source maps`);
  for (const file of maps) {
    const map = JSON.parse(fs.readFileSync(file, "utf8"));
    const rel = path.relative(DIST, file).replace(/\.js\.map$/, ".ts");
    assert.equal(map.sources.length, 1, file);
    const source = path.resolve(path.dirname(file), map.sourceRoot ?? "", map.sources[0]);
    if (!fs.existsSync(source)) continue; // a stale build of a deleted file: nothing to point at
    assert.equal(source, path.join(ROOT, "src", rel), `${file} points at ${map.sources[0]}`);
  }
});

test("after enableSourceMaps(), an error thrown in dist/core/moons.js names src/core/moons.ts at the throw", (t) => {
  const problem = distProblem(["core/moons", "notebook/source-maps"]);
  if (problem) {
    t.skip(`SKIPPED: ${problem}; run npx tsc -p tsconfig.json`);
    return;
  }
  const message = "Expected nSamples to be a positive integer";
  const line = throwLine(path.join(ROOT, "src", "core", "moons.ts"), message);
  const child = (enable: boolean) =>
    spawnSync(
      process.execPath,
      [
        "-e",
        `const dist = ${JSON.stringify(DIST)};
         const on = ${enable} ? require(dist + "/notebook/source-maps.js").enableSourceMaps() : null;
         const { makeMoons } = require(dist + "/core/moons.js");
         try { makeMoons(0); } catch (e) { console.log(JSON.stringify({ on, stack: e.stack })); }`,
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
  const mapped = child(true);
  assert.equal(mapped.status, 0, mapped.stderr);
  const { on, stack } = JSON.parse(mapped.stdout);
  assert.deepEqual(on, { enabled: true, alreadyLoaded: [] });
  assert.match(stack, new RegExp(message));
  const frame = stack.split("\n")[1];
  assert.match(frame, /makeMoons/);
  const m = /[\\/]src[\\/]core[\\/]moons\.ts:(\d+):\d+\)?$/.exec(frame);
  assert.ok(m, `first frame does not name src/core/moons.ts: ${frame}`);
  assert.equal(Number(m[1]), line, `frame ${frame} vs the throw at src/core/moons.ts:${line}`);

  // Without it, the same frame names dist/core/moons.js: what the call above changes.
  const plain = child(false);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(
    JSON.parse(plain.stdout).stack.split("\n")[1],
    /[\\/]dist[\\/]core[\\/]moons\.js:\d+/,
  );
});

test("enableSourceMaps() reports library modules loaded before it, whose traces stay in dist/", (t) => {
  const problem = distProblem(["core/moons", "notebook/source-maps"]);
  if (problem) {
    t.skip(`SKIPPED: ${problem}; run npx tsc -p tsconfig.json`);
    return;
  }
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      `const dist = ${JSON.stringify(DIST)};
       require(dist + "/core/moons.js");
       console.log(JSON.stringify(require(dist + "/notebook/source-maps.js").enableSourceMaps()));`,
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  const { enabled, alreadyLoaded } = JSON.parse(r.stdout);
  assert.equal(enabled, true);
  const names = alreadyLoaded.map((f: string) => path.relative(DIST, f));
  const [moons, random] = [path.join("core", "moons.js"), path.join("core", "random.js")];
  assert.ok(names.includes(moons) && names.includes(random), names.join(", "));
  assert.ok(!names.includes(path.join("notebook", "source-maps.js")), names.join(", "));
});
