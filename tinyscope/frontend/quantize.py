"""Post-training int8 quantization of a float Graph, following TFLite's quantization spec.

Used by the zoo to make int8 models without TensorFlow: weights symmetric per channel (per tensor
for fully connected, as TFLite's converter does), int32 biases with scale in_scale * w_scale,
activations asymmetric per tensor from ranges seen on calibration inputs; pooling and reshape
keep their input's parameters; softmax outputs use scale 1/256 and zero point -128.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyscope import reference
from tinyscope.ir.fixedpoint import round_half_away
from tinyscope.ir.graph import DType, Graph, Quant
from tinyscope.ir.ops import OpGroup, OpType
from tinyscope.ir.verify import verify

_SAME_AS_INPUT = OpGroup.POOL | {OpType.RESHAPE, OpType.PAD}


def _activation_quant(lo: float, hi: float) -> Quant:
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = (hi - lo) / 255.0 or 1.0
    zp = int(np.clip(round_half_away(-128 - lo / scale), -128, 127))
    return Quant.make(np.float32(scale), zp)


def _symmetric(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, Quant]:
    if axis is None:
        scale = np.array([max(np.abs(w).max(), 1e-12) / 127.0], np.float32)
        q = np.clip(round_half_away(w / scale[0]), -127, 127).astype(np.int8)
        return q, Quant.make(scale, 0)
    moved = np.moveaxis(w, axis, 0)
    peak = np.abs(moved.reshape(moved.shape[0], -1)).max(axis=1)
    scale = (np.maximum(peak, 1e-12) / 127.0).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(round_half_away(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, Quant.make(scale, np.zeros(scale.size, np.int32), axis)


def quantize_graph(graph: Graph, calibration: list[np.ndarray]) -> Graph:
    """An int8 copy of a float graph (int8 input and output), calibrated on the given inputs."""
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for x in calibration:
        for name, v in reference.run_all(graph, [x]).items():
            lo[name] = min(lo.get(name, np.inf), float(v.min()))
            hi[name] = max(hi.get(name, -np.inf), float(v.max()))
    g = graph.copy()
    g.name = graph.name + "_int8"
    quant: dict[str, Quant] = {n: _activation_quant(lo[n], hi[n]) for n in g.inputs}
    for op in g.ops:
        out = op.outputs[0]
        if op.type in _SAME_AS_INPUT:
            quant[out] = quant[op.inputs[0]]
        elif op.type is OpType.SOFTMAX:
            quant[out] = Quant.make(np.float32(1.0 / 256.0), -128)
        else:
            quant[out] = _activation_quant(lo[out], hi[out])
        if op.type in OpGroup.WEIGHTED:
            wt, bt = g.tensors[op.inputs[1]], g.tensors[op.inputs[2]]
            axis = {OpType.CONV_2D: 0, OpType.DEPTHWISE_CONV_2D: 3}.get(op.type)
            qw, wq = _symmetric(wt.data, axis)
            g.tensors[wt.name] = replace(wt, dtype=DType.INT8, data=qw, quant=wq)
            in_scale = np.float64(quant[op.inputs[0]].scale[0])
            bscale = in_scale * wq.scale.astype(np.float64)
            qb = round_half_away(bt.data.astype(np.float64) / bscale).astype(np.int32)
            bq = Quant.make(bscale.astype(np.float32), 0, 0 if bscale.size > 1 else None)
            g.tensors[bt.name] = replace(bt, dtype=DType.INT32, data=qb, quant=bq)
    for name, q in quant.items():
        t = g.tensors[name]
        g.tensors[name] = replace(t, dtype=DType.INT8, quant=q)
    return verify(g)
