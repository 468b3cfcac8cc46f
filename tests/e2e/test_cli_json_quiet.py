"""Every verb speaks to scripts: --json prints one JSON object, --quiet prints nothing on success."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.json_docs import check_analyze, check_profile_run

pytestmark = [pytest.mark.e2e, pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
M = "zoo:tiny-dscnn-int8"


def verbs(tmp):
    return {
        "analyze": ["analyze", M],
        "generate": ["generate", M, "-o", str(tmp / "gen")],
        "validate": ["validate", M, "-n", "2"],
        "build": ["build", M, "-o", str(tmp / "fw")],
        "run": ["run", M],
        "sim": ["sim", str(tmp / "fw" / "firmware.elf")],
        "profile": ["profile", M, "-o", str(tmp / "prof")],
        "report": ["report", str(tmp / "prof")],
    }


def _cli(args, tmp):
    env = {**os.environ, "TINYSCOPE_CACHE": str(tmp / "cache")}
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, cwd=tmp,
                          env=env, timeout=300)


def _check(name: str, d: dict, tmp) -> None:
    """What each verb's JSON must say, with the types and values a script relies on."""
    if name == "analyze":
        check_analyze(d)  # docs/analyze-json.md
        assert d["macc"] > 0 and d["params"] > 0 and d["activations_bytes"] > 0
        assert len({lay["c_id"] for lay in d["layers"]} - {-1}) == d["steps"]  # c_id -1: no kernel call
        assert d["ram_total_bytes"] >= d["activations_bytes"] + d["io_bytes"] - 16
    elif name == "generate":
        assert all((tmp / "gen" / f).exists() or os.path.exists(f) for f in d["files"]) and d["macc"] > 0
    elif name == "validate":
        assert d["samples"] == 2 and d["results"][0]["pair"] == "C vs reference" and d["results"][0]["passed"]
        assert d["results"][0]["max_abs"] == 0 and d["runtime_missing"]
    elif name == "build":
        assert d["target"] == "stm32h743" and all(v["used"] <= v["size"] for v in d["usage"].values())
        assert d["macc"] > 0 and len(d["sources_key"]) >= 16
    elif name == "run":
        assert d["status"] == 0 and d["cycles"] > 0 and d["max_abs"] == 0 and d["argmax_equal"] is True
        assert len(d["output"]) == len(d["reference"]) and d["cycles_per_macc"] > 0
    elif name == "sim":
        assert d["exit_code"] == 0 and d["cycles"] > 0 and d["instructions"] > 0 and "TS:END" in d["stdout"]
    elif name == "profile":
        check_profile_run(d)  # run.json, docs/profile-files.md
        assert json.loads((tmp / "prof" / "run.json").read_text()) == d
        assert d["cycles"] > 0 and d["agreement"]["argmax_equal"] is True and 0 < d["top_share"] <= 1
    elif name == "report":
        assert os.path.exists(d["report"])


def test_every_verb_has_json_and_quiet(tmp_path):
    for name, args in verbs(tmp_path).items():  # in order: sim reads build's ELF, report profile's folder
        r = _cli([*args, "--json"], tmp_path)
        assert r.returncode == 0, f"{name}: {r.stderr}"
        _check(name, json.loads(r.stdout), tmp_path)
        q = _cli([*args, "--quiet"], tmp_path)
        assert q.returncode == 0 and q.stdout == "", f"{name}: {q.stdout[:200]} {q.stderr}"
