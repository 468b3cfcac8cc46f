"""`tinyscope analyze MODEL`: params, MACC, ROM and RAM of a model, as X-CUBE-AI reports them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import MODEL_HELP, Command, out, write_outputs
from tinyscope.firmware.options import add_option
from tinyscope.frontend import load
from tinyscope.plan.analyze import analyze
from tinyscope.report.analyze_text import render_analyze


class AnalyzeCommand(Command):
    NAME = "analyze"
    HELP = "report params, MACC, weights (ro), activations (rw) and ram (total) of a model"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        add_option(parser, "input_shape")
        parser.add_argument("--json", action="store_true",
                            help="print one JSON object (docs/analyze-json.md)")
        parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                            help="also write report.txt and report.json into DIR")

    def invoke(self, args: argparse.Namespace) -> int:
        figures = analyze(load(args.model, args.input_shape))
        text = render_analyze(figures)
        doc = json.dumps(figures.to_json(), indent=2)
        if args.output:
            write_outputs(args.output, {"report.txt": text, "report.json": doc + "\n"})
        out(doc if args.json else text.rstrip("\n"))
        return 0
