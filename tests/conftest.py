"""Shared test fixtures: where the real models are, and skips that say why."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MODELS = Path(os.environ.get("TINYSCOPE_SHARED_MODELS", ROOT.parent / "shared" / "models"))


def shared_model(name: str) -> Path:
    """Path of a file in ../shared/models, or a visible skip when that folder is absent."""
    p = SHARED_MODELS / name
    if not p.exists():
        pytest.skip(f"{p} not present (the shared models folder is not beside this checkout)")
    return p


@pytest.fixture
def shared_models_dir() -> Path:
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"{SHARED_MODELS} not present (the shared models folder is not beside this checkout)")
    return SHARED_MODELS


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: mutated model files through the CLI (tests/fuzz)")


def pytest_terminal_summary(terminalreporter):
    """The fuzz tier's tallies (tests/fuzz), merged over the xdist workers, at the end of the run."""
    tallies = [json.loads(value) for reports in terminalreporter.stats.values() for rep in reports
               if getattr(rep, "when", None) == "call"
               for key, value in (getattr(rep, "user_properties", None) or []) if key == "fuzz_tally"]
    if tallies:
        from tests.fuzz import harness

        terminalreporter.section("fuzz tallies (tests/fuzz)")
        terminalreporter.write_line(harness.render(harness.merge(tallies), "all formats"))
