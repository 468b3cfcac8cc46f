"""GlobalMaxPool (ONNX) and GlobalMaxPooling2D (Keras) import as a max pool over the whole input: the
reference agrees with onnxruntime and with numpy, float and int8 (QDQ)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tinyscope
from tinyscope import reference
from tinyscope.ir import OpType


def _onnx(path: Path, rng) -> Path:
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalMaxPool", ["r"], ["g"], name="gmp"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1)]
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in
             [("w", rng.standard_normal((5, 3, 3, 3)) * 0.4), ("wf", rng.standard_normal((4, 5)) * 0.4),
              ("bf", rng.standard_normal(4) * 0.1)]]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 7, 9])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_onnx_global_max_pool_matches_onnxruntime(tmp_path):
    import onnxruntime as ort

    rng = np.random.default_rng(7)
    p = _onnx(tmp_path / "gmp.onnx", rng)
    g = tinyscope.load(p)
    pool = next(op for op in g.ops if op.name == "gmp")
    assert pool.type is OpType.MAX_POOL_2D and pool.attrs.kernel == (7, 9)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    for _ in range(3):
        x = rng.standard_normal((1, 3, 7, 9)).astype(np.float32)
        want = sess.run(None, {"x": x})[0]
        assert np.abs(reference.run(g, [x.transpose(0, 2, 3, 1)])[0] - want).max() < 1e-5


def test_onnx_global_max_pool_int8(tmp_path):
    """Quantized by onnxruntime's own quantizer (QDQ). It leaves GlobalMaxPool between a DequantizeLinear and
    a QuantizeLinear with a Flatten in between, so the import keeps it in float, as the model says (a max
    is exact in either domain); the result stays within one quantization step of onnxruntime's."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(8)
    fp = _onnx(tmp_path / "gmp.onnx", rng)
    data = [{"x": rng.standard_normal((1, 3, 7, 9)).astype(np.float32)} for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(data)

        def get_next(self):
            return next(self.it, None)

    q = tmp_path / "gmp_int8.onnx"
    quantize_static(str(fp), str(q), Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    g = tinyscope.load(q)
    kinds = [op.type for op in g.ops]
    assert OpType.MAX_POOL_2D in kinds and OpType.CONV_2D in kinds and OpType.QUANTIZE in kinds
    sess = ort.InferenceSession(str(q), providers=["CPUExecutionProvider"])
    out = g.tensors[g.outputs[0]]
    step = out.quant.scale[0] if out.quant is not None else 0.0
    for d in data[:3]:
        want = sess.run(None, d)[0]
        got = reference.run(g, [d["x"].transpose(0, 2, 3, 1)])[0]
        got = (got.astype(np.float32) - out.quant.zero_point[0]) * step if out.quant is not None else got
        assert np.abs(got - want).max() <= 1.01 * step + 1e-6


def test_onnx_reduce_mean_and_max_over_hw(tmp_path):
    """ReduceMean/ReduceMax over H and W (squeeze-and-excite and PyTorch's x.mean((2, 3))), both axes forms."""
    import onnxruntime as ort

    rng = np.random.default_rng(11)
    for op, opset, keep in [("ReduceMean", 13, 1), ("ReduceMean", 18, 0), ("ReduceMax", 13, 0)]:
        inits = [numpy_helper.from_array((rng.standard_normal((4, 2, 3, 3)) * 0.5).astype(np.float32), "w")]
        kw = {"keepdims": keep}
        ins = ["c"]
        if opset >= 18:
            inits.append(numpy_helper.from_array(np.array([2, 3], np.int64), "axes"))
            ins.append("axes")
        else:
            kw["axes"] = [-2, -1]
        nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                 helper.make_node(op, ins, ["y"], name="reduce", **kw)]
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        p = tmp_path / f"{op}{opset}.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), str(p))
        model = tinyscope.load(p)
        x = rng.standard_normal((1, 2, 6, 5)).astype(np.float32)
        want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        got = reference.run(model, [x.transpose(0, 2, 3, 1)])[0]
        assert np.abs(got.reshape(want.shape) - want).max() < 1e-5, (op, opset)
