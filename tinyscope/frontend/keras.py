"""Keras importer: legacy HDF5 (``model_config`` + ``model_weights``) and Keras 3 ``.keras`` zips.

Read with h5py and json only: nothing from the file is ever executed (Lambda layers and custom
objects are refused). One converter per layer class in ``CONVERTERS``; every unsupported layer of
the model is listed in a single error before anything is built.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from tinyscope.errors import ModelError, UnsupportedError
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.graph import DType, Graph
from tinyscope.ir.ops import (
    NO_ACT,
    ActivationAttrs,
    AddAttrs,
    Clamp,
    ConvAttrs,
    FullyConnectedAttrs,
    OpGroup,
    OpType,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
)
from tinyscope.ir.passes import fold_activations, fold_pads
from tinyscope.ir.shapes import same_padding_2d

ACTIVATIONS = {"linear": NO_ACT, "relu": Clamp(0.0, math.inf), "relu6": Clamp(0.0, 6.0)}


@dataclass
class Layer:
    """One Keras layer: its config, weights (in Keras order) and the layers it reads."""

    index: int
    name: str
    cls: str
    config: dict
    inbound: list[str]
    weights: list[np.ndarray] = field(default_factory=list)


# ---------------------------------------------------------------- reading the file

def _read_h5(path: Path) -> tuple[dict, dict[str, list[np.ndarray]]]:
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ModelError(f"{path}: not a readable HDF5 file ({exc})") from exc
    with f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise ModelError(f"{path}: this HDF5 file holds no Keras model (no 'model_config' attribute)")
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        group = f["model_weights"] if "model_weights" in f else f
        weights: dict[str, list[np.ndarray]] = {}
        for lname in group.attrs.get("layer_names", []):
            lname = lname.decode("utf-8") if isinstance(lname, bytes) else str(lname)
            g = group[lname]
            names = [n.decode("utf-8") if isinstance(n, bytes) else str(n)
                     for n in g.attrs.get("weight_names", [])]
            weights[lname] = [np.asarray(g[n]) for n in names]
    return config, weights


def _read_keras_zip(path: Path) -> tuple[dict, dict[str, list[np.ndarray]]]:
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{path}: not a Keras 3 archive (not a zip file)") from exc
    with z:
        names = set(z.namelist())
        if "config.json" not in names:
            raise ModelError(f"{path}: the archive has no config.json, so it holds no Keras model")
        config = json.loads(z.read("config.json"))
        weights: dict[str, list[np.ndarray]] = {}
        if "model.weights.h5" in names:
            with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
                def visit(name: str, obj) -> None:
                    # Keras 3 stores each layer's variables as .../<layer>/vars/<i>
                    if isinstance(obj, h5py.Group) and name.endswith("/vars"):
                        layer = name.split("/")[-2]
                        weights[layer] = [np.asarray(obj[k]) for k in sorted(obj, key=int)]
                f.visititems(visit)
    return config, weights


def _history_names(node) -> list[str]:
    """Layer names a Keras 3 inbound node reads (found anywhere in its args)."""
    out: list[str] = []
    if isinstance(node, dict):
        if "keras_history" in node.get("config", {}):
            out.append(node["config"]["keras_history"][0])
        else:
            for v in node.values():
                out += _history_names(v)
    elif isinstance(node, list):
        for v in node:
            out += _history_names(v)
    return out


def _snake(name: str) -> str:
    """Keras's to_snake_case: the base of the names Keras 3 gives layer variables in its h5."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _v3_weight_keys(raw: list[dict]) -> list[str]:
    """Keras 3 stores variables under generated names (conv2d, conv2d_1, ...), in layer order."""
    seen: dict[str, int] = {}
    keys = []
    for lay in raw:
        base = _snake(lay.get("class_name", "?"))
        k = seen.get(base, 0)
        seen[base] = k + 1
        keys.append(base if k == 0 else f"{base}_{k}")
    return keys


def _layers(config: dict, weights: dict[str, list[np.ndarray]],
            v3: bool = False) -> tuple[list[Layer], list[str]]:
    cls = config.get("class_name")
    cfg = config.get("config", {})
    raw = cfg.get("layers", cfg if isinstance(cfg, list) else [])
    layers: list[Layer] = []
    if v3:
        weights = {lay.get("config", {}).get("name", key): weights.get(key, [])
                   for lay, key in zip(raw, _v3_weight_keys(raw))}
    if cls == "Sequential":
        prev: list[str] = []
        for i, lay in enumerate(raw):
            c = lay.get("config", {})
            name = c.get("name", f"layer_{i}")
            layers.append(Layer(i, name, lay.get("class_name", "?"), c, list(prev), weights.get(name, [])))
            prev = [name]
        outputs = prev
    elif cls in ("Model", "Functional"):
        for i, lay in enumerate(raw):
            name = lay.get("name") or lay.get("config", {}).get("name", f"layer_{i}")
            nodes = lay.get("inbound_nodes", [])
            if len(nodes) > 1:
                raise UnsupportedError(f"layer {name!r} is called more than once (shared layers)")
            inbound: list[str] = []
            if nodes:
                node = nodes[0]
                if isinstance(node, list):  # legacy: [[name, node_index, tensor_index, kwargs], ...]
                    inbound = [entry[0] for entry in node]
                else:
                    inbound = _history_names(node)
            layers.append(Layer(i, name, lay.get("class_name", "?"), lay.get("config", {}), inbound,
                                weights.get(name, [])))
        outs = cfg.get("output_layers", [])
        outputs = [o[0] for o in outs] if outs and isinstance(outs[0], list) else [outs[0]] if outs else []
        if len(outputs) != 1:
            raise UnsupportedError(f"models with {len(outputs)} outputs are not supported (one output)")
    else:
        raise ModelError(f"unknown Keras model class {cls!r} (expected Sequential or Functional)")
    return layers, outputs


# ---------------------------------------------------------------- converting layers

class _Ctx:
    """Conversion state: the builder, the tensor each layer produced, and consumer counts."""

    def __init__(self, name: str, path: Path, fmt: str, layers: list[Layer]) -> None:
        self.b = GraphBuilder(name, str(path), fmt)
        self.out: dict[str, str] = {}
        self.readers: dict[str, int] = {}
        for lay in layers:
            for src in lay.inbound:
                self.readers[src] = self.readers.get(src, 0) + 1

    def shape(self, t: str) -> tuple[int, ...]:
        return self.b.graph.tensors[t].shape


def _act_after(ctx: _Ctx, lay: Layer, t: str, act_name: str | None) -> str:
    """Apply a layer's ``activation``: fused clamps become ACTIVATION ops (folded later)."""
    name = act_name or "linear"
    if name == "linear":
        return t
    if name == "softmax":
        return ctx.b.op(OpType.SOFTMAX, f"{lay.name}_softmax", [t], SoftmaxAttrs(), origin=lay.cls)
    return ctx.b.op(OpType.ACTIVATION, f"{lay.name}_{name}", [t], ActivationAttrs(ACTIVATIONS[name]),
                    origin=lay.cls)


def _pair(v, default=None) -> tuple[int, int]:
    if v is None:
        return default
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[1]))


def _pads(padding: str, shape, k, stride, dilation=(1, 1)):
    if padding == "same":
        return same_padding_2d(shape[1], shape[2], k[0], k[1], stride, dilation)
    return (0, 0, 0, 0)


def _bias(ctx: _Ctx, lay: Layer, w: list[np.ndarray], n: int, idx: int) -> str:
    has = lay.config.get("use_bias", True)
    data = w[idx] if has and len(w) > idx else np.zeros(n, np.float32)
    return ctx.b.const(f"{lay.name}/bias", data.astype(np.float32))


def _need_weights(lay: Layer, n: int) -> None:
    if len(lay.weights) < n:
        raise ModelError(f"layer {lay.name!r} ({lay.cls}) has {len(lay.weights)} weight arrays, expected {n}")


def conv2d(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    _need_weights(lay, 1)
    c = lay.config
    k = lay.weights[0]  # (kh, kw, in, out)
    stride, dil = _pair(c.get("strides"), (1, 1)), _pair(c.get("dilation_rate"), (1, 1))
    pad = _pads(c.get("padding", "valid"), ctx.shape(ins[0]), k.shape[:2], stride, dil)
    w = ctx.b.const(f"{lay.name}/kernel", np.transpose(k, (3, 0, 1, 2)).astype(np.float32))
    b = _bias(ctx, lay, lay.weights, k.shape[3], 1)
    y = ctx.b.op(OpType.CONV_2D, lay.name, [ins[0], w, b], ConvAttrs(stride, dil, pad), origin=lay.cls)
    return _act_after(ctx, lay, y, c.get("activation"))


def _depthwise(ctx: _Ctx, lay: Layer, x: str, k: np.ndarray, bias: np.ndarray | None, name: str) -> str:
    c = lay.config
    stride, dil = _pair(c.get("strides"), (1, 1)), _pair(c.get("dilation_rate"), (1, 1))
    pad = _pads(c.get("padding", "valid"), ctx.shape(x), k.shape[:2], stride, dil)
    kh, kw, cin, mult = k.shape
    w = ctx.b.const(f"{name}/depthwise_kernel", k.reshape(1, kh, kw, cin * mult).astype(np.float32))
    bdata = bias if bias is not None else np.zeros(cin * mult, np.float32)
    b = ctx.b.const(f"{name}/bias", bdata.astype(np.float32))
    return ctx.b.op(OpType.DEPTHWISE_CONV_2D, name, [x, w, b], ConvAttrs(stride, dil, pad, NO_ACT, mult),
                    origin=lay.cls)


def depthwise_conv2d(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    _need_weights(lay, 1)
    bias = lay.weights[1] if lay.config.get("use_bias", True) and len(lay.weights) > 1 else None
    y = _depthwise(ctx, lay, ins[0], lay.weights[0], bias, lay.name)
    return _act_after(ctx, lay, y, lay.config.get("activation"))


def separable_conv2d(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    """A depthwise conv then a 1x1 conv: Keras' SeparableConv2D written as the two ops it is."""
    _need_weights(lay, 2)
    dk, pk = lay.weights[0], lay.weights[1]  # (kh, kw, in, mult), (1, 1, in*mult, out)
    d = _depthwise(ctx, lay, ins[0], dk, None, f"{lay.name}_depthwise")
    w = ctx.b.const(f"{lay.name}/pointwise_kernel", np.transpose(pk, (3, 0, 1, 2)).astype(np.float32))
    b = _bias(ctx, lay, lay.weights, pk.shape[3], 2)
    y = ctx.b.op(OpType.CONV_2D, lay.name, [d, w, b], ConvAttrs(), origin=lay.cls)
    return _act_after(ctx, lay, y, lay.config.get("activation"))


def dense(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    _need_weights(lay, 1)
    x = ins[0]
    shape = ctx.shape(x)
    if len(shape) > 2 and int(np.prod(shape[1:-1])) != 1:
        raise UnsupportedError(f"layer {lay.name!r}: Dense on a {len(shape)}-D input is not supported "
                               f"(flatten first)")
    k = lay.weights[0]  # (in, out)
    w = ctx.b.const(f"{lay.name}/kernel", k.T.astype(np.float32))
    b = _bias(ctx, lay, lay.weights, k.shape[1], 1)
    y = ctx.b.op(OpType.FULLY_CONNECTED, lay.name, [x, w, b], FullyConnectedAttrs(), origin=lay.cls)
    return _act_after(ctx, lay, y, lay.config.get("activation"))


def _pool(kind: OpType):
    def convert(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
        c = lay.config
        k = _pair(c.get("pool_size"), (2, 2))
        s = _pair(c.get("strides"), k)
        pad = _pads(c.get("padding", "valid"), ctx.shape(ins[0]), k, s)
        return ctx.b.op(kind, lay.name, [ins[0]], PoolAttrs(k, s, pad), origin=lay.cls)
    return convert


def global_avg_pool(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    n, h, w, c = ctx.shape(ins[0])
    y = ctx.b.op(OpType.AVERAGE_POOL_2D, lay.name, [ins[0]], PoolAttrs((h, w), (h, w)), origin=lay.cls)
    if lay.config.get("keepdims", False):
        return y
    return ctx.b.op(OpType.RESHAPE, f"{lay.name}_flatten", [y], ReshapeAttrs((n, c)), origin=lay.cls)


def flatten(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    shape = ctx.shape(ins[0])
    return ctx.b.op(OpType.RESHAPE, lay.name, [ins[0]],
                    ReshapeAttrs((shape[0], int(np.prod(shape[1:])))), origin=lay.cls)


def reshape(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    shape = ctx.shape(ins[0])
    target = [int(d) for d in lay.config.get("target_shape", [])]
    if target.count(-1) == 1:
        known = int(np.prod([d for d in target if d != -1]))
        target[target.index(-1)] = int(np.prod(shape[1:])) // max(known, 1)
    return ctx.b.op(OpType.RESHAPE, lay.name, [ins[0]], ReshapeAttrs((shape[0], *target)), origin=lay.cls)


def activation(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    return _act_after(ctx, lay, ins[0], lay.config.get("activation"))


def relu(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    c = lay.config
    hi = c.get("max_value")
    act = Clamp(float(c.get("threshold", 0.0) or 0.0), math.inf if hi is None else float(hi))
    return ctx.b.op(OpType.ACTIVATION, lay.name, [ins[0]], ActivationAttrs(act), origin=lay.cls)


def softmax(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    return ctx.b.op(OpType.SOFTMAX, lay.name, [ins[0]], SoftmaxAttrs(), origin=lay.cls)


def add(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    if len(ins) != 2:
        raise UnsupportedError(f"layer {lay.name!r}: Add of {len(ins)} inputs (two are supported)")
    return ctx.b.op(OpType.ADD, lay.name, ins, AddAttrs(), origin=lay.cls)


def identity(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    return ins[0]


def zero_padding(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    p = lay.config.get("padding", 1)
    if isinstance(p, int):
        pads = (p, p, p, p)
    elif isinstance(p[0], int):
        pads = (p[0], p[0], p[1], p[1])
    else:
        pads = (p[0][0], p[0][1], p[1][0], p[1][1])
    return ctx.b.op(OpType.PAD, lay.name, [ins[0]], PadAttrs(tuple(int(v) for v in pads)), origin=lay.cls)


def batch_norm(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    """Folded into the conv or dense before it when it alone reads that op; else a 1x1 depthwise."""
    c = lay.config
    w = list(lay.weights)
    n = ctx.shape(ins[0])[-1]
    gamma = w.pop(0) if c.get("scale", True) else np.ones(n, np.float32)
    beta = w.pop(0) if c.get("center", True) else np.zeros(n, np.float32)
    if len(w) < 2:
        raise ModelError(f"layer {lay.name!r}: BatchNormalization without moving mean and variance")
    mean, var = w[0], w[1]
    scale = gamma / np.sqrt(var + float(c.get("epsilon", 1e-3)))
    shift = beta - mean * scale
    x = ins[0]
    prod = ctx.b.graph.producers().get(x)
    sole_reader = len(lay.inbound) == 1 and ctx.readers.get(lay.inbound[0], 0) == 1
    if prod is not None and prod.type in OpGroup.WEIGHTED and prod.attrs.act.is_none and sole_reader:
        wt, bt = ctx.b.graph.tensors[prod.inputs[1]], ctx.b.graph.tensors[prod.inputs[2]]
        axis = 3 if prod.type is OpType.DEPTHWISE_CONV_2D else 0
        shape = [1] * wt.data.ndim
        shape[axis] = -1
        wt.data = (wt.data * scale.reshape(shape)).astype(np.float32)
        bt.data = (bt.data * scale + shift).astype(np.float32)
        return x
    if len(ctx.shape(x)) != 4:
        raise UnsupportedError(f"layer {lay.name!r}: BatchNormalization that follows no conv or dense")
    wk = ctx.b.const(f"{lay.name}/scale", scale.reshape(1, 1, 1, n).astype(np.float32))
    bk = ctx.b.const(f"{lay.name}/shift", shift.astype(np.float32))
    return ctx.b.op(OpType.DEPTHWISE_CONV_2D, lay.name, [x, wk, bk], ConvAttrs(), origin=lay.cls)


Converter = Callable[[_Ctx, Layer, list[str]], str]
CONVERTERS: dict[str, Converter] = {
    "Conv2D": conv2d,
    "DepthwiseConv2D": depthwise_conv2d,
    "SeparableConv2D": separable_conv2d,
    "Dense": dense,
    "MaxPooling2D": _pool(OpType.MAX_POOL_2D),
    "AveragePooling2D": _pool(OpType.AVERAGE_POOL_2D),
    "GlobalAveragePooling2D": global_avg_pool,
    "Flatten": flatten,
    "Reshape": reshape,
    "Activation": activation,
    "ReLU": relu,
    "Softmax": softmax,
    "Add": add,
    "BatchNormalization": batch_norm,
    "Dropout": identity,
    "ZeroPadding2D": zero_padding,
}
ALIASES = {"Convolution2D": "Conv2D", "MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "SeparableConvolution2D": "SeparableConv2D"}


def _problems(lay: Layer) -> list[str]:
    """Everything about one layer that tinyscope cannot import (empty when fine)."""
    out = []
    if lay.cls == "InputLayer":
        return out
    if lay.cls == "Lambda":
        return [f"{lay.name!r} (Lambda: holds Python code, which tinyscope never runs)"]
    if lay.cls not in CONVERTERS:
        return [f"{lay.name!r} ({lay.cls})"]
    act = lay.config.get("activation")
    if isinstance(act, dict):
        act = act.get("config", {}).get("name", act.get("class_name"))
    if act is not None and act not in ACTIVATIONS and act != "softmax":
        out.append(f"{lay.name!r} ({lay.cls} with activation {act!r})")
    if lay.config.get("data_format", "channels_last") != "channels_last":
        out.append(f"{lay.name!r} ({lay.cls} with data_format {lay.config['data_format']!r})")
    if lay.cls == "ReLU" and float(lay.config.get("negative_slope", 0.0) or 0.0) != 0.0:
        out.append(f"{lay.name!r} (ReLU with negative_slope)")
    return out


def _input_shape(lay: Layer) -> tuple[int, ...] | None:
    c = lay.config
    shape = c.get("batch_input_shape") or c.get("batch_shape")
    if shape is None:
        return None
    if any(d is None for d in shape[1:]):
        raise UnsupportedError(f"input {lay.name!r} has dynamic dimensions {shape} (fixed shapes only)")
    return (1, *[int(d) for d in shape[1:]])


def load(path: Path) -> Graph:
    if path.suffix.lower() == ".keras":
        config, weights = _read_keras_zip(path)
        fmt = "keras-v3"
    else:
        config, weights = _read_h5(path)
        fmt = "keras-h5"
    try:
        layers, outputs = _layers(config, weights, v3=fmt == "keras-v3")
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ModelError(f"{path}: malformed Keras model config ({type(exc).__name__}: {exc})") from exc
    bad = [p for lay in layers for p in _problems(lay)]
    if bad:
        raise UnsupportedError(f"{path}: unsupported layers: {'; '.join(bad)}. "
                               f"Supported: {', '.join(sorted(CONVERTERS))}, InputLayer")
    ctx = _Ctx(config.get("config", {}).get("name", path.stem) if isinstance(config.get("config"), dict)
               else path.stem, path, fmt, layers)
    try:
        for lay in layers:
            ctx.b.set_m_id(lay.index)
            shape = _input_shape(lay)
            if lay.cls == "InputLayer" or (shape is not None and not lay.inbound):
                if shape is None:
                    raise ModelError(f"{path}: input layer {lay.name!r} has no shape")
                ctx.out[f"{lay.name}:input"] = ctx.b.input(lay.name if lay.cls == "InputLayer"
                                                           else f"{lay.name}_input", shape, DType.FLOAT32)
                if lay.cls == "InputLayer":
                    ctx.out[lay.name] = ctx.out[f"{lay.name}:input"]
                    continue
                ins = [ctx.out[f"{lay.name}:input"]]
            else:
                ins = [ctx.out[src] for src in lay.inbound]
            if not ins:
                raise ModelError(f"{path}: layer {lay.name!r} has no input and no input shape")
            ctx.out[lay.name] = CONVERTERS[ALIASES.get(lay.cls, lay.cls)](ctx, lay, ins)
    except KeyError as exc:
        raise ModelError(f"{path}: layer graph refers to unknown layer {exc}") from exc
    g = ctx.b.finish([ctx.out[o] for o in outputs])
    return fold_pads(fold_activations(g))
