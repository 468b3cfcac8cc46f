"""The generated C of UNARY, built for this machine and on the simulated H743: int8 tables bit-exact with
the reference, float32 functions (libm's expf/tanhf) within float rounding of it and of onnxruntime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from tflite.BuiltinOperator import BuiltinOperator as TOp

import tinyscope

from ..fuzz import tflite_spec

pytestmark = pytest.mark.hostc


def _float_model(path):
    """Gemm -> Sigmoid -> Gemm -> Tanh -> LeakyRelu -> HardSwish -> Selu: every float function in one model."""
    rng = np.random.default_rng(6)
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.8).astype(np.float32), n)
             for n, s in [("w1", (12, 8)), ("w2", (10, 12))]]
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["a"], name="fc1", transB=1),
             helper.make_node("Sigmoid", ["a"], ["b"], name="sig"),
             helper.make_node("Gemm", ["b", "w2"], ["c"], name="fc2", transB=1),
             helper.make_node("Tanh", ["c"], ["d"], name="tanh"),
             helper.make_node("LeakyRelu", ["d"], ["e"], name="leaky", alpha=0.1),
             helper.make_node("HardSwish", ["e"], ["f"], name="hswish"),
             helper.make_node("Selu", ["f"], ["y"], name="selu")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_float_unary_c(tmp_path):
    r = tinyscope.validate(_float_model(tmp_path / "u.onnx"), n=8)
    assert r.passed and r.runtime == "onnxruntime", [(p.pair, p.metrics) for p in r.pairs]


@pytest.mark.parametrize(("code", "out_q", "alpha"), [(TOp.LOGISTIC, (1 / 256, -128), None),
                                                      (TOp.TANH, (1 / 128, 0), None),
                                                      (TOp.LEAKY_RELU, (0.04, -60), 0.2)])
def test_int8_unary_c_is_bit_exact(tmp_path, code, out_q, alpha):
    p = tmp_path / "u.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.unary_int8(code, out_q=out_q, alpha=alpha)))
    r = tinyscope.validate(p, n=6)
    assert r.passed and all(x.metrics.max_abs == 0 for x in r.pairs), [(x.pair, x.metrics) for x in r.pairs]


@pytest.mark.sim
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")
def test_unary_on_the_simulator(tmp_path):
    env = {**os.environ, "TINYSCOPE_CACHE": str(tmp_path / "cache")}
    p = tmp_path / "u.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.unary_int8(TOp.LOGISTIC)))
    for model in (str(p), str(_float_model(tmp_path / "u.onnx"))):
        r = subprocess.run([sys.executable, "-m", "tinyscope", "run", model, "--json"], capture_output=True,
                           text=True, timeout=600, cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["max_abs"] <= (0 if model.endswith(".tflite") else 1e-5) and doc["argmax_equal"], doc
