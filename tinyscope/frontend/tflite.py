"""TFLite flatbuffer importer, reading the schema with the light ``tflite`` package (no TensorFlow).

One converter function per builtin operator, in ``CONVERTERS``; every unsupported operator of the
model is listed in a single error before anything is built.

The python flatbuffers accessors do not check anything, so the reader does: every index (tensor,
buffer, opcode) is in range, every vector count fits the file, every string ends inside the file,
options tables are of the operator's type, enums (padding, fused activation) are known values and
quantization zero points fit. What the accessors still trip on (a table offset pointing outside
the file) is reported as a corrupt file.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

from tinyscope.errors import ModelError, ShapeError, UnsupportedError
from tinyscope.frontend import hints
from tinyscope.frontend.hints import hint
from tinyscope.ir.graph import DType, Graph, Op, Quant, Tensor
from tinyscope.ir.ops import (
    NO_ACT,
    RELU,
    RELU6,
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
from tinyscope.ir.passes import fold_pads
from tinyscope.ir.shapes import same_padding_2d
from tinyscope.ir.verify import check_quant, check_shape, verify

_OPNAME = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {TensorType.FLOAT32: DType.FLOAT32, TensorType.INT8: DType.INT8,
           TensorType.INT32: DType.INT32}
_ACTS = {0: NO_ACT, 1: RELU, 2: Clamp(-1.0, 1.0), 3: RELU6}  # ActivationFunctionType
_ACT_NAMES = {4: "TANH", 5: "SIGN_BIT"}
# the options table each supported operator must carry (None: none needed)
_OPTIONS = {"CONV_2D": BuiltinOptions.Conv2DOptions, "DEPTHWISE_CONV_2D": BuiltinOptions.DepthwiseConv2DOptions,
            "FULLY_CONNECTED": BuiltinOptions.FullyConnectedOptions, "MAX_POOL_2D": BuiltinOptions.Pool2DOptions,
            "AVERAGE_POOL_2D": BuiltinOptions.Pool2DOptions, "ADD": BuiltinOptions.AddOptions,
            "RESHAPE": BuiltinOptions.ReshapeOptions, "SOFTMAX": BuiltinOptions.SoftmaxOptions,
            "CONCATENATION": BuiltinOptions.ConcatenationOptions, "LEAKY_RELU": BuiltinOptions.LeakyReluOptions}
_REQUIRED_OPTIONS = {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D"}
# (fewest, most) inputs of each supported operator; bias and the reshape shape are optional
_ARITY = {"CONV_2D": (2, 3), "DEPTHWISE_CONV_2D": (2, 3), "FULLY_CONNECTED": (2, 3), "MAX_POOL_2D": (1, 1),
          "AVERAGE_POOL_2D": (1, 1), "ADD": (2, 2), "RESHAPE": (1, 2), "SOFTMAX": (1, 1), "QUANTIZE": (1, 1),
          "DEQUANTIZE": (1, 1), "CONCATENATION": (2, 1024), "LOGISTIC": (1, 1), "TANH": (1, 1), "LEAKY_RELU": (1, 1),
          "HARD_SWISH": (1, 1), "PAD": (2, 2)}


class _Reader:
    """Wraps one parsed model: tensors of subgraph 0 as IR tensors, options by type."""

    def __init__(self, path: Path, buf: bytes) -> None:
        self.path = path
        self.buf = buf
        if int.from_bytes(buf[0:4], "little") + 4 > len(buf):
            raise ModelError(f"{path}: corrupt or truncated TFLite file (its root table lies past the end)")
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        if self.count(self.model.SubgraphsLength(), "subgraphs") < 1:
            raise ModelError(f"{path}: the TFLite model has no subgraph")
        self.sg = self.model.Subgraphs(0)
        self.n_tensors = self.count(self.sg.TensorsLength(), "tensors")
        self.n_buffers = self.count(self.model.BuffersLength(), "buffers")
        self.n_codes = self.count(self.model.OperatorCodesLength(), "operator codes")
        self.tensors: dict[int, Tensor] = {}
        self.names: dict[int, str] = {}
        used: set[str] = set()
        for i in range(self.n_tensors):
            t = self.sg.Tensors(i)
            name = (self.string(t, 10, f"the name of tensor {i}") or b"").decode("utf-8", "replace") \
                or f"tensor_{i}"
            base, k = name, 1
            while name in used:  # TFLite allows duplicate names; the IR does not
                name, k = f"{base}_{k}", k + 1
            used.add(name)
            self.names[i] = name

    def count(self, n: int, what: str) -> int:
        """A vector length read from the file; each element takes at least 4 bytes of it."""
        if n * 4 > len(self.buf):
            raise ModelError(f"{self.path}: corrupt TFLite file ({n:,} {what} in a file of {len(self.buf):,} bytes)")
        return n

    def string(self, obj, slot: int, what: str) -> bytes | None:
        """A string field, checked to end inside the file (the accessors silently cut it short)."""
        tab = obj._tab
        o = tab.Offset(slot)
        if o == 0:
            return None
        pos = o + tab.Pos
        start = pos + flatbuffers.encode.Get(flatbuffers.number_types.UOffsetTFlags.packer_type, tab.Bytes, pos)
        if start + 4 > len(self.buf):
            raise ModelError(f"{self.path}: corrupt TFLite file ({what} lies past the end of the file)")
        length = flatbuffers.encode.Get(flatbuffers.number_types.UOffsetTFlags.packer_type, tab.Bytes, start)
        if start + 4 + length > len(self.buf):
            raise ModelError(f"{self.path}: corrupt TFLite file ({what} is {length:,} bytes long, past the "
                             "end of the file)")
        return bytes(tab.Bytes[start + 4:start + 4 + length])

    def index(self, i: int, what: str) -> int:
        if not 0 <= i < self.n_tensors:
            raise ModelError(f"{self.path}: {what} refers to tensor {i}, the model has {self.n_tensors}")
        return int(i)

    def opname(self, op) -> str:
        idx = op.OpcodeIndex()
        if not 0 <= idx < self.n_codes:
            raise ModelError(f"{self.path}: an operator refers to operator code {idx}, the model has "
                             f"{self.n_codes}")
        code = self.model.OperatorCodes(idx)
        # Since schema 2.4 the opcode lives in BuiltinCode (int32); older files only fill the
        # int8 DeprecatedBuiltinCode. The larger of the two is the real one.
        c = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        return _OPNAME.get(c, f"BUILTIN_{c}") if c != BuiltinOperator.CUSTOM else (
            "CUSTOM:" + (self.string(code, 6, "a custom operator name") or b"?").decode("utf-8", "replace"))

    def tensor(self, i: int) -> Tensor:
        if i in self.tensors:
            return self.tensors[i]
        t = self.sg.Tensors(self.index(i, "an operator"))
        ttype = t.Type()
        if ttype not in _DTYPES:
            raise UnsupportedError(f"{self.path}: tensor {self.names[i]!r} has unsupported type "
                                   f"{ttype} (supported: float32, int8, int32)")
        dtype = _DTYPES[ttype]
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        try:
            check_shape(shape, f"tensor {self.names[i]!r}", dtype.itemsize)
        except ShapeError as exc:
            raise ShapeError(f"{self.path}: {exc}") from None
        data = None
        if not 0 <= t.Buffer() < max(self.n_buffers, 1):
            raise ModelError(f"{self.path}: tensor {self.names[i]!r} refers to buffer {t.Buffer()}, the model "
                             f"has {self.n_buffers}")
        buf = self.model.Buffers(t.Buffer()) if self.n_buffers else None
        if buf is not None and buf.Offset() > 1:
            raise UnsupportedError(f"{self.path}: tensor {self.names[i]!r} keeps its data outside the "
                                   "flatbuffer (models over 2 GB are not supported)")
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
            scale = q.ScaleAsNumpy()
            zp = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(1, np.int64)
            if zp.size not in (1, scale.size):
                raise ModelError(f"{self.path}: tensor {self.names[i]!r} has {zp.size} quantization zero "
                                 f"points for {scale.size} scales")
            if np.any(np.abs(zp) > 2**31 - 1):
                raise ModelError(f"{self.path}: tensor {self.names[i]!r} has a quantization zero point "
                                 f"{int(zp[np.abs(zp) > 2**31 - 1][0])} outside int32")
            axis = q.QuantizedDimension() if q.ScaleLength() > 1 else None
            quant = Quant.make(scale, zp, axis)
        out = Tensor(self.names[i], shape, dtype, data, quant)
        self.tensors[i] = out
        return out

    def options(self, op, cls):
        name = self.opname(op)
        table = op.BuiltinOptions()
        if table is None or op.BuiltinOptionsType() == BuiltinOptions.NONE:
            if name in _REQUIRED_OPTIONS:
                raise ModelError(f"{self.path}: operator {name} has no options (strides, padding)")
            return None
        if op.BuiltinOptionsType() != _OPTIONS.get(name):
            raise ModelError(f"{self.path}: operator {name} carries options of type "
                             f"{op.BuiltinOptionsType()}, expected {_OPTIONS.get(name)}")
        opt = cls()
        opt.Init(table.Bytes, table.Pos)
        return opt


def _padding(kind: int, h: int, w: int, kh: int, kw: int, stride, dilation=(1, 1)):
    if kind == tflite.Padding.SAME:
        return same_padding_2d(h, w, kh, kw, stride, dilation)
    if kind == tflite.Padding.VALID:
        return (0, 0, 0, 0)
    raise ModelError(f"padding kind {kind} (SAME=0 and VALID=1 exist)")


def _act(code: int):
    if code in _ACTS:
        return _ACTS[code]
    raise UnsupportedError(f"fused activation {_ACT_NAMES.get(code, code)} (NONE, RELU, RELU_N1_TO_1 and "
                           "RELU6 are supported)")


def _rank(t: Tensor, rank: int, what: str) -> None:
    if len(t.shape) != rank:
        raise ShapeError(f"{what} {t.name!r} has shape {t.shape}, a {rank}-D tensor is needed")


def _conv(r: _Reader, op, ins: list[Tensor], out: Tensor, depthwise: bool):
    o = r.options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
    stride = (o.StrideH(), o.StrideW())
    dil = (o.DilationHFactor(), o.DilationWFactor())  # the schema defaults them to 1
    x, w = ins[0], ins[1]
    _rank(x, 4, "the input")
    _rank(w, 4, "the weights")
    kh, kw = w.shape[1], w.shape[2]
    pad = _padding(o.Padding(), x.shape[1], x.shape[2], kh, kw, stride, dil)
    mult = o.DepthMultiplier() if depthwise else 1
    if depthwise and mult == 0:  # old converters leave it 0: the weights say it
        mult = w.shape[3] // x.shape[3]
    attrs = ConvAttrs(stride, dil, pad, _act(o.FusedActivationFunction()), mult)
    return (OpType.DEPTHWISE_CONV_2D if depthwise else OpType.CONV_2D), attrs


def _fc(r: _Reader, op, ins, out):
    o = r.options(op, tflite.FullyConnectedOptions)
    if o is not None and o.WeightsFormat() != 0:
        raise UnsupportedError(f"FULLY_CONNECTED {out.name!r} with shuffled weights (weights format "
                               f"{o.WeightsFormat()})")
    act = _act(o.FusedActivationFunction()) if o is not None else NO_ACT
    return OpType.FULLY_CONNECTED, FullyConnectedAttrs(act)


def _pool(kind: OpType):
    def convert(r: _Reader, op, ins, out):
        o = r.options(op, tflite.Pool2DOptions)
        _rank(ins[0], 4, "the input")
        k, s = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        pad = _padding(o.Padding(), ins[0].shape[1], ins[0].shape[2], k[0], k[1], s)
        return kind, PoolAttrs(k, s, pad, _act(o.FusedActivationFunction()))
    return convert


def _add(r: _Reader, op, ins, out):
    o = r.options(op, tflite.AddOptions)
    act = _act(o.FusedActivationFunction()) if o is not None else NO_ACT
    return OpType.ADD, AddAttrs(act)


def _reshape(r: _Reader, op, ins, out):
    r.options(op, tflite.ReshapeOptions)  # only checked: the output tensor's shape is the target
    return OpType.RESHAPE, ReshapeAttrs(tuple(out.shape))


def _softmax(r: _Reader, op, ins, out):
    o = r.options(op, tflite.SoftmaxOptions)
    return OpType.SOFTMAX, SoftmaxAttrs(float(o.Beta()) if o is not None else 1.0)


def _concatenation(r: _Reader, op, ins, out):
    o = r.options(op, tflite.ConcatenationOptions)
    axis = int(o.Axis()) if o is not None else 0
    rank = len(ins[0].shape)
    if not -rank <= axis < rank or axis % rank == 0:
        raise UnsupportedError(f"CONCATENATION along axis {axis} of a {rank}-D tensor (not the batch axis)")
    if o is not None and _act(o.FusedActivationFunction()) != NO_ACT:
        raise UnsupportedError("CONCATENATION with a fused activation")
    return OpType.CONCATENATION, ConcatAttrs(axis % rank)


def _pad(r: _Reader, op, ins, out):
    """PAD of H and W only, by a constant [4, 2] paddings tensor: zeros (the zero point in int8), as a
    conv's own padding fills."""
    p = ins[1]
    if not p.is_const or p.dtype is not DType.INT32 or p.shape != (4, 2):
        raise UnsupportedError("PAD whose paddings are not a constant int32 [4, 2] tensor (NHWC only)")
    pads = [[int(v) for v in row] for row in np.asarray(p.data).reshape(4, 2)]
    if pads[0] != [0, 0] or pads[3] != [0, 0] or min(pads[1] + pads[2]) < 0:
        raise UnsupportedError(f"PAD by {pads} (height and width only, not negative)")
    return OpType.PAD, PadAttrs((pads[1][0], pads[1][1], pads[2][0], pads[2][1]))


def _unary(fn: str):
    def convert(r: _Reader, op, ins, out):
        alpha = 0.0
        if fn == "leaky_relu":
            o = r.options(op, tflite.LeakyReluOptions)
            alpha = float(o.Alpha()) if o is not None else 0.0
            if not np.isfinite(alpha):
                raise ModelError(f"LEAKY_RELU alpha {alpha!r} is not a finite number")
        return OpType.UNARY, UnaryAttrs(fn, alpha)
    return convert


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
    "CONCATENATION": _concatenation,
    "PAD": _pad,
    "LOGISTIC": _unary("logistic"),
    "TANH": _unary("tanh"),
    "LEAKY_RELU": _unary("leaky_relu"),
    "HARD_SWISH": _unary("hard_swish"),
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
    check_quant(t.quant, t)
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
    except ModelError:
        raise
    except ShapeError as exc:  # from the verifier or the shape rules, which do not know the file
        raise ShapeError(f"{path}: {exc}") from None
    except (IndexError, struct.error, ValueError, TypeError, AttributeError) as exc:
        # the flatbuffer accessors trip on table offsets that point outside the file
        raise ModelError(f"{path}: corrupt or truncated TFLite file ({type(exc).__name__}: {exc})") from None


def _convert(path: Path, buf: bytes) -> Graph:
    r = _Reader(path, buf)
    sg = r.sg
    ops = [sg.Operators(i) for i in range(r.count(sg.OperatorsLength(), "operators"))]
    bad = [f"{r.opname(op)} (operator {i}, output {r.names.get(op.Outputs(0), '?')!r}"
           f"{hint(hints.TFLITE, r.opname(op))})"
           for i, op in enumerate(ops) if r.opname(op) not in CONVERTERS]
    if bad:
        raise UnsupportedError(f"{path}: unsupported operators: {'; '.join(bad)}. "
                               f"Supported: {', '.join(sorted(CONVERTERS))}")
    g = Graph(name=path.stem, tensors={}, ops=[], inputs=[], outputs=[], source=str(path),
              source_format="tflite")
    for i, op in enumerate(ops):
        name = r.opname(op)
        in_idx = [int(k) for k in op.InputsAsNumpy()] if op.InputsLength() else []
        ins = [r.tensor(k) for k in in_idx if k != -1]  # -1: an optional input left out
        lo, hi = _ARITY[name]
        if not lo <= len(ins) <= hi or op.OutputsLength() < 1:
            raise ModelError(f"{path}: operator {i} ({name}) has {len(ins)} inputs and {op.OutputsLength()} "
                             f"outputs ({lo}..{hi} inputs and an output expected)")
        out = r.tensor(int(op.Outputs(0)))
        kind, attrs = CONVERTERS[name](r, op, ins, out)
        if kind in (OpType.RESHAPE, OpType.PAD):
            ins = ins[:1]  # the shape or paddings tensor is folded into the attributes
        if ins and ins[0].dtype is DType.FLOAT32:
            ins = [_dequantized(t, g) if t.is_const and t.dtype is not DType.FLOAT32 else t for t in ins]
        if kind in OpGroup.WEIGHTED and len(ins) == 2:  # no bias: make a zero one
            _rank(ins[1], 2 if kind is OpType.FULLY_CONNECTED else 4, "the weights")
            n = ins[1].shape[-1] if kind is OpType.DEPTHWISE_CONV_2D else ins[1].shape[0]
            bdt = DType.INT32 if ins[0].dtype is DType.INT8 else DType.FLOAT32
            bname, k = f"{out.name}_zero_bias", 1
            while bname in r.names.values() or bname in g.tensors:
                bname, k = f"{out.name}_zero_bias_{k}", k + 1
            ins.append(Tensor(bname, (n,), bdt, np.zeros(n, bdt.numpy)))
        if kind is OpType.FULLY_CONNECTED and len(out.shape) != 2:
            out.shape = (int(np.prod(out.shape[:-1])), out.shape[-1])
        for t in ins + [out]:
            g.tensors[t.name] = t
        g.ops.append(Op(kind, out.name, [t.name for t in ins], [out.name], attrs, m_id=i, origin=name))
    g.inputs = [r.tensor(int(k)).name for k in (sg.InputsAsNumpy() if sg.InputsLength() else [])]
    g.outputs = [r.tensor(int(k)).name for k in (sg.OutputsAsNumpy() if sg.OutputsLength() else [])]
    for n in g.inputs + g.outputs:
        g.tensors.setdefault(n, r.tensors[[k for k, v in r.names.items() if v == n][0]])
    return fold_pads(verify(g))  # a PAD before a conv becomes the conv's own padding, as in the other importers
