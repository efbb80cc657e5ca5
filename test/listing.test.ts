/** Listings come from src/ itself: compared with a plain text search of the same file. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { extractSource, showSource, sourcePath } from "../src/notebook/listing";
import { captureKernel } from "./helpers/kernel";

const displaySrc = fs.readFileSync(
  path.join(__dirname, "..", "src", "notebook", "display.ts"),
  "utf8",
);

function bySearch(startMarker: string): string {
  const start = displaySrc.indexOf(startMarker);
  assert.ok(start >= 0);
  const end = displaySrc.indexOf("\n}\n", start);
  return displaySrc.slice(start, end + 2);
}

test("extracts exported declarations with their TSDoc, in the order asked", () => {
  const inKernel = bySearch("/** True when running inside a tslab kernel");
  const showBundle = bySearch("/**\n * Display one MIME bundle");
  assert.equal(extractSource("notebook/display", ["inKernel"]), inKernel);
  assert.equal(
    extractSource("src/notebook/display.ts", ["showBundle", "inKernel"]),
    `${showBundle}\n\n${inKernel}`,
  );
  assert.equal(extractSource("notebook/display"), displaySrc.trimEnd());
  assert.equal(
    sourcePath("notebook/display"),
    path.resolve(__dirname, "..", "src", "notebook", "display.ts"),
  );
});

test("errors name the missing symbol or the bad module", () => {
  assert.throws(
    () => extractSource("notebook/display", ["inKernel", "nope"]),
    /"nope" in src\/notebook\/display\.ts, but found only: .*showBundle/,
  );
  assert.throws(
    () => extractSource("../package"),
    /module name like "schedule", but got "..\/package"/,
  );
  assert.throws(() => extractSource("no-such-module"), /src\/no-such-module\.ts .* does not exist/);
  // module names include their folder now: the bare name of a moved module is not found
  assert.throws(() => extractSource("display"), /src\/display\.ts .* does not exist/);
  assert.throws(() => extractSource("core/../../package"), /module name like/);
});

test("extracts a class member (dedented, with its TSDoc) and a #region of a function", () => {
  const method = extractSource("notebook/display", ["DisplayHandle.update"]);
  assert.match(method, /^\/\*\*\n \* Show `bundle` in this handle's output/);
  assert.match(method, /\nupdate\(bundle: MimeBundle, metadata: MimeMetadata = \{\}\): void \{\n/);
  assert.ok(!/DisplayHandle/.test(method.split("\n").slice(-1)[0]));
  for (const l of method.split("\n").filter((l) => l.trim()))
    assert.ok(displaySrc.includes(l), `line from src: ${l}`);

  const trainSrc = fs.readFileSync(path.join(__dirname, "..", "src", "core", "train.ts"), "utf8");
  const loop = extractSource("core/train", ["train#loop"]);
  assert.match(loop, /^while \(step < cfg\.steps\) \{/);
  assert.match(loop, /\n\}$/);
  assert.doesNotMatch(loop, /#region|#endregion/);
  for (const l of loop.split("\n").filter((l) => l.trim()))
    assert.ok(trainSrc.includes(l), `line from src: ${l}`);

  assert.throws(
    () => extractSource("notebook/display", ["DisplayHandle.nope"]),
    /"DisplayHandle\.nope" in src\/notebook\/display\.ts/,
  );
  assert.throws(
    () => extractSource("core/train", ["train#nope"]),
    /"train#nope" in src\/core\/train\.ts/,
  );
});

test("showSource names the listed file by its path under src/, folder included", () => {
  const { sent } = captureKernel(() => showSource("core/train", ["train#loop"]));
  assert.equal(sent.length, 1);
  const md = sent[0].msg.data["text/markdown"] as string;
  assert.match(md, /^From `src\/core\/train\.ts` \(train\(\): region "loop"\):\n\n```ts\nwhile /);
  assert.match(sent[0].msg.data["text/plain"] as string, /^\/\/ src\/core\/train\.ts: /);
});
