"""The one place tinyscope's version is written (imported without loading anything else)."""

__version__ = "0.1.0"
