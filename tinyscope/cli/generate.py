"""`tinyscope generate MODEL -o DIR`: the C library for a model (network, weights, kernels, report)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import MODEL_HELP, Command, out
from tinyscope.codegen import generate
from tinyscope.codegen.cnames import check_prefix
from tinyscope.firmware.options import add_option
from tinyscope.frontend import load
from tinyscope.plan.analyze import analyze
from tinyscope.report.analyze_text import render_analyze


class GenerateCommand(Command):
    NAME = "generate"
    HELP = "write a self-contained C99 library for a model (NAME.c/.h, NAME_weights.c, kernels)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        add_option(parser, "input_shape")
        parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output folder")
        parser.add_argument("--name", default="network", help="C prefix of every symbol (default: network)")
        parser.add_argument("--json", action="store_true", help="print the written files and sizes as JSON")
        parser.add_argument("--split-weights", action="store_true",
                            help="one linker section per weight array (.tinyscope.weights.<i>)")

    def invoke(self, args: argparse.Namespace) -> int:
        check_prefix(args.name)
        graph = load(args.model, args.input_shape)
        code = generate(graph, args.output, args.name, args.split_weights,
                        report=render_analyze(analyze(graph)))
        if args.json:
            out(json.dumps({"folder": str(code.folder), "files": [str(f) for f in code.files],
                            "activations_bytes": code.arena_size, "weights_bytes": code.weights_size,
                            "macc": code.macc}, indent=2))
            return 0
        out(f"wrote {len(code.files)} files to {code.folder}: {', '.join(f.name for f in code.files)}")
        out(f"activations {code.arena_size:,} B, weights {code.weights_size:,} B, macc {code.macc:,}")
        return 0
