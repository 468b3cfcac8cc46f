"""Read a board's TOML file into a ``Target``, checking that every figure carries a source."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

from tinyscope.errors import InputError
from tinyscope.targets.memory_map import CacheGeometry, MemoryMap, Region, Target, default_policy

TARGETS: tuple[str, ...] = ("stm32h743", "stm32f746", "mps2-an500")
DEFAULT_TARGET = "stm32h743"
_TIMING = ("read_wait_cycles", "line_fill_cycles", "write_wait_cycles")


@cache
def load_target(name: str) -> Target:
    """The target called ``name`` (one of TARGETS); InputError for an unknown name."""
    if name not in TARGETS:
        raise InputError(f"unknown target {name!r} (known: {', '.join(TARGETS)})")
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse_target(tomllib.loads(text), name)


def _cache(d: dict[str, Any] | None, where: str) -> CacheGeometry | None:
    if not d:
        return None
    if not d.get("source") and not d.get("estimate"):
        raise InputError(f"{where}: cache geometry needs a source or estimate = true")
    return CacheGeometry(int(d["size"]), int(d["ways"]), int(d.get("line", 32)), str(d.get("source", "estimate")))


def _region(d: dict[str, Any], target: str) -> Region:
    where = f"target {target}, region {d.get('name')!r}"
    try:
        name, base, size, kind, bus = d["name"], int(d["base"]), int(d["size"]), d["kind"], d["bus"]
    except KeyError as exc:
        raise InputError(f"{where}: missing {exc.args[0]}") from None
    if kind not in ("flash", "ram") or bus not in ("itcm", "dtcm", "axi", "ahb"):
        raise InputError(f"{where}: kind must be flash|ram and bus itcm|dtcm|axi|ahb")
    if not d.get("source"):
        raise InputError(f"{where}: base and size need a source")
    if any(k in d for k in _TIMING) and not (d.get("timing_source") or d.get("estimate")):
        raise InputError(f"{where}: latencies need timing_source or estimate = true")
    policy = d.get("cacheable", default_policy(base, bus))
    if policy not in ("wt", "wbwa", "none"):
        raise InputError(f"{where}: cacheable must be wt|wbwa|none")
    return Region(name=name.lower(), base=base, size=size, kind=kind, bus=bus,
                  **{k: int(d.get(k, 0)) for k in _TIMING}, cacheable=policy,
                  aliases=tuple(a.lower() for a in d.get("aliases", ())), source=d["source"],
                  timing_source=d.get("timing_source", ""), estimate=bool(d.get("estimate", False)),
                  accel=_cache(d.get("accel"), where), mirror_of=d.get("mirror_of", ""))


def parse_target(data: dict[str, Any], name: str = "") -> Target:
    """Build a Target from parsed TOML (exposed so tests and users can describe their own boards)."""
    name = data.get("name", name)
    try:
        regions = MemoryMap(tuple(_region(r, name) for r in data["region"]))
    except (KeyError, ValueError) as exc:
        raise InputError(f"target {name}: bad memory map: {exc}") from None
    place = dict(data.get("default_place", {}))
    for what, reg in place.items():
        try:
            regions.by_name(reg)
        except KeyError:
            raise InputError(f"target {name}: default_place {what}={reg} names no region") from None
    return Target(name=name, cpu_hz=int(data["cpu_hz"]), bus_hz=int(data.get("bus_hz", data["cpu_hz"])),
                  regions=regions, icache=_cache(data.get("icache"), f"target {name} icache"),
                  dcache=_cache(data.get("dcache"), f"target {name} dcache"), notes=data.get("notes", ""),
                  default_place=place, fpu=data.get("fpu", "fpv5-d16"), source=data.get("source", ""))
