"""`tinyscope profile FIRMWARE.elf`: any semihosting ELF gets the function, stall, region and hot-region
tables and the same files as a model profile; region markers come from the shipped header."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyscope.profile import write_profile
from tinyscope.profile.elf import NO_MARKERS, profile_elf
from tinyscope.targets.armv7m import markers_header

from .differential import FPU, PROGRAMS

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]

HARNESS = Path(__file__).parents[2] / "tinyscope" / "firmware" / "include"
FIRMWARE = Path(__file__).parent / "firmware"


def _build(tmp: Path, name: str, source: Path, defines: tuple[str, ...] = ()) -> Path:
    elf = tmp / f"{name}.elf"
    cmd = ["arm-none-eabi-gcc", "-O2", "-g", "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", f"-mfpu={FPU['dp']}",
           "-specs=nano.specs", "-nostartfiles", "-T", str(PROGRAMS / "mps2.ld"), f"-I{HARNESS}", *defines,
           str(PROGRAMS / "sys.c"), str(source), "-o", str(elf)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return elf


def test_shipped_marker_header_is_the_generated_one():
    assert (HARNESS / "tinyscope_markers.h").read_text() == markers_header()


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("elfprof")
    return _build(tmp, "marked", FIRMWARE / "semi_markers.c")


def test_profile_of_a_semihosting_elf(marked, tmp_path):
    p = profile_elf(marked, "mps2-an500")
    assert p.result.exit_code == 0 and p.result.stdout.startswith("checksum ")
    rows = {f.name: f for f in p.functions}
    assert rows["dot"].calls == 4096 and rows["dot"].exclusive > 0.5 * p.cycles
    # checksum's only instruction is `b.w scaled_sum`: a tail call, counted, with the callee's time
    assert rows["scaled_sum"].calls == 4 and rows["checksum"].calls == 4
    assert rows["checksum"].inclusive >= rows["scaled_sum"].inclusive > 0
    assert rows["main"].inclusive >= rows["dot"].inclusive + rows["checksum"].inclusive
    assert [lay.c_id for lay in p.layers] == [1, 2] and p.layers[1].cycles > 10 * p.layers[0].cycles
    assert p.notes == [] and p.loops and p.loops[0].function == "dot"
    files = write_profile(p, tmp_path / "out")
    run = json.loads(files["run"].read_text())
    assert run["markers"] is True and run["cycles"] == p.cycles and run["elf_sha256"]
    assert "region 2" in files["layers"].read_text()
    assert "scaled_sum" in files["folded"].read_text() and json.loads(files["trace"].read_text())["traceEvents"]


def test_without_markers_the_profile_says_so(tmp_path):
    src = tmp_path / "plain.c"
    src.write_text('#include <stdio.h>\nint main(void) { printf("hi\\n"); return 0; }\n')
    p = profile_elf(_build(tmp_path, "plain", src), "mps2-an500")
    assert p.layers == [] and p.notes == [NO_MARKERS] and p.result.stdout == "hi\n"


def test_cli_sim_save_then_profile_and_report(marked, tmp_path):
    saved = tmp_path / "run.npz"
    env_py = [sys.executable, "-m", "tinyscope"]
    r = subprocess.run([*env_py, "sim", str(marked), "--target", "mps2-an500", "--save", str(saved)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*env_py, "profile", str(saved), "-o", str(tmp_path / "prof")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "regions (tinyscope_markers.h)" in r.stdout and "scaled_sum" in r.stdout and "from " in r.stdout
    assert (tmp_path / "prof" / "report.html").is_file()
    r = subprocess.run([*env_py, "report", str(saved)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    html = saved.with_suffix(".html")
    assert html.is_file() and "region 2" in html.read_text()
