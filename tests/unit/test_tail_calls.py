"""Tail-call events become calls nested in the function that made them (pure event rewriting)."""

from __future__ import annotations

import numpy as np

from tinyscope.sim.result import EVENT_DTYPE, TAIL_CALL, nest_tail_calls


def _events(rows):
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for k, (c, kind, pc) in enumerate(rows):
        ev[k] = (c, kind, pc)
    return ev


def test_one_return_closes_the_tail_callee_and_its_caller():
    # main calls B at 10; B tail-calls C at 20; C returns (to main) at 50; main calls D at 60, returns at 70
    ev = nest_tail_calls(_events([(10, 0, 0xB0), (20, TAIL_CALL, 0xC0), (50, 1, 0x100), (60, 0, 0xD0), (70, 1, 0x104)]))
    assert ev["kind"].tolist() == [0, 0, 1, 1, 0, 1]
    assert ev["pc"].tolist()[:2] == [0xB0, 0xC0]
    assert ev["cycle"].tolist() == [10, 20, 50, 50, 60, 70]


def test_chained_tail_calls_and_plain_events_unchanged():
    ev = nest_tail_calls(_events([(1, 0, 0xB0), (2, TAIL_CALL, 0xC0), (3, TAIL_CALL, 0xD0), (9, 1, 0x100)]))
    assert ev["kind"].tolist() == [0, 0, 0, 1, 1, 1]
    plain = _events([(1, 0, 0xB0), (2, 1, 0x100)])
    assert nest_tail_calls(plain) is plain
