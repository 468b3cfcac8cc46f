"""The model's original runtime, when one can read it: LiteRT for .tflite, onnxruntime for .onnx.

LiteRT runs with its reference kernels (OpResolverType.BUILTIN_REF): TFLite's documented integer
semantics. Keras models have no runtime here (TensorFlow is not a dependency).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyscope.ir.graph import Graph


def original_runtime_name(graph: Graph) -> str | None:
    if graph.source_format == "tflite":
        return "LiteRT"
    if graph.source_format == "onnx":
        return "onnxruntime"
    return None


def run_original(graph: Graph, samples: np.ndarray) -> np.ndarray | None:
    """Outputs of the original runtime for a stack of samples (IR layout), or None if unavailable."""
    name = original_runtime_name(graph)
    try:
        if name == "LiteRT":
            from ai_edge_litert.interpreter import Interpreter, OpResolverType

            it = Interpreter(model_path=str(graph.source),
                             experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            it.allocate_tensors()
            i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
            outs = []
            for x in samples:
                it.set_tensor(i, x[None])
                it.invoke()
                outs.append(it.get_tensor(o)[0].copy())
            return np.stack(outs)
        if name == "onnxruntime":
            import onnxruntime as ort

            sess = ort.InferenceSession(str(Path(graph.source)), providers=["CPUExecutionProvider"])
            feed = sess.get_inputs()[0].name
            outs = []
            for x in samples:
                xin = x[None].transpose(0, 3, 1, 2) if x.ndim == 3 and "input_layout" in graph.meta else x[None]
                y = sess.run(None, {feed: xin})[0]
                if y.ndim == 4 and "output_layout" in graph.meta:
                    y = y.transpose(0, 2, 3, 1)
                outs.append(y[0])
            return np.stack(outs)
    except ImportError:
        return None
    return None
