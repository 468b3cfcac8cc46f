"""A small helper that importers and the zoo use to append ops with inferred output shapes.

It checks as it builds, so an importer cannot assemble a malformed graph: names are text and made
unique (tensors and ops each), input shapes are positive and of a size a Cortex-M7 could hold,
constants are float32/int8/int32, and every op's output shape comes from the shape rules (a
ShapeError names the layer). ``finish`` runs the full verifier.
"""

from __future__ import annotations

import numpy as np

from tinyscope.errors import ShapeError, UnsupportedError
from tinyscope.ir.graph import DType, Graph, Op, Quant, Tensor
from tinyscope.ir.ops import Attrs, OpType
from tinyscope.ir.shapes import infer_shape
from tinyscope.ir.verify import check_name, check_shape, verify

_CONST_DTYPES = {np.dtype(d.value): d for d in DType}


class GraphBuilder:
    """Builds a Graph op by op; names are made unique so models with clashing names still load."""

    def __init__(self, name: str, source: str = "", source_format: str = "") -> None:
        self.graph = Graph(name=check_name(name, "model name"), tensors={}, ops=[], inputs=[], outputs=[],
                           source=source, source_format=source_format)
        self._m_id = 0
        self._op_names: set[str] = set()

    def unique(self, name: str) -> str:
        base = check_name(name, "name") or "t"
        cand, i = base, 1
        while cand in self.graph.tensors:
            cand = f"{base}_{i}"
            i += 1
        return cand

    def _unique_op(self, name: str) -> str:
        base = check_name(name, "layer name") or "op"
        cand, i = base, 1
        while cand in self._op_names:
            cand = f"{base}_{i}"
            i += 1
        self._op_names.add(cand)
        return cand

    def input(self, name: str, shape: tuple[int, ...], dtype: DType = DType.FLOAT32,
              quant: Quant | None = None) -> str:
        shape = tuple(shape)
        check_shape(shape, f"input {name!r}", dtype.itemsize)
        t = Tensor(self.unique(name), tuple(int(d) for d in shape), dtype, None, quant)
        self.graph.tensors[t.name] = t
        self.graph.inputs.append(t.name)
        return t.name

    def const(self, name: str, data: np.ndarray, dtype: DType | None = None,
              quant: Quant | None = None) -> str:
        if dtype is None:
            dtype = _CONST_DTYPES.get(np.asarray(data).dtype)
            if dtype is None:
                raise UnsupportedError(f"constant {name!r} of type {np.asarray(data).dtype} "
                                       "(float32, int8 and int32 are supported)")
        arr = np.ascontiguousarray(np.asarray(data, dtype=dtype.numpy))
        check_shape(tuple(arr.shape), f"constant {name!r}", dtype.itemsize)
        t = Tensor(self.unique(name), tuple(arr.shape), dtype, arr, quant)
        self.graph.tensors[t.name] = t
        return t.name

    def op(self, op_type: OpType, name: str, inputs: list[str], attrs: Attrs, *,
           out_name: str | None = None, out_dtype: DType | None = None,
           out_quant: Quant | None = None, m_id: int | None = None, origin: str = "") -> str:
        """Append an op; its output tensor gets the inferred shape. Returns the output name."""
        missing = [t for t in inputs if t not in self.graph.tensors]
        if missing or not inputs:
            raise ShapeError(f"layer {name!r} ({op_type.value}) reads unknown tensor(s) {missing or 'none'}")
        shapes = [self.graph.tensors[t].shape for t in inputs]
        try:
            shape = infer_shape(op_type, attrs, shapes)
        except ShapeError as exc:
            raise ShapeError(f"layer {name!r} ({op_type.value}): {exc}") from None
        dtype = out_dtype or self.graph.tensors[inputs[0]].dtype
        check_shape(shape, f"the output of layer {name!r}", dtype.itemsize)
        out = Tensor(self.unique(out_name or name), shape, dtype, None, out_quant)
        self.graph.tensors[out.name] = out
        self.graph.ops.append(Op(op_type, self._unique_op(name), list(inputs), [out.name], attrs,
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
