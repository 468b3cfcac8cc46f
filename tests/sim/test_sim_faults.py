"""Faults and hangs stop the simulator with a report: the kind, the PC's symbol, the last instructions."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tinyscope.errors import SimError
from tinyscope.sim import simulate

from .snippets import build

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


def test_unmapped_access_names_the_place(tmp_path):
    elf = build(tmp_path, "unmapped", "    ldr r0, =0x50000000\n    ldr r1, [r0]")
    with pytest.raises(SimError) as e:
        simulate(elf, "stm32h743")
    msg = str(e.value)
    assert "read of unmapped address 0x50000000 at Reset_Handler+0x" in msg
    assert "last instructions" in msg and "ldr r1, [r0]" in msg


def test_undefined_instruction(tmp_path):
    elf = build(tmp_path, "udf", "    udf #7")
    with pytest.raises(SimError, match="undefined instruction at Reset_Handler"):
        simulate(elf, "stm32h743")


def test_hang_stops_at_the_instruction_budget(tmp_path):
    elf = build(tmp_path, "hang", "1:  b 1b")
    with pytest.raises(SimError, match="budget of 100,000 instructions"):
        simulate(elf, "stm32h743", max_instructions=100_000)


def test_hang_stops_at_the_wall_clock_limit(tmp_path):
    elf = build(tmp_path, "hang2", "1:  add r0, r0, #1\n    b 1b")
    with pytest.raises(SimError, match="wall-clock limit"):
        simulate(elf, "stm32h743", timeout_s=0.5)


def test_cli_sim_runs_any_semihosting_elf(tmp_path):
    elf = build(tmp_path, "ok", "    nop")
    r = subprocess.run([sys.executable, "-m", "tinyscope", "sim", str(elf)], capture_output=True, text=True)
    assert r.returncode == 0 and "exit 0" in r.stdout and "cycles" in r.stdout
    r = subprocess.run([sys.executable, "-m", "tinyscope", "sim", str(tmp_path / "none.elf")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no such file" in r.stderr


SEMIHOST_EXTRA = """
    .balign 4
msg:    .asciz "hi "
    .balign 4
chr:    .byte 0x21
    .balign 4
blk:    .word 1, msg, 2
exitx:  .word 0x20026, 3
"""


def test_semihosting_writec_write_and_exit_extended(tmp_path):
    body = """    movs r0, #0x03
    adr r1, chr
    bkpt 0xab
    movs r0, #0x05
    adr r1, blk
    bkpt 0xab
    movs r0, #0x20
    adr r1, exitx
    bkpt 0xab"""
    r = simulate(build(tmp_path, "semi", body, extra=SEMIHOST_EXTRA), "stm32h743")
    assert r.stdout == "!hi" and r.exit_code == 3
