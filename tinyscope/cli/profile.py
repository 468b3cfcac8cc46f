"""`tinyscope profile MODEL [build options]`: one simulated run attributed to functions, layers and
instructions, with its timeline (trace.json for ui.perfetto.dev, folded stacks, a PNG/SVG chart),
exports for speedscope and KCachegrind, and the HTML report (report.html)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import MODEL_HELP, Command, count, out
from tinyscope.errors import InputError
from tinyscope.firmware.config import DEFAULTS, OPTIONS
from tinyscope.firmware.options import (
    SIMULATION_OPTIONS,
    add_build_arguments,
    config_from_args,
    forced_cache,
    given_options,
)
from tinyscope.outputs import PROFILE_FILES, check_folder


class ProfileCommand(Command):
    NAME = "profile"
    HELP = "simulate a model's firmware and show where every cycle goes (functions, layers, stalls, hot loops)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP + "; or any firmware: an ELF (.elf/.axf/.out, run as it "
                                          "is on --target) or a result saved by `tinyscope sim --save` (.npz)")
        add_build_arguments(parser, firmware=True)
        parser.add_argument("-o", "--output", type=Path, default=Path("out/profile"), metavar="DIR",
                            help="where report.html, run.json, CSV tables, trace.json and the exports go "
                                 "(default out/profile)")
        parser.add_argument("--top", type=count(1, 10_000), default=12, help="functions to list")
        parser.add_argument("--json", action="store_true", help="print run.json instead of the tables")
        parser.add_argument("--strict", action="store_true",
                            help="firmware only: an access to a peripheral the board file does not model is a fault")

    def invoke(self, args: argparse.Namespace) -> int:
        # imported here: the simulator's native hooks load with it, which only simulating verbs need
        from tinyscope.profile import run_profile
        from tinyscope.profile.elf import is_firmware
        from tinyscope.report.profile_text import render_profile

        check_folder(args.output)
        if is_firmware(args.model):
            return self._firmware(args)
        _write_and_show(run_profile(args.model, config_from_args(args)), args, render_profile)
        return 0

    def _firmware(self, args: argparse.Namespace) -> int:
        """Any ELF as it is: the build options that shape a build (placement, libc, ...) do not apply."""
        from tinyscope.profile.elf import profile_elf
        from tinyscope.report.profile_text import render_elf_profile

        build_only = [OPTIONS[k].flag for k in given_options(args) if k not in SIMULATION_OPTIONS]
        if build_only:
            raise InputError(f"{', '.join(build_only)}: build options, which a firmware ELF does not take (it runs "
                             "as it was built; --target, --icache and --dcache apply)")
        saved = str(args.model).lower().endswith(".npz")
        if saved and (args.icache or args.dcache or args.strict):
            raise InputError("--icache, --dcache and --strict shape a simulation; a saved result is profiled as it "
                             "was run")
        target = args.target if args.target is not None or saved else DEFAULTS.target
        p = profile_elf(args.model, target, **({} if saved else {
            "strict": args.strict, "icache": forced_cache(args.icache), "dcache": forced_cache(args.dcache)}))
        _write_and_show(p, args, render_elf_profile)
        return 0 if p.result.exit_code == 0 else 1


def _write_and_show(p, args: argparse.Namespace, render) -> None:
    """Write the profile's files and report.html to -o, then print run.json or the tables."""
    from tinyscope.profile import write_profile
    from tinyscope.report.html import write_html

    files = write_profile(p, args.output, finish=lambda tmp: write_html(tmp, tmp / PROFILE_FILES["report"]))
    if args.json:
        out(json.dumps(p.summary(), indent=2))
    else:
        out(render(p, top=args.top).rstrip())
        out(f"\nwrote {', '.join(f.name for f in files.values())} to {args.output}")
        out(f"report: {files['report'].resolve()}")
