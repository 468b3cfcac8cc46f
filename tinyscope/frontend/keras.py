"""Keras importer: legacy HDF5 (``model_config`` + ``model_weights``) and Keras 3 ``.keras`` zips.

Read with h5py and json only: nothing from the file is ever executed (Lambda layers and custom
objects are refused). The file is checked as data on the way in: the config is bounded UTF-8 JSON
of bounded depth whose every layer is an object with a config; names are unique text; layers only
read layers before them; weight arrays are float datasets of bounded size, as many and of the
shapes the config implies (a config that contradicts its weights is an error, not a guess).

One converter per layer class in ``CONVERTERS``; every unsupported layer of the model is listed in
a single error before anything is built.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from tinyscope.errors import ModelError, ShapeError, TinyscopeError, UnsupportedError
from tinyscope.frontend import hints
from tinyscope.frontend.hints import hint
from tinyscope.frontend.isolate import read_isolated
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.graph import DType, Graph
from tinyscope.ir.ops import (
    NO_ACT,
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
    ReshapeAttrs,
    SoftmaxAttrs,
    UnaryAttrs,
)
from tinyscope.ir.passes import fold_activations, fold_pads
from tinyscope.ir.shapes import is_whole, same_padding_2d
from tinyscope.ir.verify import MAX_TENSOR_BYTES, check_name

ACTIVATIONS = {"linear": NO_ACT, "relu": Clamp(0.0, math.inf), "relu6": Clamp(0.0, 6.0)}
# activations that are a UNARY op: (function, alpha, gamma); Keras's own constants (keras/activations)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
UNARY_ACTIVATIONS = {"sigmoid": ("logistic", 0.0, 0.0), "tanh": ("tanh", 0.0, 0.0),
                     "hard_swish": ("hard_swish", 0.0, 0.0), "hard_silu": ("hard_swish", 0.0, 0.0),
                     "selu": ("selu", SELU_ALPHA, SELU_SCALE), "leaky_relu": ("leaky_relu", 0.2, 0.0)}


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

MAX_CONFIG_BYTES = 64 * 2**20  # a model_config / config.json larger than this is not a model
MAX_CONFIG_DEPTH = 100  # real configs nest about 10 deep; 10,000 would exhaust the stack
MAX_WEIGHTS_BYTES = MAX_TENSOR_BYTES


def _text(v: object, what: str) -> str:
    """A name read from HDF5: bytes must be UTF-8."""
    if isinstance(v, bytes | np.bytes_):
        try:
            return bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"{what} {bytes(v)!r} is not valid UTF-8 text") from None
    if isinstance(v, str | np.str_):
        return check_name(str(v), what)
    raise ModelError(f"{what} {v!r} is not text")


def _names(attr: object, what: str) -> list[str]:
    if attr is None:
        return []
    return [_text(v, what) for v in np.asarray(attr, dtype=object).ravel()]


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth(raw: str) -> int:
    """The deepest bracket nesting of JSON text (strings skipped), found without recursion."""
    brackets = "".join(m.group() for m in _JSON_BRACKET.finditer(_JSON_STRING.sub("", raw)))
    if not brackets:
        return 0
    steps = np.frombuffer(brackets.encode("ascii"), np.uint8)
    return int(np.cumsum(np.where((steps == ord("[")) | (steps == ord("{")), 1, -1)).max())


def _parse_config(path: Path, raw: object) -> dict:
    """The model config: UTF-8 JSON text of bounded size and depth, an object at the top."""
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw.item()
    if isinstance(raw, bytes | np.bytes_):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ModelError(f"{path}: the model config is not UTF-8 text") from None
    if not isinstance(raw, str):
        raise ModelError(f"{path}: the model config is a {type(raw).__name__}, not JSON text")
    try:  # h5py hands out undecodable bytes as lone surrogates
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise ModelError(f"{path}: the model config is not UTF-8 text") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelError(f"{path}: the model config is {len(raw):,} characters long (at most "
                         f"{MAX_CONFIG_BYTES:,})")
    if _json_depth(raw) > MAX_CONFIG_DEPTH:  # before json.loads, whose recursion depends on the process's limit
        raise ModelError(f"{path}: the model config nests too deeply to be a model (more than {MAX_CONFIG_DEPTH} "
                         "levels)")
    try:
        config = json.loads(raw)
    except RecursionError:
        raise ModelError(f"{path}: the model config nests too deeply to be a model") from None
    except ValueError as exc:
        raise ModelError(f"{path}: the model config is not JSON ({exc})") from None
    stack = [(config, 1)]
    while stack:  # iteratively: the depth check itself must not recurse
        v, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise ModelError(f"{path}: the model config nests more than {MAX_CONFIG_DEPTH} levels deep")
        if isinstance(v, dict):
            stack += [(x, depth + 1) for x in v.values()]
        elif isinstance(v, list):
            stack += [(x, depth + 1) for x in v]
    if not isinstance(config, dict):
        raise ModelError(f"{path}: the model config is a JSON {type(config).__name__}, not an object")
    return config


def _dataset(path: Path, obj: object, what: str, budget: list[int]) -> np.ndarray:
    """One weight array, checked (float, bounded size, all of them bounded too) before h5py reads it."""
    if obj is None:
        raise ModelError(f"{path}: weight {what!r} is missing")
    if not isinstance(obj, h5py.Dataset):
        raise ModelError(f"{path}: weight {what!r} is not an array")
    if obj.dtype.kind != "f":
        raise ModelError(f"{path}: weight {what!r} holds {obj.dtype} values, not floats")
    budget[0] -= obj.size * 4
    if obj.size * obj.dtype.itemsize > MAX_WEIGHTS_BYTES or budget[0] < 0:
        raise ShapeError(f"{path}: weight {what!r} has shape {obj.shape}: the weights are too large "
                         f"(at most {MAX_WEIGHTS_BYTES // 2**20:,} MiB)")
    return np.asarray(obj[()], dtype=np.float32)


_READER_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, EOFError, zipfile.BadZipFile,
                  zlib.error, NotImplementedError)  # what h5py and zipfile raise on damaged structures


def _read_h5(path: Path) -> tuple[dict, dict[str, list[np.ndarray]]]:
    try:
        f = h5py.File(path, "r")
    except _READER_ERRORS as exc:
        raise ModelError(f"{path}: not a readable HDF5 file ({_first_line(exc)})") from None
    try:
        with f:
            raw = f.attrs.get("model_config")
            if raw is None:
                raise ModelError(f"{path}: this HDF5 file holds no Keras model (no 'model_config' attribute)")
            config = _parse_config(path, raw)
            group = f["model_weights"] if "model_weights" in f else f
            if not isinstance(group, h5py.Group):
                raise ModelError(f"{path}: 'model_weights' is not a group")
            weights: dict[str, list[np.ndarray]] = {}
            budget = [MAX_WEIGHTS_BYTES]
            for lname in _names(group.attrs.get("layer_names"), "layer name"):
                g = group.get(lname)
                if not isinstance(g, h5py.Group):
                    raise ModelError(f"{path}: the weights of layer {lname!r} are missing")
                weights[lname] = [_dataset(path, g.get(n), n, budget)
                                  for n in _names(g.attrs.get("weight_names"), "weight name")]
    except TinyscopeError:
        raise
    except _READER_ERRORS as exc:
        raise ModelError(f"{path}: damaged HDF5 file ({_first_line(exc)})") from None
    return config, weights


def _zip_member(path: Path, z: zipfile.ZipFile, name: str, limit: int) -> bytes:
    info = z.getinfo(name)
    if info.file_size > limit:
        raise ModelError(f"{path}: {name} in the archive is {info.file_size:,} bytes (at most {limit:,})")
    return z.read(info)


def _read_keras_zip(path: Path) -> tuple[dict, dict[str, list[np.ndarray]]]:
    try:
        z = zipfile.ZipFile(path)
    except _READER_ERRORS as exc:
        raise ModelError(f"{path}: not a Keras 3 archive (not a zip file: {_first_line(exc)})") from None
    try:
        with z:
            names = set(z.namelist())
            if "config.json" not in names:
                raise ModelError(f"{path}: the archive has no config.json, so it holds no Keras model")
            config_text = _zip_member(path, z, "config.json", MAX_CONFIG_BYTES)
            blob = _zip_member(path, z, "model.weights.h5", MAX_WEIGHTS_BYTES) if "model.weights.h5" in names \
                else None
    except TinyscopeError:
        raise
    except _READER_ERRORS as exc:
        raise ModelError(f"{path}: damaged Keras archive ({_first_line(exc)})") from None
    config = _parse_config(path, config_text)
    weights: dict[str, list[np.ndarray]] = {}
    if blob is None:
        return config, weights
    try:
        with h5py.File(io.BytesIO(blob), "r") as f:
            budget = [MAX_WEIGHTS_BYTES]
            groups: list[tuple[str, h5py.Group]] = []

            def visit(name: str, obj) -> None:
                # Keras 3 stores each layer's variables as .../<layer>/vars/<i>
                if isinstance(obj, h5py.Group) and name.endswith("/vars"):
                    groups.append((name, obj))
            f.visititems(visit)
            for name, obj in groups:
                keys = list(obj)
                if not all(k.isdigit() for k in keys):
                    raise ModelError(f"{path}: weights {name!r} are not numbered 0, 1, ...")
                weights[name.split("/")[-2]] = [_dataset(path, obj[k], f"{name}/{k}", budget)
                                                for k in sorted(keys, key=int)]
    except TinyscopeError:
        raise
    except _READER_ERRORS as exc:
        raise ModelError(f"{path}: damaged model.weights.h5 in the archive ({_first_line(exc)})") from None
    return config, weights


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _obj(v: object, what: str) -> dict:
    if not isinstance(v, dict):
        raise ModelError(f"{what} is {'null' if v is None else 'a ' + type(v).__name__}, not a JSON object")
    return v


def _str(v: object, what: str) -> str:
    if not isinstance(v, str):
        raise ModelError(f"{what} is {v!r}, not a string")
    return check_name(v, what)


def _history_names(node: object) -> list[str]:
    """Layer names a Keras 3 inbound node reads (found anywhere in its args), without recursion."""
    out: list[str] = []
    stack = [node]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            cfg = v.get("config")
            if isinstance(cfg, dict) and "keras_history" in cfg:
                hist = cfg["keras_history"]
                if not isinstance(hist, list) or not hist or not isinstance(hist[0], str):
                    raise ModelError(f"malformed keras_history {hist!r}")
                out.append(hist[0])
            else:
                stack += reversed(list(v.values()))
        elif isinstance(v, list):
            stack += reversed(v)
    return out


def _snake(name: str) -> str:
    """Keras's to_snake_case: the base of the names Keras 3 gives layer variables in its h5."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _v3_weight_keys(classes: list[str]) -> list[str]:
    """Keras 3 stores variables under generated names (conv2d, conv2d_1, ...), in layer order."""
    seen: dict[str, int] = {}
    keys = []
    for cls in classes:
        base = _snake(cls)
        k = seen.get(base, 0)
        seen[base] = k + 1
        keys.append(base if k == 0 else f"{base}_{k}")
    return keys


def _output_names(cfg: dict) -> list[str]:
    outs = cfg.get("output_layers", [])
    if not isinstance(outs, list):
        raise ModelError(f"output_layers is {outs!r}, not a list")
    if outs and isinstance(outs[0], list):  # [[name, node, tensor], ...]
        if not all(isinstance(o, list) and o for o in outs):
            raise ModelError(f"malformed output_layers {outs!r}")
        names = [o[0] for o in outs]
    else:  # Keras 3, one output: [name, node, tensor]
        names = outs[:1]
    return [_str(n, "an output layer name") for n in names]


def _layers(config: dict, weights: dict[str, list[np.ndarray]],
            v3: bool = False) -> tuple[list[Layer], list[str]]:
    cls = config.get("class_name")
    if cls not in ("Sequential", "Model", "Functional"):
        raise ModelError(f"unknown Keras model class {cls!r} (expected Sequential or Functional)")
    cfg = config.get("config")
    if cls == "Sequential" and isinstance(cfg, list):  # Keras 2.0 wrote the layer list bare
        cfg = {"layers": cfg}
    cfg = _obj(cfg, "the model's config")
    raw = cfg.get("layers")
    if not isinstance(raw, list):
        raise ModelError(f"the model's layer list is {raw!r}, not a list")
    if not raw:
        raise ModelError("the model has no layers")
    entries: list[tuple[dict, str, dict]] = []
    for i, lay in enumerate(raw):
        lay = _obj(lay, f"layer {i}")
        lcls = _str(lay.get("class_name"), f"the class name of layer {i}")
        c = lay.get("config")
        if c is None:
            raise ModelError(f"layer {i} ({lcls}) has no config (layer_config is null)")
        entries.append((lay, lcls, _obj(c, f"the config of layer {i} ({lcls})")))
    if v3:
        keys = _v3_weight_keys([lcls for _, lcls, _ in entries])
        weights = {c.get("name", key) if isinstance(c.get("name", key), str) else key: weights.get(key, [])
                   for (_, _, c), key in zip(entries, keys)}
    layers: list[Layer] = []
    names: set[str] = set()

    def add(i: int, name: object, lcls: str, c: dict, inbound: list[str]) -> None:
        name = _str(name, f"the name of layer {i}")
        if name in names:
            raise ModelError(f"two layers are named {name!r}")
        for src in inbound:
            if src not in names:
                raise ModelError(f"layer {name!r} reads {src!r}, which is not a layer before it "
                                 "(an unknown name, or a cycle)")
        names.add(name)
        layers.append(Layer(i, name, lcls, c, inbound, weights.get(name, [])))

    if cls == "Sequential":
        prev: list[str] = []
        for i, (_, lcls, c) in enumerate(entries):
            add(i, c.get("name", f"layer_{i}"), lcls, c, list(prev))
            prev = [layers[-1].name]
        outputs = prev
    else:
        for i, (lay, lcls, c) in enumerate(entries):
            name = lay.get("name") or c.get("name", f"layer_{i}")
            nodes = lay.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                raise ModelError(f"layer {name!r}: inbound_nodes is {nodes!r}, not a list")
            if len(nodes) > 1:
                raise UnsupportedError(f"layer {name!r} is called more than once (shared layers)")
            inbound: list[str] = []
            if nodes:
                node = nodes[0]
                if isinstance(node, list):  # legacy: [[name, node_index, tensor_index, kwargs], ...]
                    if not all(isinstance(e, list) and e for e in node):
                        raise ModelError(f"layer {name!r}: malformed inbound node {node!r}")
                    inbound = [_str(e[0], f"an input of layer {name!r}") for e in node]
                else:
                    inbound = _history_names(node)
            add(i, name, lcls, c, inbound)
        outputs = _output_names(cfg)
        if len(outputs) != 1:
            raise UnsupportedError(f"models with {len(outputs)} outputs are not supported (one output)")
        for o in outputs:
            if o not in names:
                raise ModelError(f"the output layer {o!r} is not a layer of the model")
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


def _activation_name(lay: Layer) -> str | None:
    """The layer's activation as a name: "relu", or Keras 3's {"class_name": ..., "config": {"name"}}."""
    act = lay.config.get("activation")
    if isinstance(act, dict):
        cfg = act.get("config")
        act = cfg.get("name", act.get("class_name")) if isinstance(cfg, dict) else act.get("class_name")
    return act


def _act_after(ctx: _Ctx, lay: Layer, t: str) -> str:
    """Apply a layer's ``activation``: fused clamps become ACTIVATION ops (folded later)."""
    name = _activation_name(lay) or "linear"
    if name == "linear":
        return t
    if name == "softmax":
        return ctx.b.op(OpType.SOFTMAX, f"{lay.name}_softmax", [t], SoftmaxAttrs(), origin=lay.cls)
    if name in UNARY_ACTIVATIONS:
        fn, alpha, gamma = UNARY_ACTIVATIONS[name]
        return ctx.b.op(OpType.UNARY, f"{lay.name}_{name}", [t], UnaryAttrs(fn, alpha, gamma), origin=lay.cls)
    return ctx.b.op(OpType.ACTIVATION, f"{lay.name}_{name}", [t], ActivationAttrs(ACTIVATIONS[name]),
                    origin=lay.cls)


def _pair(lay: Layer, key: str, default=None, minimum: int = 1) -> tuple[int, int]:
    v = lay.config.get(key)
    if v is None:
        return default
    if is_whole(v, minimum):
        return (int(v), int(v))
    if isinstance(v, list) and len(v) == 2 and all(is_whole(x, minimum) for x in v):
        return (int(v[0]), int(v[1]))
    raise ModelError(f"layer {lay.name!r} ({lay.cls}): {key}={v!r} is not one or two whole numbers "
                     f">= {minimum}")


def _pads(lay: Layer, shape, k, stride, dilation=(1, 1)):
    padding = lay.config.get("padding", "valid")
    if padding == "same":
        return same_padding_2d(shape[1], shape[2], k[0], k[1], stride, dilation)
    if padding == "valid":
        return (0, 0, 0, 0)
    raise UnsupportedError(f"layer {lay.name!r} ({lay.cls}): padding {padding!r} (valid and same only)")


def _flag(lay: Layer, key: str, default: bool) -> bool:
    v = lay.config.get(key, default)
    if not isinstance(v, bool):
        raise ModelError(f"layer {lay.name!r} ({lay.cls}): {key}={v!r} is not true or false")
    return v


def _rank4(ctx: _Ctx, lay: Layer, t: str) -> tuple[int, int, int, int]:
    shape = ctx.shape(t)
    if len(shape) != 4:
        raise ShapeError(f"layer {lay.name!r} ({lay.cls}) needs a 4-D (batch, height, width, channels) "
                         f"input, got shape {shape}")
    return shape


def _weights(lay: Layer, *shapes: tuple) -> list[np.ndarray]:
    """The layer's weight arrays, which must be as many as its config implies and of these shapes.

    A shape entry is a tuple of ints or None (any size); weights and config must agree, so a file
    whose config contradicts its weights is rejected instead of the weights silently winning.
    """
    w = lay.weights
    if len(w) != len(shapes):
        raise ModelError(f"layer {lay.name!r} ({lay.cls}) has {len(w)} weight arrays, its config needs "
                         f"{len(shapes)}")
    for i, (arr, want) in enumerate(zip(w, shapes)):
        if arr.ndim != len(want) or any(d is not None and d != got for d, got in zip(want, arr.shape)):
            shown = tuple("?" if d is None else d for d in want)
            raise ShapeError(f"layer {lay.name!r} ({lay.cls}): weight {i} has shape {arr.shape}, the config "
                             f"says {shown}")
    return w


def _config_int(lay: Layer, key: str) -> int | None:
    v = lay.config.get(key)
    if v is None:
        return None
    if not is_whole(v, 1):
        raise ModelError(f"layer {lay.name!r} ({lay.cls}): {key}={v!r} is not a whole number >= 1")
    return int(v)


def _kernel(lay: Layer) -> tuple[int | None, int | None]:
    k = _pair(lay, "kernel_size")
    return k if k is not None else (None, None)


def conv2d(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    _rank4(ctx, lay, ins[0])
    kh, kw = _kernel(lay)
    f = _config_int(lay, "filters")
    bias = _flag(lay, "use_bias", True)
    w = _weights(lay, (kh, kw, None, f), *([(f,)] if bias else []))
    k = w[0]  # (kh, kw, in, out)
    if bias and w[1].shape != (k.shape[3],):
        raise ShapeError(f"layer {lay.name!r}: bias of shape {w[1].shape} for {k.shape[3]} filters")
    stride, dil = _pair(lay, "strides", (1, 1)), _pair(lay, "dilation_rate", (1, 1))
    pad = _pads(lay, ctx.shape(ins[0]), k.shape[:2], stride, dil)
    wt = ctx.b.const(f"{lay.name}/kernel", np.transpose(k, (3, 0, 1, 2)).astype(np.float32))
    b = ctx.b.const(f"{lay.name}/bias", (w[1] if bias else np.zeros(k.shape[3])).astype(np.float32))
    y = ctx.b.op(OpType.CONV_2D, lay.name, [ins[0], wt, b], ConvAttrs(stride, dil, pad), origin=lay.cls)
    return _act_after(ctx, lay, y)


def _depthwise(ctx: _Ctx, lay: Layer, x: str, k: np.ndarray, bias: np.ndarray | None, name: str) -> str:
    stride, dil = _pair(lay, "strides", (1, 1)), _pair(lay, "dilation_rate", (1, 1))
    pad = _pads(lay, ctx.shape(x), k.shape[:2], stride, dil)
    kh, kw, cin, mult = k.shape
    w = ctx.b.const(f"{name}/depthwise_kernel", k.reshape(1, kh, kw, cin * mult).astype(np.float32))
    bdata = bias if bias is not None else np.zeros(cin * mult, np.float32)
    b = ctx.b.const(f"{name}/bias", bdata.astype(np.float32))
    return ctx.b.op(OpType.DEPTHWISE_CONV_2D, name, [x, w, b], ConvAttrs(stride, dil, pad, NO_ACT, mult),
                    origin=lay.cls)


def depthwise_conv2d(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    c = _rank4(ctx, lay, ins[0])[3]
    kh, kw = _kernel(lay)
    mult = _config_int(lay, "depth_multiplier") or 1
    has_bias = _flag(lay, "use_bias", True)
    w = _weights(lay, (kh, kw, c, mult), *([(c * mult,)] if has_bias else []))
    y = _depthwise(ctx, lay, ins[0], w[0], w[1] if has_bias else None, lay.name)
    return _act_after(ctx, lay, y)


def separable_conv2d(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    """A depthwise conv then a 1x1 conv: Keras' SeparableConv2D written as the two ops it is."""
    c = _rank4(ctx, lay, ins[0])[3]
    kh, kw = _kernel(lay)
    mult = _config_int(lay, "depth_multiplier") or 1
    f = _config_int(lay, "filters")
    has_bias = _flag(lay, "use_bias", True)
    w = _weights(lay, (kh, kw, c, mult), (1, 1, c * mult, f), *([(f,)] if has_bias else []))
    dk, pk = w[0], w[1]  # (kh, kw, in, mult), (1, 1, in*mult, out)
    if has_bias and w[2].shape != (pk.shape[3],):
        raise ShapeError(f"layer {lay.name!r}: bias of shape {w[2].shape} for {pk.shape[3]} filters")
    d = _depthwise(ctx, lay, ins[0], dk, None, f"{lay.name}_depthwise")
    wt = ctx.b.const(f"{lay.name}/pointwise_kernel", np.transpose(pk, (3, 0, 1, 2)).astype(np.float32))
    b = ctx.b.const(f"{lay.name}/bias", (w[2] if has_bias else np.zeros(pk.shape[3])).astype(np.float32))
    y = ctx.b.op(OpType.CONV_2D, lay.name, [d, wt, b], ConvAttrs(), origin=lay.cls)
    return _act_after(ctx, lay, y)


def dense(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    x = ins[0]
    shape = ctx.shape(x)
    if len(shape) < 2:
        raise ShapeError(f"layer {lay.name!r} (Dense) needs a (batch, features) input, got shape {shape}")
    if len(shape) > 2 and int(np.prod(shape[1:-1])) != 1:
        raise UnsupportedError(f"layer {lay.name!r}: Dense on a {len(shape)}-D input is not supported "
                               f"(flatten first)")
    units = _config_int(lay, "units")
    has_bias = _flag(lay, "use_bias", True)
    w = _weights(lay, (None, units), *([(units,)] if has_bias else []))
    k = w[0]  # (in, out)
    if has_bias and w[1].shape != (k.shape[1],):
        raise ShapeError(f"layer {lay.name!r}: bias of shape {w[1].shape} for {k.shape[1]} units")
    wt = ctx.b.const(f"{lay.name}/kernel", k.T.astype(np.float32))
    b = ctx.b.const(f"{lay.name}/bias", (w[1] if has_bias else np.zeros(k.shape[1])).astype(np.float32))
    y = ctx.b.op(OpType.FULLY_CONNECTED, lay.name, [x, wt, b], FullyConnectedAttrs(), origin=lay.cls)
    return _act_after(ctx, lay, y)


def _pool(kind: OpType):
    def convert(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
        shape = _rank4(ctx, lay, ins[0])
        k = _pair(lay, "pool_size", (2, 2))
        s = _pair(lay, "strides", k)
        pad = _pads(lay, shape, k, s)
        return ctx.b.op(kind, lay.name, [ins[0]], PoolAttrs(k, s, pad), origin=lay.cls)
    return convert


def _global_pool(kind: OpType) -> Converter:
    """GlobalAverage/MaxPooling2D: a pool whose window is the whole input, then (without keepdims) a
    flatten to (batch, channels)."""
    def convert(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
        n, h, w, c = _rank4(ctx, lay, ins[0])
        y = ctx.b.op(kind, lay.name, [ins[0]], PoolAttrs((h, w), (h, w)), origin=lay.cls)
        if _flag(lay, "keepdims", False):
            return y
        return ctx.b.op(OpType.RESHAPE, f"{lay.name}_flatten", [y], ReshapeAttrs((n, c)), origin=lay.cls)
    return convert


def flatten(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    shape = ctx.shape(ins[0])
    return ctx.b.op(OpType.RESHAPE, lay.name, [ins[0]],
                    ReshapeAttrs((shape[0], int(np.prod(shape[1:])))), origin=lay.cls)


def reshape(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    shape = ctx.shape(ins[0])
    target = lay.config.get("target_shape", [])
    if not isinstance(target, list) or not target or not all(d == -1 or is_whole(d, 1) for d in target) \
            or target.count(-1) > 1:
        raise ModelError(f"layer {lay.name!r} (Reshape): target_shape={target!r} (whole numbers >= 1, at "
                         "most one -1)")
    target = [int(d) for d in target]
    if target.count(-1) == 1:
        known = int(np.prod([d for d in target if d != -1]))
        target[target.index(-1)] = int(np.prod(shape[1:])) // known
    return ctx.b.op(OpType.RESHAPE, lay.name, [ins[0]], ReshapeAttrs((shape[0], *target)), origin=lay.cls)


def activation(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    return _act_after(ctx, lay, ins[0])


def _number(lay: Layer, key: str, default: float | None) -> float | None:
    v = lay.config.get(key, default)
    if v is None:
        return None
    if not isinstance(v, int | float) or isinstance(v, bool) or math.isnan(v):
        raise ModelError(f"layer {lay.name!r} ({lay.cls}): {key}={v!r} is not a number")
    return float(v)


def leaky_relu(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    """LeakyReLU: ``alpha`` in Keras 2, ``negative_slope`` in Keras 3 (both default 0.3)."""
    slope = _number(lay, "negative_slope", None)
    slope = _number(lay, "alpha", 0.3) if slope is None else slope
    return ctx.b.op(OpType.UNARY, lay.name, [ins[0]], UnaryAttrs("leaky_relu", slope), origin=lay.cls)


def relu(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    slope = _number(lay, "negative_slope", 0.0)
    if slope:  # ReLU(negative_slope=a) without max_value is a leaky ReLU
        return ctx.b.op(OpType.UNARY, lay.name, [ins[0]], UnaryAttrs("leaky_relu", slope), origin=lay.cls)
    hi = _number(lay, "max_value", None)
    act = Clamp(0.0, math.inf if hi is None else hi)
    return ctx.b.op(OpType.ACTIVATION, lay.name, [ins[0]], ActivationAttrs(act), origin=lay.cls)


def softmax(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    rank = len(ctx.shape(ins[0]))
    axis = lay.config.get("axis", -1)
    if axis not in (-1, rank - 1, [-1], [rank - 1]):
        raise UnsupportedError(f"layer {lay.name!r} (Softmax) over axis {axis!r} (the last axis only)")
    return ctx.b.op(OpType.SOFTMAX, lay.name, [ins[0]], SoftmaxAttrs(), origin=lay.cls)


def add(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    return ctx.b.op(OpType.ADD, lay.name, ins, AddAttrs(), origin=lay.cls)


def concatenate(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    rank = len(ctx.shape(ins[0]))
    axis = lay.config.get("axis", -1)
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank or axis % rank == 0:
        raise UnsupportedError(f"layer {lay.name!r} (Concatenate) along axis {axis!r} of a {rank}-D tensor "
                               "(any axis but the batch)")
    if len(ins) == 1:
        return ins[0]
    return ctx.b.op(OpType.CONCATENATION, lay.name, ins, ConcatAttrs(axis % rank), origin=lay.cls)


def identity(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    return ins[0]


def zero_padding(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    _rank4(ctx, lay, ins[0])
    p = lay.config.get("padding", 1)
    if is_whole(p):
        pads = (p, p, p, p)
    elif isinstance(p, list) and len(p) == 2 and all(is_whole(v) for v in p):
        pads = (p[0], p[0], p[1], p[1])
    elif isinstance(p, list) and len(p) == 2 and all(isinstance(v, list) and len(v) == 2 and
                                                     all(is_whole(x) for x in v) for v in p):
        pads = (p[0][0], p[0][1], p[1][0], p[1][1])
    else:
        raise ModelError(f"layer {lay.name!r} (ZeroPadding2D): padding={p!r} (whole numbers >= 0)")
    return ctx.b.op(OpType.PAD, lay.name, [ins[0]], PadAttrs(tuple(int(v) for v in pads)), origin=lay.cls)


def batch_norm(ctx: _Ctx, lay: Layer, ins: list[str]) -> str:
    """Folded into the conv or dense before it when it alone reads that op; else a 1x1 depthwise."""
    c = lay.config
    x = ins[0]
    rank = len(ctx.shape(x))
    axis = c.get("axis", -1)
    if axis not in (-1, rank - 1, [-1], [rank - 1]):
        raise UnsupportedError(f"layer {lay.name!r} (BatchNormalization) over axis {axis!r} (channels only)")
    n = ctx.shape(x)[-1]
    scaled, centered = _flag(lay, "scale", True), _flag(lay, "center", True)
    w = list(_weights(lay, *[(n,)] * (scaled + centered + 2)))
    gamma = w.pop(0) if scaled else np.ones(n, np.float32)
    beta = w.pop(0) if centered else np.zeros(n, np.float32)
    mean, var = w[0], w[1]
    eps = _number(lay, "epsilon", 1e-3)
    if not np.all(var.astype(np.float64) + eps > 0):
        raise ModelError(f"layer {lay.name!r} (BatchNormalization): moving variance + epsilon must be > 0")
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
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
    if rank != 4:
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
    "GlobalAveragePooling2D": _global_pool(OpType.AVERAGE_POOL_2D),
    "GlobalMaxPooling2D": _global_pool(OpType.MAX_POOL_2D),
    "Flatten": flatten,
    "Reshape": reshape,
    "Activation": activation,
    "ReLU": relu,
    "LeakyReLU": leaky_relu,
    "Softmax": softmax,
    "Add": add,
    "Concatenate": concatenate,
    "BatchNormalization": batch_norm,
    "Dropout": identity,
    "ZeroPadding2D": zero_padding,
}
ALIASES = {"Convolution2D": "Conv2D", "MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
           "SeparableConvolution2D": "SeparableConv2D",
           # noise and dropout layers do nothing at inference, as Dropout
           "SpatialDropout1D": "Dropout", "SpatialDropout2D": "Dropout", "GaussianDropout": "Dropout",
           "GaussianNoise": "Dropout", "AlphaDropout": "Dropout", "ActivityRegularization": "Dropout"}


def _problems(lay: Layer) -> list[str]:
    """Everything about one layer that tinyscope cannot import (empty when fine)."""
    out = []
    if lay.cls == "InputLayer":
        return out
    if lay.cls == "Lambda":
        return [f"{lay.name!r} (Lambda: holds Python code, which tinyscope never runs)"]
    cls = ALIASES.get(lay.cls, lay.cls)
    if cls not in CONVERTERS:
        return [f"{lay.name!r} ({lay.cls}{hint(hints.KERAS, lay.cls)})"]
    act = _activation_name(lay)
    if act is not None and act not in ACTIVATIONS and act not in UNARY_ACTIVATIONS and act != "softmax":
        out.append(f"{lay.name!r} ({lay.cls} with activation {act!r})")
    if lay.config.get("data_format", "channels_last") not in ("channels_last", None):
        out.append(f"{lay.name!r} ({lay.cls} with data_format {lay.config['data_format']!r})")
    if cls == "ReLU":
        v = lay.config.get("threshold", 0.0)
        if v not in (0, 0.0, None):
            out.append(f"{lay.name!r} (ReLU with threshold {v!r})")
        if lay.config.get("negative_slope") not in (0, 0.0, None) and lay.config.get("max_value") is not None:
            out.append(f"{lay.name!r} (ReLU with both negative_slope and max_value)")
    if cls in ("Conv2D", "SeparableConv2D") and lay.config.get("groups", 1) != 1:
        out.append(f"{lay.name!r} ({lay.cls} with groups={lay.config.get('groups')!r})")
    n_in = len(lay.inbound)
    if cls == "Add" and n_in != 2:
        out.append(f"{lay.name!r} (Add of {n_in} inputs; two are supported)")
    elif cls not in ("Add", "Concatenate") and n_in > 1:
        out.append(f"{lay.name!r} ({lay.cls} reading {n_in} layers)")
    return out


def _input_shape(lay: Layer) -> tuple[int, ...] | None:
    c = lay.config
    key = "batch_input_shape" if "batch_input_shape" in c else "batch_shape"
    shape = c.get(key)
    if shape is None:
        return None
    if not isinstance(shape, list) or len(shape) < 2:
        raise ModelError(f"input {lay.name!r}: {key}={shape!r} is not a list of (batch, dimensions...)")
    dims = shape[1:]
    if any(d is None for d in dims):
        raise UnsupportedError(f"input {lay.name!r} has dynamic dimensions {shape} (fixed shapes only)")
    if not all(is_whole(d, 1) for d in dims):
        raise ModelError(f"input {lay.name!r}: {key}={shape!r} holds something other than whole numbers >= 1")
    return (1, *[int(d) for d in dims])


def load(path: Path) -> Graph:
    # the HDF5 library runs in a child process: it can hang or crash on a damaged file (isolate.py)
    if path.suffix.lower() == ".keras":
        config, weights = read_isolated("_read_keras_zip", path, _parse_config)
        fmt = "keras-v3"
    else:
        config, weights = read_isolated("_read_h5", path, _parse_config)
        fmt = "keras-h5"
    layers, outputs = _layers(config, weights, v3=fmt == "keras-v3")
    bad = [p for lay in layers for p in _problems(lay)]
    if bad:
        raise UnsupportedError(f"{path}: unsupported layers: {'; '.join(bad)}. "
                               f"Supported: {', '.join(sorted(CONVERTERS))}, InputLayer")
    cfg = config.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    ctx = _Ctx(name if isinstance(name, str) and name else path.stem, path, fmt, layers)
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
    g = ctx.b.finish([ctx.out[o] for o in outputs])
    return fold_pads(fold_activations(g))
