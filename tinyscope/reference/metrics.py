"""How far an output is from the reference: X-CUBE-AI's validation metrics over a stack of samples
(acc, rmse, mae, l2r, cos, the max difference), and ``agreement``, the one definition of "the
firmware's output agrees with the reference" that `run`, `profile` and `study` report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyscope.ir.graph import Graph
from tinyscope.reference import run


@dataclass
class Metrics:
    acc: float | None  # argmax agreement over samples (None when the output is not a class vector)
    rmse: float
    mae: float
    l2r: float  # ||ours - ref|| / ||ref||
    cos: float
    max_abs: float
    samples: int


def compare(ours: np.ndarray, ref: np.ndarray) -> Metrics:
    """Metrics over a stack of samples (first axis = sample)."""
    a = ours.astype(np.float64).reshape(len(ours), -1)
    b = ref.astype(np.float64).reshape(len(ref), -1)
    d = a - b
    norm = np.linalg.norm(b)
    l2r = float(np.linalg.norm(d) / norm) if norm > 0 else float(np.linalg.norm(d))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float((a * b).sum() / (na * nb)) if na > 0 and nb > 0 else float(na == nb)
    acc = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1))) if a.shape[1] > 1 else None
    return Metrics(acc, float(np.sqrt(np.mean(d * d))), float(np.mean(np.abs(d))), l2r, cos,
                   float(np.abs(d).max()), len(a))


@dataclass(frozen=True)
class Agreement:
    """One output of the firmware beside the reference executor's output for the same input."""

    output: np.ndarray  # the firmware's, flattened
    reference: np.ndarray  # the reference executor's, flattened, same dtype as the graph's output
    max_abs: float  # largest |output - reference|, in the output's own units (LSB for int8)
    l2r: float  # ||output - reference|| / ||reference||, as compare() computes it
    argmax: int
    reference_argmax: int
    argmax_equal: bool | None  # same class; None when the output has one value (no class to agree on)

    def to_json(self) -> dict:
        """The ``agreement`` object of a profile's run.json (docs/profile-files.md)."""
        return {"max_abs_diff": self.max_abs, "argmax_equal": self.argmax_equal, "argmax": self.argmax,
                "reference_argmax": self.reference_argmax}


def agreement(graph: Graph, x: np.ndarray, output: np.ndarray) -> Agreement:
    """Run the reference on ``x`` (the sample the firmware embeds) and compare ``output`` with it."""
    ref = np.asarray(run(graph, [x])[0]).ravel()
    got = np.asarray(output).ravel()
    m = compare(got.reshape(1, -1), ref.reshape(1, -1))
    return Agreement(got, ref, m.max_abs, m.l2r, int(got.argmax()), int(ref.argmax()),
                     None if m.acc is None else m.acc == 1.0)
