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
  assert.equal(
    extractSource("src/display.ts", ["showBundle", "inKernel"]),
    `${showBundle}\n\n${inKernel}`,
  );
  assert.equal(extractSource("display"), displaySrc.trimEnd());
  assert.equal(sourcePath("display"), path.resolve(__dirname, "..", "src", "display.ts"));
});

test("errors name the missing symbol or the bad module", () => {
  assert.throws(
    () => extractSource("display", ["inKernel", "nope"]),
    /"nope" in src\/display\.ts, but found only: .*showBundle/,
  );
  assert.throws(
    () => extractSource("../package"),
    /module name like "schedule", but got "..\/package"/,
  );
  assert.throws(() => extractSource("no-such-module"), /src\/no-such-module\.ts .* does not exist/);
});

test("extracts a class member (dedented, with its TSDoc) and a #region of a function", () => {
  const method = extractSource("display", ["DisplayHandle.update"]);
  assert.match(method, /^\/\*\*\n \* Show `bundle` in this handle's output/);
  assert.match(method, /\nupdate\(bundle: MimeBundle, metadata: MimeMetadata = \{\}\): void \{\n/);
  assert.ok(!/DisplayHandle/.test(method.split("\n").slice(-1)[0]));
  for (const l of method.split("\n").filter((l) => l.trim()))
    assert.ok(displaySrc.includes(l), `line from src: ${l}`);

  const trainSrc = fs.readFileSync(path.join(__dirname, "..", "src", "train.ts"), "utf8");
  const loop = extractSource("train", ["train#loop"]);
  assert.match(loop, /^while \(step < cfg\.steps\) \{/);
  assert.match(loop, /\n\}$/);
  assert.doesNotMatch(loop, /#region|#endregion/);
  for (const l of loop.split("\n").filter((l) => l.trim()))
    assert.ok(trainSrc.includes(l), `line from src: ${l}`);

  assert.throws(
    () => extractSource("display", ["DisplayHandle.nope"]),
    /"DisplayHandle\.nope" in src\/display\.ts/,
  );
  assert.throws(() => extractSource("train", ["train#nope"]), /"train#nope" in src\/train\.ts/);
});
