"""The whole IR vocabulary: every operator tinyscope knows, and the attributes each one carries.

Conventions every stage relies on (importers convert to these, nothing downstream converts back):
- activations are NHWC (batch first, channels last); rank-2 tensors are (batch, features);
- CONV_2D weights are OHWI ``(out_ch, kh, kw, in_ch)``;
- DEPTHWISE_CONV_2D weights are ``(1, kh, kw, in_ch * depth_multiplier)`` (TFLite's layout);
- FULLY_CONNECTED weights are ``(out_features, in_features)``;
- biases are float32 for float ops and int32 (scale = in_scale * w_scale, zero point 0) for int8 ops;
- padding is explicit: ``(top, bottom, left, right)``; SAME/VALID are resolved by the importer;
- a fused activation is a clamp ``[lo, hi]`` in real (dequantized) units, so ReLU, ReLU6 and ONNX
  Clip are one thing; int8 kernels clamp in the quantized domain of the op's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class OpType(StrEnum):
    # ** compute: weights, MACs **
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    # ** windows **
    MAX_POOL_2D = "MAX_POOL_2D"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"  # GlobalAveragePooling is a pool whose window is the input
    # ** elementwise **
    ADD = "ADD"
    ACTIVATION = "ACTIVATION"  # a clamp left standing alone (no producer to fuse into)
    UNARY = "UNARY"  # a smooth or piecewise function of each element (UnaryAttrs.fn); int8 by a 256-entry table
    SOFTMAX = "SOFTMAX"  # over the last axis
    # ** movement: no arithmetic **
    RESHAPE = "RESHAPE"  # also Flatten; an alias of its input in memory, never a copy
    PAD = "PAD"  # zero padding (the zero point for int8) that could not fold into a conv
    CONCATENATION = "CONCATENATION"  # along one axis (NHWC: 3 is the channels); int8 inputs share the output's quant
    # ** type conversion **
    QUANTIZE = "QUANTIZE"  # float32 -> int8
    DEQUANTIZE = "DEQUANTIZE"  # int8 -> float32


class OpGroup:
    """Named sets of op types so passes test membership instead of repeating lists."""

    WEIGHTED = frozenset({OpType.CONV_2D, OpType.DEPTHWISE_CONV_2D, OpType.FULLY_CONNECTED})
    POOL = frozenset({OpType.MAX_POOL_2D, OpType.AVERAGE_POOL_2D})
    CONV = frozenset({OpType.CONV_2D, OpType.DEPTHWISE_CONV_2D})
    ALIAS = frozenset({OpType.RESHAPE})  # output shares the input's bytes
    HAS_ACTIVATION = frozenset(
        {OpType.CONV_2D, OpType.DEPTHWISE_CONV_2D, OpType.FULLY_CONNECTED, OpType.MAX_POOL_2D,
         OpType.AVERAGE_POOL_2D, OpType.ADD, OpType.ACTIVATION}
    )


@dataclass(frozen=True)
class Clamp:
    """A fused activation as a real-valued clamp; ``Clamp()`` is no activation."""

    lo: float = -math.inf
    hi: float = math.inf

    @property
    def name(self) -> str:
        if self.lo == -math.inf and self.hi == math.inf:
            return "none"
        if self.lo == 0.0 and self.hi == math.inf:
            return "relu"
        if self.lo == 0.0 and self.hi == 6.0:
            return "relu6"
        if self.lo == -1.0 and self.hi == 1.0:
            return "relu_n1_to_1"
        return f"clip({self.lo:g},{self.hi:g})"

    @property
    def is_none(self) -> bool:
        return self.lo == -math.inf and self.hi == math.inf


NO_ACT = Clamp()
RELU = Clamp(0.0, math.inf)
RELU6 = Clamp(0.0, 6.0)

Padding = tuple[int, int, int, int]  # top, bottom, left, right


@dataclass(frozen=True)
class ConvAttrs:
    """CONV_2D and DEPTHWISE_CONV_2D (inputs: x, weights, bias)."""

    stride: tuple[int, int] = (1, 1)  # (h, w)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding = (0, 0, 0, 0)
    act: Clamp = NO_ACT
    depth_multiplier: int = 1  # depthwise only


@dataclass(frozen=True)
class FullyConnectedAttrs:
    """FULLY_CONNECTED (inputs: x of shape (batch, in), weights, bias)."""

    act: Clamp = NO_ACT


@dataclass(frozen=True)
class PoolAttrs:
    """MAX_POOL_2D and AVERAGE_POOL_2D. Average pooling divides by the in-bounds count (TFLite)."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    padding: Padding = (0, 0, 0, 0)
    act: Clamp = NO_ACT


@dataclass(frozen=True)
class AddAttrs:
    act: Clamp = NO_ACT


@dataclass(frozen=True)
class ActivationAttrs:
    act: Clamp = NO_ACT


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass(frozen=True)
class ReshapeAttrs:
    shape: tuple[int, ...] = ()  # the output shape, fully resolved (no -1)


UNARY_FNS = ("logistic", "tanh", "leaky_relu", "hard_swish", "selu")
INT8_UNARY_FNS = ("logistic", "tanh", "leaky_relu")  # bit-exact with TFLite's int8 kernels (tests)


@dataclass(frozen=True)
class UnaryAttrs:
    """UNARY: logistic 1/(1+e^-x); tanh; leaky_relu x or alpha*x; hard_swish x*relu6(x+3)/6;
    selu gamma*(x or alpha*(e^x - 1))."""
    fn: str = "logistic"
    alpha: float = 0.0
    gamma: float = 0.0


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int = 3  # in the IR's layout (NHWC for 4-D tensors), >= 1: the batch is never split


@dataclass(frozen=True)
class PadAttrs:
    padding: Padding = (0, 0, 0, 0)


@dataclass(frozen=True)
class NoAttrs:
    """QUANTIZE and DEQUANTIZE take their parameters from the tensors' quantization."""


Attrs = (
    ConvAttrs | FullyConnectedAttrs | PoolAttrs | AddAttrs | ActivationAttrs | SoftmaxAttrs
    | ReshapeAttrs | PadAttrs | ConcatAttrs | UnaryAttrs | NoAttrs
)

# Which attribute record each op type carries; the verifier checks it.
ATTRS_OF: dict[OpType, type] = {
    OpType.CONV_2D: ConvAttrs,
    OpType.DEPTHWISE_CONV_2D: ConvAttrs,
    OpType.FULLY_CONNECTED: FullyConnectedAttrs,
    OpType.MAX_POOL_2D: PoolAttrs,
    OpType.AVERAGE_POOL_2D: PoolAttrs,
    OpType.ADD: AddAttrs,
    OpType.ACTIVATION: ActivationAttrs,
    OpType.SOFTMAX: SoftmaxAttrs,
    OpType.RESHAPE: ReshapeAttrs,
    OpType.PAD: PadAttrs,
    OpType.CONCATENATION: ConcatAttrs,
    OpType.UNARY: UnaryAttrs,
    OpType.QUANTIZE: NoAttrs,
    OpType.DEQUANTIZE: NoAttrs,
}
