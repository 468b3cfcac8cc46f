"""The IR's records: tensors (with quantization), ops and the graph that holds them.

A graph is a straight list of ops in execution order; tensors are looked up by name. Every stage
after the importers reads this and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from tinyscope.ir.ops import Attrs, OpType


class DType(StrEnum):
    FLOAT32 = "float32"
    INT8 = "int8"
    INT32 = "int32"  # int8 biases

    @property
    def itemsize(self) -> int:
        return {"float32": 4, "int8": 1, "int32": 4}[self.value]

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.value)


@dataclass(frozen=True)
class Quant:
    """Affine quantization ``real = scale * (q - zero_point)``, per tensor or per channel.

    Normalised by every importer: ``scale`` float32 and ``zero_point`` int32 arrays of equal
    length; ``axis`` is None for per-tensor (length 1) and the channel axis otherwise.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None = None

    @staticmethod
    def make(scale, zero_point, axis: int | None = None) -> Quant:
        s = np.atleast_1d(np.asarray(scale, dtype=np.float32)).ravel()
        z = np.atleast_1d(np.asarray(zero_point, dtype=np.int64)).ravel().astype(np.int32)
        if z.size == 1 and s.size > 1:
            z = np.repeat(z, s.size)
        if s.size == 1:
            axis = None
        return Quant(s, z, axis)

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    def __repr__(self) -> str:
        if self.axis is None:
            return f"Quant(scale={float(self.scale[0]):.6g}, zp={int(self.zero_point[0])})"
        return f"Quant(per-channel axis={self.axis}, n={self.scale.size})"


@dataclass
class Tensor:
    """A named value. ``data`` is set for constants (weights, biases), None for activations."""

    name: str
    shape: tuple[int, ...]
    dtype: DType
    data: np.ndarray | None = None
    quant: Quant | None = None

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def is_const(self) -> bool:
        return self.data is not None

    def __repr__(self) -> str:
        kind = "const" if self.is_const else "act"
        q = f" {self.quant!r}" if self.quant is not None else ""
        return f"Tensor({self.name!r}, {self.shape}, {self.dtype.value}, {kind}{q})"


@dataclass
class Op:
    """One operator. ``m_id`` is the index of the original model layer it came from (ST's m_id)."""

    type: OpType
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: Attrs
    m_id: int = 0
    origin: str = ""  # the original layer/op type, e.g. "Conv2D" or "CONV_2D"

    def __repr__(self) -> str:
        return (f"Op({self.type.value} {self.name!r} m_id={self.m_id} "
                f"{self.inputs} -> {self.outputs} {self.attrs})")


@dataclass
class Graph:
    """A model: ops in execution order and the tensors they read and write."""

    name: str
    tensors: dict[str, Tensor]
    ops: list[Op]
    inputs: list[str]
    outputs: list[str]
    source: str = ""  # where it came from: a path or "zoo:<name>"
    source_format: str = ""  # "tflite", "keras-h5", "keras-v3", "onnx", "zoo"
    meta: dict[str, str] = field(default_factory=dict)

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[n] for n in self.inputs]

    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[n] for n in self.outputs]

    def producers(self) -> dict[str, Op]:
        return {t: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict[str, list[Op]]:
        out: dict[str, list[Op]] = {}
        for op in self.ops:
            for t in op.inputs:
                out.setdefault(t, []).append(op)
        return out

    def copy(self) -> Graph:
        """A shallow structural copy: new op list and tensor dict, shared numpy data."""
        return replace(self, tensors={k: replace(v) for k, v in self.tensors.items()},
                       ops=[replace(o, inputs=list(o.inputs), outputs=list(o.outputs))
                            for o in self.ops],
                       inputs=list(self.inputs), outputs=list(self.outputs), meta=dict(self.meta))

    def summary(self) -> str:
        """A printable listing, one line per op, for ``print(graph)`` and debugging."""
        lines = [f"Graph {self.name!r} from {self.source or '?'} ({self.source_format})"]
        for n in self.inputs:
            lines.append(f"  input  {self.tensors[n]!r}")
        for op in self.ops:
            outs = ", ".join(f"{self.tensors[t].shape}" for t in op.outputs)
            lines.append(f"  [{op.m_id:3d}] {op.type.value:<18} {op.name:<28} -> {outs}")
        for n in self.outputs:
            lines.append(f"  output {self.tensors[n]!r}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
