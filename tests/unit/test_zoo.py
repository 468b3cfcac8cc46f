"""The built-in models: deterministic, the study's figures, and int8 close to float."""

from __future__ import annotations

import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.errors import ModelError
from tinyscope.frontend import zoo
from tinyscope.ir.fixedpoint import round_half_away


def test_mnist_cnn_is_the_study_architecture():
    g = tinyscope.load("zoo:mnist-cnn")
    assert sum(t.size for t in g.tensors.values() if t.is_const) == 93_322
    assert [tuple(g.tensors[op.outputs[0]].shape) for op in g.ops][:5] == [
        (1, 26, 26, 32), (1, 13, 13, 32), (1, 11, 11, 64), (1, 5, 5, 64), (1, 3, 3, 64)]


def test_zoo_is_deterministic():
    a, b = tinyscope.load("zoo:mnist-cnn-int8"), tinyscope.load("zoo:mnist-cnn-int8")
    for name, t in a.tensors.items():
        if t.is_const:
            np.testing.assert_array_equal(t.data, b.tensors[name].data)


@pytest.mark.parametrize("name", ["mnist-cnn", "tiny-dscnn"])
def test_int8_variant_tracks_float(name):
    f = tinyscope.load(f"zoo:{name}")
    q = tinyscope.load(f"zoo:{name}-int8")
    qin, qout = q.input_tensors()[0].quant, q.output_tensors()[0].quant
    rng = np.random.default_rng(7)
    for _ in range(4):
        x = rng.random(f.input_tensors()[0].shape, dtype=np.float32)
        xq = np.clip(round_half_away(x / qin.scale[0]) + qin.zero_point[0], -128, 127).astype(np.int8)
        yf = reference.run(f, [x])[0]
        yq = (reference.run(q, [xq])[0].astype(np.float32) - qout.zero_point[0]) * qout.scale[0]
        assert np.abs(yf - yq).max() < 0.06


def test_unknown_name_lists_the_zoo():
    with pytest.raises(ModelError, match="zoo:mnist-cnn"):
        tinyscope.load("zoo:nope")
    assert "tiny-dscnn-int8" in zoo.NAMES
