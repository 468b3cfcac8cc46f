"""The IR verifier: every importer's output and every pass's output must pass it.

It is the one place that says what a well-formed graph is, so every later stage (analysis, the
reference executor, code generation, validation) can rely on it instead of checking again:

- the graph: at least one input and one output; inputs are activations, every output is computed
  by an op, and not by reshapes alone; ops in execution order, each tensor written once; names
  are text;
- tensors: positive whole dimensions, at most ``MAX_TENSOR_BYTES`` (no Cortex-M7 holds more, and
  the generated C counts in 32 bits); constants hold data of their shape and dtype, float constants
  are finite; quantization has finite positive scales, int8 zero points, one scale per channel;
- ops: the right attribute record with sane values (strides >= 1, padding >= 0, clamps that are
  not NaN), the right number of inputs, shapes that the rules in shapes.py give, and dtypes that
  fit together (an int8 conv has int8 weights and an int32 bias; a float conv float ones).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

from tinyscope.errors import ShapeError, UnsupportedError
from tinyscope.ir.graph import DType, Graph, Quant, Tensor
from tinyscope.ir.ops import (
    ATTRS_OF,
    INT8_UNARY_FNS,
    UNARY_FNS,
    ActivationAttrs,
    AddAttrs,
    Clamp,
    ConcatAttrs,
    ConvAttrs,
    FullyConnectedAttrs,
    OpGroup,
    OpType,
    PadAttrs,
    PoolAttrs,
    SoftmaxAttrs,
    UnaryAttrs,
)
from tinyscope.ir.shapes import infer_shape, is_whole

_N_INPUTS = {
    OpType.CONV_2D: 3, OpType.DEPTHWISE_CONV_2D: 3, OpType.FULLY_CONNECTED: 3, OpType.ADD: 2,
}
MAX_TENSOR_BYTES = 2**31 - 1


def check_name(name: object, what: str) -> str:
    """A name is text that can be written as UTF-8 (no lone surrogates from undecodable bytes)."""
    if not isinstance(name, str):
        raise ShapeError(f"{what} {name!r} is not text")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ShapeError(f"{what} {name.encode('utf-8', 'backslashreplace').decode()!r} is not valid "
                         "UTF-8 text") from None
    return name


def check_shape(shape: object, what: str, itemsize: int = 4) -> None:
    """Positive whole dimensions, and no more than MAX_TENSOR_BYTES of ``itemsize``-byte values."""
    if not isinstance(shape, tuple) or not all(is_whole(d, 1) for d in shape):
        raise ShapeError(f"{what} has shape {shape!r}: every dimension must be a whole number >= 1")
    n = 1
    for d in shape:
        n *= int(d)
    if n * itemsize > MAX_TENSOR_BYTES:
        raise ShapeError(f"{what} has shape {tuple(int(d) for d in shape)} ({n * itemsize:,} bytes): more "
                         f"than {MAX_TENSOR_BYTES // 2**20:,} MiB, which no Cortex-M7 can hold")


def check_quant(q: Quant, t: Tensor) -> None:
    """Finite positive scales, one per channel when per channel, zero points that fit the dtype."""
    where = f"tensor {t.name!r}"
    scale, zp = np.asarray(q.scale), np.asarray(q.zero_point)
    if scale.ndim != 1 or scale.size == 0 or scale.dtype.kind != "f":
        raise ShapeError(f"{where}: quantization scale must be a non-empty float vector")
    if zp.shape != scale.shape or zp.dtype.kind not in "iu":
        raise ShapeError(f"{where}: {zp.size} quantization zero point(s) for {scale.size} scale(s)")
    bad = ~(np.isfinite(scale) & (scale > 0))
    if bad.any():
        raise ShapeError(f"{where}: quantization scale {_few(scale[bad])} is not a finite number > 0")
    if q.axis is None:
        if scale.size != 1:
            raise ShapeError(f"{where}: {scale.size} quantization scales but no channel axis")
    else:
        if not is_whole(q.axis) or q.axis >= len(t.shape):
            raise ShapeError(f"{where}: quantization axis {q.axis!r} outside its shape {t.shape}")
        if scale.size != t.shape[q.axis]:
            raise ShapeError(f"{where}: {scale.size} quantization scales for {t.shape[q.axis]} channels "
                             f"(axis {q.axis} of {t.shape})")
    bad = (zp < -128) | (zp > 127)
    if t.dtype is DType.INT8 and bad.any():
        raise ShapeError(f"{where}: int8 zero point {_few(zp[bad])} outside -128..127")


def _few(a: np.ndarray) -> str:
    vals = [float(v) if np.asarray(a).dtype.kind == "f" else int(v) for v in np.asarray(a).ravel()[:4]]
    return str(vals[0] if len(vals) == 1 else vals)


def check_tensor(key: str, t: Tensor) -> None:
    if not isinstance(t, Tensor) or t.name != key:
        raise ShapeError(f"tensor table entry {key!r} holds {t!r}")
    check_name(t.name, "tensor name")
    if not isinstance(t.dtype, DType):
        raise ShapeError(f"tensor {t.name!r} has unknown dtype {t.dtype!r}")
    check_shape(t.shape, f"tensor {t.name!r}", t.dtype.itemsize)
    if t.quant is not None and t.dtype is not DType.FLOAT32:  # float tensors never use theirs
        check_quant(t.quant, t)


def _whole_tuple(v: object, n: int, minimum: int) -> bool:
    return isinstance(v, tuple) and len(v) == n and all(is_whole(x, minimum) for x in v)


def _check_clamp(where: str, act: object) -> None:
    if not isinstance(act, Clamp) or not all(isinstance(v, Real) for v in (act.lo, act.hi)) \
            or math.isnan(act.lo) or math.isnan(act.hi) or act.lo > act.hi:
        raise ShapeError(f"{where}: activation clamp {act!r} is not a range [lo, hi]")


def check_attrs(where: str, op_type: OpType, a: object) -> None:
    """Attribute values in range, before any shape arithmetic uses them."""
    if not isinstance(a, ATTRS_OF[op_type]):
        raise ShapeError(f"{where}: attributes {type(a).__name__}, expected {ATTRS_OF[op_type].__name__}")
    if isinstance(a, ConvAttrs):
        if not (_whole_tuple(a.stride, 2, 1) and _whole_tuple(a.dilation, 2, 1)
                and _whole_tuple(a.padding, 4, 0) and is_whole(a.depth_multiplier, 1)):
            raise ShapeError(f"{where}: stride {a.stride}, dilation {a.dilation}, padding {a.padding}, "
                             f"depth multiplier {a.depth_multiplier}: strides, dilations and multipliers "
                             "must be whole numbers >= 1, padding >= 0")
    elif isinstance(a, PoolAttrs):
        if not (_whole_tuple(a.kernel, 2, 1) and _whole_tuple(a.stride, 2, 1) and _whole_tuple(a.padding, 4, 0)):
            raise ShapeError(f"{where}: window {a.kernel}, stride {a.stride}, padding {a.padding}: windows "
                             "and strides must be whole numbers >= 1, padding >= 0")
    elif isinstance(a, PadAttrs):
        if not _whole_tuple(a.padding, 4, 0):
            raise ShapeError(f"{where}: padding {a.padding} must be four whole numbers >= 0")
    elif isinstance(a, UnaryAttrs):
        if a.fn not in UNARY_FNS or not all(isinstance(v, Real) and math.isfinite(v) for v in (a.alpha, a.gamma)):
            raise ShapeError(f"{where}: unary function {a.fn!r} (one of {', '.join(UNARY_FNS)}) with finite "
                             f"alpha {a.alpha!r} and gamma {a.gamma!r}")
    elif isinstance(a, ConcatAttrs):
        if not is_whole(a.axis, 1):
            raise ShapeError(f"{where}: concatenation axis {a.axis!r} must be a whole number >= 1")
    elif isinstance(a, SoftmaxAttrs):
        if not isinstance(a.beta, Real) or not math.isfinite(a.beta) or a.beta <= 0:
            raise ShapeError(f"{where}: softmax beta {a.beta!r} is not a finite number > 0")
    if isinstance(a, ConvAttrs | PoolAttrs | FullyConnectedAttrs | AddAttrs | ActivationAttrs):
        _check_clamp(where, a.act)


def verify(graph: Graph) -> Graph:
    """Check the graph as described in the module docstring; return it, or raise a ShapeError."""
    check_name(graph.name, "model name")
    if not graph.inputs:
        raise ShapeError("the model has no input")
    if not graph.outputs:
        raise ShapeError("the model has no output")
    for key, t in graph.tensors.items():
        check_tensor(key, t)
    for n in graph.inputs + graph.outputs:
        if n not in graph.tensors:
            raise ShapeError(f"graph input/output {n!r} is not a tensor of the graph")
    if len(set(graph.inputs)) != len(graph.inputs) or len(set(graph.outputs)) != len(graph.outputs):
        raise ShapeError("the model lists the same input or output twice")
    for n in graph.inputs:
        if graph.tensors[n].is_const:
            raise ShapeError(f"graph input {n!r} is a constant")
    known = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const}
    computed: set[str] = set()
    op_names: set[str] = set()
    for op in graph.ops:
        check_name(op.name, "layer name")
        where = f"layer {op.name!r} ({op.type.value})"
        if op.name in op_names:
            raise ShapeError(f"{where}: two layers share this name")
        op_names.add(op.name)
        check_attrs(where, op.type, op.attrs)
        need = _N_INPUTS.get(op.type, 1)
        many = op.type is OpType.CONCATENATION  # two or more
        if (len(op.inputs) < 2 if many else len(op.inputs) != need) or len(op.outputs) != 1:
            raise ShapeError(f"{where}: takes {'two or more' if many else need} input(s) and 1 output, "
                             f"got {len(op.inputs)} and {len(op.outputs)}")
        for t in op.inputs:
            if t not in graph.tensors:
                raise ShapeError(f"{where}: unknown input tensor {t!r}")
        if op.type in OpGroup.WEIGHTED:
            for t, what in zip(op.inputs[1:], ("weights", "bias")):
                if not graph.tensors[t].is_const:
                    raise ShapeError(f"{where}: its {what} {t!r} must be a constant (with data)")
        for t in op.inputs:
            if t not in known:
                raise ShapeError(f"{where}: input {t!r} is used before it is computed")
        o = op.outputs[0]
        if o not in graph.tensors:
            raise ShapeError(f"{where}: unknown output tensor {o!r}")
        if o in known:
            what = "a constant" if graph.tensors[o].is_const else (
                "a model input" if o in graph.inputs else "written by an earlier layer too")
            raise ShapeError(f"{where}: its output {o!r} is {what}")
        shapes = [graph.tensors[t].shape for t in op.inputs]
        try:
            expect = infer_shape(op.type, op.attrs, shapes)
        except ShapeError as exc:
            raise ShapeError(f"{where}: {exc}") from None
        out = graph.tensors[o]
        if tuple(out.shape) != tuple(expect):
            raise ShapeError(f"{where}: output shape {out.shape}, the inputs give {expect}")
        _check_dtypes(graph, op, where)
        known.add(o)
        computed.add(o)
    for n in graph.outputs:
        if n not in computed:
            raise ShapeError(f"graph output {n!r} is never computed by a layer")
    if all(op.type in OpGroup.ALIAS for op in graph.ops):
        raise ShapeError("the model computes nothing (it only reshapes its input)")
    for t in graph.tensors.values():  # data last: a wrong record explains garbage data better
        check_data(t)
    return graph


def check_data(t: Tensor) -> None:
    """A constant's data is of its record's shape and dtype; float data is finite."""
    if t.data is None:
        return
    d = t.data
    if not isinstance(d, np.ndarray) or d.dtype != t.dtype.numpy or tuple(d.shape) != tuple(t.shape):
        got = f"{d.dtype} {tuple(d.shape)}" if isinstance(d, np.ndarray) else type(d).__name__
        raise ShapeError(f"constant {t.name!r} holds {got}, its record says {t.dtype.value} {t.shape}")
    if t.dtype is DType.FLOAT32 and not np.all(np.isfinite(d)):
        raise ShapeError(f"constant {t.name!r} holds values that are not finite (NaN or infinity)")


def _check_dtypes(graph: Graph, op, where: str) -> None:
    x = graph.tensors[op.inputs[0]]
    out = graph.tensors[op.outputs[0]]
    if x.is_const:
        raise ShapeError(f"{where}: its first input {x.name!r} is a constant, not an activation")
    if op.type in OpGroup.WEIGHTED:
        w, b = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[2]]
        oc = w.shape[-1] if op.type is OpType.DEPTHWISE_CONV_2D else w.shape[0]
        if b.shape != (oc,):
            raise ShapeError(f"{where}: bias of shape {b.shape} for {oc} output channels")
        if x.dtype is DType.FLOAT32:
            if w.dtype is not DType.FLOAT32 or b.dtype is not DType.FLOAT32:
                raise ShapeError(f"{where}: float op with {w.dtype.value} weights and {b.dtype.value} bias "
                                 "(float32 expected)")
        elif x.dtype is DType.INT8:
            if w.dtype is not DType.INT8 or b.dtype is not DType.INT32:
                raise ShapeError(f"{where}: int8 op with {w.dtype.value} weights and {b.dtype.value} bias "
                                 "(int8 weights and an int32 bias expected)")
            if w.quant is None:
                raise ShapeError(f"{where}: int8 weights {w.name!r} have no quantization")
            axis = 3 if op.type is OpType.DEPTHWISE_CONV_2D else 0
            if w.quant.axis is not None and w.quant.axis != axis:
                raise ShapeError(f"{where}: weights quantized per channel along axis {w.quant.axis}, "
                                 f"the output channels are axis {axis}")
        else:
            raise ShapeError(f"{where}: {x.dtype.value} input (float32 or int8 expected)")
    else:
        for name in op.inputs[1:]:
            other = graph.tensors[name]
            if other.is_const:
                raise UnsupportedError(f"{where}: a constant input {other.name!r} (this op reads activations only)")
            if other.dtype is not x.dtype:
                raise ShapeError(f"{where}: inputs of different types, {x.dtype.value} and {other.dtype.value}")
    if op.type is OpType.QUANTIZE:
        _expect_types(where, x.dtype, out.dtype, DType.FLOAT32, DType.INT8)
    elif op.type is OpType.DEQUANTIZE:
        _expect_types(where, x.dtype, out.dtype, DType.INT8, DType.FLOAT32)
    elif x.dtype is DType.INT32 or x.dtype != out.dtype:
        raise ShapeError(f"{where}: input is {x.dtype.value}, output {out.dtype.value}")
    acts = [graph.tensors[n] for n in op.inputs if not graph.tensors[n].is_const] + [out]
    for t in acts:
        if t.dtype is DType.INT8 and t.quant is None:
            raise ShapeError(f"{where}: int8 tensor {t.name!r} has no quantization")
        if t.dtype is DType.INT8 and t.quant.axis is not None:
            raise ShapeError(f"{where}: int8 activation {t.name!r} is quantized per channel (per tensor only)")
    if op.type is OpType.UNARY and out.dtype is DType.INT8 and op.attrs.fn not in INT8_UNARY_FNS:
        raise UnsupportedError(f"{where}: int8 {op.attrs.fn} (int8: {', '.join(INT8_UNARY_FNS)}; "
                               f"{op.attrs.fn} runs in float32)")
    if op.type in (OpType.CONCATENATION, OpType.PAD) and out.dtype is DType.INT8:
        q = (float(out.quant.scale[0]), int(out.quant.zero_point[0]))
        for t in acts[:-1]:
            if (float(t.quant.scale[0]), int(t.quant.zero_point[0])) != q:
                raise UnsupportedError(f"{where}: int8 input {t.name!r} is quantized differently from the output "
                                       f"(an int8 {'concatenation' if op.type is OpType.CONCATENATION else 'pad'} "
                                       "copies bytes; TFLite's int8 kernel has the same rule)")


def _expect_types(where: str, got_in: DType, got_out: DType, want_in: DType, want_out: DType) -> None:
    if (got_in, got_out) != (want_in, want_out):
        raise ShapeError(f"{where}: converts {got_in.value}->{got_out.value}, "
                         f"expected {want_in.value}->{want_out.value}")
