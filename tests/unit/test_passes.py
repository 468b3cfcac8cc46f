"""The IR's rewrites (ir/passes.py) called directly: what each must fold, what it must leave alone,
and that the rewritten graph still verifies and computes the same output as before."""

from __future__ import annotations

import numpy as np

from tinyscope import reference
from tinyscope.ir import RELU, AddAttrs, ConvAttrs, OpType
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.ops import RELU6, ActivationAttrs, PadAttrs, PoolAttrs
from tinyscope.ir.passes import fold_activations, fold_pads

RNG = np.random.default_rng(7)


def _conv(b: GraphBuilder, name: str, x: str, c: int, oc: int, **attrs) -> str:
    w = b.const(f"{name}_w", RNG.standard_normal((oc, 3, 3, c)).astype(np.float32))
    bias = b.const(f"{name}_b", RNG.standard_normal(oc).astype(np.float32))
    return b.op(OpType.CONV_2D, name, [x, w, bias], ConvAttrs(**attrs))


def _same_output(before, after) -> None:
    x = RNG.standard_normal(before.input_tensors()[0].shape).astype(np.float32)
    np.testing.assert_array_equal(reference.run(before, [x])[0], reference.run(after, [x])[0])


def test_a_lone_activation_rides_on_the_conv_before_it():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    y = b.op(OpType.ACTIVATION, "relu", [_conv(b, "c", x, 2, 4)], ActivationAttrs(RELU))
    g = b.finish([y])
    f = fold_activations(g)
    assert [op.type for op in f.ops] == [OpType.CONV_2D] and f.ops[0].attrs.act == RELU
    assert f.outputs == [f.ops[0].outputs[0]] and len(g.ops) == 2  # the input graph is left as it was
    _same_output(g, f)


def test_activations_that_cannot_fold_stay():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    c = _conv(b, "c", x, 2, 4, act=RELU6)  # already clamped: a second clamp is its own op
    r1 = b.op(OpType.ACTIVATION, "relu", [c], ActivationAttrs(RELU))
    c2 = _conv(b, "c2", r1, 4, 4)
    shared = b.op(OpType.ACTIVATION, "relu2", [c2], ActivationAttrs(RELU))  # c2 is read twice: no fold
    y = b.op(OpType.ADD, "add", [c2, shared], AddAttrs())
    g = b.finish([y])
    f = fold_activations(g)
    assert [op.type for op in f.ops] == [op.type for op in g.ops]
    _same_output(g, f)


def test_an_activation_after_a_pool_folds_into_the_pool():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    p = b.op(OpType.MAX_POOL_2D, "pool", [x], PoolAttrs())
    g = b.finish([b.op(OpType.ACTIVATION, "relu", [p], ActivationAttrs(RELU))])
    f = fold_activations(g)
    assert [op.type for op in f.ops] == [OpType.MAX_POOL_2D] and f.ops[0].attrs.act == RELU
    _same_output(g, f)


def test_a_pad_folds_into_the_conv_that_reads_it():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    p = b.op(OpType.PAD, "pad", [x], PadAttrs((1, 2, 0, 1)))
    g = b.finish([_conv(b, "c", p, 2, 3, padding=(1, 0, 1, 1))])
    f = fold_pads(g)
    assert [op.type for op in f.ops] == [OpType.CONV_2D]
    assert f.ops[0].attrs.padding == (2, 2, 1, 2) and f.ops[0].inputs[0] == "x"
    assert f.tensors[f.outputs[0]].shape == g.tensors[g.outputs[0]].shape
    _same_output(g, f)


def test_a_pad_read_by_two_ops_or_not_by_a_conv_stays():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    p = b.op(OpType.PAD, "pad", [x], PadAttrs((1, 1, 1, 1)))
    c = _conv(b, "c", p, 2, 2, padding=(1, 1, 1, 1))
    pool = b.op(OpType.MAX_POOL_2D, "pool", [p], PoolAttrs(kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1)))
    g = b.finish([b.op(OpType.ADD, "add", [pool, c], AddAttrs())])
    f = fold_pads(g)
    assert [op.type for op in f.ops] == [op.type for op in g.ops]
    _same_output(g, f)
