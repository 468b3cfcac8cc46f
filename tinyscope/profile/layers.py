"""Cycles per layer from the ITM markers the generated code writes at layer boundaries (stimulus
port 1: (layer << 1) | end), joined with the analyze figures of the ops each layer runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyscope.ir.graph import Graph
from tinyscope.plan.analyze import op_macc
from tinyscope.plan.schedule import schedule
from tinyscope.sim.result import STALL_KINDS, SimResult
from tinyscope.targets.armv7m import ITM_LAYER_PORT, decode_itm_layer


@dataclass
class LayerRow:
    c_id: int
    m_id: int
    name: str
    op: str
    macc: int
    start: int  # cycle (simulator clock)
    cycles: int
    cycles_per_macc: float
    share: float
    icache_miss: int
    dcache_miss: int
    # stall cycles of each kind inside the layer (sim.result.STALL_KINDS), from the markers' running totals
    stall_load_use: int = 0
    stall_fp: int = 0
    stall_dep: int = 0
    stall_branch: int = 0
    stall_ifetch: int = 0
    stall_dmem: int = 0


@dataclass
class Span:
    """What happened between a marker's begin and end words (added up when it is entered again)."""
    start: int
    cycles: int = 0
    icache_miss: int = 0
    dcache_miss: int = 0
    stalls: np.ndarray = field(default_factory=lambda: np.zeros(len(STALL_KINDS), np.int64))
    count: int = 0

    def stall_fields(self) -> dict[str, int]:
        return {f"stall_{k}": int(v) for k, v in zip(STALL_KINDS, self.stalls)}


def marker_spans(result: SimResult) -> dict[int, Span]:
    """Per marker id, from ``(id << 1) | end`` words on ITM_LAYER_PORT: every figure is the difference of
    the running totals the simulator keeps in each ITM record."""
    begin: dict[int, np.void] = {}
    spans: dict[int, Span] = {}
    for rec in result.itm[result.itm["port"] == ITM_LAYER_PORT]:
        mid, end = decode_itm_layer(int(rec["value"]))
        if not end:
            begin[mid] = rec
        elif mid in begin:
            b = begin.pop(mid)
            sp = spans.setdefault(mid, Span(int(b["cycle"])))
            sp.cycles += int(rec["cycle"]) - int(b["cycle"])
            sp.icache_miss += int(rec["icache_miss"]) - int(b["icache_miss"])
            sp.dcache_miss += int(rec["dcache_miss"]) - int(b["dcache_miss"])
            sp.stalls += rec["stalls"].astype(np.int64) - b["stalls"].astype(np.int64)
            sp.count += 1
    return spans


def layer_table(result: SimResult, graph: Graph) -> list[LayerRow]:
    steps = schedule(graph)
    spans = marker_spans(result)
    total = sum(s.cycles for s in spans.values()) or 1
    rows = []
    for s in steps:
        sp = spans.get(s.index)
        if sp is None:
            continue
        macc = sum(op_macc(graph, op) for op in s.ops)
        rows.append(LayerRow(s.index, s.main.m_id, s.name, "+".join(op.type.value for op in s.ops), macc, sp.start,
                             sp.cycles, sp.cycles / macc if macc else 0.0, sp.cycles / total, sp.icache_miss,
                             sp.dcache_miss, **sp.stall_fields()))
    return rows
