"""Profiles in the formats of the tools people already use.

- ``profile.speedscope.json``: speedscope's evented format (open/close frame events); the values are
  simulator cycles (speedscope has no "cycles" unit, so the unit is "none" and the profile's name
  says cycles).
- ``callgrind.out``: the Callgrind format that KCachegrind and ``callgrind_annotate`` read: a cost
  line per instruction (address and C line) with cycles, instructions, stall cycles and cache
  misses, and a ``calls=`` record per caller/callee pair with its inclusive cycles.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tinyscope.profile.functions import STALL_COLUMNS, attribute
from tinyscope.profile.source import LineTable
from tinyscope.sim.elf import Symbols
from tinyscope.sim.result import CALL, OPENS, SimResult

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"
CALLGRIND_EVENTS = ["Cycles", "Instructions", "Stalls", "I1miss", "D1miss", "D1access"]
_BL = re.compile(r"^blx?(\.w)?\s+#0x([0-9a-f]+)")


def _name(symbols: Symbols, pc: int) -> str:
    s = symbols.lookup(pc)
    return s.name if s else f"0x{pc:08x}"


def _addr(symbols: Symbols, name: str) -> int:
    s = symbols.by_name(name)
    return s.addr if s else -1


def speedscope(result: SimResult, symbols: Symbols, title: str) -> dict:
    """An evented speedscope profile of the call/return events (every open has its close)."""
    frames: dict[str, int] = {}
    events: list[dict] = []
    stack: list[int] = []
    last = 0
    for cycle, kind, pc in zip(result.events["cycle"], result.events["kind"], result.events["pc"]):
        at = max(int(cycle), last)  # the format wants non-decreasing times
        last = at
        if kind in OPENS:
            f = frames.setdefault(_name(symbols, int(pc)), len(frames))
            stack.append(f)
            events.append({"type": "O", "frame": f, "at": at})
        elif stack:
            events.append({"type": "C", "frame": stack.pop(), "at": at})
    end = max(int(result.cycles), last)
    while stack:
        events.append({"type": "C", "frame": stack.pop(), "at": end})
    return {"$schema": SPEEDSCOPE_SCHEMA, "name": title, "exporter": "tinyscope", "activeProfileIndex": 0,
            "shared": {"frames": [{"name": n} for n in frames]},
            "profiles": [{"type": "evented", "name": f"{title} (cycles)", "unit": "none", "startValue": 0,
                          "endValue": end, "events": events}]}


def _call_pairs(result: SimResult, symbols: Symbols, text: dict[int, str]) -> dict[tuple[str, str], tuple[int, int]]:
    """(caller, callee) -> (calls, inclusive cycles of those calls) from the call/return events. A
    call made before any recorded call (from the reset handler) is given to the function holding a
    ``bl`` to the callee."""
    pairs: dict[tuple[str, str], list[int]] = {}
    stack: list[tuple[str, int]] = []
    callers: dict[int, str] = {}
    for addr, ins in text.items():
        m = _BL.match(ins)
        if m:
            callers.setdefault(int(m.group(2), 16), _name(symbols, addr))
    default_root = "Reset_Handler" if symbols.by_name("Reset_Handler") else "[start-up]"
    for cycle, kind, pc in zip(result.events["cycle"], result.events["kind"], result.events["pc"]):
        if kind in OPENS:
            callee = _name(symbols, int(pc))
            caller = stack[-1][0] if stack else callers.get(int(pc) & ~1, default_root)
            pairs.setdefault((caller, callee), [0, 0])[0] += kind == CALL  # a resumed frame is not a call
            stack.append((callee, int(cycle)))
        elif stack:
            callee, start = stack.pop()
            caller = stack[-1][0] if stack else callers.get(_addr(symbols, callee), default_root)
            pairs.setdefault((caller, callee), [0, 0])[1] += int(cycle) - start
    end = int(result.cycles)
    while stack:
        callee, start = stack.pop()
        caller = stack[-1][0] if stack else callers.get(_addr(symbols, callee), default_root)
        pairs.setdefault((caller, callee), [0, 0])[1] += end - start
    return {k: (v[0], v[1]) for k, v in pairs.items()}


def callgrind(result: SimResult, symbols: Symbols, text: dict[int, str], lines: LineTable, command: str) -> str:
    """The Callgrind text of one run (``positions: instr line``)."""
    st = result.pc_stats
    pcs = result.pcs()
    owner = attribute(result, symbols)
    stalls = sum(st[c].astype(np.int64) for c in STALL_COLUMNS)
    cols = [st["cycles"], st["count"], stalls, st["icache_miss"], st["dcache_miss"], st["dcache_access"]]
    # an instruction of an IT block whose condition failed costs cycles without executing: keep it
    charged = (st["count"] > 0) | (st["cycles"] > 0)
    total = [int(c[charged].sum()) for c in cols]
    out = ["# callgrind format", "version: 1", "creator: tinyscope", f"cmd: {command}", "positions: instr line",
           f"events: {' '.join(CALLGRIND_EVENTS)}", f"summary: {' '.join(map(str, total))}", ""]
    files: dict[str, int] = {}
    fns: dict[str, int] = {}

    def ref(table: dict[str, int], name: str) -> str:
        if name in table:
            return f"({table[name]})"
        table[name] = len(table) + 1
        return f"({table[name]}) {name}"

    def file_of(addr: int) -> str:
        src = lines.lookup(addr)
        return src.file if src else "???"

    def line_of(addr: int) -> int:
        src = lines.lookup(addr)
        return src.line if src else 0

    by_fn: dict[str, list[int]] = {}
    for i in np.nonzero(charged)[0]:
        name = symbols.symbols[int(owner[i])].name if owner[i] >= 0 else f"0x{int(pcs[i]):08x}"
        by_fn.setdefault(name, []).append(int(i))
    calls = _call_pairs(result, symbols, text)
    starts = {s.name: s.addr for s in symbols.symbols}
    for name in sorted(by_fn, key=lambda n: int(pcs[by_fn[n][0]])):
        idx = by_fn[name]
        first = int(pcs[idx[0]])
        fl = file_of(first)
        out += [f"fl={ref(files, fl)}", f"fn={ref(fns, name)}"]
        current = fl
        for i in idx:
            addr = int(pcs[i])
            f = file_of(addr)
            if f != current:  # an inlined line from another file
                out.append(f"fi={ref(files, f)}" if f != fl else f"fe={ref(files, fl)}")
                current = f
            out.append(f"0x{addr:x} {line_of(addr)} " + " ".join(str(int(c[i])) for c in cols))
        if current != fl:
            out.append(f"fe={ref(files, fl)}")
        for (caller, callee), (n, incl) in sorted(calls.items()):
            if caller != name or n == 0:
                continue
            target = starts.get(callee, 0)
            site = _call_site(text, idx, pcs, target) or first
            out += [f"cfi={ref(files, file_of(target) if target else '???')}", f"cfn={ref(fns, callee)}",
                    f"calls={n} 0x{target:x} {line_of(target) if target else 0}",
                    f"0x{site:x} {line_of(site)} {incl}"]
        out.append("")
    return "\n".join(out) + "\n"


def _call_site(text: dict[int, str], idx: list[int], pcs: np.ndarray, target: int) -> int | None:
    """The address of the caller's ``bl`` to ``target`` (the events record the callee, not the site)."""
    for i in idx:
        m = _BL.match(text.get(int(pcs[i]), ""))
        if m and int(m.group(2), 16) == target:
            return int(pcs[i])
    return None


def write_speedscope(path: Path, doc: dict) -> None:
    import json

    path.write_text(json.dumps(doc, separators=(",", ":")))
