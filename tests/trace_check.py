"""A strict reader of Chrome's Trace Event Format (the "JSON Object Format"), written from the
format's document, checking what Perfetto and chrome://tracing rely on when they import a trace:

- the top level is an object with a ``traceEvents`` list (``displayTimeUnit`` "ms" or "ns");
- every event has a known phase ``ph``, integer ``pid``/``tid`` and a finite, non-negative ``ts``
  in microseconds; ``X`` events have a finite ``dur`` >= 0; ``M`` events are known metadata names;
- duration events ``B``/``E`` on one thread (pid, tid) come in timestamp order, each ``E`` closes
  the innermost open ``B`` (same name when the ``E`` names one), and none stays open at the end;
- all slices of one thread (B/E pairs and X events) nest: a slice that starts inside another ends
  inside it too;
- counter events ``C`` carry only numeric args, and each counter's samples are in time order.

It returns the list of problems (empty when the trace is sound) and the slices per thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PHASES = set("BEXiIsCbneMPOND") | {"(", ")", "f", "t", "R", "c", "T", "p", "S", "F"}
METADATA = {"process_name", "process_labels", "process_sort_index", "thread_name", "thread_sort_index"}


@dataclass(frozen=True)
class Slice:
    name: str
    start: float
    end: float
    depth: int


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_trace(doc) -> tuple[list[str], dict[tuple[int, int], list[Slice]]]:
    problems: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["top level must be an object with a traceEvents list"], {}
    if doc.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        problems.append(f"displayTimeUnit must be ms or ns, not {doc['displayTimeUnit']!r}")
    open_: dict[tuple[int, int], list[tuple[str, float]]] = {}
    last_be: dict[tuple[int, int], float] = {}
    last_counter: dict[tuple[int, str], float] = {}
    raw: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for k, e in enumerate(doc["traceEvents"]):
        where = f"event {k}"
        if not isinstance(e, dict):
            problems.append(f"{where}: not an object")
            continue
        ph = e.get("ph")
        if ph not in PHASES:
            problems.append(f"{where}: unknown phase {ph!r}")
            continue
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid", 0), int):
            problems.append(f"{where}: pid and tid must be integers")
            continue
        ts = e.get("ts")
        if ph != "M" and (not _finite(ts) or ts < 0):
            problems.append(f"{where}: ts must be a finite number >= 0, not {ts!r}")
            continue
        if "name" in e and not isinstance(e["name"], str):
            problems.append(f"{where}: name must be a string")
        if "args" in e and not isinstance(e["args"], dict):
            problems.append(f"{where}: args must be an object")
            continue
        track = (e["pid"], e.get("tid", 0))
        if ph == "M":
            if e.get("name") not in METADATA:
                problems.append(f"{where}: unknown metadata {e.get('name')!r}")
        elif ph in "BE":
            if ts < last_be.get(track, -math.inf):
                problems.append(f"{where}: {ph} at {ts} before the previous B/E on {track} ({last_be[track]})")
            last_be[track] = ts
            stack = open_.setdefault(track, [])
            if ph == "B":
                if not isinstance(e.get("name"), str):
                    problems.append(f"{where}: B without a name")
                stack.append((e.get("name", ""), ts))
            elif not stack:
                problems.append(f"{where}: E on {track} with no open B")
            else:
                name, start = stack.pop()
                if "name" in e and e["name"] != name:
                    problems.append(f"{where}: E {e['name']!r} closes B {name!r} (not nested)")
                raw.setdefault(track, []).append((start, ts, name))
        elif ph == "X":
            dur = e.get("dur")
            if not _finite(dur) or dur < 0:
                problems.append(f"{where}: X needs a finite dur >= 0, not {dur!r}")
                continue
            raw.setdefault(track, []).append((ts, ts + dur, e.get("name", "")))
        elif ph == "C":
            args = e.get("args", {})
            if not args:
                problems.append(f"{where}: counter without values")
            for key, val in args.items():
                if not _finite(val):
                    problems.append(f"{where}: counter {e.get('name')!r}.{key} is not a number: {val!r}")
            key = (e["pid"], e.get("name", "") + str(e.get("id", "")))
            if ts < last_counter.get(key, -math.inf):
                problems.append(f"{where}: counter {e.get('name')!r} goes back in time ({ts} after "
                                f"{last_counter[key]})")
            last_counter[key] = ts
    for track, stack in open_.items():
        if stack:
            problems.append(f"{track}: {len(stack)} B event(s) never closed (innermost {stack[-1][0]!r})")
    slices: dict[tuple[int, int], list[Slice]] = {}
    for track, spans in raw.items():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack_: list[tuple[float, float, str]] = []
        out = []
        for start, end, name in spans:
            while stack_ and start >= stack_[-1][1]:
                stack_.pop()
            if stack_ and end > stack_[-1][1]:
                problems.append(f"{track}: {name!r} [{start}, {end}] overlaps {stack_[-1][2]!r} "
                                f"[{stack_[-1][0]}, {stack_[-1][1]}] without nesting")
            out.append(Slice(name, start, end, len(stack_)))
            stack_.append((start, end, name))
        slices[track] = out
    return problems, slices
