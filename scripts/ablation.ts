/**
 * The full-length ablation of the training choices (notebook 06 shows its table when present):
 * every variant of `ablationVariants()` (the sheet, each choice alone, `recipes.best`) trained for
 * 100 000 steps per seed and measured on 5000 samples, then written to
 * `build/ablation/results.json`.
 *
 *   npm run ablation -- [--seeds 0,1] [--steps N] [--samples N] [--only a,b] [--out FILE]
 *
 * Trainings and measured runs go through the notebooks' cache (WORKBOOK_CACHE_DIR), so an
 * interrupted run (Ctrl-C) continues where it stopped, and a second run only rewrites the file.
 */
import * as path from "path";
import { selectBackend } from "../src/engines/backend";
import {
  AblationStudyConfig,
  defaultAblationResultsFile,
  defaultAblationStudyConfig,
  runAblationStudy,
  summariseAblation,
  validateAblationStudyConfig,
  writeAblationResults,
} from "../src/notebook/ablation-study";
import { Interrupted } from "../src/notebook/interrupt";

/** The command line: the full-length sizes with any overrides. */
function parseArgs(argv: string[]): { cfg: AblationStudyConfig; out: string } {
  const cfg: AblationStudyConfig = defaultAblationStudyConfig("full");
  let out = defaultAblationResultsFile();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`Expected a value after ${flag}`);
      return v;
    };
    if (flag === "--seeds") cfg.seeds = value().split(",").map(Number);
    else if (flag === "--steps") cfg.steps = Number(value());
    else if (flag === "--samples") cfg.nSamples = Number(value());
    else if (flag === "--only") cfg.variants = value().split(",");
    else if (flag === "--out") out = path.resolve(value());
    else
      throw new RangeError(
        `Unknown option ${flag}; options: --seeds, --steps, --samples, --only, --out`,
      );
  }
  return { cfg: validateAblationStudyConfig(cfg), out };
}

async function main(): Promise<void> {
  const { cfg, out } = parseArgs(process.argv.slice(2));
  await selectBackend();
  console.log(
    `Ablation: ${cfg.steps} steps × seeds ${cfg.seeds.join(",")}, ${cfg.nSamples} samples, ` +
      `EM ${cfg.samplerSteps} steps`,
  );
  const r = await runAblationStudy(cfg, {
    progress: false,
    onRun: (run, done, total, fromCache) =>
      console.log(
        `[${done}/${total}] ${run.variant} seed ${run.seed}: on arc ` +
          `${(100 * (run.outer + run.inner)).toFixed(1)} %, ED ${run.ed.toFixed(5)}, trained in ` +
          `${run.trainSeconds.toFixed(1)} s${fromCache ? " (cached)" : ""}`,
      ),
  });
  writeAblationResults(out, r);
  console.log(`Summary: ${summariseAblation(r).line}`);
  console.log(`Wrote ${out}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof Interrupted ? 130 : 1);
});
