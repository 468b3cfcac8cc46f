"""Targets as data: every board loads, regions are found by address and by the names users type,
cacheability follows the default memory map, and every figure carries a source or says it is an estimate."""

from __future__ import annotations

import pytest

from tinyscope.errors import InputError
from tinyscope.targets import TARGETS, load_target, parse_target


@pytest.mark.parametrize("name", TARGETS)
def test_every_region_has_a_source_and_timing_provenance(name: str) -> None:
    t = load_target(name)
    assert t.name == name and t.cpu_hz > 0
    for r in t.regions:
        assert r.source, r.name
        if r.read_wait_cycles or r.line_fill_cycles or r.write_wait_cycles:
            assert r.timing_source or r.estimate, r.name
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
        parse_target(_board(read_wait_cycles=3))
    assert parse_target(_board(read_wait_cycles=3, estimate=True)).regions.by_name("r").read_wait_cycles == 3
    with pytest.raises(InputError, match="need a source"):
        parse_target(_board(source=""))
    overlap = _board()
    overlap["region"].append({**overlap["region"][0], "name": "s", "base": 0x20000200})
    with pytest.raises(InputError, match="overlap"):
        parse_target(overlap)
