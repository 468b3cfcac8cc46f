"""The timing hooks on a hand-built state, without firmware or unicorn (tests/timing_state.py: a few Thumb
instructions decoded into code tables, ``build_state`` makes the state array, and ``code_hook`` is called for
each instruction as unicorn would call it; the hook reads only the state). Each case checks one rule of
cortex_m7.toml by the marginal cost of repeating a pattern, so the pipeline's start-up does not count."""

from __future__ import annotations

import pytest

from tests.timing_state import CORE, marginal

ADD_R1 = (0xF101, 0x0101)  # add.w r1, r1, #1
ADD_R2 = (0xF102, 0x0202)  # add.w r2, r2, #2
ADD_R0 = (0xF100, 0x0001)  # add.w r0, r0, #1 (reads r0)
LDR_R0 = (0x6838,)  # ldr r0, [r7]
LDRB_R0 = (0x7838,)  # ldrb r0, [r7]


def test_independent_alu_ops_dual_issue():
    assert marginal([ADD_R1, ADD_R2]) == 2 / CORE.issue.width  # [issue] width = 2


def test_a_dependent_alu_chain_waits_the_alu_latency():
    assert marginal([ADD_R1]) == CORE.latency.alu


@pytest.mark.parametrize(("load", "latency"), [(LDR_R0, "load_word"), (LDRB_R0, "load_narrow")])
def test_a_load_feeds_the_next_alu_op_after_its_latency(load, latency):
    """load, then an add of its result: the add waits the load's latency and the next load pairs with it."""
    assert marginal([load, ADD_R0]) == getattr(CORE.latency, latency)
    assert marginal([load, ADD_R1]) == 2 / CORE.issue.width  # an add of another register pairs

