/** Listings come from src/ itself: compared with a plain text search of the same file. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { extractSource, sourcePath } from "../src/listing";

const displaySrc = fs.readFileSync(path.join(__dirname, "..", "src", "display.ts"), "utf8");

function bySearch(startMarker: string): string {
  const start = displaySrc.indexOf(startMarker);
  assert.ok(start >= 0);
  const end = displaySrc.indexOf("\n}\n", start);
  return displaySrc.slice(start, end + 2);
}

test("extracts exported declarations with their TSDoc, in the order asked", () => {
  const inKernel = bySearch("/** True when running inside a tslab kernel");
  const showBundle = bySearch("/**\n * Display one MIME bundle");
  assert.equal(extractSource("display", ["inKernel"]), inKernel);
  assert.equal(extractSource("src/display.ts", ["showBundle", "inKernel"]), `${showBundle}\n\n${inKernel}`);
  assert.equal(extractSource("display"), displaySrc.trimEnd());
  assert.equal(sourcePath("display"), path.resolve(__dirname, "..", "src", "display.ts"));
});

test("errors name the missing symbol or the bad module", () => {
  assert.throws(() => extractSource("display", ["inKernel", "nope"]), /"nope" in src\/display\.ts, but found only: .*showBundle/);
  assert.throws(() => extractSource("../package"), /module name like "schedule", but got "..\/package"/);
  assert.throws(() => extractSource("no-such-module"), /src\/no-such-module\.ts .* does not exist/);
});
