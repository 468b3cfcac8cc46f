"""Hot loops with annotated disassembly: each line shows executions, cycles, stall cycles and cache
misses, and two patterns the study found by hand are named when present: a byte-by-byte copy loop
and back-to-back FMAs into one register."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tinyscope.profile.functions import STALL_COLUMNS
from tinyscope.profile.source import LineTable
from tinyscope.sim.elf import Symbols
from tinyscope.sim.result import SimResult

_BRANCH = re.compile(r"^(b|b[a-z]{2}|cbn?z)(\.[nw])?$")
_TARGET = re.compile(r"#0x([0-9a-f]+)")


@dataclass
class Line:
    addr: int
    text: str
    count: int
    cycles: int
    stalls: int
    icache_miss: int
    dcache_miss: int
    source: str = ""  # file:line from the DWARF line table ("" without debug info)
    source_text: str = ""  # that C line


@dataclass
class Loop:
    function: str
    start: int
    end: int  # address of the back-edge branch
    iterations: int
    cycles: int
    share: float
    lines: list[Line]
    notes: list[str] = field(default_factory=list)


def _notes(lines: list[Line]) -> list[str]:
    notes = []
    mnems = [ln.text.split()[0] for ln in lines]
    if any(m.startswith("ldrb") for m in mnems) and any(m.startswith("strb") for m in mnems) and len(lines) <= 8:
        notes.append("byte-by-byte copy loop: one byte per iteration (a word copy moves four)")
    prev_dst = None
    chain = 0
    for ln in lines:
        m = ln.text.split()[0]
        if m.startswith(("vfma", "vmla", "vfms", "vmls")):
            dst = ln.text.split()[1].rstrip(",")
            if dst == prev_dst:
                chain += ln.stalls
            prev_dst = dst
        else:
            prev_dst = None
    if chain:
        notes.append(f"back-to-back FMAs into one register: {chain:,} dependency stall cycles")
    return notes


def hot_loops(result: SimResult, symbols: Symbols, text: dict[int, str], top: int = 5) -> list[Loop]:
    st = result.pc_stats
    total = max(int(st["cycles"].sum()), 1)
    loops: dict[tuple[int, int], int] = {}
    for pc, ins in text.items():
        i = result.index(pc)
        if i < 0 or st["count"][i] < 2:
            continue
        parts = ins.split(None, 1)
        if not _BRANCH.match(parts[0]) or len(parts) < 2:
            continue
        m = _TARGET.search(parts[1])
        if m and int(m.group(1), 16) <= pc:
            loops[(int(m.group(1), 16), pc)] = int(st["count"][i])
    ranked = []
    for (lo, hi), iters in loops.items():
        idx = [result.index(a) for a in range(lo, hi + 2, 2)]
        cyc = int(sum(st["cycles"][i] for i in idx if i >= 0))
        ranked.append((cyc, lo, hi, iters))
    ranked.sort(reverse=True)
    out: list[Loop] = []
    for cyc, lo, hi, iters in ranked:
        if any(lo <= a and b <= hi and (a, b) != (lo, hi) for a, b in loops):
            continue  # list innermost loops: that is where the cycles are spent and can be read

        lines = []
        for a in sorted(a for a in text if lo <= a <= hi):
            i = result.index(a)
            lines.append(Line(a, text[a], int(st["count"][i]), int(st["cycles"][i]),
                              int(sum(st[c][i] for c in STALL_COLUMNS)), int(st["icache_miss"][i]),
                              int(st["dcache_miss"][i])))
        sym = symbols.lookup(lo)
        out.append(Loop(sym.name if sym else f"0x{lo:08x}", lo, hi, iters, cyc, cyc / total, lines, _notes(lines)))
        if len(out) == top:
            break
    return out


def hot_blocks(result: SimResult, symbols: Symbols, text: dict[int, str], top: int = 5) -> list[Loop]:
    """The costliest basic blocks: runs of consecutive instructions that all executed equally often
    (a block's instructions run together), ranked by cycles. ``iterations`` is the block's count."""
    st = result.pc_stats
    total = max(int(st["cycles"].sum()), 1)
    blocks: list[list[int]] = []
    prev_addr, prev_count = None, None
    for addr in sorted(text):
        i = result.index(addr)
        count = int(st["count"][i]) if i >= 0 else 0
        if count == 0:
            prev_addr = None
            continue
        starts_new = (prev_addr is None or count != prev_count or _BRANCH.match(text[prev_addr].split()[0]) is not None
                      or text[prev_addr].startswith(("bx", "pop", "bl")))
        if starts_new:
            blocks.append([addr])
        else:
            blocks[-1].append(addr)
        prev_addr, prev_count = addr, count
    ranked = sorted(blocks, key=lambda b: -sum(int(st["cycles"][result.index(a)]) for a in b))[:top]
    out = []
    for b in ranked:
        lines = [Line(a, text[a], int(st["count"][result.index(a)]), int(st["cycles"][result.index(a)]),
                      int(sum(st[c][result.index(a)] for c in STALL_COLUMNS)),
                      int(st["icache_miss"][result.index(a)]), int(st["dcache_miss"][result.index(a)])) for a in b]
        cyc = sum(ln.cycles for ln in lines)
        sym = symbols.lookup(b[0])
        out.append(Loop(sym.name if sym else f"0x{b[0]:08x}", b[0], b[-1], lines[0].count, cyc, cyc / total, lines,
                        _notes(lines)))
    return out


def add_source(regions: list[Loop], table: LineTable) -> None:
    """Put the C line of each instruction beside it (in place)."""
    for r in regions:
        for ln in r.lines:
            src = table.lookup(ln.addr)
            if src is not None:
                ln.source, ln.source_text = src.where(), src.text

