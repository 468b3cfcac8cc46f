"""The ``analyze`` report as text, in X-CUBE-AI's vocabulary so users' scripts keep working."""

from __future__ import annotations

from tinyscope.plan.analyze import ModelFigures, TensorInfo
from tinyscope.report.tables import render, table

NAME_WIDTH = 40


def _kib(n: int) -> str:
    return f"{n:,} B ({n / 1024:.2f} KiB)"


def _tensor(t: TensorInfo) -> str:
    q = f", scale={t.scale:.6g}, zp={t.zero_point}" if t.scale is not None else ""
    shape = "x".join(str(d) for d in t.shape)
    return f"{t.name} [{shape}, {t.dtype}, {_kib(t.bytes)}{q}]"


def _short(name: str) -> str:
    name = name.replace("\n", " ")
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 3] + "..."


def render_analyze(f: ModelFigures) -> str:
    head = [
        f" model_name         : {f.model}",
        f" model_file         : {f.source} ({f.source_format})",
        f" model_hash         : {f.model_hash}",
    ]
    head += [f" input              : {_tensor(t)}" for t in f.inputs]
    head += [f" output             : {_tensor(t)}" for t in f.outputs]
    head += [
        f" params #           : {f.params:,} items ({f.weights_bytes / 1024:.2f} KiB)",
        f" macc               : {f.macc:,}  (ST-style count with bias, pooling, softmax: {f.macc_st:,})",
        f" weights (ro)       : {_kib(f.weights_bytes)}",
        f" activations (rw)   : {_kib(f.activations_bytes)}  ({f.steps} kernel calls; conv+pool fused, "
        "reshape aliased)",
        f" ram (total)        : {_kib(f.ram_total_bytes)} = {f.activations_bytes:,} + "
        f"{sum(t.bytes for t in f.inputs):,} + {sum(t.bytes for t in f.outputs):,}"
        "  (activations + input + output)",
    ]
    head += [f" note               : {n}" for n in f.notes]
    rows = [[lay.m_id, lay.c_id if lay.c_id >= 0 else "-", _short(lay.name),
             lay.type + (" (fused)" if lay.fused else ""), "x".join(map(str, lay.output_shape)),
             f"{lay.params:,}", f"{lay.macc:,}", f"{lay.rom_bytes:,}", f"{lay.output_bytes:,}"]
            for lay in f.layers]
    rows.append(["", "", "total", "", "", f"{f.params:,}", f"{f.macc:,}", f"{f.weights_bytes:,}", ""])
    cols = [("m_id", "right"), ("c_id", "right"), ("name", "left"), ("type", "left"),
            ("output shape", "left"), ("params", "right"), ("macc", "right"), ("rom (B)", "right"),
            ("output (B)", "right")]
    return "\n".join(head) + "\n\n" + render(table(None, cols, rows))
