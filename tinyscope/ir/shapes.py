"""Output-shape rules for every op, in one place (importers build with them, the verifier checks)."""

from __future__ import annotations

from numbers import Integral

from tinyscope.errors import ShapeError
from tinyscope.ir.ops import ConcatAttrs, ConvAttrs, OpType, PadAttrs, Padding, PoolAttrs, ReshapeAttrs


def is_whole(v, minimum: int = 0) -> bool:
    """An integer (Python or numpy, not a bool) of at least ``minimum``."""
    return isinstance(v, Integral) and not isinstance(v, bool) and v >= minimum


def _positive(what: str, *values) -> None:
    """Window sizes, strides and dilations are whole numbers of at least 1 (a stride of 0 is garbage)."""
    for v in values:
        if not is_whole(v, 1):
            raise ShapeError(f"{what} must be a whole number >= 1, got {v!r}")


def _rank(what: str, shape: tuple[int, ...], *ranks: int) -> None:
    if len(shape) not in ranks:
        want = " or ".join(f"{r}-D" for r in ranks)
        raise ShapeError(f"{what} needs a {want} input, got shape {tuple(shape)} ({len(shape)}-D)")


def window_out(size: int, k: int, stride: int, dilation: int, pad_a: int, pad_b: int) -> int:
    _positive("a window size", k)
    _positive("a stride", stride)
    _positive("a dilation", dilation)
    if not (is_whole(pad_a) and is_whole(pad_b)):
        raise ShapeError(f"padding must be whole numbers >= 0, got {pad_a!r}, {pad_b!r}")
    eff = (k - 1) * dilation + 1
    out = (size + pad_a + pad_b - eff) // stride + 1
    if out <= 0:
        raise ShapeError(f"window {k} (dilation {dilation}) does not fit an input of {size}"
                         f" with padding {pad_a}+{pad_b}")
    return out


def same_padding(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite/Keras SAME padding: output = ceil(size / stride), extra padding at the end."""
    _positive("a window size", k)
    _positive("a stride", stride)
    _positive("a dilation", dilation)
    out = -(-size // stride)
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def same_padding_2d(h: int, w: int, kh: int, kw: int, stride: tuple[int, int],
                    dilation: tuple[int, int] = (1, 1)) -> Padding:
    t, b = same_padding(h, kh, stride[0], dilation[0])
    l, r = same_padding(w, kw, stride[1], dilation[1])
    return (t, b, l, r)


def infer_shape(op_type: OpType, attrs, in_shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The output shape of one op given its input shapes (constants included)."""
    if not in_shapes:
        raise ShapeError(f"{op_type.value} has no input")
    x = in_shapes[0]
    if op_type in (OpType.CONV_2D, OpType.DEPTHWISE_CONV_2D):
        assert isinstance(attrs, ConvAttrs)
        if len(in_shapes) < 2 or len(x) != 4 or len(in_shapes[1]) != 4:
            raise ShapeError(f"{op_type.value} needs a 4-D input and 4-D weights, got "
                             f"{tuple(x)}, {tuple(in_shapes[1]) if len(in_shapes) > 1 else 'none'}")
        _positive(f"{op_type.value} depth multiplier", attrs.depth_multiplier)
        n, h, w, c = x
        wshape = in_shapes[1]
        if op_type is OpType.CONV_2D:
            oc, kh, kw, ic = wshape
            if ic != c:
                raise ShapeError(f"conv weights expect {ic} input channels, input has {c}")
        else:
            one, kh, kw, oc = wshape
            if one != 1:
                raise ShapeError(f"depthwise weights must be (1, kh, kw, channels), got {tuple(wshape)}")
            if oc != c * attrs.depth_multiplier:
                raise ShapeError(f"depthwise weights have {oc} channels, input {c} x multiplier "
                                 f"{attrs.depth_multiplier}")
        t, b, l, r = attrs.padding
        oh = window_out(h, kh, attrs.stride[0], attrs.dilation[0], t, b)
        ow = window_out(w, kw, attrs.stride[1], attrs.dilation[1], l, r)
        return (n, oh, ow, oc)
    if op_type is OpType.FULLY_CONNECTED:
        if len(in_shapes) < 2:
            raise ShapeError("fully connected has no weights")
        _rank("fully connected", x, 2, 3, 4)
        wshape = in_shapes[1]
        if len(wshape) != 2:
            raise ShapeError(f"fully connected weights must be 2-D, got {wshape}")
        feats = 1
        for d in x[1:]:
            feats *= d
        if feats != wshape[1]:
            raise ShapeError(f"fully connected expects {wshape[1]} input features, got {feats}")
        return (x[0], wshape[0])
    if op_type in (OpType.MAX_POOL_2D, OpType.AVERAGE_POOL_2D):
        assert isinstance(attrs, PoolAttrs)
        _rank(op_type.value, x, 4)
        n, h, w, c = x
        t, b, l, r = attrs.padding
        kh, kw = attrs.kernel
        _positive(f"{op_type.value} window", kh, kw)
        _positive(f"{op_type.value} stride", *attrs.stride)
        if t >= kh or b >= kh or l >= kw or r >= kw:
            # a window wholly inside the padding averages nothing (a division by zero in C)
            raise ShapeError(f"{op_type.value} padding {attrs.padding} is not smaller than its window "
                             f"{attrs.kernel}")
        oh = window_out(h, attrs.kernel[0], attrs.stride[0], 1, t, b)
        ow = window_out(w, attrs.kernel[1], attrs.stride[1], 1, l, r)
        return (n, oh, ow, c)
    if op_type is OpType.ADD:
        if len(in_shapes) != 2:
            raise ShapeError(f"ADD takes two inputs, got {len(in_shapes)}")
        a, b = in_shapes[0], in_shapes[1]
        if a != b:
            raise ShapeError(f"ADD needs equal shapes (no broadcasting), got {a} and {b}")
        return a
    if op_type is OpType.CONCATENATION:
        assert isinstance(attrs, ConcatAttrs)
        if len(in_shapes) < 2:
            raise ShapeError(f"CONCATENATION takes two or more inputs, got {len(in_shapes)}")
        if not is_whole(attrs.axis, 1) or attrs.axis >= len(x):
            raise ShapeError(f"CONCATENATION axis {attrs.axis} of a {len(x)}-D tensor (1..{len(x) - 1})")
        for s in in_shapes[1:]:
            if len(s) != len(x) or any(a != b for i, (a, b) in enumerate(zip(s, x)) if i != attrs.axis):
                raise ShapeError(f"CONCATENATION along axis {attrs.axis} needs shapes equal elsewhere, got "
                                 f"{tuple(x)} and {tuple(s)}")
        return tuple(d if i != attrs.axis else sum(s[i] for s in in_shapes) for i, d in enumerate(x))
    if op_type is OpType.RESHAPE:
        assert isinstance(attrs, ReshapeAttrs)
        for d in attrs.shape:
            _positive("a reshape dimension", d)
        size_in = 1
        for d in x:
            size_in *= d
        size_out = 1
        for d in attrs.shape:
            size_out *= d
        if size_in != size_out:
            raise ShapeError(f"cannot reshape {x} ({size_in} elements) to {attrs.shape}")
        return tuple(attrs.shape)
    if op_type is OpType.PAD:
        assert isinstance(attrs, PadAttrs)
        _rank("PAD", x, 4)
        n, h, w, c = x
        t, b, l, r = attrs.padding
        if not all(is_whole(p) for p in attrs.padding):
            raise ShapeError(f"PAD amounts must be whole numbers >= 0, got {attrs.padding}")
        return (n, h + t + b, w + l + r, c)
    # elementwise: ACTIVATION, SOFTMAX, QUANTIZE, DEQUANTIZE
    if op_type is OpType.SOFTMAX:
        _rank("SOFTMAX", x, 2, 3, 4)
    return x
