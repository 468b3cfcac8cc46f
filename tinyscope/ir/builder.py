"""A small helper that importers and the zoo use to append ops with inferred output shapes."""

from __future__ import annotations

import numpy as np

from tinyscope.ir.graph import DType, Graph, Op, Quant, Tensor
from tinyscope.ir.ops import Attrs, OpType
from tinyscope.ir.shapes import infer_shape
from tinyscope.ir.verify import verify


class GraphBuilder:
    """Builds a Graph op by op; names are made unique so models with clashing names still load."""

    def __init__(self, name: str, source: str = "", source_format: str = "") -> None:
        self.graph = Graph(name=name, tensors={}, ops=[], inputs=[], outputs=[],
                           source=source, source_format=source_format)
        self._m_id = 0

    def unique(self, name: str) -> str:
        base = name or "t"
        cand, i = base, 1
        while cand in self.graph.tensors:
            cand = f"{base}_{i}"
            i += 1
        return cand

    def input(self, name: str, shape: tuple[int, ...], dtype: DType = DType.FLOAT32,
              quant: Quant | None = None) -> str:
        t = Tensor(self.unique(name), tuple(int(d) for d in shape), dtype, None, quant)
        self.graph.tensors[t.name] = t
        self.graph.inputs.append(t.name)
        return t.name

    def const(self, name: str, data: np.ndarray, dtype: DType | None = None,
              quant: Quant | None = None) -> str:
        dtype = dtype or DType(str(np.asarray(data).dtype))
        arr = np.ascontiguousarray(np.asarray(data, dtype=dtype.numpy))
        t = Tensor(self.unique(name), tuple(arr.shape), dtype, arr, quant)
        self.graph.tensors[t.name] = t
        return t.name

    def op(self, op_type: OpType, name: str, inputs: list[str], attrs: Attrs, *,
           out_name: str | None = None, out_dtype: DType | None = None,
           out_quant: Quant | None = None, m_id: int | None = None, origin: str = "") -> str:
        """Append an op; its output tensor gets the inferred shape. Returns the output name."""
        shapes = [self.graph.tensors[t].shape for t in inputs]
        shape = infer_shape(op_type, attrs, shapes)
        dtype = out_dtype or self.graph.tensors[inputs[0]].dtype
        out = Tensor(self.unique(out_name or name), shape, dtype, None, out_quant)
        self.graph.tensors[out.name] = out
        self.graph.ops.append(Op(op_type, name, list(inputs), [out.name], attrs,
                                 m_id=self._m_id if m_id is None else m_id, origin=origin))
        return out.name

    def next_layer(self) -> None:
        """Advance ST's m_id: call once per original model layer."""
        self._m_id += 1

    def set_m_id(self, m_id: int) -> None:
        self._m_id = m_id

    def finish(self, outputs: list[str]) -> Graph:
        self.graph.outputs = list(outputs)
        return verify(self.graph)
