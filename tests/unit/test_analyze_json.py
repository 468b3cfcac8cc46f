"""`tinyscope analyze --json` says what docs/analyze-json.md documents: every key of its tables and no
other, each of the documented type (tests/json_docs.py), with totals that are the layers' sums."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from tests.json_docs import ANALYZE, LAYER, TENSOR, check_analyze
from tinyscope.cli import main as cli_main
from tinyscope.frontend.zoo import MODELS

DOC = Path(__file__).resolve().parents[2] / "docs" / "analyze-json.md"


def _analyze(model: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["analyze", model, "--json"]) == 0
    return json.loads(out.getvalue())


def _tables() -> list[set[str]]:
    """The keys in the first column of each table of the document (each starts at a `| key |` header)."""
    tables: list[set[str]] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| key |"):
            tables.append(set())
        elif line.startswith("| `"):
            tables[-1].update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return tables


def test_the_checks_hold_the_documented_keys():
    top, layer = _tables()
    assert set(ANALYZE) == top and set(LAYER) == layer
    tensor_row = next(line for line in DOC.read_text(encoding="utf-8").splitlines() if line.startswith("| `inputs`"))
    assert set(TENSOR) == set(re.search(r"\{([^}]*)\}", tensor_row).group(1).replace(" ", "").split(","))


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_zoo_model_analyzes_to_the_documented_json(model):
    doc = _analyze(f"zoo:{model}")
    check_analyze(doc, model)
    assert set(doc) == set(ANALYZE), "an undocumented key: add it to docs/analyze-json.md"
    assert all(set(lay) == set(LAYER) for lay in doc["layers"])
    assert all(set(t) == set(TENSOR) for t in doc["inputs"] + doc["outputs"])
    assert doc["source"] == f"zoo:{model}" and doc["source_format"] == "zoo"
    assert {t["dtype"] for t in doc["inputs"]} == {"int8" if model.endswith("-int8") else "float32"}
