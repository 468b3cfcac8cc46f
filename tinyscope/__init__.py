"""tinyscope: how fast will this model run on this Cortex-M7, and where does the time go?

Python API mirroring the CLI::

    import tinyscope
    g = tinyscope.load("model.tflite")      # or "zoo:mnist-cnn"
    figures = g.analyze()                    # the `tinyscope analyze` figures (or tinyscope.analyze(g))
"""

from __future__ import annotations

__version__ = "0.1.0"

from tinyscope.errors import TinyscopeError  # noqa: E402
from tinyscope.frontend import load  # noqa: E402
from tinyscope.plan.analyze import analyze  # noqa: E402

__all__ = ["__version__", "TinyscopeError", "analyze", "load"]
