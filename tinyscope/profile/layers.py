"""Cycles per layer from the ITM markers the generated code writes at layer boundaries (stimulus
port 1: (layer << 1) | end), joined with the analyze figures of the ops each layer runs."""

from __future__ import annotations

from dataclasses import dataclass

from tinyscope.ir.graph import Graph
from tinyscope.plan.analyze import op_macc
from tinyscope.plan.schedule import schedule
from tinyscope.sim.result import SimResult
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


def layer_table(result: SimResult, graph: Graph) -> list[LayerRow]:
    steps = schedule(graph)
    begin: dict[int, tuple[int, int, int]] = {}
    spans: dict[int, tuple[int, int, int, int]] = {}
    for rec in result.itm[result.itm["port"] == ITM_LAYER_PORT]:
        layer, end = decode_itm_layer(int(rec["value"]))
        now = (int(rec["cycle"]), int(rec["icache_miss"]), int(rec["dcache_miss"]))
        if not end:
            begin[layer] = now
        elif layer in begin:
            b = begin.pop(layer)
            spans[layer] = (b[0], now[0] - b[0], now[1] - b[1], now[2] - b[2])
    total = sum(s[1] for s in spans.values()) or 1
    rows = []
    for s in steps:
        if s.index not in spans:
            continue
        start, cycles, im, dm = spans[s.index]
        macc = sum(op_macc(graph, op) for op in s.ops)
        rows.append(LayerRow(s.index, s.main.m_id, s.name, "+".join(op.type.value for op in s.ops), macc, start,
                             cycles, cycles / macc if macc else 0.0, cycles / total, im, dm))
    return rows
