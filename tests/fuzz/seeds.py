"""Seed models for the fuzz tier: made here (so the tier has substance anywhere) plus the shared ones.

Every seed must load cleanly; the tier checks that before mutating it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import SHARED_MODELS
from tests.fuzz import tflite_spec
from tests.keras_h5 import write_keras2_h5

KERAS_DATA = Path(__file__).resolve().parent.parent / "data" / "keras"
ONNX_DATA = Path(__file__).resolve().parent.parent / "data" / "onnx"
SHARED = {"tflite": ["kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite", "kws_dscnn_f32.tflite",
                     "mnist_cnn_f32.tflite"],
          "h5": ["mnist_cnn.h5"], "keras": [], "onnx": []}


def shared_available() -> bool:
    return all((SHARED_MODELS / n).is_file() for names in SHARED.values() for n in names)


def _w(rng, *shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def onnx_cnn(rng, batchnorm: bool = True) -> onnx.ModelProto:
    """Conv (+BN) + ReLU, MaxPool, depthwise + Clip, Flatten, Gemm, Softmax (as the unit tests)."""
    bn = [helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn"], name="bn")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        *(bn if batchnorm else []),
        helper.make_node("Relu", ["bn" if batchnorm else "c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "wd"], ["dw"], name="dw", group=6, auto_pad="SAME_UPPER",
                         kernel_shape=[3, 3]),
        helper.make_node("Clip", ["dw", "lo", "hi"], ["cl"], name="clip"),
        helper.make_node("Flatten", ["cl"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["fc"], name="fc", transB=1),
        helper.make_node("Softmax", ["fc"], ["y"], name="sm"),
    ]
    inits = {"w1": _w(rng, 6, 2, 3, 3), "b1": _w(rng, 6), "g": _w(rng, 6) + 1, "be": _w(rng, 6),
             "mu": _w(rng, 6), "var": np.abs(_w(rng, 6)) + 0.5, "wd": _w(rng, 6, 1, 3, 3),
             "lo": np.float32(0.0), "hi": np.float32(3.0), "w2": _w(rng, 5, 6 * 4 * 3), "b2": _w(rng, 5)}
    return _onnx_model(nodes, inits, [1, 2, 8, 6], [1, 5])


def onnx_residual(rng) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="c1", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["a", "w2", "b2"], ["b"], name="c2", pads=[0, 0, 0, 0]),
        helper.make_node("Add", ["a", "b"], ["s"], name="res"),
        helper.make_node("AveragePool", ["s"], ["p"], name="ap", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["gp"], name="gap"),
        helper.make_node("Reshape", ["gp", "shape"], ["r"], name="rs"),
        helper.make_node("MatMul", ["r", "wm"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "bm"], ["y"], name="bias"),
    ]
    inits = {"w1": _w(rng, 4, 3, 3, 3), "w2": _w(rng, 4, 4, 1, 1), "b2": _w(rng, 4),
             "shape": np.array([1, -1], np.int64), "wm": _w(rng, 4, 3), "bm": _w(rng, 3)}
    return _onnx_model(nodes, inits, [1, 3, 6, 6], [1, 3])


def _onnx_model(nodes, inits, in_shape, out_shape) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def onnx_qdq(folder: Path, rng) -> Path:
    """The CNN quantized by onnxruntime's own quantizer (QDQ, per channel, int8)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp = folder / "_cnn_for_qdq.onnx"
    onnx.save(onnx_cnn(rng, batchnorm=False), str(fp))

    class Reader(CalibrationDataReader):
        def __init__(self):
            r = np.random.default_rng(5)
            self.data = iter([{"x": r.standard_normal((1, 2, 8, 6)).astype(np.float32)} for _ in range(4)])

        def get_next(self):
            return next(self.data, None)

    out = folder / "onnx_qdq_int8.onnx"
    quantize_static(str(fp), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    fp.unlink()
    return out


def keras2_h5(path: Path, rng) -> Path:
    """A Keras-2 style HDF5 file written by hand (batch_input_shape, weight names with ':0', bytes)."""
    layers = [
        {"class_name": "Conv2D", "config": {"name": "conv2d_1", "batch_input_shape": [None, 10, 10, 1],
                                            "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
                                            "padding": "valid", "data_format": "channels_last",
                                            "dilation_rate": [1, 1], "activation": "relu", "use_bias": True}},
        {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1", "pool_size": [2, 2],
                                                  "padding": "valid", "strides": [2, 2],
                                                  "data_format": "channels_last"}},
        {"class_name": "Flatten", "config": {"name": "flatten_1", "data_format": "channels_last"}},
        {"class_name": "Dense", "config": {"name": "dense_1", "units": 3, "activation": "softmax",
                                           "use_bias": True}},
    ]
    config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": layers}}
    weights = {"conv2d_1": [("kernel:0", _w(rng, 3, 3, 1, 4)), ("bias:0", _w(rng, 4))],
               "max_pooling2d_1": [], "flatten_1": [],
               "dense_1": [("kernel:0", _w(rng, 64, 3)), ("bias:0", _w(rng, 3))]}
    return write_keras2_h5(path, config, weights)


def make_seeds(folder: Path, fmt: str, source: str = "here") -> list[Path]:
    """Seed files of one format ("tflite", "h5", "keras", "onnx") written into ``folder``.

    ``source`` "here": models made by this module and the fixtures in tests/data/keras and tests/data/onnx;
    "shared": copies of the shared models of that format (none when the folder is absent).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    out: list[Path] = []
    if source == "shared":
        for name in SHARED[fmt]:
            if (SHARED_MODELS / name).is_file():
                out.append(Path(shutil.copy(SHARED_MODELS / name, folder / name)))
        return out
    if fmt == "tflite":
        for name, spec in [("tiny_float", tflite_spec.tiny_float()), ("tiny_int8", tflite_spec.tiny_int8())]:
            p = folder / f"{name}.tflite"
            p.write_bytes(tflite_spec.write(spec))
            out.append(p)
    elif fmt == "h5":
        out.append(keras2_h5(folder / "keras2_seq.h5", rng))
        for name in ("seq_fixture.h5", "func_fixture.h5"):
            out.append(Path(shutil.copy(KERAS_DATA / name, folder / name)))
    elif fmt == "keras":
        for name in ("seq_fixture.keras", "func_fixture.keras"):
            out.append(Path(shutil.copy(KERAS_DATA / name, folder / name)))
    elif fmt == "onnx":
        for name, m in [("onnx_cnn", onnx_cnn(rng)), ("onnx_residual", onnx_residual(rng))]:
            p = folder / f"{name}.onnx"
            onnx.save(m, str(p))
            out.append(p)
        out.append(onnx_qdq(folder, rng))
        # a PyTorch export: shape arithmetic and a dynamic batch, through the simplifier
        out.append(Path(shutil.copy(ONNX_DATA / "torch_cnn.onnx", folder / "torch_cnn.onnx")))
    return out
