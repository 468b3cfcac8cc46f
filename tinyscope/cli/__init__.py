"""The ``tinyscope`` command: a root parser and one Command class per verb.

Errors a user can cause (``TinyscopeError``) print one line on stderr and exit with status 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from tinyscope.cli.analyze import AnalyzeCommand
from tinyscope.cli.base import Command, OneLineParser, set_quiet
from tinyscope.cli.build import BuildCommand
from tinyscope.cli.generate import GenerateCommand
from tinyscope.cli.profile import ProfileCommand
from tinyscope.cli.report import ReportCommand
from tinyscope.cli.run import RunCommand
from tinyscope.cli.sim import SimCommand
from tinyscope.cli.study import StudyCommand
from tinyscope.cli.validate import ValidateCommand
from tinyscope.errors import TinyscopeError
from tinyscope.version import __version__

COMMANDS: list[type[Command]] = [AnalyzeCommand, GenerateCommand, ValidateCommand, BuildCommand, RunCommand,
                                  SimCommand, ProfileCommand, StudyCommand, ReportCommand]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = OneLineParser(prog="tinyscope", description=(
        "Analyze a neural network, generate C for Cortex-M7, build firmware and simulate it."))
    parser.add_argument("--version", action="version", version=f"tinyscope {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND")
    verbs: dict[str, Command] = {}
    for cls in COMMANDS:
        cmd = cls()
        p = sub.add_parser(cmd.NAME, help=cmd.HELP, description=cmd.HELP)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors")
        p.add_argument("--quiet", action="store_true", help="print nothing on success (errors still print)")
        cmd.add_arguments(p)
        verbs[cmd.NAME] = cmd
    return parser, verbs


def main(argv: list[str] | None = None) -> int:
    parser, verbs = build_parser()
    args = parser.parse_args(argv)
    if not args.verb:
        parser.print_help()
        return 2
    set_quiet(args.quiet)
    try:
        return verbs[args.verb].invoke(args)
    except TinyscopeError as exc:
        if args.debug:
            raise
        print(f"tinyscope {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinyscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tinyscope ... | head`: the reader left; not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep Python's exit flush quiet
        return 0
