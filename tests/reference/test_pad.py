"""TFLite PAD (height and width, by a constant paddings tensor): bit-exact with LiteRT in int8, where a
PAD before a conv becomes the conv's padding and a PAD before a pool runs as its own kernel."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

import tinyscope
from tinyscope import reference
from tinyscope.errors import UnsupportedError
from tinyscope.ir import OpType

from ..fuzz import tflite_spec


def test_tflite_int8_pad_is_bit_exact_with_litert(tmp_path):
    p = tmp_path / "pad_int8.tflite"
    p.write_bytes(tflite_spec.write(tflite_spec.pad_int8()))
    g = tinyscope.load(p)
    assert [op.type for op in g.ops] == [OpType.CONV_2D, OpType.PAD, OpType.MAX_POOL_2D]
    assert g.ops[0].attrs.padding == (1, 2, 0, 1) and g.ops[1].attrs.padding == (1, 1, 1, 1)
    it = Interpreter(model_path=str(p), experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    index = {d["name"]: d["index"] for d in it.get_tensor_details()}
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(-128, 128, (1, 5, 5, 3), dtype=np.int8)
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        ours = reference.run_all(g, [x])
        for name in ("conv", "pad2", "pool"):
            assert np.array_equal(ours[name], it.get_tensor(index[name])), name


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
