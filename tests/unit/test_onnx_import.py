"""The ONNX importer against onnxruntime, on small models built here with onnx.helper."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinyscope
from tinyscope.errors import ModelError, ShapeError, UnsupportedError

RNG = np.random.default_rng(3)


def _w(*shape, scale=0.3):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _model(nodes, inits, in_shape, out_shape, opset=13):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _save(tmp_path, m, name="m.onnx"):
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def cnn_model(batchnorm: bool = True):
    """Conv (+BN) + ReLU, MaxPool, depthwise + Clip, Flatten, Gemm, Softmax.

    onnxruntime's quantizer expects BatchNormalization folded by its pre-processing first, so the
    QDQ test uses the model without it.
    """
    bn = [helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn"], name="bn")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        *(bn if batchnorm else []),
        helper.make_node("Relu", ["bn" if batchnorm else "c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "wd"], ["dw"], name="dw", group=6, auto_pad="SAME_UPPER",
                         kernel_shape=[3, 3]),
        helper.make_node("Clip", ["dw", "lo", "hi"], ["cl"], name="clip"),
        helper.make_node("Flatten", ["cl"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["fc"], name="fc", transB=1),
        helper.make_node("Softmax", ["fc"], ["y"], name="sm"),
    ]
    inits = {"w1": _w(6, 2, 3, 3), "b1": _w(6), "g": _w(6) + 1, "be": _w(6), "mu": _w(6),
             "var": np.abs(_w(6)) + 0.5, "wd": _w(6, 1, 3, 3), "lo": np.float32(0.0),
             "hi": np.float32(3.0), "w2": _w(5, 6 * 4 * 3), "b2": _w(5)}
    return _model(nodes, inits, [1, 2, 8, 6], [1, 5])


def test_unsupported_ops_are_all_listed(tmp_path):
    nodes = [helper.make_node("Softplus", ["x"], ["a"], name="sp"),
             helper.make_node("Relu", ["a"], ["b"], name="ok"),
             helper.make_node("Elu", ["b"], ["y"], name="elu")]
    with pytest.raises(UnsupportedError) as e:
        tinyscope.load(_save(tmp_path, _model(nodes, {}, [1, 4], [1, 4])))
    assert "Softplus (node 0 'sp')" in str(e.value) and "Elu (node 2 'elu')" in str(e.value)
    assert "Supported:" in str(e.value)


def test_inconsistent_gemm_shapes(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)]
    m = _model(nodes, {"w": _w(3, 5)}, [1, 4], [1, 3])
    with pytest.raises(ShapeError, match="expects 5 input features"):
        tinyscope.load(_save(tmp_path, m))


def test_dynamic_dims_and_corrupt_files(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "F"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "F"])])
    with pytest.raises(UnsupportedError, match="dynamic dimension F"):
        tinyscope.load(_save(tmp_path, helper.make_model(graph)))
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage\xff\xff\xff")
    with pytest.raises(ModelError):
        tinyscope.load(tmp_path / "bad.onnx")
