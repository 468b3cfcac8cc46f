"""Run a grid of configurations in parallel (local processes, or a Dask cluster), writing each
result as it finishes; a failing run is recorded and the others go on. Re-running the same study
folder skips the runs already finished (resumable)."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from tinyscope.errors import TinyscopeError
from tinyscope.study.grid import Run


def run_one(model: str, run: Run, out: str) -> dict:
    """Build, simulate and profile one configuration (in a worker process)."""
    from tinyscope.profile import run_profile, write_profile

    try:
        p = run_profile(model, run.config)
        write_profile(p, Path(out))
        s = p.summary()
        memcpy = next((f.share for f in p.functions if f.name == "memcpy"), 0.0)
        return {"name": run.name, "ok": True, "folder": out, "cycles": s["cycles"], "ms": s["ms"],
                "icache_miss_rate": s["icache"]["miss_rate"], "dcache_miss_rate": s["dcache"]["miss_rate"],
                "top_function": s["top_function"], "top_share": s["top_share"], "memcpy_share": memcpy,
                "argmax_equal": s["agreement"]["argmax_equal"], "config": asdict(run.config), "key": _key(run)}
    except TinyscopeError as exc:
        return {"name": run.name, "ok": False, "error": str(exc), "config": asdict(run.config), "key": _key(run)}
    except Exception as exc:  # a bug must not sink the other runs: record it with its traceback
        return {"name": run.name, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "config": asdict(run.config), "key": _key(run)}


def _key(run: Run) -> str:
    return json.dumps([run.name, asdict(run.config)], sort_keys=True)


def run_grid(model: str, runs: list[Run], out: Path, workers: int = 2, scheduler: str | None = None,
             on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """Results in grid order; ``results.jsonl`` in ``out`` grows as runs finish."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    done: dict[str, dict] = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            if r.get("ok"):
                done[r["key"]] = r
    todo = [(i, r) for i, r in enumerate(runs) if _key(r) not in done]
    results: dict[int, dict] = {i: done[_key(r)] for i, r in enumerate(runs) if _key(r) in done}
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
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futures = {client.submit(run_one, model, r, str(out / f"run{i + 1}"), pure=False): i for i, r in todo}
            for fut in dask_completed(futures):
                record(futures[fut], fut.result())
    elif todo:
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(run_one, model, r, str(out / f"run{i + 1}")): i for i, r in todo}
            for fut in as_completed(futures):
                record(futures[fut], fut.result())
    return [results[i] for i in range(len(runs))]
