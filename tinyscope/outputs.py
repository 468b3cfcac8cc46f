"""Output folders are written whole or not at all.

Every verb that writes files writes them into a fresh folder beside the destination and moves them
into place only when all of them are written, so a failure (bad model, full disk, Ctrl-C) never
leaves a partial output, and an existing file named as a folder is one clear error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tinyscope.errors import InputError

# The files of a profile folder, by role, written once: profile writes them, report reads them
# (docs/profile-files.md describes each).
PROFILE_FILES = {"run": "run.json", "functions": "functions.csv", "layers": "layers.csv", "loops": "hotloops.json",
                 "blocks": "hotblocks.json", "trace": "trace.json", "folded": "stacks.folded", "sim": "sim.npz",
                 "timeline_png": "timeline.png", "timeline_svg": "timeline.svg",
                 "speedscope": "profile.speedscope.json", "callgrind": "callgrind.out", "report": "report.html"}
# A study folder's files (docs/profile-files.md): study writes them, report reads them.
STUDY_FILES = {"json": "study.json", "csv": "study.csv", "chart": "study.png", "report": PROFILE_FILES["report"],
               "log": "results.jsonl"}


def check_folder(dest: str | Path, option: str = "-o") -> Path:
    """``dest`` can become an output folder: it is a folder or does not exist yet."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{option} {dest}: is a file, not a folder")
    return dest


@contextmanager
def staged_folder(dest: str | Path, option: str = "-o") -> Iterator[Path]:
    """Yield an empty folder to write into; on success its files replace those of the same name in
    ``dest`` (created if missing). On any exception nothing of it remains."""
    dest = check_folder(dest, option)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tinyscope-tmp-", dir=dest.parent))
    except OSError as exc:
        raise InputError(f"{option} {dest}: cannot write there ({exc.strerror or exc})") from exc
    try:
        yield tmp
        _commit(tmp, dest)
    except OSError as exc:
        raise InputError(f"{option} {dest}: cannot write there ({exc.strerror or exc})") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _commit(tmp: Path, dest: Path) -> None:
    try:
        os.rename(tmp, dest)  # the whole folder at once when the destination is new (or empty)
        return
    except OSError:
        if not dest.is_dir():
            raise
    for entry in sorted(tmp.iterdir()):
        target = dest / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
