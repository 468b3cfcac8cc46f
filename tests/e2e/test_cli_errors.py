"""Bad input gets one clear line on stderr and exit status 2, never a traceback (--debug shows one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ..conftest import shared_model

pytestmark = pytest.mark.e2e
KERAS_FIXTURE = Path(__file__).resolve().parent.parent / "data" / "keras" / "seq_fixture.h5"


def _onnx(path: Path, nodes, inits=None, in_shape=(1, 4), out_shape=(1, 4)) -> Path:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def _tflite_bytes() -> bytes:
    """A real flatbuffer to damage: the shared model if present, else a minimal header."""
    try:
        return shared_model("mnist_cnn_f32.tflite").read_bytes()
    except pytest.skip.Exception:
        return b"\x1c\x00\x00\x00TFL3" + bytes(200)


def broken_models(d: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, a word the one-line message must contain)."""
    cases: dict[str, tuple[Path, str]] = {}
    cases["missing"] = (d / "nope.tflite", "no such file")
    (d / "empty.tflite").write_bytes(b"")
    cases["empty"] = (d / "empty.tflite", "empty")
    (d / "trunc.tflite").write_bytes(_tflite_bytes()[:4096])
    cases["truncated"] = (d / "trunc.tflite", "TFLite")
    (d / "random.tflite").write_bytes(np.random.default_rng(0).bytes(3000))
    cases["random bytes"] = (d / "random.tflite", "TFLite")
    damaged = bytearray(_tflite_bytes()[:2000])
    damaged[0:4] = b"\xff\xff\xff\x7f"  # root table offset far outside the buffer
    (d / "corrupt.tflite").write_bytes(bytes(damaged))
    cases["corrupt flatbuffer"] = (d / "corrupt.tflite", "corrupt")
    with h5py.File(d / "data.h5", "w") as f:
        f["x"] = np.arange(4)
    cases["hdf5 without model"] = (d / "data.h5", "no Keras model")
    (d / "model.pb").write_bytes(b"\x00" * 10)
    cases["unknown extension"] = (d / "model.pb", "unknown model extension")
    cases["folder"] = (d, "folder")
    _onnx(d / "softplus.onnx", [helper.make_node("Softplus", ["x"], ["y"], name="gate")])
    cases["unsupported op"] = (d / "softplus.onnx", "Softplus (node 0 'gate')")
    cfg = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "Lambda", "config": {"name": "code", "function": "__import__('os')",
                                            "batch_input_shape": [None, 4]}}]}}
    with h5py.File(d / "lambda.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(cfg)
    cases["keras lambda"] = (d / "lambda.h5", "Lambda")
    _onnx(d / "shapes.onnx", [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)],
          {"w": np.ones((3, 5), np.float32)}, out_shape=(1, 3))
    cases["inconsistent shapes"] = (d / "shapes.onnx", "expects 5 input features")
    (d / "trunc.h5").write_bytes(KERAS_FIXTURE.read_bytes()[:2500])
    cases["truncated hdf5"] = (d / "trunc.h5", "HDF5")
    return cases


def _analyze(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyscope", "analyze", str(path), *extra],
                          capture_output=True, text=True, timeout=120)


def test_each_broken_model_gets_one_line(tmp_path):
    cases = broken_models(tmp_path)
    for name, (path, word) in cases.items():
        r = _analyze(path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, f"{name}: exit {r.returncode}, stderr {r.stderr!r}"
        assert len(lines) == 1 and "Traceback" not in r.stderr, f"{name}: {r.stderr!r}"
        assert word in lines[0], f"{name}: {lines[0]!r} lacks {word!r}"
        assert r.stdout == ""


def test_unsupported_op_lists_what_is_supported(tmp_path):
    path = broken_models(tmp_path)["unsupported op"][0]
    line = _analyze(path).stderr
    assert "Supported:" in line and "Conv" in line


def test_debug_shows_the_traceback(tmp_path):
    r = _analyze(tmp_path / "missing.onnx", "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _analyze("zoo:tiny-dscnn", "-o", str(blocker / "sub"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "cannot write" in r.stderr
