"""The Keras importer against Keras's own outputs (fixtures made by tests/data/make_keras_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.errors import ModelError, UnsupportedError
from tinyscope.ir import OpType

DATA = Path(__file__).resolve().parent.parent / "data" / "keras"


@pytest.mark.parametrize("fixture", ["seq_fixture", "func_fixture"])
@pytest.mark.parametrize("ext", [".h5", ".keras"])
def test_matches_keras_outputs(fixture, ext):
    g = tinyscope.load(DATA / f"{fixture}{ext}")
    io = np.load(DATA / f"{fixture}_io.npz")
    for x, y in zip(io["x"], io["y"]):
        out = reference.run(g, [x[None]])[0]
        assert np.abs(out - y[None]).max() <= 1e-5 * (y.max() - y.min())


def test_batchnorm_dropout_and_activations_fold_away():
    g = tinyscope.load(DATA / "seq_fixture.keras")
    kinds = [op.type for op in g.ops]
    assert OpType.ACTIVATION not in kinds and OpType.PAD not in kinds
    # BatchNormalization folded into the depthwise conv before it; ReLU(6) rides on it too
    dw = next(op for op in g.ops if op.name == "depthwise_conv2d")
    assert dw.attrs.act.name == "relu6"
    assert dw.attrs.padding == (1, 1, 1, 1)
    conv = g.ops[0]
    assert conv.attrs.padding == (1, 0, 1, 2)  # the ZeroPadding2D, folded into the conv


def _h5_with_config(path: Path, config: dict) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.create_group("model_weights").attrs["layer_names"] = []
    return path


def test_lambda_and_unknown_layers_are_all_listed(tmp_path):
    cfg = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "Lambda", "config": {"name": "evil", "function": "print('hi')",
                                            "batch_input_shape": [None, 4]}},
        {"class_name": "LSTM", "config": {"name": "rnn"}},
        {"class_name": "Dense", "config": {"name": "d", "activation": "softplus"}},
    ]}}
    with pytest.raises(UnsupportedError) as e:
        tinyscope.load(_h5_with_config(tmp_path / "m.h5", cfg))
    msg = str(e.value)
    assert "'evil' (Lambda" in msg and "'rnn' (LSTM)" in msg and "softplus" in msg and "Supported:" in msg


def test_hdf5_without_a_model_and_broken_archives(tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ModelError, match="holds no Keras model"):
        tinyscope.load(tmp_path / "data.h5")
    (tmp_path / "bad.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="not a Keras 3 archive"):
        tinyscope.load(tmp_path / "bad.keras")
    (tmp_path / "trunc.h5").write_bytes((DATA / "seq_fixture.h5").read_bytes()[:3000])
    with pytest.raises(ModelError):
        tinyscope.load(tmp_path / "trunc.h5")
