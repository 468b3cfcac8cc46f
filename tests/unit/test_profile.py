"""The profiler's tables and timelines on a hand-made simulator result (no firmware needed)."""

from __future__ import annotations

import numpy as np
import pytest

from tinyscope.errors import InputError
from tinyscope.profile.functions import function_table
from tinyscope.profile.hotloops import hot_blocks, hot_loops
from tinyscope.profile.layers import LayerRow
from tinyscope.profile.timeline import chrome_trace, folded_stacks
from tinyscope.sim.elf import Symbol, Symbols
from tinyscope.sim.result import EVENT_DTYPE, ITM_DTYPE, SimResult
from tinyscope.sim.timing import STAT_NAMES
from tinyscope.studies.grid import load_grid, preset

BASE = 0x0800_0000


def fake_result() -> tuple[SimResult, Symbols]:
    """main (0x0-0x20) calls copy (0x20-0x40) twice; copy's loop is a byte copy."""
    n = 0x40 // 2
    stats = {k: np.zeros(n, np.int64) for k in STAT_NAMES}
    stats["count"][0:4] = 1
    stats["cycles"][0:4] = 10  # main: 40 cycles
    stats["count"][0x10:0x18] = 100
    stats["cycles"][0x10:0x18] = 15  # copy: 120 cycles
    stats["stall_dmem"][0x12] = 7
    events = np.array([(10, 0, BASE + 0x20), (60, 1, BASE + 0x8), (70, 0, BASE + 0x20), (150, 1, BASE + 0xC)],
                      EVENT_DTYPE)
    r = SimResult(elf="fake.elf", target="stm32h743", cycles=200, instructions=900, exit_code=0, stdout="",
                  itm=np.zeros(0, ITM_DTYPE), events=events, ranges=[(BASE, BASE + 0x40, 0)], pc_stats=stats,
                  stalls={}, icache={"accesses": 0, "misses": 0}, dcache={"accesses": 0, "misses": 0},
                  wall_seconds=1.0)
    return r, Symbols([Symbol(BASE, 0x20, "main"), Symbol(BASE + 0x20, 0x20, "copy")])


def test_function_table_exclusive_inclusive_calls():
    r, syms = fake_result()
    rows = {f.name: f for f in function_table(r, syms)}
    assert rows["copy"].exclusive == 120 and rows["main"].exclusive == 40
    assert rows["copy"].calls == 2 and rows["copy"].inclusive == (60 - 10) + (150 - 70)
    assert rows["copy"].share == pytest.approx(0.75)
    assert rows["copy"].stalls["stall_dmem"] == 7


def test_folded_stacks_and_chrome_trace():
    r, syms = fake_result()
    folded = dict(line.rsplit(" ", 1) for line in folded_stacks(r, syms).splitlines())
    assert int(folded["[start-up];copy"]) == 50 + 80
    assert sum(int(v) for v in folded.values()) == r.cycles
    layers = [LayerRow(0, 0, "conv", "CONV_2D", 1000, 5, 100, 0.1, 1.0, 1, 2)]
    trace = chrome_trace(r, syms, layers, 480_000_000)
    events = trace["traceEvents"]
    assert all({"ph", "ts", "pid", "tid"} <= set(e) for e in events)
    assert {e["name"] for e in events if e["ph"] == "B"} == {"0: conv", "copy"}
    assert any(e["ph"] == "C" for e in events)


def test_hot_loops_name_the_studys_two_patterns():
    r, syms = fake_result()
    text = {BASE + 0x20: "ldrb r3, [r1], #1", BASE + 0x24: "strb r3, [r0], #1", BASE + 0x28: "subs r2, #1",
            BASE + 0x2A: "bne #0x8000020"}
    loops = hot_loops(r, syms, text)
    assert loops and loops[0].function == "copy" and "byte-by-byte" in loops[0].notes[0]
    fma = {BASE + 0x20: "vfma.f32 s0, s1, s2", BASE + 0x24: "vfma.f32 s0, s3, s4", BASE + 0x28: "subs r2, #1",
           BASE + 0x2A: "bne #0x8000020"}
    r.pc_stats["stall_fp"][0x12] = 300
    notes = hot_loops(r, syms, fma)[0].notes
    assert any("back-to-back FMAs into one register" in n for n in notes)


def test_presets_and_toml_grids(tmp_path):
    seed = preset("seed")
    assert len(seed) == 7 and not seed[3].config.icache and not seed[4].config.dcache
    assert seed[6].config.place["code"] == "itcm" and seed[6].config.place["stack"] == "dtcm"
    assert [r.config.libc for r in preset("memcpy")] == ["nano", "nano-bytecopy"]
    g = tmp_path / "grid.toml"
    g.write_text('[[run]]\nname = "a"\nplace = "activations=dtcm"\ndcache = "off"\n[[run]]\nlibc = "newlib"\n')
    runs = load_grid(g)
    assert runs[0].name == "a" and not runs[0].config.dcache and runs[1].config.libc == "newlib"
    g.write_text('[[run]]\ncolour = "red"\n')
    with pytest.raises(InputError, match="unknown keys colour"):
        load_grid(g)
    g.write_text("not toml [")
    with pytest.raises(InputError, match="not valid TOML"):
        load_grid(g)


def test_hot_blocks_group_instructions_that_run_together():
    r, syms = fake_result()
    text = {BASE + 0x0: "movs r0, #1", BASE + 0x2: "movs r1, #2", BASE + 0x4: "bl #0x8000020",
            BASE + 0x20: "ldrb r3, [r1], #1", BASE + 0x24: "strb r3, [r0], #1", BASE + 0x28: "subs r2, #1",
            BASE + 0x2A: "bne #0x8000020"}
    blocks = hot_blocks(r, syms, text)
    assert [(b.function, b.iterations, len(b.lines)) for b in blocks] == [("copy", 100, 4), ("main", 1, 3)]
    assert blocks[0].cycles == 4 * 15 and "byte-by-byte" in blocks[0].notes[0]
