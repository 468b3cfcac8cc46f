"""The execution schedule: which IR ops run together as one kernel call (a Step).

The code generator, the memory planner and ``analyze`` all read this one schedule, so what is
planned is what runs: a conv (or depthwise conv) followed by a pool that is its only reader runs as
one fused step (the pre-pool tensor never exists in memory), and RESHAPE is an alias, not a step.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyscope.ir.graph import Graph, Op
from tinyscope.ir.ops import OpGroup, OpType


@dataclass(frozen=True)
class Step:
    """One kernel call. ``ops[0]`` is the main op; ``ops[1:]`` are fused after it (a pool)."""

    index: int  # ST's c_id
    ops: tuple[Op, ...]
    inputs: tuple[str, ...]  # activation tensors read (constants excluded)
    output: str  # the tensor written: the last fused op's output

    @property
    def main(self) -> Op:
        return self.ops[0]

    @property
    def pool(self) -> Op | None:
        return self.ops[1] if len(self.ops) > 1 else None

    @property
    def name(self) -> str:
        return self.main.name


def schedule(graph: Graph) -> list[Step]:
    """Group the graph's ops into kernel calls, in execution order."""
    consumers = graph.consumers()
    steps: list[Step] = []
    i = 0
    ops = graph.ops
    while i < len(ops):
        op = ops[i]
        if op.type in OpGroup.ALIAS:
            i += 1
            continue
        group = [op]
        nxt = ops[i + 1] if i + 1 < len(ops) else None
        if (op.type in OpGroup.CONV and nxt is not None and nxt.type in OpGroup.POOL
                and nxt.inputs[0] == op.outputs[0] and len(consumers.get(op.outputs[0], [])) == 1
                and op.outputs[0] not in graph.outputs):
            group.append(nxt)
            i += 1
        acts = tuple(t for t in op.inputs if not graph.tensors[t].is_const)
        steps.append(Step(len(steps), tuple(group), acts, group[-1].outputs[0]))
        i += 1
    return steps


def alias_roots(graph: Graph) -> dict[str, str]:
    """Map every RESHAPE output to the tensor whose bytes it shares (following chains)."""
    roots: dict[str, str] = {}
    for op in graph.ops:
        if op.type is OpType.RESHAPE:
            src = op.inputs[0]
            roots[op.outputs[0]] = roots.get(src, src)
    return roots
