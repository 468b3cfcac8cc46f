"""ONNX exports as a user meets them (PyTorch CNN with a dynamic batch and view-flatten, BatchNorm1d after
Linear, CNTK-style MNIST), through the CLI: validate against onnxruntime, run on the simulated H743, profile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
DATA = Path(__file__).resolve().parent.parent / "data" / "onnx"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINYSCOPE_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, timeout=900,
                          cwd=cwd, env=env)


@pytest.mark.parametrize("name", ["torch_cnn", "torch_mlp_bn1d", "cntk_mnist"])
def test_validate_and_run(name, tmp_path):
    model = str(DATA / f"{name}.onnx")
    r = _cli("validate", model, "-n", "4", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["runtime"] == "onnxruntime" and all(p["passed"] for p in doc["results"])
    assert {p["pair"] for p in doc["results"]} == {"C vs reference", "C vs onnxruntime"}
    r = _cli("run", model, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    run = json.loads(r.stdout)
    assert run["cycles"] > 0 and run["argmax_equal"] is True and run["l2r"] < 1e-5


def test_profile_of_the_pytorch_cnn(tmp_path):
    r = _cli("profile", str(DATA / "torch_cnn.onnx"), "-o", str(tmp_path / "p"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "CONV_2D+MAX_POOL_2D" in r.stdout and "FULLY_CONNECTED" in r.stdout
    assert (tmp_path / "p" / "report.html").is_file()
