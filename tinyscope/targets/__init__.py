"""Targets as data: one TOML file per board, loaded into ``Target`` records.

``load_target(name)`` reads ``<name>.toml`` shipped in this package; ``TARGETS`` lists the names.
"""

from __future__ import annotations

from tinyscope.targets.loader import DEFAULT_TARGET, TARGETS, load_target, parse_target
from tinyscope.targets.memory_map import CacheGeometry, MemoryMap, Region, Target, default_policy

__all__ = ["DEFAULT_TARGET", "TARGETS", "CacheGeometry", "MemoryMap", "Region", "Target", "default_policy",
           "load_target", "parse_target"]
