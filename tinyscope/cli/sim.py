"""`tinyscope sim FIRMWARE.elf`: run any bare-metal Cortex-M7 ELF that talks through semihosting."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinyscope.cli.base import Command, add_timing_argument, count, out, seconds
from tinyscope.errors import InputError
from tinyscope.firmware.options import FORCED_CACHE, add_option, forced_cache
from tinyscope.targets import load_target


def unmodelled_lines(meta: dict) -> list[str]:
    """One line per peripheral range the firmware touched that the board file does not model."""
    return [f"-- unmodelled peripheral {u['range']}: {u['reads']:,} reads (as zero), {u['writes']:,} writes "
            f"(ignored), first at {u['first_at']}" for u in meta.get("unmodelled_peripherals", [])]


class SimCommand(Command):
    NAME = "sim"
    HELP = "run a bare-metal Cortex-M7 ELF in the cycle-approximate simulator"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("elf", type=Path, help="the firmware (semihosting for output and exit)")
        add_option(parser, "target", given_only=False)
        parser.add_argument("--max-instructions", type=count(1, 10**12), default=2_000_000_000,
                            help="instruction budget")
        parser.add_argument("--timeout", type=seconds, default=900.0, help="wall-clock limit in seconds")
        parser.add_argument("--no-timing", action="store_true", help="bare unicorn: no timing model")
        add_timing_argument(parser)
        parser.add_argument("--strict", action="store_true",
                            help="an access to a peripheral the board file does not model is a fault (default: it "
                                 "reads as zero and is reported once per 1 KiB range at the end)")
        for c in ("icache", "dcache"):
            parser.add_argument(f"--{c}", choices=FORCED_CACHE, default="firmware",
                                help=f"force the {c[0].upper()}-cache on or off whatever the firmware writes to CCR, "
                                     "or follow the firmware (default)")
        parser.add_argument("--save", type=Path, help="write the full result (.npz) for `tinyscope profile`")
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    def invoke(self, args: argparse.Namespace) -> int:
        from tinyscope.sim import simulate  # here: its native hooks load only when simulating

        if args.save is not None and (args.save.is_dir() or not args.save.parent.is_dir()):
            raise InputError(f"--save {args.save}: give a file name (.npz) in an existing folder")
        target = load_target(args.target)
        r = simulate(args.elf, target, max_instructions=args.max_instructions, timeout_s=args.timeout,
                     timing=not args.no_timing, timing_mode=args.timing, strict=args.strict,
                     icache=forced_cache(args.icache), dcache=forced_cache(args.dcache))
        if args.save:
            r.save(args.save)
        summary = {"elf": str(args.elf), "target": target.name, "exit_code": r.exit_code, "cycles": r.cycles,
                   "ms": r.cycles / target.cpu_hz * 1e3, "instructions": r.instructions,
                   "wall_seconds": round(r.wall_seconds, 3), "stalls": r.stalls, "icache": r.icache,
                   "dcache": r.dcache, "itm_records": len(r.itm), "simulator": r.meta.get("simulator", {}),
                   "unmodelled_peripherals": r.meta.get("unmodelled_peripherals", [])}
        if args.json:
            out(json.dumps({**summary, "stdout": r.stdout}, indent=2))
        else:
            if r.stdout:
                out(r.stdout.rstrip("\n"))
            for line in unmodelled_lines(r.meta):
                out(line)
            out(f"-- exit {r.exit_code}, {r.cycles:,} cycles ({summary['ms']:.3f} ms at {target.cpu_hz / 1e6:g} MHz), "
                f"{r.instructions:,} instructions in {r.wall_seconds:.2f} s ({r.mips:.1f} MIPS)")
        return 0 if r.exit_code == 0 else 1
