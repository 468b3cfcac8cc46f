"""``validate``: the generated C, built for this machine and run in a child process, against the
reference executor and the model's original runtime, with X-CUBE-AI's metrics.

Thresholds (defaults, all overridable):
- C vs reference: float32 l2r <= 1e-6; int8 outputs equal (max |difference| <= 0).
- C vs original runtime (LiteRT reference kernels, onnxruntime): l2r <= 5e-2. Runtimes round
  differently (onnxruntime requantizes in float; hybrid TFLite models quantize activations), so
  this pair is a sanity check, the reference pair is the contract.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyscope import reference
from tinyscope.build.host import HostNetwork, compile_host
from tinyscope.codegen import generate
from tinyscope.frontend import load
from tinyscope.ir.graph import DType, Graph
from tinyscope.reference.inputs import load_inputs, random_inputs
from tinyscope.reference.runtimes import original_runtime_name, run_original
from tinyscope.report.metrics import Metrics, compare


@dataclass
class PairResult:
    pair: str  # "C vs reference", "C vs onnxruntime", ...
    output: str
    metrics: Metrics
    passed: bool


@dataclass
class ValidationReport:
    model: str
    samples: int
    output_dtype: str
    pairs: list[PairResult]
    runtime_missing: str | None = None  # the original runtime's name when it is not installed
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def validate(model: str | Graph, inputs: str | Path | None = None, n: int = 10, seed: int = 0,
             max_l2r: float = 1e-6, max_int8_diff: int = 0, runtime_max_l2r: float = 5e-2) -> ValidationReport:
    """Validate ``model`` (a path, ``zoo:NAME`` or a Graph) on ``inputs`` or ``n`` seeded random samples."""
    graph = model if isinstance(model, Graph) else load(model)
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
    report = ValidationReport(graph.source, len(samples), graph.output_tensors()[0].dtype.value, [],
                              rt if rt and orig is None else None)
    for label, other, limit in pairs:
        m = compare(ours, other)
        ok = m.max_abs <= max_int8_diff if int8 and label == "C vs reference" else m.l2r <= limit
        report.pairs.append(PairResult(label, graph.outputs[0], m, ok))
        if not ok:
            report.failures.append(label)
    return report
