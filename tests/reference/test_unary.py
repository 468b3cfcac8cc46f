"""UNARY (logistic, tanh, leaky ReLU, hard swish, SELU) from TFLite, ONNX and Keras: int8 tables bit-exact
with LiteRT over all 256 inputs, float32 against onnxruntime and numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from tflite.BuiltinOperator import BuiltinOperator as TOp

import tinyscope
from tinyscope import reference
from tinyscope.ir import OpType

from ..fuzz import tflite_spec
from .litert import litert_output

EVERY_INT8 = np.arange(-128, 128, dtype=np.int8)[None]


@pytest.mark.parametrize(("code", "in_q", "out_q", "alpha"), [
    (TOp.LOGISTIC, (0.05, -3), (1 / 256, -128), None),
    (TOp.LOGISTIC, (0.1, 10), (1 / 256, -128), None),
    (TOp.TANH, (0.03, 5), (1 / 128, 0), None),
    (TOp.TANH, (0.07, -20), (1 / 128, 0), None),
    (TOp.LEAKY_RELU, (0.05, -3), (0.04, -60), 0.2),
    (TOp.LEAKY_RELU, (0.1, 20), (0.05, 3), 0.01),
], ids=["logistic", "logistic-wide", "tanh", "tanh-wide", "leaky", "leaky-small"])
def test_int8_tables_are_bit_exact_with_litert(tmp_path, code, in_q, out_q, alpha):
    p = tmp_path / "u.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.unary_int8(code, in_q, out_q, alpha)))
    g = tinyscope.load(p)
    assert [op.type for op in g.ops] == [OpType.UNARY]
    assert np.array_equal(reference.run(g, [EVERY_INT8])[0], litert_output(p, EVERY_INT8))


def _onnx_unary(path: Path, op: str, **attrs) -> Path:
    nodes = [helper.make_node(op, ["x"], ["y"], name="u", **attrs)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize(("op", "attrs"), [("Sigmoid", {}), ("Tanh", {}), ("LeakyRelu", {}),
                                           ("LeakyRelu", {"alpha": 0.3}), ("HardSwish", {}), ("Selu", {}),
                                           ("Selu", {"alpha": 1.2, "gamma": 0.9})])
def test_onnx_float_matches_onnxruntime(tmp_path, op, attrs):
    import onnxruntime as ort

    p = _onnx_unary(tmp_path / f"{op}.onnx", op, **attrs)
    g = tinyscope.load(p)
    x = np.linspace(-7, 7, 64, dtype=np.float32)[None]
    want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.abs(reference.run(g, [x])[0] - want).max() < 2e-6


def test_qdq_sigmoid_runs_in_int8_like_onnxruntime(tmp_path):
    """onnxruntime's quantizer writes DQ -> Sigmoid -> Q: the import makes it one int8 UNARY (a table)."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.5).astype(np.float32), n)
             for n, s in [("w", (6, 8)), ("w2", (3, 6))]]
    nodes = [helper.make_node("Gemm", ["x", "w"], ["a"], name="fc", transB=1),
             helper.make_node("Sigmoid", ["a"], ["s"], name="sig"),
             helper.make_node("Gemm", ["s", "w2"], ["y"], name="fc2", transB=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    fp, q = tmp_path / "s.onnx", tmp_path / "s8.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(fp))
    data = [{"x": rng.standard_normal((1, 8)).astype(np.float32)} for _ in range(16)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(data)

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(fp), str(q), Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    model = tinyscope.load(q)
    sig = next(op for op in model.ops if op.type is OpType.UNARY)
    assert model.tensors[sig.outputs[0]].dtype.value == "int8"
    sess = ort.InferenceSession(str(q), providers=["CPUExecutionProvider"])
    for d in data[:6]:
        assert np.array_equal(reference.run(model, [d["x"]])[0], sess.run(None, d)[0])
