/**
 * Title-page settings: from a `--names "A, B"` flag and/or a `workbook.config.json` file
 * ({"names": [...], "title"?: ..., "subtitle"?: ...}); the flag wins over the file.
 */
import * as fs from "fs";
import type { TitlePage } from "./workbook-html";

/** Contents of workbook.config.json (all optional; unknown keys are an error, to catch typos). */
export interface WorkbookConfig {
  /** Group members' names as printed on the title page. */
  names?: string[];
  /** Sheet title. */
  title?: string;
  /** Line under the title (course, term, tutorial group). */
  subtitle?: string;
}

/** Defaults for the title page. */
export function defaultTitle(): Omit<TitlePage, "names"> {
  return {
    // The sheet's three exercises, as its heading would read.
    title: "Exercise Sheet: Score-Based Diffusion Models",
    // Course line is the students' to fill in (workbook.config.json "subtitle").
    subtitle:
      "Denoising Score Matching · Diffusion Model Implementation · Equivariant Energy-Based " +
      "Diffusion",
    // Today, e.g. "28 November 2025".
    date: new Date().toLocaleDateString("en-GB", {
      day: "numeric",
      month: "long",
      year: "numeric",
    }),
  };
}

/** Split a `--names` value: comma, semicolon or " and " separate names. */
export function parseNames(value: string): string[] {
  return value
    .split(/\s*(?:,|;|\band\b)\s*/)
    .map((n) => n.trim())
    .filter((n) => n !== "");
}

/** Read and validate a workbook config file. Missing file -> {}. */
export function readConfig(file: string): WorkbookConfig {
  if (!fs.existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(
      `Expected ${file} to hold JSON like {"names": ["Ada Lovelace", "Alan Turing"]}, but it ` +
        `does not parse: ${(err as Error).message}`,
    );
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(
      `Expected ${file} to hold a JSON object like {"names": [...]}, but got ` +
        `${JSON.stringify(raw)}`,
    );
  }
  const cfg = raw as Record<string, unknown>;
  for (const key of Object.keys(cfg)) {
    if (!["names", "title", "subtitle", "$comment"].includes(key)) {
      throw new Error(`Unknown key "${key}" in ${file}; expected "names", "title" or "subtitle"`);
    }
  }
  if (
    cfg.names !== undefined &&
    (!Array.isArray(cfg.names) || cfg.names.some((n) => typeof n !== "string"))
  ) {
    throw new Error(
      `Expected "names" in ${file} to be a list of strings, but got ${JSON.stringify(cfg.names)}`,
    );
  }
  for (const key of ["title", "subtitle"] as const) {
    if (cfg[key] !== undefined && typeof cfg[key] !== "string") {
      throw new Error(
        `Expected "${key}" in ${file} to be a string, but got ${JSON.stringify(cfg[key])}`,
      );
    }
  }
  return cfg as WorkbookConfig;
}

/** The title page from flags and config. Throws a message that says how to give names. */
export function resolveTitlePage(
  flags: { names?: string; title?: string; date?: string },
  configFile: string,
): TitlePage {
  const cfg = readConfig(configFile);
  const names =
    flags.names !== undefined
      ? parseNames(flags.names)
      : (cfg.names ?? []).map((n) => n.trim()).filter((n) => n !== "");
  if (names.length === 0) {
    throw new Error(
      "No group members' names: the sheet asks for the names of both group members on the " +
        "hand-in.\n" +
        `Give them with  npm run pdf -- --names "Ada Lovelace, Alan Turing"\n` +
        `or put them in ${configFile}:  {"names": ["Ada Lovelace", "Alan Turing"]}`,
    );
  }
  const d = defaultTitle();
  return {
    title: flags.title ?? cfg.title ?? d.title,
    subtitle: cfg.subtitle ?? d.subtitle,
    names,
    date: flags.date ?? d.date,
  };
}
