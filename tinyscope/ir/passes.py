"""Graph -> Graph rewrites shared by the importers (each one a plain function, verified after)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyscope.ir.graph import Graph, Quant
from tinyscope.ir.ops import ConvAttrs, OpGroup, OpType
from tinyscope.ir.verify import verify


def fold_activations(graph: Graph) -> Graph:
    """Fuse a standalone ACTIVATION into its producer when that producer has no activation yet.

    Keras ``Activation``/``ReLU`` layers and ONNX ``Relu``/``Clip`` arrive as their own op; after
    this pass they ride on the conv, dense, pool or add before them, as TFLite's fused activations do.
    """
    g = graph.copy()
    changed = True
    while changed:
        changed = False
        producers = g.producers()
        consumers = g.consumers()
        for op in g.ops:
            if op.type is not OpType.ACTIVATION:
                continue
            src = op.inputs[0]
            prod = producers.get(src)
            if (prod is None or prod.type not in OpGroup.HAS_ACTIVATION
                    or len(consumers.get(src, [])) != 1 or src in g.outputs
                    or not prod.attrs.act.is_none):
                continue
            if prod.type in OpGroup.POOL and not _same_quant(g.tensors[src].quant, g.tensors[op.outputs[0]].quant):
                continue  # an int8 pool copies values: it cannot take on a requantizing activation

            # max pooling commutes with a monotonic clamp; other producers clamp their own output
            prod.attrs = replace(prod.attrs, act=op.attrs.act)
            _bypass(g, op, src)
            changed = True
            break
    return verify(g)


def fold_pads(graph: Graph) -> Graph:
    """Fold a PAD into the conv that reads it (the zero padding a conv applies is the same)."""
    g = graph.copy()
    changed = True
    while changed:
        changed = False
        consumers = g.consumers()
        for op in g.ops:
            if op.type is not OpType.PAD:
                continue
            users = consumers.get(op.outputs[0], [])
            if len(users) != 1 or users[0].type not in OpGroup.CONV or op.outputs[0] in g.outputs:
                continue
            conv = users[0]
            assert isinstance(conv.attrs, ConvAttrs)
            p = tuple(a + b for a, b in zip(conv.attrs.padding, op.attrs.padding))
            conv.attrs = replace(conv.attrs, padding=p)
            conv.inputs[0] = op.inputs[0]
            g.ops.remove(op)
            del g.tensors[op.outputs[0]]
            changed = True
            break
    return verify(g)


def _same_quant(a: Quant | None, b: Quant | None) -> bool:
    if a is None or b is None:
        return a is b
    return np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point)


def _bypass(g: Graph, op, kept: str) -> None:
    """Remove ``op`` and let its output's readers read ``kept`` instead."""
    gone = op.outputs[0]
    g.ops.remove(op)
    for other in g.ops:
        other.inputs = [kept if t == gone else t for t in other.inputs]
    g.outputs = [kept if t == gone else t for t in g.outputs]
    # keep the later (user-visible) name's tensor record: copy its quantization if it had one
    if g.tensors[gone].quant is not None:
        g.tensors[kept].quant = g.tensors[gone].quant
    del g.tensors[gone]
