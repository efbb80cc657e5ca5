/**
 * Before the tests: make sure build/notebooks/ holds an up-to-date run of the workbook, so the
 * tests of the executed notebooks and of the PDF export check the real thing. Runs the quick
 * workbook (no PDF) only when the build is missing or older than notebooks/ or src/.
 *
 *   node --import tsx scripts/ensure-executed.ts
 */
import * as path from "path";
import { checkExecuted, defaultWorkbookPaths, runWorkbook } from "../src/export/freshness";

const ROOT = path.resolve(__dirname, "..");

async function main(): Promise<void> {
  const { staleReason } = checkExecuted(defaultWorkbookPaths(ROOT));
  if (staleReason === null) {
    console.log("Executed notebooks in build/notebooks are up to date.");
    return;
  }
  console.log(`Running the quick workbook before the tests: ${staleReason}.`);
  await runWorkbook(ROOT, { quick: true });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
