"""The base of every CLI verb: one class per verb, with its own arguments and an ``invoke``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinyscope.errors import InputError


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
    """Write text files into ``folder`` (created), or raise one clear InputError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write to {folder}: {exc.strerror or exc}") from exc
