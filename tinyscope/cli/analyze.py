"""`tinyscope analyze MODEL`: placeholder until the analyze helper lands (replaced in this session)."""

from __future__ import annotations

from tinyscope.cli.base import Command


class AnalyzeCommand(Command):
    NAME = "analyze"
    HELP = "report params, MACC, ROM and RAM of a model in ST's vocabulary"

    def add_arguments(self, parser):
        parser.add_argument("model")

    def invoke(self, args):
        raise NotImplementedError
