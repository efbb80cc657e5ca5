/**
 * A progress bar for long loops (training, sampling): one notebook output updated in
 * place (`update_display_data`), as HTML plus a text/plain line; outside a kernel, a line
 * on stderr every few seconds. Accepts `train()`'s `onProgress` payload directly.
 */
import { DisplayHandle, inKernel } from "./display";

/** Progress payload, as sent by `train()` (loss etc. optional for other loops). */
export interface ProgressInfo {
  /** Steps done so far, 0..steps. */
  step: number;
  /** Total number of steps. */
  steps: number;
  /** Current (or recent mean) loss, if the loop has one. */
  loss?: number;
  /** What `loss` is, shown before it (default "loss"), e.g. "mean loss of the last 1000 steps". */
  lossLabel?: string;
  /** Measured speed; estimated from wall time when absent. */
  stepsPerSec?: number;
  /** Estimated seconds left; estimated from the speed when absent. */
  etaSec?: number;
}

/** Options for `ProgressBar`. */
export interface ProgressOptions {
  /** Label shown before the bar (default "training"). */
  label?: string;
  /** Minimum time between redraws: default 250 ms in a notebook, 5000 ms in a terminal. */
  throttleMs?: number;
  /** Clock in ms (tests inject a fake one). Default `Date.now`. */
  now?: () => number;
  /** Where terminal lines go (default: process.stderr). */
  write?: (line: string) => void;
}

/** "1h 02m", "4m 05s", "12s". */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return "?";
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(r).padStart(2, "0")}s`;
  return `${r}s`;
}

function fmtLoss(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Progress bar. Pass `bar.update` as a callback (it is bound):
 * `await train(cfg, { onProgress: bar.update })`, then `bar.done()`.
 */
export class ProgressBar {
  private readonly label: string;
  private readonly throttleMs: number;
  private readonly now: () => number;
  private readonly write: (line: string) => void;
  private readonly kernel: boolean;
  private readonly handle: DisplayHandle | null;
  private readonly start: number;
  private last = -Infinity;
  private latest: ProgressInfo | null = null;
  private firstStep: number | null = null;
  private lastRendered: ProgressInfo | null = null;
  /** Number of redraws so far (for tests). */
  renders = 0;

  constructor(options: ProgressOptions = {}) {
    this.label = options.label ?? "training";
    this.kernel = inKernel();
    this.throttleMs = options.throttleMs ?? (this.kernel ? 250 : 5000);
    if (!(this.throttleMs >= 0))
      throw new Error(`Expected throttleMs >= 0, but got ${options.throttleMs}`);
    this.now = options.now ?? Date.now;
    this.write = options.write ?? ((line) => process.stderr.write(line + "\n"));
    this.handle = this.kernel ? new DisplayHandle() : null;
    this.start = this.now();
  }

  /** Record progress; redraws at most once per `throttleMs`, and always at the last step. */
  readonly update = (p: ProgressInfo): void => {
    if (!(p.steps > 0) || !(p.step >= 0)) {
      throw new Error(
        `Expected progress with steps > 0 and step >= 0, but got step=${p.step}, steps=${p.steps}`,
      );
    }
    if (this.firstStep === null) this.firstStep = p.step;
    this.latest = p;
    const t = this.now();
    if (t - this.last >= this.throttleMs || p.step >= p.steps) {
      this.last = t;
      this.render(p, false);
    }
  };

  /** Final redraw (unthrottled); `note` is appended, e.g. "loaded from cache" or "aborted". */
  done(note?: string): void {
    const p = this.latest ?? { step: 0, steps: 1 };
    // A terminal already shows the last step's line; repeat it only to add something.
    if (!this.handle && !note && this.lastRendered === p && p.step >= p.steps) return;
    this.render(p, true, note);
  }

  /** The text line for `p` (also used as text/plain). */
  textLine(p: ProgressInfo, final = false, note?: string): string {
    const { frac, details } = this.describe(p, final, note);
    const width = 24;
    const full = Math.round(frac * width);
    const bar = "█".repeat(full) + "░".repeat(width - full);
    const head = `${this.label} ${bar} ${(100 * frac).toFixed(0).padStart(3)}%`;
    return [head, ...details].join(" | ");
  }

  /** Fraction done and the line's fields after the bar: step, loss, speed, time, note. */
  private describe(
    p: ProgressInfo,
    final: boolean,
    note?: string,
  ): { frac: number; details: string[] } {
    const frac = Math.min(1, Math.max(0, p.step / p.steps));
    const elapsed = (this.now() - this.start) / 1000;
    const speed = p.stepsPerSec ?? (elapsed > 0 ? (p.step - (this.firstStep ?? 0)) / elapsed : NaN);
    const eta = p.etaSec ?? (speed > 0 ? (p.steps - p.step) / speed : NaN);
    const details = [`step ${p.step}/${p.steps}`];
    if (p.loss !== undefined) details.push(`${p.lossLabel ?? "loss"} ${fmtLoss(p.loss)}`);
    if (Number.isFinite(speed) && speed > 0)
      details.push(`${speed.toFixed(speed < 10 ? 1 : 0)} steps/s`);
    details.push(final ? `${formatDuration(elapsed)} total` : `${formatDuration(eta)} left`);
    if (note) details.push(note);
    return { frac, details };
  }

  private render(p: ProgressInfo, final: boolean, note?: string): void {
    this.renders += 1;
    this.lastRendered = p;
    const text = this.textLine(p, final, note);
    if (this.handle) {
      // The text line's fields, with the bar drawn as a box.
      const { frac, details } = this.describe(p, final, note);
      const pct = (100 * frac).toFixed(1);
      const html =
        `<div style="font-family: monospace; font-size: 12px">${escapeHtml(this.label)} ` +
        `<div style="width: 240px; height: 10px; background-color: #e0e0e0; display: ` +
        `inline-block; vertical-align: middle">` +
        `<div style="width: ${pct}%; height: 10px; background-color: #4c78a8"></div></div> ` +
        `${(100 * frac).toFixed(0)}% | ${escapeHtml(details.join(" | "))}</div>`;
      this.handle.update({ "text/html": html, "text/plain": text });
    } else {
      this.write(text);
    }
  }
}

/** Shorthand: `const bar = progressBar("training")`. */
export function progressBar(
  label = "training",
  options: Omit<ProgressOptions, "label"> = {},
): ProgressBar {
  return new ProgressBar({ ...options, label });
}
