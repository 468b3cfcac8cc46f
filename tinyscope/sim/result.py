"""The record of one simulated run: totals, console text, ITM trace, call/return events, and
per-instruction statistics for the profiler."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# an ITM write as a trace probe would see it, plus the simulator's running miss and instruction counts
ITM_DTYPE = np.dtype([("cycle", "u8"), ("port", "u4"), ("value", "u4"), ("icache_miss", "u8"),
                      ("dcache_miss", "u8"), ("instructions", "u8")])
EVENT_DTYPE = np.dtype([("cycle", "u8"), ("kind", "u1"), ("pc", "u4")])  # kind 0 = call, 1 = return


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
            return SimResult(itm=z["itm"], events=z["events"], pc_stats=stats, **meta)
