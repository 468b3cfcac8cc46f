"""Targets as data: one TOML file per board, loaded into ``Target`` records.

``load_target(name)`` reads ``<name>.toml`` shipped in this package, or a board file given by its path;
``TARGETS`` lists the built-in names. The schema: docs/board-files.md.
"""

from __future__ import annotations

from tinyscope.targets.loader import DEFAULT_TARGET, TARGETS, is_board_file, load_target, parse_target
from tinyscope.targets.memory_map import Accelerator, CacheGeometry, MemoryMap, Region, Target, default_policy

__all__ = ["DEFAULT_TARGET", "TARGETS", "Accelerator", "CacheGeometry", "MemoryMap", "Region", "Target",
           "default_policy", "is_board_file", "load_target", "parse_target"]
