"""The model's original runtime, when one can read it: LiteRT for .tflite, onnxruntime for .onnx.

LiteRT runs with its reference kernels (OpResolverType.BUILTIN_REF): TFLite's documented integer
semantics. Keras models have no runtime here (TensorFlow is not a dependency).

A model that tinyscope accepts may still be refused by the original runtime (it checks other
things, or has other limits). That is reported as one ``ModelError`` naming the runtime and its
first line of complaint, never as the runtime's own exception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyscope.errors import ModelError
from tinyscope.ir.graph import Graph


def original_runtime_name(graph: Graph) -> str | None:
    if graph.source_format == "tflite":
        return "LiteRT"
    if graph.source_format == "onnx":
        return "onnxruntime"
    return None


def _refused(graph: Graph, runtime: str, exc: BaseException) -> ModelError:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    if len(first) > 200:
        first = first[:200] + "..."
    return ModelError(f"{graph.source}: {runtime} cannot run this model ({type(exc).__name__}: {first})")


def run_original(graph: Graph, samples: np.ndarray) -> np.ndarray | None:
    """Outputs of the original runtime for a stack of samples (IR layout), or None if unavailable."""
    name = original_runtime_name(graph)
    if name == "LiteRT":
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError:
            return None
        try:
            it = Interpreter(model_path=str(graph.source),
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
            i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
            outs = []
            for x in samples:
                it.set_tensor(i, x[None])
                it.invoke()
                outs.append(it.get_tensor(o)[0].copy())
            return _stack(graph, name, outs)
        except (ValueError, RuntimeError, IndexError, KeyError) as exc:  # what the LiteRT wrapper raises
            raise _refused(graph, name, exc) from exc
    if name == "onnxruntime":
        try:
            import onnxruntime as ort
        except ImportError:
            return None
        try:
            sess = ort.InferenceSession(str(Path(graph.source)), providers=["CPUExecutionProvider"])
            feed = sess.get_inputs()[0].name
            outs = []
            for x in samples:
                xin = x[None].transpose(0, 3, 1, 2) if x.ndim == 3 and "input_layout" in graph.meta else x[None]
                y = sess.run(None, {feed: xin})[0]
                if y.ndim == 4 and "output_layout" in graph.meta:
                    y = y.transpose(0, 2, 3, 1)
                outs.append(y[0])
            return _stack(graph, name, outs)
        except Exception as exc:  # onnxruntime's errors (Fail, InvalidGraph, ...) derive from Exception only
            raise _refused(graph, name, exc) from exc
    return None


def _stack(graph: Graph, runtime: str, outs: list[np.ndarray]) -> np.ndarray:
    """The runtime's outputs as one array, which must be the shape tinyscope computes."""
    want = graph.output_tensors()[0].shape[1:]
    shapes = {np.shape(y) for y in outs}
    if len(shapes) != 1 or int(np.prod(next(iter(shapes)))) != int(np.prod(want)):
        raise ModelError(f"{graph.source}: {runtime} computes an output of shape {sorted(shapes)}, "
                         f"tinyscope {tuple(want)}")
    return np.stack([np.asarray(y).reshape(want) for y in outs])
