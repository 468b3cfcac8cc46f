"""`tinyscope validate MODEL`: renders ``tinyscope.api.validate`` (thresholds documented there)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from tinyscope.api.validate import validate
from tinyscope.cli.base import MODEL_HELP, Command, count, out
from tinyscope.errors import ValidationError
from tinyscope.firmware.options import add_option
from tinyscope.report.tables import render, table


class ValidateCommand(Command):
    NAME = "validate"
    HELP = "build the generated C for this machine and compare it with the reference and the original runtime"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help=MODEL_HELP)
        add_option(parser, "input_shape")
        parser.add_argument("--inputs", type=Path, help="samples: .npy, .npz or .csv (default: random)")
        parser.add_argument("-n", type=count(1, 10_000), default=10,
                            help="number of random samples (default 10, at most 10,000)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random samples")
        parser.add_argument("--max-l2r", type=float, default=None,
                            help="float32, C vs reference (default: 8 x 2^-23 x sum of sqrt(K) over the weighted "
                                 "layers, K the terms of each dot product, at least 1e-6)")
        parser.add_argument("--max-int8-diff", type=int, default=0, help="int8, C vs reference (LSB)")
        parser.add_argument("--runtime-max-l2r", type=float, default=5e-2, help="C vs original runtime")
        parser.add_argument("--json", action="store_true", help="print the metrics as JSON")

    def invoke(self, args: argparse.Namespace) -> int:
        r = validate(args.model, args.inputs, args.n, args.seed, args.max_l2r, args.max_int8_diff,
                     args.runtime_max_l2r, input_shape=args.input_shape)
        if args.json:
            out(json.dumps({"model": r.model, "samples": r.samples,
                            "runtime": r.runtime, "runtime_missing": r.runtime_missing,
                            "results": [{"pair": p.pair, "output": p.output, "passed": p.passed, "limit": p.limit,
                                         **asdict(p.metrics)} for p in r.pairs]}, indent=2))
        else:
            out(f"validated {r.model}: {r.samples} samples, output {r.output_dtype}"
                + (f"; {r.runtime_missing}" if r.runtime_missing else f"; original runtime {r.runtime}"))
            cols = [("pair", "left"), ("output", "left"), ("acc", "right"), ("rmse", "right"), ("mae", "right"),
                    ("l2r", "right"), ("cos", "right"), ("max|d|", "right"), ("limit", "left"), ("", "left")]
            rows = [[p.pair, p.output[:30], "-" if p.metrics.acc is None else f"{p.metrics.acc:.2%}",
                     f"{p.metrics.rmse:.3e}", f"{p.metrics.mae:.3e}", f"{p.metrics.l2r:.3e}", f"{p.metrics.cos:.6f}",
                     f"{p.metrics.max_abs:.3g}", p.limit, "ok" if p.passed else "FAIL"] for p in r.pairs]
            out(render(table(None, cols, rows)).rstrip())
        if r.failures:
            raise ValidationError(f"threshold crossed: {', '.join(r.failures)} (see the table)")
        return 0
