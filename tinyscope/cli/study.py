"""`tinyscope study MODEL --preset seed`: the 2020 study's configurations (or a TOML grid) run in
parallel, compared in one table and a bar chart, with an HTML report. MODEL may be a folder: every
model file in it is studied (each in its own sub-folder) and compared in one report."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.progress import Progress

from tinyscope.cli.base import MODEL_HELP, Command, add_timing_argument, count, out
from tinyscope.errors import InputError
from tinyscope.firmware.options import TARGET_HELP, target_arg
from tinyscope.frontend import EXTENSIONS, load
from tinyscope.outputs import check_folder
from tinyscope.plan.analyze import analyze
from tinyscope.study.grid import PRESETS, check_fit, load_grid, preset_runs


def _models(model: str) -> list[tuple[str, str]]:
    """(label, model) pairs: one for a model, one per model file for a folder."""
    p = Path(model)
    if not model.startswith("zoo:") and p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)
        if not files:
            raise InputError(f"{p}: no model files in this folder (expected {', '.join(sorted(EXTENSIONS))})")
        return [(f.name, str(f)) for f in files]
    return [("", model)]


class StudyCommand(Command):
    NAME = "study"
    HELP = "run many memory/cache/libc configurations of one model (or a folder of models) and compare them"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP + ", or a folder of models")
        g = parser.add_mutually_exclusive_group()
        g.add_argument("--preset", choices=tuple(PRESETS), default="seed",
                       help="seed: the study's 7 configurations; memcpy: configuration 1 with nano and nano-bytecopy")
        g.add_argument("--grid", type=Path, help="a TOML file of [[run]] tables (see docs/grids.md)")
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
        models = _models(args.model)
        if args.grid:
            runs, skipped = load_grid(args.grid, args.target), []
        else:
            runs, skipped = preset_runs(args.preset, args.target)
        if not runs:
            raise InputError(f"preset {args.preset}: no configuration runs on {args.target} ({'; '.join(skipped)})")
        problems = []
        for label, model in models:  # every model and every placement is checked before anything is built
            figures = analyze(load(model))
            problems += [f"{label + ': ' if label else ''}{p}" for p in check_fit(runs, figures)]
        if problems:
            raise InputError(f"{len(problems)} configuration(s) cannot fit, before any build: " + "; ".join(problems))
        name = str(args.grid) if args.grid else f"preset {args.preset}"
        docs = []
        with Progress(disable=args.quiet or args.json, transient=True) as progress:
            task = progress.add_task(f"{len(runs) * len(models)} configurations", total=len(runs) * len(models))
            for label, model in models:
                folder = args.output / label if label else args.output
                results = run_grid(model, runs, folder, workers=args.jobs, scheduler=args.scheduler,
                                   on_result=lambda r: progress.advance(task), timing_mode=args.timing)
                rows = study_rows(results)
                doc = {"model": model, "target": args.target, "preset": name, "timing": args.timing, "rows": rows,
                       "results": results, "skipped": skipped}
                (folder / "study.json").write_text(json.dumps(doc, indent=2))
                write_csv(rows, folder / "study.csv")
                bar_chart(rows, folder / "study.png", f"{model} on {args.target}: {name}")
                report = write_html(folder, folder / "report.html")
                docs.append((label, doc, report))
        if len(models) > 1:  # one report comparing every model's configurations
            rows = [{**r, "configuration": f"{label}: {r['configuration']}"} for label, d, _ in docs for r in d["rows"]]
            results = [{**r, "name": f"{label}: {r['name']}",
                        **({"folder": str(Path(r["folder"]).resolve())} if r.get("folder") else {})}
                       for label, d, _ in docs for r in d["results"]]
            doc = {"model": str(args.model), "target": args.target, "preset": name, "rows": rows, "results": results,
                   "skipped": skipped, "models": [label for label, _, _ in docs]}
            (args.output / "study.json").write_text(json.dumps(doc, indent=2))
            write_csv(rows, args.output / "study.csv")
            report = write_html(args.output, args.output / "report.html")
        else:
            doc = docs[0][1]
        if args.json:
            out(json.dumps(doc, indent=2))
        else:
            for note in skipped:
                out(f"note: {note}")
            out(render_study(doc["rows"]).rstrip())
            failed = [r for r in doc["results"] if not r.get("ok")]
            if failed:
                out(f"{len(failed)} run(s) failed; see results.jsonl in {args.output}")
            out(f"report: {report.resolve()}")
        return 0 if all(r.get("ok") for r in doc["results"]) else 1
