"""CONCATENATION from each importer (TFLite, ONNX, Keras) on any axis but the batch: the reference agrees
with LiteRT bit for bit (int8, inputs quantized as the output) and with onnxruntime (float)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tinyscope
from tinyscope import reference
from tinyscope.ir import OpType

from ..fuzz import tflite_spec
from .litert import LiteRT


def _tflite(tmp_path: Path, **kw) -> Path:
    p = tmp_path / "concat_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.tiny_concat_int8(**kw)))
    return p


def test_tflite_int8_concatenation_is_bit_exact_with_litert(tmp_path):
    p = _tflite(tmp_path)
    g = tinyscope.load(p)
    cat = next(op for op in g.ops if op.type is OpType.CONCATENATION)
    assert cat.attrs.axis == 3 and g.tensors[cat.outputs[0]].shape == (1, 5, 5, 6)
    lite = LiteRT(p)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(-128, 128, (1, 5, 5, 3), dtype=np.int8)
        lite.run(x)
        ours = reference.run_all(g, [x])
        for name in ("a", "b", "cat", "pool"):  # the concatenation, what feeds it and what reads it
            assert np.array_equal(ours[name], lite.tensor(name)), name
        # the FC after it: on ties LiteRT's int8 FC matched a single-rounding requantization, tinyscope's
        # (TFLite's documented MultiplyByQuantizedMultiplier) rounds twice; 2 of 1,200 outputs differ by 1
        assert np.abs(ours["logits"].astype(int) - lite.tensor("logits").astype(int)).max() <= 1


def test_onnx_concat_on_channels_and_width(tmp_path):
    import onnxruntime as ort

    rng = np.random.default_rng(1)
    for axis, ws in [(1, [(3, 2, 3, 3), (5, 2, 1, 1)]), (-1, [(4, 2, 1, 1), (4, 2, 1, 1)])]:
        inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.4).astype(np.float32), f"w{i}")
                 for i, s in enumerate(ws)]
        pads = [[1, 1, 1, 1] if s[2] == 3 else [0, 0, 0, 0] for s in ws]
        nodes = [helper.make_node("Conv", ["x", f"w{i}"], [f"c{i}"], name=f"conv{i}", pads=pads[i])
                 for i in range(2)]
        nodes.append(helper.make_node("Concat", ["c0", "c1", "c0"], ["y"], name="cat", axis=axis))
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        p = tmp_path / f"cat{axis}.onnx"
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(p))
        model = tinyscope.load(p)
        x = rng.standard_normal((1, 2, 4, 3)).astype(np.float32)
        want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        got = reference.run(model, [x.transpose(0, 2, 3, 1)])[0].transpose(0, 3, 1, 2)
        assert got.shape == want.shape and np.abs(got - want).max() < 1e-5, axis
