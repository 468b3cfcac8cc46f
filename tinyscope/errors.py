"""One exception root for everything a user can cause.

The CLI catches `TinyscopeError` and prints its message as one line (exit status 2); any other
exception is a bug in tinyscope and is shown with its traceback.
"""

from __future__ import annotations


class TinyscopeError(Exception):
    """Root of every error caused by input, configuration or environment (not by a tinyscope bug)."""


class ModelError(TinyscopeError):
    """A model file that cannot be read: missing, empty, truncated, corrupt or of unknown kind."""


class UnsupportedError(ModelError):
    """A model that uses operators or features tinyscope does not support (lists all of them)."""


class ShapeError(ModelError):
    """Tensor shapes or attributes that do not fit together."""


class InputError(TinyscopeError):
    """A user-supplied input data file or option that does not match the model."""


class PlanError(TinyscopeError):
    """Memory planning or placement failure (e.g. a region overflow)."""


class BuildError(TinyscopeError):
    """A compiler or linker failure; carries the command and its stderr."""

    def __init__(self, message: str, command: list[str] | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.command = command or []
        self.stderr = stderr


class SimError(TinyscopeError):
    """The simulated firmware faulted, hung or ran out of budget."""


class ValidationError(TinyscopeError):
    """Generated code disagrees with the reference beyond the thresholds."""
