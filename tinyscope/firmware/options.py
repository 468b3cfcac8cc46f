"""The build options on the command line, derived from ``BuildConfig``'s fields (firmware/config.py):
every verb that builds firmware (build, run, profile) adds them with ``add_build_arguments`` and turns
them into a ``BuildConfig`` with ``config_from_args``; verbs that take only a board or an input shape
add that one option with ``add_option``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tinyscope.errors import InputError
from tinyscope.firmware.config import DEFAULTS, OPTIONS, BuildConfig, config_from_values, opt_level


def _argtype(parse: Callable[[Any], Any]) -> Callable[[str], Any]:
    """A parser as an argparse ``type``: its InputError becomes argparse's one-line usage error."""
    def read(text: str) -> Any:
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    read.__name__ = getattr(parse, "__name__", "value")
    return read


FORCED_CACHE = ("on", "off", "firmware")
FORCED_CACHE_HELP = ("; for a firmware ELF: on or off forces the cache whatever the firmware writes to CCR, "
                     "firmware (the default) follows it")
SIMULATION_OPTIONS = ("target", "icache", "dcache")  # the build options that also apply to a firmware ELF


def add_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, name: str, firmware: bool = False,
               given_only: bool = True) -> None:
    """Add BuildConfig's option ``name``; the help shows the field's default. ``given_only``: the argparse
    default is None, so the verb can tell what was given (``config_from_args`` fills in the rest);
    otherwise it is the field's default. ``firmware``: --icache/--dcache also take ``firmware``."""
    o = OPTIONS[name]
    default = getattr(DEFAULTS, name)
    shown = o.show(default) if default not in ("", None, {}) else ""
    kw: dict[str, Any] = {"dest": name, "default": None if given_only else default, "type": _argtype(o.parse),
                          "help": o.help_text() + (f" (default: {shown})" if shown else "")}
    if o.choices:
        kw.update(choices=o.choices, type=str)
    if firmware and name in ("icache", "dcache"):
        kw.update(choices=FORCED_CACHE, help=o.help_text() + f" (default for a model: {shown})" + FORCED_CACHE_HELP)
    if o.metavar:
        kw["metavar"] = o.metavar
    if name == "opt":  # `--opt -O3` parses as a bare --opt followed by -O3, which sets the same dest
        kw.update(nargs="?", const=None)
    parser.add_argument(o.flag, **kw)
    if name == "opt":
        parser.add_argument("-O", dest="opt", type=_argtype(lambda v: opt_level("-O" + v)), help=argparse.SUPPRESS)


def add_build_arguments(parser: argparse.ArgumentParser, firmware: bool = False) -> None:
    """Every BuildConfig option, in one argument group. ``firmware``: the verb also takes a built ELF,
    whose caches --icache/--dcache can force (on|off) or leave to the firmware (firmware)."""
    group = parser.add_argument_group("build options")
    for name in OPTIONS:
        add_option(group, name, firmware)


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The build options the command line set, by field name."""
    return {name: getattr(args, name) for name in OPTIONS if getattr(args, name, None) is not None}


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    given = given_options(args)
    if "firmware" in (given.get("icache"), given.get("dcache")):
        raise InputError("--icache/--dcache firmware applies to a firmware ELF; a model's build switches its "
                         "caches on or off")
    return config_from_values(given)


def forced_cache(value: str | None) -> bool | None:
    """--icache/--dcache for a firmware ELF: True/False forced, None as the firmware sets it."""
    return None if value in (None, "firmware") else value == "on"
