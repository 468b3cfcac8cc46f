"""Calibration: each test checks one documented Cortex-M7 behaviour (shared/ref/cortex-m7-timing.md), and
each fails on the rule it replaced. Instruction-level figures come from bench/fidelity.py's cases (the
published silicon cycles); memory-system tests build small programs around the rule they check.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from bench.fidelity import CASES, measure
from tinyscope.sim import simulate
from tinyscope.targets import load_target, parse_target
from tinyscope.targets.core import load_core

from .snippets import build, rept

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
CASE = {c.name: c for c in CASES}


def held(name: str) -> float:
    """Simulated cycles per repetition of a fidelity case, checked against its published figure."""
    row = measure(CASE[name])
    assert row.simulated is not None, row.note
    assert row.simulated == pytest.approx(row.published, abs=0.1), (name, row.simulated, row.published)
    return row.simulated


# ---- load-use, per consumer class (replaces "a load's latency applies to every consumer") ----
@pytest.mark.parametrize("name", ["ldr -> late ALU", "ldrb -> late ALU", "ldrh -> late ALU"])
def test_load_feeds_the_late_alu(name):
    """Word loads feed an ALU instruction the next cycle; byte and halfword loads a cycle later."""
    held(name)


@pytest.mark.parametrize("name", ["ldr -> shifted operand", "ldrb -> shifted operand", "eor -> shifted operand"])
def test_shifted_operand_consumers_need_the_value_a_cycle_early(name):
    held(name)


@pytest.mark.parametrize("name", ["ldr -> mul operand", "ldrb -> mla accumulate", "mla accumulate chain"])
def test_multiply_consumers(name):
    """Multiplicands cannot take a word load of the previous cycle; the accumulator is read a stage later."""
    held(name)


@pytest.mark.parametrize("name", ["ldr -> address (pointer chase)", "add -> address", "uxtb -> address"])
def test_address_generation_consumers(name):
    held(name)


# ---- decode costs from capstone's operands ----
@pytest.mark.parametrize("name", ["ldrd with offset", "vldm 4 singles, writeback", "vpush+vpop 2 doubles",
                                  "ldm 5 regs"])
def test_multiple_transfer_costs_count_words(name):
    held(name)


# ---- branch prediction ----
@pytest.mark.parametrize("name", ["loop back edge", "mispredict (loop exit), flags early"])
def test_branch_measurements(name):
    held(name)


def test_mispredict_with_late_flags():
    row = measure(CASE["mispredict (loop exit), flags late"])
    assert row.simulated == pytest.approx(row.published, abs=0.5)  # within one dual-issue slot


def _loop_nest(tmp_path: Path, trips: int, outer: int):
    body = f"""    mov r4, #{outer}
1:  mov r3, #{trips}
2:  add.w r0, r0, #1
    subs r3, r3, #1
    bne.w 2b
    add.w r1, r1, #1
    subs r4, r4, #1
    bne.w 1b"""
    r = simulate(build(tmp_path, f"nest{trips}", body), "stm32h743")
    assert r.exit_code == 0
    inner = [pc for pc in r.pcs() if int(r.pc_stats["count"][r.index(pc)]) == trips * outer]
    branch = max(inner)  # the inner back edge is the last instruction run trips x outer times
    return int(r.pc_stats["stall_branch"][r.index(branch)])


@pytest.mark.parametrize("trips", [2, 4])
def test_a_short_loop_pays_one_mispredict_per_instance(tmp_path, trips):
    """2x2 pooling's inner loop: the exit mispredicts once, and the re-entered loop's first back edge is
    predicted (the BTAC entry survives the exit). Only the very first back edge, before the BTAC knows the
    branch, is a static-rule redirect. The old rule dropped the BTAC entry at the exit and mispredicted the
    next first back edge as well: two mispredicts per instance."""
    b = load_core().branch
    outer = 16
    stall = _loop_nest(tmp_path, trips, outer)
    assert stall == outer * b.mispredict + b.direct_miss


def test_a_never_taken_backward_branch_mispredicts_once(tmp_path):
    """The static rule guesses a backward branch taken; the BTAC then remembers it falls through."""
    body = """    mov r3, #64
    b.w 2f
1:  add.w r0, r0, #1
2:  cmp.w r3, #100
    bgt.w 1b
    subs r3, r3, #1
    bne.w 2b"""
    r = simulate(build(tmp_path, "never", body), "stm32h743")
    pcs = [pc for pc in r.pcs() if int(r.pc_stats["count"][r.index(pc)]) == 64]
    bgt = pcs[1]  # cmp, bgt, subs, bne run 64 times
    assert int(r.pc_stats["stall_branch"][r.index(bgt)]) == load_core().branch.mispredict


# ---- dual issue ----
@pytest.mark.parametrize("name", ["alu+alu pair", "ldr+alu pair", "vadd+vmul no pair", "3 vfma accumulators",
                                  "vadd chain", "vfma accumulate chain", "str+str no pair"])
def test_dual_issue_and_fp_latency(name):
    held(name)


# ---- memory system ----
def test_icache_miss_from_flash_costs_the_critical_word_and_a_hit_does_not(tmp_path):
    t = load_target("stm32h743")
    crit = t.region("flash").read_cycles(t.clock_div)
    lines = 8
    extra = "    .balign 32\nfunc:\n" + rept(lines * 16 - 1, "    nop") + "\n    bx lr\n"
    r = simulate(build(tmp_path, "icache", "    bl func\n    bl func", caches=True, extra=extra, code="flash"), t)
    assert r.exit_code == 0
    funcs = [pc for pc in r.pcs() if r.pc_stats["icache_miss"][r.index(pc)] > 0]
    assert len(funcs) >= lines
    first_pass = sum(int(r.pc_stats["stall_ifetch"][r.index(pc)]) for pc in funcs)
    assert first_pass >= lines * crit
    misses = [int(r.pc_stats["icache_miss"][r.index(pc)]) for pc in funcs]
    assert max(misses) == 1  # the second call hit in the cache


def test_flash_wait_states_are_a_board_parameter(tmp_path):
    """One more flash wait state costs one AXI clock (2 CPU cycles) per line fill on the H743."""
    base = load_target("stm32h743")
    slow_flash = replace(base.region("flash"), wait_states=base.region("flash").wait_states + 1)
    slow = replace(base, regions=type(base.regions)(tuple(slow_flash if r.name == "flash" else r
                                                          for r in base.regions)))
    extra = "    .balign 32\nfunc:\n" + rept(8 * 16 - 1, "    nop") + "\n    bx lr\n"
    elf = build(tmp_path, "ws", "    bl func", caches=True, extra=extra, code="flash")
    a, b = simulate(elf, base), simulate(elf, slow)
    assert a.icache["misses"] == b.icache["misses"] > 0
    func = [pc for pc in a.pcs() if a.pc_stats["icache_miss"][a.index(pc)] > 0 and pc >= a.pcs()[-1] - 8 * 32]
    assert len(func) == 8
    sa, sb = (sum(int(x.pc_stats["stall_ifetch"][x.index(pc)]) for pc in func) for x in (a, b))
    assert sb - sa == base.clock_div * len(func)


def test_tcm_against_uncached_axi_sram(tmp_path):
    t = load_target("stm32h743")
    wait = t.region("axisram").read_cycles(t.clock_div)
    body = "    ldr r0, [{b}]\n    ldr r1, [{b}, #4]"
    tcm = (_cycles(tmp_path, "tcm2", rept(128, body.format(b="r7")))
           - _cycles(tmp_path, "tcm1", rept(64, body.format(b="r7")))) / 64
    axi = (_cycles(tmp_path, "axi2", rept(128, body.format(b="r6")))
           - _cycles(tmp_path, "axi1", rept(64, body.format(b="r6")))) / 64
    assert tcm <= 1.0
    assert axi - tcm == pytest.approx(2 * wait, abs=1.0)


def _cycles(tmp_path, name, body, target="stm32h743", **kw) -> int:
    r = simulate(build(tmp_path, name, body, **kw), target)
    assert r.exit_code == 0 and len(r.itm) == 1
    return int(r.itm["value"][0])


SWEEP = """    add r2, r6, #0x4000
    mov r3, #512
2:  ldr r0, [r2], #32
    subs r3, r3, #1
    bne 2b"""
FILL = """    mov r2, r6
    mov r3, #512
1:  {op} r0, [r2], #32
    subs r3, r3, #1
    bne 1b"""


def test_dirty_evictions_are_charged_on_the_bus(tmp_path):
    """Fill the 16 KB D-cache with AXI SRAM lines, dirty or clean, then sweep 16 KB of other lines: the
    dirty lines' write-backs occupy the bus and delay the sweep's fills. (The old model counted them
    and charged nothing.)"""
    clean = simulate(build(tmp_path, "clean", SWEEP, setup=FILL.format(op="ldr"), caches=True), "stm32h743")
    dirty = simulate(build(tmp_path, "dirty", SWEEP, setup=FILL.format(op="str"), caches=True), "stm32h743")
    assert clean.dcache["writebacks"] == 0 and dirty.dcache["writebacks"] >= 512
    t = load_target("stm32h743")
    per_line = t.region("axisram").writeback_cycles(t.clock_div, t.line)
    extra = int(dirty.itm["value"][0]) - int(clean.itm["value"][0])
    assert extra >= 512 * per_line // 2, (extra, per_line)


def test_cache_line_length_comes_from_the_board(tmp_path):
    """A board with 64-byte lines misses once per 64 bytes of straight-line code, not once per 32."""
    data = tomllib.loads(resources.files("tinyscope.targets").joinpath("stm32h743.toml").read_text())
    data["icache"]["line"] = data["dcache"]["line"] = 64
    wide = parse_target(data, "h743-64")
    extra = "    .balign 64\nfunc:\n" + rept(16 * 32 - 1, "    nop") + "\n    bx lr\n"  # 1 KB of code
    elf = build(tmp_path, "line64", "    bl func", caches=True, extra=extra, code="flash")
    r32, r64 = simulate(elf, "stm32h743"), simulate(elf, wide)
    func32 = sum(int(r32.pc_stats["icache_miss"][r32.index(pc)]) for pc in r32.pcs())
    func64 = sum(int(r64.pc_stats["icache_miss"][r64.index(pc)]) for pc in r64.pcs())
    assert func64 < func32 and func32 - func64 >= 14  # 32 lines of func become 16
    assert r64.cycles != r32.cycles


# ---- the STM32F746's flash through ITCM with the ART accelerator ----
F7_LD = """
ENTRY(Reset_Handler)
MEMORY { FLASH (rx) : ORIGIN = 0x00200000, LENGTH = 1M
         DTCM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }
_estack = ORIGIN(DTCM) + LENGTH(DTCM);
SECTIONS { .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
           .text : { *(.text*) *(.rodata*) } > FLASH }
"""


def _f7_art(tmp_path: Path, lines: int, **accel) -> tuple[int, int]:
    """Cycles of two calls of a function of ``lines`` 32-byte lines run from flash through ITCM."""
    data = tomllib.loads(resources.files("tinyscope.targets").joinpath("stm32f746.toml").read_text())
    for r in data["region"]:
        if r["name"] == "flash_itcm":
            r["accel"].update(accel)
    target = parse_target(data, "f746-art")
    extra = "    .balign 32\nfunc:\n" + rept(lines * 8 - 1, "    nop.w") + "\n    bx lr\n"
    src = build(tmp_path, "art", "    bl func\n    ldr r10, [r8]\n    bl func", extra=extra).with_suffix(".S")
    text = src.read_text().replace("ldr r6, =0x24001000      @ AXI SRAM data", "")
    text = text.replace("    ldr r10, [r8]\n    sub r0, r10, r9", "    ldr r11, [r8]\n    sub r0, r11, r10\n"
                        "    sub r5, r10, r9\n    ldr r1, =0xE0000004\n    str r5, [r1]")
    src.write_text(text)
    ld = tmp_path / "f7.ld"
    ld.write_text(F7_LD)
    elf = tmp_path / "art.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard",
                    "-nostdlib", "-T", str(ld), str(src), "-o", str(elf)], check=True, capture_output=True)
    r = simulate(elf, target)
    assert r.exit_code == 0
    by_port = {int(p): int(v) for p, v in zip(r.itm["port"], r.itm["value"])}
    return by_port[1], by_port[0]  # first call, second call


def test_art_hits_after_the_first_pass_and_honours_wait_states(tmp_path):
    """ART on: a function of 32 lines (1 KB, inside the 64-line ART) pays the flash only on its first call.
    ART off, prefetch off: every line pays wait states + 1 = 8 cycles each time. The old model timed this
    path as zero-wait TCM (both calls equal, no flash cost at all)."""
    lines = 32
    first_on, second_on = _f7_art(tmp_path, lines)
    first_off, second_off = _f7_art(tmp_path, lines, enabled=False, prefetch=False)
    ws1 = load_target("stm32f746").region("flash_itcm").wait_states + 1
    assert first_on > second_on
    assert first_off - second_on >= lines * ws1 - 8
    assert second_off - second_on == pytest.approx(lines * ws1, abs=8)


def test_art_prefetch_hides_part_of_a_sequential_miss(tmp_path):
    lines = 96  # more than the ART holds: every pass misses
    _, pf = _f7_art(tmp_path, lines, enabled=False, prefetch=True)
    _, nopf = _f7_art(tmp_path, lines, enabled=False, prefetch=False)
    assert pf < nopf
    assert np.isclose((nopf - pf) / lines, 4, atol=1.0)  # 8 nop.w run in 4 cycles while the next line arrives
