"""What-ifs on firmware tinyscope did not build: caches forced whatever the firmware writes to CCR, a board
file variant with other wait states, and `tinyscope study` over ELFs with the same table, report and resume
as a model study."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyscope.errors import InputError
from tinyscope.sim import simulate
from tinyscope.targets import load_target

from .h743fw import build_h743

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]

CLI = [sys.executable, "-m", "tinyscope"]


@pytest.fixture(scope="module")
def fw(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("whatif")
    return {"cached": build_h743(tmp, "cached", ["h743_clock.c", "cached_work.c"]),
            "uncached": build_h743(tmp, "uncached", ["h743_clock.c", "cached_work.c"], ("-DNO_CACHES",))}


def test_forced_caches_override_what_the_firmware_writes(fw):
    runs = {(ic, dc): simulate(fw["cached"], "stm32h743", icache=ic, dcache=dc)
            for ic, dc in [(None, None), (False, None), (None, False), (False, False)]}
    assert len({r.stdout for r in runs.values()}) == 1 and runs[None, None].stdout.startswith("hash ")
    base = runs[None, None]
    assert base.icache["accesses"] > 0 and base.dcache["accesses"] > 0  # the firmware switched both on
    assert runs[False, None].icache["accesses"] == 0 and runs[False, None].dcache == base.dcache
    assert runs[None, False].dcache["accesses"] == 0 and runs[None, False].icache == base.icache
    assert runs[False, False].cycles > max(runs[False, None].cycles, runs[None, False].cycles)
    assert min(runs[False, None].cycles, runs[None, False].cycles) > 1.2 * base.cycles
    assert runs[False, None].meta["run"]["icache"] == "forced off"
    assert base.meta["run"]["dcache"] == "as the firmware sets it"
    # a build that never enables its caches, with both forced on, runs like the one that does
    on = simulate(fw["uncached"], "stm32h743", icache=True, dcache=True)
    off = simulate(fw["uncached"], "stm32h743")
    assert on.stdout == base.stdout and off.icache["accesses"] == 0
    assert abs(on.cycles - base.cycles) < 0.01 * base.cycles < off.cycles - base.cycles


def test_a_board_variant_changes_only_what_it_names(fw, tmp_path):
    variant = tmp_path / "h743-slow-flash.toml"
    variant.write_text('base = "stm32h743"\n\n[[region]]\nname = "flash"\nwait_states = 7\n'
                       'timing_source = "what-if: LATENCY = 7"\n')
    base, slow = load_target("stm32h743"), load_target(str(variant))
    assert slow.name == "stm32h743+h743-slow-flash" and slow.cpu_hz == base.cpu_hz
    assert slow.regions.by_name("flash").wait_states == 7 and base.regions.by_name("flash").wait_states == 4
    assert [r.name for r in slow.regions] == [r.name for r in base.regions]
    assert slow.peripherals == base.peripherals
    a = simulate(fw["cached"], base, icache=False)
    b = simulate(fw["cached"], slow, icache=False)
    assert a.stdout == b.stdout and b.cycles > a.cycles
    nested = tmp_path / "nested.toml"
    nested.write_text(f'base = "{variant.name}"\nname = "nested"\ncpu_hz = 400000000\nbus_hz = 200000000\n')
    n = load_target(str(nested))
    assert n.name == "nested" and n.cpu_hz == 400_000_000 and n.regions.by_name("flash").wait_states == 7
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "stm32h999"\n')
    with pytest.raises(InputError, match="unknown target 'stm32h999'"):
        load_target(str(bad))


def test_profile_cli_forces_a_cache_and_refuses_build_options(fw, tmp_path):
    r = subprocess.run([*CLI, "profile", str(fw["cached"]), "--dcache", "off", "-o", str(tmp_path / "p")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = json.loads((tmp_path / "p" / "run.json").read_text())
    assert run["provenance"]["dcache"] == "forced off" and run["provenance"]["icache"] == "as the firmware sets it"
    assert run["dcache"]["accesses"] == 0 and [m for m in run["memory_map"]]
    assert (tmp_path / "p" / "report.html").is_file() and "mix" in r.stdout
    r = subprocess.run([*CLI, "profile", str(fw["cached"]), "--place", "code=itcm", "-o", str(tmp_path / "q")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--place" in r.stderr
    assert not (tmp_path / "q").exists()
    r = subprocess.run([*CLI, "profile", str(fw["cached"]), "--input-shape", "1x4", "--stack-size", "4096",
                        "-o", str(tmp_path / "q")], capture_output=True, text=True)
    assert r.returncode == 2 and "--stack-size, --input-shape: build options" in r.stderr


def test_study_over_elfs_with_the_caches_preset_and_a_grid(fw, tmp_path):
    out = tmp_path / "study"
    r = subprocess.run([*CLI, "study", str(fw["cached"]), "-o", str(out), "-j", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "study.json").read_text())
    assert doc["kind"] == "firmware" and doc["preset"] == "preset caches"
    rows = {row["configuration"]: row for row in doc["rows"]}
    assert len(rows) == 5 and all(row["cycles"] for row in rows.values())
    first = rows["caches as the firmware sets them"]["cycles"]
    assert rows["both caches forced off"]["cycles"] > rows["I-cache forced off"]["cycles"] > first
    assert "Run time per configuration" in (out / "report.html").read_text()
    assert (out / "run2" / "run.json").is_file() and (out / "study.csv").is_file()
    lines = (out / "results.jsonl").read_text().count("\n")
    r = subprocess.run([*CLI, "study", str(fw["cached"]), "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and (out / "results.jsonl").read_text().count("\n") == lines  # resumed: none rerun

    grid = tmp_path / "builds.toml"
    grid.write_text(f'[[run]]\nname = "enables its caches"\nfirmware = "{fw["cached"]}"\n\n'
                    f'[[run]]\nname = "never enables them"\nfirmware = "{fw["uncached"]}"\n\n'
                    f'[[run]]\nname = "never, forced on"\nfirmware = "{fw["uncached"]}"\n'
                    'icache = "on"\ndcache = "on"\n')
    r = subprocess.run([*CLI, "study", "--grid", str(grid), "-o", str(tmp_path / "g"), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cycles = [row["cycles"] for row in json.loads(r.stdout)["rows"]]
    assert cycles[1] > 1.2 * cycles[0] and abs(cycles[2] - cycles[0]) < 0.01 * cycles[0]

    grid.write_text(f'[[run]]\nfirmware = "{fw["cached"]}"\nplace = "code=itcm"\n')
    r = subprocess.run([*CLI, "study", "--grid", str(grid), "-o", str(tmp_path / "h")], capture_output=True, text=True)
    assert r.returncode == 2 and "place shape a build" in r.stderr and r.stderr.count("\n") == 1
    r = subprocess.run([*CLI, "study", str(fw["cached"]), "--preset", "seed", "-o", str(tmp_path / "i")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--preset caches" in r.stderr
