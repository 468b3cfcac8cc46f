"""Run many tinyscope CLI invocations in one process: ``python -m tests.fuzz.driver JOBS RESULTS``.

Each job is one ``tinyscope.cli.main(argv)`` call, the very function the ``tinyscope`` command
runs, with stdout and stderr captured and a per-job alarm. One JSON line per job is appended to
RESULTS as soon as it finishes, so if a job kills the process (a segfault, the address-space
limit) the parent knows which one it was and restarts the driver on the rest.

Spawning one Python (numpy, onnx, h5py imports) per mutant would cost about 0.3 s each; this way
hundreds of mutants share one start-up.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path


class JobTimeout(BaseException):
    """Not an Exception: nothing in tinyscope may catch it and turn it into an error message."""


def _alarm(signum, frame):
    raise JobTimeout


def _selftest(kind: str) -> int:
    """Misbehaviour on purpose, so the tier can prove its limits work (tests/fuzz/test_fuzz.py)."""
    if kind == "allocate 8 GB":
        import numpy as np

        return int(np.ones(2**30, np.float64).sum())
    if kind == "hang":
        while True:
            time.sleep(0.01)
    if kind == "segfault":
        import ctypes

        ctypes.string_at(0)
    raise ValueError(kind)


def run_job(cli_main, job: dict) -> dict:
    out_dir = Path(job["out"]) if job.get("out") else None
    err, std = io.StringIO(), io.StringIO()
    code, outcome, tb = None, "exit", ""
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, float(job.get("timeout", 30)))
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            code = _selftest(job["selftest"]) if job.get("selftest") else cli_main(job["argv"])
    except JobTimeout:
        outcome = "timeout"
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # what the real command would show as a traceback
        outcome = "traceback"
        tb = traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    result = {
        "id": job["id"], "verb": job["argv"][0], "code": code, "outcome": outcome,
        "stderr": err.getvalue()[-2000:], "traceback": tb[-4000:],
        "seconds": round(time.monotonic() - t0, 3),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # of this process so far
        "out_exists": out_dir.exists() if out_dir is not None else None,
    }
    if out_dir is not None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return result


def main(argv: list[str]) -> int:
    jobs = json.loads(Path(argv[0]).read_text())
    from tinyscope.cli import main as cli_main  # imported once for all jobs

    with open(argv[1], "a", encoding="utf-8") as results:
        for job in jobs:
            results.write(json.dumps(run_job(cli_main, job)) + "\n")
            results.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
