"""The record of one simulated run: totals, console text, ITM trace, call/return events, and
per-instruction statistics for the profiler."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# an ITM write as a trace probe would see it, plus the simulator's running miss and instruction counts
STALL_KINDS = ("load_use", "fp", "dep", "branch", "ifetch", "dmem")
ITM_DTYPE = np.dtype([("cycle", "u8"), ("port", "u4"), ("value", "u4"), ("icache_miss", "u8"),
                      ("dcache_miss", "u8"), ("instructions", "u8"), ("stalls", "u8", (len(STALL_KINDS),))])
EVENT_DTYPE = np.dtype([("cycle", "u8"), ("kind", "u1"), ("pc", "u4")])
CALL, RETURN = 0, 1  # a frame opened at the callee's entry pc; the innermost frame closed
RESUME = 5  # a frame reopened when a context switch returns to a task it preempted (not a call)
OPENS = (CALL, RESUME)
# the simulator's raw events, rewritten into the three above before any reader sees them:
TAIL_CALL = 2  # a branch to another function's entry (see nest_tail_calls)
EXC_ENTER = 3  # an exception taken; pc: the address of the frame stacked for the interrupted context
EXC_LEAVE = 4  # an exception return that unstacks; pc: the address of the frame it unstacks
RESUMED = 6  # follows EXC_LEAVE; pc: where execution resumes (see switch_contexts)


def nest_tail_calls(events: np.ndarray) -> np.ndarray:
    """Rewrite tail-call events as calls nested in the function that made them.

    A tail callee returns straight to its caller's caller, so one return closes both frames: the callee
    gets a call, its own inclusive time, and that time counts in the tail caller's inclusive time too.
    Every reader of ``SimResult.events`` then sees only calls (0) and returns (1).
    """
    if not len(events) or not (events["kind"] == TAIL_CALL).any():
        return events
    out: list[tuple[int, int, int]] = []
    stack: list[bool] = []  # per open frame: entered by a tail call
    for cycle, kind, pc in zip(events["cycle"].tolist(), events["kind"].tolist(), events["pc"].tolist()):
        if kind in (EXC_ENTER, EXC_LEAVE, RESUMED):
            out.append((cycle, kind, pc))
        elif kind == 1:
            while stack and stack[-1]:
                stack.pop()
                out.append((cycle, 1, pc))
            if stack:
                stack.pop()
            out.append((cycle, 1, pc))
        else:
            stack.append(kind == TAIL_CALL)
            out.append((cycle, 0, pc))
    return _events(out)


def _events(out: list[tuple[int, int, int]]) -> np.ndarray:
    res = np.zeros(len(out), EVENT_DTYPE)
    if out:
        res["cycle"], res["kind"], res["pc"] = (np.array(c) for c in zip(*out))
    return res


def switch_contexts(events: np.ndarray) -> np.ndarray:
    """Rewrite exception entries and returns so the call stacks follow the running context.

    An exception return that unstacks the frame its entry stacked resumes the context it interrupted:
    nothing changes. One that unstacks another frame (PendSV restoring another task's stack) is a
    switch: the interrupted context's frames are closed and kept under their frame's address, and the
    frames of the context resumed are reopened (RESUME, not counted as calls), or, for a context never
    seen (a task's first run), a frame is opened at the PC it resumes at. Frames a handler left open
    are closed at its return. Readers then see only CALL, RETURN and RESUME.
    """
    if not len(events) or not (events["kind"] >= EXC_ENTER).any():
        return events
    out: list[tuple[int, int, int]] = []
    stack: list[int] = []  # the open frames' pcs
    active: list[tuple[int, int]] = []  # per exception: (frame address at entry, stack depth at entry)
    saved: dict[int, list[int]] = {}  # frame address -> the frames of the context preempted there
    leaving: tuple[int, int, int] | None = None  # (entry frame, unstacked frame, depth) awaiting RESUMED
    for cycle, kind, pc in zip(events["cycle"].tolist(), events["kind"].tolist(), events["pc"].tolist()):
        if kind == EXC_ENTER:
            active.append((pc, len(stack)))
        elif kind == EXC_LEAVE:
            if not active:
                continue
            frame, depth = active.pop()
            while len(stack) > depth:  # a handler's frames end at its return
                stack.pop()
                out.append((cycle, RETURN, 0))
            leaving = (frame, pc, depth)
        elif kind == RESUMED:
            if leaving is None:
                continue
            (frame, unstacked, depth), leaving = leaving, None
            if unstacked == frame:
                continue
            base = active[-1][1] if active else 0
            saved[frame] = stack[base:]
            while len(stack) > base:
                stack.pop()
                out.append((cycle, RETURN, 0))
            frames = saved.pop(unstacked, None)
            if frames:
                for f in frames:
                    stack.append(f)
                    out.append((cycle, RESUME, f))
            else:
                stack.append(pc)
                out.append((cycle, CALL, pc))
        elif kind == CALL:
            stack.append(pc)
            out.append((cycle, kind, pc))
        elif stack:
            stack.pop()
            out.append((cycle, kind, pc))
    return _events(out)


@dataclass
class SimResult:
    elf: str
    target: str
    cycles: int  # reset to exit
    instructions: int
    exit_code: int | None
    stdout: str
    itm: np.ndarray  # ITM_DTYPE
    events: np.ndarray  # EVENT_DTYPE
    ranges: list[tuple[int, int, int]]  # code ranges (lo, hi, first index): pc -> stats index
    pc_stats: dict[str, np.ndarray]  # per instruction slot (2-byte granularity), see timing.STAT_NAMES
    stalls: dict[str, int]
    icache: dict[str, int]
    dcache: dict[str, int]
    wall_seconds: float
    timing: bool = True  # False: bare unicorn, no timing model
    events_dropped: int = 0  # call/return events past the buffer (the profile re-runs with a bigger one)
    itm_dropped: int = 0  # ITM records past the buffer
    meta: dict = field(default_factory=dict)
    pc_trace: np.ndarray | None = field(default=None, repr=False)  # simulate(trace=N): the first N PCs; not saved

    def index(self, pc: int) -> int:
        for lo, hi, first in self.ranges:
            if lo <= pc < hi:
                return first + (pc - lo) // 2
        return -1

    def pcs(self) -> np.ndarray:
        """The address of every stats slot."""
        out = np.zeros(len(next(iter(self.pc_stats.values()))), np.int64)
        for lo, hi, first in self.ranges:
            n = (hi - lo + 1) // 2
            out[first:first + n] = lo + 2 * np.arange(n)
        return out

    @property
    def mips(self) -> float:
        return self.instructions / self.wall_seconds / 1e6 if self.wall_seconds > 0 else 0.0

    def save(self, path: str | Path) -> None:
        meta = {k: getattr(self, k) for k in ("elf", "target", "cycles", "instructions", "exit_code", "stdout",
                                              "ranges", "stalls", "icache", "dcache", "wall_seconds", "timing",
                                              "events_dropped", "itm_dropped", "meta")}
        np.savez_compressed(path, meta=np.array(json.dumps(meta)), itm=self.itm, events=self.events,
                            **{f"stat_{k}": v for k, v in self.pc_stats.items()})

    @staticmethod
    def load(path: str | Path) -> SimResult:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            stats = {k[5:]: z[k] for k in z.files if k.startswith("stat_")}
            meta["ranges"] = [tuple(r) for r in meta["ranges"]]
            itm = z["itm"]
            if "stalls" not in (itm.dtype.names or ()):  # saved before ITM records kept stall totals
                old, itm = itm, np.zeros(len(itm), ITM_DTYPE)
                for name in old.dtype.names or ():
                    itm[name] = old[name]
            return SimResult(itm=itm, events=z["events"], pc_stats=stats, **meta)
