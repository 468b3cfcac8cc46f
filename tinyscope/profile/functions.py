"""Cycles per function, like a trace probe's statistics: calls, exclusive and inclusive cycles,
stalls and cache misses. Exclusive figures sum the per-instruction statistics over each symbol;
calls and inclusive cycles replay the call/return events."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyscope.sim.elf import Symbols
from tinyscope.sim.result import CALL, OPENS, STALL_KINDS, SimResult

STALL_COLUMNS = [f"stall_{k}" for k in STALL_KINDS]


@dataclass
class FunctionRow:
    name: str
    addr: int
    calls: int
    exclusive: int
    inclusive: int
    share: float  # exclusive / total
    instructions: int
    stalls: dict[str, int] = field(default_factory=dict)
    icache_miss: int = 0
    dcache_miss: int = 0
    dcache_access: int = 0

    @property
    def per_call(self) -> float:
        return self.inclusive / self.calls if self.calls else float(self.inclusive)


def attribute(result: SimResult, symbols: Symbols) -> np.ndarray:
    """For every stats slot, the index of its symbol in ``symbols.symbols`` (-1 when none)."""
    pcs = result.pcs()
    out = np.full(len(pcs), -1, np.int64)
    addrs = np.array([s.addr for s in symbols.symbols], np.int64)
    ends = np.array([s.addr + max(s.size, 2) for s in symbols.symbols], np.int64)
    if len(addrs):
        i = np.searchsorted(addrs, pcs, side="right") - 1
        ok = (i >= 0) & (pcs < ends[np.clip(i, 0, None)])
        out[ok] = i[ok]
    return out


def replay_calls(result: SimResult, symbols: Symbols) -> tuple[dict[str, int], dict[str, int]]:
    """(calls, inclusive cycles) per function name from the call/return events."""
    calls: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    stack: list[tuple[str, int]] = []
    for cycle, kind, pc in zip(result.events["cycle"], result.events["kind"], result.events["pc"]):
        if kind in OPENS:
            s = symbols.lookup(int(pc))
            name = s.name if s else f"0x{int(pc):08x}"
            if kind == CALL:  # a frame reopened by a task switch is not a call
                calls[name] = calls.get(name, 0) + 1
            stack.append((name, int(cycle)))
        elif stack:
            name, start = stack.pop()
            if all(n != name for n, _ in stack):  # count recursion once
                inclusive[name] = inclusive.get(name, 0) + int(cycle) - start
    return calls, inclusive


def function_table(result: SimResult, symbols: Symbols) -> list[FunctionRow]:
    owner = attribute(result, symbols)
    st = result.pc_stats
    total = max(int(st["cycles"].sum()), 1)
    calls, inclusive = replay_calls(result, symbols)
    rows = []
    for k in np.unique(owner[(owner >= 0) & (st["count"] > 0)]):
        sel = owner == k
        sym = symbols.symbols[int(k)]
        excl = int(st["cycles"][sel].sum())
        rows.append(FunctionRow(
            name=sym.name, addr=sym.addr, calls=calls.get(sym.name, 0), exclusive=excl,
            inclusive=max(inclusive.get(sym.name, excl), excl), share=excl / total,
            instructions=int(st["count"][sel].sum()),
            stalls={c: int(st[c][sel].sum()) for c in STALL_COLUMNS},
            icache_miss=int(st["icache_miss"][sel].sum()), dcache_miss=int(st["dcache_miss"][sel].sum()),
            dcache_access=int(st["dcache_access"][sel].sum())))
    rows.sort(key=lambda r: -r.exclusive)
    return rows
