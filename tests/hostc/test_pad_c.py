"""The generated C of a TFLite model with PAD (one folded into a conv, one run as its own kernel), built
for this machine: bit-exact with the reference in int8."""

from __future__ import annotations

import pytest

import tinyscope

from ..fuzz import tflite_spec

pytestmark = pytest.mark.hostc


def test_int8_pad_c_is_bit_exact(tmp_path):
    p = tmp_path / "pad_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.pad_int8()))
    r = tinyscope.validate(p, n=8)
    ref = next(x for x in r.pairs if x.pair == "C vs reference")
    assert ref.passed and ref.metrics.max_abs == 0 and ref.metrics.samples == 8


def test_float_onnx_pad_c(tmp_path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array((np.random.default_rng(2).standard_normal((3, 2, 3, 3)) * 0.4).astype(np.float32), "w")
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Pad", ["c", "pads"], ["p"], name="pad"),
             helper.make_node("MaxPool", ["p"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 7, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, pads])
    p = tmp_path / "pad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), p)
    r = tinyscope.validate(p, n=4)
    assert all(x.passed for x in r.pairs) and r.pairs[0].pair == "C vs reference"
