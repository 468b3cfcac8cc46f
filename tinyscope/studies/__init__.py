"""Studies: many build configurations of one model, run in parallel, compared in one table."""

from tinyscope.studies.grid import Run, load_grid, preset
from tinyscope.studies.runner import run_grid

__all__ = ["Run", "load_grid", "preset", "run_grid"]
