"""The ONNX importer against onnxruntime, on small models built here with onnx.helper."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

import tinyscope
from tinyscope import reference
from tinyscope.ir import OpType

from ..fuzz import seeds

RNG = np.random.default_rng(3)






def _checked(m: onnx.ModelProto) -> onnx.ModelProto:
    """A model built by the fuzz tier's seeds (the same CNN and residual net), checked by onnx first."""
    onnx.checker.check_model(m)
    return m


def _save(tmp_path, m, name="m.onnx"):
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def _compare(path, in_shape, n=3, tol=1e-5):
    g = tinyscope.load(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for _ in range(n):
        x = RNG.standard_normal(in_shape).astype(np.float32)
        ref = sess.run(None, {"x": x})[0]
        xin = x.transpose(0, 2, 3, 1) if x.ndim == 4 else x
        ours = reference.run(g, [xin])[0]
        if ours.ndim == 4:
            ours = ours.transpose(0, 3, 1, 2)
        assert np.abs(ours - ref).max() <= tol * max(ref.max() - ref.min(), 1e-6)
    return g




def test_cnn_matches_onnxruntime(tmp_path):
    g = _compare(_save(tmp_path, _checked(seeds.onnx_cnn(RNG))), (1, 2, 8, 6))
    kinds = [op.type for op in g.ops]
    assert kinds == [OpType.CONV_2D, OpType.MAX_POOL_2D, OpType.DEPTHWISE_CONV_2D, OpType.RESHAPE,
                     OpType.FULLY_CONNECTED, OpType.SOFTMAX]
    assert g.ops[0].attrs.act.name == "relu" and g.ops[2].attrs.act.name == "clip(0,3)"
    assert "NCHW" in g.meta["input_layout"]


def test_residual_avgpool_matmul(tmp_path):
    g = _compare(_save(tmp_path, seeds.onnx_residual(RNG)), (1, 3, 6, 6))
    assert [op.type for op in g.ops].count(OpType.FULLY_CONNECTED) == 1


def test_qdq_int8_model_close_to_onnxruntime(tmp_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp = _save(tmp_path, _checked(seeds.onnx_cnn(RNG, batchnorm=False)), "fp.onnx")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.data = iter([{"x": RNG.standard_normal((1, 2, 8, 6)).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.data, None)

    qp = tmp_path / "q.onnx"
    quantize_static(str(fp), str(qp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    g = tinyscope.load(qp)
    int8_ops = [op for op in g.ops if g.tensors[op.outputs[0]].dtype.value == "int8"]
    assert any(op.type is OpType.CONV_2D for op in int8_ops)
    assert g.ops[0].type is OpType.QUANTIZE and g.ops[-1].type is OpType.DEQUANTIZE
    # Expose every QuantizeLinear output so each int8 op is compared on the same inputs.
    m = onnx.load(str(qp))
    q_outs = [n.output[0] for n in m.graph.node if n.op_type == "QuantizeLinear"]
    m.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.INT8, None) for n in q_outs)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    def nhwc(name, v):
        """ORT's value in tinyscope's layout (NCHW -> NHWC; the flatten's NCHW order -> NHWC)."""
        if v.ndim == 4:
            return v.transpose(0, 2, 3, 1)
        if name.startswith("f_"):
            return v.reshape(1, 6, 4, 3).transpose(0, 2, 3, 1).reshape(1, -1)
        return v

    compared = 0
    for _ in range(4):
        x = RNG.standard_normal((1, 2, 8, 6)).astype(np.float32)
        ref = {n: nhwc(n, v) for n, v in zip(q_outs, sess.run(None, {"x": x})[1:])}
        for op in g.ops:
            if op.outputs[0] not in ref or not all(n in ref or g.tensors[n].is_const for n in op.inputs):
                continue
            ts = [g.tensors[n] for n in op.inputs]
            args = [ref[n] if n in ref else g.tensors[n].data for n in op.inputs]
            ours = reference.KERNELS[op.type](op, ts, args, g.tensors[op.outputs[0]])
            # onnxruntime requantizes in float (round half to even), tinyscope with TFLite's
            # fixed-point multiplier: on the same int8 inputs, every op is at most one step apart.
            assert np.abs(ours.astype(int) - ref[op.outputs[0]].astype(int)).max() <= 1, op.name
            compared += 1
    assert compared >= 4 * 5
