"""TFLite flatbuffer importer, reading the schema with the light ``tflite`` package (no TensorFlow).

One converter function per builtin operator, in ``CONVERTERS``; every unsupported operator of the
model is listed in a single error before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.TensorType import TensorType

from tinyscope.errors import ModelError, UnsupportedError
from tinyscope.ir.graph import DType, Graph, Op, Quant, Tensor
from tinyscope.ir.ops import (
    NO_ACT,
    RELU,
    RELU6,
    AddAttrs,
    Clamp,
    ConvAttrs,
    FullyConnectedAttrs,
    NoAttrs,
    OpType,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
)
from tinyscope.ir.shapes import same_padding_2d
from tinyscope.ir.verify import verify

_OPNAME = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {TensorType.FLOAT32: DType.FLOAT32, TensorType.INT8: DType.INT8,
           TensorType.INT32: DType.INT32}
_ACTS = {0: NO_ACT, 1: RELU, 2: Clamp(-1.0, 1.0), 3: RELU6}  # ActivationFunctionType


class _Reader:
    """Wraps one parsed model: tensors of subgraph 0 as IR tensors, options by type."""

    def __init__(self, path: Path, buf: bytes) -> None:
        self.path = path
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.model.SubgraphsLength() < 1:
            raise ModelError(f"{path}: the TFLite model has no subgraph")
        self.sg = self.model.Subgraphs(0)
        self.tensors: dict[int, Tensor] = {}
        self.names: dict[int, str] = {}
        used: set[str] = set()
        for i in range(self.sg.TensorsLength()):
            t = self.sg.Tensors(i)
            name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{i}"
            base, k = name, 1
            while name in used:  # TFLite allows duplicate names; the IR does not
                name, k = f"{base}_{k}", k + 1
            used.add(name)
            self.names[i] = name

    def opname(self, op) -> str:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        # Since schema 2.4 the opcode lives in BuiltinCode (int32); older files only fill the
        # int8 DeprecatedBuiltinCode. The larger of the two is the real one.
        c = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        return _OPNAME.get(c, f"BUILTIN_{c}") if c != BuiltinOperator.CUSTOM else (
            "CUSTOM:" + (code.CustomCode() or b"?").decode("utf-8", "replace"))

    def tensor(self, i: int) -> Tensor:
        if i in self.tensors:
            return self.tensors[i]
        t = self.sg.Tensors(i)
        ttype = t.Type()
        if ttype not in _DTYPES:
            raise UnsupportedError(f"{self.path}: tensor {self.names[i]!r} has unsupported type "
                                   f"{ttype} (supported: float32, int8, int32)")
        dtype = _DTYPES[ttype]
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = None
        buf = self.model.Buffers(t.Buffer()) if t.Buffer() < self.model.BuffersLength() else None
        if buf is not None and buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
            count = int(np.prod(shape)) if shape else 1
            if len(raw) != count * dtype.itemsize:
                raise ModelError(f"{self.path}: tensor {self.names[i]!r} holds {len(raw)} bytes, "
                                 f"its shape {shape} needs {count * dtype.itemsize}")
            data = np.frombuffer(raw, dtype=dtype.numpy).reshape(shape).copy()
        q = t.Quantization()
        quant = None
        if q is not None and q.ScaleLength() > 0:
            zp = q.ZeroPointAsNumpy() if q.ZeroPointLength() else 0
            axis = q.QuantizedDimension() if q.ScaleLength() > 1 else None
            quant = Quant.make(q.ScaleAsNumpy(), zp, axis)
        out = Tensor(self.names[i], shape, dtype, data, quant)
        self.tensors[i] = out
        return out

    def options(self, op, cls):
        table = op.BuiltinOptions()
        if table is None:
            return None
        opt = cls()
        opt.Init(table.Bytes, table.Pos)
        return opt


def _padding(kind: int, h: int, w: int, kh: int, kw: int, stride, dilation=(1, 1)):
    if kind == tflite.Padding.SAME:
        return same_padding_2d(h, w, kh, kw, stride, dilation)
    return (0, 0, 0, 0)


def _conv(r: _Reader, op, ins: list[Tensor], out: Tensor, depthwise: bool):
    o = r.options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
    stride = (o.StrideH(), o.StrideW())
    dil = (o.DilationHFactor() or 1, o.DilationWFactor() or 1)
    x, w = ins[0], ins[1]
    kh, kw = w.shape[1], w.shape[2]
    pad = _padding(o.Padding(), x.shape[1], x.shape[2], kh, kw, stride, dil)
    mult = o.DepthMultiplier() if depthwise else 1
    if depthwise and mult == 0:
        mult = w.shape[3] // x.shape[3]
    attrs = ConvAttrs(stride, dil, pad, _ACTS.get(o.FusedActivationFunction(), NO_ACT), mult)
    return (OpType.DEPTHWISE_CONV_2D if depthwise else OpType.CONV_2D), attrs


def _fc(r: _Reader, op, ins, out):
    o = r.options(op, tflite.FullyConnectedOptions)
    act = _ACTS.get(o.FusedActivationFunction(), NO_ACT) if o is not None else NO_ACT
    return OpType.FULLY_CONNECTED, FullyConnectedAttrs(act)


def _pool(kind: OpType):
    def convert(r: _Reader, op, ins, out):
        o = r.options(op, tflite.Pool2DOptions)
        k, s = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        pad = _padding(o.Padding(), ins[0].shape[1], ins[0].shape[2], k[0], k[1], s)
        return kind, PoolAttrs(k, s, pad, _ACTS.get(o.FusedActivationFunction(), NO_ACT))
    return convert


def _add(r: _Reader, op, ins, out):
    o = r.options(op, tflite.AddOptions)
    act = _ACTS.get(o.FusedActivationFunction(), NO_ACT) if o is not None else NO_ACT
    return OpType.ADD, AddAttrs(act)


def _reshape(r: _Reader, op, ins, out):
    return OpType.RESHAPE, ReshapeAttrs(tuple(out.shape))


def _softmax(r: _Reader, op, ins, out):
    o = r.options(op, tflite.SoftmaxOptions)
    return OpType.SOFTMAX, SoftmaxAttrs(float(o.Beta()) if o is not None else 1.0)


def _simple(kind: OpType):
    return lambda r, op, ins, out: (kind, NoAttrs())


Converter = Callable[[_Reader, object, list[Tensor], Tensor], tuple]
CONVERTERS: dict[str, Converter] = {
    "CONV_2D": lambda r, op, i, o: _conv(r, op, i, o, False),
    "DEPTHWISE_CONV_2D": lambda r, op, i, o: _conv(r, op, i, o, True),
    "FULLY_CONNECTED": _fc,
    "MAX_POOL_2D": _pool(OpType.MAX_POOL_2D),
    "AVERAGE_POOL_2D": _pool(OpType.AVERAGE_POOL_2D),
    "ADD": _add,
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
    "QUANTIZE": _simple(OpType.QUANTIZE),
    "DEQUANTIZE": _simple(OpType.DEQUANTIZE),
}


def _dequantized(t: Tensor, g: Graph) -> Tensor:
    """A float copy of an int8 weight of a float op ("dynamic range" / hybrid models).

    LiteRT runs such ops with hybrid kernels that also quantize the activations at run time;
    tinyscope runs them as float ops on the dequantized weights (recorded in graph.meta).
    """
    if t.quant is None:
        raise UnsupportedError(f"constant {t.name!r} of a float op is {t.dtype.value} without quantization")
    shape = [1] * t.data.ndim
    if t.quant.axis is not None:
        shape[t.quant.axis] = -1
    scale = t.quant.scale.reshape(shape).astype(np.float32)
    zp = t.quant.zero_point.reshape(shape).astype(np.float32)
    g.meta["hybrid_weights"] = "int8 weights of float ops dequantized to float32"
    return Tensor(t.name, t.shape, DType.FLOAT32, ((t.data.astype(np.float32) - zp) * scale), None)


def load(path: Path) -> Graph:
    buf = path.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite flatbuffer (no 'TFL3' identifier)")
    try:
        return _convert(path, buf)
    except (ModelError, UnsupportedError):
        raise
    except Exception as exc:  # the flatbuffer accessors fail with index/struct errors when corrupt
        raise ModelError(f"{path}: corrupt or truncated TFLite file ({type(exc).__name__}: {exc})") from exc


def _convert(path: Path, buf: bytes) -> Graph:
    r = _Reader(path, buf)
    sg = r.sg
    ops = [sg.Operators(i) for i in range(sg.OperatorsLength())]
    bad = [f"{r.opname(op)} (operator {i}, output {r.names.get(op.Outputs(0), '?')!r})"
           for i, op in enumerate(ops) if r.opname(op) not in CONVERTERS]
    if bad:
        raise UnsupportedError(f"{path}: unsupported operators: {'; '.join(bad)}. "
                               f"Supported: {', '.join(sorted(CONVERTERS))}")
    g = Graph(name=path.stem, tensors={}, ops=[], inputs=[], outputs=[], source=str(path),
              source_format="tflite")
    for i, op in enumerate(ops):
        name = r.opname(op)
        in_idx = [int(k) for k in op.InputsAsNumpy()] if op.InputsLength() else []
        ins = [r.tensor(k) for k in in_idx if k >= 0]
        out = r.tensor(int(op.Outputs(0)))
        kind, attrs = CONVERTERS[name](r, op, ins, out)
        if kind is OpType.RESHAPE:
            ins = ins[:1]  # the shape tensor is folded into the attributes
        if ins and ins[0].dtype is DType.FLOAT32:
            ins = [_dequantized(t, g) if t.is_const and t.dtype is not DType.FLOAT32 else t for t in ins]
        if kind is OpType.FULLY_CONNECTED and len(ins) == 2:  # no bias: make a zero one
            bdt = DType.INT32 if ins[0].dtype is DType.INT8 else DType.FLOAT32
            ins.append(Tensor(f"{out.name}_zero_bias", (ins[1].shape[0],), bdt,
                              np.zeros(ins[1].shape[0], bdt.numpy)))
        if kind is OpType.FULLY_CONNECTED and len(out.shape) != 2:
            out.shape = (int(np.prod(out.shape[:-1])), out.shape[-1])
        for t in ins + [out]:
            g.tensors[t.name] = t
        g.ops.append(Op(kind, out.name, [t.name for t in ins], [out.name], attrs, m_id=i, origin=name))
    g.inputs = [r.tensor(int(k)).name for k in sg.InputsAsNumpy()]
    g.outputs = [r.tensor(int(k)).name for k in sg.OutputsAsNumpy()]
    for n in g.inputs + g.outputs:
        g.tensors.setdefault(n, r.tensors[[k for k, v in r.names.items() if v == n][0]])
    return verify(g)
