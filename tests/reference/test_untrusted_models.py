"""Issue 8, section 2: every bad model is one line and exit status 2, never a traceback.

One test per case the issue names (and the garbage it says was accepted), each checking the error
class, a word of the message, and, through ``tinyscope.cli.main`` (the function the command runs),
that the user sees one line and exit status 2. Models are built here: TFLite with the fuzz tier's
flatbuffer writer, ONNX with onnx.helper, Keras by editing the fixtures in tests/data/keras.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinyscope
from tests.fuzz import tflite_spec
from tinyscope.cli import main as cli_main
from tinyscope.errors import TinyscopeError

KERAS = Path(__file__).resolve().parent.parent / "data" / "keras"


def one_line(*argv: str, code: int = 2) -> str:
    """Run the CLI in this process; it must exit ``code`` with one line on stderr. Returns the line."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        got = cli_main(list(argv))
    lines = err.getvalue().strip().splitlines()
    assert got == code, (got, err.getvalue())
    if code == 2:
        assert len(lines) == 1 and "Traceback" not in err.getvalue(), err.getvalue()
    return lines[0] if lines else ""


def rejected(path: Path, cls: type[TinyscopeError], word: str, verbs=("analyze",)) -> str:
    """``path`` fails to load with ``cls`` naming the file, and each verb prints one line, exit 2."""
    with pytest.raises(cls) as e:
        tinyscope.load(path)
    msg = str(e.value)
    assert word in msg, msg
    assert str(path) in msg and "\n" not in msg, msg
    for verb in verbs:
        extra = ["-o", str(path.parent / f"out-{verb}")] if verb == "generate" else []
        line = one_line(verb, str(path), *extra)
        assert line.startswith(f"tinyscope {verb}: error: ") and word in line, line
        assert not (path.parent / f"out-{verb}").exists()
    return msg


# ---------------------------------------------------------------- builders

def onnx_model(nodes, inits=None, in_shape=(1, 2, 6, 6), out_shape=(1, 4, 6, 6), outputs=("y",)):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(out_shape)) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def conv_onnx(**attrs):
    w = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1], **attrs)
    return onnx_model([node], {"w": w, "b": np.zeros(4, np.float32)})


def save_onnx(tmp_path: Path, m, name="m.onnx") -> Path:
    p = tmp_path / name
    p.write_bytes(m if isinstance(m, bytes) else m.SerializeToString())
    return p


def keras_h5(tmp_path: Path, edit=None, weights_edit=None, fixture="seq_fixture", raw=None) -> Path:
    """A copy of a Keras fixture (.h5) with its config edited (a function of the dict) or replaced."""
    p = tmp_path / f"{fixture}_edited.h5"
    shutil.copy(KERAS / f"{fixture}.h5", p)
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        if edit is not None:
            edit(cfg)
        f.attrs["model_config"] = raw if raw is not None else json.dumps(cfg)
        if weights_edit is not None:
            weights_edit(f)
    return p


def keras_zip(tmp_path: Path, edit=None, fixture="seq_fixture", raw: bytes | None = None) -> Path:
    p = tmp_path / f"{fixture}_edited.keras"
    with zipfile.ZipFile(KERAS / f"{fixture}.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(members["config.json"])
    if edit is not None:
        edit(cfg)
    members["config.json"] = raw if raw is not None else json.dumps(cfg).encode()
    with zipfile.ZipFile(p, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return p


def layers(cfg: dict) -> list[dict]:
    return cfg["config"]["layers"]


def layer(cfg: dict, cls: str) -> dict:
    return next(lay for lay in layers(cfg) if lay["class_name"] == cls)


def tflite_file(tmp_path: Path, edit=None, spec=None, name="m.tflite") -> Path:
    s = copy.deepcopy(spec or tflite_spec.tiny_int8())
    if edit is not None:
        r = edit(s)
        s = s if r is None else r
    p = tmp_path / name
    p.write_bytes(s if isinstance(s, bytes) else tflite_spec.write(s))
    return p


def tensor(spec: dict, name: str) -> dict:
    return next(t for t in spec["tensors"] if t["name"] == name.encode())


# ---------------------------------------------------------------- the seeds are fine


# ---------------------------------------------------------------- stride 0 (ZeroDivisionError today)


# ---------------------------------------------------------------- ONNX initializers


# ---------------------------------------------------------------- Keras configs and files


# ---------------------------------------------------------------- TFLite: accepted, then crashed generate/validate


def test_raw_litert_errors_in_validate_are_one_line(tmp_path, monkeypatch):
    """LiteRT refusing a model tinyscope accepts: its ValueError/RuntimeError become one ModelError line."""
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert import interpreter

    def edit(s):  # LiteRT's Python wrapper cannot decode these names (UnicodeDecodeError, a ValueError)
        for t in s["tensors"]:
            t["name"] = b"\xff" + t["name"]
    line = one_line("validate", str(tflite_file(tmp_path, edit)), "-n", "1")
    assert "LiteRT cannot run this model" in line

    class Refusing:
        def __init__(self, *a, **k):
            raise RuntimeError("tensorflow/lite/kernels/conv.cc:351 input->dims->size != 4 (3 != 4)\n"
                               "Node number 0 (CONV_2D) failed to prepare.")
    monkeypatch.setattr(interpreter, "Interpreter", Refusing)
    line = one_line("validate", str(tflite_file(tmp_path, name="ok.tflite")), "-n", "1")
    assert "LiteRT cannot run this model (RuntimeError: tensorflow/lite/kernels/conv.cc:351" in line


def test_onnxruntime_errors_in_validate_are_one_line(tmp_path):
    pytest.importorskip("onnxruntime")
    w = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="same", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="same")]  # tinyscope renames; onnxruntime refuses
    line = one_line("validate", str(save_onnx(tmp_path, onnx_model(nodes, {"w": w}))), "-n", "1")
    assert "onnxruntime cannot run this model" in line and "same node name" in line


# ---------------------------------------------------------------- garbage accepted until now


# ---------------------------------------------------------------- the HDF5 library in a child process


# ---------------------------------------------------------------- the safety net
