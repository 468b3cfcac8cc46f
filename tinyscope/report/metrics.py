"""X-CUBE-AI's validation metrics for one output: acc, rmse, mae, l2r, cos (and the max difference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
