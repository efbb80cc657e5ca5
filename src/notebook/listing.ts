/**
 * Code listings for the notebooks, read from the library's own TypeScript source at run
 * time, so the code shown beside an output is the code that produced it (never a copy).
 *
 * The source files are found relative to this module: `dist/listing.js` and
 * `src/listing.ts` both resolve `../src/<module>.ts`. Declarations are cut out with the
 * TypeScript compiler's parser (a runtime dependency for that reason), including their TSDoc.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { showMarkdown } from "./display";

/** Folder holding the library's TypeScript sources (`<package>/src`). */
export function sourceDir(): string {
  return path.resolve(__dirname, "..", "..", "src");
}

/** Resolve a module name ("schedule", "schedule.ts", "src/schedule.ts") to its source path. */
export function sourcePath(module: string): string {
  const name = module.replace(/^src\//, "").replace(/\.ts$/, "");
  if (!/^[A-Za-z0-9_\-/]+$/.test(name) || name.split("/").includes("..")) {
    throw new Error(`Expected a module name like "schedule", but got "${module}"`);
  }
  const file = path.join(sourceDir(), `${name}.ts`);
  if (!fs.existsSync(file)) {
    throw new Error(
      `Expected a source file src/${name}.ts for module "${module}", but it does not exist`,
    );
  }
  return file;
}

/** A source file's path under src/, with forward slashes (e.g. "core/train.ts"). */
function underSrc(file: string): string {
  return path.relative(sourceDir(), file).split(path.sep).join("/");
}

function declarationName(stmt: ts.Statement): string[] {
  if (
    ts.isFunctionDeclaration(stmt) ||
    ts.isClassDeclaration(stmt) ||
    ts.isInterfaceDeclaration(stmt) ||
    ts.isTypeAliasDeclaration(stmt) ||
    ts.isEnumDeclaration(stmt)
  ) {
    return stmt.name ? [stmt.name.text] : [];
  }
  if (ts.isVariableStatement(stmt)) {
    return stmt.declarationList.declarations.flatMap((d) =>
      ts.isIdentifier(d.name) ? [d.name.text] : [],
    );
  }
  return [];
}

function isExported(stmt: ts.Statement): boolean {
  const mods = ts.canHaveModifiers(stmt) ? ts.getModifiers(stmt) : undefined;
  return !!mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** Remove the common leading indentation of all non-blank lines. */
function dedent(text: string): string {
  const lines = text.split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(cut, /^ */.exec(l)![0].length))).join("\n");
}

/**
 * The text of `node` with its TSDoc, starting at the beginning of its first line (so dedent sees
 * its indentation).
 */
function pieceWithIndent(text: string, sf: ts.SourceFile, node: ts.Node): string {
  const start = node.getStart(sf, true);
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  const prefix = text.slice(lineStart, start);
  return (/^\s*$/.test(prefix) ? prefix : "") + text.slice(start, node.end);
}

/** Lines strictly between `// #region <name>` and the next `// #endregion` in `piece`, or null. */
function regionOf(piece: string, region: string): string | null {
  const lines = piece.split("\n");
  const open = lines.findIndex((l) =>
    new RegExp(`^\\s*//\\s*#region\\s+${region.replace(/[^\w-]/g, "")}\\b`).test(l),
  );
  if (open < 0) return null;
  const close = lines.findIndex((l, i) => i > open && /^\s*\/\/\s*#endregion\b/.test(l));
  if (close < 0) return null;
  return lines.slice(open + 1, close).join("\n");
}

/**
 * The source text of declarations of `src/<module>.ts`, each with its TSDoc, in the order asked
 * for; without `symbols`, the whole file. A symbol is
 * - `name`: a top-level declaration (overloads of a function are returned together);
 * - `Class.method`: one member of a top-level class (method, property or constructor as
 *   `Class.constructor`);
 * - `name#region`: the lines between `// #region region` and `// #endregion` inside the
 *   declaration `name` (markers excluded), e.g. the core loop of a long function.
 * Members and regions are dedented; every listed line still occurs verbatim (up to indentation)
 * in the file.
 * @throws naming the missing symbols and listing the declarations that exist.
 */
export function extractSource(module: string, symbols?: string[]): string {
  const file = sourcePath(module);
  const text = fs.readFileSync(file, "utf8");
  if (!symbols || symbols.length === 0) return text.trimEnd();
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const byName = new Map<string, string[]>();
  const classes = new Map<string, ts.ClassDeclaration>();
  for (const stmt of sf.statements) {
    for (const name of declarationName(stmt)) {
      const piece = text.slice(stmt.getStart(sf, true), stmt.end);
      byName.set(name, [...(byName.get(name) ?? []), piece]);
      if (ts.isClassDeclaration(stmt)) classes.set(name, stmt);
    }
  }
  const resolve = (symbol: string): string | null => {
    const region = /^([A-Za-z_$][\w$]*)#([\w-]+)$/.exec(symbol);
    if (region) {
      const whole = byName.get(region[1]);
      const inner = whole ? regionOf(whole.join("\n"), region[2]) : null;
      return inner === null ? null : dedent(inner);
    }
    const member = /^([A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*)$/.exec(symbol);
    if (member) {
      const cls = classes.get(member[1]);
      const found = cls?.members.filter((m) =>
        member[2] === "constructor"
          ? ts.isConstructorDeclaration(m)
          : m.name !== undefined && m.name.getText(sf) === member[2],
      );
      return found && found.length > 0
        ? found.map((m) => dedent(pieceWithIndent(text, sf, m))).join("\n")
        : null;
    }
    return byName.has(symbol) ? byName.get(symbol)!.join("\n") : null;
  };
  const pieces = symbols.map((s) => [s, resolve(s)] as const);
  const missing = pieces.filter(([, p]) => p === null).map(([s]) => s);
  if (missing.length > 0) {
    const exported = sf.statements.filter(isExported).flatMap(declarationName);
    throw new Error(
      `Expected declarations ${missing.map((m) => `"${m}"`).join(", ")} ` +
        `in src/${underSrc(file)}, ` +
        `but found only: ${exported.join(", ")} (members as "Class.method", regions as ` +
        `"name#region")`,
    );
  }
  return pieces.map(([, p]) => p!).join("\n\n");
}

/** How a symbol is named in a listing's header: "train#loop" reads "the loop region of train()". */
function describeSymbol(symbol: string): string {
  const region = /^(.*)#(.*)$/.exec(symbol);
  return region ? `${region[1]}(): region "${region[2]}"` : symbol;
}

/**
 * Display declarations from `src/<module>.ts` as a TypeScript code block (Markdown) with a
 * plain-text fallback. Returns nothing, so that a cell ending in this call does not also print the
 * source (tslab prints a cell's last expression); use `extractSource` to get the text.
 * @example showSource("schedule", ["beta", "alpha", "sigma"])
 */
export function showSource(module: string, symbols?: string[]): void {
  const code = extractSource(module, symbols);
  const rel = `src/${underSrc(sourcePath(module))}`;
  const what =
    symbols && symbols.length > 0 ? symbols.map(describeSymbol).join(", ") : "whole file";
  const header = `From \`${rel}\` (${what}):`;
  const fence = code.includes("```") ? "~~~~" : "```";
  showMarkdown(`${header}\n\n${fence}ts\n${code}\n${fence}`, `// ${rel}: ${what}\n${code}`);
}
