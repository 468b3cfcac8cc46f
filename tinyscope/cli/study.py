"""`tinyscope study MODEL --preset seed`: renders ``tinyscope.api.study`` (the 2020 study's
configurations, or a TOML grid, of a model, a folder of models, or firmware ELFs)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.progress import Progress

from tinyscope.api.study import study
from tinyscope.cli.base import MODEL_HELP, Command, add_timing_argument, count, out
from tinyscope.firmware.options import add_option
from tinyscope.studies.firmware import FIRMWARE_PRESETS
from tinyscope.studies.grid import PRESETS


class StudyCommand(Command):
    NAME = "study"
    HELP = ("run many memory/cache/libc configurations of one model (or a folder of models), or of firmware ELFs "
            "with forced caches, and compare them")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", nargs="?", help=MODEL_HELP + ", or a folder of models; or firmware: an ELF or a "
                                                     "folder of ELFs (optional with a --grid that names its ELFs)")
        g = parser.add_mutually_exclusive_group()
        g.add_argument("--preset", choices=(*PRESETS, *FIRMWARE_PRESETS), default=None,
                       help="for a model: seed (the default), the study's 7 configurations, or memcpy, configuration "
                            "1 with nano and nano-bytecopy; for firmware: caches (the default), the ELF as it is and "
                            "with the caches forced off and on")
        g.add_argument("--grid", type=Path, help="a TOML file of [[run]] tables (see docs/grids.md)")
        add_option(parser, "target", given_only=False)
        add_option(parser, "input_shape")
        parser.add_argument("-o", "--output", type=Path, default=Path("out/study"), metavar="DIR")
        parser.add_argument("-j", "--jobs", type=count(1, 256), default=os.cpu_count() or 2,
                            help="local worker processes")
        parser.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786) instead of local processes")
        add_timing_argument(parser)
        parser.add_argument("--json", action="store_true", help="print study.json")

    def invoke(self, args: argparse.Namespace) -> int:
        with Progress(disable=args.quiet or args.json, transient=True) as bar:
            task = bar.add_task("configurations", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"{total} configurations")

            r = study(args.model, args.preset, args.grid, args.target, args.input_shape, args.output, args.jobs,
                      args.scheduler, args.timing, progress)
        if args.json:
            out(json.dumps(r.document, indent=2))
        else:
            for note in r.skipped:
                out(f"note: {note}")
            from tinyscope.report.study_report import render_study

            out(render_study(r.rows).rstrip())
            if r.failed:
                out(f"{len(r.failed)} run(s) failed; see results.jsonl in {args.output}")
            out(f"report: {r.report.resolve()}")
        return 0 if r.ok else 1
