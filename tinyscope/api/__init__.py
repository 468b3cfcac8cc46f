"""The library behind each CLI verb: one function per verb, returning a dataclass the CLI renders.

A Python user calls the same functions (``tinyscope.validate(...)``) and gets the same results.
"""

from tinyscope.api.validate import PairResult, ValidationReport, validate

__all__ = ["PairResult", "ValidationReport", "validate"]
