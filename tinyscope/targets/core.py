"""The Cortex-M7 core's timing parameters (cortex_m7.toml), each with its source."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def load_core() -> dict:
    return tomllib.loads(resources.files("tinyscope.targets").joinpath("cortex_m7.toml").read_text())
