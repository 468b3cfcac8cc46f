"""Shared test fixtures: where the real models are, and skips that say why."""

from __future__ import annotations

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
