"""ONNX importer: NCHW graphs into the NHWC IR, with QDQ (QuantizeLinear/DequantizeLinear) as int8.

Conversion happens in two steps. First every node becomes IR ops with ONNX's own meaning: a
DequantizeLinear of a weight becomes a float constant (its int8 source kept aside), one of an
activation a DEQUANTIZE op, a QuantizeLinear a QUANTIZE op. Then ``_fold_qdq`` turns each
``DEQUANTIZE -> op -> QUANTIZE`` island into one int8 op, the form TFLite uses and the kernels run.

Before that, a model as exporters write it is simplified (``_simplify``: onnxslim's shape inference
and constant folding) after a dynamic batch is fixed to 1 (``_fix_inputs``).

Before either step the whole model is checked as data (``_check_model``): names are UTF-8 text,
every value is written once, nodes have the inputs and outputs their operator needs, and each
initializer's type, dimensions and data agree (they are decoded here, not by onnx's helpers, which
trust them). Attributes are read through typed getters with ranges. External data is refused: a
model file never makes tinyscope open another file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx

from tinyscope.errors import ModelError, ShapeError, UnsupportedError
from tinyscope.frontend import hints
from tinyscope.frontend.hints import hint
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.fixedpoint import round_half_away
from tinyscope.ir.graph import DType, Graph, Quant
from tinyscope.ir.ops import (
    INT8_UNARY_FNS,
    RELU,
    ActivationAttrs,
    AddAttrs,
    Clamp,
    ConcatAttrs,
    ConvAttrs,
    FullyConnectedAttrs,
    NoAttrs,
    OpGroup,
    OpType,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
    UnaryAttrs,
)
from tinyscope.ir.passes import fold_activations, fold_pads
from tinyscope.ir.shapes import is_whole, same_padding
from tinyscope.ir.verify import MAX_TENSOR_BYTES, verify

_ONNX_DTYPES = {1: DType.FLOAT32, 3: DType.INT8}
# initializer element types the importer reads: TensorProto code -> (numpy dtype, typed field)
_INIT_DTYPES = {1: (np.float32, "float_data"), 2: (np.uint8, "int32_data"), 3: (np.int8, "int32_data"),
                6: (np.int32, "int32_data"), 7: (np.int64, "int64_data"), 11: (np.float64, "double_data")}
# (fewest, most) inputs of each operator; empty names in optional slots count as absent
_ARITY = {"Conv": (2, 3), "Gemm": (2, 3), "MatMul": (2, 2), "Add": (2, 2), "Relu": (1, 1), "Clip": (1, 3),
          "MaxPool": (1, 1), "AveragePool": (1, 1), "GlobalAveragePool": (1, 1), "GlobalMaxPool": (1, 1),
          "ReduceMean": (1, 2), "ReduceMax": (1, 2), "Concat": (1, 4096),
          "Sigmoid": (1, 1), "Tanh": (1, 1), "LeakyRelu": (1, 1), "HardSwish": (1, 1), "Selu": (1, 1),
          "Flatten": (1, 1),
          "Reshape": (2, 2), "Softmax": (1, 1), "BatchNormalization": (5, 5), "Identity": (1, 1),
          "Dropout": (1, 3), "QuantizeLinear": (2, 3), "DequantizeLinear": (2, 3)}
_AUTO_PAD = ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")


@dataclass
class _QConst:
    """An int8/int32 initializer behind a DequantizeLinear, kept for the int8 rewrite."""

    data: np.ndarray
    quant: Quant


class _Ctx:
    def __init__(self, path: Path, model: onnx.ModelProto) -> None:
        self.path = path
        self.g = model.graph
        self.b = GraphBuilder(self.g.name or path.stem, str(path), "onnx")
        self.consts: dict[str, np.ndarray] = {i.name: _initializer(path, i) for i in self.g.initializer}
        self.env: dict[str, str] = {}  # ONNX value -> IR tensor
        self.qconsts: dict[str, _QConst] = {}  # IR float const -> its int8 source
        self.flat_nchw: dict[str, tuple[int, int, int]] = {}  # IR tensor flattened from NCHW (C, H, W)
        self.readers: dict[str, int] = {}
        for node in self.g.node:
            for i in node.input:
                self.readers[i] = self.readers.get(i, 0) + 1
        for o in self.g.output:
            self.readers[o.name] = self.readers.get(o.name, 0) + 1

    def t(self, onnx_name: str) -> str:
        if onnx_name not in self.env:
            if onnx_name in self.consts:
                raise UnsupportedError(f"{self.path}: initializer {onnx_name!r} is used where an activation "
                                       "is expected")
            if any(onnx_name in n.output for n in self.g.node):
                raise ModelError(f"{self.path}: value {onnx_name!r} is used before it is computed (the nodes "
                                 "are not in order, or form a cycle)")
            raise ModelError(f"{self.path}: value {onnx_name!r} is read but nothing computes it (no node, "
                             "graph input or initializer has that name)")
        return self.env[onnx_name]

    def shape(self, ir_name: str) -> tuple[int, ...]:
        return self.b.graph.tensors[ir_name].shape

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def rank4(self, node, x: str) -> tuple[int, int, int, int]:
        shape = self.shape(x)
        if len(shape) != 4:
            raise ShapeError(f"{node.op_type} {node.name!r}: needs a 4-D (NCHW) input, got shape {shape}")
        return shape


# ---------------------------------------------------------------- checking the file as data

def _initializer(path: Path, t) -> np.ndarray:
    """An initializer's values, decoded only after its type, dimensions and data agree."""
    where = f"{path}: initializer {t.name!r}"
    if t.data_location == onnx.TensorProto.EXTERNAL or len(t.external_data):
        raise UnsupportedError(f"{where} keeps its data in another file (external data is not supported)")
    if t.HasField("segment"):
        raise UnsupportedError(f"{where} is a segment of a tensor (not supported)")
    if t.data_type not in _INIT_DTYPES:
        name = onnx.TensorProto.DataType.Name(t.data_type) if t.data_type in \
            onnx.TensorProto.DataType.values() else str(t.data_type)
        raise UnsupportedError(f"{where} has element type {name} (float, double, int8, uint8, int32 and "
                               "int64 are supported)")
    dtype, field_name = _INIT_DTYPES[t.data_type]
    dims = [int(d) for d in t.dims]
    if any(d < 0 for d in dims):
        raise ShapeError(f"{where} has negative dimensions {dims}")
    count = 1
    for d in dims:
        count *= d
    itemsize = np.dtype(dtype).itemsize
    if count * itemsize > MAX_TENSOR_BYTES:
        raise ShapeError(f"{where} has dimensions {dims} ({count * itemsize:,} bytes): too large")
    if t.HasField("raw_data"):
        if len(t.raw_data) != count * itemsize:
            raise ModelError(f"{where} holds {len(t.raw_data):,} bytes of data, its dimensions {dims} "
                             f"need {count * itemsize:,}")
        return np.frombuffer(t.raw_data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(dims)
    values = getattr(t, field_name)
    if len(values) != count:
        raise ModelError(f"{where} holds {len(values):,} values, its dimensions {dims} need {count:,}")
    arr = np.asarray(values)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise ModelError(f"{where} holds values outside {np.dtype(dtype).name}")
    return arr.astype(dtype).reshape(dims)


def _strings(path: Path, model) -> None:
    """Every name the importer reads is text: protobuf hands out bytes when they are not UTF-8."""
    g = model.graph
    fields = [("graph name", g.name)]
    for vi in list(g.input) + list(g.output):
        fields.append(("graph input/output name", vi.name))
    for t in g.initializer:
        fields.append(("initializer name", t.name))
    for i, n in enumerate(g.node):
        fields += [(f"node {i} name", n.name), (f"node {i} operator", n.op_type), (f"node {i} domain", n.domain)]
        fields += [(f"node {i} input", v) for v in n.input] + [(f"node {i} output", v) for v in n.output]
        fields += [(f"node {i} attribute name", a.name) for a in n.attribute]
    for what, v in fields:
        if not isinstance(v, str):
            raise ModelError(f"{path}: {what} {v!r} is not valid UTF-8 text")


def _check_model(path: Path, model) -> None:
    """The graph's wiring as data: names, single writers, node arities, graph outputs."""
    g = model.graph
    _strings(path, model)
    if not g.output:
        raise ModelError(f"{path}: the ONNX graph has no outputs")
    seen: dict[str, str] = {}

    def define(name: str, what: str) -> None:
        if not name:
            raise ModelError(f"{path}: {what} has an empty name")
        if name in seen:
            raise ModelError(f"{path}: value {name!r} is defined twice ({seen[name]} and {what})")
        seen[name] = what

    inits = {t.name for t in g.initializer}
    for t in g.initializer:
        define(t.name, "an initializer")
    for vi in g.input:
        if vi.name not in inits:  # old exporters list initializers among the inputs too
            define(vi.name, "a graph input")
    for i, n in enumerate(g.node):
        lo, hi = _ARITY.get(n.op_type, (0, 1 << 30))
        given = [v for v in n.input if v]
        if not lo <= len(n.input) <= max(hi, lo) or len(given) < lo or any(not v for v in n.input[:lo]):
            raise ModelError(f"{path}: node {i} {n.name!r} ({n.op_type}) has inputs {list(n.input)} "
                             f"({lo}..{hi} expected)")
        if not n.output or not n.output[0]:
            raise ModelError(f"{path}: node {i} {n.name!r} ({n.op_type}) has no output")
        for a in n.attribute:
            if a.type not in onnx.AttributeProto.AttributeType.values() or a.type == onnx.AttributeProto.UNDEFINED:
                raise ModelError(f"{path}: node {i} {n.name!r} ({n.op_type}): attribute {a.name!r} has no type")
        for o in n.output:
            if o:
                define(o, f"the output of node {i} {n.name!r}")
    names = [o.name for o in g.output]
    if len(set(names)) != len(names):
        raise ModelError(f"{path}: the graph lists an output twice")


# ---------------------------------------------------------------- typed attributes

def _attrs(node) -> dict:
    out = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH or a.type == onnx.AttributeProto.GRAPHS or a.ref_attr_name:
            raise UnsupportedError(f"{node.op_type} {node.name!r}: attribute {a.name!r} is a graph or a "
                                   "reference (not supported)")
        try:
            out[a.name] = onnx.helper.get_attribute_value(a)
        except ValueError as exc:  # an attribute type onnx does not know
            raise ModelError(f"{node.op_type} {node.name!r}: attribute {a.name!r}: {exc}") from None
    return out


def _int(node, a: dict, name: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
    v = a.get(name, default)
    if not is_whole(v, -(1 << 62)) or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f" in {lo}..{hi}" if hi is not None else f" >= {lo}" if lo is not None else ""
        raise ModelError(f"{node.op_type} {node.name!r}: attribute {name}={v!r} is not a whole number{rng}")
    return int(v)


def _ints(node, a: dict, name: str, n: int, default: tuple[int, ...], minimum: int) -> tuple[int, ...]:
    v = a.get(name)
    if v is None:
        return default
    if not isinstance(v, list) or len(v) != n or not all(is_whole(x, minimum) for x in v):
        raise ModelError(f"{node.op_type} {node.name!r}: attribute {name}={v!r} must be {n} whole numbers "
                         f">= {minimum}")
    return tuple(int(x) for x in v)


def _float(node, a: dict, name: str, default: float) -> float:
    v = a.get(name, default)
    if not isinstance(v, float | int) or isinstance(v, bool) or not np.isfinite(v):
        raise ModelError(f"{node.op_type} {node.name!r}: attribute {name}={v!r} is not a finite number")
    return float(v)


def _window_pads(node, a: dict, h: int, w: int, k, stride, dil=(1, 1)):
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode("utf-8", "replace") if isinstance(auto, bytes) else auto
    if auto not in _AUTO_PAD:
        raise ModelError(f"{node.op_type} {node.name!r}: auto_pad={auto!r} (one of {', '.join(_AUTO_PAD)})")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        t, b = same_padding(h, k[0], stride[0], dil[0])
        l, r = same_padding(w, k[1], stride[1], dil[1])
        return (b, t, r, l) if auto == "SAME_LOWER" else (t, b, l, r)
    if auto == "VALID":
        return (0, 0, 0, 0)
    p = _ints(node, a, "pads", 4, (0, 0, 0, 0), 0)
    return (p[0], p[2], p[1], p[3])


def conv(ctx: _Ctx, node) -> str:
    a = _attrs(node)
    x = ctx.t(node.input[0])
    w = ctx.const(node.input[1])
    if w is None or w.ndim != 4:
        raise UnsupportedError(f"Conv {node.name!r}: weights must be a constant 4-D tensor")
    n, h, wd, c = ctx.rank4(node, x)
    group = _int(node, a, "group", 1, 1)
    kh, kw = w.shape[2], w.shape[3]
    if _ints(node, a, "kernel_shape", 2, (kh, kw), 1) != (kh, kw):
        raise ShapeError(f"Conv {node.name!r}: kernel_shape {a['kernel_shape']} but weights of shape {w.shape}")
    stride, dil = _ints(node, a, "strides", 2, (1, 1), 1), _ints(node, a, "dilations", 2, (1, 1), 1)
    pads = _window_pads(node, a, h, wd, (kh, kw), stride, dil)
    oc = w.shape[0]
    bias = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(oc, np.float32)
    if bias is None:
        raise UnsupportedError(f"Conv {node.name!r}: bias must be constant")
    if bias.shape != (oc,):
        raise ShapeError(f"Conv {node.name!r}: bias of shape {bias.shape} for {oc} output channels")
    if group == 1:
        wt = np.transpose(w, (0, 2, 3, 1))
        kind, mult = OpType.CONV_2D, 1
    elif group == c and w.shape[1] == 1 and oc % c == 0:
        wt = w.reshape(oc, kh, kw).transpose(1, 2, 0)[None]
        kind, mult = OpType.DEPTHWISE_CONV_2D, oc // c
    else:
        raise UnsupportedError(f"Conv {node.name!r}: group={group} (only 1 and depthwise are supported)")
    wn = ctx.b.const(f"{node.name}/W", wt.astype(np.float32))
    bn = ctx.b.const(f"{node.name}/B", bias.astype(np.float32))
    _carry_qconst(ctx, node.input[1], wn, lambda d: np.transpose(d, (0, 2, 3, 1)) if group == 1
                  else d.reshape(oc, kh, kw).transpose(1, 2, 0)[None], 0 if group == 1 else 3)
    _carry_qconst(ctx, node.input[2] if len(node.input) > 2 else "", bn, lambda d: d, 0)
    return ctx.b.op(kind, node.name, [x, wn, bn], ConvAttrs(stride, dil, pads, depth_multiplier=mult),
                    out_name=node.output[0], origin=node.op_type)


def _carry_qconst(ctx: _Ctx, onnx_name: str, ir_name: str, relayout, axis: int | None) -> None:
    """Keep an int8 source for a weight that came through DequantizeLinear, in the IR layout."""
    q = ctx.qconsts.get(f"onnx:{onnx_name}")
    if q is None:
        return
    quant = q.quant if q.quant.axis is None else replace(q.quant, axis=axis)
    ctx.qconsts[ir_name] = _QConst(relayout(q.data), quant)


def _fc(ctx: _Ctx, node, x: str, w_out_in: np.ndarray, bias: np.ndarray, w_onnx: str, transposed: bool,
        b_onnx: str = "") -> str:
    def columns(d: np.ndarray) -> np.ndarray:
        """The flatten ran on NCHW in ONNX: reorder the weight's input columns to NHWC."""
        if x not in ctx.flat_nchw:
            return d
        c, h, w = ctx.flat_nchw[x]
        return d.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(d.shape[0], -1)

    features = int(np.prod(ctx.shape(x)[1:]))
    if w_out_in.ndim != 2 or w_out_in.shape[1] != features:
        raise ShapeError(f"{node.op_type} {node.name!r}: fully connected expects {w_out_in.shape[-1]} input "
                         f"features, got {features}")
    wn = ctx.b.const(f"{node.name}/W", columns(w_out_in).astype(np.float32))
    bn = ctx.b.const(f"{node.name}/B", bias.astype(np.float32))
    _carry_qconst(ctx, w_onnx, wn, (lambda d: columns(d.T)) if transposed else columns, 0)
    _carry_qconst(ctx, b_onnx, bn, lambda d: d, 0)
    return ctx.b.op(OpType.FULLY_CONNECTED, node.name, [x, wn, bn], FullyConnectedAttrs(),
                    out_name=node.output[0], origin=node.op_type)


def gemm(ctx: _Ctx, node) -> str:
    a = _attrs(node)
    if _int(node, a, "transA", 0, 0, 1):
        raise UnsupportedError(f"Gemm {node.name!r}: transA=1")
    w = ctx.const(node.input[1])
    if w is None or w.ndim != 2:
        raise UnsupportedError(f"Gemm {node.name!r}: B must be a constant 2-D tensor")
    trans_b = bool(_int(node, a, "transB", 0, 0, 1))
    wmat = (w if trans_b else w.T) * _float(node, a, "alpha", 1.0)
    c = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(wmat.shape[0])
    if c is None:
        raise UnsupportedError(f"Gemm {node.name!r}: C must be constant")
    if np.size(c) not in (1, wmat.shape[0]):
        raise ShapeError(f"Gemm {node.name!r}: C of shape {np.shape(c)} for {wmat.shape[0]} outputs")
    bias = np.broadcast_to(np.asarray(c, np.float32).ravel(), (wmat.shape[0],)) * _float(node, a, "beta", 1.0)
    return _fc(ctx, node, ctx.t(node.input[0]), wmat, bias, node.input[1], not trans_b,
               node.input[2] if len(node.input) > 2 else "")


def matmul(ctx: _Ctx, node) -> str:
    w = ctx.const(node.input[1])
    if w is None or w.ndim != 2:
        raise UnsupportedError(f"MatMul {node.name!r}: only a constant 2-D right operand is supported")
    return _fc(ctx, node, ctx.t(node.input[0]), w.T, np.zeros(w.shape[1], np.float32), node.input[1], True)


def add(ctx: _Ctx, node) -> str:
    c0, c1 = ctx.const(node.input[0]), ctx.const(node.input[1])
    if c0 is None and c1 is None:
        return ctx.b.op(OpType.ADD, node.name, [ctx.t(node.input[0]), ctx.t(node.input[1])], AddAttrs(),
                        out_name=node.output[0], origin=node.op_type)
    x, c = (node.input[1], c0) if c0 is not None else (node.input[0], c1)
    xt = ctx.t(x)
    prod = ctx.b.graph.producers().get(xt)
    if prod is None or prod.type not in OpGroup.WEIGHTED or ctx.readers.get(x, 0) != 1 or \
            not prod.attrs.act.is_none:
        raise UnsupportedError(f"Add {node.name!r}: a constant added to something other than the "
                               "output of a Conv/Gemm/MatMul (only bias adds are supported)")
    bt = ctx.b.graph.tensors[prod.inputs[2]]
    n = bt.shape[0]
    if c.size != n:
        raise ShapeError(f"Add {node.name!r}: constant of {c.size} values added to {n} channels")
    bt.data = (bt.data + c.reshape(n).astype(np.float32)).astype(np.float32)
    return xt


def activation(clamp_of: Callable) -> Callable:
    def convert(ctx: _Ctx, node) -> str:
        return ctx.b.op(OpType.ACTIVATION, node.name, [ctx.t(node.input[0])],
                        ActivationAttrs(clamp_of(ctx, node)), out_name=node.output[0], origin=node.op_type)
    return convert


def _clip(ctx: _Ctx, node) -> Clamp:
    a = _attrs(node)
    bounds = [a.get("min", -np.inf), a.get("max", np.inf)]
    for i in (1, 2):
        if len(node.input) > i and node.input[i]:
            v = ctx.const(node.input[i])
            if v is None or v.size != 1:
                raise UnsupportedError(f"Clip {node.name!r}: min and max must be constant scalars")
            bounds[i - 1] = v.ravel()[0]
    lo, hi = (float(b) if isinstance(b, float | int | np.number) else np.nan for b in bounds)
    if np.isnan(lo) or np.isnan(hi) or lo > hi:
        raise ModelError(f"Clip {node.name!r}: min {lo} and max {hi} are not a range")
    return Clamp(lo, hi)


def pool(kind: OpType) -> Callable:
    def convert(ctx: _Ctx, node) -> str:
        a = _attrs(node)
        if _int(node, a, "ceil_mode", 0, 0, 1):
            raise UnsupportedError(f"{node.op_type} {node.name!r}: ceil_mode=1")
        if _ints(node, a, "dilations", 2, (1, 1), 1) != (1, 1):
            raise UnsupportedError(f"{node.op_type} {node.name!r}: dilated pooling")
        if _int(node, a, "storage_order", 0, 0, 1):
            raise UnsupportedError(f"{node.op_type} {node.name!r}: storage_order=1")
        x = ctx.t(node.input[0])
        _, h, w, _ = ctx.rank4(node, x)
        k = _ints(node, a, "kernel_shape", 2, (1, 1), 1)
        s = _ints(node, a, "strides", 2, (1, 1), 1)
        pads = _window_pads(node, a, h, w, k, s)
        if kind is OpType.AVERAGE_POOL_2D and _int(node, a, "count_include_pad", 0, 0, 1) and any(pads):
            raise UnsupportedError(f"AveragePool {node.name!r}: count_include_pad=1 with padding")
        return ctx.b.op(kind, node.name, [x], PoolAttrs(k, s, pads), out_name=node.output[0],
                        origin=node.op_type)
    return convert


def global_pool(kind: OpType) -> Callable:
    """GlobalAveragePool / GlobalMaxPool: a pool whose window is the whole input."""
    def convert(ctx: _Ctx, node) -> str:
        x = ctx.t(node.input[0])
        _, h, w, _ = ctx.rank4(node, x)
        return ctx.b.op(kind, node.name, [x], PoolAttrs((h, w), (h, w)), out_name=node.output[0],
                        origin=node.op_type)
    return convert


def reduce_hw(kind: OpType) -> Callable:
    """ReduceMean / ReduceMax over H and W of an NCHW tensor (axes 2, 3; from opset 18 an input): a pool
    whose window is the whole input, then without keepdims a flatten to (batch, channels)."""
    def convert(ctx: _Ctx, node) -> str:
        a = _attrs(node)
        x = ctx.t(node.input[0])
        n, h, w, c = ctx.rank4(node, x)
        axes = ctx.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("axes")
        if axes is None or sorted(int(v) % 4 for v in np.ravel(axes)) != [2, 3]:
            raise UnsupportedError(f"{node.op_type} {node.name!r}: only over H and W (axes 2, 3) of an NCHW "
                                   f"tensor, not axes {None if axes is None else np.ravel(axes).tolist()}")
        if _int(node, a, "noop_with_empty_axes", 0, 0, 1):
            raise UnsupportedError(f"{node.op_type} {node.name!r}: noop_with_empty_axes=1")
        keep = _int(node, a, "keepdims", 1, 0, 1)
        y = ctx.b.op(kind, node.name, [x], PoolAttrs((h, w), (h, w)),
                     out_name=node.output[0] if keep else None, origin=node.op_type)
        if keep:
            return y
        return ctx.b.op(OpType.RESHAPE, f"{node.name}/flatten", [y], ReshapeAttrs((n, c)), out_name=node.output[0],
                        origin=node.op_type)
    return convert


def pad(ctx: _Ctx, node) -> str:
    """Pad of H and W with zeros (pads as an input from opset 11, an attribute before): the IR's PAD,
    which folds into the conv that reads it."""
    a = _attrs(node)
    x = ctx.t(node.input[0])
    ctx.rank4(node, x)
    mode = a.get("mode", b"constant")
    if mode not in (b"constant", "constant"):
        raise UnsupportedError(f"Pad {node.name!r}: mode {mode!r} (constant only)")
    if len(node.input) > 3 and node.input[3]:
        raise UnsupportedError(f"Pad {node.name!r}: the axes input (give pads for all four axes)")
    pads = ctx.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("pads")
    value = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else a.get("value", 0.0)
    if pads is None or np.size(pads) != 8:
        raise UnsupportedError(f"Pad {node.name!r}: pads must be 8 constant numbers (NCHW begins, then ends)")
    p = [int(v) for v in np.ravel(pads)]
    if p[0] or p[1] or p[4] or p[5] or min(p) < 0 or np.size(value) != 1 or float(np.ravel(value)[0]) != 0.0:
        raise UnsupportedError(f"Pad {node.name!r}: pads {p} with value {np.ravel(value).tolist()} (zeros on H "
                               "and W only, not negative)")
    return ctx.b.op(OpType.PAD, node.name, [x], PadAttrs((p[2], p[6], p[3], p[7])), out_name=node.output[0],
                    origin=node.op_type)


def _to_2d(ctx: _Ctx, node, x: str) -> str:
    shape = ctx.shape(x)
    flat = (shape[0], int(np.prod(shape[1:])))
    y = ctx.b.op(OpType.RESHAPE, node.name, [x], ReshapeAttrs(flat), out_name=node.output[0],
                 origin=node.op_type)
    if len(shape) == 4 and shape[1] * shape[2] > 1:
        ctx.flat_nchw[y] = (shape[3], shape[1], shape[2])
    return y


def flatten(ctx: _Ctx, node) -> str:
    if _int(node, _attrs(node), "axis", 1) != 1:
        raise UnsupportedError(f"Flatten {node.name!r}: axis other than 1")
    return _to_2d(ctx, node, ctx.t(node.input[0]))


def reshape(ctx: _Ctx, node) -> str:
    x = ctx.t(node.input[0])
    target = ctx.const(node.input[1])
    if target is None:
        raise UnsupportedError(f"Reshape {node.name!r}: the shape must be constant")
    shape = ctx.shape(x)
    nchw = (shape[0], shape[3], shape[1], shape[2]) if len(shape) == 4 else shape
    if target.dtype.kind not in "iu" or target.ndim != 1 or any(int(d) < -1 for d in target) \
            or list(target).count(-1) > 1 or any(int(d) == 0 and i >= len(nchw) for i, d in enumerate(target)) \
            or (_int(node, _attrs(node), "allowzero", 0, 0, 1) and any(int(d) == 0 for d in target)):
        raise ShapeError(f"Reshape {node.name!r}: target shape {target.tolist()} (whole numbers >= 1, "
                         f"at most one -1, 0 copies a dimension of {list(nchw)} unless allowzero=1)")
    out = [int(nchw[i]) if int(d) == 0 else int(d) for i, d in enumerate(target)]
    if out.count(-1) == 1:
        out[out.index(-1)] = int(np.prod(shape)) // int(np.prod([d for d in out if d != -1]))
    if int(np.prod(out)) != int(np.prod(shape)):
        raise ShapeError(f"Reshape {node.name!r}: cannot reshape {list(nchw)} to {list(target)}")
    if len(out) == 2 and out[0] == shape[0]:
        return _to_2d(ctx, node, x)
    if len(shape) == 4 and shape[1] * shape[2] > 1 or len(out) != 2:
        raise UnsupportedError(f"Reshape {node.name!r}: only reshapes to (batch, features) are supported")
    return ctx.b.op(OpType.RESHAPE, node.name, [x], ReshapeAttrs(tuple(out)), out_name=node.output[0],
                    origin=node.op_type)


def softmax(ctx: _Ctx, node) -> str:
    x = ctx.t(node.input[0])
    axis = _int(node, _attrs(node), "axis", -1)
    if len(ctx.shape(x)) != 2 or axis not in (-1, 1):
        raise UnsupportedError(f"Softmax {node.name!r}: only over the last axis of a 2-D tensor")
    return ctx.b.op(OpType.SOFTMAX, node.name, [x], SoftmaxAttrs(), out_name=node.output[0],
                    origin=node.op_type)


def batch_norm(ctx: _Ctx, node) -> str:
    x = ctx.t(node.input[0])
    gamma, beta, mean, var = (ctx.const(n) for n in node.input[1:5])
    if any(v is None for v in (gamma, beta, mean, var)):
        raise UnsupportedError(f"BatchNormalization {node.name!r}: parameters must be constant")
    rank = len(ctx.shape(x))
    n = ctx.shape(x)[-1] if rank in (2, 4) else 0
    if any(v.shape != (n,) or v.dtype.kind != "f" for v in (gamma, beta, mean, var)):
        raise ShapeError(f"BatchNormalization {node.name!r}: needs a 4-D (NCHW) or 2-D (N, features) input and "
                         f"float parameters of shape ({n},), got {[v.shape for v in (gamma, beta, mean, var)]}")
    eps = _float(node, _attrs(node), "epsilon", 1e-5)
    if not np.all(var.astype(np.float64) + eps > 0):
        raise ModelError(f"BatchNormalization {node.name!r}: variance + epsilon must be > 0")
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    prod = ctx.b.graph.producers().get(x)
    if prod is not None and prod.type in OpGroup.WEIGHTED and prod.attrs.act.is_none and \
            ctx.readers.get(node.input[0], 0) == 1:
        wt, bt = ctx.b.graph.tensors[prod.inputs[1]], ctx.b.graph.tensors[prod.inputs[2]]
        shape = [1] * wt.data.ndim
        shape[3 if prod.type is OpType.DEPTHWISE_CONV_2D else 0] = -1
        wt.data = (wt.data * scale.reshape(shape)).astype(np.float32)
        bt.data = (bt.data * scale + shift).astype(np.float32)
        ctx.env[node.output[0]] = x
        return x
    if rank == 2:  # BatchNorm1d: folds into the Linear before it, the way PyTorch models use it
        raise UnsupportedError(f"BatchNormalization {node.name!r} on a 2-D tensor: supported where it folds "
                               "into the Gemm/MatMul before it (no activation between, no other reader)")
    wk = ctx.b.const(f"{node.name}/scale", scale.reshape(1, 1, 1, n).astype(np.float32))
    bk = ctx.b.const(f"{node.name}/shift", shift.astype(np.float32))
    return ctx.b.op(OpType.DEPTHWISE_CONV_2D, node.name, [x, wk, bk], ConvAttrs(), out_name=node.output[0],
                    origin=node.op_type)


def unary(fn: str, alpha: float = 0.0, gamma: float = 0.0) -> Callable:
    """Sigmoid, Tanh, LeakyRelu (alpha, default 0.01), HardSwish, Selu (alpha, gamma; ONNX's defaults)."""
    def convert(ctx: _Ctx, node) -> str:
        a = _attrs(node)
        attrs = UnaryAttrs(fn, _float(node, a, "alpha", alpha), _float(node, a, "gamma", gamma))
        return ctx.b.op(OpType.UNARY, node.name, [ctx.t(node.input[0])], attrs, out_name=node.output[0],
                        origin=node.op_type)
    return convert


def concat(ctx: _Ctx, node) -> str:
    xs = [ctx.t(n) for n in node.input]
    rank = len(ctx.shape(xs[0]))
    axis = _int(node, _attrs(node), "axis", 1 << 40)
    if rank not in (2, 4) or not -rank <= axis < rank or axis % rank == 0:
        raise UnsupportedError(f"Concat {node.name!r}: along axis {axis} of a {rank}-D tensor (2-D or 4-D NCHW, "
                               "not the batch axis)")
    if any(x in ctx.flat_nchw for x in xs):
        raise UnsupportedError(f"Concat {node.name!r}: of tensors flattened from NCHW (their element order "
                               "differs in NHWC)")
    if len(xs) == 1:
        return xs[0]
    ir_axis = {1: 3, 2: 1, 3: 2}[axis % rank] if rank == 4 else axis % rank  # NCHW -> NHWC
    return ctx.b.op(OpType.CONCATENATION, node.name, xs, ConcatAttrs(ir_axis), out_name=node.output[0],
                    origin=node.op_type)


def identity(ctx: _Ctx, node) -> str:
    return ctx.t(node.input[0])


def _qparams(ctx: _Ctx, node, data_rank: int | None = None) -> Quant:
    scale = ctx.const(node.input[1])
    if scale is None:
        raise UnsupportedError(f"{node.op_type} {node.name!r}: scale and zero point must be constant")
    zp = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(np.shape(scale), np.int8)
    if zp is None:
        raise UnsupportedError(f"{node.op_type} {node.name!r}: scale and zero point must be constant")
    if zp.dtype not in (np.int8, np.int32):
        raise UnsupportedError(f"{node.op_type} {node.name!r}: {zp.dtype} quantization (int8 only)")
    if scale.dtype.kind != "f" or scale.ndim > 1 or scale.size == 0 or zp.size != scale.size:
        raise ModelError(f"{node.op_type} {node.name!r}: scale of type {scale.dtype} and shape {scale.shape} "
                         f"with zero point of shape {zp.shape} (a float scalar or vector, one zero point each)")
    if not np.all(np.isfinite(scale)) or not np.all(scale > 0):
        raise ModelError(f"{node.op_type} {node.name!r}: scale {scale.ravel()[:4].tolist()} is not a finite "
                         "number > 0")
    axis = None
    if np.size(scale) > 1:
        axis = _int(node, _attrs(node), "axis", 1)
        rank = data_rank if data_rank is not None else 4
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise ModelError(f"{node.op_type} {node.name!r}: axis {axis} outside a {rank}-D tensor")
    return Quant.make(scale, zp, axis)


def _keep_flat(ctx: _Ctx, src: str, out: str) -> str:
    """A Q/DQ of a flattened NCHW tensor is still one (the weights after it need reordering)."""
    if src in ctx.flat_nchw:
        ctx.flat_nchw[out] = ctx.flat_nchw[src]
    return out


def quantize_linear(ctx: _Ctx, node) -> str:
    q = _qparams(ctx, node)
    x = ctx.t(node.input[0])
    zp = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if q.axis is not None or (zp is not None and zp.dtype != np.int8):
        raise UnsupportedError(f"QuantizeLinear {node.name!r}: only per-tensor quantization to int8")
    return _keep_flat(ctx, x, ctx.b.op(OpType.QUANTIZE, node.name, [x], NoAttrs(), out_name=node.output[0],
                                       out_dtype=DType.INT8, out_quant=q, origin=node.op_type))


def dequantize_linear(ctx: _Ctx, node) -> str | None:
    data = ctx.const(node.input[0])
    q = _qparams(ctx, node, None if data is None else data.ndim)
    if data is not None:  # a quantized weight or bias: a float constant, int8 source kept aside
        if data.dtype not in (np.int8, np.int32):
            raise UnsupportedError(f"DequantizeLinear {node.name!r}: {data.dtype} data (int8 and int32 only)")
        shape = [1] * data.ndim
        if q.axis is not None:
            if data.shape[q.axis] != q.scale.size:
                raise ShapeError(f"DequantizeLinear {node.name!r}: {q.scale.size} scales for axis {q.axis} of "
                                 f"{data.shape}")
            shape[q.axis] = -1
        real = (data.astype(np.float64) - q.zero_point.reshape(shape)) * q.scale.reshape(shape)
        ctx.consts[node.output[0]] = real.astype(np.float32)
        ctx.qconsts[f"onnx:{node.output[0]}"] = _QConst(data, q)
        return None
    if q.axis is not None:
        raise UnsupportedError(f"DequantizeLinear {node.name!r}: per-channel dequantization of an activation")
    return _keep_flat(ctx, ctx.t(node.input[0]), ctx.b.op(
        OpType.DEQUANTIZE, node.name, [ctx.t(node.input[0])], NoAttrs(), out_name=node.output[0],
        out_dtype=DType.FLOAT32, origin=node.op_type))


CONVERTERS: dict[str, Callable] = {
    "Conv": conv, "Gemm": gemm, "MatMul": matmul, "Add": add,
    "Relu": activation(lambda ctx, node: RELU), "Clip": activation(_clip),
    "MaxPool": pool(OpType.MAX_POOL_2D), "AveragePool": pool(OpType.AVERAGE_POOL_2D),
    "GlobalAveragePool": global_pool(OpType.AVERAGE_POOL_2D), "GlobalMaxPool": global_pool(OpType.MAX_POOL_2D),
    "ReduceMean": reduce_hw(OpType.AVERAGE_POOL_2D), "ReduceMax": reduce_hw(OpType.MAX_POOL_2D),
    "Sigmoid": unary("logistic"), "Tanh": unary("tanh"), "LeakyRelu": unary("leaky_relu", 0.01),
    "HardSwish": unary("hard_swish"), "Selu": unary("selu", 1.67326319217681884765625, 1.05070102214813232421875),
    "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Softmax": softmax,
    "BatchNormalization": batch_norm, "Identity": identity, "Dropout": identity, "Pad": pad,
    "QuantizeLinear": quantize_linear, "DequantizeLinear": dequantize_linear,
}


def _unsupported(path: Path, model) -> None:
    """Every operator the importer cannot convert, listed at once with its node."""
    bad = [f"{n.op_type} (node {i} {n.name!r}{hint(hints.ONNX, n.op_type)})"
           for i, n in enumerate(model.graph.node) if n.op_type not in CONVERTERS or (n.domain not in ("", "ai.onnx"))]
    if bad:
        raise UnsupportedError(f"{path}: unsupported operators: {'; '.join(bad)}. "
                               f"Supported: {', '.join(sorted(CONVERTERS))}")


def _fold_qdq(graph: Graph, qconsts: dict[str, _QConst]) -> Graph:
    """Rewrite DEQUANTIZE -> float op -> QUANTIZE islands as one int8 op (TFLite's form)."""
    g = graph.copy()
    int8_kinds = OpGroup.WEIGHTED | OpGroup.POOL | {OpType.ADD, OpType.RESHAPE, OpType.SOFTMAX}
    changed = True
    while changed:
        changed = False
        producers, consumers = g.producers(), g.consumers()
        for op in g.ops:
            if op.type not in int8_kinds and not (op.type is OpType.UNARY and op.attrs.fn in INT8_UNARY_FNS):
                continue
            acts = [n for n in op.inputs if not g.tensors[n].is_const]
            deqs = [producers.get(n) for n in acts]
            users = consumers.get(op.outputs[0], [])
            if not all(d is not None and d.type is OpType.DEQUANTIZE for d in deqs) or len(users) != 1 \
                    or users[0].type is not OpType.QUANTIZE or op.outputs[0] in g.outputs:
                continue
            if op.type in OpGroup.WEIGHTED:
                if op.inputs[1] not in qconsts:
                    continue
                if op.inputs[2] not in qconsts:  # no bias in the model: quantize the (zero) float one
                    in_q = g.tensors[deqs[0].inputs[0]].quant
                    bscale = np.float64(in_q.scale[0]) * qconsts[op.inputs[1]].quant.scale.astype(np.float64)
                    qb = round_half_away(g.tensors[op.inputs[2]].data / bscale).astype(np.int32)
                    qconsts[op.inputs[2]] = _QConst(qb, Quant.make(bscale.astype(np.float32), 0,
                                                                   0 if bscale.size > 1 else None))
            q_op = users[0]
            for i, n in enumerate(op.inputs):
                if n in acts:
                    op.inputs[i] = deqs[acts.index(n)].inputs[0]
                elif n in qconsts:
                    src = qconsts[n]
                    dtype = DType.INT32 if src.data.dtype == np.int32 else DType.INT8
                    g.tensors[n] = replace(g.tensors[n], dtype=dtype, data=src.data.astype(dtype.numpy),
                                           quant=src.quant)
            old = op.outputs[0]
            op.outputs = [q_op.outputs[0]]
            if op.type is OpType.RESHAPE:
                g.tensors[op.outputs[0]].quant = g.tensors[op.inputs[0]].quant
            g.ops.remove(q_op)
            del g.tensors[old]
            changed = True
            break
    # drop DEQUANTIZE ops nobody reads any more
    used = {n for op in g.ops for n in op.inputs} | set(g.outputs)
    for op in [o for o in g.ops if o.type is OpType.DEQUANTIZE and o.outputs[0] not in used]:
        g.ops.remove(op)
        del g.tensors[op.outputs[0]]
    g.tensors = {n: t for n, t in g.tensors.items()
                 if not t.is_const or n in {i for op in g.ops for i in op.inputs}}
    return verify(g)


def _input_shape(vi) -> tuple[tuple[int, ...], DType]:
    tt = vi.type.tensor_type
    if tt.elem_type not in _ONNX_DTYPES:
        raise UnsupportedError(f"input {vi.name!r}: element type {tt.elem_type} (float32 or int8 only)")
    dims = []
    for i, d in enumerate(tt.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif i == 0:
            dims.append(1)  # a symbolic batch runs as one sample
        else:
            raise UnsupportedError(f"input {vi.name!r}: dynamic dimension {d.dim_param or '?'} at axis {i}")
    return tuple(dims), _ONNX_DTYPES[tt.elem_type]


def _fix_inputs(path: Path, model, input_shape: tuple[int, ...] | None) -> None:
    """Give every graph input fixed dimensions: ``input_shape`` (the model's own layout) when given, else
    a symbolic batch becomes 1; any other symbolic dimension needs ``input_shape``."""
    inits = {t.name for t in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in inits]
    if input_shape is not None and len(inputs) != 1:
        raise UnsupportedError(f"{path}: --input-shape fixes one input, and the model has {len(inputs)}")
    for vi in inputs:
        dims = vi.type.tensor_type.shape.dim
        if input_shape is not None:
            if len(input_shape) != len(dims) or any(d < 1 for d in input_shape):
                raise ShapeError(f"{path}: --input-shape {'x'.join(map(str, input_shape))} for input {vi.name!r} "
                                 f"of rank {len(dims)}")
            for d, v in zip(dims, input_shape):
                if d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != v:
                    raise ShapeError(f"{path}: --input-shape gives {v} where input {vi.name!r} has the fixed "
                                     f"dimension {d.dim_value}")
                d.dim_value = v
            continue
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if i != 0:
                raise UnsupportedError(f"{path}: input {vi.name!r} has the dynamic dimension "
                                       f"{d.dim_param or '?'} at axis {i}; fix it with --input-shape")
            d.dim_value = 1  # a symbolic batch runs as one sample


def _simplify(path: Path, model):
    """Shape inference and constant folding with onnxslim: exporters' shape arithmetic (PyTorch's
    ``x.view(x.size(0), -1)`` is Shape -> Gather -> Unsqueeze -> Concat -> Reshape), Reshapes and
    Transposes of constant weights, Constant and Identity nodes, Conv/Gemm + Add and Conv + BatchNorm
    fold away, leaving the graph a deployment tool sees. onnxslim is pure Python over onnx (it
    evaluates constant subgraphs with onnxruntime), keeps QuantizeLinear/DequantizeLinear pairs and is
    released often; onnxsim needs a native build per onnx version. It runs only on a model that passed
    the checks above, with standard-domain operators only, and its result is checked again after."""
    import contextlib
    import io

    import onnxslim

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            slim = onnxslim.slim(model)
    except Exception as exc:  # the simplifier's own failure on a graph it cannot handle
        text = " ".join(str(exc).split())[:160]
        raise ModelError(f"{path}: shape inference and constant folding failed ({type(exc).__name__}: "
                         f"{text})") from None
    if not isinstance(slim, onnx.ModelProto) or not slim.graph.node:
        raise ModelError(f"{path}: shape inference and constant folding left no graph")
    return slim


def load(path: Path, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Import ``path``; ``input_shape`` fixes the input's dimensions (the model's NCHW layout)."""
    try:  # never follow external data: a model file must not make tinyscope read other files
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, RuntimeError and others on corrupt bytes
        raise ModelError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelError(f"{path}: the ONNX graph has no nodes")
    _strings(path, model)
    _check_model(path, model)
    for t in model.graph.initializer:  # every initializer decodes as data before any library reads it
        _initializer(path, t)
    if any(n.domain not in ("", "ai.onnx") for n in model.graph.node):
        _unsupported(path, model)
    _fix_inputs(path, model, input_shape)
    model = _simplify(path, model)
    _strings(path, model)
    _unsupported(path, model)
    _check_model(path, model)
    ctx = _Ctx(path, model)
    init = set(ctx.consts)
    for vi in model.graph.input:
        if vi.name in init:
            continue
        shape, dtype = _input_shape(vi)
        if len(shape) == 4:
            shape = (shape[0], shape[2], shape[3], shape[1])
            ctx.b.graph.meta["input_layout"] = "NCHW in the model, NHWC in tinyscope"
        ctx.env[vi.name] = ctx.b.input(vi.name, shape, dtype)
    for m_id, node in enumerate(model.graph.node):
        ctx.b.set_m_id(m_id)
        if node.op_type == "Constant":
            continue
        try:
            out = CONVERTERS[node.op_type](ctx, node)
        except (ModelError, ShapeError, UnsupportedError) as exc:  # every error names its node and op type
            msg = str(exc)
            if not msg.startswith(f"{node.op_type} {node.name!r}") and not msg.startswith(f"{path}: {node.op_type}"):
                msg = f"{node.op_type} {node.name!r} (node {m_id}): {msg.removeprefix(f'{path}: ')}"
                raise type(exc)(msg) from None
            raise
        if out is not None:
            ctx.env[node.output[0]] = out
    graph_outputs = {ctx.env.get(o.name) for o in model.graph.output}
    for name in ctx.flat_nchw:
        users = [op for op in ctx.b.graph.ops if name in op.inputs]
        passthrough = (OpType.FULLY_CONNECTED, OpType.QUANTIZE, OpType.DEQUANTIZE)
        if any(op.type not in passthrough for op in users) or name in graph_outputs:
            raise UnsupportedError(f"{path}: a flatten of an NCHW tensor read by something other than "
                                   "Gemm/MatMul (its element order differs in NHWC)")
    outputs = [ctx.t(o.name) for o in model.graph.output]
    if any(len(ctx.shape(o)) == 4 for o in outputs):
        ctx.b.graph.meta["output_layout"] = "NCHW in the model, NHWC in tinyscope"
    g = ctx.b.finish(outputs)
    g = fold_pads(fold_activations(g))
    # fold_activations may have merged a Relu into a conv; the int8 sources follow the tensor names
    return _fold_qdq(g, ctx.qconsts) if ctx.qconsts else g
