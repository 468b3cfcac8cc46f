"""A TFLite model run by LiteRT, for the reference tier's comparisons: the output, or any tensor by name
(every intermediate tensor kept on request), from the reference kernels unless another resolver is asked
for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


class LiteRT:
    def __init__(self, path: Path, resolver: OpResolverType = OpResolverType.BUILTIN_REF,
                 keep_all: bool = True) -> None:
        """``keep_all``: keep every intermediate tensor, for ``tensor(name)``."""
        self.it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver,
                              experimental_preserve_all_tensors=keep_all)
        self.it.allocate_tensors()
        self.index = {d["name"]: d["index"] for d in self.it.get_tensor_details()}

    def run(self, x: np.ndarray) -> LiteRT:
        self.it.set_tensor(self.it.get_input_details()[0]["index"], x)
        self.it.invoke()
        return self

    def tensor(self, name: str) -> np.ndarray:
        return self.it.get_tensor(self.index[name])

    def output(self) -> np.ndarray:
        return self.it.get_tensor(self.it.get_output_details()[0]["index"])


def litert_output(path: Path, x: np.ndarray, resolver: OpResolverType = OpResolverType.BUILTIN_REF) -> np.ndarray:
    """The model's output for one input."""
    return LiteRT(path, resolver, keep_all=False).run(x).output()
