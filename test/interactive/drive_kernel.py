"""Drive the real tslab kernel the way a student at JupyterLab does (helper of test/interactive.test.ts).

Two scenarios, each writing one JSON document to --out (progress lines go to stderr):

  cells NOTEBOOK...          "Each cell after the setup cell alone": for every code cell after the
                             first (the setup cell), take a kernel that was just restarted
                             (km.restart_kernel, as Kernel -> Restart does; or, for the first two
                             cells, just started), run the setup cell, run that one cell; record
                             status, stderr, the kernel's pid and the setup's execution_count.
  settings TRAIN SAMPLE      "A changed setting reaches every part, and re-running adds nothing": in
                             TRAIN's kernel run the setup cell twice and the training cell (the one
                             calling `trainCached(`) twice; then in SAMPLE's kernel run its setup cell.
                             Records each run's outputs (the caller sets WORKBOOK_SETTINGS).
  interrupt NOTEBOOK         "Interrupt during training": run the setup cell, run the cell that calls
                             `trainCached(`, Kernel -> Interrupt (km.interrupt_kernel) once the
                             progress display has shown steps for --run-seconds, then probe the
                             kernel, and re-run the training cell.

The kernel is the one named by --kernel (default "tslab"), found through JUPYTER_PATH (the caller
writes the project's kernelspec with scripts/run-notebooks.ts's writeKernelSpec), started in the
notebook's folder as Jupyter does. The environment (WORKBOOK_QUICK, WORKBOOK_CACHE_DIR) is inherited.

This script only observes and records; the Node test decides what passes.
tslab facts it relies on (see NOTES.md): no execute_result and no `error` message (an error is
status=error plus stderr); requests sent within ~200 ms after an error get status=abort; output
is attributed to the most recent execute request, so a display update may carry a later parent.
"""
import argparse
import json
import os
import queue
import re
import signal
import sys
import time

from jupyter_client import KernelManager

# A cell "fails" when its status is not ok, or its stderr shows an error tslab only logged.
STDERR_FAILURE = re.compile(r"Error|UncaughtException|UnhandledPromiseRejection")
STEP = re.compile(r"step (\d+)/(\d+)")
PAUSE_AFTER_ERROR = 0.5  # tslab aborts requests sent within 200 ms after an error


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def code_cells(nb_path):
    """[(position among all cells, 0-based), source] of the notebook's code cells."""
    with open(nb_path, encoding="utf-8") as f:
        nb = json.load(f)
    return [(i, cell_source(c)) for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]


def plain_text(msg):
    """The text a message shows: stream text, or the textual members of a bundle (text/plain first)."""
    c = msg["content"]
    if msg["msg_type"] == "stream":
        return c.get("text", "")
    data = c.get("data") or {}
    return "\n".join(data[m] for m in ("text/plain", "text/markdown", "text/html") if isinstance(data.get(m), str))


class Kernel:
    """One kernel (KernelManager + client) and a log of every iopub message it sent."""

    def __init__(self, kernel_name, cwd, log_file=None):
        self.km = KernelManager(kernel_name=kernel_name)
        self.cwd = cwd
        self.log_file = log_file
        self.t0 = time.time()
        self.messages = []  # iopub messages as {t, type, parent, name, state, display_id, text}
        self.kc = None

    def launch(self):
        """Start the kernel process in `cwd`, as Jupyter does for a notebook there; see `ready`."""
        kw = {"cwd": self.cwd}
        if self.log_file:
            # The kernel process's own stdout/stderr (not iopub): crash messages land here.
            self._log = open(self.log_file, "ab")
            kw.update(stdout=self._log, stderr=self._log)
        self.km.start_kernel(**kw)
        self.kc = self.km.client()
        self.kc.start_channels()

    def begin_restart(self):
        """Kernel -> Restart: a shutdown request, the old process gone, a new one started (see `ready`)."""
        self.km.restart_kernel(now=False)

    def pid(self):
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return None if proc is None else proc.pid

    def _drain(self):
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.001)
                except queue.Empty:
                    break

    def ready(self, timeout=120):
        """Wait until the (new) kernel answers a kernel_info request on shell AND its iopub status for
        that request arrives, so no output of the next cell is lost. (jupyter_client's wait_for_ready
        can be satisfied by a stale kernel_info_reply left over from before a restart.)"""
        deadline = time.time() + timeout
        self._drain()
        while time.time() < deadline:
            if not self.km.is_alive():
                raise RuntimeError(f"the kernel died while starting (exit code {self.exit_code()})")
            mid = self.kc.kernel_info()
            if self.shell_reply(mid, 1.0) is None:
                continue
            end = time.time() + 1.0
            while time.time() < end:
                try:
                    m = self.kc.get_iopub_msg(timeout=max(0.001, end - time.time()))
                except queue.Empty:
                    break
                if m.get("parent_header", {}).get("msg_id") == mid:
                    self._drain()  # the rest of this request's status messages
                    return
        raise RuntimeError(f"the kernel did not become ready within {timeout} s")

    def exit_code(self):
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return None if proc is None else proc.poll()

    def stop(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        finally:
            try:
                if self.km.has_kernel:
                    self.km.shutdown_kernel(now=True)
            except Exception as e:  # a dead kernel may refuse a clean shutdown
                log(f"shutdown: {e!r}")

    def now(self):
        return time.time() - self.t0

    def poll_iopub(self, timeout):
        """Record the next iopub message (or return None after `timeout` s)."""
        try:
            msg = self.kc.get_iopub_msg(timeout=max(0.001, timeout))
        except queue.Empty:
            return None
        c = msg["content"]
        rec = {
            "t": round(self.now(), 3),
            "type": msg["msg_type"],
            "parent": msg.get("parent_header", {}).get("msg_id"),
            "name": c.get("name"),
            "state": c.get("execution_state"),
            "display_id": (c.get("transient") or {}).get("display_id"),
            "text": plain_text(msg) if msg["msg_type"] in ("stream", "display_data", "update_display_data") else "",
        }
        self.messages.append(rec)
        return rec

    def shell_reply(self, msg_id, timeout):
        """The execute_reply to msg_id, or None on timeout (other shell replies are skipped)."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            try:
                r = self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                return None
            if r.get("parent_header", {}).get("msg_id") == msg_id:
                return r

    def execute(self, code, timeout, late=0.3):
        """Run `code` to its end: status, stdout, stderr, seconds. `late` s of output after idle are kept
        (tslab logs an unhandled rejection one tick after the reply)."""
        t = time.time()
        mid = self.kc.execute(code, store_history=True)
        status = None
        deadline = t + timeout
        idle_at = None
        while True:
            now = time.time()
            if idle_at is not None and now - idle_at >= late:
                break
            if now >= deadline:
                status = "timeout"
                break
            rec = self.poll_iopub(min(0.1, deadline - now))
            if rec and rec["parent"] == mid and rec["type"] == "status" and rec["state"] == "idle" and idle_at is None:
                idle_at = time.time()
        count = None
        if status is None:
            reply = self.shell_reply(mid, 10)
            status = reply["content"].get("status", "?") if reply else "no-reply"
            count = reply["content"].get("execution_count") if reply else None
        mine = [m for m in self.messages if m["parent"] == mid]
        return {
            "msg_id": mid,
            "status": status,
            "stdout": "".join(m["text"] for m in mine if m["type"] == "stream" and m["name"] == "stdout"),
            "stderr": "".join(m["text"] for m in mine if m["type"] == "stream" and m["name"] == "stderr"),
            "seconds": round(time.time() - t, 3),
            "execution_count": count,
        }


def first_line(s):
    for line in s.splitlines():
        if line.strip():
            return line.strip()
    return ""


def error_line(stderr):
    """The line of `stderr` that names the error (e.g. "Error: boom" after tslab's
    "evalmachine.<anonymous>:2" header), else its first line."""
    for line in stderr.splitlines():
        if re.search(r"(Error|Exception|Rejection)\b", line):
            return line.strip()
    return first_line(stderr)


def cell_failure(r):
    """None if the run `r` passed, else why it failed (the error's line of stderr when there is one)."""
    if r["status"] == "ok" and not STDERR_FAILURE.search(r["stderr"]):
        return None
    return error_line(r["stderr"]) or f"status {r['status']} with no message on stderr"


# ---------------------------------------------------------------- A: each cell after the setup cell alone


def run_cells(args):
    """Per cell: a kernel that was just (re)started, the setup cell, then that cell.

    Two kernels per folder take turns: while one runs a cell, the other is restarted (its new
    process starts in the background), so the wait for a restart mostly overlaps a cell. Setup
    cells and cells never run at the same time. Each cell's kernel is a new process (pid recorded)
    whose first execution is the setup cell (execution_count recorded).
    """
    t_all = time.time()
    results = []
    log_dir = args.kernel_log
    pool = {}  # folder -> [Kernel, Kernel]
    turn = 0
    try:
        for nb_path in args.notebooks:
            nb_path = os.path.abspath(nb_path)
            name = os.path.basename(nb_path)
            folder = os.path.dirname(nb_path)
            cells = code_cells(nb_path)
            if len(cells) < 2:
                log(f"{name}: no code cell after the setup cell")
                continue
            setup_src = cells[0][1]
            if folder not in pool:
                for kernels in pool.values():
                    for k in kernels:
                        k.stop()
                pool.clear()
                pool[folder] = []
                for i in range(2):
                    k = Kernel(args.kernel, folder, os.path.join(log_dir, f"kernel-{i}.log") if log_dir else None)
                    k.launch()
                    k.restarted_at = time.time()
                    pool[folder].append(k)
            for index, src in cells[1:]:
                kernel = pool[folder][turn % 2]
                turn += 1
                t = time.time()
                kernel.ready()
                waited = time.time() - t
                restart_latency = time.time() - kernel.restarted_at
                pid = kernel.pid()
                setup = kernel.execute(setup_src, args.timeout)
                entry = {
                    "notebook": name,
                    "cell": index + 1,  # 1-based among all cells, as JupyterLab counts them
                    "source": first_line(src),
                    "pid": pid,
                    "restartWaitSeconds": round(waited, 3),
                    "restartSeconds": round(restart_latency, 3),
                    "setupStatus": setup["status"],
                    "setupExecutionCount": setup["execution_count"],
                    "setupSeconds": setup["seconds"],
                }
                setup_failure = cell_failure(setup)
                if setup_failure:
                    time.sleep(PAUSE_AFTER_ERROR)
                r = kernel.execute(src, args.timeout)
                failure = cell_failure(r)
                if setup_failure:
                    failure = f"the setup cell failed first ({setup_failure}); then: {failure or 'the cell ran'}"
                entry.update(
                    status=r["status"],
                    seconds=r["seconds"],
                    stderr=r["stderr"][-4000:],
                    ok=failure is None,
                    message=failure or "",
                )
                results.append(entry)
                log(
                    f"  {name} cell {index + 1}: {'ok' if failure is None else 'FAILED: ' + failure} "
                    f"(waited {waited:.1f} s for the restart, setup {setup['seconds']:.1f} s, cell {r['seconds']:.1f} s)"
                )
                # Kernel -> Restart now; the other kernel runs the next cell meanwhile.
                t = time.time()
                kernel.begin_restart()
                kernel.restarted_at = t
    finally:
        for kernels in pool.values():
            for k in kernels:
                k.stop()
    return {
        "scenario": "cells",
        "seconds": round(time.time() - t_all, 3),
        "cells": results,
    }


# ---------------------------------------------------------------- B: interrupt during training


def progress_of(rec):
    """(step, steps) shown by a progress line, or None."""
    m = STEP.search(rec["text"] or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def run_interrupt(args):
    nb_path = os.path.abspath(args.notebooks[0])
    name = os.path.basename(nb_path)
    cells = code_cells(nb_path)
    setup_src = cells[0][1]
    train_cells = [(i, s) for i, s in cells[1:] if "trainCached(" in s]
    out = {"scenario": "interrupt", "notebook": name, "events": []}
    if not train_cells:
        out["error"] = f"{name} has no code cell after the setup cell that calls trainCached("
        return out
    train_index, train_src = train_cells[0]
    out["trainCell"] = train_index + 1
    log_file = os.path.join(args.kernel_log, "kernel.log") if args.kernel_log else None
    kernel = Kernel(args.kernel, os.path.dirname(nb_path), log_file=log_file)

    def event(what, **kw):
        kw.update(t=round(kernel.now(), 3), what=what)
        out["events"].append(kw)
        log(f"[{kw['t']:7.2f} s] {what} {json.dumps({k: v for k, v in kw.items() if k not in ('t', 'what')})}")

    t_all = time.time()
    try:
        kernel.launch()
        kernel.ready()
        event("kernel started")
        setup = kernel.execute(setup_src, args.timeout)
        out["setup"] = {k: setup[k] for k in ("status", "stderr", "seconds")}
        event("setup cell done", status=setup["status"])
        if cell_failure(setup):
            out["error"] = f"the setup cell failed: {cell_failure(setup)}"
            return out

        # Run the training cell and watch its progress display.
        train_id = kernel.kc.execute(train_src, store_history=True)
        t_sent = kernel.now()
        event("training cell sent", cell=train_index + 1)
        displays = set()  # display ids created by the training cell
        first_step_at = None
        last = None  # (step, steps) of the latest progress update
        interrupted_at = None
        deadline = time.time() + args.timeout
        train_status = None
        while time.time() < deadline:
            rec = kernel.poll_iopub(0.05)
            if rec is None:
                continue
            if rec["type"] == "display_data" and rec["parent"] == train_id and rec["display_id"]:
                displays.add(rec["display_id"])
            if rec["type"] in ("display_data", "update_display_data") and rec["display_id"] in displays:
                p = progress_of(rec)
                if p:
                    last = p
                    if p[0] > 0 and first_step_at is None:
                        first_step_at = rec["t"]
                        event("first step shown", step=p[0], steps=p[1])
            if rec["type"] == "status" and rec["parent"] == train_id and rec["state"] == "idle":
                train_status = "finished before the interrupt"
                break
            if first_step_at is not None and kernel.now() - first_step_at >= args.run_seconds:
                break
        out["progressBeforeInterrupt"] = last
        out["trainingSecondsBeforeInterrupt"] = (
            None if first_step_at is None else round(kernel.now() - first_step_at, 3)
        )
        if train_status or first_step_at is None:
            out["error"] = (
                f"the training cell {train_status}"
                if train_status
                else f"no progress step > 0 was shown within {args.timeout} s"
            )
            return out

        # Kernel -> Interrupt.
        if args.no_interrupt:
            event("NOT interrupting (--no-interrupt, a self-check of the test)")
        else:
            kernel.km.interrupt_kernel()
            event("interrupt sent", shownStep=last[0], steps=last[1])
        interrupted_at = kernel.now()
        out["interruptAt"] = round(interrupted_at, 3)
        idx_interrupt = len(kernel.messages)

        # Watch for up to `window` s: the training cell's reply and its "interrupted" line.
        train_reply = None
        end = time.time() + args.window
        while time.time() < end:
            kernel.poll_iopub(0.05)
            if train_reply is None:
                try:
                    r = kernel.kc.get_shell_msg(timeout=0.001)
                    if r.get("parent_header", {}).get("msg_id") == train_id:
                        train_reply = r["content"].get("status")
                        event("training cell replied", status=train_reply)
                except queue.Empty:
                    pass
        out["trainCellStatusAfterInterrupt"] = train_reply
        alive = kernel.km.is_alive()
        out["aliveAfterInterrupt"] = alive
        out["exitCode"] = kernel.exit_code()
        event("alive?", alive=alive, exitCode=out["exitCode"])

        # Probe: does the kernel answer, and does it still hold the setup cell's variables?
        if alive:
            time.sleep(PAUSE_AFTER_ERROR)
            probe = kernel.execute(args.probe, args.probe_timeout)
            out["probe"] = {k: probe[k] for k in ("status", "stdout", "stderr", "seconds")}
            event("probe done", status=probe["status"], seconds=probe["seconds"])
            try:
                out["probe"]["values"] = json.loads(first_line(probe["stdout"]) or "null")
            except ValueError:
                out["probe"]["values"] = None
        idx_rerun = len(kernel.messages)

        # Re-run the training cell: it should resume and finish.
        if alive and kernel.km.is_alive():
            if out.get("probe", {}).get("status") != "ok":
                time.sleep(PAUSE_AFTER_ERROR)
            rerun = kernel.execute(train_src, args.timeout)
            out["rerun"] = {k: rerun[k] for k in ("status", "stderr", "seconds", "msg_id")}
            event("re-run done", status=rerun["status"], seconds=rerun["seconds"])
            rerun_displays = {
                m["display_id"]
                for m in kernel.messages[idx_rerun:]
                if m["type"] == "display_data" and m["parent"] == rerun["msg_id"] and m["display_id"]
            }
            out["rerun"]["texts"] = [
                m["text"]
                for m in kernel.messages[idx_rerun:]
                if m["type"] in ("stream", "display_data", "update_display_data")
                and (m["parent"] == rerun["msg_id"] or m["display_id"] in rerun_displays)
            ]
        out["aliveAtEnd"] = kernel.km.is_alive()

        # What the training cell showed: output under its parent, and updates of its displays (any parent).
        def of_training_cell(m):
            return m["type"] in ("stream", "display_data", "update_display_data") and (
                m["parent"] == train_id or (m["type"] == "update_display_data" and m["display_id"] in displays)
            )

        out["trainingCellOutputsAfterInterrupt"] = [
            {"t": m["t"], "type": m["type"], "text": m["text"]}
            for m in kernel.messages[idx_interrupt:]
            if of_training_cell(m)
        ]
        # Every output after the interrupt, whatever its parent (tslab attributes orphaned output to the
        # latest request), so the test can look for a summary of the interrupted run anywhere.
        out["outputsAfterInterrupt"] = [
            {
                "t": m["t"],
                "type": m["type"],
                "parent": "training" if m["parent"] == train_id else "re-run" if m["parent"] == out.get("rerun", {}).get("msg_id") else "other",
                "beforeRerun": i < idx_rerun,
                "text": m["text"],
            }
            for i, m in enumerate(kernel.messages)
            if i >= idx_interrupt and m["type"] in ("stream", "display_data", "update_display_data")
        ]
        out["cacheDir"] = os.environ.get("WORKBOOK_CACHE_DIR")
        out["trainSentAt"] = round(t_sent, 3)
        return out
    finally:
        out["seconds"] = round(time.time() - t_all, 3)
        kernel.stop()


# ---------------------------------------------------------------- C: settings shared, re-runs


def run_settings(args):
    """02d's setup and training cells, each twice, in one kernel; then 02e's setup cell in another."""
    t_all = time.time()
    train_nb, sample_nb = (os.path.abspath(p) for p in args.notebooks)
    runs = []

    def outputs(kernel, r):
        mine = [m for m in kernel.messages if m["parent"] == r["msg_id"]]
        return [{"type": m["type"], "text": m["text"]} for m in mine if m["type"] in ("stream", "display_data")]

    for nb_path, plan in ((train_nb, ["setup", "setup", "train", "train"]), (sample_nb, ["setup"])):
        cells = code_cells(nb_path)
        train_src = next((src for _, src in cells if "trainCached(" in src), None)
        kernel = Kernel(args.kernel, os.path.dirname(nb_path))
        kernel.launch()
        try:
            kernel.ready()
            for what in plan:
                src = cells[0][1] if what == "setup" else train_src
                r = kernel.execute(src, args.timeout)
                failure = cell_failure(r)
                runs.append(
                    {
                        "notebook": os.path.basename(nb_path),
                        "cell": what,
                        "status": r["status"],
                        "message": failure or "",
                        "stdout": r["stdout"],
                        "outputs": outputs(kernel, r),
                    }
                )
                log(f"  {os.path.basename(nb_path)} {what}: {'ok' if failure is None else 'FAILED: ' + failure}")
                if failure:
                    time.sleep(PAUSE_AFTER_ERROR)
        finally:
            kernel.stop()
    return {"scenario": "settings", "seconds": round(time.time() - t_all, 3), "runs": runs}


def main():
    # Stopped from outside (a test's timeout): still shut the kernels down (the `finally` blocks).
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["cells", "interrupt", "settings"])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--out", required=True, help="where to write the JSON result")
    ap.add_argument("--kernel", default="tslab", help="kernelspec name (default tslab)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per cell (default 600)")
    ap.add_argument("--run-seconds", type=float, default=5, help="interrupt: training time before the interrupt")
    ap.add_argument("--window", type=float, default=5, help="interrupt: seconds to watch after the interrupt")
    ap.add_argument(
        "--probe",
        default="console.log(JSON.stringify({ settings: typeof settings }));",
        help="interrupt: code run after the interrupt; its first stdout line should be JSON",
    )
    ap.add_argument("--probe-timeout", type=float, default=5, help="interrupt: seconds the probe cell may take")
    ap.add_argument("--kernel-log", help="folder for the kernel processes' own stdout/stderr")
    ap.add_argument("--no-interrupt", action="store_true", help="interrupt: do not interrupt (self-check)")
    args = ap.parse_args()
    if args.scenario == "interrupt" and len(args.notebooks) != 1:
        ap.error("interrupt takes one notebook")
    if args.scenario == "settings" and len(args.notebooks) != 2:
        ap.error("settings takes two notebooks: the training one, then the sampling one")
    scenarios = {"cells": run_cells, "interrupt": run_interrupt, "settings": run_settings}
    result = scenarios[args.scenario](args)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
