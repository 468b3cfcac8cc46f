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
    with pytest.raises(ModelError, match="not finite|NaN or infinite"):
        tinyscope.validate(b.finish([y]), n=1)
    assert not list(tmp_path.iterdir())


def _mlp(widths: list[int]):
    rng = np.random.default_rng(3)
    b = GraphBuilder("mlp")
    x = b.input("x", (1, widths[0]))
    for i, (k, n) in enumerate(zip(widths, widths[1:])):
        w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        x = b.op(OpType.FULLY_CONNECTED, f"fc{i}", [x, b.const(f"w{i}", w), b.const(f"b{i}", np.zeros(n, np.float32))],
                 FullyConnectedAttrs())
    return b.finish([x])


def test_float_threshold_scales_with_depth_and_width_and_is_shown():
    from tinyscope.api.validate import FLOAT32_EPS, float_tolerance

    small, big = _mlp([1, 3]), _mlp([1024, 256, 256, 256, 10])
    assert float_tolerance(small) == 1e-6
    expected = 8 * FLOAT32_EPS * (np.sqrt(1024) + 3 * np.sqrt(256))
    assert float_tolerance(big) == pytest.approx(expected) and float_tolerance(big) > 1e-6
    r = tinyscope.validate(big, n=4)
    assert r.passed, [(p.pair, p.metrics.l2r, p.limit) for p in r.pairs]
    assert r.pairs[0].limit == f"l2r <= {expected:.2g}"
    assert r.runtime is None and "built-in" not in (r.runtime_missing or "x")
