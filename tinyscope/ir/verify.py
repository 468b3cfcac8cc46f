"""The IR verifier: every importer's output and every pass's output must pass it."""

from __future__ import annotations

from tinyscope.errors import ShapeError
from tinyscope.ir.graph import DType, Graph
from tinyscope.ir.ops import ATTRS_OF, OpGroup, OpType
from tinyscope.ir.shapes import infer_shape

_N_INPUTS = {
    OpType.CONV_2D: 3, OpType.DEPTHWISE_CONV_2D: 3, OpType.FULLY_CONNECTED: 3, OpType.ADD: 2,
}


def verify(graph: Graph) -> Graph:
    """Check names, order, attribute kinds, shapes and int8 quantization; return the graph."""
    known = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const}
    for n in graph.inputs + graph.outputs:
        if n not in graph.tensors:
            raise ShapeError(f"graph input/output {n!r} is not a tensor of the graph")
    for op in graph.ops:
        where = f"layer {op.name!r} ({op.type.value})"
        if not isinstance(op.attrs, ATTRS_OF[op.type]):
            raise ShapeError(f"{where}: attributes {type(op.attrs).__name__}, "
                             f"expected {ATTRS_OF[op.type].__name__}")
        need = _N_INPUTS.get(op.type, 1)
        if len(op.inputs) != need or len(op.outputs) != 1:
            raise ShapeError(f"{where}: takes {need} input(s) and 1 output, "
                             f"got {len(op.inputs)} and {len(op.outputs)}")
        for t in op.inputs:
            if t not in graph.tensors:
                raise ShapeError(f"{where}: unknown input tensor {t!r}")
            if t not in known:
                raise ShapeError(f"{where}: input {t!r} is used before it is computed")
        shapes = [graph.tensors[t].shape for t in op.inputs]
        expect = infer_shape(op.type, op.attrs, shapes)
        out = graph.tensors[op.outputs[0]]
        if tuple(out.shape) != tuple(expect):
            raise ShapeError(f"{where}: output shape {out.shape}, the inputs give {expect}")
        x = graph.tensors[op.inputs[0]]
        if op.type in OpGroup.WEIGHTED:
            w = graph.tensors[op.inputs[1]]
            if not w.is_const:
                raise ShapeError(f"{where}: weights must be constant")
            if x.dtype is DType.FLOAT32 and w.dtype is not DType.FLOAT32:
                raise ShapeError(f"{where}: float op with {w.dtype.value} weights")
        if op.type is OpType.QUANTIZE:
            _expect_types(where, x.dtype, out.dtype, DType.FLOAT32, DType.INT8)
        elif op.type is OpType.DEQUANTIZE:
            _expect_types(where, x.dtype, out.dtype, DType.INT8, DType.FLOAT32)
        elif x.dtype != out.dtype:
            raise ShapeError(f"{where}: input is {x.dtype.value}, output {out.dtype.value}")
        for t in [x, out]:
            if t.dtype is DType.INT8 and t.quant is None:
                raise ShapeError(f"{where}: int8 tensor {t.name!r} has no quantization")
        known.add(op.outputs[0])
    for n in graph.outputs:
        if n not in known:
            raise ShapeError(f"graph output {n!r} is never computed")
    return graph


def _expect_types(where: str, got_in: DType, got_out: DType, want_in: DType, want_out: DType) -> None:
    if (got_in, got_out) != (want_in, want_out):
        raise ShapeError(f"{where}: converts {got_in.value}->{got_out.value}, "
                         f"expected {want_in.value}->{want_out.value}")
