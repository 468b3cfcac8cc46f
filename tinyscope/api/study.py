"""``study``: many configurations of a model (or a folder of models), or of firmware ELFs with forced
caches, run in parallel and compared: study.json, study.csv, study.png and report.html per study, and
one comparison at the top when a folder holds several models or ELFs.

What is studied follows the input: a model file, ``zoo:NAME`` or a folder of models is rebuilt with
each configuration of a preset (``seed``, ``memcpy``) or a grid; an ELF, a folder of ELFs or a grid
whose runs name ELFs runs as built (preset ``caches``). Every configuration is checked before
anything is built (docs/grids.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from tinyscope.errors import InputError
from tinyscope.firmware.config import resolve_target
from tinyscope.frontend import EXTENSIONS, load
from tinyscope.outputs import STUDY_FILES, check_folder
from tinyscope.plan.analyze import analyze
from tinyscope.studies.grid import PRESETS, Run, check_fit, load_grid, preset_runs, read_grid_runs
from tinyscope.targets import DEFAULT_TARGET


@dataclass
class StudyPart:
    """The study of one model or ELF (a folder gives one per file, each in its own sub-folder)."""

    label: str  # the file's name when a folder was studied, else ""
    model: str  # the model or ELF studied
    folder: Path
    document: dict  # its study.json
    report: Path


@dataclass
class StudyResult:
    """A whole study: ``document`` is the study.json at the top of ``output`` (the comparison of every
    part when there are several), ``report`` its report.html."""

    kind: str  # "model" or "firmware"
    name: str  # "preset seed", or the grid file
    output: Path
    parts: list[StudyPart]
    document: dict
    report: Path
    skipped: list[str] = field(default_factory=list)  # preset configurations the board cannot have

    @property
    def rows(self) -> list[dict]:
        return self.document["rows"]

    @property
    def results(self) -> list[dict]:
        return self.document["results"]

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.results if not r.get("ok")]

    @property
    def ok(self) -> bool:
        """Every run finished (the CLI's exit status follows it)."""
        return not self.failed


Progress = Callable[[int, int], None]  # (runs finished, runs in all): called once before any run, then per run


def study(model: str | Path | None = None, preset: str | None = None, grid: str | Path | None = None,
          target: str = DEFAULT_TARGET, input_shape: tuple[int, ...] | None = None,
          output: str | Path = "out/study", jobs: int | None = None, scheduler: str | None = None,
          timing: str = "instr", progress: Progress | None = None) -> StudyResult:
    """Study ``model`` (a model, a folder of models, an ELF or a folder of ELFs; optional with a
    ``grid`` that names its ELFs) with ``preset`` or ``grid`` (at most one), writing into ``output``.
    ``jobs`` local processes (default: one per CPU) or a Dask ``scheduler`` address run the
    configurations; ``timing`` is the simulator's mode."""
    if preset is not None and grid is not None:
        raise InputError("study: give a preset or a grid, not both")
    from tinyscope.studies.firmware import FIRMWARE_PRESETS  # here: it loads the simulator

    known = (*PRESETS, *FIRMWARE_PRESETS)
    if preset is not None and preset not in known:
        raise InputError(f"unknown preset {preset!r} (choose {', '.join(known)})")
    output = check_folder(Path(output))
    model = None if model is None else str(model)
    grid = None if grid is None else Path(grid)
    target = resolve_target(target)
    if _firmware_study(model, grid, preset):
        studies, skipped, name = _firmware_studies(model, grid, preset, target, input_shape)
    else:
        studies, skipped, name = _model_studies(model, grid, preset, target, input_shape)
    return _run_studies(studies, skipped, name, model, target, output, jobs or os.cpu_count() or 2, scheduler,
                        timing, progress)


Study = tuple[str, str, list[Run]]  # (label, model or firmware, runs)


def _models(model: str) -> list[tuple[str, str]]:
    """(label, model) pairs: one for a model, one per model file for a folder."""
    p = Path(model)
    if not model.startswith("zoo:") and p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)
        if not files:
            raise InputError(f"{p}: no model files in this folder (expected {', '.join(sorted(EXTENSIONS))})")
        return [(f.name, str(f)) for f in files]
    return [("", model)]


def _firmware_study(model: str | None, grid: Path | None, preset: str | None) -> bool:
    from tinyscope.studies.firmware import FIRMWARE_PRESETS, is_firmware_grid

    if grid is not None:
        return is_firmware_grid(grid) or (model is not None and _is_elf_input(model))
    if model is None:
        raise InputError("study: give a model, a firmware ELF, or a --grid that names its firmware")
    return _is_elf_input(model) or preset in FIRMWARE_PRESETS


def _is_elf_input(model: str) -> bool:
    from tinyscope.profile.elf import ELF_SUFFIXES, is_firmware

    p = Path(model)
    if p.is_dir():
        return any(f.suffix.lower() in ELF_SUFFIXES for f in p.iterdir()) and not any(
            f.suffix.lower() in EXTENSIONS for f in p.iterdir())
    return is_firmware(model)


def _model_studies(model: str | None, grid: Path | None, preset: str | None, target: str,
                   input_shape: tuple[int, ...] | None) -> tuple[list[Study], list[str], str]:
    if model is None:
        raise InputError("study: give the model to study with this grid")
    preset = preset or "seed"
    models = _models(model)
    if grid:
        runs, skipped = load_grid(grid, target), []
    else:
        runs, skipped = preset_runs(preset, target)
    if not runs:
        raise InputError(f"preset {preset}: no configuration runs on {target} ({'; '.join(skipped)})")
    if input_shape is not None:
        runs = [Run(r.name, replace(r.config, input_shape=input_shape)) for r in runs]
    problems = []
    for label, m in models:  # every model and every placement is checked before anything is built
        figures = analyze(load(m, input_shape))
        problems += [f"{label + ': ' if label else ''}{p}" for p in check_fit(runs, figures)]
    if problems:
        raise InputError(f"{len(problems)} configuration(s) cannot fit, before any build: " + "; ".join(problems))
    name = str(grid) if grid else f"preset {preset}"
    return [(label, m, runs) for label, m in models], skipped, name


def _firmware_studies(model: str | None, grid: Path | None, preset: str | None, target: str,
                      input_shape: tuple[int, ...] | None) -> tuple[list[Study], list[str], str]:
    """One study per ELF (a folder gives several), or one over the ELFs a grid names."""
    from tinyscope.studies.firmware import FIRMWARE_PRESETS, firmware_files, firmware_preset, load_firmware_grid

    if input_shape is not None:
        raise InputError("--input-shape shapes a model's import; a firmware ELF runs as it was built")
    if preset in PRESETS:
        raise InputError(f"preset {preset} rebuilds a model with other placements; firmware runs as it was "
                         f"built: use --preset {' or '.join(FIRMWARE_PRESETS)}, or a --grid listing your builds")
    elfs = firmware_files(model) if model is not None else []
    if grid:
        if elfs and all(isinstance(r, dict) and "firmware" in r for r in read_grid_runs(grid)):
            raise InputError(f"{grid} names the firmware of every run; drop {model} from the command")
        studies = [(f.name if len(elfs) > 1 else "", str(f), load_firmware_grid(grid, target, f))
                   for f in elfs] or [("", str(grid), load_firmware_grid(grid, target))]
        return studies, [], str(grid)
    preset = preset or "caches"
    return ([(f.name if len(elfs) > 1 else "", str(f), firmware_preset(preset, f, target)) for f in elfs], [],
            f"preset {preset}")


def _write(folder: Path, doc: dict, rows: list[dict], chart_title: str | None) -> Path:
    """study.json, study.csv (and the chart) into ``folder``; then its report.html from them."""
    from tinyscope.report.html import write_html  # here: plotting and the simulator load only when used
    from tinyscope.report.study_report import bar_chart, write_csv

    (folder / STUDY_FILES["json"]).write_text(json.dumps(doc, indent=2))
    write_csv(rows, folder / STUDY_FILES["csv"])
    if chart_title is not None:
        bar_chart(rows, folder / STUDY_FILES["chart"], chart_title)
    return write_html(folder, folder / STUDY_FILES["report"])


def _run_studies(studies: list[Study], skipped: list[str], name: str, model: str | None, target: str,
                 output: Path, jobs: int, scheduler: str | None, timing: str,
                 progress: Progress | None) -> StudyResult:
    from tinyscope.report.study_report import study_rows
    from tinyscope.studies.firmware import FirmwareConfig
    from tinyscope.studies.runner import run_grid

    kind = "firmware" if isinstance(studies[0][2][0].config, FirmwareConfig) else "model"
    total = sum(len(runs) for _, _, runs in studies)
    done = 0

    def advance(_: dict) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    parts = []
    for label, m, runs in studies:
        folder = output / label if label else output
        results = run_grid(m, runs, folder, workers=jobs, scheduler=scheduler, on_result=advance, timing_mode=timing)
        rows = study_rows(results)
        doc = {"model": m, "kind": kind, "target": target, "preset": name, "timing": timing,
               "rows": rows, "results": results, "skipped": skipped}
        title = f"{Path(m).name if kind == 'firmware' else m} on {target}: {name}"
        parts.append(StudyPart(label, m, folder, doc, _write(folder, doc, rows, title)))
    if len(parts) == 1:
        return StudyResult(kind, name, output, parts, parts[0].document, parts[0].report, skipped)
    # several models or ELFs: one report comparing every configuration of each
    rows = [{**r, "configuration": f"{p.label}: {r['configuration']}"} for p in parts for r in p.document["rows"]]
    results = [{**r, "name": f"{p.label}: {r['name']}",
                **({"folder": str(Path(r["folder"]).resolve())} if r.get("folder") else {})}
               for p in parts for r in p.document["results"]]
    doc = {"model": str(model), "kind": kind, "target": target, "preset": name, "rows": rows,
           "results": results, "skipped": skipped, "models": [p.label for p in parts]}
    return StudyResult(kind, name, output, parts, doc, _write(output, doc, rows, None), skipped)
