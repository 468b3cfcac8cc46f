"""The differential harness: ordinary programs run with the timing model, without it and under
QEMU (mps2-an500) must print the same thing, and timing on and off must execute the same number of
instructions. A disagreement names the first instruction where the runs part (differential.py).

The corpus (programs/): libgcc soft-double and FPU double-precision arithmetic, newlib-nano and
newlib printf/scanf of floats, qsort/bsearch, setjmp/longjmp, switch tables (TBB/TBH), IT-heavy C
and hand-written IT-block shapes, the printf-double reproducer, and a generated network.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyscope.sim import simulate

from ..conftest import ROOT
from .differential import GCC, QEMU, build, check

SHARED_REPRO = ROOT.parent / "shared" / "repro"
pytestmark = [pytest.mark.sim, pytest.mark.skipif(GCC is None, reason="arm-none-eabi-gcc missing")]

# name: (sources, fpu, libc)
CORPUS = {
    "fp_double_softdp": (["fp_double.c"], "sp", "nano"),
    "fp_double_fpu": (["fp_double.c"], "dp", "nano"),
    "printf_float_nano_sp": (["printf_float.c"], "sp", "nano"),
    "printf_float_nano_dp": (["printf_float.c"], "dp", "nano"),
    "printf_float_newlib_sp": (["printf_float.c"], "sp", "newlib"),
    "printf_float_newlib_dp": (["printf_float.c"], "dp", "newlib"),
    "qsort_nano": (["qsort.c"], "dp", "nano"),
    "qsort_newlib_softdp": (["qsort.c"], "sp", "newlib"),
    "setjmp_nano": (["setjmp.c"], "dp", "nano"),
    "setjmp_newlib_softdp": (["setjmp.c"], "sp", "newlib"),
    "switch_tables": (["switch.c"], "dp", "nano"),
    "it_heavy_softdp": (["itheavy.c", "it_shapes.S"], "sp", "nano"),
    "it_heavy_newlib": (["itheavy.c", "it_shapes.S"], "dp", "newlib"),
}
EXPECTED = {  # lines a program must print (beyond the engines agreeing)
    "printf_float": ["A 18.690001", "B 18.685184", "C 215.743896", "S 3 3.14159 -2500.0 7",
                     "T 1.0000000000000002 [ rest]"],
    "fp_double": ["chain 406af7ce00000000", "div 3ff1555555555555", "sqrt 4013142b30a929ab"],
    "qsort": ["ints 1 ", "dbls 1 "],
    "setjmp": ["top 496 0 2.50 1.75", "inner 392", "float 1.7500"],
}


@pytest.mark.parametrize("name", CORPUS)
def test_program_agrees_three_ways(name: str, tmp_path: Path) -> None:
    sources, fpu, libc = CORPUS[name]
    elf = build(tmp_path, name, sources, fpu=fpu, libc=libc)
    out = check(elf)
    for line in EXPECTED.get(sources[0].split(".")[0], []):
        assert line in out.stdout, f"{line!r} not in {out.stdout!r}"
    if name == "switch_tables":
        dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True).stdout
        assert "\ttbb\t" in dis and "\ttbh\t" in dis, "the switches no longer compile to TBB and TBH"


@pytest.mark.parametrize("fpu", ["sp", "dp"])
def test_printf_double_reproducer(fpu: str, tmp_path: Path) -> None:
    """../shared/repro/printf-double as filed: an STM32H743 memory map (flash, AXI SRAM), newlib-nano
    printf of floats; with a single-precision FPU libgcc's __aeabi_dadd returns through
    `ittt ge; ...; popge {r4, r5, pc}` (the stale IT state), with fpv5-d16 it runs DP instructions."""
    folder = SHARED_REPRO / "printf-double"  # read from ../shared, never copied into the project
    if not (folder / "fw.c").is_file():
        pytest.skip(f"{folder} not present (the shared reproducers folder is not beside this checkout)")
    elf = tmp_path / f"fw_{fpu}.elf"
    subprocess.run([GCC, "-O3", "-mthumb", "-mcpu=cortex-m7", f"-mfpu={'fpv5-sp-d16' if fpu == 'sp' else 'fpv5-d16'}",
                    "-mfloat-abi=hard", "-specs=nano.specs", "-u", "_printf_float", "-nostartfiles", "-T",
                    str(folder / "h743.ld"), str(folder / "fw.c"), "-o", str(elf), "-lm"], check=True)
    on, off = simulate(elf, "stm32h743"), simulate(elf, "stm32h743", timing=False)
    expected = "A 18.690001\nB 18.685184\nC 215.743896\n"
    assert on.stdout == off.stdout == expected and on.exit_code == off.exit_code == 0
    assert on.instructions == off.instructions
    if fpu == "dp":
        assert on.pc_stats["count"][on.index(_symbol(elf, "main"))] == 1  # ran main's DP code, timed


def _symbol(elf: Path, name: str) -> int:
    from tinyscope.sim.elf import read_image

    return read_image(elf).symbols.by_name(name).addr


def test_generated_network_agrees_three_ways(tmp_path: Path) -> None:
    """A small zoo model's firmware: the same output bytes, status and stack use in every engine, and
    timing on and off run the very same instructions through the whole network. (The harness then
    prints the cycle counts it read from DWT CYCCNT, which only the timing model advances, so the
    runs may part there, and QEMU's cache geometry in CCSIDR differs from the board's.)"""
    from tinyscope.firmware.config import BuildConfig
    from tinyscope.firmware.firmware import build_firmware
    from tinyscope.frontend import load

    fw = build_firmware(load("zoo:tiny-dscnn-int8"), tmp_path, BuildConfig(target="mps2-an500", seed=3))

    def without_cycles(text: str) -> str:
        return "".join(ln + "\n" for ln in text.splitlines() if not ln.startswith(("TS:LAYER", "TS:CYCLES")))

    out = check(fw.elf, normalize=without_cycles, same_count=False)
    assert "TS:STATUS 0" in out.stdout and "TS:END" in out.stdout
    on = simulate(fw.elf, "mps2-an500", trace=2_000_000)
    off = simulate(fw.elf, "mps2-an500", timing=False, trace=2_000_000)
    network_done = int(on.itm["instructions"][on.itm["port"] == 1][-1])  # the last layer's end marker
    n = min(len(on.pc_trace), len(off.pc_trace))
    parted = np.flatnonzero(on.pc_trace[:n] != off.pc_trace[:n])
    assert len(on.pc_trace) > network_done and (len(parted) == 0 or parted[0] > network_done)


def test_qemu_is_there_for_the_harness() -> None:
    """The three-way comparison needs QEMU; without it only timing on and off are compared."""
    if QEMU is None:
        pytest.skip("qemu-system-arm missing: the differential tests compared timing on and off only")


def test_a_disagreement_names_the_first_diverging_instruction(tmp_path: Path, monkeypatch) -> None:
    """With the stale-IT workaround switched off (unicorn's own behaviour), the IT shapes break under
    the timing model, and the harness names where: the callee's first push, skipped because the
    caller's IT state leaked into the next translation block."""
    from tinyscope.sim import native

    elf = build(tmp_path, "shape", ["itheavy.c", "it_shapes.S"], fpu="sp")
    monkeypatch.setattr(native, "mark_it_blocks", lambda *args: None)
    with pytest.raises(AssertionError) as e:
        check(elf)
    msg = str(e.value)
    assert "timing on and off differ" in msg
    assert "timing on and off part after" in msg and "off runs bump+0x0 (push {r4, r5, lr})" in msg


def test_first_divergence() -> None:
    from .differential import first_divergence

    a = np.array([0, 2, 4, 8, 10])
    assert first_divergence(a, a.copy()) is None
    assert first_divergence(a, np.array([0, 2, 6, 8])) == (2, 2)
    assert first_divergence(a, a[:3]) is None  # a prefix: the lengths tell
    # QEMU also lists the instructions of a failed IT condition; the simulator's hook does not see them
    assert first_divergence(np.array([0, 2, 4, 6, 8]), np.array([0, 2, 8]), skippable=4) is None
    assert first_divergence(np.array([0, 2, 40, 6, 8]), np.array([0, 2, 8]), skippable=4) == (2, 2)


def test_it_blocks_are_marked_exactly() -> None:
    """The instructions an IT block covers get F_IN_IT (their memory accesses reset the IT state);
    the instruction after the block does not."""
    from tinyscope.sim.native import F_IN_IT, mark_it_blocks

    text = {0x100: "ite eq", 0x102: "ldreq r0, [r1]", 0x104: "ldrne.w r0, [r1, #256]", 0x108: "ldr r2, [r3]",
            0x10a: "it lt", 0x10c: "poplt {r4, pc}"}
    sizes = np.full(8, 2)
    sizes[2] = 4  # 0x104 is a 32-bit instruction
    flags = np.zeros(8, np.int64)
    mark_it_blocks(text, [(0x100, 0x110, 0)], flags, sizes)
    assert [k for k in range(8) if flags[k] & F_IN_IT] == [1, 2, 6]
