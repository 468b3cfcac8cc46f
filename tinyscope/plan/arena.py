"""The activation arena planner: liveness over the schedule, then greedy-by-size offset packing.

Graph inputs and outputs live in the caller's buffers (ST's ``ram (total)`` adds them to the
arena), so they, and any tensor that is an alias of them, take no arena bytes. A step's inputs and
its output are live at the same time (no kernel works in place).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyscope.ir.graph import Graph
from tinyscope.plan.schedule import Step, alias_roots, schedule

ALIGN = 8  # bytes; keeps every buffer word- and double-word-aligned for LDRD/VLDM


@dataclass(frozen=True)
class Buffer:
    tensor: str  # the root tensor (aliases point here)
    size: int  # bytes, before alignment
    first: int  # index of the step that writes it
    last: int  # index of the last step that reads it
    offset: int = -1


@dataclass
class ArenaPlan:
    """Where each activation lives: ``location(name)`` answers for any activation tensor."""

    size: int
    buffers: dict[str, Buffer]  # by root tensor name
    aliases: dict[str, str]  # reshape output -> root tensor
    inputs: list[str]
    outputs: list[str]
    external: dict[str, tuple[str, int]] = field(default_factory=dict)  # root -> ("input"|"output", i)

    def root(self, name: str) -> str:
        return self.aliases.get(name, name)

    def location(self, name: str) -> tuple[str, int]:
        """("arena", offset), ("input", index) or ("output", index) for an activation tensor."""
        r = self.root(name)
        if r in self.external:
            return self.external[r]
        return ("arena", self.buffers[r].offset)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_arena(graph: Graph, steps: list[Step] | None = None) -> ArenaPlan:
    steps = schedule(graph) if steps is None else steps
    aliases = alias_roots(graph)
    root = lambda n: aliases.get(n, n)  # noqa: E731
    external: dict[str, tuple[str, int]] = {}
    for i, n in enumerate(graph.inputs):
        external[root(n)] = ("input", i)
    for i, n in enumerate(graph.outputs):
        external[root(n)] = ("output", i)

    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for s in steps:
        out = root(s.output)
        first.setdefault(out, s.index)
        last[out] = max(last.get(out, s.index), s.index)
        for t in s.inputs:
            last[root(t)] = max(last.get(root(t), s.index), s.index)
    bufs = [Buffer(t, graph.tensors[t].nbytes, first[t], last[t])
            for t in first if t not in external]

    placed: list[Buffer] = []
    for b in sorted(bufs, key=lambda b: (-b.size, b.first)):
        live = sorted((p for p in placed if p.first <= b.last and b.first <= p.last),
                      key=lambda p: p.offset)
        offset = 0
        for p in live:
            if offset + _align(b.size) <= p.offset:
                break
            offset = max(offset, p.offset + _align(p.size))
        placed.append(Buffer(b.tensor, b.size, b.first, b.last, offset))
    size = max((p.offset + _align(p.size) for p in placed), default=0)
    return ArenaPlan(size, {p.tensor: p for p in placed}, aliases, list(graph.inputs),
                     list(graph.outputs), external)
