"""Unsupported layers are listed all at once with their names, and say which supported layer does the
same job where one exists; layers that do nothing at inference (noise, dropout) are taken as Dropout."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import tinyscope
from tinyscope.errors import UnsupportedError
from tinyscope.ir import OpType

from ..fuzz import tflite_spec
from ..keras_h5 import write_keras2_h5

CONV = {"class_name": "Conv2D", "config": {"name": "conv", "batch_input_shape": [None, 6, 5, 2], "filters": 4,
                                          "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                          "data_format": "channels_last", "dilation_rate": [1, 1],
                                          "activation": "relu", "use_bias": True}}
WEIGHTS = [("kernel:0", np.zeros((3, 3, 2, 4), np.float32)), ("bias:0", np.zeros(4, np.float32))]


def _keras(tmp_path, extra: list[dict]):
    return write_keras2_h5(tmp_path / "m.h5", {"class_name": "Sequential",
                                               "config": {"name": "s", "layers": [CONV, *extra]}},
                           {"conv": WEIGHTS, **{lay["config"]["name"]: [] for lay in extra}})


def test_keras_lists_every_unsupported_layer_with_its_replacement(tmp_path):
    extra = [{"class_name": "Conv1D", "config": {"name": "c1d"}}, {"class_name": "LSTM", "config": {"name": "rnn"}},
             {"class_name": "MaxPooling1D", "config": {"name": "mp1"}}]
    with pytest.raises(UnsupportedError) as e:
        tinyscope.load(_keras(tmp_path, extra))
    msg = str(e.value)
    assert "'c1d' (Conv1D, instead: Conv2D with a (1, k) kernel" in msg
    assert "'rnn' (LSTM)" in msg  # nothing does an LSTM's job
    assert "'mp1' (MaxPooling1D, instead: MaxPooling2D with pool_size (1, k))" in msg


@pytest.mark.parametrize("cls", ["SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout"])
def test_keras_noise_and_dropout_layers_are_identities(tmp_path, cls):
    g = tinyscope.load(_keras(tmp_path, [{"class_name": cls, "config": {"name": "noise", "rate": 0.5}}]))
    assert [op.type for op in g.ops] == [OpType.CONV_2D]


def test_onnx_hints(tmp_path):
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="tr", perm=[0, 2, 3, 1]),
             helper.make_node("Relu", ["t"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 2])])
    p = tmp_path / "t.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), p)
    with pytest.raises(UnsupportedError, match=r"Transpose \(node 0 'tr', instead: export without layout"):
        tinyscope.load(p)


def test_tflite_hints(tmp_path):
    spec = tflite_spec.tiny_float()
    spec["opcodes"][spec["ops"][-1]["opcode"]] = tflite_spec.Op.MEAN  # the softmax's opcode, renamed
    p = tmp_path / "m.tflite"
    p.write_bytes(tflite_spec.write(spec))
    with pytest.raises(UnsupportedError, match=r"MEAN \(operator 4, output 'probs', instead: AVERAGE_POOL_2D"):
        tinyscope.load(p)
