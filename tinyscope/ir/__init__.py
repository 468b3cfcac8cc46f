"""The IR: a small, typed, printable graph of NHWC ops (see ops.py for the whole vocabulary)."""

from tinyscope.ir.graph import DType, Graph, Op, Quant, Tensor
from tinyscope.ir.ops import (
    NO_ACT,
    RELU,
    RELU6,
    ActivationAttrs,
    AddAttrs,
    Clamp,
    ConvAttrs,
    FullyConnectedAttrs,
    NoAttrs,
    OpGroup,
    OpType,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
)
from tinyscope.ir.verify import verify

__all__ = [
    "DType", "Graph", "Op", "Quant", "Tensor", "NO_ACT", "RELU", "RELU6", "ActivationAttrs",
    "AddAttrs", "Clamp", "ConvAttrs", "FullyConnectedAttrs", "NoAttrs", "OpGroup", "OpType",
    "PadAttrs", "PoolAttrs", "ReshapeAttrs", "SoftmaxAttrs", "verify",
]
