"""tinyscope: how fast will this model run on this Cortex-M7, and where does the time go?

Python API mirroring the CLI::

    import tinyscope
    g = tinyscope.load("model.tflite")      # or "zoo:mnist-cnn"
    figures = tinyscope.analyze(g)           # the `tinyscope analyze` figures
    report = tinyscope.validate(g, n=5)      # `tinyscope validate`: report.passed, report.pairs
    r = tinyscope.run(g)                     # `tinyscope run`: r.cycles, r.agreement, r.to_json() (run.json)
    s = tinyscope.study("zoo:mnist-cnn", preset="seed", output="out/study")   # `tinyscope study`: s.rows

The conveniences below load lazily, so ``import tinyscope.errors`` (or any leaf) costs only itself.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tinyscope.version import __version__

if TYPE_CHECKING:
    from tinyscope.api.run import run
    from tinyscope.api.study import study
    from tinyscope.api.validate import validate
    from tinyscope.errors import TinyscopeError
    from tinyscope.firmware.config import BuildConfig
    from tinyscope.frontend import load
    from tinyscope.plan.analyze import analyze

_LAZY = {"TinyscopeError": "tinyscope.errors", "load": "tinyscope.frontend", "analyze": "tinyscope.plan.analyze",
         "validate": "tinyscope.api", "run": "tinyscope.api", "study": "tinyscope.api",
         "BuildConfig": "tinyscope.firmware.config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinyscope' has no attribute {name!r}")


__all__ = ["__version__", "BuildConfig", "TinyscopeError", "analyze", "load", "run", "study", "validate"]
