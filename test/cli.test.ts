/**
 * scripts/train-and-sample.ts refuses bad arguments before any training starts: one line on
 * stderr naming the value and the way out, a non-zero exit, nothing printed about training.
 * Each case runs the script in a child process with a throw-away cache and output folder; a
 * regression that lets training start is cut off by the spawn timeout and fails the test.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "train-and-sample.ts");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "train-and-sample-cli-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** Run the CLI; a cheap run (1 step, 10 samples) in a temporary folder unless `args` override it. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", SCRIPT, "--out", path.join(TMP, "out"), ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000, // today's faults take up to a few seconds to show; a hang is cut off here
      env: { ...process.env, WORKBOOK_CACHE_DIR: path.join(TMP, "cache") },
    },
  );
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** A refusal: exit status 1, exactly one line on stderr matching every pattern, no training. */
function assertRefused(r: ReturnType<typeof cli>, ...patterns: RegExp[]): void {
  const lines = r.stderr.trim().split("\n");
  assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  for (const p of patterns) assert.match(lines[0], p);
  assert.doesNotMatch(r.stdout, /Train|Sampl|Loaded/, "nothing may start before the refusal");
}

test("--steps above the limit is refused before training, naming the limit", () => {
  const r = cli("--steps", "1e12");
  assertRefused(r, /--steps/, /1e\+?12|1000000000000/, /10 ?000 ?000/);
  assert.doesNotMatch(r.stderr, /Invalid typed array length/);
  assertRefused(cli("--steps=10000001"), /--steps/, /10 ?000 ?000/);
  assertRefused(cli("--steps", "2.5"), /--steps/, /2\.5/);
});

test("--samples and --sampler-steps above the limit are refused before training", () => {
  assertRefused(cli("--samples", "1e12"), /--samples/, /10 ?000 ?000/);
  assertRefused(cli("--sampler-steps", "1e12"), /--sampler-steps/, /10 ?000 ?000/);
});

test("an unknown --engine is refused before training, listing the known ones", () => {
  const r = cli("--engine", "gpu", "--steps", "1", "--samples", "10", "--sampler-steps", "1");
  assertRefused(r, /--engine/, /"gpu"/, /auto/, /wasm-simd/, /tfjs/);
});

test("--out under a regular file is refused before training, naming the path and the reason", () => {
  const file = path.join(TMP, "a-file");
  fs.writeFileSync(file, "");
  const out = path.join(file, "sub");
  const r = cli("--out", out, "--steps", "1", "--samples", "10", "--sampler-steps", "1");
  assertRefused(
    r,
    /--out/,
    new RegExp(out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
    /ENOTDIR|not a directory/,
  );
  const r2 = cli("--out", file, "--steps", "1", "--samples", "10", "--sampler-steps", "1");
  assertRefused(r2, /--out/, /not a directory/);
});

test("--out in a folder that cannot hold files is refused at once, not after sampling", (t) => {
  // /proc refuses new entries (ENOENT) without being read-only; Node's recursive mkdir loops on it.
  if (process.platform !== "linux" || !fs.existsSync("/proc/self")) {
    t.skip("SKIPPED: needs Linux /proc, which refuses new entries");
    return;
  }
  const t0 = Date.now();
  const r = cli("--out", "/proc/nope", "--steps", "1", "--samples", "10", "--sampler-steps", "1");
  assertRefused(r, /--out/, /\/proc\/nope/, /ENOENT|no such file/);
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
});

test("--seed -1 says a non-negative integer is expected (0 is allowed)", () => {
  const r = cli("--seed", "-1");
  assertRefused(r, /--seed/, /non-negative integer/, /-1/);
  assert.doesNotMatch(r.stderr, /positive integer/);
});

test("a missing value and an unknown option are refused, pointing at --help", () => {
  assertRefused(cli("--steps"), /--steps/, /value/);
  assertRefused(cli("--bogus"), /--bogus/, /--help/);
});

test("--help and -h print the usage on stdout and exit 0", () => {
  for (const flag of ["--help", "-h"]) {
    const r = cli(flag);
    assert.equal(r.status, 0, `${flag}: exit status (stderr: ${r.stderr})`);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^Usage: npm run train-and-sample -- /);
    for (const option of [
      "--steps",
      "--samples",
      "--sampler-steps",
      "--sampler",
      "--nfe",
      "--seed",
      "--engine",
      "--out",
      "--force",
      "--help",
    ])
      assert.match(r.stdout, new RegExp(`${option}\\b`), `${flag}: usage mentions ${option}`);
  }
});

test("Ctrl-C stops training at a step, saves the checkpoint and says how to resume (exit 130)", async () => {
  const { spawn } = await import("child_process");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", SCRIPT, "--out", path.join(TMP, "out-int"), "--steps", "2000000"],
    { cwd: ROOT, env: { ...process.env, WORKBOOK_CACHE_DIR: path.join(TMP, "cache-int") } },
  );
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (/^Training /m.test(stdout) && !child.killed) setTimeout(() => child.kill("SIGINT"), 3000);
  });
  const status = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(status, 130, stdout);
  assert.match(
    stdout,
    /Training interrupted at step [1-9]\d* of 2000000; checkpoint saved; re-run to resume\. .*run the same command to resume/,
  );
  assert.doesNotMatch(stdout, /Sampled/);
});

test("--sampler and --nfe: a bad name names the nearest, a bad budget is refused, both forms run", () => {
  assertRefused(cli("--sampler", "dpmpp2m-sdee", "--steps", "1"), /--sampler/, /dpmpp2m-sde/);
  assertRefused(cli("--nfe", "0"), /--nfe/, /positive integer/);
  assertRefused(cli("--sampler-steps", "10", "--nfe", "10"), /--sampler-steps/, /--nfe/);
  const r = cli("--steps", "1", "--samples", "10", "--sampler", "dpmpp2m-sde", "--nfe", "20");
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /Sampled 10 points with SDE-DPM-Solver\+\+\(2M\) \(20 score evaluations\)/,
  );
  const summary = JSON.parse(fs.readFileSync(path.join(TMP, "out", "summary.json"), "utf8"));
  assert.equal(summary.sampler, "dpmpp2m-sde");
  assert.equal(summary.nfe, 20);
  assert.equal(summary.samplerSteps, undefined);
  // the sheet's default keeps its summary: Euler–Maruyama steps, no sampler name
  const sheet = cli("--steps", "1", "--samples", "10", "--sampler-steps", "5");
  assert.equal(sheet.status, 0, sheet.stderr);
  const s2 = JSON.parse(fs.readFileSync(path.join(TMP, "out", "summary.json"), "utf8"));
  assert.equal(s2.samplerSteps, 5);
  assert.equal(s2.sampler, undefined);
});
