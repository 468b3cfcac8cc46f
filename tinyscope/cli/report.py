"""`tinyscope report DIR -o report.html`: one self-contained HTML file for a profile or study folder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import Command, out
from tinyscope.outputs import PROFILE_FILES
from tinyscope.report.html import write_html


class ReportCommand(Command):
    NAME = "report"
    HELP = "write one self-contained HTML report (images inline) for a profile or a study folder"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("folder", type=Path, help="the -o folder of `tinyscope profile` or `tinyscope study`, or "
                                                      "a result saved by `tinyscope sim --save` (.npz)")
        parser.add_argument("-o", "--output", type=Path, default=None,
                            help="default: FOLDER/report.html (for a .npz: beside it, with .html)")
        parser.add_argument("--json", action="store_true", help='print {"report": path} as JSON')

    def invoke(self, args: argparse.Namespace) -> int:
        if args.folder.suffix.lower() == ".npz":
            path = _saved_report(args.folder, args.output or args.folder.with_suffix(".html"))
        else:
            path = write_html(args.folder, args.output or args.folder / PROFILE_FILES["report"])
        out(json.dumps({"report": str(path.resolve())}) if args.json else str(path.resolve()))
        return 0


def _saved_report(saved: Path, html: Path) -> Path:
    """Profile a saved simulator result (its ELF gives the symbols) into a scratch folder, then report it."""
    import tempfile

    from tinyscope.profile import write_profile  # here: the simulator's native hooks load with it
    from tinyscope.profile.elf import profile_elf

    p = profile_elf(saved)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "profile"
        write_profile(p, folder)
        return write_html(folder, html)
