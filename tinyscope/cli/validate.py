"""`tinyscope validate MODEL`: the generated C, built for this machine, against the reference
executor and the model's original runtime, with X-CUBE-AI's metrics.

Thresholds (defaults, all overridable):
- C vs reference: float32 l2r <= 1e-6; int8 outputs equal (max |difference| <= 0).
- C vs original runtime (LiteRT reference kernels, onnxruntime): l2r <= 5e-2. Runtimes round
  differently (onnxruntime requantizes in float; hybrid TFLite models quantize activations), so
  this pair is a sanity check, the reference pair is the contract.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tinyscope import reference
from tinyscope.build.host import HostNetwork, compile_host
from tinyscope.cli.base import Command, count, out
from tinyscope.codegen import generate
from tinyscope.errors import ValidationError
from tinyscope.frontend import load
from tinyscope.ir.graph import DType
from tinyscope.reference.inputs import load_inputs, random_inputs
from tinyscope.reference.runtimes import original_runtime_name, run_original
from tinyscope.report.metrics import compare
from tinyscope.report.tables import render, table


class ValidateCommand(Command):
    NAME = "validate"
    HELP = "build the generated C for this machine and compare it with the reference and the original runtime"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("model", help="a .tflite, .h5, .keras or .onnx file, or zoo:<name>")
        parser.add_argument("--inputs", type=Path, help="samples: .npy, .npz or .csv (default: random)")
        parser.add_argument("-n", type=count(1, 10_000), default=10,
                            help="number of random samples (default 10, at most 10,000)")
        parser.add_argument("--seed", type=int, default=0, help="seed of the random samples")
        parser.add_argument("--max-l2r", type=float, default=1e-6, help="float32, C vs reference")
        parser.add_argument("--max-int8-diff", type=int, default=0, help="int8, C vs reference (LSB)")
        parser.add_argument("--runtime-max-l2r", type=float, default=5e-2, help="C vs original runtime")
        parser.add_argument("--json", action="store_true", help="print the metrics as JSON")

    def invoke(self, args: argparse.Namespace) -> int:
        graph = load(args.model)
        samples = load_inputs(graph, args.inputs) if args.inputs else random_inputs(graph, args.n, args.seed)
        with tempfile.TemporaryDirectory(prefix="tinyscope-validate-") as tmp:
            code = generate(graph, Path(tmp) / "c", "network")
            net = HostNetwork(compile_host(code, Path(tmp)), code, graph)
            ours = net.run_batch(samples)
        ref = np.stack([reference.run(graph, [x[None]])[0][0] for x in samples])
        int8 = graph.output_tensors()[0].dtype is DType.INT8
        rows, failures, doc = [], [], []
        pairs = [("C vs reference", ref, args.max_l2r)]
        rt = original_runtime_name(graph)
        orig = run_original(graph, samples) if rt else None
        if orig is not None:
            pairs.append((f"C vs {rt}", orig, args.runtime_max_l2r))
        for label, other, max_l2r in pairs:
            m = compare(ours, other)
            ok = m.l2r <= max_l2r
            if int8 and label == "C vs reference":
                ok = m.max_abs <= args.max_int8_diff
            if not ok:
                failures.append(label)
            rows.append([label, graph.outputs[0][:30], "-" if m.acc is None else f"{m.acc:.2%}",
                         f"{m.rmse:.3e}", f"{m.mae:.3e}", f"{m.l2r:.3e}", f"{m.cos:.6f}", f"{m.max_abs:.3g}",
                         "ok" if ok else "FAIL"])
            doc.append({"pair": label, "output": graph.outputs[0], "passed": ok, **asdict(m)})
        if args.json:
            out(json.dumps({"model": graph.source, "samples": len(samples), "results": doc}, indent=2))
        else:
            out(f"validated {graph.source}: {len(samples)} samples, output {graph.output_tensors()[0].dtype.value}"
                + ("" if orig is not None or rt is None else f" ({rt} not available)"))
            cols = [("pair", "left"), ("output", "left"), ("acc", "right"), ("rmse", "right"), ("mae", "right"),
                    ("l2r", "right"), ("cos", "right"), ("max|d|", "right"), ("", "left")]
            out(render(table(None, cols, rows)).rstrip())
        if failures:
            raise ValidationError(f"threshold crossed: {', '.join(failures)} (see the table)")
        return 0
