"""Studies: many build configurations of one model, run in parallel, compared in one table."""

from tinyscope.study.grid import Run, load_grid, preset
from tinyscope.study.runner import run_grid

__all__ = ["Run", "load_grid", "preset", "run_grid"]
