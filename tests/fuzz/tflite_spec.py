"""A TFLite flatbuffer as a plain, editable dict, and back: for structural mutations of real models.

``read(buf)`` turns a model into a spec (tensors, buffers, opcodes, operators with their options,
subgraph inputs and outputs); ``write(spec)`` builds the flatbuffer again with the ``tflite``
package's builder functions. Nothing is checked on the way: a spec may say anything (a stride of 0,
a NaN scale, a tensor index out of range, names that are not UTF-8), which is the point.
``tiny_float()`` and ``tiny_int8()`` make small models from nothing, so the fuzz tier has TFLite
seeds without the shared models.
"""

from __future__ import annotations

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opt
from tflite.TensorType import TensorType as TT

# options table name -> its scalar fields (as the tflite accessors and builder functions name them)
OPTION_FIELDS = {
    "Conv2DOptions": ["Padding", "StrideW", "StrideH", "FusedActivationFunction", "DilationWFactor",
                      "DilationHFactor"],
    "DepthwiseConv2DOptions": ["Padding", "StrideW", "StrideH", "DepthMultiplier", "FusedActivationFunction",
                               "DilationWFactor", "DilationHFactor"],
    "Pool2DOptions": ["Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight", "FusedActivationFunction"],
    "FullyConnectedOptions": ["FusedActivationFunction", "WeightsFormat", "KeepNumDims"],
    "SoftmaxOptions": ["Beta"],
    "AddOptions": ["FusedActivationFunction"],
    "ReshapeOptions": [],
    "ConcatenationOptions": ["Axis", "FusedActivationFunction"],
    "LeakyReluOptions": ["Alpha"],
    "PadOptions": [],
}
OPTION_TYPES = {getattr(Opt, name): name for name in OPTION_FIELDS}
_FLOAT_FIELDS = {"Beta", "Alpha"}
_BOOL_FIELDS = {"KeepNumDims"}


def read(buf: bytes) -> dict:
    m = tflite.Model.GetRootAsModel(buf, 0)
    sg = m.Subgraphs(0)
    spec: dict = {"version": m.Version(), "buffers": [], "opcodes": [], "tensors": [], "ops": []}
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        spec["buffers"].append(b.DataAsNumpy().tobytes() if b.DataLength() else b"")
    for i in range(m.OperatorCodesLength()):
        c = m.OperatorCodes(i)
        spec["opcodes"].append(max(c.BuiltinCode(), c.DeprecatedBuiltinCode()))
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        q = t.Quantization()
        quant = None
        if q is not None and q.ScaleLength():
            quant = {"scale": q.ScaleAsNumpy().tolist(),
                     "zero_point": q.ZeroPointAsNumpy().tolist() if q.ZeroPointLength() else [],
                     "axis": q.QuantizedDimension()}
        spec["tensors"].append({"name": t.Name() or b"", "shape": t.ShapeAsNumpy().tolist() if t.ShapeLength() else [],
                                "type": t.Type(), "buffer": t.Buffer(), "quant": quant})
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        otype = op.BuiltinOptionsType()
        options: dict = {}
        if otype in OPTION_TYPES and op.BuiltinOptions() is not None:
            name = OPTION_TYPES[otype]
            o = getattr(tflite, name)()
            o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            options = {f: getattr(o, f)() for f in OPTION_FIELDS[name]}
        spec["ops"].append({"opcode": op.OpcodeIndex(),
                            "inputs": op.InputsAsNumpy().tolist() if op.InputsLength() else [],
                            "outputs": op.OutputsAsNumpy().tolist() if op.OutputsLength() else [],
                            "options_type": otype, "options": options})
    spec["inputs"] = sg.InputsAsNumpy().tolist() if sg.InputsLength() else []
    spec["outputs"] = sg.OutputsAsNumpy().tolist() if sg.OutputsLength() else []
    return spec


def _ivec(b: flatbuffers.Builder, values, dtype=np.int32) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype=dtype))


def write(spec: dict) -> bytes:
    b = flatbuffers.Builder(1024)
    # buffers
    bufs = []
    for data in spec["buffers"]:
        dv = b.CreateByteVector(bytes(data)) if data else None
        tflite.BufferStart(b)
        if dv is not None:
            tflite.BufferAddData(b, dv)
        bufs.append(tflite.BufferEnd(b))
    # operator codes
    codes = []
    for c in spec["opcodes"]:
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(int(c), 127))
        tflite.OperatorCodeAddBuiltinCode(b, int(c))
        tflite.OperatorCodeAddVersion(b, 1)
        codes.append(tflite.OperatorCodeEnd(b))
    # tensors
    tensors = []
    for t in spec["tensors"]:
        name = b.CreateString(t["name"]) if t["name"] else None
        shape = _ivec(b, t["shape"])
        qoff = None
        if t.get("quant") is not None:
            q = t["quant"]
            sv = _ivec(b, q["scale"], np.float32)
            zv = _ivec(b, q["zero_point"], np.int64)
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, sv)
            tflite.QuantizationParametersAddZeroPoint(b, zv)
            tflite.QuantizationParametersAddQuantizedDimension(b, int(q.get("axis", 0)))
            qoff = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, int(t["type"]))
        tflite.TensorAddBuffer(b, int(t["buffer"]))
        if name is not None:
            tflite.TensorAddName(b, name)
        if qoff is not None:
            tflite.TensorAddQuantization(b, qoff)
        tensors.append(tflite.TensorEnd(b))
    # operators
    ops = []
    for op in spec["ops"]:
        iv, ov = _ivec(b, op["inputs"]), _ivec(b, op["outputs"])
        opt = None
        name = OPTION_TYPES.get(op["options_type"])
        if name is not None and op["options"] is not None:
            getattr(tflite, f"{name}Start")(b)
            for f, v in op["options"].items():
                v = float(v) if f in _FLOAT_FIELDS else bool(v) if f in _BOOL_FIELDS else int(v)
                getattr(tflite, f"{name}Add{f}")(b, v)
            opt = getattr(tflite, f"{name}End")(b)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, int(op["opcode"]))
        tflite.OperatorAddInputs(b, iv)
        tflite.OperatorAddOutputs(b, ov)
        if opt is not None:
            tflite.OperatorAddBuiltinOptionsType(b, int(op["options_type"]))
            tflite.OperatorAddBuiltinOptions(b, opt)
        ops.append(tflite.OperatorEnd(b))

    def table_vector(start, items):
        start(b, len(items))
        for it in reversed(items):
            b.PrependUOffsetTRelative(it)
        return b.EndVector()

    tv = table_vector(tflite.SubGraphStartTensorsVector, tensors)
    opv = table_vector(tflite.SubGraphStartOperatorsVector, ops)
    inv, outv = _ivec(b, spec["inputs"]), _ivec(b, spec["outputs"])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tv)
    tflite.SubGraphAddInputs(b, inv)
    tflite.SubGraphAddOutputs(b, outv)
    tflite.SubGraphAddOperators(b, opv)
    sg = tflite.SubGraphEnd(b)
    sgv = table_vector(tflite.ModelStartSubgraphsVector, [sg])
    cv = table_vector(tflite.ModelStartOperatorCodesVector, codes)
    bv = table_vector(tflite.ModelStartBuffersVector, bufs)
    desc = b.CreateString("tinyscope fuzz")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, int(spec.get("version", 3)))
    tflite.ModelAddOperatorCodes(b, cv)
    tflite.ModelAddSubgraphs(b, sgv)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddBuffers(b, bv)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


# ---------------------------------------------------------------- small models made here

class _Spec:
    def __init__(self) -> None:
        self.s: dict = {"version": 3, "buffers": [b""], "opcodes": [], "tensors": [], "ops": [],
                        "inputs": [], "outputs": []}

    def tensor(self, name: str, shape, ttype: int, data: np.ndarray | None = None, quant=None) -> int:
        buf = 0
        if data is not None:
            self.s["buffers"].append(np.ascontiguousarray(data).tobytes())
            buf = len(self.s["buffers"]) - 1
        self.s["tensors"].append({"name": name.encode(), "shape": list(shape), "type": ttype, "buffer": buf,
                                  "quant": quant})
        return len(self.s["tensors"]) - 1

    def op(self, code: int, ins, outs, otype: int = 0, options: dict | None = None) -> None:
        if code not in self.s["opcodes"]:
            self.s["opcodes"].append(code)
        self.s["ops"].append({"opcode": self.s["opcodes"].index(code), "inputs": list(ins), "outputs": list(outs),
                              "options_type": otype, "options": options or {}})


def _q(scale, zp, axis: int = 0) -> dict:
    return {"scale": list(np.atleast_1d(scale).astype(float)), "zero_point": list(np.atleast_1d(zp).astype(int)),
            "axis": axis}


def tiny_float(seed: int = 0) -> dict:
    """1x8x8x2 -> conv 3x3 (4, SAME, relu) -> maxpool 2 -> reshape -> FC 3 -> softmax, float32."""
    rng = np.random.default_rng(seed)
    m = _Spec()
    x = m.tensor("input", [1, 8, 8, 2], TT.FLOAT32)
    w = m.tensor("conv/w", [4, 3, 3, 2], TT.FLOAT32, rng.standard_normal((4, 3, 3, 2)).astype(np.float32) * 0.3)
    bias = m.tensor("conv/b", [4], TT.FLOAT32, rng.standard_normal(4).astype(np.float32) * 0.1)
    c = m.tensor("conv", [1, 8, 8, 4], TT.FLOAT32)
    m.op(Op.CONV_2D, [x, w, bias], [c], Opt.Conv2DOptions,
         {"Padding": 0, "StrideW": 1, "StrideH": 1, "FusedActivationFunction": 1, "DilationWFactor": 1,
          "DilationHFactor": 1})
    p = m.tensor("pool", [1, 4, 4, 4], TT.FLOAT32)
    m.op(Op.MAX_POOL_2D, [c], [p], Opt.Pool2DOptions,
         {"Padding": 1, "StrideW": 2, "StrideH": 2, "FilterWidth": 2, "FilterHeight": 2, "FusedActivationFunction": 0})
    shp = m.tensor("shape", [2], TT.INT32, np.array([1, 64], np.int32))
    f = m.tensor("flat", [1, 64], TT.FLOAT32)
    m.op(Op.RESHAPE, [p, shp], [f], Opt.ReshapeOptions, {})
    fw = m.tensor("fc/w", [3, 64], TT.FLOAT32, rng.standard_normal((3, 64)).astype(np.float32) * 0.2)
    fb = m.tensor("fc/b", [3], TT.FLOAT32, np.zeros(3, np.float32))
    logits = m.tensor("logits", [1, 3], TT.FLOAT32)
    m.op(Op.FULLY_CONNECTED, [f, fw, fb], [logits], Opt.FullyConnectedOptions,
         {"FusedActivationFunction": 0, "WeightsFormat": 0, "KeepNumDims": 0})
    y = m.tensor("probs", [1, 3], TT.FLOAT32)
    m.op(Op.SOFTMAX, [logits], [y], Opt.SoftmaxOptions, {"Beta": 1.0})
    m.s["inputs"], m.s["outputs"] = [x], [y]
    return m.s


def tiny_int8(seed: int = 1) -> dict:
    """1x6x6x3 int8 -> depthwise 3x3 (per channel) -> conv 1x1 (4) -> avgpool -> reshape -> FC 2 -> softmax."""
    rng = np.random.default_rng(seed)
    m = _Spec()
    x = m.tensor("input", [1, 6, 6, 3], TT.INT8, quant=_q(0.02, -3))
    dw_s = np.array([0.011, 0.009, 0.013])
    dw = m.tensor("dw/w", [1, 3, 3, 3], TT.INT8, rng.integers(-127, 128, (1, 3, 3, 3)).astype(np.int8),
                  _q(dw_s, [0, 0, 0], 3))
    dwb = m.tensor("dw/b", [3], TT.INT32, rng.integers(-200, 200, 3).astype(np.int32), _q(0.02 * dw_s, [0, 0, 0]))
    d = m.tensor("dw", [1, 6, 6, 3], TT.INT8, quant=_q(0.05, 2))
    m.op(Op.DEPTHWISE_CONV_2D, [x, dw, dwb], [d], Opt.DepthwiseConv2DOptions,
         {"Padding": 0, "StrideW": 1, "StrideH": 1, "DepthMultiplier": 1, "FusedActivationFunction": 3,
          "DilationWFactor": 1, "DilationHFactor": 1})
    pw_s = np.array([0.01, 0.012, 0.008, 0.015])
    pw = m.tensor("pw/w", [4, 1, 1, 3], TT.INT8, rng.integers(-127, 128, (4, 1, 1, 3)).astype(np.int8),
                  _q(pw_s, [0] * 4, 0))
    pwb = m.tensor("pw/b", [4], TT.INT32, rng.integers(-300, 300, 4).astype(np.int32), _q(0.05 * pw_s, [0] * 4))
    c = m.tensor("pw", [1, 6, 6, 4], TT.INT8, quant=_q(0.07, -5))
    m.op(Op.CONV_2D, [d, pw, pwb], [c], Opt.Conv2DOptions,
         {"Padding": 1, "StrideW": 1, "StrideH": 1, "FusedActivationFunction": 1, "DilationWFactor": 1,
          "DilationHFactor": 1})
    p = m.tensor("pool", [1, 1, 1, 4], TT.INT8, quant=_q(0.07, -5))
    m.op(Op.AVERAGE_POOL_2D, [c], [p], Opt.Pool2DOptions,
         {"Padding": 1, "StrideW": 6, "StrideH": 6, "FilterWidth": 6, "FilterHeight": 6, "FusedActivationFunction": 0})
    shp = m.tensor("shape", [2], TT.INT32, np.array([1, 4], np.int32))
    f = m.tensor("flat", [1, 4], TT.INT8, quant=_q(0.07, -5))
    m.op(Op.RESHAPE, [p, shp], [f], Opt.ReshapeOptions, {})
    fw = m.tensor("fc/w", [2, 4], TT.INT8, rng.integers(-127, 128, (2, 4)).astype(np.int8), _q(0.01, 0))
    fb = m.tensor("fc/b", [2], TT.INT32, np.array([10, -20], np.int32), _q(0.0007, 0))
    logits = m.tensor("logits", [1, 2], TT.INT8, quant=_q(0.1, 3))
    m.op(Op.FULLY_CONNECTED, [f, fw, fb], [logits], Opt.FullyConnectedOptions,
         {"FusedActivationFunction": 0, "WeightsFormat": 0, "KeepNumDims": 0})
    y = m.tensor("probs", [1, 2], TT.INT8, quant=_q(1 / 256, -128))
    m.op(Op.SOFTMAX, [logits], [y], Opt.SoftmaxOptions, {"Beta": 1.0})
    m.s["inputs"], m.s["outputs"] = [x], [y]
    return m.s


def tiny_concat_int8(seed: int = 3, out_quant=(0.07, -5)) -> dict:
    """1x5x5x3 int8 -> conv 1x1 (4) and conv 3x3 (2), both quantized as the concat -> CONCATENATION on
    the channels (6) -> avgpool -> reshape -> FC 3. ``out_quant`` is the second conv's output quant."""
    rng = np.random.default_rng(seed)
    m = _Spec()
    x = m.tensor("input", [1, 5, 5, 3], TT.INT8, quant=_q(0.02, -3))
    outs = []
    for name, oc, k, q in [("a", 4, 1, (0.07, -5)), ("b", 2, 3, out_quant)]:
        ws = rng.uniform(0.005, 0.015, oc)
        w = m.tensor(f"{name}/w", [oc, k, k, 3], TT.INT8, rng.integers(-127, 128, (oc, k, k, 3)).astype(np.int8),
                     _q(ws, [0] * oc, 0))
        b = m.tensor(f"{name}/b", [oc], TT.INT32, rng.integers(-300, 300, oc).astype(np.int32), _q(0.02 * ws, [0] * oc))
        y = m.tensor(name, [1, 5, 5, oc], TT.INT8, quant=_q(*q))
        m.op(Op.CONV_2D, [x, w, b], [y], Opt.Conv2DOptions,
             {"Padding": 0, "StrideW": 1, "StrideH": 1, "FusedActivationFunction": 1, "DilationWFactor": 1,
              "DilationHFactor": 1})
        outs.append(y)
    cat = m.tensor("cat", [1, 5, 5, 6], TT.INT8, quant=_q(0.07, -5))
    m.op(Op.CONCATENATION, outs, [cat], Opt.ConcatenationOptions, {"Axis": 3, "FusedActivationFunction": 0})
    p = m.tensor("pool", [1, 1, 1, 6], TT.INT8, quant=_q(0.07, -5))
    m.op(Op.AVERAGE_POOL_2D, [cat], [p], Opt.Pool2DOptions,
         {"Padding": 1, "StrideW": 5, "StrideH": 5, "FilterWidth": 5, "FilterHeight": 5, "FusedActivationFunction": 0})
    shp = m.tensor("shape", [2], TT.INT32, np.array([1, 6], np.int32))
    f = m.tensor("flat", [1, 6], TT.INT8, quant=_q(0.07, -5))
    m.op(Op.RESHAPE, [p, shp], [f], Opt.ReshapeOptions, {})
    fw = m.tensor("fc/w", [3, 6], TT.INT8, rng.integers(-127, 128, (3, 6)).astype(np.int8), _q(0.01, 0))
    fb = m.tensor("fc/b", [3], TT.INT32, np.array([10, -20, 5], np.int32), _q(0.0007, 0))
    y = m.tensor("logits", [1, 3], TT.INT8, quant=_q(0.1, 3))
    m.op(Op.FULLY_CONNECTED, [f, fw, fb], [y], Opt.FullyConnectedOptions,
         {"FusedActivationFunction": 0, "WeightsFormat": 0, "KeepNumDims": 0})
    m.s["inputs"], m.s["outputs"] = [x], [y]
    return m.s


def unary_int8(code: int, in_q=(0.05, -3), out_q=(1 / 256, -128), alpha: float | None = None) -> dict:
    """One int8 elementwise op over a 1x256 input (every int8 value once when fed arange(-128, 128))."""
    m = _Spec()
    x = m.tensor("x", [1, 256], TT.INT8, quant=_q(*in_q))
    y = m.tensor("y", [1, 256], TT.INT8, quant=_q(*out_q))
    if alpha is None:
        m.op(code, [x], [y])
    else:
        m.op(code, [x], [y], Opt.LeakyReluOptions, {"Alpha": alpha})
    m.s["inputs"], m.s["outputs"] = [x], [y]
    return m.s


def pad_int8(seed: int = 5) -> dict:
    """1x5x5x3 int8 -> PAD (top 1, bottom 2, left 0, right 1) -> conv 3x3 valid (4) and, beside it, PAD ->
    max pool 2x2: a pad folded into a conv's window and one run as its own kernel."""
    rng = np.random.default_rng(seed)
    m = _Spec()
    x = m.tensor("input", [1, 5, 5, 3], TT.INT8, quant=_q(0.02, -3))
    pads = m.tensor("paddings", [4, 2], TT.INT32, np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32))
    p = m.tensor("pad", [1, 8, 6, 3], TT.INT8, quant=_q(0.02, -3))
    m.op(Op.PAD, [x, pads], [p], Opt.PadOptions, {})
    ws = rng.uniform(0.005, 0.015, 4)
    w = m.tensor("conv/w", [4, 3, 3, 3], TT.INT8, rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8),
                 _q(ws, [0] * 4, 0))
    b = m.tensor("conv/b", [4], TT.INT32, rng.integers(-300, 300, 4).astype(np.int32), _q(0.02 * ws, [0] * 4))
    c = m.tensor("conv", [1, 6, 4, 4], TT.INT8, quant=_q(0.05, 4))
    m.op(Op.CONV_2D, [p, w, b], [c], Opt.Conv2DOptions,
         {"Padding": 1, "StrideW": 1, "StrideH": 1, "FusedActivationFunction": 0, "DilationWFactor": 1,
          "DilationHFactor": 1})
    pads2 = m.tensor("paddings2", [4, 2], TT.INT32, np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))
    p2 = m.tensor("pad2", [1, 8, 6, 4], TT.INT8, quant=_q(0.05, 4))
    m.op(Op.PAD, [c, pads2], [p2], Opt.PadOptions, {})
    y = m.tensor("pool", [1, 4, 3, 4], TT.INT8, quant=_q(0.05, 4))
    m.op(Op.MAX_POOL_2D, [p2], [y], Opt.Pool2DOptions,
         {"Padding": 1, "StrideW": 2, "StrideH": 2, "FilterWidth": 2, "FilterHeight": 2, "FusedActivationFunction": 0})
    m.s["inputs"], m.s["outputs"] = [x], [y]
    return m.s
