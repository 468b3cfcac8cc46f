"""TFLite's integer arithmetic for int8 models, vectorised with numpy.

Used by the reference executor (to compute) and by the code generator (to emit the same
multipliers and shifts as C constants), so both agree bit for bit. Each function names the TFLite
function (tensorflow/lite/kernels/internal/common.h, quantization_util.cc) whose documented
behaviour it reproduces.
"""

from __future__ import annotations

import math

import numpy as np

from tinyscope.ir.graph import Quant
from tinyscope.ir.ops import Clamp

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def round_half_away(x):
    """std::round (TFLite's rounding everywhere a float becomes an integer): half away from zero.
    numpy's and Python's round() are half to even, so neither may be used for this."""
    a = np.asarray(x, dtype=np.float64)  # exact for float32 inputs too
    t = np.trunc(a)
    r = t + np.where(np.abs(a - t) >= 0.5, np.sign(a), 0.0)  # a - t is exact: no floor(a + 0.5) carry
    return int(r) if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else r


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: ``real ~= mult * 2**(shift - 31)`` with ``mult`` a Q31 int32."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in np.atleast_1d(reals)]
    return (np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64))


def _trunc_div(x: np.ndarray, d: int) -> np.ndarray:
    """C integer division (rounds toward zero)."""
    return np.where(x >= 0, x // d, -((-x) // d))


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values held in int64 arrays."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    out = _trunc_div(ab + nudge, 1 << 31)
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, out)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: arithmetic shift right, rounding half away from zero."""
    x = np.asarray(x, np.int64)
    exponent = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, mult, shift) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double-rounding form, TFLite's default build)."""
    shift = np.asarray(shift, np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(np.asarray(x, np.int64) << left, mult), right)


def activation_range(act: Clamp, q: Quant, qmin: int = -128, qmax: int = 127) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the int8 clamp bounds of a fused activation."""
    lo, hi = qmin, qmax
    if act.lo != -math.inf:
        lo = max(lo, _round_half_away(q, act.lo))
    if act.hi != math.inf:
        hi = min(hi, _round_half_away(q, act.hi))
    return lo, hi


def _round_half_away(q: Quant, f: float) -> int:
    return int(q.zero_point[0]) + round_half_away(float(np.float32(f) / np.float32(q.scale[0])))


def conv_multipliers(in_q: Quant, w_q: Quant, out_q: Quant, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (mult, shift) for conv/depthwise/FC: in_scale * w_scale[c] / out_scale.

    TFLite computes this in double from the float32 scales (PopulateConvolutionQuantizationParams).
    """
    ws = w_q.scale.astype(np.float64)
    if ws.size == 1:
        ws = np.repeat(ws, channels)
    real = np.float64(in_q.scale[0]) * ws / np.float64(out_q.scale[0])
    return quantize_multipliers(real)


def add_params(q1: Quant, q2: Quant, qo: Quant) -> dict[str, int]:
    """The int8 ADD kernel's fixed-point parameters (TFLite add.cc, left shift 20)."""
    left_shift = 20
    s1, s2, so = np.float32(q1.scale[0]), np.float32(q2.scale[0]), np.float32(qo.scale[0])
    twice_max = np.float64(np.float32(2) * max(s1, s2))
    m1, sh1 = quantize_multiplier(float(np.float64(s1) / twice_max))
    m2, sh2 = quantize_multiplier(float(np.float64(s2) / twice_max))
    mo, sho = quantize_multiplier(float(twice_max / np.float64(np.float32(1 << left_shift) * so)))
    return dict(left_shift=left_shift, in1_offset=-int(q1.zero_point[0]), in2_offset=-int(q2.zero_point[0]),
                out_offset=int(qo.zero_point[0]), in1_mult=m1, in1_shift=sh1, in2_mult=m2, in2_shift=sh2,
                out_mult=mo, out_shift=sho)


def unary_float(fn: str, x: np.ndarray, alpha: float = 0.0, gamma: float = 0.0) -> np.ndarray:
    """The UNARY functions in float32, as TFLite writes them (``1 / (1 + exp(-x))``, ``x * relu6(x + 3) / 6``)."""
    x = np.asarray(x, np.float32)
    one = np.float32(1.0)
    with np.errstate(over="ignore"):
        if fn == "logistic":
            return (one / (one + np.exp(-x))).astype(np.float32)
        if fn == "tanh":
            return np.tanh(x).astype(np.float32)
        if fn == "leaky_relu":
            return np.where(x >= 0, x, np.float32(alpha) * x).astype(np.float32)
        if fn == "hard_swish":
            return (x * np.clip(x + np.float32(3), 0, 6) / np.float32(6)).astype(np.float32)
        if fn == "selu":
            return (np.float32(gamma) * np.where(x > 0, x, np.float32(alpha) * (np.exp(np.minimum(x, 0)) - one))
                    ).astype(np.float32)
    raise ValueError(f"unknown unary function {fn!r}")


def unary_table(fn: str, alpha: float, qi: Quant, qo: Quant) -> np.ndarray:
    """The int8 result for each of the 256 int8 inputs (index ``x + 128``).

    logistic and tanh: TFLite's LUTPopulate (dequantize in float32, the function, round, the output
    zero point, clamp). leaky_relu: TFLite's QuantizeLeakyRelu (an identity and an alpha multiplier, by
    the input's sign). Both checked against LiteRT over all 256 inputs (tests/unit/test_unary.py).
    """
    v = np.arange(-128, 128, dtype=np.int64)
    zi, zo = int(qi.zero_point[0]), int(qo.zero_point[0])
    if fn == "leaky_relu":
        si, so = np.float64(qi.scale[0]), np.float64(qo.scale[0])
        mi, shi = quantize_multiplier(float(si / so))
        ma, sha = quantize_multiplier(float(si * np.float64(np.float32(alpha)) / so))
        d = v - zi
        y = np.where(d >= 0, multiply_by_quantized_multiplier(d, mi, shi),
                     multiply_by_quantized_multiplier(d, ma, sha)) + zo
    elif fn in ("logistic", "tanh"):
        deq = np.float32(qi.scale[0]) * (v - zi).astype(np.float32)
        y = round_half_away(unary_float(fn, deq) * (np.float32(1.0) / np.float32(qo.scale[0]))).astype(np.int64) + zo
    else:
        raise ValueError(f"no int8 table for {fn!r}")
    return np.clip(y, -128, 127).astype(np.int8)
