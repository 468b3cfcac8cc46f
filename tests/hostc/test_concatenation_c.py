"""The generated C of CONCATENATION, built for this machine: bit-exact with the reference in int8 and within
float rounding in float32, for inputs on the channel and the width axes; and on the simulated H743."""

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

import tinyscope
from tinyscope.errors import UnsupportedError

from ..fuzz import tflite_spec

pytestmark = pytest.mark.hostc


def test_int8_concatenation_c_is_bit_exact(tmp_path):
    p = tmp_path / "concat_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.tiny_concat_int8()))
    r = tinyscope.validate(p, n=8)
    ref = next(x for x in r.pairs if x.pair == "C vs reference")
    assert ref.passed and ref.metrics.max_abs == 0


def test_float_concat_on_width_c(tmp_path):
    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array((rng.standard_normal((4, 2, k, k)) * 0.4).astype(np.float32), f"w{k}")
             for k in (1, 3)]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], name="c1"),
             helper.make_node("Conv", ["x", "w3"], ["b"], name="c3", pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["a", "b", "a"], ["cat"], name="cat", axis=3),
             helper.make_node("Flatten", ["cat"], ["y"], name="flat")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    p = tmp_path / "cat_w.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    with pytest.raises(UnsupportedError, match="flatten of an NCHW tensor"):
        tinyscope.validate(p, n=2)  # the NCHW flatten of a 4-D output would need a transpose
    nodes[-1] = helper.make_node("Relu", ["cat"], ["y"], name="relu")
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
    r = tinyscope.validate(p, n=4)
    assert r.passed, [(x.pair, x.metrics) for x in r.pairs]
    assert r.runtime == "onnxruntime"


@pytest.mark.sim
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")
def test_int8_concatenation_on_the_simulator(tmp_path):
    p = tmp_path / "concat_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.tiny_concat_int8()))
    env = {**os.environ, "TINYSCOPE_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "tinyscope", "run", str(p), "--json"], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["max_abs"] == 0  # the firmware's output is the reference's, bit for bit
    r = subprocess.run([sys.executable, "-m", "tinyscope", "profile", str(p), "-o", str(tmp_path / "p")],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "CONCATENATION" in (tmp_path / "p" / "layers.csv").read_text()
