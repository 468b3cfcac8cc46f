"""`tinyscope run MODEL [build options]`: renders ``tinyscope.api.run`` (build, simulate, agreement)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tinyscope.api.run import ENGINES, RunResult, run
from tinyscope.cli.base import MODEL_HELP, Command, add_timing_argument, out
from tinyscope.firmware.options import add_build_arguments, config_from_args
from tinyscope.report.build_text import usage_table


def _real(x: np.ndarray) -> str:
    """Dequantized values on one line (int8 outputs are shown beside what they mean)."""
    return np.array2string(x.astype(np.float32), precision=4, suppress_small=True, max_line_width=400, threshold=20)


class RunCommand(Command):
    NAME = "run"
    HELP = "build the firmware (cached), run it in the simulator, print cycles, time and output agreement"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        add_build_arguments(parser)
        parser.add_argument("--engine", choices=ENGINES, default="sim",
                            help="sim: tinyscope's Cortex-M7 timing simulator; qemu: functional only, "
                                 "target mps2-an500 (default: sim)")
        add_timing_argument(parser)
        parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
        parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="also write run.json into DIR")

    def invoke(self, args: argparse.Namespace) -> int:
        r = run(args.model, config_from_args(args), args.engine, args.timing, args.output)
        if args.json:
            out(json.dumps(r.to_json(), indent=2))
        else:
            render(r)
        return 0 if r.ok else 1


def render(r: RunResult) -> None:
    fw, res, a = r.firmware, r.harness, r.agreement
    hz = fw.target.cpu_hz
    out(f"firmware     {fw.elf}{' (cached)' if r.cached else ''}")
    out(f"engine       {r.engine}")
    if r.engine == "sim":
        out(f"cycles       {res.cycles:,}")
        out(f"time         {r.ms:.3f} ms at {hz / 1e6:g} MHz")
        if fw.macc:
            out(f"cycles/MACC  {r.cycles_per_macc:.2f}  ({fw.macc:,} MACC)")
    else:
        out("cycles       n/a (QEMU does not count cycles)")
    out(f"status       {res.status}")
    in_ram = [(k, v) for k, v in r.ram.items() if v["ram"]]
    out(f"ram          {r.ram_total:,} B = " + " + ".join(f"{k} {v['bytes']:,}" for k, v in in_ram)
        + "  (what analyze's ram (total) counts)"
        + "".join(f"; {k} in {v['region']}, not RAM" for k, v in r.ram.items() if not v["ram"]))
    if res.stack_used is not None:
        out(f"stack        {res.stack_used:,} of {fw.config.stack_size:,} bytes used")
    q = r.graph.output_tensors()[0].quant
    with np.printoptions(precision=6, threshold=20, linewidth=100, suppress=True):
        out(f"output       {a.output}")
        if q is not None and np.issubdtype(a.output.dtype, np.integer) and q.scale.size == 1:
            real = (a.output.astype(np.float64) - float(q.zero_point[0])) * float(q.scale[0])
            out(f"  real       {_real(real)}  (scale {float(q.scale[0]):.6g}, zero point {int(q.zero_point[0])})")
        out(f"reference    {a.reference}")
        if q is not None and np.issubdtype(a.reference.dtype, np.integer) and q.scale.size == 1:
            ref_real = (a.reference.astype(np.float64) - float(q.zero_point[0])) * float(q.scale[0])
            out(f"  real       {_real(ref_real)}")
    agree = f"max |diff| {a.max_abs:.3g}, l2r {a.l2r:.3g}"
    if a.argmax_equal is not None:
        agree += f", same argmax: {'yes' if a.argmax_equal else 'no'}"
    out(f"agreement    {agree}")
    out(usage_table(fw).rstrip())
