"""Input samples for a model: read from .npy/.npz/.csv files, or seeded random ones.

Samples are returned as a stack (first axis = sample) in the model's IR layout (NHWC) and dtype.
A float file for an int8 model is quantized with the input's parameters; an ONNX model's NCHW
samples are transposed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyscope.errors import InputError
from tinyscope.ir.fixedpoint import round_half_away
from tinyscope.ir.graph import DType, Graph


def random_inputs(graph: Graph, n: int, seed: int = 0) -> np.ndarray:
    t = graph.input_tensors()[0]
    rng = np.random.default_rng(seed)
    if t.dtype is DType.INT8:
        return rng.integers(-128, 128, size=(n, *t.shape[1:]), dtype=np.int8)
    return rng.random((n, *t.shape[1:]), dtype=np.float32)


def load_inputs(graph: Graph, path: str | Path) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such inputs file")
    try:
        if p.suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                names = list(z.keys())
                key = graph.inputs[0] if graph.inputs[0] in names else names[0]
                arr = z[key]
        elif p.suffix == ".csv":
            arr = np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
        else:
            raise InputError(f"{p}: inputs must be .npy, .npz or .csv")
    except (ValueError, OSError) as exc:
        raise InputError(f"{p}: cannot read inputs ({exc})") from exc
    return conform(graph, arr, str(p))


def conform(graph: Graph, arr: np.ndarray, what: str = "inputs") -> np.ndarray:
    """Reshape (and quantize or transpose) an array of samples to the model's input."""
    t = graph.input_tensors()[0]
    per = t.size
    if arr.size % per != 0 or arr.size == 0:
        raise InputError(f"{what}: {arr.size} values do not make whole samples of shape {t.shape} "
                         f"({per} values each)")
    n = arr.size // per
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{what}: dtype {arr.dtype} is not numeric")
    if "input_layout" in graph.meta and arr.ndim == 4 and len(t.shape) == 4 and \
            arr.shape[1:] == (t.shape[3], t.shape[1], t.shape[2]):
        arr = arr.transpose(0, 2, 3, 1)
    arr = arr.reshape(n, *t.shape[1:])
    if t.dtype is DType.INT8:
        if arr.dtype.kind == "f":
            q = t.quant
            v = arr.astype(np.float32) / np.float32(q.scale[0])
            arr = np.clip(round_half_away(v) + q.zero_point[0], -128, 127)
        elif arr.min() < -128 or arr.max() > 127:
            raise InputError(f"{what}: integer values outside int8 for an int8 model")
        return arr.astype(np.int8)
    if arr.dtype.kind != "f":
        raise InputError(f"{what}: the model takes float32 inputs, the file holds {arr.dtype}")
    return arr.astype(np.float32)
