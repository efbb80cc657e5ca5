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
  return path.resolve(__dirname, "..", "src");
}

/** Resolve a module name ("schedule", "schedule.ts", "src/schedule.ts") to its source path. */
export function sourcePath(module: string): string {
  const name = module.replace(/^src\//, "").replace(/\.ts$/, "");
  if (!/^[A-Za-z0-9_\-/]+$/.test(name) || name.split("/").includes("..")) {
    throw new Error(`Expected a module name like "schedule", but got "${module}"`);
  }
  const file = path.join(sourceDir(), `${name}.ts`);
  if (!fs.existsSync(file)) {
    throw new Error(`Expected a source file src/${name}.ts for module "${module}", but it does not exist`);
  }
  return file;
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
    return stmt.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  }
  return [];
}

function isExported(stmt: ts.Statement): boolean {
  const mods = ts.canHaveModifiers(stmt) ? ts.getModifiers(stmt) : undefined;
  return !!mods?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/**
 * The source text of top-level declarations of `src/<module>.ts`, each with its TSDoc,
 * in the order asked for; without `symbols`, the whole file.
 * Overloads of a function are returned together.
 * @throws naming the missing symbols and listing the declarations that exist.
 */
export function extractSource(module: string, symbols?: string[]): string {
  const file = sourcePath(module);
  const text = fs.readFileSync(file, "utf8");
  if (!symbols || symbols.length === 0) return text.trimEnd();
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const byName = new Map<string, string[]>();
  for (const stmt of sf.statements) {
    for (const name of declarationName(stmt)) {
      const piece = text.slice(stmt.getStart(sf, true), stmt.end);
      byName.set(name, [...(byName.get(name) ?? []), piece]);
    }
  }
  const missing = symbols.filter((s) => !byName.has(s));
  if (missing.length > 0) {
    const exported = sf.statements.filter(isExported).flatMap(declarationName);
    throw new Error(
      `Expected declarations ${missing.map((m) => `"${m}"`).join(", ")} in src/${path.basename(file)}, ` +
        `but found only: ${exported.join(", ")}`,
    );
  }
  return symbols.map((s) => byName.get(s)!.join("\n")).join("\n\n");
}

/**
 * Display declarations from `src/<module>.ts` as a TypeScript code block (Markdown) with a
 * plain-text fallback. Returns nothing, so that a cell ending in this call does not also print the
 * source (tslab prints a cell's last expression); use `extractSource` to get the text.
 * @example showSource("schedule", ["beta", "alpha", "sigma"])
 */
export function showSource(module: string, symbols?: string[]): void {
  const code = extractSource(module, symbols);
  const rel = `src/${path.basename(sourcePath(module))}`;
  const what = symbols && symbols.length > 0 ? symbols.join(", ") : "whole file";
  const header = `From \`${rel}\` (${what}):`;
  const fence = code.includes("```") ? "~~~~" : "```";
  showMarkdown(`${header}\n\n${fence}ts\n${code}\n${fence}`, `// ${rel}: ${what}\n${code}`);
}
