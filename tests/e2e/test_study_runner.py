"""The study runner: a failing run is recorded, finished runs are skipped on a re-run, and the same
grid runs on a Dask cluster when given a scheduler address."""

from __future__ import annotations

import shutil

import pytest

from tinyscope.firmware.config import BuildConfig
from tinyscope.studies.grid import Run
from tinyscope.studies.runner import run_grid

pytestmark = [pytest.mark.e2e, pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


def test_failures_are_recorded_and_finished_runs_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYSCOPE_CACHE", str(tmp_path / "cache"))
    runs = [Run("ok", BuildConfig()), Run("bad", BuildConfig(place={"weights": "nowhere"}))]
    first = run_grid("zoo:tiny-dscnn", runs, tmp_path / "s", workers=2)
    assert first[0]["ok"] and not first[1]["ok"] and "nowhere" in first[1]["error"]
    lines = (tmp_path / "s" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2
    again = run_grid("zoo:tiny-dscnn", runs, tmp_path / "s", workers=2)
    assert again[0] == first[0]  # taken from results.jsonl, not run again
    assert len((tmp_path / "s" / "results.jsonl").read_text().splitlines()) == 3  # only the failed one re-ran


def test_runs_on_a_dask_cluster(tmp_path, monkeypatch):
    from dask.distributed import LocalCluster

    monkeypatch.setenv("TINYSCOPE_CACHE", str(tmp_path / "cache"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        res = run_grid("zoo:tiny-dscnn", [Run("dask", BuildConfig())], tmp_path / "d",
                       scheduler=cluster.scheduler_address)
    assert res[0]["ok"] and res[0]["cycles"] > 0
