/**
 * The layout shows the architecture: `src/core/` (the sheet's science) imports nothing from the rest
 * of `src/`, no package and no I/O module; no module of `src/` takes part in an import cycle.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const SRC = path.resolve(__dirname, "..", "src");

/** Every .ts file under `dir`, as paths relative to src/. */
function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return modules(p);
    return e.name.endsWith(".ts") ? [path.relative(SRC, p)] : [];
  });
}

/** The import specifiers of a module (imports, re-exports, require() and import()), by TypeScript. */
function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(SRC, file), "utf8");
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The module a relative specifier of `from` names (a file or a folder's index.ts). */
function resolve(from: string, spec: string): string {
  const base = path.normalize(path.join(path.dirname(from), spec));
  for (const cand of [`${base}.ts`, path.join(base, "index.ts")]) {
    if (fs.existsSync(path.join(SRC, cand))) return cand;
  }
  throw new Error(`${from}: cannot resolve "${spec}"`);
}

const graph = new Map<string, string[]>(
  modules(SRC).map((m) => [
    m,
    imports(m)
      .filter((s) => s.startsWith("."))
      .map((s) => resolve(m, s)),
  ]),
);

test("src/core imports only src/core: no engines, no notebook output, no packages, no I/O", () => {
  const core = [...graph.keys()].filter((m) => m.startsWith(`core${path.sep}`));
  assert.ok(core.length >= 8, `expected the core modules, found ${core}`);
  const outside = core.flatMap((m) =>
    imports(m)
      .filter((s) => !s.startsWith(".") || !resolve(m, s).startsWith(`core${path.sep}`))
      .map((s) => `${m} imports "${s}"`),
  );
  assert.deepEqual(outside, []);
});

test("each folder imports only the folders above it: core, engines, notebook; export stands alone", () => {
  const allowed: Record<string, string[]> = {
    core: ["core"],
    engines: ["core", "engines"],
    notebook: ["core", "engines", "notebook"],
    export: ["export"],
  };
  const folder = (m: string) => m.split(path.sep)[0];
  const wrong = [...graph.entries()].flatMap(([m, deps]) =>
    folder(m) in allowed
      ? deps.filter((d) => !allowed[folder(m)].includes(folder(d))).map((d) => `${m} → ${d}`)
      : [],
  );
  assert.deepEqual(wrong, []);
});

/** Every import cycle of `g`, each as "a → b → a". */
function cyclesOf(g: Map<string, string[]>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (m: string) => {
    if (state.get(m) === "done") return;
    if (state.get(m) === "open") {
      cycles.push([...stack.slice(stack.indexOf(m)), m].join(" → "));
      return;
    }
    state.set(m, "open");
    stack.push(m);
    for (const n of g.get(m) ?? []) visit(n);
    stack.pop();
    state.set(m, "done");
  };
  [...g.keys()].sort().forEach(visit);
  return cycles;
}

test("no import cycle anywhere in src/", () => {
  assert.deepEqual(cyclesOf(graph), []);
});

test("the scan finds what the files hold, and the cycle search finds a cycle", () => {
  const at = (...p: string[]) => path.join(...p);
  assert.ok(graph.get(at("notebook", "cache.ts"))!.includes(at("core", "train.ts")));
  assert.ok(
    graph.get(at("engines", "wasm.ts"))!.includes(at("core", "mlp.ts")),
    "multi-line import",
  );
  assert.ok(graph.get("index.ts")!.length > 10, "index.ts re-exports the library");
  const withCycle = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a"]],
    ["d", ["a"]],
  ]);
  assert.deepEqual(cyclesOf(withCycle), ["a → b → c → a"]);
});
