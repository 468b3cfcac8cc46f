"""The numpy reference executor: runs a Graph op by op (float32, and int8 as TFLite computes it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tinyscope.errors import InputError
from tinyscope.ir.graph import Graph
from tinyscope.reference.kernels import KERNELS

__all__ = ["run", "run_all", "KERNELS"]


def _bind(graph: Graph, inputs) -> dict[str, np.ndarray]:
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if isinstance(inputs, Mapping):
        missing = [n for n in graph.inputs if n not in inputs]
        if missing:
            raise InputError(f"missing input(s): {', '.join(repr(m) for m in missing)}")
        arrays = [inputs[n] for n in graph.inputs]
    elif isinstance(inputs, Sequence):
        if len(inputs) != len(graph.inputs):
            raise InputError(f"the model takes {len(graph.inputs)} input(s), got {len(inputs)}")
        arrays = list(inputs)
    else:
        raise InputError(f"inputs must be an array, a list or a dict, not {type(inputs).__name__}")
    env: dict[str, np.ndarray] = {}
    for name, arr in zip(graph.inputs, arrays):
        t = graph.tensors[name]
        arr = np.asarray(arr)
        if arr.size != t.size:
            raise InputError(f"input {name!r} needs shape {t.shape} ({t.size} values), got {arr.shape}")
        if arr.dtype != t.dtype.numpy:
            if t.dtype.value == "float32" and arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            else:
                raise InputError(f"input {name!r} needs dtype {t.dtype.value}, got {arr.dtype}")
        env[name] = arr.reshape(t.shape)
    return env


def run_all(graph: Graph, inputs) -> dict[str, np.ndarray]:
    """Every activation tensor's value, by name (for per-layer comparisons)."""
    env = _bind(graph, inputs)
    for op in graph.ops:
        ts = [graph.tensors[n] for n in op.inputs]
        args = [env[n] if n in env else graph.tensors[n].data for n in op.inputs]
        out = graph.tensors[op.outputs[0]]
        env[out.name] = KERNELS[op.type](op, ts, args, out)
    return env


def run(graph: Graph, inputs) -> list[np.ndarray]:
    """The graph's outputs, in ``graph.outputs`` order."""
    env = run_all(graph, inputs)
    return [env[n] for n in graph.outputs]
