"""The core, tested directly: the arena planner's invariants (in the style of tinygrad's memory
planner tests), the schedule, the verifier's refusals, TFLite's fixed-point arithmetic against its
definition in exact integers, and sample conforming."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyscope
from tinyscope.errors import InputError, ShapeError
from tinyscope.frontend.zoo import NAMES as ZOO
from tinyscope.ir import RELU, AddAttrs, ConvAttrs, FullyConnectedAttrs, OpType, PoolAttrs, ReshapeAttrs
from tinyscope.ir import fixedpoint as fx
from tinyscope.ir.builder import GraphBuilder
from tinyscope.ir.graph import DType, Graph, Op
from tinyscope.ir.ops import OpGroup
from tinyscope.ir.verify import verify
from tinyscope.plan.arena import ALIGN, plan_arena
from tinyscope.plan.schedule import alias_roots, schedule
from tinyscope.reference.inputs import conform

# ---------------------------------------------------------------- graphs


@st.composite
def random_graphs(draw) -> Graph:
    """Chains of 1x1 convs, pools and residual adds (long lifetimes), ending in reshape + dense."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b = GraphBuilder("g")
    h = w = draw(st.sampled_from([4, 8, 16]))
    c = draw(st.integers(1, 8))
    x = b.input("x", (1, h, w, c))
    same_shape: dict[tuple, list[str]] = {(h, w, c): [x]}
    for i in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "add"]))
        if kind == "pool" and h % 2 == 0 and h > 2:
            x = b.op(OpType.MAX_POOL_2D, f"p{i}", [x], PoolAttrs())
            h, w = h // 2, w // 2
        elif kind == "add" and len(same_shape.get((h, w, c), [])) > 1:
            other = draw(st.sampled_from(same_shape[(h, w, c)][:-1]))
            x = b.op(OpType.ADD, f"a{i}", [x, other], AddAttrs())
        else:
            oc = draw(st.integers(1, 12))
            wt = b.const(f"w{i}", rng.standard_normal((oc, 1, 1, c)).astype(np.float32))
            bias = b.const(f"b{i}", np.zeros(oc, np.float32))
            x = b.op(OpType.CONV_2D, f"c{i}", [x, wt, bias], ConvAttrs(act=RELU))
            c = oc
        same_shape.setdefault((h, w, c), []).append(x)
    x = b.op(OpType.RESHAPE, "flat", [x], ReshapeAttrs((1, h * w * c)))
    wt = b.const("wd", rng.standard_normal((3, h * w * c)).astype(np.float32))
    y = b.op(OpType.FULLY_CONNECTED, "fc", [x, wt, b.const("bd", np.zeros(3, np.float32))], FullyConnectedAttrs())
    return b.finish([y])


def check_arena_invariants(g: Graph) -> None:
    steps = schedule(g)
    plan = plan_arena(g, steps)
    bufs = list(plan.buffers.values())
    for b in bufs:
        assert b.offset % ALIGN == 0, b
        assert b.offset + b.size <= plan.size
        assert b.first <= b.last
        assert g.tensors[b.tensor].nbytes == b.size
    for i, a in enumerate(bufs):  # buffers live in a common step never share a byte
        for b in bufs[i + 1:]:
            if a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)
    for alias, root in alias_roots(g).items():  # a reshape is its input's bytes
        assert plan.location(alias) == plan.location(root)
    for s in steps:  # every activation a step touches has a place; graph I/O take no arena bytes
        for t in (*s.inputs, s.output):
            kind, where = plan.location(t)
            assert kind in ("arena", "input", "output")
    assert not {plan.root(n) for n in (*g.inputs, *g.outputs)} & plan.buffers.keys()
    peak = max((sum(b.size for b in bufs if b.first <= s.index <= b.last) for s in steps), default=0)
    assert peak <= plan.size <= sum(-(-b.size // ALIGN) * ALIGN for b in bufs)


@settings(max_examples=60, deadline=None)
@given(random_graphs())
def test_arena_invariants_on_random_graphs(g):
    check_arena_invariants(g)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_arena_invariants_on_the_zoo(name):
    check_arena_invariants(tinyscope.load(f"zoo:{name}"))


@settings(max_examples=40, deadline=None)
@given(random_graphs())
def test_schedule_runs_every_op_once_in_order(g):
    steps = schedule(g)
    ops = [op for s in steps for op in s.ops]  # every op once; reshapes are aliases, not kernel calls
    assert sorted(map(id, ops)) == sorted(id(op) for op in g.ops if op.type not in OpGroup.ALIAS)
    roots = alias_roots(g)
    ready = set(g.inputs) | {n for n, t in g.tensors.items() if t.data is not None}
    for s in steps:
        for op in s.ops:
            assert {roots.get(t, t) for t in op.inputs} <= ready, (s.index, op.name)
            ready |= set(op.outputs)
    assert [s.index for s in steps] == list(range(len(steps)))


# ---------------------------------------------------------------- the verifier refuses


def _small() -> Graph:
    b = GraphBuilder("g")
    x = b.input("x", (1, 4, 4, 2))
    w = b.const("w", np.ones((3, 1, 1, 2), np.float32))
    y = b.op(OpType.CONV_2D, "c", [x, w, b.const("b", np.zeros(3, np.float32))], ConvAttrs())
    return b.finish([y])


@pytest.mark.parametrize("damage, word", [
    (lambda g: g.outputs.__setitem__(0, "nowhere"), "not a tensor"),
    (lambda g: g.ops[0].inputs.__setitem__(0, "ghost"), "unknown input"),
    (lambda g: setattr(g.tensors[g.ops[0].outputs[0]], "shape", (1, 4, 4, 5)), "output shape"),
    (lambda g: setattr(g.tensors["w"], "dtype", DType.INT8), "float op with int8 weights"),
    (lambda g: g.ops.insert(0, Op(OpType.RESHAPE, "r", [g.ops[0].outputs[0]], ["early"], ReshapeAttrs((1, 48)))),
     "before it is computed"),
    (lambda g: g.ops.clear(), "never computed"),
    (lambda g: setattr(g.tensors["w"], "data", np.ones((3, 1, 1, 1), np.float32)), "its record says float32"),
    (lambda g: g.tensors["w"].data.__setitem__((0, 0, 0, 0), np.nan), "not finite"),
    (lambda g: g.outputs.__setitem__(0, "x"), "never computed|is a graph input"),
])
def test_verifier_refusals(damage, word):
    g = _small()
    if "early" in word or "before" in word:
        from tinyscope.ir.graph import Tensor
        g.tensors["early"] = Tensor("early", (1, 48), DType.FLOAT32, None, None)
    damage(g)
    with pytest.raises(ShapeError, match=word):
        verify(g)


# ---------------------------------------------------------------- fixed point, by definition

I32 = st.integers(-(2**31), 2**31 - 1)


def srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul in exact integers."""
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) >> 31  # C division truncates toward zero
    return q if ab + nudge >= 0 else -q


def rdbpot(x: int, e: int) -> int:
    """gemmlowp RoundingDivideByPOT in exact integers."""
    mask = (1 << e) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if (x & mask) > threshold else 0)


@given(I32, I32)
def test_saturating_rounding_doubling_high_mul(a, b):
    got = fx.saturating_rounding_doubling_high_mul(np.array([a], np.int64), np.array([b], np.int64))
    assert int(got[0]) == srdhm(a, b)


@given(I32, st.integers(0, 31))
def test_rounding_divide_by_pot(x, e):
    assert int(fx.rounding_divide_by_pot(np.array([x], np.int64), np.array([e], np.int64))[0]) == rdbpot(x, e)


@given(st.floats(1e-6, 0.999, allow_nan=False), st.integers(-(2**20), 2**20))
def test_quantized_multiplier_tracks_the_real_one(real, x):
    mult, shift = fx.quantize_multiplier(real)
    assert 2**30 <= mult < 2**31
    got = int(fx.multiply_by_quantized_multiplier(np.array([x], np.int64), np.array([mult]), np.array([shift]))[0])
    left, right = max(shift, 0), max(-shift, 0)
    assert got == rdbpot(srdhm(x * (1 << left), mult), right)
    assert abs(got - x * real) <= 1 + abs(x) * 2**-30


# ---------------------------------------------------------------- conforming samples


def test_conform_reshapes_quantizes_and_refuses():
    g = tinyscope.load("zoo:tiny-dscnn-int8")
    t = g.input_tensors()[0]
    xs = conform(g, np.zeros((2, t.size), np.float32))
    assert xs.shape == (2, *t.shape[1:]) and xs.dtype == np.int8
    q = t.quant
    v = conform(g, np.full(t.size, 2.5 * float(q.scale[0]), np.float32))  # half rounds away from zero
    assert int(v.flat[0]) == 3 + int(q.zero_point[0])
    with pytest.raises(InputError, match="whole samples"):
        conform(g, np.zeros(t.size + 1, np.float32))
    with pytest.raises(InputError, match="outside int8"):
        conform(g, np.full(t.size, 300, np.int32))
    with pytest.raises(InputError, match="float32"):
        conform(tinyscope.load("zoo:tiny-dscnn"), np.zeros(t.size, np.int32))
