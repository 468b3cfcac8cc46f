"""Grids of build configurations: the study's presets and user grids written in TOML.

A TOML grid is a list of runs, each a name and build options over the defaults (format and
examples: docs/grids.md):

    [[run]]
    name = "activations in DTCM"
    place = "activations=@data-tcm"
    icache = "on"
    dcache = "on"
    libc = "nano"

A region in ``place`` may be a role, resolved on each run's board: ``@default`` (the board's own
choice for that class), ``@data-tcm`` (its DTCM), ``@code-tcm`` (its ITCM RAM). Presets are written
with roles, so they run on any board; a configuration whose role the board lacks is left out, and
the study says so.

Every configuration is checked before anything is built: options, regions, and whether what
``analyze`` knows (weights, the input, activations, the stack) fits each region.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tinyscope.errors import InputError, TinyscopeError
from tinyscope.firmware.config import DEFAULTS, OPTIONS, BuildConfig, config_from_values, parse_place
from tinyscope.firmware.firmware import check_config
from tinyscope.plan.analyze import ModelFigures
from tinyscope.targets import DEFAULT_TARGET, load_target
from tinyscope.targets.memory_map import Target

if TYPE_CHECKING:
    from tinyscope.studies.firmware import FirmwareConfig

ROLES = {"@default": "default region", "@data-tcm": "DTCM (data TCM)", "@code-tcm": "ITCM RAM (instruction TCM)"}
NO_TCM = ""
DATA_TCM = "activations=@data-tcm"
CODE_TCM = "activations=@data-tcm,code=@code-tcm"
ALL_TCM = "activations=@data-tcm,code=@code-tcm,stack=@data-tcm"


@dataclass(frozen=True)
class Run:
    name: str
    config: BuildConfig | FirmwareConfig  # a model's build, or a firmware ELF run as it is


class RoleError(InputError):
    """A role the board does not have (no DTCM, no ITCM RAM)."""


def _role_region(target: Target, role: str, what: str) -> str:
    if role == "@default":
        if what not in target.default_place:
            raise RoleError(f"target {target.name} has no default region for {what}")
        return target.default_place[what]
    bus = {"@data-tcm": "dtcm", "@code-tcm": "itcm"}.get(role)
    if bus is None:
        raise InputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    found = [r for r in target.regions if r.bus == bus and r.kind == "ram" and not r.mirror_of]
    if not found:
        raise RoleError(f"target {target.name} has no {ROLES[role]} for {what}={role}")
    return max(found, key=lambda r: r.size).name


def resolve_roles(place: dict[str, str], target: Target) -> dict[str, str]:
    """``place`` with every ``@role`` replaced by the region that plays it on ``target``."""
    return {what: _role_region(target, region, what) if region.startswith("@") else region
            for what, region in place.items()}


def _run(name: str, config: BuildConfig) -> Run:
    """A run of ``config`` with every ``@role`` in its placement resolved on its board."""
    return Run(name, replace(config, place=resolve_roles(config.place, load_target(config.target))))


PRESETS = {
    "seed": [("1 no TCM, caches on", NO_TCM, {}), ("2 activations in DTCM", DATA_TCM, {}),
             ("3 as 2 + code in ITCM", CODE_TCM, {}), ("4 as 2, I-cache off", DATA_TCM, {"icache": False}),
             ("5 as 2, D-cache off", DATA_TCM, {"dcache": False}),
             ("6 no TCM, caches off", NO_TCM, {"icache": False, "dcache": False}),
             ("7 all in TCM, caches on", ALL_TCM, {})],
    "memcpy": [("1 nano (word memcpy)", NO_TCM, {"libc": "nano"}),
               ("1 nano-bytecopy (byte memcpy)", NO_TCM, {"libc": "nano-bytecopy"})],
}


def preset_runs(name: str, target: str = DEFAULT_TARGET) -> tuple[list[Run], list[str]]:
    """The runs of a preset on ``target`` and a note for each configuration the board cannot have."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r} ({' or '.join(PRESETS)})")
    runs, skipped = [], []
    for run_name, place, opts in PRESETS[name]:
        try:
            runs.append(_run(run_name, BuildConfig(target=target, place=parse_place(place), **opts)))
        except RoleError as exc:
            skipped.append(f"{run_name}: left out ({exc})")
    return runs, skipped


def preset(name: str, target: str = DEFAULT_TARGET) -> list[Run]:
    """``seed``: the 2020 study's seven configurations; ``memcpy``: configuration 1 with both nanos."""
    return preset_runs(name, target)[0]


def read_grid_runs(path: Path) -> list:
    """The ``[[run]]`` entries of a grid file, as parsed (model and firmware grids check them)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such grid file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a grid file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    runs = data.get("run")
    if not isinstance(runs, list) or not runs:
        raise InputError(f"{path}: expected one or more [[run]] tables")
    return runs


KEYS = {o.key: name for name, o in OPTIONS.items()}  # a grid key -> the BuildConfig field it sets


def load_grid(path: Path, target: str = DEFAULT_TARGET) -> list[Run]:
    """The runs of a model grid: every key is a build option (``name`` aside); a relative ``input``
    is relative to the grid file. The whole grid is checked before anything is built."""
    path = Path(path)
    out = []
    for i, r in enumerate(read_grid_runs(path)):
        where = f"{path}: run {i + 1}"
        if not isinstance(r, dict):
            raise InputError(f"{where}: expected a [[run]] table")
        keys = {k.replace("_", "-"): v for k, v in r.items()}
        extra = set(keys) - set(KEYS) - {"name"}
        if extra:
            raise InputError(f"{where}: unknown keys {', '.join(sorted(extra))} "
                             f"(known: name, {', '.join(sorted(KEYS))})")
        name = keys.pop("name", f"run {i + 1}")
        if not isinstance(name, str):
            raise InputError(f"{where}: name must be a string, not {type(name).__name__}")
        if isinstance(keys.get("input"), str) and not Path(keys["input"]).is_absolute():
            keys["input"] = str(path.parent / keys["input"])
        try:
            run = _run(name, config_from_values({KEYS[k]: v for k, v in keys.items()}, where,
                                                replace(DEFAULTS, target=target)))
            check_config(run.config)
        except TinyscopeError as exc:
            msg = str(exc)
            raise InputError(msg if msg.startswith(str(path)) else f"{where}: {msg}") from None
        out.append(run)
    return out


def placement_needs(run: Run, figures: ModelFigures) -> dict[str, dict[str, int]]:
    """Bytes each region must hold for ``run``, by what: known before any build from ``analyze``
    (weights, the input buffer, activations, the stack; code is known only after compiling, so it
    is not counted)."""
    _, placement = check_config(run.config)
    place = placement.as_dict()
    needs: dict[str, dict[str, int]] = {}
    for what, n in (("weights", figures.weights_bytes), ("input", sum(t.bytes for t in figures.inputs)),
                    ("activations", figures.activations_bytes), ("stack", run.config.stack_size)):
        needs.setdefault(place[what], {})[what] = n
    return needs


def check_fit(runs: list[Run], figures: ModelFigures) -> list[str]:
    """One line per configuration that cannot fit, saying which region overflows and by how much."""
    problems = []
    for run in runs:
        target = load_target(run.config.target)
        for region, parts in placement_needs(run, figures).items():
            r = target.regions.by_name(region)
            size = r.size
            total = sum(parts.values())
            if total > size:
                what = " + ".join(f"{k} {v:,}" for k, v in parts.items())
                problems.append(f"{run.name!r}: {region} needs {total:,} B ({what}) but holds {size:,} B "
                                f"({total - size:,} B over)")
    return problems
