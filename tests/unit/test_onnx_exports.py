"""ONNX files as PyTorch exports them (fixtures made by tests/data/make_onnx_fixtures.py, with PyTorch's
outputs saved beside them) import through shape inference and constant folding, and compute what PyTorch
computed; errors name the node and its operator. The CNTK-style mnist-8 against onnxruntime:
tests/reference/test_onnx_exports.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinyscope
from tinyscope import reference
from tinyscope.errors import ShapeError, UnsupportedError
from tinyscope.frontend import onnx as onnx_import
from tinyscope.ir import OpType

DATA = Path(__file__).resolve().parent.parent / "data" / "onnx"


@pytest.mark.parametrize("name", ["torch_cnn", "torch_cnn_dynamo", "torch_mlp_bn1d"])
def test_pytorch_exports_match_pytorch(name):
    g = tinyscope.load(DATA / f"{name}.onnx")
    assert g.inputs and g.tensors[g.inputs[0]].shape[0] == 1  # the dynamic batch runs as one sample
    io = np.load(DATA / f"{name}_io.npz")
    for x, y in zip(io["x"], io["y"]):
        x = x[None]
        if x.ndim == 4:
            x = x.transpose(0, 2, 3, 1)  # NCHW in the model, NHWC in tinyscope
        out = reference.run(g, [x])[0]
        assert np.abs(out - y[None]).max() <= 1e-5 * max(1.0, float(np.abs(y).max()))


def test_pytorch_flatten_and_batchnorm1d_fold_away():
    cnn = tinyscope.load(DATA / "torch_cnn.onnx")
    kinds = [op.type for op in cnn.ops]
    assert kinds.count(OpType.FULLY_CONNECTED) == 2 and kinds.count(OpType.CONV_2D) == 2
    mlp = tinyscope.load(DATA / "torch_mlp_bn1d.onnx")
    assert [op.type for op in mlp.ops] == [OpType.FULLY_CONNECTED, OpType.FULLY_CONNECTED]  # BN in the first


def _mlp(path: Path, dims, nodes_after=()) -> Path:
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm"), *nodes_after]
    out = nodes[-1].output[0]
    inits = [w] + [numpy_helper.from_array(np.ones(3, np.float32), n) for n in ("g", "b", "m", "v")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_a_dynamic_feature_dimension_needs_input_shape(tmp_path):
    p = _mlp(tmp_path / "dyn.onnx", ["batch", "features"])
    with pytest.raises(UnsupportedError, match=r"dynamic dimension features at axis 1; fix it with --input-shape"):
        tinyscope.load(p)
    g = onnx_import.load(p, input_shape=(1, 4))
    assert g.tensors[g.inputs[0]].shape == (1, 4)
    with pytest.raises(ShapeError, match="--input-shape 1x4x2 for input 'x' of rank 2"):
        onnx_import.load(p, input_shape=(1, 4, 2))


def test_errors_name_the_node_and_its_operator(tmp_path):
    bn = helper.make_node("BatchNormalization", ["r", "g", "b", "m", "v"], ["z"], name="bn1d")
    p = _mlp(tmp_path / "bn.onnx", [1, 4], [helper.make_node("Relu", ["y"], ["r"], name="relu"), bn])
    with pytest.raises(UnsupportedError, match=r"BatchNormalization 'bn1d' on a 2-D tensor: supported where it "
                                               r"folds into the Gemm/MatMul before it"):
        tinyscope.load(p)
    sm = helper.make_node("Softmax", ["y"], ["z"], name="sm", axis=0)
    with pytest.raises(UnsupportedError, match=r"Softmax 'sm'"):
        tinyscope.load(_mlp(tmp_path / "sm.onnx", [1, 4], [sm]))
