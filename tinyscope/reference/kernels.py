"""One numpy function per IR op: float32, and int8 with TFLite's integer semantics.

Every function takes the op, the graph's tensor records and the input arrays, and returns the
output array. The int8 paths reproduce TFLite's reference integer kernels (reference_integer_ops)
so generated C can be compared bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyscope.ir import fixedpoint as fx
from tinyscope.ir.fixedpoint import round_half_away
from tinyscope.ir.graph import DType, Op, Tensor
from tinyscope.ir.ops import Clamp, OpType


def _windows(x: np.ndarray, kh: int, kw: int, stride, dilation, padding, fill) -> np.ndarray:
    """(N, OH, OW, KH, KW, C) view of every window, the padded border filled with ``fill``."""
    t, b, l, r = padding
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    oh = (xp.shape[1] - ((kh - 1) * dilation[0] + 1)) // stride[0] + 1
    ow = (xp.shape[2] - ((kw - 1) * dilation[1] + 1)) // stride[1] + 1
    ih = np.arange(oh)[:, None] * stride[0] + np.arange(kh)[None, :] * dilation[0]
    iw = np.arange(ow)[:, None] * stride[1] + np.arange(kw)[None, :] * dilation[1]
    return xp[:, ih[:, None, :, None], iw[None, :, None, :], :]


def _clamp_float(y: np.ndarray, act: Clamp) -> np.ndarray:
    if act.is_none:
        return y
    return np.clip(y, act.lo, act.hi)


def _requant(acc: np.ndarray, op_in: Tensor, w: Tensor, out: Tensor, act: Clamp) -> np.ndarray:
    mult, shift = fx.conv_multipliers(op_in.quant, w.quant, out.quant, acc.shape[-1])
    y = fx.multiply_by_quantized_multiplier(acc, mult, shift) + int(out.quant.zero_point[0])
    lo, hi = fx.activation_range(act, out.quant)
    return np.clip(y, lo, hi).astype(np.int8)


def conv2d(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    x, w, b = args
    a = op.attrs
    kh, kw = w.shape[1], w.shape[2]
    if out.dtype is DType.FLOAT32:
        p = _windows(x.astype(np.float64), kh, kw, a.stride, a.dilation, a.padding, 0.0)
        n, oh, ow = p.shape[:3]
        y = p.reshape(n * oh * ow, -1) @ w.reshape(w.shape[0], -1).astype(np.float64).T + b
        return _clamp_float(y.reshape(n, oh, ow, -1), a.act).astype(np.float32)
    zp = int(t[0].quant.zero_point[0])
    p = _windows(x.astype(np.int64) - zp, kh, kw, a.stride, a.dilation, a.padding, 0)
    n, oh, ow = p.shape[:3]
    acc = p.reshape(n * oh * ow, -1) @ w.reshape(w.shape[0], -1).astype(np.int64).T + b.astype(np.int64)
    return _requant(acc.reshape(n, oh, ow, -1), t[0], t[1], out, a.act)


def depthwise_conv2d(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    x, w, b = args
    a = op.attrs
    kh, kw, oc = w.shape[1], w.shape[2], w.shape[3]
    src = np.arange(oc) // a.depth_multiplier  # output channel -> the input channel it reads
    if out.dtype is DType.FLOAT32:
        p = _windows(x.astype(np.float64), kh, kw, a.stride, a.dilation, a.padding, 0.0)[..., src]
        y = np.einsum("nhwijc,ijc->nhwc", p, w[0].astype(np.float64)) + b
        return _clamp_float(y, a.act).astype(np.float32)
    zp = int(t[0].quant.zero_point[0])
    p = _windows(x.astype(np.int64) - zp, kh, kw, a.stride, a.dilation, a.padding, 0)[..., src]
    acc = np.einsum("nhwijc,ijc->nhwc", p, w[0].astype(np.int64)) + b.astype(np.int64)
    return _requant(acc, t[0], t[1], out, a.act)


def fully_connected(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    x, w, b = args
    x2 = x.reshape(out.shape[0], -1)
    if out.dtype is DType.FLOAT32:
        y = x2.astype(np.float64) @ w.astype(np.float64).T + b
        return _clamp_float(y, op.attrs.act).astype(np.float32)
    zp = int(t[0].quant.zero_point[0])
    wz = t[1].quant.zero_point.astype(np.int64)
    acc = (x2.astype(np.int64) - zp) @ (w.astype(np.int64) - wz[:, None]).T + b.astype(np.int64)
    return _requant(acc, t[0], t[1], out, op.attrs.act)


def max_pool(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    a = op.attrs
    x = args[0]
    if out.dtype is DType.FLOAT32:
        p = _windows(x, *a.kernel, a.stride, (1, 1), a.padding, -np.inf)
        return _clamp_float(p.max(axis=(3, 4)), a.act).astype(np.float32)
    p = _windows(x.astype(np.int32), *a.kernel, a.stride, (1, 1), a.padding, -(2**31))
    lo, hi = fx.activation_range(a.act, out.quant)
    return np.clip(p.max(axis=(3, 4)), lo, hi).astype(np.int8)


def average_pool(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    """Divides by the number of in-bounds elements of each window (TFLite's rule)."""
    a = op.attrs
    x = args[0]
    ones = np.ones((1,) + x.shape[1:3] + (1,), np.int64)
    count = _windows(ones, *a.kernel, a.stride, (1, 1), a.padding, 0).sum(axis=(3, 4))
    if out.dtype is DType.FLOAT32:
        s = _windows(x.astype(np.float64), *a.kernel, a.stride, (1, 1), a.padding, 0.0).sum(axis=(3, 4))
        return _clamp_float(s / count, a.act).astype(np.float32)
    s = _windows(x.astype(np.int64), *a.kernel, a.stride, (1, 1), a.padding, 0).sum(axis=(3, 4))
    half = count // 2
    avg = np.where(s > 0, (s + half) // count, -((-(s - half)) // count))
    lo, hi = fx.activation_range(a.act, out.quant)
    return np.clip(avg, lo, hi).astype(np.int8)


def add(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    x1, x2 = args
    if out.dtype is DType.FLOAT32:
        return _clamp_float(x1.astype(np.float32) + x2.astype(np.float32), op.attrs.act)
    p = fx.add_params(t[0].quant, t[1].quant, out.quant)
    a1 = (x1.astype(np.int64) + p["in1_offset"]) << p["left_shift"]
    a2 = (x2.astype(np.int64) + p["in2_offset"]) << p["left_shift"]
    s1 = fx.multiply_by_quantized_multiplier(a1, p["in1_mult"], p["in1_shift"])
    s2 = fx.multiply_by_quantized_multiplier(a2, p["in2_mult"], p["in2_shift"])
    y = fx.multiply_by_quantized_multiplier(s1 + s2, p["out_mult"], p["out_shift"]) + p["out_offset"]
    lo, hi = fx.activation_range(op.attrs.act, out.quant)
    return np.clip(y, lo, hi).astype(np.int8)


def activation(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    x = args[0]
    if out.dtype is DType.FLOAT32:
        return _clamp_float(x, op.attrs.act).astype(np.float32)
    lo, hi = fx.activation_range(op.attrs.act, out.quant)
    if t[0].quant.scale[0] != out.quant.scale[0] or t[0].quant.zero_point[0] != out.quant.zero_point[0]:
        x = requantize(x, t[0].quant, out.quant)
    return np.clip(x, lo, hi).astype(np.int8)


def requantize(x: np.ndarray, qi, qo) -> np.ndarray:
    """int8 -> int8 with another scale (TFLite's Requantize: one multiplier, offsets)."""
    mult, shift = fx.quantize_multiplier(float(np.float64(qi.scale[0]) / np.float64(qo.scale[0])))
    y = fx.multiply_by_quantized_multiplier(x.astype(np.int64) - int(qi.zero_point[0]), mult, shift)
    return np.clip(y + int(qo.zero_point[0]), -128, 127)


def softmax(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    x = args[0]
    beta = op.attrs.beta
    if out.dtype is DType.FLOAT32:
        z = (x.astype(np.float64) - x.max(axis=-1, keepdims=True)) * beta
        e = np.exp(z)
        return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return softmax_int8(x, float(t[0].quant.scale[0]), out.quant, beta)


def softmax_int8(x: np.ndarray, in_scale: float, qo, beta: float = 1.0) -> np.ndarray:
    """LiteRT's int8 softmax (optimized_ops::Softmax with a float exp table), in float32 math.

    The table holds expf(-in_scale * beta * d) for d = 0..255 (d = max - x); the sum is taken in
    order in float32 and each output is (int)(p + 0.5) + zero_point, clamped.
    """
    scale = np.float32(-np.float32(in_scale) * np.float32(beta))
    table = np.exp(scale * np.arange(256, dtype=np.float32)).astype(np.float32)
    flat = x.reshape(-1, x.shape[-1]).astype(np.int32)
    y = np.empty(flat.shape, np.int8)
    osc, ozp = np.float32(qo.scale[0]), int(qo.zero_point[0])
    for i, row in enumerate(flat):
        vals = table[row.max() - row]
        s = np.float32(0)
        for v in vals:
            s = np.float32(s + v)
        inv = np.float32(np.float32(1) / np.float32(s * osc))
        q = (vals * inv + np.float32(0.5)).astype(np.int32) + ozp
        y[i] = np.clip(q, -128, 127)
    return y.reshape(x.shape)


def reshape(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    return args[0].reshape(out.shape)


def pad(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    tp, bt, lf, rt = op.attrs.padding
    fill = int(t[0].quant.zero_point[0]) if out.dtype is DType.INT8 else 0
    return np.pad(args[0], ((0, 0), (tp, bt), (lf, rt), (0, 0)), constant_values=fill)


def quantize(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    """TFLite Quantize: round half away from zero of x / scale, plus zero point, saturated."""
    v = args[0].astype(np.float32) / np.float32(out.quant.scale[0])
    return np.clip(round_half_away(v) + int(out.quant.zero_point[0]), -128, 127).astype(np.int8)


def dequantize(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    q = t[0].quant
    return ((args[0].astype(np.int32) - int(q.zero_point[0])) * np.float32(q.scale[0])).astype(np.float32)


def unary(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    a = op.attrs
    if out.dtype is DType.FLOAT32:
        return fx.unary_float(a.fn, args[0], a.alpha, a.gamma)
    table = fx.unary_table(a.fn, a.alpha, t[0].quant, out.quant)
    return table[args[0].astype(np.int64) + 128]


def concatenation(op: Op, t: list[Tensor], args: list[np.ndarray], out: Tensor) -> np.ndarray:
    """Along the IR axis; int8 inputs share the output's quantization (verify), so bytes are copied."""
    return np.concatenate(args, axis=op.attrs.axis).astype(args[0].dtype)


Kernel = Callable[[Op, list[Tensor], list[np.ndarray], Tensor], np.ndarray]
KERNELS: dict[OpType, Kernel] = {
    OpType.CONV_2D: conv2d,
    OpType.DEPTHWISE_CONV_2D: depthwise_conv2d,
    OpType.FULLY_CONNECTED: fully_connected,
    OpType.MAX_POOL_2D: max_pool,
    OpType.AVERAGE_POOL_2D: average_pool,
    OpType.ADD: add,
    OpType.ACTIVATION: activation,
    OpType.SOFTMAX: softmax,
    OpType.RESHAPE: reshape,
    OpType.PAD: pad,
    OpType.CONCATENATION: concatenation,
    OpType.UNARY: unary,
    OpType.QUANTIZE: quantize,
    OpType.DEQUANTIZE: dequantize,
}
