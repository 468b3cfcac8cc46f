"""The library behind each CLI verb: one function per verb, returning a dataclass the CLI renders.

A Python user calls the same functions (``tinyscope.validate(...)``, ``tinyscope.run(...)``,
``tinyscope.study(...)``) and gets the same results the CLI prints.
"""

from tinyscope.api.run import RunResult, run
from tinyscope.api.study import StudyPart, StudyResult, study
from tinyscope.api.validate import PairResult, ValidationReport, validate

__all__ = ["PairResult", "RunResult", "StudyPart", "StudyResult", "ValidationReport", "run", "study", "validate"]
