/** Workbook settings follow WORKBOOK_QUICK. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isQuick, workbookSettings } from "../src/workbook";

test("workbook settings: full = the sheet's, quick when WORKBOOK_QUICK=1", () => {
  const saved = process.env.WORKBOOK_QUICK;
  try {
    delete process.env.WORKBOOK_QUICK;
    assert.equal(isQuick(), false);
    assert.equal(workbookSettings().trainSteps, 100_000);
    assert.equal(workbookSettings().samplerSteps, 1000);
    process.env.WORKBOOK_QUICK = "1";
    assert.equal(workbookSettings().quick, true);
    assert.ok(workbookSettings().trainSteps < 100_000);
  } finally {
    if (saved === undefined) delete process.env.WORKBOOK_QUICK;
    else process.env.WORKBOOK_QUICK = saved;
  }
});
