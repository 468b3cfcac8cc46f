"""The IR's rewrites (ir/passes.py) called directly: what each must fold, what it must leave alone,
and that the rewritten graph still verifies and computes the same output as before."""

from __future__ import annotations

import numpy as np

from tinyscope import reference
from tinyscope.ir import RELU, AddAttrs, ConvAttrs, OpType
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.graph import DType, Quant
from tinyscope.ir.ops import (
    NO_ACT,
    RELU6,
    ActivationAttrs,
    FullyConnectedAttrs,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
)
from tinyscope.ir.passes import fold_activations, fold_pads
from tinyscope.ir.verify import verify

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


def _relu(b: GraphBuilder, name: str, x: str, act=RELU, **kw) -> str:
    return b.op(OpType.ACTIVATION, name, [x], ActivationAttrs(act), **kw)


def test_each_pass_returns_a_verified_copy_and_leaves_its_input_as_it_was():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    p = b.op(OpType.PAD, "pad", [x], PadAttrs((1, 1, 1, 1)))
    g = b.finish([_relu(b, "relu", _conv(b, "c", p, 2, 3))])
    before = [(op.type, op.inputs[:], op.attrs) for op in g.ops], dict(g.tensors), g.outputs[:]
    f = fold_activations(fold_pads(g))
    assert f is not g and verify(f) is f and verify(g) is g
    assert ([(op.type, op.inputs, op.attrs) for op in g.ops], g.tensors, g.outputs) == before
    assert [op.type for op in f.ops] == [OpType.CONV_2D]
    assert f.ops[0].attrs.padding == (1, 1, 1, 1) and f.ops[0].attrs.act == RELU
    assert set(f.tensors) == set(g.tensors) - {"pad", "relu"}  # the bypassed outputs are gone, nothing else
    _same_output(g, f)


def test_a_graph_without_candidates_comes_back_unchanged():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    g = b.finish([b.op(OpType.MAX_POOL_2D, "pool", [_conv(b, "c", x, 2, 3, act=RELU)], PoolAttrs())])
    for fold in (fold_activations, fold_pads):
        f = fold(g)
        assert [(op.type, op.name, op.inputs, op.outputs, op.attrs) for op in f.ops] == \
            [(op.type, op.name, op.inputs, op.outputs, op.attrs) for op in g.ops]
        assert f.outputs == g.outputs and set(f.tensors) == set(g.tensors)
        _same_output(g, f)


def test_every_foldable_activation_folds_into_its_own_producer():
    """A chain of conv, dense and add each followed by its own activation: each rides on its producer."""
    b = GraphBuilder("g")
    x = b.input("x", (1, 4, 4, 2))
    c = _relu(b, "r1", _conv(b, "c", x, 2, 2, padding=(1, 1, 1, 1)))
    a = _relu(b, "r2", b.op(OpType.ADD, "add", [c, x], AddAttrs()), RELU6)
    flat = b.op(OpType.RESHAPE, "flat", [a], ReshapeAttrs((1, 32)))
    w = b.const("fc_w", RNG.standard_normal((5, 32)).astype(np.float32))
    bias = b.const("fc_b", RNG.standard_normal(5).astype(np.float32))
    g = b.finish([_relu(b, "r3", b.op(OpType.FULLY_CONNECTED, "fc", [flat, w, bias], FullyConnectedAttrs()))])
    f = fold_activations(g)
    assert [(op.type, getattr(op.attrs, "act", None)) for op in f.ops] == [
        (OpType.CONV_2D, RELU), (OpType.ADD, RELU6), (OpType.RESHAPE, None), (OpType.FULLY_CONNECTED, RELU)]
    _same_output(g, f)


def test_an_activation_on_a_graph_output_or_after_another_clamp_stays():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    c = _conv(b, "c", x, 2, 2)
    r = _relu(b, "r", c)  # c is a graph output too: its values must stay unclamped
    c2 = _conv(b, "c2", x, 2, 2)
    r6 = _relu(b, "r6", _relu(b, "r2", c2), RELU6)  # r2 folds into c2; r6's producer is then clamped
    g = b.finish([c, r, r6])
    f = fold_activations(g)
    assert [(op.name, op.attrs.act) for op in f.ops] == [("c", NO_ACT), ("r", RELU), ("c2", RELU), ("r6", RELU6)]
    assert f.outputs == ["c", "r", "r6"] and f.ops[3].inputs == ["c2"]
    x0 = RNG.standard_normal((1, 8, 8, 2)).astype(np.float32)
    for a, e in zip(reference.run(g, [x0]), reference.run(f, [x0])):
        np.testing.assert_array_equal(a, e)


def _int8_conv(b: GraphBuilder, name: str, x: str, oc: int, out_quant: Quant, **attrs) -> str:
    c = b.graph.tensors[x].shape[-1]
    w = b.const(f"{name}_w", RNG.integers(-127, 128, (oc, 3, 3, c)).astype(np.int8), quant=Quant.make(0.0005, 0))
    bias = b.const(f"{name}_b", RNG.integers(-100, 100, oc).astype(np.int32), quant=Quant.make(0.000025, 0))
    return b.op(OpType.CONV_2D, name, [x, w, bias], ConvAttrs(**attrs), out_quant=out_quant)


def _int8_input() -> np.ndarray:
    return RNG.integers(-128, 128, (1, 8, 8, 2)).astype(np.int8)


def test_a_folded_int8_activation_keeps_its_output_quantization():
    """The bypassed tensor's quantization moves to the kept one, so the conv requantizes straight to the
    activation's scale: one rounding where there were two (at most one step apart, never saturated here)."""
    qa, qc, qr = Quant.make(0.05, -3), Quant.make(0.1, 5), Quant.make(0.05, -128)
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2), DType.INT8, qa)
    g = b.finish([_relu(b, "relu", _int8_conv(b, "c", x, 4, qc), out_quant=qr)])
    f = fold_activations(g)
    assert [op.type for op in f.ops] == [OpType.CONV_2D] and f.ops[0].attrs.act == RELU
    kept = f.tensors[f.outputs[0]].quant
    assert (kept.scale[0], kept.zero_point[0]) == (qr.scale[0], qr.zero_point[0])
    assert g.tensors["c"].quant is qc  # the input graph keeps its own
    xi = _int8_input()
    diff = reference.run(g, [xi])[0].astype(int) - reference.run(f, [xi])[0]
    assert np.abs(diff).max() <= 1


def test_an_int8_activation_that_requantizes_after_a_max_pool_keeps_the_output():
    """An int8 pool copies values, so a ReLU that changes the quantization stays its own op (it used to be
    folded into the pool, which changed the output by up to 102 steps)."""
    qa, qr = Quant.make(0.05, -3), Quant.make(0.025, -128)
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2), DType.INT8, qa)
    p = b.op(OpType.MAX_POOL_2D, "pool", [x], PoolAttrs(), out_quant=qa)
    g = b.finish([_relu(b, "relu", p, out_quant=qr)])
    xi = _int8_input()
    np.testing.assert_array_equal(reference.run(g, [xi])[0], reference.run(fold_activations(g), [xi])[0])


def test_stacked_pads_all_fold_into_a_depthwise_conv():
    b = GraphBuilder("g")
    x = b.input("x", (1, 6, 6, 3))
    p1 = b.op(OpType.PAD, "pad1", [x], PadAttrs((1, 0, 2, 0)))
    p2 = b.op(OpType.PAD, "pad2", [p1], PadAttrs((0, 1, 0, 1)))
    w = b.const("dw_w", RNG.standard_normal((1, 3, 3, 3)).astype(np.float32))
    bias = b.const("dw_b", RNG.standard_normal(3).astype(np.float32))
    g = b.finish([b.op(OpType.DEPTHWISE_CONV_2D, "dw", [p2, w, bias], ConvAttrs(padding=(1, 1, 0, 0)))])
    f = fold_pads(g)
    assert [op.type for op in f.ops] == [OpType.DEPTHWISE_CONV_2D]
    assert f.ops[0].attrs.padding == (2, 2, 2, 1) and f.ops[0].inputs[0] == "x"
    assert "pad1" not in f.tensors and "pad2" not in f.tensors
    _same_output(g, f)


def test_a_pad_that_is_a_graph_output_stays():
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2))
    p = b.op(OpType.PAD, "pad", [x], PadAttrs((1, 1, 1, 1)))
    g = b.finish([p, _conv(b, "c", p, 2, 2)])
    f = fold_pads(g)
    assert [op.type for op in f.ops] == [OpType.PAD, OpType.CONV_2D] and f.ops[1].attrs.padding == (0, 0, 0, 0)
    x0 = RNG.standard_normal((1, 8, 8, 2)).astype(np.float32)
    for a, e in zip(reference.run(g, [x0]), reference.run(f, [x0])):
        np.testing.assert_array_equal(a, e)


def test_an_int8_pad_folds_bit_exactly():
    """An int8 PAD writes the zero point, which is what the int8 conv pads with: the same bytes."""
    q = Quant.make(0.05, -7)
    b = GraphBuilder("g")
    x = b.input("x", (1, 8, 8, 2), DType.INT8, q)
    p = b.op(OpType.PAD, "pad", [x], PadAttrs((2, 1, 0, 1)), out_quant=q)
    g = b.finish([_int8_conv(b, "c", p, 3, Quant.make(0.1, 5))])
    f = fold_pads(g)
    assert [op.type for op in f.ops] == [OpType.CONV_2D] and f.ops[0].attrs.padding == (2, 1, 0, 1)
    xi = _int8_input()
    np.testing.assert_array_equal(reference.run(g, [xi])[0], reference.run(f, [xi])[0])
