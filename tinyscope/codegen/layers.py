"""One small emitter per op: which kernel a step calls, with which compile-time parameters.

Each emitter returns a ``Call``: the kernel source file it needs, the parameter record (a C
struct type and its field values, all constants) and the kernel function. Constant arrays
(weights, requantization multipliers, tables) are registered with ``Consts``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tinyscope.codegen.cnames import identifier
from tinyscope.errors import UnsupportedError
from tinyscope.ir import fixedpoint as fx
from tinyscope.ir.graph import DType, Graph, Op, Tensor
from tinyscope.ir.ops import Clamp, OpType
from tinyscope.plan.schedule import Step

FLT_MAX = "3.402823466e+38f"
CTYPE = {DType.FLOAT32: "float", DType.INT8: "int8_t", DType.INT32: "int32_t"}  # the C type of each dtype


@dataclass
class ConstArray:
    ident: str
    ctype: str
    values: np.ndarray
    source: str  # the model tensor (or what it was derived from), for the comment
    is_weight: bool  # a model constant (counted in NAME_WEIGHTS_SIZE) or derived data


@dataclass
class Consts:
    """The constant arrays of the generated library, named once each."""

    prefix: str
    arrays: dict[str, ConstArray] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, ctype: str, values: np.ndarray, source: str, is_weight: bool) -> str:
        if key in self.by_key:
            return self.by_key[key]
        ident = identifier(self.prefix, "c", len(self.arrays))
        self.arrays[ident] = ConstArray(ident, ctype, np.ascontiguousarray(values).ravel(), source, is_weight)
        self.by_key[key] = ident
        return ident

    def tensor(self, t: Tensor) -> str:
        return self.add(f"tensor:{t.name}", CTYPE[t.dtype], t.data, t.name, True)


@dataclass
class Call:
    kernel_file: str
    struct: str
    fields: dict[str, object]
    function: str


def _f(v: float) -> str:
    if v == math.inf:
        return FLT_MAX
    if v == -math.inf:
        return "-" + FLT_MAX
    return f"{float(np.float32(v))!r}f"


def _float_clamp(act: Clamp) -> dict[str, object]:
    return {"lo": _f(act.lo), "hi": _f(act.hi)}


def _q_clamp(act: Clamp, t: Tensor) -> dict[str, object]:
    lo, hi = fx.activation_range(act, t.quant)
    return {"qlo": lo, "qhi": hi}


def _is_int8(g: Graph, op: Op) -> bool:
    return g.tensors[op.outputs[0]].dtype is DType.INT8


def _pool_fields(g: Graph, pool: Op | None) -> dict[str, object]:
    if pool is None:
        return {"kind": "TS_POOL_NONE"}
    a = pool.attrs
    out = g.tensors[pool.outputs[0]]
    f: dict[str, object] = {
        "kind": "TS_POOL_MAX" if pool.type is OpType.MAX_POOL_2D else "TS_POOL_AVG",
        "kh": a.kernel[0], "kw": a.kernel[1], "sh": a.stride[0], "sw": a.stride[1],
        "pt": a.padding[0], "pl": a.padding[2], "oh": out.shape[1], "ow": out.shape[2],
    }
    if out.dtype is DType.INT8:
        f.update(_q_clamp(a.act, out))
    else:
        f.update(_float_clamp(a.act))
    return f


def _requant_arrays(c: Consts, g: Graph, op: Op, channels: int) -> dict[str, object]:
    x, w, out = (g.tensors[op.inputs[0]], g.tensors[op.inputs[1]], g.tensors[op.outputs[0]])
    mult, shift = fx.conv_multipliers(x.quant, w.quant, out.quant, channels)
    _check_multipliers(mult)
    return {
        "in_offset": -int(x.quant.zero_point[0]), "out_offset": int(out.quant.zero_point[0]),
        "mult": c.add(f"mult:{op.name}", "int32_t", mult.astype(np.int32), f"{op.name} multipliers", False),
        "shift": c.add(f"shift:{op.name}", "int32_t", shift.astype(np.int32), f"{op.name} shifts", False),
        **_q_clamp(op.attrs.act, out),
    }


def _check_multipliers(mult: np.ndarray) -> None:
    """ts_requant's division-free form needs QuantizeMultiplier's range: 0 or [2^30, 2^31)."""
    m = np.asarray(mult, np.int64)
    if not np.all((m == 0) | ((m >= 1 << 30) & (m < 1 << 31))):
        raise UnsupportedError("cannot generate C: a requantization multiplier is outside QuantizeMultiplier's "
                               "range [2^30, 2^31)")


def pair_interleaved(w: np.ndarray) -> np.ndarray:
    """int8 OHWI conv weights in the order ts_conv2d_s8's matrix product reads them: for each pair of
    output channels, four k of the first, four k of the second, ...; then the first's K % 4 tail,
    then the second's; an odd last channel as it is. When ic % 4 != 0 the kernel's columns are in
    natural order, so each group of four weights is stored as (k, k+2, k+1, k+3) to meet the
    halves SXTB16 extracts. Same bytes, so no flash is added."""
    oc, ic = w.shape[0], w.shape[3]
    flat = w.reshape(oc, -1)
    k4 = flat.shape[1] & ~3
    order = [0, 2, 1, 3] if ic % 4 else [0, 1, 2, 3]
    parts = []
    for o in range(0, oc - 1, 2):
        a, b = (flat[o][:k4].reshape(-1, 4)[:, order], flat[o + 1][:k4].reshape(-1, 4)[:, order])
        parts += [np.stack([a, b], axis=1).ravel(), flat[o][k4:], flat[o + 1][k4:]]
    if oc % 2:
        parts.append(flat[-1])
    return np.concatenate(parts)


def channel_blocks4(w: np.ndarray) -> np.ndarray:
    """float OHWI conv weights as ts_conv2d_f32 reads them: blocks of four output channels, each
    [k][4]; a last partial block is padded with zeros (4 * k_size * (4 - oc % 4) bytes)."""
    oc = w.shape[0]
    flat = w.reshape(oc, -1)
    pad = (-oc) % 4
    if pad:
        flat = np.concatenate([flat, np.zeros((pad, flat.shape[1]), flat.dtype)])
    return flat.reshape(-1, 4, flat.shape[1]).transpose(0, 2, 1).ravel()


def conv(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    a = op.attrs
    x, w, out = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]], g.tensors[op.outputs[0]]
    depthwise = op.type is OpType.DEPTHWISE_CONV_2D
    f: dict[str, object] = {
        "ih": x.shape[1], "iw": x.shape[2], "ic": x.shape[3],
        "oh": out.shape[1], "ow": out.shape[2], "oc": out.shape[3],
        "kh": w.shape[1], "kw": w.shape[2], "sh": a.stride[0], "sw": a.stride[1],
        "dh": a.dilation[0], "dw": a.dilation[1], "pt": a.padding[0], "pl": a.padding[2],
        "depth_multiplier": a.depth_multiplier,
        "weights": (c.tensor(w) if depthwise else
                    c.add(f"pairs:{w.name}", "int8_t", pair_interleaved(w.data), w.name, True) if _is_int8(g, op)
                    else c.add(f"blocks4:{w.name}", "float", channel_blocks4(w.data), w.name, True)),
        "bias": c.tensor(g.tensors[op.inputs[2]]),
        "pool": _pool_fields(g, step.pool),
    }
    kind = "depthwise" if depthwise else "conv2d"
    if _is_int8(g, op):
        f.update(_requant_arrays(c, g, op, out.shape[3]))
        return Call("ts_conv_s8.c", "ts_conv_t", f, f"ts_{kind}_s8")
    f.update(_float_clamp(a.act))
    return Call("ts_conv_f32.c", "ts_conv_t", f, f"ts_{kind}_f32")


def fully_connected(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    w, out = g.tensors[op.inputs[1]], g.tensors[op.outputs[0]]
    f: dict[str, object] = {"batch": out.shape[0], "in_features": w.shape[1], "out_features": w.shape[0],
                            "weights": c.tensor(w), "bias": c.tensor(g.tensors[op.inputs[2]])}
    if _is_int8(g, op):
        f.update(_requant_arrays(c, g, op, w.shape[0]))
        wz = np.broadcast_to(w.quant.zero_point, (w.shape[0],)).astype(np.int32)
        f["w_offset"] = (c.add(f"woff:{op.name}", "int32_t", -wz, f"{op.name} weight offsets", False)
                         if wz.any() else "0")
        return Call("ts_fc.c", "ts_fc_t", f, "ts_fc_s8")
    f.update(_float_clamp(op.attrs.act))
    return Call("ts_fc.c", "ts_fc_t", f, "ts_fc_f32")


def pool(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    x = g.tensors[op.inputs[0]]
    f = {"ih": x.shape[1], "iw": x.shape[2], "c": x.shape[3], "pool": _pool_fields(g, op)}
    return Call("ts_pool.c", "ts_pool2d_t", f, "ts_pool_s8" if _is_int8(g, op) else "ts_pool_f32")


def add(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    out = g.tensors[op.outputs[0]]
    f: dict[str, object] = {"size": out.size}
    if _is_int8(g, op):
        params = fx.add_params(g.tensors[op.inputs[0]].quant, g.tensors[op.inputs[1]].quant, out.quant)
        _check_multipliers(np.array([params["in1_mult"], params["in2_mult"], params["out_mult"]]))
        f.update(params)
        f.update(_q_clamp(op.attrs.act, out))
        values = np.arange(-128, 128, dtype=np.int64)
        for i in (1, 2):  # TFLite's per-element input rescaling, for every int8 value
            table = fx.multiply_by_quantized_multiplier((values + params[f"in{i}_offset"]) << params["left_shift"],
                                                        params[f"in{i}_mult"], params[f"in{i}_shift"])
            f[f"in{i}_table"] = c.add(f"addtable{i}:{op.name}", "int32_t", table.astype(np.int32),
                                      f"{op.name} input {i} rescaled", False)
        return Call("ts_elementwise.c", "ts_add_t", f, "ts_add_s8")
    f.update(_float_clamp(op.attrs.act))
    return Call("ts_elementwise.c", "ts_add_t", f, "ts_add_f32")


def activation(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    x, out = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    f: dict[str, object] = {"size": out.size}
    if _is_int8(g, op):
        same = (x.quant.scale[0] == out.quant.scale[0] and x.quant.zero_point[0] == out.quant.zero_point[0])
        mult, shift = fx.quantize_multiplier(float(np.float64(x.quant.scale[0]) / np.float64(out.quant.scale[0])))
        f.update({"requant": 0 if same else 1, "in_offset": -int(x.quant.zero_point[0]),
                  "out_offset": int(out.quant.zero_point[0]), "mult": mult, "shift": shift})
        f.update(_q_clamp(op.attrs.act, out))
        return Call("ts_elementwise.c", "ts_act_t", f, "ts_activation_s8")
    f.update(_float_clamp(op.attrs.act))
    return Call("ts_elementwise.c", "ts_act_t", f, "ts_activation_f32")


def pad(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    x = g.tensors[op.inputs[0]]
    t, b, l, r = op.attrs.padding
    fill = int(x.quant.zero_point[0]) & 0xFF if x.dtype is DType.INT8 else 0
    f = {"ih": x.shape[1], "iw": x.shape[2], "c": x.shape[3], "pt": t, "pb": b, "pl": l, "pr": r,
         "elem_size": x.dtype.itemsize, "fill": fill}
    return Call("ts_elementwise.c", "ts_pad_t", f, "ts_pad")


UNARY_KIND = {"logistic": 0, "tanh": 1, "leaky_relu": 2, "hard_swish": 3, "selu": 4}  # TS_UNARY_* in ts_kernels.h


def unary(c: Consts, g: Graph, step: Step) -> Call:
    """float32: the function itself (libm's expf and tanhf); int8: the reference's own 256-entry table."""
    op = step.main
    x, out = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    a = op.attrs
    if out.dtype is DType.INT8:
        table = fx.unary_table(a.fn, a.alpha, x.quant, out.quant)
        return Call("ts_unary.c", "ts_lut_t",
                    {"size": out.size, "table": c.add(f"lut:{op.name}", "int8_t", table, f"{op.name} {a.fn} table",
                                                      False)}, "ts_lut_s8")
    return Call("ts_unary.c", "ts_unary_t", {"size": out.size, "kind": UNARY_KIND[a.fn], "alpha": _f(a.alpha),
                                                  "gamma": _f(a.gamma)}, "ts_unary_f32")


def concatenation(c: Consts, g: Graph, step: Step) -> Call:
    """Slices copied in turn: for each index before the axis, every input's run of bytes from the axis on."""
    op = step.main
    ins = [g.tensors[n] for n in op.inputs]
    axis = op.attrs.axis
    outer = int(np.prod(ins[0].shape[:axis]))
    runs = np.array([int(np.prod(t.shape[axis:])) * t.dtype.itemsize for t in ins], np.int32)
    f = {"n": len(ins), "outer": outer,
         "bytes": c.add(f"concat:{op.name}", "int32_t", runs, f"{op.name} bytes per slice of each input", False)}
    return Call("ts_elementwise.c", "ts_concat_t", f, "ts_concat")


def quantize(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    out = g.tensors[op.outputs[0]]
    q = out.quant if op.type is OpType.QUANTIZE else g.tensors[op.inputs[0]].quant
    f = {"size": out.size, "scale": _f(float(q.scale[0])), "zero_point": int(q.zero_point[0])}
    fn = "ts_quantize" if op.type is OpType.QUANTIZE else "ts_dequantize"
    return Call("ts_elementwise.c", "ts_qparams_t", f, fn)


def softmax(c: Consts, g: Graph, step: Step) -> Call:
    op = step.main
    x, out = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    depth = out.shape[-1]
    f: dict[str, object] = {"rows": out.size // depth, "depth": depth, "beta": _f(op.attrs.beta)}
    if _is_int8(g, op):
        # the same float32 table the reference executor builds (reference/kernels.softmax_int8)
        scale = np.float32(-np.float32(x.quant.scale[0]) * np.float32(op.attrs.beta))
        table = np.exp(scale * np.arange(256, dtype=np.float32)).astype(np.float32)
        f.update({"table": c.add(f"softmax:{op.name}", "float", table, f"{op.name} exp table", False),
                  "out_scale": _f(float(out.quant.scale[0])), "out_zero_point": int(out.quant.zero_point[0])})
        return Call("ts_softmax.c", "ts_softmax_t", f, "ts_softmax_s8")
    return Call("ts_softmax.c", "ts_softmax_t", f, "ts_softmax_f32")


EMITTERS: dict[OpType, Callable[[Consts, Graph, Step], Call]] = {
    OpType.CONV_2D: conv,
    OpType.DEPTHWISE_CONV_2D: conv,
    OpType.FULLY_CONNECTED: fully_connected,
    OpType.MAX_POOL_2D: pool,
    OpType.AVERAGE_POOL_2D: pool,
    OpType.ADD: add,
    OpType.ACTIVATION: activation,
    OpType.PAD: pad,
    OpType.CONCATENATION: concatenation,
    OpType.UNARY: unary,
    OpType.QUANTIZE: quantize,
    OpType.DEQUANTIZE: quantize,
    OpType.SOFTMAX: softmax,
}


def check_supported(graph: Graph) -> None:
    """Everything the code generator cannot emit, in one error, before any file is written."""
    bad = [f"{op.type.value} ({op.name!r})" for op in graph.ops
           if op.type not in EMITTERS and op.type is not OpType.RESHAPE]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        bad.append(f"{len(graph.inputs)} inputs and {len(graph.outputs)} outputs (one of each is supported)")
    if bad:
        raise UnsupportedError("cannot generate C for: " + "; ".join(bad))
