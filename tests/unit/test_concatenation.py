"""CONCATENATION without a reference runtime: int8 inputs quantized differently from the output are refused
(TFLite), and a Keras Concatenate computes what numpy computes. Agreement with LiteRT and onnxruntime:
tests/reference/test_concatenation.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.errors import UnsupportedError
from tinyscope.ir import OpType

from ..fuzz import tflite_spec
from ..keras_h5 import write_keras2_h5


def _tflite(tmp_path: Path, **kw) -> Path:
    p = tmp_path / "concat_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.tiny_concat_int8(**kw)))
    return p


def test_int8_inputs_quantized_differently_are_refused(tmp_path):
    with pytest.raises(UnsupportedError, match="quantized differently from the output"):
        tinyscope.load(_tflite(tmp_path, out_quant=(0.05, 1)))


def test_keras_concatenate(tmp_path):
    rng = np.random.default_rng(2)
    k1, k2 = (rng.standard_normal((1, 1, 2, c)).astype(np.float32) for c in (3, 2))

    def conv(name, filters):
        return {"class_name": "Conv2D", "name": name, "inbound_nodes": [[["input_1", 0, 0, {}]]],
                "config": {"name": name, "filters": filters, "kernel_size": [1, 1], "strides": [1, 1],
                           "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
                           "activation": "linear", "use_bias": False}}

    layers = [{"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
               "config": {"name": "input_1", "batch_input_shape": [None, 3, 4, 2]}},
              conv("c1", 3), conv("c2", 2),
              {"class_name": "Concatenate", "name": "cat", "inbound_nodes": [[["c1", 0, 0, {}], ["c2", 0, 0, {}]]],
               "config": {"name": "cat", "axis": -1}}]
    config = {"class_name": "Model", "config": {"name": "m", "layers": layers, "input_layers": [["input_1", 0, 0]],
                                                "output_layers": [["cat", 0, 0]]}}
    path = write_keras2_h5(tmp_path / "cat.h5", config,
                           {"input_1": [], "c1": [("kernel:0", k1)], "c2": [("kernel:0", k2)], "cat": []})
    g = tinyscope.load(path)
    assert OpType.CONCATENATION in [op.type for op in g.ops]
    x = rng.standard_normal((1, 3, 4, 2)).astype(np.float32)
    want = np.concatenate([x @ k1[0, 0], x @ k2[0, 0]], axis=-1)
    assert np.abs(reference.run(g, [x])[0] - want).max() < 1e-5
