/**
 * The real tslab kernel, driven as a student at JupyterLab would (through jupyter_client, by
 * test/interactive/drive_kernel.py, with the project's private kernelspec from
 * scripts/run-notebooks.ts):
 *
 * A. Each cell after the setup cell alone: for every workbook notebook and every code cell after
 *    the first, Kernel → Restart, run the setup cell, run that one cell (quick settings, one
 *    weights cache shared by all cells). A cell passes if its status is ok and its stderr shows
 *    no "Error", "UncaughtException" or "UnhandledPromiseRejection".
 * B. Kernel → Interrupt during 02d's full-length training: the kernel survives and keeps the setup
 *    cell's variables, training stops within 3 s saying "interrupted at step N of M … re-run", no
 *    training summary appears for the interrupted run, a re-run resumes from step N and finishes,
 *    and the weights equal, bit for bit, those of an uninterrupted run in a separate process.
 *
 * Run one part alone:
 *   node --import tsx --test --test-name-pattern="^A" test/interactive.test.ts
 *   node --import tsx --test --test-name-pattern="^B" test/interactive.test.ts
 *
 * Needs a Python with jupyter_client (WORKBOOK_PYTHON, else /usr/bin/python3, else python3 on
 * PATH); without one each test is skipped with the reason, except in CI (CI=true), where it fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { listNotebooks, writeKernelSpec } from "../scripts/run-notebooks";

const ROOT = path.resolve(__dirname, "..");
const DRIVER = path.join(__dirname, "interactive", "drive_kernel.py");
const REFERENCE = path.join(__dirname, "interactive", "reference-train.ts");
const NOTEBOOKS = listNotebooks(path.join(ROOT, "notebooks"));

// The caption of showTrainingSummary's table (src/figures.ts): "Training run: <settings> (cache key <key>)".
const SUMMARY = /Training run\b[^\n]*\(cache key [0-9a-f]+\)/;
const INTERRUPTED = /interrupted at step (\d+) of (\d+)/;
const RESUMED = /resumed from step (\d+)/;

/** A Python that can import jupyter_client, or null. */
function findPython(): string | null {
  const candidates = process.env.WORKBOOK_PYTHON
    ? [process.env.WORKBOOK_PYTHON]
    : ["/usr/bin/python3", "python3"];
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import jupyter_client"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return null;
}
const PYTHON = findPython();
const NO_PYTHON = `no Python with jupyter_client (tried ${process.env.WORKBOOK_PYTHON ? `WORKBOOK_PYTHON=${process.env.WORKBOOK_PYTHON}` : "/usr/bin/python3, python3"}; apt-get install jupyter-client, or set WORKBOOK_PYTHON)`;

/** Skip with the reason, or fail in CI, when the kernel cannot be driven; throws if dist/ is missing. */
function canRun(t: { skip: (msg: string) => void }): boolean {
  if (!PYTHON) {
    if (process.env.CI === "true") assert.fail(`CI must run this test, but found ${NO_PYTHON}`);
    t.skip(`SKIPPED: ${NO_PYTHON}`);
    return false;
  }
  assert.ok(
    fs.existsSync(path.join(ROOT, "dist", "index.js")),
    "dist/ is not built (the notebooks import it): run `npx tsc -p tsconfig.json` first",
  );
  return true;
}

/** A fresh temporary folder, removed when the process exits. */
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Run the driver; resolve with its JSON result (and its progress lines, for messages). */
function drive(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ result: Record<string, any>; log: string; seconds: number }> {
  const work = tempDir("interactive-driver-");
  const out = path.join(work, "result.json");
  const fullEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k];
    else fullEnv[k] = v;
  }
  fullEnv.PATH = [path.join(ROOT, "node_modules", ".bin"), process.env.PATH]
    .filter(Boolean)
    .join(path.delimiter);
  fullEnv.JUPYTER_PATH = [writeKernelSpec(), process.env.JUPYTER_PATH]
    .filter(Boolean)
    .join(path.delimiter);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON!, [DRIVER, ...args, "--out", out, "--kernel-log", work], {
      cwd: ROOT,
      env: fullEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stop = () => child.kill("SIGTERM"); // the driver then shuts its kernels down
    process.on("exit", stop);
    let log = "";
    child.stdout.on("data", (d: Buffer) => (log += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (log += d.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      process.off("exit", stop);
      const seconds = (Date.now() - t0) / 1000;
      const kernelLogs = fs
        .readdirSync(work)
        .filter((f) => f.endsWith(".log"))
        .map((f) => `--- ${f}\n${fs.readFileSync(path.join(work, f), "utf8").slice(-2000)}`)
        .join("\n");
      if (code !== 0 || !fs.existsSync(out)) {
        reject(
          new Error(
            `drive_kernel.py ${args[0]} exited with ${code}:\n${tail(log, 40)}\n${kernelLogs}`,
          ),
        );
        return;
      }
      resolve({ result: JSON.parse(fs.readFileSync(out, "utf8")), log, seconds });
    });
  });
}

function tail(s: string, n: number): string {
  return s.trimEnd().split("\n").slice(-n).join("\n");
}

// --------------------------------------------------------------------------------------------

interface CellRun {
  notebook: string;
  cell: number;
  source: string;
  pid: number | null;
  restartWaitSeconds: number;
  restartSeconds: number;
  setupStatus: string;
  setupExecutionCount: number | null;
  setupSeconds: number;
  status: string;
  seconds: number;
  stderr: string;
  ok: boolean;
  message: string;
}

/** Run part A's driver over `notebooks`; check that each cell had a kernel of its own. */
async function runCellsAlone(notebooks: string[], env: Record<string, string | undefined>) {
  const { result, log, seconds } = await drive(["cells", ...notebooks, "--timeout", "300"], env);
  const cells = result.cells as CellRun[];
  // Honesty: each cell ran in a new kernel process whose first execution was the setup cell.
  const stale = cells.filter((c) => c.setupExecutionCount !== 1);
  assert.deepEqual(
    stale.map(
      (c) => `${c.notebook} cell ${c.cell}: setup ran as execution ${c.setupExecutionCount}`,
    ),
    [],
    `Expected the setup cell to be the first execution of a restarted kernel\n${tail(log, 20)}`,
  );
  const pids = cells.map((c) => c.pid);
  assert.equal(new Set(pids).size, pids.length, `Expected a new kernel process per cell: ${pids}`);
  return { cells, seconds, log };
}

const describeFailure = (c: CellRun) =>
  `${c.notebook} cell ${c.cell} (${c.source.slice(0, 60)}): ${c.message}`;

test(
  "A: each cell after the setup cell runs alone (Kernel → Restart, setup cell, that cell; quick settings)",
  { timeout: 30 * 60_000 },
  async (t) => {
    if (!canRun(t)) return;
    assert.ok(NOTEBOOKS.length > 0, "Expected workbook notebooks (notebooks/NN-*.ipynb)");
    const cache = tempDir("workbook-cache-A-"); // shared by all cells: trained once, then loaded
    const { cells, seconds } = await runCellsAlone(NOTEBOOKS, {
      WORKBOOK_QUICK: "1",
      WORKBOOK_CACHE_DIR: cache,
    });
    const failures = cells.filter((c) => !c.ok);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
    t.diagnostic(
      `A: ${cells.length} cells of ${NOTEBOOKS.length} notebooks in ${seconds.toFixed(0)} s; ` +
        `per cell: restart ${mean(cells.map((c) => c.restartSeconds)).toFixed(1)} s ` +
        `(waited ${mean(cells.map((c) => c.restartWaitSeconds)).toFixed(1)} s; it overlaps the previous cell), ` +
        `setup ${mean(cells.map((c) => c.setupSeconds)).toFixed(1)} s, cell ${mean(cells.map((c) => c.seconds)).toFixed(1)} s; ` +
        `${failures.length} failing`,
    );
    const expectedCells = NOTEBOOKS.reduce((n, nb) => {
      const code = (
        JSON.parse(fs.readFileSync(nb, "utf8")).cells as { cell_type: string }[]
      ).filter((c) => c.cell_type === "code").length;
      return n + Math.max(0, code - 1);
    }, 0);
    assert.equal(
      cells.length,
      expectedCells,
      "Expected one run per code cell after the setup cell",
    );
    assert.deepEqual(
      failures.map(describeFailure),
      [],
      `${failures.length} cell(s) fail when run alone after Kernel → Restart and the setup cell:\n` +
        failures.map((c) => `  ${describeFailure(c)}`).join("\n"),
    );
  },
);

test(
  "A (self-check): the driver flags failing cells and gives each cell a fresh kernel",
  { timeout: 5 * 60_000 },
  async (t) => {
    if (!canRun(t)) return;
    const dir = tempDir("interactive-selfcheck-");
    const sources = [
      "const base = 41;",
      "console.log(base + 1);",
      "const leaked = 1;\nconsole.log(leaked);",
      "console.log(leaked); // defined only by the previous cell: must fail when run alone",
      'void Promise.reject(new Error("late")); // status ok, logged as UnhandledPromiseRejection',
      'console.error("TypeError: reported on stderr only");',
      'throw new Error("boom");',
    ];
    const nb = path.join(dir, "99-selfcheck.ipynb");
    fs.writeFileSync(
      nb,
      JSON.stringify({
        cells: sources.map((source, i) => ({
          cell_type: "code",
          id: `c${i}`,
          metadata: {},
          source,
          outputs: [],
          execution_count: null,
        })),
        metadata: {
          kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
        },
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    const { cells } = await runCellsAlone([nb], {});
    assert.deepEqual(
      cells.map((c) => [c.cell, c.ok]),
      [
        [2, true],
        [3, true],
        [4, false],
        [5, false],
        [6, false],
        [7, false],
      ],
      cells.map((c) => `cell ${c.cell}: ${c.ok ? "ok" : c.message}`).join("\n"),
    );
    assert.match(cells[2].message, /leaked/);
    assert.match(cells[3].message, /UnhandledPromiseRejection/);
    assert.match(cells[5].message, /boom/);
  },
);

// --------------------------------------------------------------------------------------------

interface Output {
  t: number;
  type: string;
  text: string;
  parent?: string;
  beforeRerun?: boolean;
}

test(
  "B: Kernel → Interrupt during 02d's full-length training stops it, keeps the kernel, and a re-run resumes bit-identically",
  { timeout: 30 * 60_000 },
  async (t) => {
    if (!canRun(t)) return;
    const nb = NOTEBOOKS.find((f) => path.basename(f).startsWith("02d-"));
    assert.ok(nb, "Expected notebooks/02d-*.ipynb");
    const cache = tempDir("workbook-cache-B-"); // empty: the run trains from scratch
    // 02d's setup cell defines settings, cfg and retrain. (No shorthand `{ cfg }`: tslab does not
    // rewrite shorthand properties to its `exports.` variables, so `cfg` would be undefined there.)
    const probe =
      "console.log(JSON.stringify({ settings: typeof settings, quick: settings.quick, cfg: cfg, retrain: retrain }));";
    const {
      result: r,
      log,
      seconds,
    } = await drive(
      [
        "interrupt",
        nb,
        "--run-seconds",
        "5",
        "--window",
        "5",
        "--probe",
        probe,
        "--probe-timeout",
        "5",
      ],
      { WORKBOOK_QUICK: undefined, WORKBOOK_CACHE_DIR: cache },
    );
    const events = (r.events as { t: number; what: string }[])
      .map(
        (e) =>
          `  ${e.t.toFixed(2)} s ${e.what} ${JSON.stringify({ ...e, t: undefined, what: undefined })}`,
      )
      .join("\n");
    const context = `\nWhat happened (seconds since the kernel started):\n${events}`;
    assert.ok(!r.error, `The scenario could not run: ${r.error}${context}\n${tail(log, 20)}`);
    const [shownStep, steps] = r.progressBeforeInterrupt as [number, number];
    t.diagnostic(
      `B: interrupted after ${r.trainingSecondsBeforeInterrupt} s of training at step ~${shownStep} of ${steps}; driver ${seconds.toFixed(0)} s`,
    );
    const dead = r.aliveAfterInterrupt
      ? ""
      : `the kernel died at the interrupt (exit code ${r.exitCode}${r.exitCode === -2 ? ", killed by SIGINT" : ""})`;

    // Steps of the interrupted run, as the training cell said.
    const fromCell = (r.trainingCellOutputsAfterInterrupt as Output[]).filter(
      (o) => INTERRUPTED.test(o.text) && /re-run/.test(o.text),
    );
    const interruptedStep = fromCell.length ? Number(INTERRUPTED.exec(fromCell[0].text)![1]) : null;

    await t.test("(1) the kernel is alive and answers a new execute within 5 s", () => {
      assert.ok(
        r.aliveAfterInterrupt,
        `Expected the kernel alive after Kernel → Interrupt, but ${dead}${context}`,
      );
      assert.equal(
        r.probe?.status,
        "ok",
        `Expected the probe cell to run: ${JSON.stringify(r.probe)}`,
      );
      assert.ok(r.probe.seconds <= 5, `Expected an answer within 5 s, took ${r.probe.seconds} s`);
    });

    await t.test(
      '(2) within 3 s the training cell says "interrupted at step N of M" and "re-run"',
      () => {
        assert.ok(
          fromCell.length > 0,
          `Expected an output of the training cell with "interrupted at step N of M" and "re-run"` +
            (dead ? `, but ${dead}` : "") +
            `; its outputs after the interrupt:\n${(r.trainingCellOutputsAfterInterrupt as Output[]).map((o) => `  ${o.t} s ${o.type}: ${o.text.split("\n")[0]}`).join("\n")}${context}`,
        );
        const after = fromCell[0].t - r.interruptAt;
        t.diagnostic(
          `training cell, ${after.toFixed(2)} s after the interrupt: ${INTERRUPTED.exec(fromCell[0].text)![0]}`,
        );
        assert.ok(
          after <= 3,
          `Expected it within 3 s of the interrupt, but it came after ${after.toFixed(2)} s`,
        );
        const [, n, m] = INTERRUPTED.exec(fromCell[0].text)!.map(Number);
        assert.equal(
          m,
          steps,
          `Expected "of ${steps}" (the run's steps), got "${fromCell[0].text.split("\n")[0]}"`,
        );
        assert.ok(n > 0 && n < steps, `Expected 0 < N < ${steps}, got N=${n}`);
      },
    );

    const summaries = (r.outputsAfterInterrupt as Output[]).filter((o) => SUMMARY.test(o.text));
    await t.test("(3) no training summary is shown for the interrupted run", () => {
      const early = summaries.filter((o) => o.beforeRerun);
      assert.deepEqual(
        early.map((o) => `${o.t} s (${o.parent} cell): ${o.text.split("\n")[0]}`),
        [],
        "Expected no training summary between the interrupt and the re-run",
      );
      if (r.rerun) {
        // Positive control: the re-run shows exactly one summary, so the caption is still recognised.
        assert.equal(
          summaries.length,
          1,
          `Expected exactly one training summary after the interrupt (the re-run's), found ${summaries.length}:\n` +
            summaries
              .map((o) => `  ${o.t} s (${o.parent} cell): ${o.text.split("\n")[0]}`)
              .join("\n"),
        );
      } else
        t.diagnostic(
          `no re-run happened (${dead || "see (5)"}): only the absence before it was checked`,
        );
    });

    // The notebook's cache file (one configuration: one <key>.json).
    const cacheFiles = fs.readdirSync(cache).filter((f) => /^[0-9a-f]{16}\.json$/.test(f));

    await t.test("(4) the setup cell's variables are intact (settings, cfg, retrain)", () => {
      assert.ok(r.probe, `Not reached: ${dead}`);
      const v = r.probe.values as {
        settings: string;
        quick: boolean;
        cfg: any;
        retrain: boolean;
      } | null;
      assert.ok(v, `Expected the probe to print JSON, got ${JSON.stringify(r.probe)}`);
      assert.equal(v.settings, "object");
      assert.equal(v.quick, false, "Expected full settings (WORKBOOK_QUICK unset)");
      assert.equal(v.retrain, false);
      assert.equal(v.cfg?.steps, steps, "Expected cfg.steps to be the M of the progress bar");
      if (cacheFiles.length === 1) {
        const stored = JSON.parse(fs.readFileSync(path.join(cache, cacheFiles[0]), "utf8"));
        assert.deepEqual(
          v.cfg,
          stored.content.config,
          "Expected cfg to be the trained configuration",
        );
      }
    });

    await t.test(
      '(5) re-running the training cell resumes ("resumed from step N") and finishes',
      () => {
        assert.ok(r.rerun, `Not reached: ${dead}`);
        assert.equal(r.rerun.status, "ok", `Expected the re-run to succeed:\n${r.rerun.stderr}`);
        assert.doesNotMatch(r.rerun.stderr, /Error|UncaughtException|UnhandledPromiseRejection/);
        const texts = r.rerun.texts as string[];
        const resumed = texts.map((s) => RESUMED.exec(s)).find((m) => m);
        assert.ok(
          resumed,
          `Expected "resumed from step N" in the re-run's output:\n${texts.map((s) => `  ${s.split("\n")[0]}`).join("\n")}`,
        );
        const n = Number(resumed[1]);
        t.diagnostic(`re-run: resumed from step ${n}, finished in ${r.rerun.seconds.toFixed(0)} s`);
        assert.ok(n > 0, `Expected to resume from a step > 0, got ${n}`);
        assert.equal(
          n,
          interruptedStep,
          `Expected to resume at the step the interrupt reported (${interruptedStep})`,
        );
        assert.ok(
          texts.some((s) => s.includes(`step ${steps}/${steps}`)),
          `Expected the progress bar to reach step ${steps}/${steps}`,
        );
      },
    );

    await t.test("(6) the final weights are bit-identical to an uninterrupted run", async () => {
      assert.ok(r.rerun, `Not reached: ${dead}`);
      assert.equal(
        cacheFiles.length,
        1,
        `Expected one cache file in the cache folder, found ${cacheFiles}`,
      );
      const t0 = Date.now();
      const ref = spawnSync(
        process.execPath,
        ["--import", "tsx", REFERENCE, path.join(cache, cacheFiles[0])],
        {
          cwd: ROOT,
          encoding: "utf8",
          env: { ...process.env, WORKBOOK_QUICK: undefined },
          timeout: 20 * 60_000,
        },
      );
      assert.equal(ref.status, 0, `reference-train.ts failed:\n${ref.stderr}`);
      const cmp = JSON.parse(ref.stdout.trim().split("\n").pop()!);
      t.diagnostic(
        `reference: ${cmp.referenceSteps} steps on ${cmp.referenceEngine} in ${cmp.referenceSeconds.toFixed(0)} s ` +
          `(process ${((Date.now() - t0) / 1000).toFixed(0)} s); loss history mismatches: ${cmp.lossHistoryMismatches}`,
      );
      assert.equal(
        cmp.step,
        steps,
        `Expected the notebook's checkpoint to hold all ${steps} steps`,
      );
      assert.equal(cmp.referenceEngine, cmp.engine);
      assert.ok(cmp.floats > 0);
      assert.equal(
        cmp.mismatches,
        0,
        `Expected bit-identical weights; ${cmp.mismatches} of ${cmp.floats} floats differ, e.g. ${JSON.stringify(cmp.examples)}`,
      );
    });
  },
);

interface SettingsRun {
  notebook: string;
  cell: string;
  status: string;
  message: string;
  stdout: string;
  outputs: { type: string; text: string }[];
}

test(
  "C: a setting changed in notebooks/settings.json reaches 2d and 2e; re-running a cell adds nothing",
  { timeout: 10 * 60_000 },
  async (t) => {
    if (!canRun(t)) return;
    const nb = (name: string) => NOTEBOOKS.find((f) => path.basename(f).startsWith(name))!;
    const dir = tempDir("workbook-settings-C-");
    const settings = path.join(dir, "settings.json");
    fs.writeFileSync(settings, JSON.stringify({ train: { learningRate: 0.002, steps: 3000 } }));
    const { result } = await drive(["settings", nb("02d"), nb("02e"), "--timeout", "300"], {
      WORKBOOK_QUICK: "1",
      WORKBOOK_CACHE_DIR: path.join(dir, "cache"),
      WORKBOOK_SETTINGS: settings,
    });
    const runs = result.runs as SettingsRun[];
    assert.deepEqual(
      runs.filter((r) => r.message !== "").map((r) => `${r.notebook} ${r.cell}: ${r.message}`),
      [],
    );
    const [setup1, setup2, train1, train2, sampleSetup] = runs;
    const count = (r: SettingsRun, re: RegExp) => r.outputs.filter((o) => re.test(o.text)).length;
    // Running a cell twice shows its output once each time, never doubled.
    for (const r of [setup1, setup2]) assert.equal(count(r, /^Setup: /), 1, JSON.stringify(r));
    assert.equal(count(train1, /^Training run: /), 1, JSON.stringify(train1.outputs));
    assert.equal(count(train2, /^Training run: /), 1, JSON.stringify(train2.outputs));
    assert.equal(count(train2, /Loaded trained weights/), 1, "the re-run loads from the cache");
    // 2d trained the changed model, named as such; 2e samples that model (same cache key).
    const wanted =
      /the sheet's settings except steps = 3000 \(sheet: 100000\), learningRate = 0\.002 \(sheet: 0\.001\)/;
    const summary = train1.outputs.find((o) => /^Training run: /.test(o.text))!.text;
    assert.match(summary, wanted);
    const trainedKey = /cache key ([0-9a-f]{16})/.exec(summary)![1];
    assert.match(sampleSetup.stdout, wanted);
    assert.match(sampleSetup.stdout, new RegExp(`cache key ${trainedKey}`));
  },
);
