"""`tinyscope analyze` end to end: the study's figures in text and JSON, on every shared model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.json_docs import check_analyze

from ..conftest import SHARED_MODELS, shared_model

pytestmark = pytest.mark.e2e


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("model", ["zoo:mnist-cnn", "mnist_cnn.h5"])
def test_study_model_figures(model, tmp_path):
    path = model if model.startswith("zoo:") else str(shared_model(model))
    r = _run("analyze", path, "--json", "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    check_analyze(doc)
    assert doc["params"] == 93_322
    assert doc["macc"] == 2_794_240
    assert doc["macc_st"] == 2_852_598
    assert doc["activations_bytes"] <= 28_032
    assert doc["ram_total_bytes"] == doc["activations_bytes"] + doc["io_bytes"]
    assert len(doc["layers"]) == 9
    assert (tmp_path / "out" / "report.txt").read_text().count("activations (rw)") == 1
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == doc


def test_text_report_uses_st_vocabulary():
    r = _run("analyze", "zoo:mnist-cnn")
    assert r.returncode == 0, r.stderr
    for key in ["params #", "macc", "weights (ro)", "activations (rw)", "ram (total)", "m_id"]:
        assert key in r.stdout
    assert "93,322" in r.stdout and "2,794,240" in r.stdout and "28,032 B" in r.stdout


def test_every_shared_model_analyzes():
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"{SHARED_MODELS} not present")
    models = [p for p in sorted(SHARED_MODELS.iterdir()) if p.suffix in (".tflite", ".h5", ".onnx")]
    assert models
    for p in models:
        r = _run("analyze", str(p), "--json")
        assert r.returncode == 0, f"{p}: {r.stderr}"
        doc = json.loads(r.stdout)
        check_analyze(doc, p.name)  # docs/analyze-json.md
        assert doc["macc"] > 0 and doc["activations_bytes"] > 0
