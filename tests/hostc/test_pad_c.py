"""The generated C of a TFLite model with PAD (one folded into a conv, one run as its own kernel), built
for this machine: bit-exact with the reference in int8."""

from __future__ import annotations

import pytest

import tinyscope

from ..fuzz import tflite_spec

pytestmark = pytest.mark.hostc


def test_int8_pad_c_is_bit_exact(tmp_path):
    p = tmp_path / "pad_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.pad_int8()))
    r = tinyscope.validate(p, n=8)
    ref = next(x for x in r.pairs if x.pair == "C vs reference")
    assert ref.passed and ref.metrics.max_abs == 0 and ref.metrics.samples == 8
