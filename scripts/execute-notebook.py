"""Execute one notebook through a real Jupyter kernel, cell by cell (helper of run-notebooks.ts).

This is what `jupyter nbconvert --to notebook --execute` does (nbclient, the same library),
with two differences the workbook needs:
  * one JSON line per cell on stdout ({"event": "start"|"done"|"error", ...}) for progress;
  * on a failing cell the executed notebook is still written, with that cell's stderr,
    because tslab reports errors only as status=error plus stderr (no `error` message),
    and nbconvert would then exit with "<Error>:" and no output file.

Usage: python3 execute-notebook.py IN.ipynb OUT.ipynb KERNEL_NAME TIMEOUT_SECONDS
The kernel starts in IN's folder (as in Jupyter). Exit status 0 = all cells ok, 1 = a cell
failed (the last JSON line says which), 2 = usage or kernel start-up problem.
"""
import json
import queue
import os
import re
import sys
import time
import warnings

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import run_sync


# tslab only logs these (status stays ok); the workbook treats them as a failed cell.
UNCAUGHT = re.compile(r"(^|\n)(UncaughtException|UnhandledPromiseRejection):")


def uncaught(cell):
    return any(
        o.get("output_type") == "stream" and o.get("name") == "stderr" and UNCAUGHT.search(o.get("text", ""))
        for o in cell.get("outputs", [])
    )


def drain_late_output(client, cell, index, seconds=0.15):
    """Collect output that arrives just after a cell finished into that cell.

    tslab logs an unhandled promise rejection one tick after the cell's reply; nbclient would
    drop that message (its parent is no longer the running cell), hiding the failure.
    """
    get = run_sync(client.kc.iopub_channel.get_msg)
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            msg = get(timeout=max(0.01, deadline - time.time()))
        except queue.Empty:
            break
        if msg["msg_type"] in ("stream", "display_data", "update_display_data"):
            try:
                client.process_message(msg, cell, index)
            except CellExecutionComplete:
                pass


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    src, dst, kernel_name, timeout = argv[1], argv[2], argv[3], float(argv[4])
    warnings.filterwarnings("ignore", module="nbformat")  # e.g. cells without ids (nbformat < 4.5 files)
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=None if timeout <= 0 else timeout,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}},
    )
    failed = None
    count = 0
    with client.setup_kernel():
        info = client.wait_for_reply(client.kc.kernel_info())
        if info and "language_info" in info["content"]:
            client.nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            emit(event="start", cell=index)
            t0 = time.time()
            try:
                # tslab sends no execute_input, so nbclient would leave execution_count null.
                count += 1
                client.execute_cell(cell, index, execution_count=count)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                failed = index
                emit(event="error", cell=index, seconds=time.time() - t0, kind=type(e).__name__, detail=str(e)[-2000:])
                break
            drain_late_output(client, cell, index)
            if uncaught(cell):
                failed = index
                emit(event="error", cell=index, seconds=time.time() - t0, kind="Uncaught", detail="")
                break
            emit(event="done", cell=index, seconds=time.time() - t0)
    nbformat.write(nb, dst)
    return 1 if failed is not None else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
