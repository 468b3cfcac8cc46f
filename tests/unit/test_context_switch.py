"""Exception entries and returns become call stacks that follow the running context (pure event
rewriting): a return to the interrupted context changes nothing, a return to another task's frame is a
switch whose frames are kept and reopened when that task runs again."""

from __future__ import annotations

import numpy as np

from tinyscope.sim.result import (
    CALL,
    EVENT_DTYPE,
    EXC_ENTER,
    EXC_LEAVE,
    RESUME,
    RESUMED,
    RETURN,
    switch_contexts,
)

MAIN, TICK, PENDSV, TASK_A, TASK_B, WORK = 0x100, 0x200, 0x300, 0x400, 0x500, 0x600
FRAME_MSP, FRAME_A, FRAME_B = 0x2001FFE0, 0x20000FE0, 0x20001FE0


def _events(rows):
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for k, row in enumerate(rows):
        ev[k] = row
    return ev


def _stacks(ev) -> list[tuple[str, tuple[int, ...]]]:
    """(kind, the open frames after it) per event: what every reader replays."""
    stack, out = [], []
    for kind, pc in zip(ev["kind"].tolist(), ev["pc"].tolist()):
        if kind in (CALL, RESUME):
            stack.append(pc)
        else:
            stack.pop()
        out.append(({CALL: "call", RESUME: "resume", RETURN: "return"}[kind], tuple(stack)))
    return out


def test_an_interrupt_that_returns_where_it_was_taken_is_a_nested_call():
    ev = switch_contexts(_events([(1, CALL, MAIN), (5, EXC_ENTER, FRAME_MSP), (5, CALL, TICK), (9, RETURN, 0),
                                  (9, EXC_LEAVE, FRAME_MSP), (9, RESUMED, MAIN + 8)]))
    assert ev["kind"].tolist() == [CALL, CALL, RETURN] and ev["pc"].tolist()[:2] == [MAIN, TICK]


def test_a_task_switch_keeps_each_tasks_frames():
    ev = switch_contexts(_events([
        (1, CALL, MAIN),
        (2, EXC_ENTER, FRAME_MSP), (2, CALL, PENDSV), (3, RETURN, 0),  # the scheduler starts task A
        (3, EXC_LEAVE, FRAME_A), (3, RESUMED, TASK_A),
        (4, CALL, WORK),  # A calls work(), and is preempted inside it
        (5, EXC_ENTER, FRAME_A), (5, CALL, TICK), (6, RETURN, 0), (6, CALL, PENDSV), (7, RETURN, 0),  # tail-chain
        (7, EXC_LEAVE, FRAME_B), (7, RESUMED, TASK_B),  # B runs for the first time
        (8, EXC_ENTER, FRAME_B), (8, CALL, PENDSV),  # PendSV leaves its frame open: closed at its return
        (9, EXC_LEAVE, FRAME_A), (9, RESUMED, WORK + 0x10),  # back to A, still inside work()
        (10, RETURN, 0)]))
    assert _stacks(ev) == [
        ("call", (MAIN,)), ("call", (MAIN, PENDSV)), ("return", (MAIN,)),
        ("return", ()), ("call", (TASK_A,)), ("call", (TASK_A, WORK)),
        ("call", (TASK_A, WORK, TICK)), ("return", (TASK_A, WORK)), ("call", (TASK_A, WORK, PENDSV)),
        ("return", (TASK_A, WORK)),
        ("return", (TASK_A,)), ("return", ()), ("call", (TASK_B,)),
        ("call", (TASK_B, PENDSV)), ("return", (TASK_B,)),
        ("return", ()), ("resume", (TASK_A,)), ("resume", (TASK_A, WORK)),
        ("return", (TASK_A,))]
    assert ev["cycle"].tolist()[-4:] == [9, 9, 9, 10]


def test_events_without_exceptions_are_unchanged():
    plain = _events([(1, CALL, MAIN), (2, RETURN, 0)])
    assert switch_contexts(plain) is plain
