"""Golden diff of the generated C for a small model: any change in emitted code shows up here.

Regenerate after an intended change with:
    TINYSCOPE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_codegen_golden.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

import tinyscope
from tinyscope.codegen.render import render

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden" / "tiny_dscnn_int8"


@pytest.mark.parametrize("fname", ["network.h", "network.c", "network_weights.c"])
def test_generated_code_matches_golden(fname):
    text = render(tinyscope.load("zoo:tiny-dscnn-int8"), "network").files[fname]
    path = GOLDEN / fname
    if os.environ.get("TINYSCOPE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    expected = path.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "now"))
    assert not diff, diff[:3000]
