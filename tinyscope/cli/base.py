"""The base of every CLI verb: one class per verb, with its own arguments and an ``invoke``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from tinyscope.outputs import staged_folder

MODEL_HELP = "a .tflite, .h5, .keras or .onnx file, or zoo:<name>"


class Command:
    """A CLI verb. Subclasses set NAME and HELP, add arguments, and implement ``invoke``."""

    NAME = ""
    HELP = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare this verb's arguments."""

    def invoke(self, args: argparse.Namespace) -> int:
        raise NotImplementedError


_quiet = False


def set_quiet(quiet: bool) -> None:
    """--quiet (every verb has it): results go to the files the verb writes, nothing to stdout."""
    global _quiet
    _quiet = quiet


def out(text: str = "") -> None:
    """Print a result line to stdout, unless --quiet."""
    if not _quiet:
        sys.stdout.write(text + "\n")


def write_outputs(folder: Path, files: dict[str, str]) -> None:
    """Write text files into ``folder`` (created), all or none, or raise one clear InputError."""
    with staged_folder(folder) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")


def count(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi], else argparse's one-line error."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{v} is out of range ({lo:,} to {hi:,})")
        return v

    return parse


def add_timing_argument(parser: argparse.ArgumentParser) -> None:
    """``--timing instr|block``: the simulator's timing mode. instr (the default) times every instruction;
    block is faster and within 0.5 % of instr on whole programs (docs/simulator-speed.md)."""
    parser.add_argument("--timing", choices=("instr", "block"), default="instr",
                        help="simulator timing: per instruction (default) or per basic block (faster, within "
                             "0.5 %% on whole programs; see docs/simulator-speed.md)")


def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < v < 1e7:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return v


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
