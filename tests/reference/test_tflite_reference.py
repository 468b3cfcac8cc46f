"""The TFLite importer and the reference executor against LiteRT on the shared models.

int8 is compared with LiteRT's reference kernels (OpResolverType.BUILTIN_REF): TFLite's documented
integer semantics, which tinyscope reproduces bit for bit. LiteRT's default resolver runs XNNPACK
and its optimized kernels, which round some requantizations differently (a few LSB); that gap is
measured, not asserted equal.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import OpResolverType

import tinyscope
from tinyscope import reference
from tinyscope.errors import InputError

from ..conftest import shared_model
from .litert import litert_output

TFLITE = ["mnist_cnn_f32.tflite", "kws_dscnn_f32.tflite", "kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite"]


def _inputs(graph, n=3, seed=0):
    t = graph.input_tensors()[0]
    rng = np.random.default_rng(seed)
    for _ in range(n):
        if t.dtype.value == "int8":
            yield rng.integers(-128, 128, size=t.shape, dtype=np.int8)
        else:
            yield rng.random(t.shape, dtype=np.float32)


@pytest.mark.parametrize("name", TFLITE)
def test_reference_agrees_with_litert(name):
    path = shared_model(name)
    g = tinyscope.load(path)
    for x in _inputs(g):
        ref = litert_output(path, x)
        ours = reference.run(g, [x])[0]
        assert ours.shape == ref.shape and ours.dtype == ref.dtype
        if ref.dtype == np.int8:
            np.testing.assert_array_equal(ours, ref)
        elif "hybrid_weights" in g.meta:
            # Dynamic-range model: LiteRT's hybrid kernels quantize activations to int8 at run
            # time (per-batch input scale), tinyscope computes in float on the dequantized weights.
            # Measured gap on these inputs: up to 2.2 % of the output range.
            assert np.abs(ours - ref).max() <= 3e-2 * (ref.max() - ref.min())
        else:
            assert np.abs(ours - ref).max() <= 1e-5 * (ref.max() - ref.min())


def test_default_litert_resolver_gap_is_small():
    """XNNPACK's int8 requantization differs from TFLite's reference by a few LSB (measured)."""
    path = shared_model("kws_dscnn_int8.tflite")
    g = tinyscope.load(path)
    x = next(_inputs(g))
    d = np.abs(reference.run(g, [x])[0].astype(int) - litert_output(path, x, OpResolverType.AUTO).astype(int))
    assert d.max() <= 4


def test_mnist_tflite_classifies_the_study_digit():
    digit = np.loadtxt(shared_model("mnist_digit2.csv"), delimiter=",", dtype=np.float32)
    g = tinyscope.load(shared_model("mnist_cnn_f32.tflite"))
    out = reference.run(g, [digit.reshape(1, 28, 28, 1)])[0]
    assert int(out.argmax()) == 2 and out.max() > 0.9


def test_importer_keeps_quantization_per_channel():
    g = tinyscope.load(shared_model("kws_dscnn_int8.tflite"))
    conv = g.ops[0]
    w = g.tensors[conv.inputs[1]]
    assert w.quant.axis == 0 and w.quant.scale.size == w.shape[0]
    assert g.tensors[conv.inputs[2]].dtype.value == "int32"


def test_wrong_input_shape_is_an_input_error():
    g = tinyscope.load(shared_model("mnist_cnn_f32.tflite"))
    with pytest.raises(InputError, match="needs shape"):
        reference.run(g, [np.zeros((1, 27, 28, 1), np.float32)])
    with pytest.raises(InputError, match="dtype"):
        reference.run(g, [np.zeros((1, 28, 28, 1), np.int32)])
