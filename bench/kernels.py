"""Kernel speed: cycles/MACC per layer and per layer class for every shared and zoo model on the
simulated board (default placement, caches on), the whole-model figures, the ratios to the CMSIS-NN
figures of issue 11 (measured on this simulator before its timing corrections), flash and RAM.

    PYTHONPATH=. .venv/bin/python bench/kernels.py [MODEL ...] [--layers] [--markdown]
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tinyscope.firmware.config import BuildConfig
from tinyscope.ir.graph import Graph
from tinyscope.ir.ops import OpType
from tinyscope.plan.schedule import schedule
from tinyscope.profile import run_profile

ZOO = ["zoo:mnist-cnn", "zoo:mnist-cnn-int8", "zoo:tiny-dscnn", "zoo:tiny-dscnn-int8",
       "zoo:mobilenet-tiny", "zoo:mobilenet-tiny-int8"]
# the shared models folder beside the checkout, as the tests find it
SHARED_DIR = Path(os.environ.get("TINYSCOPE_SHARED_MODELS", Path(__file__).resolve().parents[2] / "shared" / "models"))
SHARED = ["kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite", "kws_dscnn_f32.tflite", "mnist_cnn.h5"]

# Issue 11: CMSIS-NN (current main, GCC 12, -O3) on tinyscope's simulated STM32H743, cycles/MACC
# (ADD: cycles per element), and the whole-model cycles. Measured by the author.
CMSIS_CLASS = {"first conv ic=1": 2.72, "first conv ic=3": 3.93, "depthwise 3x3": 5.95, "conv 1x1": 1.52,
               "conv 3x3 ic>=16": 1.64, "add (per element)": 63.0}
CMSIS_MODEL = {"kws_dscnn_int8.tflite": 5.75e6, "ic_resnet8_int8.tflite": 22.2e6}


@dataclass
class LayerFig:
    name: str
    cls: str
    macc: int
    cycles: int

    @property
    def per_macc(self) -> float:
        return self.cycles / self.macc if self.macc else float("nan")


def layer_class(graph: Graph, op_index: int) -> str:
    """The issue's layer classes, from the op and its shapes."""
    op = graph.ops[op_index]
    dt = "int8" if graph.tensors[op.outputs[0]].dtype.value == "int8" else "f32"
    if op.type is OpType.DEPTHWISE_CONV_2D:
        kh, kw = graph.tensors[op.inputs[1]].shape[1:3]
        return f"{dt} depthwise {kh}x{kw}"
    if op.type is OpType.CONV_2D:
        w = graph.tensors[op.inputs[1]]
        ic = w.shape[3]
        if ic < 16:
            return f"{dt} first conv ic={ic}" if ic <= 4 else f"{dt} conv ic={ic}"
        return f"{dt} conv {w.shape[1]}x{w.shape[2]}" + (" ic>=16" if w.shape[1] * w.shape[2] > 1 else "")
    if op.type is OpType.FULLY_CONNECTED:
        return f"{dt} fully connected"
    if op.type is OpType.ADD:
        return f"{dt} add (per element)"
    return f"{dt} {op.type.value.lower()}"


def measure(model: str) -> tuple[object, list[LayerFig]]:
    p = run_profile(model, BuildConfig())
    steps = schedule(p.graph)
    index = {id(op): i for i, op in enumerate(p.graph.ops)}
    rows = []
    for row in p.layers:
        step = steps[row.c_id]
        main = step.main
        cls = layer_class(p.graph, index[id(main)])
        macc = row.macc
        if main.type is OpType.ADD:
            macc = p.graph.tensors[main.outputs[0]].size  # per element
        rows.append(LayerFig(row.name, cls, macc, row.cycles))
    return p, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--layers", action="store_true", help="print every layer")
    ap.add_argument("--markdown", action="store_true", help="the README table")
    args = ap.parse_args()
    shared = SHARED_DIR
    models = args.models or ZOO + [str(shared / m) for m in SHARED if (shared / m).exists()]
    by_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_class_ref: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # the two networks only
    summary = []
    for m in models:
        p, rows = measure(m)
        usage = p.firmware.usage
        flash = usage.get("flash", (0, 0))[0]
        ram = sum(u for k, (u, _) in usage.items() if k not in ("flash", "itcm"))
        short = m.rsplit("/", 1)[-1]
        ref = CMSIS_MODEL.get(short)
        summary.append((short, p.cycles, p.figures.macc, flash, ram,
                        f"{ref / p.cycles:.2f}x" if ref else "-", p.agreement.max_abs))
        for r in rows:
            by_class[r.cls][0] += r.cycles
            by_class[r.cls][1] += r.macc
            if short in CMSIS_MODEL:
                by_class_ref[r.cls][0] += r.cycles
                by_class_ref[r.cls][1] += r.macc
        if args.layers:
            print(f"\n{short}")
            for r in rows:
                print(f"  {r.name[:40]:40s} {r.cls:28s} {r.macc:>10,} {r.cycles:>11,} {r.per_macc:8.2f}")
    sep = "|" if args.markdown else " "
    print("\nmodel" if not args.markdown else "\n| model | cycles | MACC | cycles/MACC | flash B | RAM B "
          "| CMSIS-NN / tinyscope | max diff |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for short, cyc, macc, flash, ram, ratio, diff in summary:
        cells = [short, f"{cyc:,}", f"{macc:,}", f"{cyc / macc:.2f}", f"{flash:,}", f"{ram:,}", ratio, f"{diff:g}"]
        print((f"| {' | '.join(cells)} |") if args.markdown else sep.join(f"{c:>14}" for c in cells))
    tables = [("layer class, kws_dscnn_int8 and ic_resnet8_int8 (the layers of issue 11's CMSIS-NN figures)",
               by_class_ref, True), ("layer class, every model above", by_class, False)]
    for title, classes, ref_col in tables:
        if not classes:
            continue
        print(f"\n{title}\n")
        if args.markdown:
            print("| layer class | cycles/MACC |" + (" CMSIS-NN |\n|---|---:|---:|" if ref_col else "\n|---|---:|"))
        for cls in sorted(classes):
            cyc, macc = classes[cls]
            if not macc:
                continue  # softmax, pools: no MACC to divide by
            ref = CMSIS_CLASS.get(cls.split(" ", 1)[1]) if cls.startswith("int8") and ref_col else None
            cells = [cls, f"{cyc / macc:.2f}"] + ([f"{ref:.2f}" if ref else "-"] if ref_col else [])
            print(f"| {' | '.join(cells)} |" if args.markdown else "  ".join(f"{c:>32}" for c in cells))


if __name__ == "__main__":
    main()
