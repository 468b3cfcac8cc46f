"""The Keras importer on the shared study model (../shared/models/mnist_cnn.h5): the study's parameter count,
and the study digit classified as a 2. The fixtures against Keras's saved outputs: tests/unit/test_keras_import.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tinyscope
from tinyscope import reference

from ..conftest import shared_model

DATA = Path(__file__).resolve().parent.parent / "data" / "keras"


def test_study_model_imports_with_the_study_figures():
    g = tinyscope.load(shared_model("mnist_cnn.h5"))
    assert sum(t.size for t in g.tensors.values() if t.is_const) == 93_322
    digit = np.loadtxt(shared_model("mnist_digit2.csv"), delimiter=",", dtype=np.float32)
    out = reference.run(g, [digit.reshape(1, 28, 28, 1)])[0]
    assert int(out.argmax()) == 2 and out.max() > 0.99
