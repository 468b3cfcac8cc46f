"""`tinyscope profile MODEL [build options]`: one simulated run attributed to functions, layers and
instructions, with its timeline (trace.json for ui.perfetto.dev, folded stacks, a PNG/SVG chart),
exports for speedscope and KCachegrind, and the HTML report (report.html)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import MODEL_HELP, Command, count, out
from tinyscope.firmware.options import add_build_arguments, config_from_args
from tinyscope.outputs import check_folder


class ProfileCommand(Command):
    NAME = "profile"
    HELP = "simulate a model's firmware and show where every cycle goes (functions, layers, stalls, hot loops)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        add_build_arguments(parser)
        parser.add_argument("-o", "--output", type=Path, default=Path("out/profile"), metavar="DIR",
                            help="where report.html, run.json, CSV tables, trace.json and the exports go "
                                 "(default out/profile)")
        parser.add_argument("--top", type=count(1, 10_000), default=12, help="functions to list")
        parser.add_argument("--json", action="store_true", help="print run.json instead of the tables")

    def invoke(self, args: argparse.Namespace) -> int:
        # imported here: the simulator's native hooks load with it, which only simulating verbs need
        from tinyscope.profile import run_profile, write_profile
        from tinyscope.report.html import write_html
        from tinyscope.report.profile_text import render_profile

        check_folder(args.output)
        p = run_profile(args.model, config_from_args(args))
        files = write_profile(p, args.output, finish=lambda tmp: write_html(tmp, tmp / "report.html"))
        if args.json:
            out(json.dumps(p.summary(), indent=2))
        else:
            out(render_profile(p, top=args.top).rstrip())
            out(f"\nwrote {', '.join(f.name for f in files.values())} to {args.output}")
            out(f"report: {files['report'].resolve()}")
        return 0
