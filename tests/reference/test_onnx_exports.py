"""An ONNX file in the layout of the ONNX zoo's CNTK mnist-8 (tests/data/onnx/cntk_mnist.onnx, made by
tests/data/make_onnx_fixtures.py) imports through shape inference and constant folding and computes what
onnxruntime computes. The PyTorch exports against PyTorch's saved outputs: tests/unit/test_onnx_exports.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tinyscope
from tinyscope import reference
from tinyscope.ir import OpType

DATA = Path(__file__).resolve().parent.parent / "data" / "onnx"


def test_cntk_style_mnist_matches_onnxruntime():
    import onnxruntime as ort

    g = tinyscope.load(DATA / "cntk_mnist.onnx")
    x = np.random.default_rng(0).standard_normal((1, 1, 12, 12)).astype(np.float32)
    sess = ort.InferenceSession(str(DATA / "cntk_mnist.onnx"), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"Input3": x})[0]
    got = reference.run(g, [x.transpose(0, 2, 3, 1)])[0]
    assert np.abs(got - want).max() < 1e-5
    assert [op.type for op in g.ops].count(OpType.FULLY_CONNECTED) == 1
