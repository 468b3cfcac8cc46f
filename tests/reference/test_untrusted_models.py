"""Issue 8, section 2, where a reference runtime is involved: LiteRT and onnxruntime refusing a model that
tinyscope accepts make ``validate`` print one line and exit 2 (``tinyscope.cli.main``), never a traceback.
The models are built as in tests/unit/test_untrusted_models.py, which holds every other case."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from tests.unit.test_untrusted_models import one_line, onnx_model, save_onnx, tflite_file


def test_raw_litert_errors_in_validate_are_one_line(tmp_path, monkeypatch):
    """LiteRT refusing a model tinyscope accepts: its ValueError/RuntimeError become one ModelError line."""
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert import interpreter

    def edit(s):  # LiteRT's Python wrapper cannot decode these names (UnicodeDecodeError, a ValueError)
        for t in s["tensors"]:
            t["name"] = b"\xff" + t["name"]
    line = one_line("validate", str(tflite_file(tmp_path, edit)), "-n", "1")
    assert "LiteRT cannot run this model" in line

    class Refusing:
        def __init__(self, *a, **k):
            raise RuntimeError("tensorflow/lite/kernels/conv.cc:351 input->dims->size != 4 (3 != 4)\n"
                               "Node number 0 (CONV_2D) failed to prepare.")
    monkeypatch.setattr(interpreter, "Interpreter", Refusing)
    line = one_line("validate", str(tflite_file(tmp_path, name="ok.tflite")), "-n", "1")
    assert "LiteRT cannot run this model (RuntimeError: tensorflow/lite/kernels/conv.cc:351" in line


def test_onnxruntime_errors_in_validate_are_one_line(tmp_path):
    pytest.importorskip("onnxruntime")
    w = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="same", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="same")]  # tinyscope renames; onnxruntime refuses
    line = one_line("validate", str(save_onnx(tmp_path, onnx_model(nodes, {"w": w}))), "-n", "1")
    assert "onnxruntime cannot run this model" in line and "same node name" in line
