"""Deterministic mutants of the seed models: byte-level damage and structural edits, per format.

Kinds (the tallies group by these):
- ``truncate``: the file cut at many offsets;
- ``bitflip``: one to eight bits flipped at seeded positions;
- ``zero``: a seeded range of bytes zeroed;
- ``magic``: the format's signature damaged, or another format's bytes under this extension;
- ``structural``: the file rebuilt with one named defect (a stride of 0, a NaN scale, a cycle, a
  dangling input, duplicate or non-UTF-8 names, dims of 100000x100000x1000, ...), the cases of
  issue 8 and more.

Everything is seeded from the seed file's name, the kind and a counter, so a run is reproducible.
"""

from __future__ import annotations

import copy
import io
import json
import random
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper

from tests.fuzz import tflite_spec

FORMATS = ("tflite", "h5", "keras", "onnx")
EXT = {"tflite": ".tflite", "h5": ".h5", "keras": ".keras", "onnx": ".onnx"}
HUGE = [1, 100000, 100000, 1000]
NOT_UTF8 = b"bad\xff\xfename\xc3"


@dataclass
class Mutant:
    id: str
    fmt: str
    kind: str
    detail: str
    path: Path
    seed: str


# ---------------------------------------------------------------- byte-level mutations

def _byte_mutants(fmt: str, seed: Path, data: bytes, n_trunc: int, n_flip: int, n_zero: int):
    """(kind, detail, bytes) for the byte-level kinds."""
    rng = random.Random(f"{seed.name}:bytes")
    size = len(data)
    offsets = sorted({max(1, int(size * f)) for f in np.linspace(0.0, 0.999, n_trunc)} | {1, 7, 8, 15, 64})
    for off in offsets[:n_trunc]:
        yield "truncate", f"at {off} of {size}", data[:off]
    for _ in range(n_flip):
        buf = bytearray(data)
        bits = rng.randint(1, 8)
        where = []
        for _ in range(bits):
            pos = rng.randrange(size)
            buf[pos] ^= 1 << rng.randrange(8)
            where.append(pos)
        yield "bitflip", f"{bits} bits at {where[:3]}", bytes(buf)
    for _ in range(n_zero):
        buf = bytearray(data)
        start = rng.randrange(size)
        length = rng.choice([1, 4, 16, 64, 256, 4096])
        buf[start:start + length] = bytes(len(buf[start:start + length]))
        yield "zero", f"{length} bytes at {start}", bytes(buf)
    for detail, buf in _magic(fmt, data, rng):
        yield "magic", detail, buf


def _magic(fmt: str, data: bytes, rng: random.Random):
    others = {"tflite": b"\x1c\x00\x00\x00TFL3" + bytes(64), "h5": b"\x89HDF\r\n\x1a\n" + bytes(64),
              "keras": b"PK\x03\x04" + bytes(64), "onnx": b"\x08\x07\x12\x07pytorch" + bytes(32)}
    if fmt == "tflite":
        yield "TFL3 -> TFL4", data[:4] + b"TFL4" + data[8:]
        yield "root offset past the end", b"\xff\xff\xff\x7f" + data[4:]
    elif fmt == "h5":
        yield "HDF5 signature damaged", b"\x89HDX" + data[4:]
        yield "superblock version 9", data[:8] + b"\x09" + data[9:]
    elif fmt == "keras":
        yield "local header signature damaged", b"PK\x05\x07" + data[4:]
        cd = data.rfind(b"PK\x05\x06")
        if cd > 0:
            yield "end of central directory damaged", data[:cd] + b"PK\x00\x00" + data[cd + 4:]
            buf = bytearray(data)
            buf[cd + 16:cd + 20] = (len(data) * 3).to_bytes(4, "little")  # central directory offset
            yield "central directory offset past the end", bytes(buf)
    elif fmt == "onnx":
        yield "first field tag 0xff", b"\xff" + data[1:]
        yield "length-delimited field of 2 GB", b"\x3a\xff\xff\xff\xff\x07" + data[6:]
    for other, head in others.items():
        if other != fmt:
            yield f"{other} signature under {EXT[fmt]}", head + data[len(head):]


# ---------------------------------------------------------------- TFLite structural edits

def _tensor_of(spec: dict, pred) -> int | None:
    for i, t in enumerate(spec["tensors"]):
        if pred(t):
            return i
    return None


def _const(spec: dict, t: dict) -> bool:
    """Real converters give every tensor a buffer; a constant's holds data."""
    return 0 <= t["buffer"] < len(spec["buffers"]) and len(spec["buffers"][t["buffer"]]) > 0


def _op_of(spec: dict, codes: set[int]) -> dict | None:
    for op in spec["ops"]:
        if spec["opcodes"][op["opcode"]] in codes:
            return op
    return None


CONV, DWCONV, FC, POOLS, SOFTMAX = {3}, {4}, {9}, {1, 17}, {25}


def _tfl_edits() -> dict[str, Callable[[dict], dict | bytes | None]]:
    """name -> edit(spec) returning the edited spec (or final bytes), or None if not applicable."""
    e: dict[str, Callable] = {}

    def opt(codes, field, value):
        def f(s):
            op = _op_of(s, codes)
            if op is None or field not in op["options"]:
                return None
            op["options"][field] = value
            return s
        return f

    e["conv stride 0"] = opt(CONV | DWCONV, "StrideH", 0)
    e["pool stride 0"] = opt(POOLS, "StrideW", 0)
    e["pool filter 0"] = opt(POOLS, "FilterHeight", 0)
    e["dilation 0"] = opt(CONV | DWCONV, "DilationWFactor", 0)
    e["negative stride"] = opt(CONV | DWCONV, "StrideW", -3)
    e["padding enum 7"] = opt(CONV | DWCONV | POOLS, "Padding", 7)
    e["fused activation TANH"] = opt(CONV | DWCONV, "FusedActivationFunction", 4)
    e["fused activation 99"] = opt(FC, "FusedActivationFunction", 99)
    e["softmax beta NaN"] = opt(SOFTMAX, "Beta", float("nan"))
    e["softmax beta 0"] = opt(SOFTMAX, "Beta", 0.0)
    e["shuffled FC weights"] = opt(FC, "WeightsFormat", 1)
    e["huge depth multiplier"] = opt(DWCONV, "DepthMultiplier", 1 << 30)

    def bias_retyped(s):
        op = _op_of(s, CONV | DWCONV | FC)
        if op is None or len(op["inputs"]) < 3 or s["tensors"][op["inputs"][2]]["type"] != 2:  # INT32
            return None
        s["tensors"][op["inputs"][2]]["type"] = 0  # FLOAT32, same bytes
        return s
    e["int32 bias retyped float32"] = bias_retyped

    def scale(value):
        def f(s):
            i = _tensor_of(s, lambda t: t["quant"] is not None and t["type"] == 9)  # INT8
            if i is None:
                return None
            s["tensors"][i]["quant"]["scale"] = [value] * len(s["tensors"][i]["quant"]["scale"])
            return s
        return f
    e["NaN scale"] = scale(float("nan"))
    e["zero scale"] = scale(0.0)
    e["negative scale"] = scale(-0.5)
    e["infinite scale"] = scale(float("inf"))

    def weight_scale_nan(s):
        op = _op_of(s, CONV | DWCONV | FC)
        if op is None or s["tensors"][op["inputs"][1]]["quant"] is None:
            return None
        q = s["tensors"][op["inputs"][1]]["quant"]
        q["scale"] = [float("nan")] * len(q["scale"])
        return s
    e["NaN weight scale"] = weight_scale_nan

    def zp(value):
        def f(s):
            i = _tensor_of(s, lambda t: t["quant"] is not None and t["type"] == 9 and not _const(s, t))
            if i is None:
                return None
            q = s["tensors"][i]["quant"]
            q["zero_point"] = [value] * max(len(q["zero_point"]), 1)
            return s
        return f
    e["zero point 200 on int8"] = zp(200)
    e["zero point 2**40"] = zp(2**40)

    def scale_count(s):
        i = _tensor_of(s, lambda t: t["quant"] is not None and len(t["quant"]["scale"]) > 1)
        if i is None:
            return None
        q = s["tensors"][i]["quant"]
        q["scale"] = q["scale"] + [0.01, 0.02]
        q["zero_point"] = q["zero_point"] + [0, 0]
        return s
    e["per-channel scale count off"] = scale_count

    def axis(s):
        i = _tensor_of(s, lambda t: t["quant"] is not None and len(t["quant"]["scale"]) > 1)
        if i is None:
            return None
        s["tensors"][i]["quant"]["axis"] = 9
        return s
    e["quantized dimension 9"] = axis

    def drop_quant(s):
        i = _tensor_of(s, lambda t: t["quant"] is not None and t["type"] == 9 and not _const(s, t))
        if i is None:
            return None
        s["tensors"][i]["quant"] = None
        return s
    e["int8 activation without quantization"] = drop_quant

    def no_outputs(s):
        s["outputs"] = []
        return s
    e["no outputs"] = no_outputs

    def no_inputs(s):
        s["inputs"] = []
        return s
    e["no inputs"] = no_inputs

    def output_is_const(s):
        i = _tensor_of(s, lambda t: _const(s, t))
        s["outputs"] = [i]
        return s
    e["output is a constant"] = output_is_const

    def huge_dims(s):
        s["tensors"][s["inputs"][0]]["shape"] = list(HUGE)
        return s
    e["input 100000x100000x1000"] = huge_dims

    def huge_consistent(s):
        """Every activation 100000x100000 spatially: consistent shapes, absurd size."""
        for t in s["tensors"]:
            if not _const(s, t) and len(t["shape"]) == 4:
                t["shape"] = [t["shape"][0], 100000, 100000, t["shape"][3]]
        return s
    e["activations 100000x100000"] = huge_consistent

    def dim(value):
        def f(s):
            s["tensors"][s["inputs"][0]]["shape"][1] = value
            return s
        return f
    e["input dim 0"] = dim(0)
    e["input dim -1"] = dim(-1)

    def cycle(s):
        first, last = s["ops"][0], s["ops"][-1]
        first["inputs"][0] = last["outputs"][0]
        return s
    e["cycle: first op reads the last output"] = cycle

    def self_loop(s):
        op = s["ops"][min(1, len(s["ops"]) - 1)]
        op["inputs"][0] = op["outputs"][0]
        return s
    e["op reads its own output"] = self_loop

    def dangling(s):
        s["tensors"].append({"name": b"ghost", "shape": list(s["tensors"][s["ops"][1]["inputs"][0]]["shape"]),
                             "type": s["tensors"][s["ops"][1]["inputs"][0]]["type"], "buffer": 0,
                             "quant": copy.deepcopy(s["tensors"][s["ops"][1]["inputs"][0]]["quant"])})
        s["ops"][1]["inputs"][0] = len(s["tensors"]) - 1
        return s
    e["dangling input"] = dangling

    def two_writers(s):
        s["ops"][1]["outputs"][0] = s["ops"][0]["outputs"][0]
        return s
    e["two ops write one tensor"] = two_writers

    def dup_names(s):
        for t in s["tensors"]:
            t["name"] = b"same"
        return s
    e["duplicate names"] = dup_names

    def bad_names(s):
        for i, t in enumerate(s["tensors"]):
            t["name"] = NOT_UTF8 + str(i).encode()
        return s
    e["non-UTF-8 names"] = bad_names

    def index(where, value):
        def f(s):
            if where == "op input":
                s["ops"][0]["inputs"][0] = value
            elif where == "op output":
                s["ops"][0]["outputs"][0] = value
            elif where == "graph output":
                s["outputs"] = [value]
            elif where == "opcode":
                s["ops"][0]["opcode"] = value
            elif where == "buffer":
                i = _tensor_of(s, lambda t: _const(s, t))
                s["tensors"][i]["buffer"] = value
            return s
        return f
    for where in ("op input", "op output", "graph output", "opcode", "buffer"):
        e[f"{where} index out of range"] = index(where, 99999)
    e["op input index -7"] = index("op input", -7)

    def no_options(s):
        op = _op_of(s, CONV | DWCONV | POOLS)
        op["options_type"], op["options"] = 0, None
        return s
    e["conv without options"] = no_options

    def wrong_options(s):
        op = _op_of(s, CONV | DWCONV)
        op["options_type"] = 5  # Pool2DOptions
        op["options"] = {"Padding": 0, "StrideW": 1, "StrideH": 1, "FilterWidth": 3, "FilterHeight": 3,
                         "FusedActivationFunction": 0}
        return s
    e["conv with pool options"] = wrong_options

    def arity(s):
        op = _op_of(s, CONV | DWCONV)
        op["inputs"] = op["inputs"][:1]
        return s
    e["conv with one input"] = arity

    def no_op_outputs(s):
        s["ops"][0]["outputs"] = []
        return s
    e["op without outputs"] = no_op_outputs

    def ttype(value):
        def f(s):
            s["tensors"][s["inputs"][0]]["type"] = value
            return s
        return f
    e["input type 99"] = ttype(99)
    e["input type int16"] = ttype(7)

    def unknown_op(s):
        s["opcodes"][s["ops"][0]["opcode"]] = 250
        return s
    e["unknown builtin 250"] = unknown_op

    def short_buffer(s):
        i = _tensor_of(s, lambda t: _const(s, t) and len(s["buffers"][t["buffer"]]) > 8)
        b = s["tensors"][i]["buffer"]
        s["buffers"][b] = s["buffers"][b][:-4]
        return s
    e["buffer shorter than its shape"] = short_buffer

    def bias_shape(s):
        op = _op_of(s, CONV | DWCONV | FC)
        if op is None or len(op["inputs"]) < 3:
            return None
        t = s["tensors"][op["inputs"][2]]
        t["shape"] = [t["shape"][0] + 1]
        s["buffers"][t["buffer"]] = s["buffers"][t["buffer"]] + bytes(4)
        return s
    e["bias one longer than the channels"] = bias_shape

    def nan_weights(s):
        i = _tensor_of(s, lambda t: _const(s, t) and t["type"] == 0 and len(t["shape"]) >= 2)
        if i is None:
            return None
        b = s["tensors"][i]["buffer"]
        arr = np.frombuffer(s["buffers"][b], np.float32).copy()
        arr[::3] = np.nan
        s["buffers"][b] = arr.tobytes()
        return s
    e["NaN float weights"] = nan_weights

    def out_shape(s):
        s["tensors"][s["ops"][0]["outputs"][0]]["shape"][-1] += 1
        return s
    e["op output shape off by one"] = out_shape

    def name_past_end(s):
        buf = bytearray(tflite_spec.write(s))
        name = s["tensors"][s["ops"][0]["outputs"][0]]["name"]
        pos = bytes(buf).find(len(name).to_bytes(4, "little") + name)
        if pos < 0:
            return None
        buf[pos:pos + 4] = (len(buf) * 4).to_bytes(4, "little")
        return bytes(buf)
    e["string length past the end"] = name_past_end

    def vector_count(s):
        buf = bytearray(tflite_spec.write(s))
        shape = s["tensors"][s["inputs"][0]]["shape"]
        pat = len(shape).to_bytes(4, "little") + b"".join(int(d).to_bytes(4, "little", signed=True) for d in shape)
        pos = bytes(buf).find(pat)
        if pos < 0:
            return None
        buf[pos:pos + 4] = (0x3FFFFFFF).to_bytes(4, "little")
        return bytes(buf)
    e["vector count 2**30"] = vector_count
    return e


# ---------------------------------------------------------------- ONNX structural edits

def _node(m, op_type: str):
    return next((n for n in m.graph.node if n.op_type == op_type), None)


def _set_attr(node, name: str, value) -> None:
    for i, a in enumerate(node.attribute):
        if a.name == name:
            del node.attribute[i]
            break
    node.attribute.append(helper.make_attribute(name, value))


def _init(m, name: str):
    return next((t for t in m.graph.initializer if t.name == name), None)


def _onnx_edits() -> dict[str, Callable]:
    e: dict[str, Callable] = {}

    def attr(op_type, name, value):
        def f(m):
            n = _node(m, op_type)
            if n is None:
                return None
            _set_attr(n, name, value)
            return m
        return f

    e["conv stride 0"] = attr("Conv", "strides", [0, 0])
    e["conv strides of 3 values"] = attr("Conv", "strides", [1, 1, 1])
    e["conv negative pads"] = attr("Conv", "pads", [-1, 0, 0, 0])
    e["conv dilation 0"] = attr("Conv", "dilations", [0, 1])
    e["conv group 0"] = attr("Conv", "group", 0)
    e["conv group 3"] = attr("Conv", "group", 3)
    e["conv kernel_shape contradicts weights"] = attr("Conv", "kernel_shape", [5, 5])
    e["conv strides as floats"] = attr("Conv", "strides", [1.5, 1.0])
    e['auto_pad="EVIL"'] = attr("Conv", "auto_pad", "EVIL")
    e["pool stride 0"] = attr("MaxPool", "strides", [0, 2])
    e["pool kernel 0"] = attr("MaxPool", "kernel_shape", [0, 2])
    e["pool pads bigger than the window"] = attr("MaxPool", "pads", [3, 3, 3, 3])
    e["avgpool stride 0"] = attr("AveragePool", "strides", [0, 0])
    e["softmax axis 0"] = attr("Softmax", "axis", 0)
    e["gemm alpha NaN"] = attr("Gemm", "alpha", float("nan"))
    e["gemm transA"] = attr("Gemm", "transA", 1)
    e["BN epsilon -1"] = attr("BatchNormalization", "epsilon", -1.0)
    e["flatten axis 9"] = attr("Flatten", "axis", 9)

    def init_edit(fn):
        def f(m):
            t = max(m.graph.initializer, key=lambda t: len(t.raw_data) or len(t.float_data), default=None)
            if t is None:
                return None
            fn(t)
            return m
        return f

    def dims_mismatch(t):
        t.dims[0] += 1
    e["initializer dims do not match its data"] = init_edit(dims_mismatch)

    def dtype99(t):
        t.data_type = 99
    e["initializer dtype 99"] = init_edit(dtype99)

    def dtype_string(t):
        t.data_type = TensorProto.STRING
    e["initializer dtype string"] = init_edit(dtype_string)

    def short_raw(t):
        if t.HasField("raw_data"):
            t.raw_data = t.raw_data[: len(t.raw_data) // 2]
        else:
            del t.float_data[len(t.float_data) // 2:]
    e["initializer short raw data"] = init_edit(short_raw)

    def neg_dims(t):
        t.dims[0] = -t.dims[0]
    e["initializer negative dims"] = init_edit(neg_dims)

    def huge_init(t):
        del t.dims[:]
        t.dims.extend(HUGE)
    e["initializer dims 100000x100000x1000"] = init_edit(huge_init)

    def external(t):
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value="../../../../etc/passwd")
    e["initializer external data ../../etc/passwd"] = init_edit(external)

    def typed_data(m):
        t = next((t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT and t.HasField("raw_data")), None)
        if t is None:
            return None
        n = len(t.raw_data) // 4
        t.ClearField("raw_data")
        t.float_data.extend([0.5] * (n + 3))
        return m
    e["initializer float_data length off"] = typed_data

    def int8_range(m):
        t = next((t for t in m.graph.initializer if t.data_type == TensorProto.INT8), None)
        if t is None:
            return None
        n = len(t.raw_data) if t.HasField("raw_data") else len(t.int32_data)
        t.ClearField("raw_data")
        del t.int32_data[:]
        t.int32_data.extend([1000] * n)
        return m
    e["int8 initializer holding 1000"] = int8_range

    def no_outputs(m):
        del m.graph.output[:]
        return m
    e["no graph outputs"] = no_outputs

    def no_nodes(m):
        del m.graph.node[:]
        return m
    e["no nodes"] = no_nodes

    def two_writers(m):
        m.graph.node[1].output[0] = m.graph.node[0].output[0]
        return m
    e["two nodes write one value"] = two_writers

    def cycle(m):
        m.graph.node[0].input[0] = m.graph.node[-1].output[0]
        return m
    e["cycle: first node reads the last output"] = cycle

    def self_loop(m):
        n = m.graph.node[1]
        n.input[0] = n.output[0]
        return m
    e["node reads its own output"] = self_loop

    def reorder(m):
        nodes = list(m.graph.node)
        del m.graph.node[:]
        m.graph.node.extend(reversed(nodes))
        return m
    e["nodes in reverse order"] = reorder

    def dangling(m):
        m.graph.node[1].input[0] = "ghost"
        return m
    e["dangling input"] = dangling

    def dup_init(m):
        m.graph.initializer.append(copy.deepcopy(m.graph.initializer[0]))
        return m
    e["duplicate initializer"] = dup_init

    def dup_input(m):
        m.graph.input.append(copy.deepcopy(m.graph.input[0]))
        return m
    e["duplicate graph input"] = dup_input

    def dup_node_names(m):
        for n in m.graph.node:
            n.name = "same"
        return m
    e["duplicate node names"] = dup_node_names

    def empty_names(m):
        for n in m.graph.node:
            n.name = ""
        return m
    e["empty node names"] = empty_names

    def empty_output(m):
        m.graph.node[0].output[0] = ""
        return m
    e["node output with empty name"] = empty_output

    def huge_input(m):
        dims = m.graph.input[0].type.tensor_type.shape.dim
        for d, v in zip(dims, HUGE + [1] * 4):
            d.dim_value = v
        return m
    e["input 100000x100000x1000"] = huge_input

    def rank2_input(m):
        m.graph.input[0].type.tensor_type.shape.ClearField("dim")
        m.graph.input[0].type.tensor_type.shape.dim.add(dim_value=1)
        m.graph.input[0].type.tensor_type.shape.dim.add(dim_value=96)
        return m
    e["rank-2 input to a conv"] = rank2_input

    def input_type(m):
        m.graph.input[0].type.tensor_type.elem_type = TensorProto.STRING
        return m
    e["input of strings"] = input_type

    def const_node(m):
        m.graph.node.insert(0, helper.make_node("Constant", [], ["k"], value=helper.make_tensor("v", 1, [1], [1.0])))
        return m
    e["a Constant node"] = const_node

    def custom_domain(m):
        m.graph.node[0].domain = "evil.corp"
        return m
    e["node in a custom domain"] = custom_domain

    def arity(m):
        n = m.graph.node[0]
        del n.input[1:]
        return m
    e["first node with one input"] = arity

    def reshape_target(values):
        def f(m):
            n = _node(m, "Reshape")
            if n is None:
                return None
            t = _init(m, n.input[1])
            t.CopyFrom(onnx.numpy_helper.from_array(np.array(values, np.int64), t.name))
            return m
        return f
    e["reshape target [0, -2]"] = reshape_target([0, -2])
    e["reshape target [-1, -1]"] = reshape_target([-1, -1])
    e["reshape target [1, 0, 0, 0, 0]"] = reshape_target([1, 0, 0, 0, 0])

    def bn_var(m):
        n = _node(m, "BatchNormalization")
        if n is None:
            return None
        t = _init(m, n.input[4])
        t.CopyFrom(onnx.numpy_helper.from_array(-np.ones(t.dims, np.float32), t.name))
        return m
    e["BN negative variance"] = bn_var

    def bn_shape(m):
        n = _node(m, "BatchNormalization")
        if n is None:
            return None
        t = _init(m, n.input[1])
        t.CopyFrom(onnx.numpy_helper.from_array(np.ones(int(t.dims[0]) + 2, np.float32), t.name))
        return m
    e["BN parameters of the wrong length"] = bn_shape

    def clip(lo):
        def f(m):
            n = _node(m, "Clip")
            if n is None or len(n.input) < 2:
                return None
            t = _init(m, n.input[1])
            t.CopyFrom(onnx.numpy_helper.from_array(np.float32(lo), t.name))
            return m
        return f
    e["clip min NaN"] = clip(float("nan"))
    e["clip min above max"] = clip(100.0)

    def gemm_c(m):
        n = _node(m, "Gemm")
        if n is None or len(n.input) < 3:
            return None
        t = _init(m, n.input[2])
        t.CopyFrom(onnx.numpy_helper.from_array(np.ones(int(t.dims[0]) + 1, np.float32), t.name))
        return m
    e["gemm C of the wrong length"] = gemm_c

    def qdq_scale(value):
        def f(m):
            n = next((n for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")), None)
            if n is None:
                return None
            t = _init(m, n.input[1])
            arr = onnx.numpy_helper.to_array(t).copy()
            arr[...] = value
            t.CopyFrom(onnx.numpy_helper.from_array(arr, t.name))
            return m
        return f
    e["QDQ NaN scale"] = qdq_scale(float("nan"))
    e["QDQ zero scale"] = qdq_scale(0.0)
    e["QDQ negative scale"] = qdq_scale(-1.0)

    def qdq_weight_scale_nan(m):
        n = next((n for n in m.graph.node if n.op_type == "DequantizeLinear" and _init(m, n.input[0]) is not None
                  and len(onnx.numpy_helper.to_array(_init(m, n.input[1])).shape) == 1), None)
        if n is None:
            return None
        t = _init(m, n.input[1])
        arr = onnx.numpy_helper.to_array(t).copy()
        arr[0] = np.nan
        t.CopyFrom(onnx.numpy_helper.from_array(arr, t.name))
        return m
    e["QDQ per-channel weight scale NaN"] = qdq_weight_scale_nan

    def qdq_zp_uint8(m):
        n = next((n for n in m.graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2), None)
        if n is None:
            return None
        t = _init(m, n.input[2])
        t.CopyFrom(onnx.numpy_helper.from_array(np.zeros(t.dims, np.uint8), t.name))
        return m
    e["QDQ uint8 zero point"] = qdq_zp_uint8

    def qdq_axis(m):
        n = next((n for n in m.graph.node if n.op_type == "DequantizeLinear" and _init(m, n.input[0]) is not None
                  and len(onnx.numpy_helper.to_array(_init(m, n.input[1])).shape) == 1), None)
        if n is None:
            return None
        _set_attr(n, "axis", 7)
        return m
    e["QDQ axis 7"] = qdq_axis

    def graph_attr(m):
        n = m.graph.node[0]
        n.attribute.append(helper.make_attribute("body", helper.make_graph([], "sub", [], [])))
        return m
    e["attribute holding a graph"] = graph_attr

    def undefined_attr(m):
        a = m.graph.node[0].attribute.add()
        a.name = "mystery"
        a.type = 0
        return m
    e["attribute of undefined type"] = undefined_attr
    return e


def _onnx_non_utf8(m) -> bytes:
    """Names replaced by bytes that are not UTF-8 (onnx.helper refuses them, so patch the bytes)."""
    marker = "NAMEMARK"
    m.graph.node[0].name = marker
    m.graph.node[0].output[0], old = marker + "v", m.graph.node[0].output[0]
    for n in m.graph.node[1:]:
        for i, v in enumerate(n.input):
            if v == old:
                n.input[i] = marker + "v"
    for o in m.graph.output:
        if o.name == old:
            o.name = marker + "v"
    return m.SerializeToString().replace(marker.encode(), b"\xff\xfe\xc3\x28\xa0\xa1\xe2\x28")


# ---------------------------------------------------------------- Keras structural edits

def _layers_of(cfg: dict) -> list[dict]:
    c = cfg["config"]
    return c["layers"] if isinstance(c, dict) else c


def _first(cfg: dict, classes: set[str]) -> dict | None:
    return next((lay for lay in _layers_of(cfg) if lay.get("class_name") in classes), None)


def _keras_config_edits() -> dict[str, Callable[[dict], dict | str | bytes | None]]:
    """name -> edit(config) returning a config, raw text/bytes, or None when not applicable."""
    e: dict[str, Callable] = {}
    convs = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D"}

    def field(classes, key, value):
        def f(cfg):
            lay = _first(cfg, classes)
            if lay is None:
                return None
            lay["config"][key] = value
            return cfg
        return f

    e["conv stride 0"] = field(convs, "strides", [0, 0])
    e["pool stride 0"] = field({"MaxPooling2D", "AveragePooling2D"}, "strides", [0, 2])
    e["pool size 0"] = field({"MaxPooling2D", "AveragePooling2D"}, "pool_size", [0, 0])
    e["strides 'x'"] = field(convs, "strides", "x")
    e["kernel_size contradicts the weights"] = field(convs, "kernel_size", [5, 5])
    e["filters contradict the weights"] = field({"Conv2D"}, "filters", 999)
    e["units contradict the weights"] = field({"Dense"}, "units", 999)
    e["use_bias false with a bias in the file"] = field({"Conv2D", "Dense"}, "use_bias", False)
    e["use_bias 'yes'"] = field({"Dense"}, "use_bias", "yes")
    e["depth_multiplier contradicts the weights"] = field({"DepthwiseConv2D"}, "depth_multiplier", 3)
    e["padding 'causal'"] = field(convs, "padding", "causal")
    e["activation tanh"] = field({"Dense"}, "activation", "tanh")
    e["activation as a number"] = field({"Dense"}, "activation", 7)
    e["data_format channels_first"] = field(convs, "data_format", "channels_first")
    e["groups 2"] = field({"Conv2D"}, "groups", 2)
    e["ReLU max_value NaN"] = field({"ReLU"}, "max_value", float("nan"))
    e["ReLU threshold 0.5"] = field({"ReLU"}, "threshold", 0.5)
    e["BN epsilon -5"] = field({"BatchNormalization"}, "epsilon", -5.0)
    e["BN axis 1"] = field({"BatchNormalization"}, "axis", 1)
    e["softmax axis 0"] = field({"Softmax"}, "axis", 0)
    e["reshape target [0]"] = field({"Reshape"}, "target_shape", [0])
    e["reshape target ['x', 2]"] = field({"Reshape"}, "target_shape", ["x", 2])
    e["zero padding -1"] = field({"ZeroPadding2D"}, "padding", -1)
    e["zero padding 'wide'"] = field({"ZeroPadding2D"}, "padding", "wide")

    def input_shape(value):
        def f(cfg):
            for lay in _layers_of(cfg):
                for key in ("batch_input_shape", "batch_shape"):
                    if key in lay["config"]:
                        lay["config"][key] = value(lay["config"][key])
                        return cfg
            return None
        return f
    e["int('x') in batch_input_shape"] = input_shape(lambda s: [None, "x", *s[2:]])
    e["input 100000x100000x1000"] = input_shape(lambda s: [None, 100000, 100000, 1000])
    e["rank-2 input"] = input_shape(lambda s: [None, 20])
    e["dynamic input dimension"] = input_shape(lambda s: [None, None, *s[2:]])
    e["input shape is a string"] = input_shape(lambda s: "big")
    e["input shape of true"] = input_shape(lambda s: [None, True, *s[2:]])

    def null_config(cfg):
        _layers_of(cfg)[1]["config"] = None
        return cfg
    e["layer_config null"] = null_config

    def layer_is_list(cfg):
        _layers_of(cfg)[1] = ["not", "a", "layer"]
        return cfg
    e["a layer that is a list"] = layer_is_list

    def zero_layers(cfg):
        cfg["config"]["layers"] = []
        return cfg
    e["0 layers"] = zero_layers

    def layers_dict(cfg):
        cfg["config"]["layers"] = {"a": 1}
        return cfg
    e["layers is an object"] = layers_dict

    def only_input(cfg):
        cfg["config"]["layers"] = _layers_of(cfg)[:1]
        return cfg
    e["only the first layer"] = only_input

    def unknown_class(cfg):
        cfg["class_name"] = "Model2"
        return cfg
    e["unknown model class"] = unknown_class

    def lambda_layer(cfg):
        _layers_of(cfg)[-1]["class_name"] = "Lambda"
        _layers_of(cfg)[-1]["config"]["function"] = "__import__('os').system('touch /tmp/PWNED')"
        return cfg
    e["a Lambda layer"] = lambda_layer

    def dup_names(cfg):
        ls = _layers_of(cfg)
        name = ls[1]["config"]["name"]
        ls[2]["config"]["name"] = name
        if "name" in ls[2]:
            ls[2]["name"] = name
        return cfg
    e["duplicate layer names"] = dup_names

    def name_int(cfg):
        ls = _layers_of(cfg)
        ls[1]["config"]["name"] = 12
        if "name" in ls[1]:
            ls[1]["name"] = 12
        return cfg
    e["layer name is a number"] = name_int

    def functional(fn):
        def f(cfg):
            if cfg.get("class_name") not in ("Functional", "Model"):
                return None
            return fn(cfg)
        return f

    def unknown_output(cfg):
        cfg["config"]["output_layers"] = [["no_such_layer", 0, 0]]
        return cfg
    e["unknown output layer name"] = functional(unknown_output)

    def two_outputs(cfg):
        ls = _layers_of(cfg)
        cfg["config"]["output_layers"] = [[ls[-1]["name"], 0, 0], [ls[-2]["name"], 0, 0]]
        return cfg
    e["two outputs"] = functional(two_outputs)

    def output_layers_str(cfg):
        cfg["config"]["output_layers"] = "probs"
        return cfg
    e["output_layers is a string"] = functional(output_layers_str)

    def _inbound_to(cfg, target_name):
        lay = _layers_of(cfg)[1]
        lay["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                           "config": {"shape": [None, 1], "dtype": "float32",
                                                      "keras_history": [target_name, 0, 0]}}], "kwargs": {}}]
        return cfg

    e["cycle: a layer reads the last layer"] = functional(lambda c: _inbound_to(c, _layers_of(c)[-1]["name"]))
    e["a layer reads itself"] = functional(lambda c: _inbound_to(c, _layers_of(c)[1]["name"]))
    e["dangling inbound layer"] = functional(lambda c: _inbound_to(c, "ghost"))

    def history_garbage(cfg):
        _layers_of(cfg)[1]["inbound_nodes"] = [{"args": [{"config": {"keras_history": 5}}]}]
        return cfg
    e["keras_history is a number"] = functional(history_garbage)

    def shared(cfg):
        lay = _layers_of(cfg)[1]
        lay["inbound_nodes"] = lay["inbound_nodes"] * 2
        return cfg
    e["shared layer"] = functional(shared)

    def legacy_inbound_garbage(cfg):
        _layers_of(cfg)[1]["inbound_nodes"] = [[5, 0, 0]]
        return cfg
    e["legacy inbound node of numbers"] = functional(legacy_inbound_garbage)

    e["config not JSON"] = lambda cfg: "{this is not json"
    e["config 10,000 deep"] = lambda cfg: "[" * 10000 + "]" * 10000
    e["config 500 deep"] = lambda cfg: json.dumps({"class_name": "Sequential", "config": {
        "layers": json.loads("[" * 500 + "]" * 500)}})
    e["config not UTF-8"] = lambda cfg: json.dumps(cfg).encode().replace(b'"name"', b'"n\xffame"', 1)
    e["config is a number"] = lambda cfg: "42"
    e["config top level a list"] = lambda cfg: json.dumps([cfg])
    e["config with NaN literals"] = lambda cfg: json.dumps(cfg).replace("true", "NaN")
    return e


def _h5_weight_edits() -> dict[str, Callable[[h5py.File], bool]]:
    """name -> edit(open HDF5 file with Keras weights) returning False when not applicable."""
    e: dict[str, Callable] = {}

    def weights_root(f):
        return f["model_weights"] if "model_weights" in f else f

    def first_dataset(f, pred=lambda d: d.ndim >= 2):
        found = []
        weights_root(f).visititems(lambda n, o: found.append(o) if isinstance(o, h5py.Dataset) and pred(o) else None)
        return found[0] if found else None

    def replace(make):
        def f(h):
            d = first_dataset(h)
            if d is None:
                return False
            parent, name = d.parent, d.name.split("/")[-1]
            data = d[()]
            del parent[name]
            make(parent, name, data)
            return True
        return f

    e["weight shape contradicts the config"] = replace(
        lambda p, n, d: p.create_dataset(n, data=np.zeros((*d.shape[:-1], d.shape[-1] + 1), np.float32)))
    e["weight of rank 1"] = replace(lambda p, n, d: p.create_dataset(n, data=d.ravel()))
    e["weight of int32"] = replace(lambda p, n, d: p.create_dataset(n, data=d.astype(np.int32)))
    e["weight of strings"] = replace(lambda p, n, d: p.create_dataset(n, data=np.array([b"x"] * 3)))
    e["weight declared 100000x100000x1000"] = replace(
        lambda p, n, d: p.create_dataset(n, shape=(100000, 100000, 1000), dtype="f4", chunks=(1, 1, 1000)))
    e["weight is a group"] = replace(lambda p, n, d: p.create_group(n))
    e["weight NaN"] = replace(lambda p, n, d: p.create_dataset(n, data=np.full(d.shape, np.nan, np.float32)))

    def drop(h):
        d = first_dataset(h)
        if d is None:
            return False
        del d.parent[d.name.split("/")[-1]]
        return True
    e["weight missing"] = drop

    def layer_names(value):
        def f(h):
            root = weights_root(h)
            if "layer_names" not in root.attrs:
                return False
            root.attrs["layer_names"] = value(list(root.attrs["layer_names"]))
            return True
        return f
    e["non-UTF-8 layer_names"] = layer_names(lambda v: [NOT_UTF8] + [x if isinstance(x, bytes) else x.encode()
                                                                     for x in v[1:]])
    e["layer_names of numbers"] = layer_names(lambda v: np.arange(len(v)))
    e["layer_names naming a missing group"] = layer_names(lambda v: [b"ghost_layer"] + [
        x if isinstance(x, bytes) else x.encode() for x in v])

    def weight_names(h):
        root = weights_root(h)
        for g in root.values():
            if isinstance(g, h5py.Group) and len(g.attrs.get("weight_names", [])):
                g.attrs["weight_names"] = [NOT_UTF8]
                return True
        return False
    e["non-UTF-8 weight_names"] = weight_names

    def config_attr_int(h):
        h.attrs["model_config"] = 5
        return True
    e["model_config is a number"] = config_attr_int
    return e


# ---------------------------------------------------------------- building them all

def build(folder: Path, fmt: str, seeds: list[Path], scale: float = 1.0) -> list[Mutant]:
    """All mutants of one format's seeds, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / "_scratch"
    scratch.mkdir(exist_ok=True)
    out: list[Mutant] = []

    def add(seed: Path, kind: str, detail: str, data: bytes | None) -> None:
        if data is None:
            return
        path = folder / f"{fmt}{len(out):04d}{EXT[fmt]}"
        path.write_bytes(data)
        out.append(Mutant(f"{fmt}/{seed.stem}/{kind}/{detail} #{len(out):04d}", fmt, kind, detail, path, seed.name))

    for seed in seeds:
        data = seed.read_bytes()
        big = len(data) > 200_000
        n = max(2, int((8 if big else 16) * scale))
        for kind, detail, buf in _byte_mutants(fmt, seed, data, n_trunc=n, n_flip=n + 4, n_zero=n // 2 + 1):
            add(seed, kind, detail, buf)
        for detail, buf in _structural(fmt, seed, scratch):
            add(seed, "structural", detail, buf)
    return out


def _structural(fmt: str, seed: Path, folder: Path):
    data = seed.read_bytes()
    if fmt == "tflite":
        base = tflite_spec.read(data)
        for name, edit in _tfl_edits().items():
            try:
                r = edit(copy.deepcopy(base))
            except (IndexError, KeyError, TypeError):
                continue  # not applicable to this seed
            if r is not None:
                yield name, r if isinstance(r, bytes) else tflite_spec.write(r)
    elif fmt == "onnx":
        base = onnx.load_from_string(data)
        for name, edit in _onnx_edits().items():
            try:
                m = edit(copy.deepcopy(base))
            except (IndexError, KeyError, TypeError, AttributeError):
                continue
            if m is not None:
                yield name, m.SerializeToString()
        yield "non-UTF-8 names", _onnx_non_utf8(copy.deepcopy(base))
    elif fmt == "h5":
        with h5py.File(seed, "r") as f:
            raw = f.attrs["model_config"]
        cfg0 = json.loads(raw)
        for name, edit in _keras_config_edits().items():
            r = _apply_config(edit, cfg0)
            if r is None:
                continue
            tmp = folder / "_edit.h5"
            shutil.copy(seed, tmp)
            with h5py.File(tmp, "r+") as f:
                f.attrs["model_config"] = r
            yield name, tmp.read_bytes()
            tmp.unlink()
        for name, edit in _h5_weight_edits().items():
            tmp = folder / "_edit.h5"
            shutil.copy(seed, tmp)
            with h5py.File(tmp, "r+") as f:
                ok = edit(f)
            if ok:
                yield name, tmp.read_bytes()
            tmp.unlink()
    elif fmt == "keras":
        with zipfile.ZipFile(seed) as z:
            members = {n: z.read(n) for n in z.namelist()}
        cfg0 = json.loads(members["config.json"])
        for name, edit in _keras_config_edits().items():
            r = _apply_config(edit, cfg0)
            if r is None:
                continue
            yield name, _zip({**members, "config.json": r if isinstance(r, bytes) else r.encode()})
        for name, edit in _h5_weight_edits().items():
            tmp = folder / "_edit.h5"
            tmp.write_bytes(members["model.weights.h5"])
            with h5py.File(tmp, "r+") as f:
                ok = edit(f)
            if ok:
                yield name, _zip({**members, "model.weights.h5": tmp.read_bytes()})
            tmp.unlink()
        yield "no config.json", _zip({k: v for k, v in members.items() if k != "config.json"})
        yield "no weights", _zip({k: v for k, v in members.items() if k != "model.weights.h5"})
        yield "weights not HDF5", _zip({**members, "model.weights.h5": b"not hdf5" * 10})
        yield "config.json declared 4 GB", _zip_declared_size(members, "config.json", 4 * 2**30 - 1)
        yield "bad CRC", _zip_bad_crc(members)


def _apply_config(edit, cfg0: dict):
    try:
        r = edit(copy.deepcopy(cfg0))
    except (IndexError, KeyError, TypeError, AttributeError):
        return None
    if r is None:
        return None
    return r if isinstance(r, str | bytes) else json.dumps(r)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return out.getvalue()


def _zip_declared_size(members: dict[str, bytes], name: str, size: int) -> bytes:
    buf = bytearray(_zip(members))
    pos = bytes(buf).find(b"PK\x01\x02")
    while pos >= 0:
        fname_len = int.from_bytes(buf[pos + 28:pos + 30], "little")
        if bytes(buf[pos + 46:pos + 46 + fname_len]) == name.encode():
            buf[pos + 24:pos + 28] = size.to_bytes(4, "little")  # uncompressed size
        pos = bytes(buf).find(b"PK\x01\x02", pos + 4)
    return bytes(buf)


def _zip_bad_crc(members: dict[str, bytes]) -> bytes:
    buf = bytearray(_zip(members))
    pos = bytes(buf).find(b"PK\x01\x02")
    while pos >= 0:
        buf[pos + 16] ^= 0xFF  # CRC-32 in the central directory
        pos = bytes(buf).find(b"PK\x01\x02", pos + 4)
    return bytes(buf)
