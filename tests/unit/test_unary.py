"""UNARY without a reference runtime: int8 hard swish is refused with its reason, and Keras SELU, LeakyReLU,
sigmoid and tanh compute what numpy computes. The int8 tables against LiteRT and float32 against
onnxruntime: tests/reference/test_unary.py."""

from __future__ import annotations

import numpy as np
import pytest
from tflite.BuiltinOperator import BuiltinOperator as TOp

import tinyscope
from tinyscope import reference
from tinyscope.errors import UnsupportedError
from tinyscope.ir import OpType

from ..fuzz import tflite_spec
from ..keras_h5 import write_keras2_h5

EVERY_INT8 = np.arange(-128, 128, dtype=np.int8)[None]


def test_int8_hard_swish_is_refused_with_a_reason(tmp_path):
    p = tmp_path / "hs.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.unary_int8(TOp.HARD_SWISH, out_q=(0.04, -60))))
    with pytest.raises(UnsupportedError, match="int8 hard_swish .*runs in float32"):
        tinyscope.load(p)


def test_keras_activations_and_leaky_relu(tmp_path):
    rng = np.random.default_rng(5)
    k1, b1 = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    k2, b2 = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    layers = [
        {"class_name": "Dense", "config": {"name": "d1", "batch_input_shape": [None, 6], "units": 5,
                                           "activation": "selu", "use_bias": True}},
        {"class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.25}},
        {"class_name": "Dense", "config": {"name": "d2", "units": 3, "activation": "sigmoid", "use_bias": True}},
        {"class_name": "Activation", "config": {"name": "t", "activation": "tanh"}},
    ]
    path = write_keras2_h5(tmp_path / "u.h5", {"class_name": "Sequential", "config": {"name": "s", "layers": layers}},
                           {"d1": [("kernel:0", k1), ("bias:0", b1)], "lr": [],
                            "d2": [("kernel:0", k2), ("bias:0", b2)], "t": []})
    g = tinyscope.load(path)
    assert [op.type for op in g.ops].count(OpType.UNARY) == 4
    x = rng.standard_normal((1, 6)).astype(np.float32)
    h = x @ k1 + b1
    h = 1.0507009873554805 * np.where(h > 0, h, 1.6732632423543772 * (np.exp(np.minimum(h, 0)) - 1))
    h = np.where(h >= 0, h, 0.25 * h)
    want = np.tanh(1 / (1 + np.exp(-(h @ k2 + b2))))
    assert np.abs(reference.run(g, [x])[0] - want).max() < 1e-5
