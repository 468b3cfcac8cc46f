"""The ONNX importer's refusals, on small models built here with onnx.helper: unsupported operators all
listed, inconsistent Gemm shapes, dynamic dimensions, corrupt files. Agreement with onnxruntime:
tests/reference/test_onnx_import.py."""

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
