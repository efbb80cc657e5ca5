/** Formatting shared by the checks' display functions. */

/** An expression as inline code, so Markdown does not read `*` as emphasis. */
export function code(expr: string): string {
  return `\`${expr}\``;
}

/** PASS/FAIL label for printed checks. */
export function verdict(passed: boolean): string {
  return passed ? "PASS" : "FAIL";
}
