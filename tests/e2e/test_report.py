"""`tinyscope profile -o DIR` as a user runs it: the report it writes opened in headless Chromium
(no console errors, every section, every figure drawn, every table column visible at 1400 px, a
screenshot kept), the same report for a profile without layers (as an ELF profile has), the trace
read strictly, and the speedscope and Callgrind exports parsed back."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..callgrind_parse import parse_callgrind
from ..chromium import CHROMIUM, inspect_report
from ..trace_check import check_trace

pytestmark = [pytest.mark.e2e, pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs it)")
PROFILE_SECTIONS = ["summary", "model", "memory", "layers", "stalls", "caches", "functions", "timeline", "flame",
                    "hot", "provenance"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINYSCOPE_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, timeout=900,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("profile")
    r = _cli("profile", "zoo:mnist-cnn", "-o", str(tmp / "out"), cwd=tmp)
    assert r.returncode == 0, r.stderr
    return tmp / "out", r.stdout


def _assert_renders(found: dict, sections: list[str]) -> None:
    assert found["ready"] == "1"
    assert not found["console"] and not found["exceptions"], (found["console"], found["exceptions"])
    assert all(u.startswith("file:") for u in found["requests"]), found["requests"]  # nothing from the network
    assert not found["failed_requests"]
    for s in sections:
        assert s in found["sections"], (s, found["sections"])
    assert found["figures"] and all(f["drawn"] == "ok" and f["width"] > 200 and f["height"] > 100
                                    and f["right"] <= found["width"] for f in found["figures"]), found["figures"]
    assert found["hidden"] == [], found["hidden"]
    assert found["page_width"] <= found["width"]


def test_profile_writes_its_report_and_exports(profiled):
    out, stdout = profiled
    m = re.search(r"^report: (.+)$", stdout, re.M)
    assert m and Path(m.group(1)) == (out / "report.html").resolve() and Path(m.group(1)).is_file()
    for name in ("profile.speedscope.json", "callgrind.out", "trace.json", "layers.csv", "functions.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html)  # all inline
    page = re.sub(r"<script.*?</script>", "", html, flags=re.S)  # the page's own text, without the bundle
    assert "rendered:" not in page and "{&#39;" not in page and "{'" not in page  # no Python dicts
    assert not re.search(r"\d\.\d{6,}", re.sub(r"<[^>]*>", " ", page))  # no raw floats such as 0.3157290797896624


def test_terminal_output_lists_each_hot_region_once(profiled):
    _, stdout = profiled
    assert "DWT CYCCNT around network_run()" in stdout and "input copy" not in stdout
    ranges = re.findall(r"^hot (?:loop|block) in \S+ (0x[0-9a-f]+-0x[0-9a-f]+)", stdout, re.M)
    assert ranges and len(ranges) == len(set(ranges))
    assert re.search(r"ts_conv_f32\.c:\d+", stdout)  # C source lines beside the instructions


@needs_chromium
def test_profile_report_in_chromium(profiled, tmp_path):
    out, _ = profiled
    found = inspect_report(out / "report.html", tmp_path / "chrome", "report-profile")
    _assert_renders(found, PROFILE_SECTIONS)
    ids = {f["id"] for f in found["figures"]}
    assert {"layer-cycles", "stalls-fn", "stalls-layer", "miss-rates", "timeline", "flame"} <= ids
    text = found["text"]
    for phrase in ["params #", "weights (ro)", "activations (rw)", "ram (total)", "conv2d_2", "ts_conv_f32.c:",
                   "same class", "Provenance"]:
        assert phrase in text, phrase
    layers = list(csv.DictReader((out / "layers.csv").open()))
    assert found["titled"] >= len(layers)  # every shortened name has its full name on hover
    assert f"{int(layers[1]['cycles']):,}" in text  # thousands separators


@needs_chromium
def test_report_of_a_profile_without_layers(profiled, tmp_path):
    """An ELF profile has no layers and no model figures: the report still renders, without them."""
    out, _ = profiled
    elf = tmp_path / "elf"
    shutil.copytree(out, elf)
    (elf / "layers.csv").write_text("")
    run = json.loads((elf / "run.json").read_text())
    run.pop("model_figures")
    (elf / "run.json").write_text(json.dumps(run))
    (elf / "report.html").unlink()
    r = _cli("report", str(elf), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    found = inspect_report(elf / "report.html", tmp_path / "chrome", "report-no-layers")
    _assert_renders(found, [s for s in PROFILE_SECTIONS if s not in ("model", "layers")])
    assert "layers" not in found["sections"] and "model" not in found["sections"]


def test_trace_is_sound_as_perfetto_reads_it(profiled):
    out, _ = profiled
    problems, slices = check_trace(json.loads((out / "trace.json").read_text()))
    assert problems == []
    layers = list(csv.DictReader((out / "layers.csv").open()))
    assert [s.name for s in slices[(1, 1)]] == [f"{r['c_id']}: {r['name']}" for r in layers]
    calls = slices[(1, 2)]
    run = next(s for s in calls if s.name == "network_run")
    convs = [s for s in calls if s.name == "conv_block4"]
    assert convs and all(run.start <= s.start and s.end <= run.end and s.depth > run.depth for s in convs)


def test_exports_parse_back(profiled):
    out, _ = profiled
    functions = {r["function"]: r for r in csv.DictReader((out / "functions.csv").open())}
    doc = json.loads((out / "profile.speedscope.json").read_text())
    prof = doc["profiles"][0]
    frames = [f["name"] for f in doc["shared"]["frames"]]
    stack, inclusive, last = [], {}, 0
    for e in prof["events"]:
        assert e["at"] >= last
        last = e["at"]
        if e["type"] == "O":
            stack.append((e["frame"], e["at"]))
        else:
            f, at = stack.pop()
            assert f == e["frame"]
            if all(g != f for g, _ in stack):
                inclusive[frames[f]] = inclusive.get(frames[f], 0) + e["at"] - at
    assert not stack and prof["endValue"] >= last
    assert inclusive["conv_block4"] == int(functions["conv_block4"]["inclusive"])
    cg = parse_callgrind((out / "callgrind.out").read_text())
    assert cg.events[:2] == ["Cycles", "Instructions"]
    assert cg.self_cost["conv_block4"][0] == int(functions["conv_block4"]["exclusive"])
    assert cg.summary[0] == sum(c[0] for c in cg.self_cost.values())
    callers = {a: n for (a, b), (n, *_) in cg.calls.items() if b == "conv_block4"}
    assert callers and sum(callers.values()) == int(functions["conv_block4"]["calls"]), callers
    assert cg.files["conv_block4"] == "ts_conv_f32.c"
    annotate = shutil.which("callgrind_annotate")
    if annotate:  # Valgrind's own reader, when installed
        r = subprocess.run([annotate, str(out / "callgrind.out")], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "conv_block4" in r.stdout, r.stderr
        assert f"{cg.summary[0]:,}" in r.stdout


def test_run_prints_what_analyze_counts_and_int8_outputs_dequantized(tmp_path):
    model = "zoo:tiny-dscnn-int8"
    analyzed = json.loads(_cli("analyze", model, "--json", cwd=tmp_path).stdout)
    r = _cli("run", model, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cycles = re.search(r"^cycles\s+([\d,]+)$", r.stdout, re.M)
    assert cycles and "," in cycles.group(1)  # thousands separators, as profile prints them
    ram = re.search(r"^ram\s+([\d,]+) B = activations ([\d,]+) \+ input ([\d,]+) \+ output ([\d,]+)", r.stdout, re.M)
    assert ram, r.stdout
    assert int(ram.group(1).replace(",", "")) == analyzed["ram_total_bytes"]  # the same count as analyze
    assert int(ram.group(2).replace(",", "")) == analyzed["activations_bytes"]
    raw = re.search(r"^output\s+\[([-\d\s]+)\]", r.stdout, re.M)
    real = re.search(r"^  real\s+\[([-\d.\se]+)\]\s+\(scale ([\d.e-]+), zero point (-?\d+)\)", r.stdout, re.M)
    assert raw and real, r.stdout
    q = [int(v) for v in raw.group(1).split()]
    x = [float(v) for v in real.group(1).split()]
    scale, zp = float(real.group(2)), int(real.group(3))
    assert len(q) == len(x) and all(abs(a - (b - zp) * scale) < 1e-3 for a, b in zip(x, q))
    flash = _cli("run", model, "--place", "input=flash", "--json", cwd=tmp_path)
    doc = json.loads(flash.stdout)
    assert doc["ram"]["input"]["region"] == "flash" and not doc["ram"]["input"]["ram"]
    assert doc["ram_total"] == analyzed["ram_total_bytes"] - doc["ram"]["input"]["bytes"]


@needs_chromium
def test_report_of_a_real_elf_profile(tmp_path):
    """Register-level H743 firmware with a tick, two tasks and region markers, profiled as a user's ELF."""
    from ..sim.h743fw import build_h743

    elf = build_h743(tmp_path, "rtos", ["h743_clock.c", "rtos_tick.c"])
    r = _cli("profile", str(elf), "--dcache", "off", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    found = inspect_report(tmp_path / "out" / "report.html", tmp_path / "chrome", "report-elf")
    _assert_renders(found, [s for s in PROFILE_SECTIONS if s != "model"])
    text = found["text"]
    for phrase in ["rtos.elf", "SysTick_Handler", "PendSV_Handler", "region 1", "rtos_tick.c:", "forced off",
                   "Provenance"]:
        assert phrase in text, phrase
    problems, _ = check_trace(json.loads((tmp_path / "out" / "trace.json").read_text()))
    assert problems == []


def test_layer_stalls_add_up_to_the_layer_and_the_run(profiled):
    """Per-layer stall kinds come from the markers' running totals: each layer's stalls fit in its
    cycles, and over all layers they stay within the run's stalls of each kind."""
    out, _ = profiled
    layers = list(csv.DictReader((out / "layers.csv").open()))
    run = json.loads((out / "run.json").read_text())
    kinds = list(run["stalls"])
    total = {k: 0 for k in kinds}
    for r in layers:
        s = {k: int(r[f"stall_{k}"]) for k in kinds}
        assert 0 <= sum(s.values()) <= int(r["cycles"])
        for k in kinds:
            total[k] += s[k]
    assert all(total[k] <= run["stalls"][k] for k in kinds)
    assert sum(total.values()) > 0.5 * sum(run["stalls"].values())  # the network's layers hold most stalls
