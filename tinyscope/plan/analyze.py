"""The ``analyze`` figures: per-layer params, MACC, ROM and output bytes, and the model's totals.

MACC is plain multiply-accumulates. ``macc_st`` also counts what X-CUBE-AI counts: one per output
for a bias, the window size per pooled output, one per element for ADD and standalone
activations, and 30 per softmax element; with those rules the study's model gives ST's
2,852,598 (ST does not publish its rule; this is the one that reproduces its figure).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinyscope.ir.graph import Graph, Op, Tensor
from tinyscope.ir.ops import OpGroup, OpType
from tinyscope.plan.arena import plan_arena
from tinyscope.plan.schedule import schedule

SOFTMAX_MACC_PER_ELEMENT = 30  # X-CUBE-AI's count for the study model's 10-way softmax is 300


@dataclass
class LayerFigures:
    m_id: int
    c_id: int  # the kernel call (step) that runs this op
    name: str
    type: str
    origin: str
    output_shape: list[int]
    params: int
    macc: int
    macc_st: int
    rom_bytes: int
    output_bytes: int
    fused: bool  # runs inside another op's kernel call (a pool after a conv) or is an alias


@dataclass
class TensorInfo:
    name: str
    shape: list[int]
    dtype: str
    bytes: int
    scale: float | None = None
    zero_point: int | None = None


@dataclass
class ModelFigures:
    model: str
    source: str
    source_format: str
    model_hash: str
    params: int
    macc: int
    macc_st: int
    weights_bytes: int
    activations_bytes: int
    io_bytes: int
    ram_total_bytes: int
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    layers: list[LayerFigures]
    steps: int
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def op_macc(graph: Graph, op: Op) -> int:
    """Plain multiply-accumulates of one op."""
    out = graph.tensors[op.outputs[0]]
    if op.type is OpType.CONV_2D:
        w = graph.tensors[op.inputs[1]].shape
        return out.size * w[1] * w[2] * w[3]
    if op.type is OpType.DEPTHWISE_CONV_2D:
        w = graph.tensors[op.inputs[1]].shape
        return out.size * w[1] * w[2]
    if op.type is OpType.FULLY_CONNECTED:
        return out.size * graph.tensors[op.inputs[1]].shape[1]
    return 0


def op_macc_st(graph: Graph, op: Op) -> int:
    """MACC as X-CUBE-AI counts it (see the module docstring)."""
    out = graph.tensors[op.outputs[0]]
    if op.type in OpGroup.WEIGHTED:
        return op_macc(graph, op) + out.size
    if op.type in OpGroup.POOL:
        return out.size * op.attrs.kernel[0] * op.attrs.kernel[1]
    if op.type in (OpType.ADD, OpType.ACTIVATION, OpType.UNARY):
        return out.size
    if op.type is OpType.SOFTMAX:
        return out.size * SOFTMAX_MACC_PER_ELEMENT
    return 0


def _const_inputs(graph: Graph, op: Op) -> list[Tensor]:
    if op.type is OpType.RESHAPE:
        return []
    return [graph.tensors[n] for n in op.inputs if graph.tensors[n].is_const]


def _info(t: Tensor) -> TensorInfo:
    q = t.quant
    return TensorInfo(t.name, list(t.shape), t.dtype.value, t.nbytes,
                      float(q.scale[0]) if q is not None and not q.per_channel else None,
                      int(q.zero_point[0]) if q is not None and not q.per_channel else None)


def graph_digest(graph: Graph) -> str:
    """SHA-256 of what the graph computes: ops, attributes, tensors, quantization and constants."""
    h = hashlib.sha256()
    for op in graph.ops:
        h.update(repr((op.type.value, op.inputs, op.outputs, op.attrs)).encode("utf-8", "surrogatepass"))
    for name in sorted(graph.tensors):
        t = graph.tensors[name]
        q = None if t.quant is None else (list(map(float, t.quant.scale)), list(map(int, t.quant.zero_point)))
        h.update(repr((name, t.shape, t.dtype.value, q)).encode("utf-8", "surrogatepass"))
        if t.data is not None:
            h.update(np.ascontiguousarray(t.data).tobytes())
    h.update(repr((graph.inputs, graph.outputs)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def model_hash(graph: Graph) -> str:
    """SHA-256 of the model file (as X-CUBE-AI reports it), or of the graph for built-in models."""
    try:
        p = Path(graph.source)
        if graph.source and p.is_file():
            return hashlib.sha256(p.read_bytes()).hexdigest()
    except (OSError, ValueError):  # a "source" that is no path (too long, NUL byte)
        pass
    return graph_digest(graph)


def analyze(graph: Graph) -> ModelFigures:
    """All figures of ``tinyscope analyze``, planned as the code generator will run the graph."""
    steps = schedule(graph)
    plan = plan_arena(graph, steps)
    c_of: dict[str, int] = {}
    fused: set[str] = set()
    for s in steps:
        for k, op in enumerate(s.ops):
            c_of[op.name] = s.index
            if k > 0:
                fused.add(op.name)
    layers = []
    seen_consts: set[str] = set()
    for op in graph.ops:
        consts = [t for t in _const_inputs(graph, op) if t.name not in seen_consts]
        seen_consts.update(t.name for t in consts)
        out = graph.tensors[op.outputs[0]]
        layers.append(LayerFigures(
            m_id=op.m_id, c_id=c_of.get(op.name, -1), name=op.name, type=op.type.value, origin=op.origin,
            output_shape=list(out.shape), params=sum(t.size for t in consts),
            macc=op_macc(graph, op), macc_st=op_macc_st(graph, op),
            rom_bytes=sum(t.nbytes for t in consts), output_bytes=out.nbytes,
            fused=op.name in fused or op.type in OpGroup.ALIAS))
    weights = sum(t.nbytes for t in graph.tensors.values() if t.is_const and t.name in seen_consts)
    io = sum(t.nbytes for t in graph.input_tensors()) + sum(t.nbytes for t in graph.output_tensors())
    notes = [f"{k}: {v}" for k, v in graph.meta.items()]
    return ModelFigures(
        model=graph.name, source=graph.source, source_format=graph.source_format,
        model_hash=model_hash(graph), params=sum(lay.params for lay in layers),
        macc=sum(lay.macc for lay in layers), macc_st=sum(lay.macc_st for lay in layers),
        weights_bytes=weights, activations_bytes=plan.size, io_bytes=io,
        ram_total_bytes=plan.size + io, inputs=[_info(t) for t in graph.input_tensors()],
        outputs=[_info(t) for t in graph.output_tensors()], layers=layers, steps=len(steps), notes=notes)
