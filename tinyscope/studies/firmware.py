"""Studies over firmware someone else built: a grid of (ELF, board, forced caches).

There is nothing to build, so a configuration is an ELF run as it is on a board, with each cache either
forced on or off or left to what the firmware writes to CCR. Placements are the user's builds: link the
firmware seven ways and list the seven ELFs to redo the 2020 study's configurations. A grid file
(docs/grids.md, "Firmware grids"):

    [[run]]
    name = "my build, D-cache off"
    firmware = "build/app.elf"       # relative to the grid file
    dcache = "off"                   # on | off | firmware (the default)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyscope.errors import InputError
from tinyscope.profile.elf import ELF_SUFFIXES
from tinyscope.studies.grid import Run, read_grid_runs
from tinyscope.targets import DEFAULT_TARGET, load_target

FORCED = {"on": True, "off": False, "firmware": None, True: True, False: False}
_KEYS = {"name", "firmware", "target", "icache", "dcache", "strict"}
_BUILD_KEYS = {"place", "libc", "opt"}


@dataclass(frozen=True)
class FirmwareConfig:
    """One firmware run: what to simulate and the what-ifs applied to it."""
    firmware: str
    target: str = DEFAULT_TARGET
    icache: bool | None = None  # None: as the firmware sets CCR
    dcache: bool | None = None
    strict: bool = False


FIRMWARE_PRESETS: dict[str, list[tuple[str, bool | None, bool | None]]] = {
    "caches": [("caches as the firmware sets them", None, None), ("I-cache forced off", False, None),
               ("D-cache forced off", None, False), ("both caches forced off", False, False),
               ("both caches forced on", True, True)],
}


def firmware_files(path: str | Path) -> list[Path]:
    """The ELF ``path``, or every ELF in the folder ``path`` (sorted by name)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in ELF_SUFFIXES)
        if not files:
            raise InputError(f"{p}: no firmware in this folder (expected {', '.join(ELF_SUFFIXES)})")
        return files
    if not p.is_file():
        raise InputError(f"{p}: no such firmware file")
    return [p]


def firmware_preset(name: str, firmware: str | Path, target: str = DEFAULT_TARGET) -> list[Run]:
    """``caches``: the firmware as it is, then with each cache and both forced off, then both forced on."""
    if name not in FIRMWARE_PRESETS:
        raise InputError(f"preset {name!r} rebuilds a model; for firmware the presets are "
                         f"{', '.join(FIRMWARE_PRESETS)} (or a --grid of your own builds)")
    load_target(target)
    return [Run(label, FirmwareConfig(str(firmware), target, ic, dc)) for label, ic, dc in FIRMWARE_PRESETS[name]]


def _forced(v: object, key: str, where: str) -> bool | None:
    if isinstance(v, bool | str) and v in FORCED:
        return FORCED[v]
    raise InputError(f"{where}: {key} must be on, off or firmware, not {v!r}")


def is_firmware_grid(path: Path) -> bool:
    """A grid whose runs name firmware ELFs (rather than build options for a model)."""
    try:
        runs = read_grid_runs(path)
    except InputError:
        return False  # load_grid reports what is wrong with it
    return any(isinstance(r, dict) and "firmware" in r for r in runs)


def load_firmware_grid(path: Path, target: str = DEFAULT_TARGET, firmware: str | Path | None = None) -> list[Run]:
    """The runs of a firmware grid, every ELF and board checked before anything runs. A run without
    ``firmware`` uses ``firmware`` (the ELF on the command line)."""
    path = Path(path)
    runs = read_grid_runs(path)
    out = []
    for i, r in enumerate(runs):
        where = f"{path}: run {i + 1}"
        if not isinstance(r, dict):
            raise InputError(f"{where}: expected a [[run]] table")
        build = set(r) & _BUILD_KEYS
        if build:
            raise InputError(f"{where}: {', '.join(sorted(build))} shape a build; a firmware run takes the ELF as it "
                             "was built (link one ELF per placement and list each)")
        extra = set(r) - _KEYS
        if extra:
            raise InputError(f"{where}: unknown keys {', '.join(sorted(extra))} (known: {', '.join(sorted(_KEYS))})")
        for k in ("name", "firmware", "target"):
            if k in r and not isinstance(r[k], str):
                raise InputError(f"{where}: {k} must be a string, not {type(r[k]).__name__}")
        if "firmware" in r:
            elf = Path(r["firmware"])
            elf = elf if elf.is_absolute() else path.parent / elf
        elif firmware is not None:
            elf = Path(firmware)
        else:
            raise InputError(f"{where}: no firmware (give firmware = \"app.elf\", or the ELF on the command line)")
        if not elf.is_file():
            raise InputError(f"{where}: firmware {elf}: no such file")
        if elf.suffix.lower() not in ELF_SUFFIXES:
            raise InputError(f"{where}: firmware {elf}: not an ELF ({', '.join(ELF_SUFFIXES)})")
        board = r.get("target", target)
        try:
            load_target(board)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        if not isinstance(r.get("strict", False), bool):
            raise InputError(f"{where}: strict must be true or false")
        cfg = FirmwareConfig(str(elf), board, _forced(r.get("icache", "firmware"), "icache", where),
                             _forced(r.get("dcache", "firmware"), "dcache", where), r.get("strict", False))
        out.append(Run(r.get("name", f"run {i + 1}"), cfg))
    return out
