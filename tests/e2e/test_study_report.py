"""The study in one command, as a user runs it: the seed preset on the study's model, the memcpy
preset, the trace and the HTML report rendered in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import SHARED_MODELS, shared_model

pytestmark = [pytest.mark.e2e, pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINYSCOPE_CACHE": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, timeout=900,
                          cwd=cwd, env=env)


@pytest.fixture(scope="module")
def seed_study(tmp_path_factory):
    model = str(shared_model("mnist_cnn.h5")) if SHARED_MODELS.is_dir() else "zoo:mnist-cnn"
    tmp = tmp_path_factory.mktemp("study")
    r = _cli("study", model, "--preset", "seed", "-o", str(tmp / "out"), "-j", "2", cwd=tmp)
    assert r.returncode == 0, r.stderr
    return tmp / "out", r.stdout


def test_seed_study_reproduces_the_findings(seed_study):
    out, stdout = seed_study
    rows = json.loads((out / "study.json").read_text())["rows"]
    assert len(rows) == 7 and "report:" in stdout
    ratio = {r["configuration"][0]: r["ratio"] for r in rows}
    # with caches on, placement barely matters; with a cache off, everything slows down
    for k in "237":
        assert abs(ratio[k] - 1.0) < 0.1
    for k in "456":
        assert ratio[k] > 1.5
    assert ratio["6"] > max(ratio["4"], ratio["5"])
    # the conv kernels dominate the function table
    for r in rows:
        assert "conv" in r["top_function"] and r["top_share"] > 0.5


def test_trace_is_valid_trace_events(seed_study):
    out, _ = seed_study
    trace = json.loads((out / "run1" / "trace.json").read_text())
    events = trace["traceEvents"]
    assert events and all({"ph", "ts", "pid", "tid"} <= set(e) for e in events)
    assert all("dur" in e for e in events if e["ph"] == "X")
    assert any(e.get("cat") == "layer" for e in events) and any(e["ph"] == "C" for e in events)
    assert (out / "run1" / "stacks.folded").read_text().strip()
    assert (out / "run1" / "timeline.svg").read_text().startswith("<?xml")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs it)")
def test_html_report_renders_in_chromium(seed_study, tmp_path):
    out, _ = seed_study
    report = out / "report.html"
    html = report.read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]
    r = subprocess.run([CHROMIUM, *flags, "--dump-dom", report.resolve().as_uri()], capture_output=True,
                       text=True, timeout=120)
    dom = r.stdout
    assert 'data-rendered="ok"' in dom, dom[:500]
    m = re.search(r"rendered: (\d+) of (\d+) pictures", dom)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) >= 2  # the bar chart and the timeline
    for text in ["Configurations", "Layers", "Functions", "Hot loops", "Provenance", "conv_block4"]:
        assert text in dom
    console = [ln for ln in r.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console


def test_memcpy_preset_shows_the_byte_loop(tmp_path):
    r = _cli("study", "zoo:mobilenet-tiny", "--preset", "memcpy", "-o", str(tmp_path / "m"), "-j", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "m" / "study.json").read_text())["rows"]
    word, byte = rows[0], rows[1]
    assert byte["memcpy_share"] > 3 * word["memcpy_share"] > 0
    assert byte["cycles"] > word["cycles"]
    loops = json.loads((tmp_path / "m" / "run2" / "hotloops.json").read_text())
    assert any("byte-by-byte" in n for lp in loops for n in lp["notes"]) or byte["memcpy_share"] < 0.02


def test_run_classifies_the_study_digit(tmp_path):
    r = _cli("run", str(shared_model("mnist_cnn.h5")), "--input", str(shared_model("mnist_digit2.csv")),
             "--json", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert max(range(10), key=lambda i: doc["output"][i]) == 2 and doc["argmax_equal"]
    assert doc["cycles"] > 1_000_000
    assert json.loads((tmp_path / "out" / "run.json").read_text()) == doc
