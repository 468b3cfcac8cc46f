"""The base of every CLI verb: one class per verb, with its own arguments and an ``invoke``."""

from __future__ import annotations

import argparse
import sys


class Command:
    """A CLI verb. Subclasses set NAME and HELP, add arguments, and implement ``invoke``."""

    NAME = ""
    HELP = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare this verb's arguments."""

    def invoke(self, args: argparse.Namespace) -> int:
        raise NotImplementedError


def out(text: str = "") -> None:
    """Print a result line to stdout (kept in one place so --quiet can silence it later)."""
    sys.stdout.write(text + "\n")
