"""The build options, declared once: every CLI verb that builds firmware (build, run, profile, study)
adds them with ``add_build_arguments`` and turns them into a ``BuildConfig`` with ``config_from_args``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyscope.errors import InputError
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.toolchain import LIBCS, OPTS
from tinyscope.targets import DEFAULT_TARGET, TARGETS, is_board_file


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None


def parse_place(text: str) -> dict[str, str]:
    """``weights=flash,activations=dtcm`` -> dict; InputError on a malformed item."""
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        what, eq, region = item.partition("=")
        if not eq or not what.strip() or not region.strip():
            raise InputError(f"--place item {item!r} is not CLASS=REGION (e.g. weights=flash,activations=dtcm)")
        out[what.strip().lower()] = region.strip().lower()
    return out


def resolve_target(text: str) -> str:
    """A built-in board name, or the path of a board file (docs/board-files.md) made absolute so worker
    processes and the build cache see the same file; InputError otherwise. The file is read when used."""
    if is_board_file(text):
        return str(Path(text).expanduser().resolve())
    if text not in TARGETS:
        raise InputError(f"unknown target {text!r} (choose {', '.join(TARGETS)}, "
                         "or give the path of a board .toml file)")
    return text


def target_arg(text: str) -> str:
    """``--target``: ``resolve_target``, with argparse's one-line error."""
    try:
        return resolve_target(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def input_shape_arg(text: str) -> tuple[int, ...]:
    """``--input-shape 1x3x32x32`` (or with commas): whole numbers >= 1, in the model's own layout."""
    parts = [p for p in text.replace(",", "x").lower().split("x") if p.strip()]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape such as 1x3x32x32 (whole numbers >= 1)")
    return dims


INPUT_SHAPE_HELP = ("ONNX only: the input's dimensions in the model's layout, e.g. 1x3x32x32, for a model "
                    "with dynamic dimensions (a dynamic batch alone becomes 1)")


def add_input_shape_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-shape", type=input_shape_arg, default=None, metavar="DIMS", help=INPUT_SHAPE_HELP)


TARGET_HELP = f"board: {', '.join(TARGETS)}, or a board file path/to/board.toml (schema: docs/board-files.md)"


def _onoff(text: str) -> bool:
    return text == "on"


def opt_level(text: str) -> str:
    """``-O3``, ``O3`` or ``3`` -> ``-O3`` (argparse cannot take ``--opt -O3`` as a value, see add_build_arguments)."""
    flag = "-O" + text.lstrip("-").removeprefix("O")
    if flag not in OPTS:
        raise argparse.ArgumentTypeError(f"unknown optimisation level {text!r} (choose {', '.join(OPTS)})")
    return flag


def _regions_help() -> str:
    """Region names per target, for --place's help (read from the target files)."""
    from tinyscope.targets import load_target

    parts = []
    for name in TARGETS:
        regs = [r.name + (f" ({r.aliases[0]})" if r.aliases else "") for r in load_target(name).regions]
        parts.append(f"{name}: {', '.join(regs)}")
    return "; ".join(parts)


BUILD_OPTIONS: tuple[Option, ...] = (
    Option("--target", "target", DEFAULT_TARGET, TARGET_HELP, metavar="BOARD"),
    Option("--place", "place", "", "placement: weights=R,activations=R,code=R,stack=R,input=R; default: the "
           "target's (stm32h743: code and weights in flash, the rest in axisram; the input beside the activations). "
           "Regions: " + _regions_help(),
           metavar="CLASS=REGION,..."),
    Option("--icache", "icache", "on", "instruction cache switched on by the firmware", ("on", "off")),
    Option("--dcache", "dcache", "on", "data cache switched on by the firmware", ("on", "off")),
    Option("--libc", "libc", "nano", "newlib (memcpy-armv7m.S), nano (Debian's word-copy nano) or nano-bytecopy "
           "(nano with the byte-loop memcpy of Arm's own nano builds)", LIBCS),
    Option("--opt", "opt", "-O3", "optimisation level for the network and kernels: --opt -O2, --opt=O2 or -O2",
           metavar="LEVEL"),
    Option("--stack-size", "stack_size", 16384, "stack bytes", metavar="BYTES"),
    Option("--input", "input", None, "input sample (.npy/.npz/.csv); default: seeded random", metavar="FILE"),
    Option("--seed", "seed", 0, "seed of the random input", metavar="N"),
    Option("--input-shape", "input_shape", None, INPUT_SHAPE_HELP, metavar="DIMS"),
)


FORCED_CACHE = ("on", "off", "firmware")
FORCED_CACHE_HELP = ("; for a firmware ELF: on or off forces the cache whatever the firmware writes to CCR, "
                     "firmware (the default) follows it")


def add_build_arguments(parser: argparse.ArgumentParser, firmware: bool = False) -> None:
    """``firmware``: the verb also takes a built ELF, whose caches --icache/--dcache can force (on|off) or
    leave to the firmware (firmware); for a model they stay what the built firmware switches on."""
    group = parser.add_argument_group("build options")
    for o in BUILD_OPTIONS:
        shown = " (default: %(default)s)" if o.default not in ("", None) else ""
        kw: dict[str, Any] = {"dest": o.dest, "default": o.default, "help": o.help + shown}
        if o.choices:
            kw["choices"] = o.choices
        if firmware and o.dest in ("icache", "dcache"):
            kw.update(choices=FORCED_CACHE, default=None,
                      help=o.help + f" (default for a model: {o.default})" + FORCED_CACHE_HELP)
        if o.metavar:
            kw["metavar"] = o.metavar
        if isinstance(o.default, int):
            kw["type"] = int
        if o.dest == "target":
            kw["type"] = target_arg
        if o.dest == "input_shape":
            kw["type"] = input_shape_arg
        if o.dest == "opt":  # `--opt -O3` parses as a bare --opt followed by -O3, which sets the same dest
            kw.update(type=opt_level, nargs="?", const=None)
        group.add_argument(o.flag, **kw)
    group.add_argument("-O", dest="opt", type=lambda v: opt_level("-O" + v), help=argparse.SUPPRESS)


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    defaults = {o.dest: o.default for o in BUILD_OPTIONS}
    icache, dcache = (getattr(args, k) or defaults[k] for k in ("icache", "dcache"))
    if "firmware" in (icache, dcache):
        raise InputError("--icache/--dcache firmware applies to a firmware ELF; a model's build switches its "
                         "caches on or off")
    return BuildConfig(target=args.target, place=parse_place(args.place or ""), icache=_onoff(icache),
                       dcache=_onoff(dcache), libc=args.libc, opt=args.opt or "-O3", stack_size=args.stack_size,
                       input_path=args.input, seed=args.seed, input_shape=args.input_shape)


def forced_cache(value: str | None) -> bool | None:
    """--icache/--dcache for a firmware ELF: True/False forced, None as the firmware sets it."""
    return None if value in (None, "firmware") else value == "on"
