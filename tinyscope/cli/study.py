"""`tinyscope study MODEL --preset seed`: the 2020 study's configurations (or a TOML grid) run in
parallel, compared in one table and a bar chart, with an HTML report."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.progress import Progress

from tinyscope.build.options import TARGET_HELP, target_arg
from tinyscope.cli.base import Command, add_timing_argument, count, out
from tinyscope.frontend import load
from tinyscope.outputs import check_folder
from tinyscope.study.grid import load_grid, preset


class StudyCommand(Command):
    NAME = "study"
    HELP = "run many memory/cache/libc configurations of one model and compare them"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help="a .tflite, .h5, .keras or .onnx file, or zoo:<name>")
        g = parser.add_mutually_exclusive_group()
        g.add_argument("--preset", choices=("seed", "memcpy"), default="seed",
                       help="seed: the study's 7 configurations; memcpy: configuration 1 with nano and nano-bytecopy")
        g.add_argument("--grid", type=Path, help="a TOML file of [[run]] tables (see tinyscope/study/grid.py)")
        parser.add_argument("--target", default="stm32h743", type=target_arg, metavar="BOARD", help=TARGET_HELP)
        parser.add_argument("-o", "--output", type=Path, default=Path("out/study"), metavar="DIR")
        parser.add_argument("-j", "--jobs", type=count(1, 256), default=os.cpu_count() or 2,
                            help="local worker processes")
        parser.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786) instead of local processes")
        add_timing_argument(parser)
        parser.add_argument("--json", action="store_true", help="print study.json")

    def invoke(self, args: argparse.Namespace) -> int:
        from tinyscope.report.html import write_html  # here: plotting and the simulator load only when used
        from tinyscope.report.study_report import bar_chart, render_study, study_rows, write_csv
        from tinyscope.study.runner import run_grid

        check_folder(args.output)
        load(args.model)  # a bad model fails here, once, not in every worker
        runs = load_grid(args.grid, args.target) if args.grid else preset(args.preset, args.target)
        with Progress(disable=args.quiet or args.json, transient=True) as progress:
            task = progress.add_task(f"{len(runs)} configurations", total=len(runs))
            results = run_grid(args.model, runs, args.output, workers=args.jobs, scheduler=args.scheduler,
                               on_result=lambda r: progress.advance(task), timing_mode=args.timing)
        rows = study_rows(results)
        name = str(args.grid) if args.grid else f"preset {args.preset}"
        doc = {"model": args.model, "target": args.target, "preset": name, "timing": args.timing, "rows": rows,
               "results": results}
        (args.output / "study.json").write_text(json.dumps(doc, indent=2))
        write_csv(rows, args.output / "study.csv")
        bar_chart(rows, args.output / "study.png", f"{args.model} on {args.target}: {name}")
        report = write_html(args.output, args.output / "report.html")
        if args.json:
            out(json.dumps(doc, indent=2))
        else:
            out(render_study(rows).rstrip())
            failed = [r for r in results if not r.get("ok")]
            if failed:
                out(f"{len(failed)} run(s) failed; see {args.output / 'results.jsonl'}")
        if not args.json:
            out(f"report: {report.resolve()}")
        return 0 if all(r.get("ok") for r in results) else 1
