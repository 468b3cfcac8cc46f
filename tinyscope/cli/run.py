"""`tinyscope run MODEL [build options]`: build (cached), simulate, and report cycles and agreement."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from tinyscope import reference
from tinyscope.cli.base import MODEL_HELP, Command, add_timing_argument, out, write_outputs
from tinyscope.cli.build import usage_table
from tinyscope.firmware.cache import cached_firmware
from tinyscope.firmware.firmware import Firmware
from tinyscope.firmware.options import add_build_arguments, config_from_args
from tinyscope.firmware.protocol import HarnessOutput, parse_output
from tinyscope.firmware.qemu import run_qemu
from tinyscope.frontend import load
from tinyscope.outputs import check_folder
from tinyscope.report.metrics import compare


def simulate_text(fw: Firmware) -> str:
    """Run the ELF in tinyscope's Cortex-M7 simulator and return what it printed over semihosting."""
    from tinyscope.sim import simulate  # imported here: numba compiles the timing hooks on first use

    return simulate(fw.elf, fw.target, profile=False).stdout


def execute(fw: Firmware, engine: str) -> HarnessOutput:
    text = run_qemu(fw.elf, fw.target.name) if engine == "qemu" else simulate_text(fw)
    return parse_output(text)


def _real(x: np.ndarray) -> str:
    """Dequantized values on one line (int8 outputs are shown beside what they mean)."""
    return np.array2string(x.astype(np.float32), precision=4, suppress_small=True, max_line_width=400, threshold=20)


class RunCommand(Command):
    NAME = "run"
    HELP = "build the firmware (cached), run it in the simulator, print cycles, time and output agreement"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        add_build_arguments(parser)
        parser.add_argument("--engine", choices=("sim", "qemu"), default="sim",
                            help="sim: tinyscope's Cortex-M7 timing simulator; qemu: functional only, "
                                 "target mps2-an500 (default: sim)")
        add_timing_argument(parser)
        parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
        parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="also write run.json into DIR")

    def invoke(self, args: argparse.Namespace) -> int:
        if args.output is not None:
            check_folder(args.output)
        config = config_from_args(args)
        graph = load(args.model, config.input_shape)
        fw, cached = cached_firmware(graph, config)
        simulator: dict = {}
        if args.engine == "sim":  # keep the simulator's provenance (version, estimated figures) for run.json
            from tinyscope.sim import simulate

            r = simulate(fw.elf, fw.target, profile=False, timing_mode=args.timing)
            res, simulator = parse_output(r.stdout), r.meta.get("simulator", {})
        else:
            res = execute(fw, args.engine)
        ref = reference.run(graph, fw.input[None])[0].reshape(1, -1)
        m = compare(res.output.reshape(1, -1), ref)
        hz = fw.target.cpu_hz
        doc = {"build": fw.info, "cycles": res.cycles, "ms": 1e3 * res.cycles / hz,
               "cycles_per_macc": res.cycles / fw.macc if fw.macc else None, "status": res.status,
               "stack_used": res.stack_used, "layers": res.layers, "output": res.output.ravel().tolist(),
               "reference": ref.ravel().tolist(), "max_abs": m.max_abs, "l2r": m.l2r,
               "argmax_equal": m.acc == 1.0 if m.acc is not None else None, "engine": args.engine,
               "target": fw.target.name, "simulator": simulator}
        from tinyscope.profile.memory import ram_figures  # here: tinyscope.profile loads the simulator

        ram = ram_figures(fw.elf, fw.target)
        doc["ram"] = {k: {**v} for k, v in ram.items()}
        doc["ram_total"] = sum(v["bytes"] for v in ram.values() if v["ram"])
        if args.output:
            write_outputs(args.output, {"run.json": json.dumps(doc, indent=2)})
        if args.json:
            out(json.dumps(doc, indent=2))
            return 0 if res.status == 0 else 1
        out(f"firmware     {fw.elf}{' (cached)' if cached else ''}")
        out(f"engine       {args.engine}")
        if args.engine == "sim":
            out(f"cycles       {res.cycles:,}")
            out(f"time         {1e3 * res.cycles / hz:.3f} ms at {hz / 1e6:g} MHz")
            if fw.macc:
                out(f"cycles/MACC  {res.cycles / fw.macc:.2f}  ({fw.macc:,} MACC)")
        else:
            out("cycles       n/a (QEMU does not count cycles)")
        out(f"status       {res.status}")
        in_ram = [(k, v) for k, v in ram.items() if v["ram"]]
        out(f"ram          {doc['ram_total']:,} B = " + " + ".join(f"{k} {v['bytes']:,}" for k, v in in_ram)
            + "  (what analyze's ram (total) counts)"
            + "".join(f"; {k} in {v['region']}, not RAM" for k, v in ram.items() if not v["ram"]))
        if res.stack_used is not None:
            out(f"stack        {res.stack_used:,} of {fw.config.stack_size:,} bytes used")
        q = graph.output_tensors()[0].quant
        with np.printoptions(precision=6, threshold=20, linewidth=100, suppress=True):
            out(f"output       {res.output.ravel()}")
            if q is not None and np.issubdtype(res.output.dtype, np.integer) and q.scale.size == 1:
                real = (res.output.ravel().astype(np.float64) - float(q.zero_point[0])) * float(q.scale[0])
                ref_real = (ref.ravel().astype(np.float64) - float(q.zero_point[0])) * float(q.scale[0])
                out(f"  real       {_real(real)}  (scale {float(q.scale[0]):.6g}, zero point {int(q.zero_point[0])})")
            out(f"reference    {ref.ravel()}")
            if q is not None and np.issubdtype(ref.dtype, np.integer) and q.scale.size == 1:
                out(f"  real       {_real(ref_real)}")
        agree = f"max |diff| {m.max_abs:.3g}, l2r {m.l2r:.3g}"
        if m.acc is not None:
            agree += f", same argmax: {'yes' if m.acc == 1.0 else 'no'}"
        out(f"agreement    {agree}")
        out(usage_table(fw).rstrip())
        return 0 if res.status == 0 else 1
