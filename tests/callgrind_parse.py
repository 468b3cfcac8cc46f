"""A reader of the Callgrind profile format (as documented with Valgrind, "Callgrind Format
Specification"), enough to check what tinyscope writes: header, name compression, position and cost
lines, and call records. Self costs go to the current function; the cost line after ``calls=``
is the inclusive cost of those calls and goes to the call edge instead."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


@dataclass
class Callgrind:
    events: list[str]
    positions: list[str]
    summary: list[int]
    self_cost: dict[str, list[int]] = field(default_factory=dict)  # function -> costs
    lines: dict[str, dict[tuple[int, ...], list[int]]] = field(default_factory=dict)
    calls: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (caller, callee) -> (n, incl)
    files: dict[str, str] = field(default_factory=dict)  # function -> file


class FormatError(ValueError):
    pass


def parse_callgrind(text: str) -> Callgrind:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# callgrind format") and not lines[0].startswith("version:"):
        raise FormatError("missing the '# callgrind format' first line")
    header: dict[str, str] = {}
    names: dict[str, dict[str, str]] = {"fl": {}, "fn": {}}
    out = Callgrind([], [], [])
    fn = fl = None
    pending_call: tuple[str, int] | None = None
    cfn = None
    last_pos: list[int] = []

    def name(kind: str, value: str) -> str:
        m = _NAME.match(value)
        if not m:
            return value
        table = names["fn" if kind in ("fn", "cfn") else "fl"]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
            return m.group(2)
        if m.group(1) not in table:
            raise FormatError(f"{kind}=({m.group(1)}) used before it was defined")
        return table[m.group(1)]

    for no, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[a-z]+", key):
            if key in ("fl", "fi", "fe"):
                f = name("fl", value)
                if key == "fl":
                    fl = f
            elif key == "fn":
                fn = name("fn", value)
                out.self_cost.setdefault(fn, [0] * len(out.events))
                out.files.setdefault(fn, fl or "")
            elif key in ("cfl", "cfi"):
                name("fl", value)
            elif key == "cfn":
                cfn = name("fn", value)
            elif key == "calls":
                parts = value.split()
                if cfn is None or fn is None or len(parts) < 1 + len(out.positions):
                    raise FormatError(f"line {no}: calls= without cfn= or with too few fields")
                pending_call = (cfn, int(parts[0]))
            else:
                raise FormatError(f"line {no}: unknown specification {key}=")
            continue
        if ":" in line and re.match(r"^[a-z]+:", line):
            k, _, v = line.partition(":")
            header[k] = v.strip()
            if k == "events":
                out.events = v.split()
            elif k == "positions":
                out.positions = v.split()
            elif k == "summary":
                out.summary = [int(x) for x in v.split()]
            continue
        fields = line.split()
        npos = len(out.positions) or 1
        if len(fields) < npos or fn is None:
            raise FormatError(f"line {no}: a cost line needs {npos} position(s) and a current function")
        pos = []
        for i, tok in enumerate(fields[:npos]):
            base = last_pos[i] if i < len(last_pos) else 0
            if tok == "*":
                pos.append(base)
            elif tok[0] in "+-":
                pos.append(base + int(tok))
            else:
                pos.append(int(tok, 0))
        last_pos = pos
        costs = [int(x) for x in fields[npos:]]
        if len(costs) > len(out.events):
            raise FormatError(f"line {no}: {len(costs)} costs for {len(out.events)} events")
        if pending_call is not None:
            callee, n = pending_call
            prev = out.calls.get((fn, callee), (0, 0))
            out.calls[(fn, callee)] = (prev[0] + n, prev[1] + (costs[0] if costs else 0))
            pending_call = None
            continue
        acc = out.self_cost[fn]
        for i, c in enumerate(costs):
            acc[i] += c
        out.lines.setdefault(fn, {})[tuple(pos)] = costs
    if "events" not in header:
        raise FormatError("no events: line")
    return out
