"""Which symbol ran when: Chrome trace events (ui.perfetto.dev), folded stacks for flame graphs,
and a PNG/SVG chart of symbol against time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tinyscope.profile.layers import LayerRow
from tinyscope.sim.elf import Symbols
from tinyscope.sim.result import OPENS, SimResult


@dataclass
class Span:
    name: str
    start: int
    end: int
    depth: int


def call_spans(result: SimResult, symbols: Symbols, limit: int = 200_000) -> list[Span]:
    """Every call as a span (closed at its return, or at the end of the run)."""
    spans: list[Span] = []
    stack: list[tuple[str, int]] = []
    for cycle, kind, pc in zip(result.events["cycle"], result.events["kind"], result.events["pc"]):
        if kind in OPENS:
            s = symbols.lookup(int(pc))
            stack.append((s.name if s else f"0x{int(pc):08x}", int(cycle)))
        elif stack:
            name, start = stack.pop()
            if len(spans) < limit:
                spans.append(Span(name, start, int(cycle), len(stack)))
    while stack:
        name, start = stack.pop()
        spans.append(Span(name, start, result.cycles, len(stack)))
    return sorted(spans, key=lambda s: (s.start, s.depth))


def chrome_trace(result: SimResult, symbols: Symbols, layers: list[LayerRow], cpu_hz: int) -> dict:
    """Trace Event Format: layers (tid 1) and calls (tid 2) as B/E pairs in time order, so nesting is
    exact (an X event's ts + dur is two rounded floats; B/E keep the cycle order), and the cache
    misses of each layer as a counter."""
    us = 1e6 / cpu_hz
    meta = [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "ts": 0, "args": {"name": result.target}},
            {"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "ts": 0, "args": {"name": "layers"}},
            {"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "ts": 0, "args": {"name": "functions"}}]
    events: list[dict] = []
    end_prev = 0
    for lay in sorted(layers, key=lambda r: r.start):
        start = max(lay.start, end_prev)  # layers follow each other; never let rounding overlap them
        end = max(start + lay.cycles, start)
        end_prev = end
        events.append({"ph": "B", "name": f"{lay.c_id}: {lay.name}", "cat": "layer", "pid": 1, "tid": 1,
                       "ts": start * us, "args": {"op": lay.op, "macc": lay.macc, "cycles": lay.cycles}})
        events.append({"ph": "E", "name": f"{lay.c_id}: {lay.name}", "cat": "layer", "pid": 1, "tid": 1,
                       "ts": end * us})
        events.append({"ph": "C", "name": "cache misses", "pid": 1, "tid": 1, "ts": start * us,
                       "args": {"icache": lay.icache_miss, "dcache": lay.dcache_miss}})
    if layers:
        events.append({"ph": "C", "name": "cache misses", "pid": 1, "tid": 1, "ts": end_prev * us,
                       "args": {"icache": 0, "dcache": 0}})
    stack: list[str] = []
    last = 0
    for cycle, kind, pc in zip(result.events["cycle"], result.events["kind"], result.events["pc"]):
        last = max(int(cycle), last)
        if kind in OPENS:
            s = symbols.lookup(int(pc))
            stack.append(s.name if s else f"0x{int(pc):08x}")
            events.append({"ph": "B", "name": stack[-1], "cat": "function", "pid": 1, "tid": 2, "ts": last * us})
        elif stack:
            events.append({"ph": "E", "name": stack.pop(), "cat": "function", "pid": 1, "tid": 2, "ts": last * us})
    last = max(int(result.cycles), last)
    while stack:
        events.append({"ph": "E", "name": stack.pop(), "cat": "function", "pid": 1, "tid": 2, "ts": last * us})
    return {"traceEvents": meta + events, "displayTimeUnit": "ns",
            "otherData": {"cycles": result.cycles, "cpu_hz": cpu_hz, "elf": result.elf}}


def folded_stacks(result: SimResult, symbols: Symbols) -> str:
    """``a;b;c cycles`` lines (Brendan Gregg's folded format): time between events goes to the stack."""
    weights: dict[str, int] = {}
    stack: list[str] = ["[start-up]"]
    last = 0
    for cycle, kind, pc in zip(result.events["cycle"], result.events["kind"], result.events["pc"]):
        key = ";".join(stack)
        weights[key] = weights.get(key, 0) + int(cycle) - last
        last = int(cycle)
        if kind in OPENS:
            s = symbols.lookup(int(pc))
            stack.append(s.name if s else f"0x{int(pc):08x}")
        elif len(stack) > 1:
            stack.pop()
    key = ";".join(stack)
    weights[key] = weights.get(key, 0) + result.cycles - last
    return "".join(f"{k} {v}\n" for k, v in weights.items() if v > 0)


def plot_timeline(result: SimResult, symbols: Symbols, layers: list[LayerRow], cpu_hz: int, out: Path,
                  top: int = 14) -> list[Path]:
    """The study's symbol chart: one row per function, bars where it ran; layers along the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spans = call_spans(result, symbols)
    time = {}
    for s in spans:
        time[s.name] = time.get(s.name, 0) + s.end - s.start
    names = sorted(time, key=lambda n: -time[n])[:top]
    ms = 1e3 / cpu_hz
    fig, ax = plt.subplots(figsize=(11, 0.42 * (len(names) + 2) + 1.2))
    for y, name in enumerate(names):
        bars = [(s.start * ms, max(s.end - s.start, 1) * ms) for s in spans if s.name == name]
        ax.broken_barh(bars, (y - 0.35, 0.7), color=f"C{y % 10}")
    for k, lay in enumerate(layers):
        ax.broken_barh([(lay.start * ms, lay.cycles * ms)], (len(names) - 0.35, 0.7), color=f"C{k % 10}", alpha=0.6)
    ax.set_yticks(range(len(names) + 1), [*names, "layers"])
    ax.set_xlabel("time (ms at %.0f MHz)" % (cpu_hz / 1e6))
    ax.set_title(f"which symbol ran when ({Path(result.elf).name}, {result.target})")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    paths = [out.with_suffix(".png"), out.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p, dpi=110)
    plt.close(fig)
    return paths


def write_trace(path: Path, trace: dict) -> None:
    path.write_text(json.dumps(trace))
