"""Run a grid of configurations in parallel (local processes, or a Dask cluster), writing each
result as it finishes; a failing run is recorded and the others go on. Re-running the same study
folder skips the runs already finished (resumable)."""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from tinyscope.errors import InputError, TinyscopeError
from tinyscope.outputs import PROFILE_FILES, STUDY_FILES
from tinyscope.studies.grid import Run

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SCHEDULER_TIMEOUT_S = 5


def run_one(model: str, run: Run, out: str, timing_mode: str = "instr") -> dict:
    """Build, simulate and profile one configuration (in a worker process)."""
    from tinyscope.profile import run_profile, write_profile
    from tinyscope.report.html import write_html
    from tinyscope.studies.firmware import FirmwareConfig

    key = _key(run, timing_mode)
    try:
        firmware = isinstance(run.config, FirmwareConfig)
        if firmware:  # someone else's ELF, as it is, with forced caches
            from tinyscope.profile.elf import profile_elf

            c = run.config
            p = profile_elf(c.firmware, c.target, icache=c.icache, dcache=c.dcache, strict=c.strict,
                            timing_mode=timing_mode)
        else:
            p = run_profile(model, run.config, timing_mode=timing_mode)
        write_profile(p, Path(out), finish=lambda tmp: write_html(tmp, tmp / PROFILE_FILES["report"]))
        s = p.summary()
        # a firmware run has no model, so no reference to agree with; it ends with its own exit status
        exit_code = p.result.exit_code if firmware else 0
        argmax_equal = None if firmware else s["agreement"]["argmax_equal"]
        memcpy = next((f.share for f in p.functions if f.name == "memcpy"), 0.0)
        res = {"name": run.name, "ok": True, "folder": out, "cycles": s["cycles"], "ms": s["ms"],
               "icache_miss_rate": s["icache"]["miss_rate"], "dcache_miss_rate": s["dcache"]["miss_rate"],
               "top_function": s["top_function"], "top_share": s["top_share"], "memcpy_share": memcpy,
               "argmax_equal": argmax_equal, "config": asdict(run.config), "key": key}
        if exit_code != 0:
            return {**res, "ok": False, "error": f"the firmware exited with status {exit_code}"}
        return res
    except TinyscopeError as exc:
        return {"name": run.name, "ok": False, "error": str(exc), "config": asdict(run.config), "key": key}
    except Exception as exc:  # a bug must not sink the other runs: record it with its traceback
        return {"name": run.name, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "config": asdict(run.config), "key": key}


def _key(run: Run, timing_mode: str = "instr") -> str:
    """What a finished run is recognised by on resume; a firmware run also by its ELF's contents (a rebuilt
    ELF at the same path runs again)."""
    config = asdict(run.config)
    elf = config.get("firmware")
    if elf:
        try:
            config["sha256"] = hashlib.sha256(Path(elf).read_bytes()).hexdigest()
        except OSError:
            config["sha256"] = None
    return json.dumps([run.name, config, timing_mode], sort_keys=True)


def _die_with_parent() -> None:
    """Worker initializer: a worker must not outlive the study (a SIGKILLed parent runs no clean-up)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # Linux: the kernel kills us when the parent dies
    except (OSError, AttributeError):
        pass
    parent = os.getppid()

    def watch() -> None:  # elsewhere (and as a second guard): poll for re-parenting
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def read_log(log: Path) -> list[dict]:
    """The finished runs in ``results.jsonl``; a torn line (a study killed while writing) is skipped."""
    out = []
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if isinstance(r, dict) and isinstance(r.get("key"), str):
            out.append(r)
    return out


@contextmanager
def study_lock(out: Path) -> Iterator[None]:
    """One study per folder at a time (two would interleave results and overwrite runs)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        f = (out / ".lock").open("w")
    except OSError as exc:
        raise InputError(f"-o {out}: cannot write there ({exc.strerror or exc})") from exc
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(f"-o {out}: another study is running in this folder") from None
        yield


def _connect(scheduler: str):
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise InputError(f"--scheduler {scheduler}: cannot connect within {SCHEDULER_TIMEOUT_S} s "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else 'no answer'})"
                         ) from None


def run_grid(model: str, runs: list[Run], out: Path, workers: int = 2, scheduler: str | None = None,
             on_result: Callable[[dict], None] | None = None, timing_mode: str = "instr") -> list[dict]:
    """Results in grid order; ``results.jsonl`` in ``out`` grows as runs finish."""
    with study_lock(out):
        return _run_grid(model, runs, out, workers, scheduler, on_result, timing_mode)


def _run_grid(model: str, runs: list[Run], out: Path, workers: int, scheduler: str | None,
              on_result: Callable[[dict], None] | None, timing_mode: str) -> list[dict]:
    log = out / STUDY_FILES["log"]
    done = {r["key"]: r for r in read_log(log) if r.get("ok")}
    if log.exists() and not log.read_bytes().endswith(b"\n") and log.stat().st_size:
        with log.open("a") as f:
            f.write("\n")  # end a torn last line so the next record starts on its own
    keys = [_key(r, timing_mode) for r in runs]
    todo = [(i, r) for i, r in enumerate(runs) if keys[i] not in done]
    results: dict[int, dict] = {i: done[keys[i]] for i in range(len(runs)) if keys[i] in done}
    for r in results.values():
        if on_result:
            on_result(r)

    def record(i: int, res: dict) -> None:
        results[i] = res
        with log.open("a") as f:
            f.write(json.dumps(res) + "\n")
        if on_result:
            on_result(res)

    if scheduler:
        from dask.distributed import as_completed as dask_completed

        with _connect(scheduler) as client:
            futures = {client.submit(run_one, model, r, str(out / f"run{i + 1}"), timing_mode,
                                     pure=False): i for i, r in todo}
            for fut in dask_completed(futures):
                record(futures[fut], fut.result())
    elif todo:
        with ProcessPoolExecutor(max_workers=max(1, workers), initializer=_die_with_parent) as pool:
            futures = {pool.submit(run_one, model, r, str(out / f"run{i + 1}"), timing_mode): i for i, r in todo}
            for fut in as_completed(futures):
                record(futures[fut], fut.result())
    return [results[i] for i in range(len(runs))]
