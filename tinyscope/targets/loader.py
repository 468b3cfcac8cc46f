"""Read a board's TOML file into a ``Target``, checking the schema and that every figure carries a source.

``load_target(name)`` reads ``<name>.toml`` shipped in this package, or the file at ``name`` when it is a
path (``--target path/to/board.toml``); ``TARGETS`` lists the built-in names. The schema is documented in
docs/board-files.md; a bad file gives one InputError line naming the file and the key.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from tinyscope.errors import InputError
from tinyscope.targets.memory_map import (
    TIMING_FIELDS,
    Accelerator,
    Bus,
    CacheGeometry,
    MemoryMap,
    Peripheral,
    Region,
    Target,
    default_policy,
)

TARGETS: tuple[str, ...] = ("stm32h743", "stm32f746", "mps2-an500")
DEFAULT_TARGET = "stm32h743"

_TOP = {"base", "name", "cpu_hz", "bus_hz", "fpu", "source", "notes", "default_place", "icache", "dcache", "region",
        "peripheral", "peripheral_space"}
_PERIPHERAL = {"name", "model", "base", "size", "source"}
_SPACE = {"base", "size", "source"}
_CACHE = {"size", "ways", "line", "source", "estimate"}
_ACCEL = {"lines", "line", "enabled", "prefetch", "source", "estimate"}
_REGION = {"name", "aliases", "base", "size", "kind", "bus", "cacheable", "source", "timing_source", "estimate",
           "estimated", "mirror_of", "accel", *TIMING_FIELDS}
_PLACES = {"weights", "code", "activations", "stack"}
_FPUS = {"fpv5-d16", "fpv5-sp-d16", "none"}


def is_board_file(name: str) -> bool:
    """A --target value naming a file rather than a built-in board."""
    return name.endswith(".toml") or "/" in name or "\\" in name


def load_target(name: str) -> Target:
    """The built-in target called ``name``, or the board file at path ``name`` (read each time: the user
    may be editing it); InputError otherwise."""
    if is_board_file(name):
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"board file {name}: cannot read it ({exc.strerror or exc})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"board file {name}: not valid TOML ({exc})") from None
        data = _inherit(data, path, f"board file {name}")
        t = parse_target(data, path.stem, where=f"board file {name}")
        return Target(**{**t.__dict__, "path": str(path.resolve())})
    return _builtin(name)


@cache
def _builtin(name: str) -> Target:
    return parse_target(_builtin_data(name), name)


def _builtin_data(name: str) -> dict[str, Any]:
    if name not in TARGETS:
        raise InputError(f"unknown target {name!r} (known: {', '.join(TARGETS)}, or a path to a board .toml file)")
    return tomllib.loads(resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8"))


def _inherit(data: dict[str, Any], path: Path, where: str, depth: int = 0) -> dict[str, Any]:
    """A variant file (``base = "stm32h743"`` or a path relative to it) changes only what it names: its
    top-level keys replace the base's, tables merge key by key, and a ``[[region]]`` or ``[[peripheral]]``
    whose name the base has changes those keys of that entry (others are added). So a what-if such as one
    more flash wait state is a five-line file."""
    base = data.get("base")
    if base is None:
        return data
    if not isinstance(base, str) or depth > 4:
        raise InputError(f"{where}: base must name a built-in board or a board file (at most 4 levels deep)")
    if is_board_file(base):
        bpath = (path.parent / base).resolve()
        try:
            parent = tomllib.loads(bpath.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{where}: base {base}: cannot read it ({exc})") from None
        parent = _inherit(parent, bpath, f"board file {base}", depth + 1)
    else:
        parent = _builtin_data(base)
    merged = {k: v for k, v in parent.items() if k != "name"}
    for key, value in data.items():
        if key == "base":
            continue
        if key in ("region", "peripheral") and isinstance(value, list):
            merged[key] = _merge_named(parent.get(key, []), value, f"{where}, {key}")
        elif isinstance(value, dict) and isinstance(parent.get(key), dict):
            merged[key] = {**parent[key], **value}
        else:
            merged[key] = value
    merged.setdefault("name", f"{parent.get('name', base)}+{path.stem}")
    return merged


def _merge_named(base: list[Any], changes: list[Any], where: str) -> list[dict[str, Any]]:
    out = [dict(e) for e in base]
    index = {str(e.get("name", "")).lower(): e for e in out}
    for c in changes:
        if not isinstance(c, dict) or not c.get("name"):
            raise InputError(f"{where}: each entry needs a name")
        hit = index.get(str(c["name"]).lower())
        if hit is None:
            out.append(dict(c))
        else:
            hit.update(c)
    return out


def _keys(d: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(d) - allowed
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(allowed: {', '.join(sorted(allowed))})")


def _int(d: dict[str, Any], key: str, where: str, default: int | None = None, low: int = 0) -> int:
    v = d.get(key, default)
    if v is None:
        raise InputError(f"{where}: missing {key}")
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise InputError(f"{where}: {key} must be an integer >= {low}, not {v!r}")
    return v


def _cache(d: dict[str, Any] | None, where: str) -> CacheGeometry | None:
    if not d:
        return None
    _keys(d, _CACHE, where)
    if not d.get("source") and not d.get("estimate"):
        raise InputError(f"{where}: cache geometry needs a source or estimate = true")
    size, ways, line = _int(d, "size", where, low=1), _int(d, "ways", where, low=1), _int(d, "line", where, low=4)
    if line & (line - 1) or size % (ways * line) or (size // (ways * line)) & (size // (ways * line) - 1):
        raise InputError(f"{where}: size / (ways x line) must give a power-of-two number of sets, "
                         "and line a power of two")
    return CacheGeometry(size, ways, line, str(d.get("source", "estimate")))


def _accel(d: dict[str, Any] | None, where: str) -> Accelerator | None:
    if not d:
        return None
    where = f"{where}, accel"
    _keys(d, _ACCEL, where)
    if not d.get("source") and not d.get("estimate"):
        raise InputError(f"{where}: needs a source or estimate = true")
    line = _int(d, "line", where, low=4)
    if line & (line - 1):
        raise InputError(f"{where}: line must be a power of two")
    return Accelerator(_int(d, "lines", where, low=1), line, bool(d.get("enabled", True)),
                       bool(d.get("prefetch", True)), str(d.get("source", "estimate")), bool(d.get("estimate", False)))


def _region(d: dict[str, Any], where: str) -> Region:
    where = f"{where}, region {d.get('name')!r}"
    _keys(d, _REGION, where)
    try:
        name, kind, bus = d["name"], d["kind"], d["bus"]
    except KeyError as exc:
        raise InputError(f"{where}: missing {exc.args[0]}") from None
    base, size = _int(d, "base", where), _int(d, "size", where, low=1)
    if kind not in ("flash", "ram") or bus not in get_args(Bus):
        raise InputError(f"{where}: kind must be flash|ram and bus {'|'.join(get_args(Bus))}")
    if not d.get("source"):
        raise InputError(f"{where}: base and size need a source")
    timing = {k: _int(d, k, where, 0) for k in TIMING_FIELDS if k in d}
    estimated = d.get("estimated", list(TIMING_FIELDS) if d.get("estimate") else [])
    if not isinstance(estimated, list) or set(estimated) - set(TIMING_FIELDS):
        raise InputError(f"{where}: estimated must list some of {', '.join(TIMING_FIELDS)}")
    if timing and not (d.get("timing_source") or estimated):
        raise InputError(f"{where}: latencies need timing_source or estimate = true")
    if timing.get("bus_bits", 64) not in (32, 64):
        raise InputError(f"{where}: bus_bits must be 32 or 64")
    if timing.get("word_bits", 0) and timing["word_bits"] % 32:
        raise InputError(f"{where}: word_bits must be a multiple of 32")
    policy = d.get("cacheable", default_policy(base, bus))
    if policy not in ("wt", "wbwa", "none"):
        raise InputError(f"{where}: cacheable must be wt|wbwa|none")
    return Region(name=name.lower(), base=base, size=size, kind=kind, bus=bus, **timing, cacheable=policy,
                  aliases=tuple(a.lower() for a in d.get("aliases", ())), source=d["source"],
                  timing_source=d.get("timing_source", ""),
                  estimated=tuple(k for k in TIMING_FIELDS if k in estimated and k in timing),
                  accel=_accel(d.get("accel"), where), mirror_of=d.get("mirror_of", ""))


def parse_target(data: dict[str, Any], name: str = "", where: str = "") -> Target:
    """Build a Target from parsed TOML (exposed so tests and users can describe their own boards)."""
    name = data.get("name", name)
    where = where or f"target {name}"
    _keys(data, _TOP, where)
    cpu_hz = _int(data, "cpu_hz", where, low=1)
    bus_hz = _int(data, "bus_hz", where, cpu_hz, low=1)
    if cpu_hz % bus_hz:
        raise InputError(f"{where}: cpu_hz must be a whole multiple of bus_hz")
    if not isinstance(data.get("region"), list) or not data["region"]:
        raise InputError(f"{where}: needs at least one [[region]]")
    try:
        regions = MemoryMap(tuple(_region(r, where) for r in data["region"]))
    except ValueError as exc:
        raise InputError(f"{where}: bad memory map: {exc}") from None
    for r in regions:
        if r.mirror_of:
            try:
                regions.by_name(r.mirror_of)
            except KeyError:
                raise InputError(f"{where}: region {r.name} mirror_of={r.mirror_of} names no region") from None
    place = dict(data.get("default_place", {}))
    for what, reg in place.items():
        if what not in _PLACES:
            raise InputError(f"{where}: default_place {what} is not one of {', '.join(sorted(_PLACES))}")
        try:
            regions.by_name(reg)
        except KeyError:
            raise InputError(f"{where}: default_place {what}={reg} names no region") from None
    fpu = data.get("fpu", "fpv5-d16")
    if fpu not in _FPUS:
        raise InputError(f"{where}: fpu must be one of {', '.join(sorted(_FPUS))}")
    icache, dcache = _cache(data.get("icache"), f"{where}, icache"), _cache(data.get("dcache"), f"{where}, dcache")
    if icache and dcache and icache.line != dcache.line:
        raise InputError(f"{where}: the I-cache and D-cache lines must have the same length")
    devices, space = _peripherals(data, regions, where)
    return Target(name=name, cpu_hz=cpu_hz, bus_hz=bus_hz, regions=regions, icache=icache, dcache=dcache,
                  notes=data.get("notes", ""), default_place=place, fpu=fpu, source=data.get("source", ""),
                  peripherals=devices, peripheral_space=space)


def _peripherals(data: dict[str, Any], regions: MemoryMap, where: str) -> tuple[tuple[Peripheral, ...],
                                                                                  tuple[int, int]]:
    """The modelled devices ([[peripheral]]: name, model, base, size, source) and the address range where
    anything else reads as zero ([peripheral_space]: base, size, source); none may overlap memory."""
    devices = []
    for d in data.get("peripheral", []):
        w = f"{where}, peripheral {d.get('name')!r}"
        _keys(d, _PERIPHERAL, w)
        if not d.get("source") or not d.get("model") or not d.get("name"):
            raise InputError(f"{w}: needs name, model and source (the reference manual section)")
        devices.append(Peripheral(str(d["name"]).lower(), str(d["model"]), _int(d, "base", w),
                                  _int(d, "size", w, low=4), str(d["source"])))
    devices.sort(key=lambda p: p.base)
    for a, b in zip(devices, devices[1:]):
        if b.base < a.end:
            raise InputError(f"{where}: peripherals {a.name} and {b.name} overlap")
    space = (0, 0)
    if "peripheral_space" in data:
        d = data["peripheral_space"]
        w = f"{where}, peripheral_space"
        _keys(d, _SPACE, w)
        if not d.get("source"):
            raise InputError(f"{w}: needs a source")
        base = _int(d, "base", w)
        space = (base, base + _int(d, "size", w, low=4))
    for p in devices + ([Peripheral("peripheral_space", "", space[0], space[1] - space[0], "")] if space[1] else []):
        for r in regions:
            if p.base < r.end and r.base < p.end:
                raise InputError(f"{where}: {p.name} at 0x{p.base:08x} overlaps region {r.name}")
    return tuple(devices), space
