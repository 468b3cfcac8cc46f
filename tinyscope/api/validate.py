"""``validate``: the generated C, built for this machine and run in a child process, against the
reference executor and the model's original runtime, with X-CUBE-AI's metrics.

Thresholds (defaults, all overridable, printed with the results):
- C vs reference: int8 outputs equal (max |difference| <= 0); float32 l2r within ``float_tolerance``,
  which scales with float32 rounding and the network's depth (two correct programs sum in
  different orders, so a fixed 1e-6 fails deep or wide float networks for no fault).
- C vs original runtime (LiteRT reference kernels, onnxruntime): l2r <= 5e-2. Runtimes round
  differently (onnxruntime requantizes in float; hybrid TFLite models quantize activations), so
  this pair is a sanity check, the reference pair is the contract.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyscope import reference
from tinyscope.codegen import generate
from tinyscope.firmware.host import HostNetwork, compile_host
from tinyscope.frontend import load
from tinyscope.ir.graph import DType, Graph
from tinyscope.ir.ops import OpGroup, OpType
from tinyscope.reference.inputs import load_inputs, random_inputs
from tinyscope.reference.metrics import Metrics, compare
from tinyscope.reference.runtimes import original_runtime_name, run_original

FLOAT32_EPS = 2.0**-23  # the spacing of float32 numbers at 1.0
SAFETY = 8.0  # the constant in front of the probabilistic rounding bound


def float_tolerance(graph: Graph) -> float:
    """The l2r two correct float32 implementations of ``graph`` may differ by.

    A dot product of K terms summed in another order differs by about eps * sqrt(K) relative
    (rounding errors as a random walk: Higham, Accuracy and Stability of Numerical Algorithms,
    2nd ed., section 2.8), and errors of successive layers add. So SAFETY * eps * sum(sqrt(K)) over
    the weighted layers, never below 1e-6.
    """
    total = 0.0
    for op in graph.ops:
        if op.type in OpGroup.WEIGHTED:
            w = graph.tensors[op.inputs[1]]
            per_output = w.size // max(1, w.shape[0] if op.type is not OpType.DEPTHWISE_CONV_2D else w.shape[-1])
            total += math.sqrt(max(1, per_output))
    return max(1e-6, SAFETY * FLOAT32_EPS * total)


@dataclass
class PairResult:
    pair: str  # "C vs reference", "C vs onnxruntime", ...
    output: str
    metrics: Metrics
    passed: bool
    limit: str  # the threshold applied, e.g. "l2r <= 3.1e-06" or "max|d| <= 0"


@dataclass
class ValidationReport:
    model: str
    samples: int
    output_dtype: str
    pairs: list[PairResult]
    runtime: str | None = None  # the original runtime compared with
    runtime_missing: str | None = None  # why there is none (no runtime for the format, not installed)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


_NO_RUNTIME = {"keras": "no original runtime for Keras models (TensorFlow is not a dependency)",
               "zoo": "built-in model: there is no original runtime"}


def validate(model: str | Graph, inputs: str | Path | None = None, n: int = 10, seed: int = 0,
             max_l2r: float | None = None, max_int8_diff: int = 0, runtime_max_l2r: float = 5e-2,
             input_shape: tuple[int, ...] | None = None) -> ValidationReport:
    """Validate ``model`` (a path, ``zoo:NAME`` or a Graph) on ``inputs`` or ``n`` seeded random samples.
    ``max_l2r`` None means ``float_tolerance(graph)``; ``input_shape`` fixes an ONNX model's dynamic
    dimensions."""
    graph = model if isinstance(model, Graph) else load(model, input_shape)
    if max_l2r is None:
        max_l2r = float_tolerance(graph)
    samples = load_inputs(graph, inputs) if inputs else random_inputs(graph, n, seed)
    with tempfile.TemporaryDirectory(prefix="tinyscope-validate-") as tmp:
        code = generate(graph, Path(tmp) / "c", "network")
        ours = HostNetwork(compile_host(code, Path(tmp)), code, graph).run_batch(samples)
    ref = np.stack([reference.run(graph, [x[None]])[0][0] for x in samples])
    int8 = graph.output_tensors()[0].dtype is DType.INT8
    pairs = [("C vs reference", ref, max_l2r)]
    rt = original_runtime_name(graph)
    orig = run_original(graph, samples) if rt else None
    if orig is not None:
        pairs.append((f"C vs {rt}", orig, runtime_max_l2r))
    missing = None
    if orig is None:
        missing = (f"{rt} is not installed or cannot read this model" if rt
                   else _NO_RUNTIME.get(graph.source_format, f"no original runtime for {graph.source_format} models"))
    report = ValidationReport(graph.source, len(samples), graph.output_tensors()[0].dtype.value, [],
                              rt if orig is not None else None, missing)
    for label, other, limit in pairs:
        m = compare(ours, other)
        exact = int8 and label == "C vs reference"
        ok = m.max_abs <= max_int8_diff if exact else m.l2r <= limit
        text = f"max|d| <= {max_int8_diff}" if exact else f"l2r <= {limit:.2g}"
        report.pairs.append(PairResult(label, graph.outputs[0], m, ok, text))
        if not ok:
            report.failures.append(label)
    return report
