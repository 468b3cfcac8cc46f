"""The record of one firmware configuration, and the one table of build options.

Each field of ``BuildConfig`` carries its option: the CLI flag, the help, and how a value is read from
the command line or a grid file. The CLI's build options (``firmware/options.py``), the study grid keys
(``studies/grid.py``, docs/grids.md) and every default derive from these fields; nothing else writes a
default down. ``check_config`` (firmware/firmware.py) then checks a whole configuration against its board.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tinyscope.errors import InputError
from tinyscope.firmware.toolchain import LIBCS, OPTS
from tinyscope.targets import DEFAULT_TARGET, TARGETS, is_board_file


def resolve_target(value: Any) -> str:
    """A built-in board name, or the path of a board file (docs/board-files.md) made absolute so worker
    processes and the build cache see the same file. The file itself is read when used."""
    text = _text(value, "target")
    if is_board_file(text):
        return str(Path(text).expanduser().resolve())
    if text not in TARGETS:
        raise InputError(f"unknown target {text!r} (choose {', '.join(TARGETS)}, or give the path of a board "
                         ".toml file)")
    return text


def parse_place(value: Any) -> dict[str, str]:
    """``weights=flash,activations=dtcm`` -> dict (regions by name or ``@role``, resolved per board)."""
    if isinstance(value, Mapping):
        return {str(k).lower(): str(v).lower() for k, v in value.items()}
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in _text(value, "place").split(","))):
        what, eq, region = item.partition("=")
        if not eq or not what.strip() or not region.strip():
            raise InputError(f"place item {item!r} is not CLASS=REGION (e.g. weights=flash,activations=dtcm)")
        out[what.strip().lower()] = region.strip().lower()
    return out


def on_off(value: Any) -> bool:
    if value in (True, "on"):
        return True
    if value in (False, "off"):
        return False
    raise InputError(f"expected on or off, not {value!r}")


def opt_level(value: Any) -> str:
    """``-O3``, ``O3`` or ``3`` -> ``-O3``."""
    flag = "-O" + _text(value, "opt").lstrip("-").removeprefix("O")
    if flag not in OPTS:
        raise InputError(f"unknown optimisation level {value!r} (choose {', '.join(OPTS)})")
    return flag


def libc_name(value: Any) -> str:
    text = _text(value, "libc")
    if text not in LIBCS:
        raise InputError(f"unknown libc {text!r} (choose {', '.join(LIBCS)})")
    return text


def whole(value: Any) -> int:
    """A whole number, from an int or its text (never a bool: TOML's true is not 1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    raise InputError(f"expected a whole number, not {value!r}")


def input_shape(value: Any) -> tuple[int, ...]:
    """``1x3x32x32`` (or with commas, or a list of numbers): whole numbers >= 1, in the model's layout."""
    if isinstance(value, list | tuple):
        dims = tuple(whole(v) for v in value)
    else:
        try:
            dims = tuple(int(p) for p in _text(value, "input shape").replace(",", "x").lower().split("x") if p.strip())
        except ValueError:
            dims = ()
    if not dims or any(d < 1 for d in dims):
        raise InputError(f"{value!r} is not a shape such as 1x3x32x32 (whole numbers >= 1)")
    return dims


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _regions_help() -> str:
    """Region names per built-in board, for --place's help (read from the board files when asked)."""
    from tinyscope.targets import load_target

    parts = []
    for name in TARGETS:
        regs = [r.name + (f" ({r.aliases[0]})" if r.aliases else "") for r in load_target(name).regions]
        parts.append(f"{name}: {', '.join(regs)}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Option:
    """How one BuildConfig field is given: ``--flag VALUE`` on the command line, ``key = value`` in a grid."""

    flag: str
    help: str | Callable[[], str]  # a callable when the text must read the board files
    parse: Callable[[Any], Any]  # command-line text or a grid value -> the field's value; InputError if bad
    show: Callable[[Any], str] = str  # the field's value as the command line writes it
    choices: tuple[str, ...] | None = None
    metavar: str | None = None

    @property
    def key(self) -> str:
        """The grid file's key: the flag without its dashes (``--stack-size`` -> ``stack-size``)."""
        return self.flag.removeprefix("--")

    def help_text(self) -> str:
        return self.help() if callable(self.help) else self.help


def _option(default: Any, **kw: Any) -> Any:
    meta = {"option": Option(**kw)}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


def _onoff_text(v: bool) -> str:
    return "on" if v else "off"


def _place_text(place: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in place.items())


TARGET_HELP = f"board: {', '.join(TARGETS)}, or a board file path/to/board.toml (schema: docs/board-files.md)"
INPUT_SHAPE_HELP = ("ONNX only: the input's dimensions in the model's layout, e.g. 1x3x32x32, for a model "
                    "with dynamic dimensions (a dynamic batch alone becomes 1)")


@dataclass(frozen=True)
class BuildConfig:
    """Everything that changes the firmware bytes, except the model itself (hashed separately)."""

    target: str = _option(DEFAULT_TARGET, flag="--target", help=TARGET_HELP, parse=resolve_target, metavar="BOARD")
    place: dict[str, str] = _option(
        {}, flag="--place", parse=parse_place, show=_place_text, metavar="CLASS=REGION,...",
        help=lambda: "placement: weights=R,activations=R,code=R,stack=R,input=R; default: the target's "
                     "(stm32h743: code and weights in flash, the rest in axisram; the input beside the "
                     "activations). Regions: " + _regions_help())
    icache: bool = _option(True, flag="--icache", parse=on_off, show=_onoff_text, choices=("on", "off"),
                           help="instruction cache switched on by the firmware")
    dcache: bool = _option(True, flag="--dcache", parse=on_off, show=_onoff_text, choices=("on", "off"),
                           help="data cache switched on by the firmware")
    libc: str = _option("nano", flag="--libc", parse=libc_name, choices=LIBCS,
                        help="newlib (memcpy-armv7m.S), nano (Debian's word-copy nano) or nano-bytecopy (nano with "
                             "the byte-loop memcpy of Arm's own nano builds)")
    opt: str = _option("-O3", flag="--opt", parse=opt_level, metavar="LEVEL",
                       help="optimisation level for the network and kernels: --opt -O2, --opt=O2 or -O2")
    stack_size: int = _option(16384, flag="--stack-size", parse=whole, metavar="BYTES",
                              help="stack bytes (a multiple of 8, at least 1024)")
    input_path: str | None = _option(None, flag="--input", parse=lambda v: _text(v, "input"), metavar="FILE",
                                     help="input sample (.npy/.npz/.csv); default: seeded random")
    seed: int = _option(0, flag="--seed", parse=whole, metavar="N", help="seed of the random input")
    input_shape: tuple[int, ...] | None = _option(None, flag="--input-shape", parse=input_shape, metavar="DIMS",
                                                  help=INPUT_SHAPE_HELP)

    def as_dict(self) -> dict:
        return asdict(self)


OPTIONS: dict[str, Option] = {f.name: f.metadata["option"] for f in fields(BuildConfig)}  # field -> option
DEFAULTS: BuildConfig = BuildConfig()


def config_from_values(values: Mapping[str, Any], where: str = "", base: BuildConfig = DEFAULTS) -> BuildConfig:
    """``base`` with the options in ``values`` (keyed by field name) read by their parsers; an error
    names ``where`` (e.g. a grid file's run) and the option."""
    changes = {}
    for name, value in values.items():
        option = OPTIONS[name]
        try:
            changes[name] = option.parse(value)
        except InputError as exc:
            raise InputError(f"{where + ': ' if where else ''}{option.key}: {exc}") from None
    return BuildConfig(**{**asdict(base), **changes})
