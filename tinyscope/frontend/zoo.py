"""Built-in models (``zoo:<name>``) with deterministic seeded weights, so demos and tests run anywhere."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinyscope.errors import ModelError
from tinyscope.frontend.quantize import quantize_graph
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.graph import Graph
from tinyscope.ir.ops import (
    RELU,
    AddAttrs,
    ConvAttrs,
    FullyConnectedAttrs,
    OpType,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
)
from tinyscope.ir.shapes import same_padding_2d

SEED = 2020


class _Net:
    """A GraphBuilder with He-initialised layers: just enough to write the zoo compactly."""

    def __init__(self, name: str, seed: int) -> None:
        self.b = GraphBuilder(name, f"zoo:{name}", "zoo")
        self.rng = np.random.default_rng(seed)
        self.i = 0

    def _w(self, shape, fan_in) -> np.ndarray:
        return (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def _bias(self, n) -> np.ndarray:
        return (self.rng.standard_normal(n) * 0.05).astype(np.float32)

    def layer(self, kind: OpType, name: str, inputs: list[str], attrs) -> str:
        y = self.b.op(kind, name, inputs, attrs, origin=kind.value)
        self.b.next_layer()
        return y

    def conv(self, x, name, oc, k, stride=(1, 1), same=False, act=RELU) -> str:
        _, h, w, c = self.b.graph.tensors[x].shape
        pad = same_padding_2d(h, w, k, k, stride) if same else (0, 0, 0, 0)
        wt = self.b.const(f"{name}/kernel", self._w((oc, k, k, c), k * k * c))
        bt = self.b.const(f"{name}/bias", self._bias(oc))
        return self.layer(OpType.CONV_2D, name, [x, wt, bt], ConvAttrs(stride, (1, 1), pad, act))

    def depthwise(self, x, name, k, act=RELU, stride=(1, 1)) -> str:
        _, h, w, c = self.b.graph.tensors[x].shape
        wt = self.b.const(f"{name}/kernel", self._w((1, k, k, c), k * k))
        bt = self.b.const(f"{name}/bias", self._bias(c))
        pad = same_padding_2d(h, w, k, k, stride)
        if stride != (1, 1):  # as Keras's MobileNet: ZeroPadding2D (a PAD op), then a 'valid' conv
            x = self.layer(OpType.PAD, f"{name}_pad", [x], PadAttrs(pad))
            pad = (0, 0, 0, 0)
        return self.layer(OpType.DEPTHWISE_CONV_2D, name, [x, wt, bt], ConvAttrs(stride, (1, 1), pad, act))

    def dense(self, x, name, n, act=RELU) -> str:
        fan_in = self.b.graph.tensors[x].shape[-1]
        wt = self.b.const(f"{name}/kernel", self._w((n, fan_in), fan_in))
        bt = self.b.const(f"{name}/bias", self._bias(n))
        return self.layer(OpType.FULLY_CONNECTED, name, [x, wt, bt], FullyConnectedAttrs(act))

    def flatten(self, x, name) -> str:
        shape = self.b.graph.tensors[x].shape
        return self.layer(OpType.RESHAPE, name, [x], ReshapeAttrs((shape[0], int(np.prod(shape[1:])))))


def mnist_cnn() -> Graph:
    """The study's network (DESIGN.md): 93,322 parameters, 2,794,240 MACs."""
    n = _Net("mnist-cnn", SEED)
    x = n.b.input("input", (1, 28, 28, 1))
    y = n.conv(x, "conv2d_1", 32, 3)
    y = n.layer(OpType.MAX_POOL_2D, "max_pooling2d_1", [y], PoolAttrs())
    y = n.conv(y, "conv2d_2", 64, 3)
    y = n.layer(OpType.MAX_POOL_2D, "max_pooling2d_2", [y], PoolAttrs())
    y = n.conv(y, "conv2d_3", 64, 3)
    y = n.flatten(y, "flatten")
    y = n.dense(y, "dense_1", 64)
    y = n.dense(y, "dense_2", 10, act=ConvAttrs().act)
    y = n.layer(OpType.SOFTMAX, "softmax", [y], SoftmaxAttrs())
    return n.b.finish([y])


def tiny_dscnn() -> Graph:
    """A small keyword-spotting-like net: depthwise, residual ADD, global average pool, reshape."""
    n = _Net("tiny-dscnn", SEED + 1)
    x = n.b.input("input", (1, 16, 12, 1))
    a = n.conv(x, "conv_stem", 8, 3, stride=(2, 2), same=True)
    d = n.depthwise(a, "dw_1", 3)
    p = n.conv(d, "pw_1", 8, 1)
    s = n.layer(OpType.ADD, "residual", [a, p], AddAttrs(RELU))
    _, h, w, _ = n.b.graph.tensors[s].shape
    g = n.layer(OpType.AVERAGE_POOL_2D, "global_pool", [s], PoolAttrs((h, w), (h, w)))
    f = n.flatten(g, "flatten")
    y = n.dense(f, "classifier", 4, act=ConvAttrs().act)
    y = n.layer(OpType.SOFTMAX, "softmax", [y], SoftmaxAttrs())
    return n.b.finish([y])


def mobilenet_tiny() -> Graph:
    """A MobileNet-v1-style visual-wake-words net (96x96x3, width 0.25 then narrower): a strided
    3x3 stem, seven depthwise-separable blocks (four with stride 2), global average pool, 2 classes.
    4.05 M MACs: the depthwise and pointwise mix of the MLPerf Tiny VWW model at a sixth of its size."""
    n = _Net("mobilenet-tiny", SEED + 2)
    x = n.b.input("input", (1, 96, 96, 3))
    y = n.conv(x, "conv_stem", 8, 3, stride=(2, 2), same=True)
    for i, (oc, stride) in enumerate([(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)], 1):
        y = n.depthwise(y, f"dw_{i}", 3, stride=(stride, stride))
        y = n.conv(y, f"pw_{i}", oc, 1)
    _, h, w, _ = n.b.graph.tensors[y].shape
    y = n.layer(OpType.AVERAGE_POOL_2D, "global_pool", [y], PoolAttrs((h, w), (h, w)))
    y = n.flatten(y, "flatten")
    y = n.dense(y, "classifier", 2, act=ConvAttrs().act)
    y = n.layer(OpType.SOFTMAX, "softmax", [y], SoftmaxAttrs())
    return n.b.finish([y])


def _int8(make: Callable[[], Graph], name: str) -> Callable[[], Graph]:
    def build() -> Graph:
        g = make()
        shape = g.input_tensors()[0].shape
        rng = np.random.default_rng(SEED)
        q = quantize_graph(g, [rng.random(shape, dtype=np.float32) for _ in range(8)])
        q.name, q.source = name, f"zoo:{name}"
        return q
    return build


MODELS: dict[str, Callable[[], Graph]] = {
    "mnist-cnn": mnist_cnn,
    "mnist-cnn-int8": _int8(mnist_cnn, "mnist-cnn-int8"),
    "tiny-dscnn": tiny_dscnn,
    "tiny-dscnn-int8": _int8(tiny_dscnn, "tiny-dscnn-int8"),
    "mobilenet-tiny": mobilenet_tiny,
    "mobilenet-tiny-int8": _int8(mobilenet_tiny, "mobilenet-tiny-int8"),
}
NAMES = sorted(MODELS)


def load(name: str) -> Graph:
    if name not in MODELS:
        raise ModelError(f"zoo:{name}: no such built-in model (available: "
                         f"{', '.join('zoo:' + n for n in NAMES)})")
    return MODELS[name]()
