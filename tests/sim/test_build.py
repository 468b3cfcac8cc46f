"""Firmware builds for every target: symbols land in the placed regions, the byte memcpy is linked
when asked for, and an overflow names the region and the bytes missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tinyscope.errors import PlanError
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.frontend import load
from tinyscope.targets import TARGETS, load_target

pytestmark = [pytest.mark.sim, pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                                  reason="arm-none-eabi-gcc not installed")]


def symbols(elf: Path) -> dict[str, tuple[int, int]]:
    with elf.open("rb") as f:
        tab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: (s["st_value"] & ~1, s["st_size"]) for s in tab.iter_symbols() if s.name}


@pytest.fixture(scope="module")
def graph():
    return load("zoo:tiny-dscnn")


@pytest.mark.parametrize("target", TARGETS)
def test_default_build_places_everything(graph, target: str, tmp_path: Path) -> None:
    fw = build_firmware(graph, tmp_path, BuildConfig(target=target))
    regions = load_target(target).regions
    syms = symbols(fw.elf)
    where = {name: regions.region_for(syms[name][0]).name for name in
             ("ts_vectors", "Reset_Handler", "network_run", "ts_input", "network_arena", "_estack")
             if name != "_estack"}
    place = fw.placement
    assert where == {"ts_vectors": "flash", "Reset_Handler": "flash", "network_run": place.code,
                     "ts_input": place.input, "network_arena": place.activations}
    assert regions.region_for(syms["_estack"][0] - 4).name == place.stack
    assert set(fw.usage) >= {"flash", place.activations} and all(0 < u <= s for u, s in fw.usage.values())
    for f in ("firmware.ld", "firmware.map", "build.json", "src/main.c", "src/startup.c", "src/network.c"):
        assert (tmp_path / f).is_file(), f


def test_code_in_itcm_and_byte_memcpy(graph, tmp_path: Path) -> None:
    cfg = BuildConfig(place={"code": "itcm", "activations": "dtcm"}, libc="nano-bytecopy")
    fw = build_firmware(graph, tmp_path, cfg)
    syms = symbols(fw.elf)
    itcm = load_target("stm32h743").region("itcm")
    assert itcm.contains(syms["network_run"][0]) and itcm.contains(syms["memcpy"][0])
    assert not itcm.contains(syms["Reset_Handler"][0])  # start-up runs from flash and does the copy
    assert syms["memcpy"][1] <= 24, "the byte loop is a few instructions, not newlib's word copy"
    assert fw.usage["itcm"][0] > 0


def test_overflow_names_region_and_bytes(tmp_path: Path) -> None:
    big = load("zoo:mnist-cnn")  # 364.5 KiB of float32 weights cannot fit in 128 KiB of DTCM
    with pytest.raises(PlanError, match=r"region dtcm overflowed by \d+ bytes"):
        build_firmware(big, tmp_path, BuildConfig(place={"weights": "dtcm"}))


def test_f7_code_through_the_itcm_flash_mirror(graph, tmp_path: Path) -> None:
    fw = build_firmware(graph, tmp_path, BuildConfig(target="stm32f746", place={"code": "flash_itcm"}))
    regions = load_target("stm32f746").regions
    run = symbols(fw.elf)["network_run"][0]
    assert regions.region_for(run).name == "flash_itcm"
    with fw.elf.open("rb") as f:  # loaded into flash at the same offset it runs at in the mirror
        seg = next(s for s in ELFFile(f).iter_segments() if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= run
                   < s["p_vaddr"] + s["p_memsz"])
    assert seg["p_paddr"] - 0x08000000 == seg["p_vaddr"] - 0x00200000
    assert fw.usage["flash_itcm"][0] > 0 and fw.usage["flash"][0] > fw.usage["flash_itcm"][0]


def test_harness_switches_caches_and_marks_layers_on_itm(graph, tmp_path: Path) -> None:
    from tinyscope.firmware.protocol import parse_output
    from tinyscope.sim import simulate
    from tinyscope.targets.armv7m import ITM_LAYER_PORT, decode_itm_layer

    runs = {}
    for caches in ("on", "off"):
        fw = build_firmware(graph, tmp_path / caches, BuildConfig(icache=caches == "on", dcache=caches == "on"))
        result = simulate(fw.elf, fw.target, profile=False)
        runs[caches] = parse_output(result.stdout)
        marks = [decode_itm_layer(int(w)) for w in result.itm["value"][result.itm["port"] == ITM_LAYER_PORT]]
        n = runs[caches].layer_count
        assert marks == [(i, end) for i in range(n) for end in (False, True)]
    assert runs["off"].cycles > 2 * runs["on"].cycles  # the firmware really enabled both caches
    assert sum(e - s for s, e in runs["on"].layers) <= runs["on"].cycles
    assert (runs["on"].output == runs["off"].output).all()


def test_cache_entries_are_checked_against_their_manifest(graph, tmp_path: Path) -> None:
    """A damaged entry (zeroed .text, truncated build.json, missing manifest) is rebuilt, never used."""
    from tinyscope.firmware.cache import MANIFEST, cached_firmware

    fw, cached = cached_firmware(graph, BuildConfig(), tmp_path)
    assert not cached
    good = fw.elf.read_bytes()
    assert cached_firmware(graph, BuildConfig(), tmp_path)[1]
    with fw.elf.open("rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        off, size = text["sh_offset"], text["sh_size"]
    damaged = bytearray(good)
    damaged[off:off + size] = bytes(size)
    fw.elf.write_bytes(bytes(damaged))
    again, cached = cached_firmware(graph, BuildConfig(), tmp_path)
    assert not cached and again.elf.read_bytes()[off:off + size] == good[off:off + size]
    info = again.folder / "build.json"
    info.write_text(info.read_text()[:40])
    assert not cached_firmware(graph, BuildConfig(), tmp_path)[1]
    (again.folder / MANIFEST).unlink()
    assert not cached_firmware(graph, BuildConfig(), tmp_path)[1]
    assert cached_firmware(graph, BuildConfig(), tmp_path)[1]
    assert [p.name for p in tmp_path.iterdir()] == [again.folder.name]  # no staging leftovers
