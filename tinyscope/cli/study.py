"""`tinyscope study MODEL --preset seed`: the 2020 study's configurations (or a TOML grid) run in
parallel, compared in one table and a bar chart, with an HTML report. MODEL may be a folder: every
model file in it is studied (each in its own sub-folder) and compared in one report. Firmware (an ELF,
a folder of ELFs, or a grid naming ELFs) is studied the same way, run as built with forced caches."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path

from rich.progress import Progress

from tinyscope.cli.base import MODEL_HELP, Command, add_timing_argument, count, out
from tinyscope.errors import InputError
from tinyscope.firmware.options import TARGET_HELP, add_input_shape_argument, target_arg
from tinyscope.frontend import EXTENSIONS, load
from tinyscope.outputs import check_folder
from tinyscope.plan.analyze import analyze
from tinyscope.profile.elf import ELF_SUFFIXES, is_firmware
from tinyscope.study.firmware import (
    FIRMWARE_PRESETS,
    FirmwareConfig,
    firmware_files,
    firmware_preset,
    is_firmware_grid,
    load_firmware_grid,
)
from tinyscope.study.grid import PRESETS, Run, check_fit, load_grid, preset_runs, read_grid_runs


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
        parser.add_argument("--target", default="stm32h743", type=target_arg, metavar="BOARD", help=TARGET_HELP)
        add_input_shape_argument(parser)
        parser.add_argument("-o", "--output", type=Path, default=Path("out/study"), metavar="DIR")
        parser.add_argument("-j", "--jobs", type=count(1, 256), default=os.cpu_count() or 2,
                            help="local worker processes")
        parser.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786) instead of local processes")
        add_timing_argument(parser)
        parser.add_argument("--json", action="store_true", help="print study.json")

    def invoke(self, args: argparse.Namespace) -> int:
        check_folder(args.output)
        if _firmware_study(args):
            studies, skipped, name = _firmware_studies(args)
        else:
            studies, skipped, name = _model_studies(args)
        return _run_studies(args, studies, skipped, name)


Study = tuple[str, str, list]  # (label, model or firmware, runs)


def _firmware_study(args: argparse.Namespace) -> bool:
    if args.grid is not None:
        return is_firmware_grid(args.grid) or (args.model is not None and _is_elf_input(args.model))
    if args.model is None:
        raise InputError("study: give a model, a firmware ELF, or a --grid that names its firmware")
    return _is_elf_input(args.model) or args.preset in FIRMWARE_PRESETS


def _is_elf_input(model: str) -> bool:
    p = Path(model)
    if p.is_dir():
        return any(f.suffix.lower() in ELF_SUFFIXES for f in p.iterdir()) and not any(
            f.suffix.lower() in EXTENSIONS for f in p.iterdir())
    return is_firmware(model)


def _model_studies(args: argparse.Namespace) -> tuple[list[Study], list[str], str]:
    if args.model is None:
        raise InputError("study: give the model to study with this grid")
    preset = args.preset or "seed"
    models = _models(args.model)
    if args.grid:
        runs, skipped = load_grid(args.grid, args.target), []
    else:
        runs, skipped = preset_runs(preset, args.target)
    if not runs:
        raise InputError(f"preset {preset}: no configuration runs on {args.target} ({'; '.join(skipped)})")
    if args.input_shape is not None:
        runs = [Run(r.name, replace(r.config, input_shape=args.input_shape)) for r in runs]
    problems = []
    for label, model in models:  # every model and every placement is checked before anything is built
        figures = analyze(load(model, args.input_shape))
        problems += [f"{label + ': ' if label else ''}{p}" for p in check_fit(runs, figures)]
    if problems:
        raise InputError(f"{len(problems)} configuration(s) cannot fit, before any build: " + "; ".join(problems))
    name = str(args.grid) if args.grid else f"preset {preset}"
    return [(label, model, runs) for label, model in models], skipped, name


def _firmware_studies(args: argparse.Namespace) -> tuple[list[Study], list[str], str]:
    """One study per ELF (a folder gives several), or one over the ELFs a grid names."""
    if args.input_shape is not None:
        raise InputError("--input-shape shapes a model's import; a firmware ELF runs as it was built")
    if args.preset in PRESETS:
        raise InputError(f"preset {args.preset} rebuilds a model with other placements; firmware runs as it was "
                         f"built: use --preset {' or '.join(FIRMWARE_PRESETS)}, or a --grid listing your builds")
    elfs = firmware_files(args.model) if args.model is not None else []
    if args.grid:
        if elfs and all(isinstance(r, dict) and "firmware" in r for r in read_grid_runs(args.grid)):
            raise InputError(f"{args.grid} names the firmware of every run; drop {args.model} from the command")
        studies = [(f.name if len(elfs) > 1 else "", str(f), load_firmware_grid(args.grid, args.target, f))
                   for f in elfs] or [("", str(args.grid), load_firmware_grid(args.grid, args.target))]
        return studies, [], str(args.grid)
    preset = args.preset or "caches"
    return ([(f.name if len(elfs) > 1 else "", str(f), firmware_preset(preset, f, args.target)) for f in elfs], [],
            f"preset {preset}")


def _run_studies(args: argparse.Namespace, studies: list[Study], skipped: list[str], name: str) -> int:
    from tinyscope.report.html import write_html  # here: plotting and the simulator load only when used
    from tinyscope.report.study_report import bar_chart, render_study, study_rows, write_csv
    from tinyscope.study.runner import run_grid

    kind = "firmware" if isinstance(studies[0][2][0].config, FirmwareConfig) else "model"
    total = sum(len(runs) for _, _, runs in studies)
    docs = []
    with Progress(disable=args.quiet or args.json, transient=True) as progress:
        task = progress.add_task(f"{total} configurations", total=total)
        for label, model, runs in studies:
            folder = args.output / label if label else args.output
            results = run_grid(model, runs, folder, workers=args.jobs, scheduler=args.scheduler,
                               on_result=lambda r: progress.advance(task), timing_mode=args.timing)
            rows = study_rows(results)
            doc = {"model": model, "kind": kind, "target": args.target, "preset": name, "timing": args.timing,
                   "rows": rows, "results": results, "skipped": skipped}
            (folder / "study.json").write_text(json.dumps(doc, indent=2))
            write_csv(rows, folder / "study.csv")
            bar_chart(rows, folder / "study.png", f"{Path(model).name if kind == 'firmware' else model} on "
                                                  f"{args.target}: {name}")
            report = write_html(folder, folder / "report.html")
            docs.append((label, doc, report))
    if len(studies) > 1:  # one report comparing every model's configurations
        rows = [{**r, "configuration": f"{label}: {r['configuration']}"} for label, d, _ in docs for r in d["rows"]]
        results = [{**r, "name": f"{label}: {r['name']}",
                    **({"folder": str(Path(r["folder"]).resolve())} if r.get("folder") else {})}
                   for label, d, _ in docs for r in d["results"]]
        doc = {"model": str(args.model), "kind": kind, "target": args.target, "preset": name, "rows": rows,
               "results": results, "skipped": skipped, "models": [label for label, _, _ in docs]}
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
