"""Keras GlobalMaxPooling2D imports as a max pool over the whole input (and a reshape) and computes what
numpy computes. ONNX GlobalMaxPool against onnxruntime, float and int8 (QDQ):
tests/reference/test_global_max_pool.py."""

from __future__ import annotations

import numpy as np

import tinyscope
from tinyscope import reference
from tinyscope.ir import OpType

from ..keras_h5 import write_keras2_h5


def test_keras_global_max_pooling_2d(tmp_path):
    rng = np.random.default_rng(9)
    k = (rng.standard_normal((3, 3, 2, 4)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(4) * 0.1).astype(np.float32)
    layers = [
        {"class_name": "Conv2D", "config": {"name": "conv", "batch_input_shape": [None, 6, 5, 2], "filters": 4,
                                            "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                                            "data_format": "channels_last", "dilation_rate": [1, 1],
                                            "activation": "linear", "use_bias": True}},
        {"class_name": "GlobalMaxPooling2D", "config": {"name": "gmp", "data_format": "channels_last"}},
    ]
    path = write_keras2_h5(tmp_path / "gmp.h5", {"class_name": "Sequential", "config": {"name": "s", "layers": layers}},
                           {"conv": [("kernel:0", k), ("bias:0", b)], "gmp": []})
    g = tinyscope.load(path)
    assert [op.type for op in g.ops] == [OpType.CONV_2D, OpType.MAX_POOL_2D, OpType.RESHAPE]
    x = rng.standard_normal((1, 6, 5, 2)).astype(np.float32)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    conv = np.zeros((6, 5, 4), np.float32)
    for i in range(6):
        for j in range(5):
            conv[i, j] = np.tensordot(xp[0, i:i + 3, j:j + 3], k, axes=3) + b
    assert np.abs(reference.run(g, [x])[0] - conv.max(axis=(0, 1))[None]).max() < 1e-5
