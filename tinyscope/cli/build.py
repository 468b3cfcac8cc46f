"""`tinyscope build MODEL [build options] [-o DIR]`: a firmware folder for a target and a placement."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import MODEL_HELP, Command, out
from tinyscope.firmware.firmware import build_firmware
from tinyscope.firmware.options import add_build_arguments, config_from_args
from tinyscope.frontend import load
from tinyscope.report.build_text import usage_table


class BuildCommand(Command):
    NAME = "build"
    HELP = "build firmware (generated C + harness + linker script) for a target and a memory placement"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        parser.add_argument("--json", action="store_true", help="print build.json (provenance, usage) instead")
        parser.add_argument("-o", "--output", type=Path, default=Path("firmware"),
                            help="folder to write (default: ./firmware)")
        add_build_arguments(parser)

    def invoke(self, args: argparse.Namespace) -> int:
        config = config_from_args(args)
        fw = build_firmware(load(args.model, config.input_shape), args.output, config)
        if args.json:
            out(json.dumps(fw.info, indent=2))
            return 0
        out(f"firmware: {fw.elf}")
        out(f"map:      {fw.map}")
        out(f"target {fw.target.name}, " + ", ".join(f"{k}={v}" for k, v in fw.placement.as_dict().items())
            + f", icache {'on' if fw.config.icache else 'off'}, dcache {'on' if fw.config.dcache else 'off'}"
            + f", libc {fw.config.libc}, {fw.config.opt}")
        out(usage_table(fw).rstrip())
        return 0
