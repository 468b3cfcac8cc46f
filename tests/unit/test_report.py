"""Report pieces without firmware: short layer names, the trace checker itself, the trace,
speedscope and Callgrind exports of a hand-made run (parsed back), hot regions listed once, and
the HTML renderer's number formats."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tinyscope.profile.exports import callgrind, speedscope
from tinyscope.profile.functions import function_table
from tinyscope.profile.hotloops import Line, Loop
from tinyscope.profile.layers import LayerRow
from tinyscope.profile.source import LineTable
from tinyscope.profile.timeline import chrome_trace
from tinyscope.report.html import fmt_bytes, fmt_int, fmt_pct
from tinyscope.report.names import short_names
from tinyscope.report.regions import hot_regions

from ..callgrind_parse import parse_callgrind
from ..trace_check import check_trace
from .test_profile import BASE, fake_result

KWS = [
    "functional_1/activation/Relu;functional_1/batch_normalization/FusedBatchNormV3;"
    "functional_1/conv2d/BiasAdd/ReadVariableOp/resource;functional_1/conv2d/BiasAdd;functional_1/conv2d_4/Conv2D;"
    "functional_1/conv2d/Conv2D1",
    "functional_1/activation_1/Relu;functional_1/batch_normalization_1/FusedBatchNormV3;"
    "functional_1/depthwise_conv2d/depthwise;functional_1/depthwise_conv2d/BiasAdd;functional_1/conv2d_4/Conv2D;"
    "functional_1/depthwise_conv2d/BiasAdd/ReadVariableOp/resource1",
    "functional_1/activation_2/Relu;functional_1/add/add",
    "functional_1/dense/MatMul;functional_1/dense/BiasAdd",
    "functional_1/dense/Softmax",
    "Identity",
]


def test_short_names_keep_the_distinctive_part():
    short = short_names(KWS, width=28)
    assert short[:3] == ["conv2d", "depthwise_conv2d", "add"]
    assert short[5] == "Identity"
    assert len(set(short)) == len(short) and all(len(s) <= 28 for s in short)
    long = ["x" * 100 + "_tail"]
    assert short_names(long, width=20)[0].endswith("_tail") and len(short_names(long, width=20)[0]) == 20


def _trace(events):
    return {"traceEvents": events, "displayTimeUnit": "ns"}


def test_trace_checker_finds_what_perfetto_rejects():
    ok = [{"ph": "B", "name": "a", "pid": 1, "tid": 1, "ts": 0}, {"ph": "B", "name": "b", "pid": 1, "tid": 1, "ts": 1},
          {"ph": "E", "name": "b", "pid": 1, "tid": 1, "ts": 2}, {"ph": "E", "name": "a", "pid": 1, "tid": 1, "ts": 3},
          {"ph": "X", "name": "c", "pid": 1, "tid": 2, "ts": 0, "dur": 5},
          {"ph": "X", "name": "d", "pid": 1, "tid": 2, "ts": 1, "dur": 2},
          {"ph": "C", "name": "n", "pid": 1, "tid": 1, "ts": 0, "args": {"v": 3}}]
    problems, slices = check_trace(_trace(ok))
    assert problems == []
    assert [(s.name, s.depth) for s in slices[(1, 2)]] == [("c", 0), ("d", 1)]
    bad = {
        "without nesting": [{"ph": "X", "name": "c", "pid": 1, "tid": 2, "ts": 0, "dur": 5},
                     {"ph": "X", "name": "d", "pid": 1, "tid": 2, "ts": 4, "dur": 2}],
        "never closed": [{"ph": "B", "name": "a", "pid": 1, "tid": 1, "ts": 0}],
        "not nested": [{"ph": "B", "name": "a", "pid": 1, "tid": 1, "ts": 0},
                       {"ph": "B", "name": "b", "pid": 1, "tid": 1, "ts": 1},
                       {"ph": "E", "name": "a", "pid": 1, "tid": 1, "ts": 2}],
        "before the previous": [{"ph": "B", "name": "a", "pid": 1, "tid": 1, "ts": 5},
                                {"ph": "E", "name": "a", "pid": 1, "tid": 1, "ts": 4}],
        "not a number": [{"ph": "C", "name": "n", "pid": 1, "tid": 1, "ts": 0, "args": {"v": "3"}}],
        "back in time": [{"ph": "C", "name": "n", "pid": 1, "tid": 1, "ts": 2, "args": {"v": 1}},
                         {"ph": "C", "name": "n", "pid": 1, "tid": 1, "ts": 1, "args": {"v": 1}}],
        "finite number": [{"ph": "X", "name": "c", "pid": 1, "tid": 2, "ts": float("nan"), "dur": 1}],
        "unknown phase": [{"ph": "Q", "pid": 1, "tid": 1, "ts": 0}],
    }
    for needle, events in bad.items():
        problems, _ = check_trace(_trace(events))
        assert any(needle in p for p in problems), (needle, problems)


def test_chrome_trace_is_sound_and_nests_calls():
    r, syms = fake_result()
    layers = [LayerRow(0, 0, "conv", "CONV_2D", 1000, 5, 100, 0.1, 0.5, 1, 2),
              LayerRow(1, 1, "fc", "FULLY_CONNECTED", 10, 105, 95, 9.5, 0.5, 0, 1)]
    trace = json.loads(json.dumps(chrome_trace(r, syms, layers, 480_000_000)))
    problems, slices = check_trace(trace)
    assert problems == []
    assert [s.name for s in slices[(1, 1)]] == ["0: conv", "1: fc"]
    assert [s.name for s in slices[(1, 2)]] == ["copy", "copy"]
    us = 1e6 / 480_000_000
    assert slices[(1, 2)][1].start == pytest.approx(70 * us) and slices[(1, 2)][1].end == pytest.approx(150 * us)


def test_speedscope_events_balance_and_time_adds_up():
    r, syms = fake_result()
    doc = json.loads(json.dumps(speedscope(r, syms, "fake")))
    assert doc["$schema"].endswith("file-format-schema.json")
    prof = doc["profiles"][0]
    frames = [f["name"] for f in doc["shared"]["frames"]]
    assert prof["type"] == "evented" and prof["endValue"] == r.cycles
    stack, total, last = [], {}, 0
    for e in prof["events"]:
        assert e["at"] >= last and 0 <= e["frame"] < len(frames)
        last = e["at"]
        if e["type"] == "O":
            stack.append((e["frame"], e["at"]))
        else:
            f, at = stack.pop()
            assert f == e["frame"]  # closes the innermost open frame
            total[frames[f]] = total.get(frames[f], 0) + e["at"] - at
    assert not stack
    assert total == {"copy": {f.name: f for f in function_table(r, syms)}["copy"].inclusive}


def test_callgrind_parses_back_to_the_function_table():
    r, syms = fake_result()
    text = {BASE + 0x4: "bl #0x8000020", BASE + 0x20: "ldrb r3, [r1], #1"}
    lines = LineTable([(BASE, "/src/main.c", 10), (BASE + 0x20, "/src/copy.c", 3)], {"/src/copy.c": [""] * 2 + ["x"]})
    cg = parse_callgrind(callgrind(r, syms, text, lines, "tinyscope profile fake"))
    assert cg.events[0] == "Cycles" and cg.positions == ["instr", "line"]
    table = {f.name: f for f in function_table(r, syms)}
    assert {fn: c[0] for fn, c in cg.self_cost.items()} == {n: f.exclusive for n, f in table.items()}
    assert cg.summary[0] == sum(f.exclusive for f in table.values())
    assert cg.calls[("main", "copy")] == (2, table["copy"].inclusive)
    assert cg.files["copy"] == "copy.c"
    assert (BASE + 0x20, 3) in cg.lines["copy"]


def test_hot_regions_list_each_region_once():
    def region(lo, hi, cycles):
        return asdict(Loop("f", lo, hi, 10, cycles, 0.1, [Line(lo, "nop", 10, cycles, 0, 0, 0)]))

    loops = [region(0x10, 0x20, 500), region(0x18, 0x30, 450)]  # back edges interleave: one is listed
    blocks = [region(0x10, 0x1C, 400), region(0x40, 0x48, 300)]  # the first lies inside the loop
    got = hot_regions(loops, blocks)
    assert [(g["start"], g["kind"]) for g in got] == [(0x10, "loop"), (0x40, "block")]


def test_number_formats():
    assert fmt_int(1234567) == "1,234,567" and fmt_pct(0.3157290797896624) == "31.6%"
    assert fmt_pct(8e-05) == "<0.1%" and fmt_pct(0) == "0.0%"
    assert fmt_bytes(2048) == "2,048 B (2.0 KiB)"


def test_report_of_a_bare_profile_folder(tmp_path):
    """The least a profile folder can hold (an ELF profile: no model, no layers, no caches figures)."""
    from tinyscope.report.html import render_html

    (tmp_path / "run.json").write_text(json.dumps({"cycles": 123456, "cpu_hz": 216_000_000, "target": "stm32f746"}))
    (tmp_path / "functions.csv").write_text("function,calls,exclusive,inclusive,share\nmain,1,123456,123456,1.0\n")
    page = render_html(tmp_path)
    for section in ("summary", "memory", "stalls", "caches", "functions", "timeline", "flame", "hot", "provenance"):
        assert f'data-section="{section}"' in page
    assert 'data-section="layers"' not in page and 'data-section="model"' not in page
    assert "123,456" in page and "0.572 ms" in page
