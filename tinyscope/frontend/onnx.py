"""ONNX importer: NCHW graphs into the NHWC IR, with QDQ (QuantizeLinear/DequantizeLinear) as int8.

Conversion happens in two steps. First every node becomes IR ops with ONNX's own meaning: a
DequantizeLinear of a weight becomes a float constant (its int8 source kept aside), one of an
activation a DEQUANTIZE op, a QuantizeLinear a QUANTIZE op. Then ``_fold_qdq`` turns each
``DEQUANTIZE -> op -> QUANTIZE`` island into one int8 op, the form TFLite uses and the kernels run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from tinyscope.errors import ModelError, ShapeError, UnsupportedError
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.graph import DType, Graph, Quant
from tinyscope.ir.ops import (
    RELU,
    ActivationAttrs,
    AddAttrs,
    Clamp,
    ConvAttrs,
    FullyConnectedAttrs,
    NoAttrs,
    OpGroup,
    OpType,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
)
from tinyscope.ir.passes import fold_activations, fold_pads
from tinyscope.ir.shapes import same_padding
from tinyscope.ir.verify import verify

_ONNX_DTYPES = {1: DType.FLOAT32, 3: DType.INT8}


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
        self.consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in self.g.initializer}
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
            raise ModelError(f"{self.path}: value {onnx_name!r} is used before it is computed")
        return self.env[onnx_name]

    def shape(self, ir_name: str) -> tuple[int, ...]:
        return self.b.graph.tensors[ir_name].shape

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _window_pads(node, a: dict, h: int, w: int, k, stride, dil=(1, 1)):
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        t, b = same_padding(h, k[0], stride[0], dil[0])
        l, r = same_padding(w, k[1], stride[1], dil[1])
        return (b, t, r, l) if auto == "SAME_LOWER" else (t, b, l, r)
    p = list(a.get("pads", [0, 0, 0, 0]))
    return (int(p[0]), int(p[2]), int(p[1]), int(p[3]))


def _pair(v, default) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if v is not None else default


def conv(ctx: _Ctx, node) -> str:
    a = _attrs(node)
    x = ctx.t(node.input[0])
    w = ctx.const(node.input[1])
    if w is None or w.ndim != 4:
        raise UnsupportedError(f"Conv {node.name!r}: weights must be a constant 4-D tensor")
    n, h, wd, c = ctx.shape(x)
    group = int(a.get("group", 1))
    kh, kw = w.shape[2], w.shape[3]
    stride, dil = _pair(a.get("strides"), (1, 1)), _pair(a.get("dilations"), (1, 1))
    pads = _window_pads(node, a, h, wd, (kh, kw), stride, dil)
    oc = w.shape[0]
    bias = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(oc, np.float32)
    if bias is None:
        raise UnsupportedError(f"Conv {node.name!r}: bias must be constant")
    if group == 1:
        wt = np.transpose(w, (0, 2, 3, 1))
        kind, mult = OpType.CONV_2D, 1
    elif group == c and w.shape[1] == 1:
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

    wn = ctx.b.const(f"{node.name}/W", columns(w_out_in).astype(np.float32))
    bn = ctx.b.const(f"{node.name}/B", bias.astype(np.float32))
    _carry_qconst(ctx, w_onnx, wn, (lambda d: columns(d.T)) if transposed else columns, 0)
    _carry_qconst(ctx, b_onnx, bn, lambda d: d, 0)
    return ctx.b.op(OpType.FULLY_CONNECTED, node.name, [x, wn, bn], FullyConnectedAttrs(),
                    out_name=node.output[0], origin=node.op_type)


def gemm(ctx: _Ctx, node) -> str:
    a = _attrs(node)
    if int(a.get("transA", 0)):
        raise UnsupportedError(f"Gemm {node.name!r}: transA=1")
    w = ctx.const(node.input[1])
    if w is None:
        raise UnsupportedError(f"Gemm {node.name!r}: B must be constant")
    trans_b = bool(int(a.get("transB", 0)))
    wmat = (w if trans_b else w.T) * float(a.get("alpha", 1.0))
    c = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros(wmat.shape[0])
    if c is None:
        raise UnsupportedError(f"Gemm {node.name!r}: C must be constant")
    bias = np.broadcast_to(np.asarray(c, np.float32).ravel(), (wmat.shape[0],)) * float(a.get("beta", 1.0))
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
    lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    if len(node.input) > 1 and node.input[1]:
        lo = float(ctx.const(node.input[1]))
    if len(node.input) > 2 and node.input[2]:
        hi = float(ctx.const(node.input[2]))
    return Clamp(float(lo), float(hi))


def pool(kind: OpType) -> Callable:
    def convert(ctx: _Ctx, node) -> str:
        a = _attrs(node)
        if int(a.get("ceil_mode", 0)):
            raise UnsupportedError(f"{node.op_type} {node.name!r}: ceil_mode=1")
        if any(int(d) != 1 for d in a.get("dilations", [1, 1])):
            raise UnsupportedError(f"{node.op_type} {node.name!r}: dilated pooling")
        x = ctx.t(node.input[0])
        _, h, w, _ = ctx.shape(x)
        k = _pair(a.get("kernel_shape"), (1, 1))
        s = _pair(a.get("strides"), (1, 1))
        pads = _window_pads(node, a, h, w, k, s)
        if kind is OpType.AVERAGE_POOL_2D and int(a.get("count_include_pad", 0)) and any(pads):
            raise UnsupportedError(f"AveragePool {node.name!r}: count_include_pad=1 with padding")
        return ctx.b.op(kind, node.name, [x], PoolAttrs(k, s, pads), out_name=node.output[0],
                        origin=node.op_type)
    return convert


def global_avg_pool(ctx: _Ctx, node) -> str:
    x = ctx.t(node.input[0])
    _, h, w, _ = ctx.shape(x)
    return ctx.b.op(OpType.AVERAGE_POOL_2D, node.name, [x], PoolAttrs((h, w), (h, w)),
                    out_name=node.output[0], origin=node.op_type)


def _to_2d(ctx: _Ctx, node, x: str) -> str:
    shape = ctx.shape(x)
    flat = (shape[0], int(np.prod(shape[1:])))
    y = ctx.b.op(OpType.RESHAPE, node.name, [x], ReshapeAttrs(flat), out_name=node.output[0],
                 origin=node.op_type)
    if len(shape) == 4 and shape[1] * shape[2] > 1:
        ctx.flat_nchw[y] = (shape[3], shape[1], shape[2])
    return y


def flatten(ctx: _Ctx, node) -> str:
    if int(_attrs(node).get("axis", 1)) != 1:
        raise UnsupportedError(f"Flatten {node.name!r}: axis other than 1")
    return _to_2d(ctx, node, ctx.t(node.input[0]))


def reshape(ctx: _Ctx, node) -> str:
    x = ctx.t(node.input[0])
    target = ctx.const(node.input[1])
    if target is None:
        raise UnsupportedError(f"Reshape {node.name!r}: the shape must be constant")
    shape = ctx.shape(x)
    nchw = (shape[0], shape[3], shape[1], shape[2]) if len(shape) == 4 else shape
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
    axis = int(_attrs(node).get("axis", -1))
    if len(ctx.shape(x)) != 2 or axis not in (-1, 1):
        raise UnsupportedError(f"Softmax {node.name!r}: only over the last axis of a 2-D tensor")
    return ctx.b.op(OpType.SOFTMAX, node.name, [x], SoftmaxAttrs(), out_name=node.output[0],
                    origin=node.op_type)


def batch_norm(ctx: _Ctx, node) -> str:
    x = ctx.t(node.input[0])
    gamma, beta, mean, var = (ctx.const(n) for n in node.input[1:5])
    if any(v is None for v in (gamma, beta, mean, var)):
        raise UnsupportedError(f"BatchNormalization {node.name!r}: parameters must be constant")
    scale = gamma / np.sqrt(var + float(_attrs(node).get("epsilon", 1e-5)))
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
    n = ctx.shape(x)[-1]
    wk = ctx.b.const(f"{node.name}/scale", scale.reshape(1, 1, 1, n).astype(np.float32))
    bk = ctx.b.const(f"{node.name}/shift", shift.astype(np.float32))
    return ctx.b.op(OpType.DEPTHWISE_CONV_2D, node.name, [x, wk, bk], ConvAttrs(), out_name=node.output[0],
                    origin=node.op_type)


def identity(ctx: _Ctx, node) -> str:
    return ctx.t(node.input[0])


def _qparams(ctx: _Ctx, node) -> Quant:
    scale = ctx.const(node.input[1])
    zp = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.zeros_like(scale, np.int8)
    if scale is None or zp is None:
        raise UnsupportedError(f"{node.op_type} {node.name!r}: scale and zero point must be constant")
    if zp.dtype not in (np.int8, np.int32):
        raise UnsupportedError(f"{node.op_type} {node.name!r}: {zp.dtype} quantization (int8 only)")
    axis = int(_attrs(node).get("axis", 1)) if np.size(scale) > 1 else None
    return Quant.make(scale, zp, axis)


def _keep_flat(ctx: _Ctx, src: str, out: str) -> str:
    """A Q/DQ of a flattened NCHW tensor is still one (the weights after it need reordering)."""
    if src in ctx.flat_nchw:
        ctx.flat_nchw[out] = ctx.flat_nchw[src]
    return out


def quantize_linear(ctx: _Ctx, node) -> str:
    q = _qparams(ctx, node)
    x = ctx.t(node.input[0])
    return _keep_flat(ctx, x, ctx.b.op(OpType.QUANTIZE, node.name, [x], NoAttrs(), out_name=node.output[0],
                                       out_dtype=DType.INT8, out_quant=q, origin=node.op_type))


def dequantize_linear(ctx: _Ctx, node) -> str | None:
    q = _qparams(ctx, node)
    data = ctx.const(node.input[0])
    if data is not None:  # a quantized weight or bias: a float constant, int8 source kept aside
        shape = [1] * data.ndim
        if q.axis is not None:
            shape[q.axis] = -1
        real = (data.astype(np.float64) - q.zero_point.reshape(shape)) * q.scale.reshape(shape)
        ctx.consts[node.output[0]] = real.astype(np.float32)
        ctx.qconsts[f"onnx:{node.output[0]}"] = _QConst(data, q)
        return None
    return _keep_flat(ctx, ctx.t(node.input[0]), ctx.b.op(
        OpType.DEQUANTIZE, node.name, [ctx.t(node.input[0])], NoAttrs(), out_name=node.output[0],
        out_dtype=DType.FLOAT32, origin=node.op_type))


CONVERTERS: dict[str, Callable] = {
    "Conv": conv, "Gemm": gemm, "MatMul": matmul, "Add": add,
    "Relu": activation(lambda ctx, node: RELU), "Clip": activation(_clip),
    "MaxPool": pool(OpType.MAX_POOL_2D), "AveragePool": pool(OpType.AVERAGE_POOL_2D),
    "GlobalAveragePool": global_avg_pool, "Flatten": flatten, "Reshape": reshape, "Softmax": softmax,
    "BatchNormalization": batch_norm, "Identity": identity, "Dropout": identity,
    "QuantizeLinear": quantize_linear, "DequantizeLinear": dequantize_linear,
}


def _fold_qdq(graph: Graph, qconsts: dict[str, _QConst]) -> Graph:
    """Rewrite DEQUANTIZE -> float op -> QUANTIZE islands as one int8 op (TFLite's form)."""
    g = graph.copy()
    int8_kinds = OpGroup.WEIGHTED | OpGroup.POOL | {OpType.ADD, OpType.RESHAPE, OpType.SOFTMAX}
    changed = True
    while changed:
        changed = False
        producers, consumers = g.producers(), g.consumers()
        for op in g.ops:
            if op.type not in int8_kinds:
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
                    qb = np.round(g.tensors[op.inputs[2]].data / bscale).astype(np.int32)
                    qconsts[op.inputs[2]] = _QConst(qb, Quant.make(bscale.astype(np.float32), 0))
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


def load(path: Path) -> Graph:
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises DecodeError and others on corrupt bytes
        raise ModelError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from exc
    if not model.graph.node:
        raise ModelError(f"{path}: the ONNX graph has no nodes")
    bad = [f"{n.op_type} (node {i} {n.name!r})" for i, n in enumerate(model.graph.node)
           if n.op_type not in CONVERTERS or (n.domain not in ("", "ai.onnx"))]
    if bad:
        raise UnsupportedError(f"{path}: unsupported operators: {'; '.join(bad)}. "
                               f"Supported: {', '.join(sorted(CONVERTERS))}")
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
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: node {node.name!r} ({node.op_type}): "
                             f"{type(exc).__name__}: {exc}") from exc
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
