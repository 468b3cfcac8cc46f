"""`tinyscope generate` and `tinyscope validate` as a user runs them, including bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from ..conftest import shared_model

pytestmark = pytest.mark.e2e


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, timeout=300)


def _one_line_error(r: subprocess.CompletedProcess, word: str) -> None:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert word in lines[0], lines[0]


def test_generate_writes_the_library(tmp_path):
    r = _cli("generate", "zoo:tiny-dscnn-int8", "-o", str(tmp_path / "lib"), "--name", "kws", "--split-weights")
    assert r.returncode == 0, r.stderr
    names = {p.name for p in (tmp_path / "lib").iterdir()}
    assert {"kws.h", "kws.c", "kws_weights.c", "ts_kernels.h", "kws_report.txt"} <= names
    assert ".tinyscope.weights.0" in (tmp_path / "lib" / "kws_weights.c").read_text()
    assert "activations (rw)" in (tmp_path / "lib" / "kws_report.txt").read_text()


def test_validate_study_digit_and_thresholds(tmp_path):
    digit = shared_model("mnist_digit2.csv")
    r = _cli("validate", str(shared_model("mnist_cnn_f32.tflite")), "--inputs", str(digit))
    assert r.returncode == 0, r.stderr
    assert "C vs reference" in r.stdout and "C vs LiteRT" in r.stdout and "ok" in r.stdout
    r = _cli("validate", "zoo:tiny-dscnn", "-n", "3", "--max-l2r", "0")
    _one_line_error(r, "threshold crossed")
    assert "FAIL" in r.stdout


def test_bad_generate_inputs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_error(_cli("generate", "zoo:tiny-dscnn", "-o", str(blocker / "out")), "cannot write")
    _one_line_error(_cli("generate", "zoo:tiny-dscnn", "-o", str(tmp_path / "a"), "--name", "9lives"),
                    "not usable as a C identifier")
    _one_line_error(_cli("generate", "zoo:tiny-dscnn", "-o", str(tmp_path / "b"), "--name", "int"),
                    "not usable as a C identifier")
    # a model the importer reads but the code generator cannot emit: fails before any file exists
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Relu", ["x"], ["z"])],
                              "two", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
                               helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "two.onnx"))
    target = tmp_path / "never"
    _one_line_error(_cli("generate", str(tmp_path / "two.onnx"), "-o", str(target)), "2 outputs")
    assert not target.exists()


def test_bad_validate_inputs(tmp_path):
    np.save(tmp_path / "shape.npy", np.zeros((3, 5), np.float32))
    _one_line_error(_cli("validate", "zoo:tiny-dscnn", "--inputs", str(tmp_path / "shape.npy")), "whole samples")
    np.save(tmp_path / "dtype.npy", np.zeros((1, 16, 12, 1), np.int32))
    _one_line_error(_cli("validate", "zoo:tiny-dscnn", "--inputs", str(tmp_path / "dtype.npy")), "float32")
    (tmp_path / "x.txt").write_text("1,2")
    _one_line_error(_cli("validate", "zoo:tiny-dscnn", "--inputs", str(tmp_path / "x.txt")), ".npy, .npz or .csv")
