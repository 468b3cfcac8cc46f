"""Targets as data: every board loads, regions are found by address and by the names users type,
cacheability follows the default memory map, every figure carries a source or says it is an estimate,
latencies derive from bus facts, users' board files load by path, and the core file is a strict record."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

import pytest

from tinyscope.errors import InputError
from tinyscope.targets import TARGETS, load_target, parse_target
from tinyscope.targets.core import load_core, parse_core
from tinyscope.targets.memory_map import TIMING_FIELDS


@pytest.mark.parametrize("name", TARGETS)
def test_every_region_has_a_source_and_timing_provenance(name: str) -> None:
    t = load_target(name)
    assert t.name == name and t.cpu_hz > 0
    for r in t.regions:
        assert r.source, r.name
        if any(getattr(r, f) for f in ("access_cycles", "wait_states", "word_bits")):
            assert r.timing_source or r.estimate, r.name
        assert set(r.estimated) <= set(TIMING_FIELDS)
    for placed, region in t.default_place.items():
        assert t.region(region).kind == ("flash" if placed in ("weights", "code") else "ram")


def test_stm32h743_layout_and_caches() -> None:
    t = load_target("stm32h743")
    assert (t.cpu_hz, t.bus_hz) == (480_000_000, 240_000_000)
    sizes = {r.name: (r.base, r.size) for r in t.regions}
    assert sizes == {"itcm": (0, 64 << 10), "flash": (0x08000000, 2 << 20), "dtcm": (0x20000000, 128 << 10),
                     "axisram": (0x24000000, 512 << 10), "sram1": (0x30000000, 288 << 10),
                     "sram4": (0x38000000, 64 << 10)}
    assert (t.icache.size, t.icache.ways, t.icache.sets) == (16384, 2, 256)
    assert (t.dcache.size, t.dcache.ways, t.dcache.sets) == (16384, 4, 128)
    assert t.default_place == {"weights": "flash", "code": "flash", "activations": "axisram", "stack": "axisram"}


def test_lookup_by_address_and_alias() -> None:
    m = load_target("stm32h743").regions
    assert m.region_for(0x24000000).name == "axisram"
    assert m.region_for(0x2407FFFF).name == "axisram"
    assert m.region_for(0x24080000) is None
    assert m.region_for(0x40000000) is None
    assert m.by_name("SRAM").name == "axisram"
    with pytest.raises(KeyError):
        m.by_name("sram9")
    f7 = load_target("stm32f746").regions
    assert f7.region_for(0x00200010).name == "flash_itcm"
    assert f7.by_name("flash_itcm").mirror_of == "flash"
    assert [r.base for r in f7] == sorted(r.base for r in f7)


def test_default_cache_policy_follows_the_memory_map() -> None:
    t = load_target("stm32h743")
    policy = {r.name: r.cacheable for r in t.regions}
    assert policy == {"itcm": "none", "dtcm": "none", "flash": "wt", "axisram": "wbwa", "sram1": "wbwa",
                      "sram4": "wbwa"}
    assert load_target("mps2-an500").icache is None


def _board(**region) -> dict:
    base = {"name": "r", "base": 0x20000000, "size": 1024, "kind": "ram", "bus": "axi", "source": "x"}
    return {"name": "b", "cpu_hz": 1, "region": [{**base, **region}]}


def test_bad_target_data_is_rejected() -> None:
    with pytest.raises(InputError, match="unknown target"):
        load_target("stm32h999")
    with pytest.raises(InputError, match="timing_source or estimate"):
        parse_target(_board(access_cycles=3))
    r = parse_target(_board(access_cycles=3, estimate=True)).regions.by_name("r")
    assert r.access_cycles == 3 and r.estimated == ("access_cycles",)
    with pytest.raises(InputError, match="need a source"):
        parse_target(_board(source=""))
    overlap = _board()
    overlap["region"].append({**overlap["region"][0], "name": "s", "base": 0x20000200})
    with pytest.raises(InputError, match="overlap"):
        parse_target(overlap)


def test_latencies_derive_from_bus_facts() -> None:
    """H743: AXI and AHB at half the CPU clock, 64-bit AXI SRAM, 32-bit AHB SRAM1 (8 beats per line),
    4-wait-state flash with a 256-bit word (one access per line, then 4 beats streaming)."""
    h7 = load_target("stm32h743")
    assert h7.clock_div == 2 and h7.line == 32
    axi, sram1, flash = h7.region("axisram"), h7.region("sram1"), h7.region("flash")
    assert (axi.beats(32), sram1.beats(32), flash.beats(32)) == (4, 8, 4)
    assert axi.read_cycles(2) == 2 * (axi.access_cycles + 1) - 1
    assert flash.read_cycles(2) == 2 * (flash.access_cycles + 4 + 1) - 1
    assert flash.beat_cycles(2) == 2  # the flash word covers the line: beats stream at the bus clock
    assert sram1.fill_cycles(2, 32) == sram1.read_cycles(2) + 7 * 2
    assert h7.region("itcm").read_cycles(2) == 0 and h7.region("dtcm").fill_cycles(2, 32) == 0
    # F746's flash on AXIM: one 64-bit flash read per beat, each costing the 8-cycle flash access
    f7 = load_target("stm32f746")
    f = f7.region("flash")
    assert f7.clock_div == 1 and f.beat_cycles(1) == f.wait_states + 1 == 8
    assert f.fill_cycles(1, 32) == f.read_cycles(1) + 3 * 8


def test_each_wait_state_is_visible() -> None:
    """One more wait state costs one bus clock per flash access: 2 CPU cycles on the H743 (one access
    per line), 4 x 1 on the F746's AXIM flash (one access per beat)."""
    f = load_target("stm32h743").region("flash")
    slower = replace(f, wait_states=f.wait_states + 1)
    assert slower.read_cycles(2) - f.read_cycles(2) == 2
    assert slower.fill_cycles(2, 32) - f.fill_cycles(2, 32) == 2
    f7 = load_target("stm32f746").region("flash")
    assert replace(f7, wait_states=8).fill_cycles(1, 32) - f7.fill_cycles(1, 32) == 4


def test_art_accelerator_is_described() -> None:
    art = load_target("stm32f746").region("flash_itcm").accel
    assert art is not None and (art.lines, art.line, art.enabled, art.prefetch) == (64, 32, True, True)
    assert not load_target("stm32f746").region("flash_itcm").zero_wait


def _builtin(name: str) -> str:
    return resources.files("tinyscope.targets").joinpath(f"{name}.toml").read_text()


def test_a_board_file_loads_by_path(tmp_path: Path) -> None:
    """The built-in boards are examples of the user's schema: a copy loads from its path, the same."""
    p = tmp_path / "myboard.toml"
    p.write_text(_builtin("stm32h743").replace('name = "stm32h743"', 'name = "myboard"'))
    t = load_target(str(p))
    ref = load_target("stm32h743")
    assert t.name == "myboard" and t.path == str(p.resolve())
    assert t.regions == ref.regions and (t.icache, t.dcache, t.cpu_hz) == (ref.icache, ref.dcache, ref.cpu_hz)


@pytest.mark.parametrize("edit,message", [
    (lambda s: s.replace("cpu_hz = 480_000_000\n", ""), "missing cpu_hz"),
    (lambda s: s.replace("wait_states = 4 ", "wait_states = -1 "), "wait_states must be an integer"),
    (lambda s: s.replace("wait_states = 4 ", "wait_sates = 4 "), "unknown key.*wait_sates"),
    (lambda s: s.replace("bus_bits = 32 ", "bus_bits = 16 ", 1), "bus_bits must be 32 or 64"),
    (lambda s: s.replace("size = 16384\nways = 2", "size = 16000\nways = 2"), "power-of-two number of sets"),
    (lambda s: s + "\n[oops", "not valid TOML"),
    (lambda s: s.replace('fpu = "fpv5-d16"', 'fpu = "vfp9"'), "fpu must be"),
])
def test_bad_board_files_give_one_line(tmp_path: Path, edit, message: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(edit(_builtin("stm32h743")))
    with pytest.raises(InputError, match=message) as err:
        load_target(str(p))
    assert "\n" not in str(err.value) and str(p) in str(err.value)


def test_missing_board_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_target(str(tmp_path / "nope.toml"))


def _core_data() -> dict:
    return tomllib.loads(resources.files("tinyscope.targets").joinpath("cortex_m7.toml").read_text())


def test_core_file_is_a_strict_record() -> None:
    core = load_core()
    assert core.latency.load_word == 1 and core.latency.load_narrow == 2 and core.branch.mispredict == 8
    data = _core_data()
    data["latency"]["vdiv_guess"] = 14
    with pytest.raises(InputError, match="unknown key.*vdiv_guess"):
        parse_core(data)
    data = _core_data()
    del data["issue"]["words_per_cycle"]
    with pytest.raises(InputError, match="missing key.*words_per_cycle"):
        parse_core(data)
    data = _core_data()
    data["branch"]["mispredict"] = 7.5
    with pytest.raises(InputError, match="must be integers"):
        parse_core(data)
    data = _core_data()
    del data["memory"]
    with pytest.raises(InputError, match="missing section"):
        parse_core(data)


def test_the_documented_example_board_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "board-files.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    t = parse_target(tomllib.loads(example))
    assert t.name == "my-h750" and t.clock_div == 2 and t.line == 32
    assert t.region("flash").read_cycles(t.clock_div) == 2 * (2 + 4 + 1) - 1


def test_the_documented_variant_loads(tmp_path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "board-files.md").read_text()
    example = doc.split("## Variants", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "one-more-ws.toml"
    f.write_text(example)
    t, base = load_target(str(f)), load_target("stm32h743")
    assert t.region("flash").wait_states == base.region("flash").wait_states + 1
    assert t.region("flash").read_cycles(t.clock_div) == base.region("flash").read_cycles(base.clock_div) + 2
