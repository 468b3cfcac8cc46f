"""Grids of build configurations: the study's presets and user grids written in TOML.

A TOML grid is a list of runs, each a name and build options over the defaults:

    [[run]]
    name = "flash, caches on"
    place = "weights=flash,activations=axisram,code=flash,stack=axisram"
    icache = "on"
    dcache = "on"
    libc = "nano"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from tinyscope.build.config import BuildConfig
from tinyscope.build.firmware import check_config
from tinyscope.build.options import parse_place
from tinyscope.errors import InputError, TinyscopeError

CONFIG_1 = "weights=flash,activations=axisram,code=flash,stack=axisram"
CONFIG_2 = "weights=flash,activations=dtcm,code=flash,stack=axisram"
CONFIG_3 = "weights=flash,activations=dtcm,code=itcm,stack=axisram"
CONFIG_7 = "weights=flash,activations=dtcm,code=itcm,stack=dtcm"


@dataclass(frozen=True)
class Run:
    name: str
    config: BuildConfig


def _run(name: str, target: str, place: str, icache: bool = True, dcache: bool = True, libc: str = "nano",
         opt: str = "-O3") -> Run:
    return Run(name, BuildConfig(target=target, place=parse_place(place), icache=icache, dcache=dcache,
                                 libc=libc, opt=opt))


def preset(name: str, target: str = "stm32h743") -> list[Run]:
    """``seed``: the 2020 study's seven configurations; ``memcpy``: configuration 1 with both nanos."""
    if name == "seed":
        return [
            _run("1 no TCM, caches on", target, CONFIG_1),
            _run("2 activations in DTCM", target, CONFIG_2),
            _run("3 as 2 + code in ITCM", target, CONFIG_3),
            _run("4 as 2, I-cache off", target, CONFIG_2, icache=False),
            _run("5 as 2, D-cache off", target, CONFIG_2, dcache=False),
            _run("6 no TCM, caches off", target, CONFIG_1, icache=False, dcache=False),
            _run("7 all in TCM, caches on", target, CONFIG_7),
        ]
    if name == "memcpy":
        return [_run("1 nano (word memcpy)", target, CONFIG_1, libc="nano"),
                _run("1 nano-bytecopy (byte memcpy)", target, CONFIG_1, libc="nano-bytecopy")]
    raise InputError(f"unknown preset {name!r} (seed or memcpy)")


def _onoff(v, key: str, where: str) -> bool:
    if v in (True, "on"):
        return True
    if v in (False, "off"):
        return False
    raise InputError(f"{where}: {key} must be on or off, not {v!r}")


def load_grid(path: Path, target: str = "stm32h743") -> list[Run]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such grid file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    runs = data.get("run")
    if not isinstance(runs, list) or not runs:
        raise InputError(f"{path}: expected one or more [[run]] tables")
    out = []
    known = {"name", "target", "place", "icache", "dcache", "libc", "opt"}
    for i, r in enumerate(runs):
        where = f"{path}: run {i + 1}"
        if not isinstance(r, dict):
            raise InputError(f"{where}: expected a [[run]] table")
        extra = set(r) - known
        if extra:
            raise InputError(f"{where}: unknown keys {', '.join(sorted(extra))} (known: {', '.join(sorted(known))})")
        for k in ("name", "target", "place", "libc", "opt"):
            if k in r and not isinstance(r[k], str):
                raise InputError(f"{where}: {k} must be a string, not {type(r[k]).__name__}")
        try:
            run = _run(r.get("name", f"run {i + 1}"), r.get("target", target), r.get("place", ""),
                       _onoff(r.get("icache", "on"), "icache", where), _onoff(r.get("dcache", "on"), "dcache", where),
                       r.get("libc", "nano"), r.get("opt", "-O3"))
            check_config(run.config)  # the whole grid is checked before anything is built
        except TinyscopeError as exc:
            msg = str(exc)
            raise InputError(msg if msg.startswith(str(path)) else f"{where}: {msg}") from None
        out.append(run)
    return out
