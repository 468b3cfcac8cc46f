"""TFLite PAD (height and width, by a constant paddings tensor): bit-exact with LiteRT in int8, where a
PAD before a conv becomes the conv's padding and a PAD before a pool runs as its own kernel."""

from __future__ import annotations

import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.errors import UnsupportedError
from tinyscope.ir import OpType

from ..fuzz import tflite_spec
from .litert import LiteRT


def test_tflite_int8_pad_is_bit_exact_with_litert(tmp_path):
    p = tmp_path / "pad_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.pad_int8()))
    g = tinyscope.load(p)
    assert [op.type for op in g.ops] == [OpType.CONV_2D, OpType.PAD, OpType.MAX_POOL_2D]
    assert g.ops[0].attrs.padding == (1, 2, 0, 1) and g.ops[1].attrs.padding == (1, 1, 1, 1)
    lite = LiteRT(p)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(-128, 128, (1, 5, 5, 3), dtype=np.int8)
        lite.run(x)
        ours = reference.run_all(g, [x])
        for name in ("conv", "pad2", "pool"):
            assert np.array_equal(ours[name], lite.tensor(name)), name


@pytest.mark.parametrize(("pads", "word"), [([[1, 0], [0, 0], [0, 0], [0, 0]], "height and width only"),
                                            ([[0, 0], [0, 0], [0, 0], [0, 2]], "height and width only"),
                                            ([[0, 0], [-1, 0], [0, 0], [0, 0]], "not negative")])
def test_pad_of_other_axes_is_refused(tmp_path, pads, word):
    spec = tflite_spec.pad_int8()
    t = next(i for i, t in enumerate(spec["tensors"]) if t["name"] == b"paddings")
    spec["buffers"][spec["tensors"][t]["buffer"]] = np.array(pads, np.int32).tobytes()
    p = tmp_path / "bad_pad.tflite"
    p.write_bytes(tflite_spec.write(spec))
    with pytest.raises(UnsupportedError, match=word):
        tinyscope.load(p)


def test_onnx_pad_folds_into_the_conv_and_matches_onnxruntime(tmp_path):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(6)
    w = numpy_helper.from_array((rng.standard_normal((3, 2, 3, 3)) * 0.4).astype(np.float32), "w")
    pads = numpy_helper.from_array(np.array([0, 0, 1, 0, 0, 0, 2, 1], np.int64), "pads")
    pads2 = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads2")
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
             helper.make_node("Conv", ["p", "w"], ["c"], name="conv", pads=[1, 1, 0, 0]),
             helper.make_node("Pad", ["c", "pads2"], ["p2"], name="pad2"),
             helper.make_node("MaxPool", ["p2"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w, pads, pads2])
    p = tmp_path / "pad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), p)
    g = tinyscope.load(p)
    assert [op.type for op in g.ops][:3] == [OpType.CONV_2D, OpType.PAD, OpType.MAX_POOL_2D]
    assert g.ops[0].attrs.padding == (2, 2, 1, 1)  # pad (1, 2, 0, 1) + the conv's pads (1, 0, 1, 0)
    x = rng.standard_normal((1, 2, 6, 5)).astype(np.float32)
    want = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = reference.run(g, [x.transpose(0, 2, 3, 1)])[0]
    np.testing.assert_allclose(got.reshape(-1), want.transpose(0, 2, 3, 1).reshape(-1), rtol=1e-5, atol=1e-5)


def test_onnx_pad_other_than_zeros_on_h_and_w_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    pads = numpy_helper.from_array(np.array([0, 1, 0, 0, 0, 0, 0, 0], np.int64), "pads")
    graph = helper.make_graph([helper.make_node("Pad", ["x", "pads"], ["y"], name="pad")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [pads])
    p = tmp_path / "pad_c.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), p)
    with pytest.raises(UnsupportedError, match="zeros on H and W only"):
        tinyscope.load(p)
