"""The library is the product: each verb's work is one function a Python user can call."""

from __future__ import annotations

import numpy as np
import pytest

import tinyscope
from tinyscope.errors import ModelError
from tinyscope.ir import FullyConnectedAttrs, OpType
from tinyscope.ir.builder import GraphBuilder

pytestmark = pytest.mark.hostc


def test_validate_from_python_matches_the_cli_contract():
    r = tinyscope.validate("zoo:tiny-dscnn-int8", n=3)
    assert r.passed and r.samples == 3 and r.output_dtype == "int8"
    assert r.pairs[0].pair == "C vs reference" and r.pairs[0].metrics.max_abs == 0
    g = tinyscope.load("zoo:tiny-dscnn")
    r = tinyscope.validate(g, n=2, max_l2r=-1.0)  # an impossible threshold fails, and says which pair
    assert not r.passed and r.failures == ["C vs reference"]


def test_non_finite_weights_are_a_model_error(tmp_path):
    b = GraphBuilder("g")
    x = b.input("x", (1, 4))
    w = np.ones((2, 4), np.float32)
    w[0, 0] = np.nan
    y = b.op(OpType.FULLY_CONNECTED, "fc", [x, b.const("w", w), b.const("b", np.zeros(2, np.float32))],
             FullyConnectedAttrs())
    with pytest.raises(ModelError, match="not finite"):
        tinyscope.validate(b.finish([y]), n=1)
    assert not list(tmp_path.iterdir())
