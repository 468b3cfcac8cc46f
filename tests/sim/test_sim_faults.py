"""Faults and hangs stop the simulator with a report: the kind, the PC's symbol, the last instructions."""

from __future__ import annotations

import re
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
    elf = build(tmp_path, "unmapped", "    ldr r0, =0x90000000\n    ldr r1, [r0]")
    with pytest.raises(SimError) as e:
        simulate(elf, "stm32h743")
    msg = str(e.value)
    assert "read of unmapped address 0x90000000 at Reset_Handler+0x" in msg
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


# ---- faults the simulator must not hide (issue 8 §3); each also reaches the CLI as one line, exit 2 ----

CCR_SET = """    ldr r2, =0xE000ED14
    ldr r3, [r2]
    orr r3, r3, #{bits}
    str r3, [r2]
"""
DIV_0_TRP, UNALIGN_TRP = 16, 8
PUTC = "    movs r0, #0x03\n    adr r1, chr\n    bkpt 0xab\n"  # a semihosting call first: see test_trap_after_a_call
CHR = "    .balign 4\nchr:    .byte 0x21\n    .balign 4\n"

FAULTS = {  # name: (body, extra, what the one line must say)
    "div0": (CCR_SET.format(bits=DIV_0_TRP) + "    movs r0, #0\n    udiv r1, r1, r0", "",
             ["UsageFault (DIVBYZERO)", "CCR.DIV_0_TRP", "Reset_Handler+0x", "udiv r1, r1, r0"]),
    "unaligned": (CCR_SET.format(bits=UNALIGN_TRP) + "    ldr r0, =0x24000002\n    ldr r1, [r0]", "",
                  ["UsageFault (UNALIGNED)", "4-byte read of unaligned address 0x24000002", "CCR.UNALIGN_TRP",
                   "Reset_Handler+0x", "ldr r1, [r0]"]),
    "unaligned_tcm": (CCR_SET.format(bits=UNALIGN_TRP) + "    ldr r0, =0x20000006\n    str r1, [r0]", "",
                      ["UsageFault (UNALIGNED)", "4-byte write to unaligned address 0x20000006", "str r1, [r0]"]),
    "flash_store": ("    ldr r0, =0x08000100\n    str r0, [r0]", "",
                    ["BusFault", "4-byte store to flash at 0x08000100", "Reset_Handler+0x", "str r0, [r0]",
                     "read-only"]),
    "sys_system": ("    movs r0, #0x12\n    bkpt 0xab", "", ["SYS_SYSTEM (0x12) is not supported", "Reset_Handler+0x"]),
    "sys_read": ("    movs r0, #0x06\n    bkpt 0xab", "", ["SYS_READ (0x06) is not supported"]),
    "sys_clock": ("    movs r0, #0x10\n    bkpt 0xab", "", ["SYS_CLOCK (0x10) is not supported"]),
    "sys_unknown": ("    movs r0, #0x77\n    bkpt 0xab", "", ["0x77, an unknown operation, is not supported"]),
    "write0_bad_pointer": ("    movs r0, #0x04\n    ldr r1, =0x90000000\n    bkpt 0xab", "",
                           ["SYS_WRITE0", "the string at 0x90000000 runs into unreadable memory"]),
    "write_bad_buffer": ("    movs r0, #0x05\n    adr r1, blk\n    bkpt 0xab",
                         "    .balign 4\nblk:    .word 1, 0x90000000, 16\n",
                         ["SYS_WRITE", "the buffer at 0x90000000 (16 bytes) is not readable memory"]),
    "write_bad_block": ("    movs r0, #0x05\n    ldr r1, =0x90000000\n    bkpt 0xab", "",
                        ["SYS_WRITE", "its parameter block at 0x90000004"]),
    "write_4gb": ("    movs r0, #0x05\n    adr r1, blk\n    bkpt 0xab",
                  "    .balign 4\nblk:    .word 1, 0x24000000, 0xFFFFFFFF\n",
                  ["console output passed the cap", "4,294,967,295 more"]),
    "wfi": ("    wfi", "", ["WFI at Reset_Handler+0x", "waits for an interrupt that never comes"]),
    "wfi_loop": ("1:  wfi\n    b 1b", "", ["waits for an interrupt that never comes"]),
    "wfe": ("    wfe", "", ["WFE at Reset_Handler+0x", "waits for an event that never comes"]),
    "wfi_systick": ("    ldr r0, =0xE000E010\n    movs r1, #3\n    str r1, [r0]\n    wfi", "",
                    ["waits for an interrupt that never comes"]),  # RVR 0: SysTick never wraps
    "branch_unmapped": ("    ldr r0, =0x90000001\n    bx r0", "",
                        ["branch to unmapped address 0x90000000 from Reset_Handler+0x", "(bx r0)"]),
    "call_unmapped": ("    ldr r0, =0x90000001\n    blx r0", "", ["branch to unmapped address 0x90000000", "(blx r0)"]),
    "return_unmapped": ("    ldr r0, =0x90000001\n    push {r0}\n    pop {pc}", "",
                        ["branch to unmapped address 0x90000000", "(pop {pc})"]),
    "exc_return": ("    ldr r0, =0xFFFFFFF9\n    bx r0", "", ["an exception return (EXC_RETURN) outside an exception"]),
    "arm_state": ("    ldr r0, =0x08000100\n    bx r0", "", ["UsageFault (INVSTATE)", "(bx r0)"]),
    "svc": ("    svc #3", "", ["SVC at Reset_Handler+0x", "no SVCall handler runs"]),
}


@pytest.mark.parametrize("timing", [True, False], ids=["timing", "bare"])
@pytest.mark.parametrize("name", FAULTS)
def test_fault_is_reported_with_its_place(tmp_path, name, timing):
    body, extra, expected = FAULTS[name]
    elf = build(tmp_path, name, body, extra=extra)
    with pytest.raises(SimError) as e:
        simulate(elf, "stm32h743", timing=timing, max_instructions=1_000_000, timeout_s=20)
    msg = str(e.value)
    assert "\n" not in msg
    for part in expected:
        assert part in msg, f"{part!r} not in {msg!r}"


def test_every_fault_is_one_line_and_status_2_in_the_cli(tmp_path, capsys):
    from tinyscope.cli import main

    for name, (body, extra, expected) in FAULTS.items():
        elf = build(tmp_path, name, body, extra=extra)
        for flags in ([], ["--no-timing"]):
            assert main(["sim", str(elf), "--max-instructions", "1000000", *flags]) == 2, name
            err = capsys.readouterr().err
            assert len(err.strip().splitlines()) == 1 and expected[0] in err, (name, err)


@pytest.mark.parametrize("name,body", [
    ("div", "    movs r0, #0\n    udiv r1, r1, r0\n    sdiv r1, r1, r0"),
    ("unaligned", "    ldr r0, =0x24000002\n    ldr r1, [r0]\n    str r1, [r0]\n"
                  "    ldr r0, =0x20000001\n    ldrh r1, [r0]"),
    ("trap_bits_without_faults", CCR_SET.format(bits=DIV_0_TRP | UNALIGN_TRP)
     + "    movs r0, #3\n    sdiv r1, r1, r0\n    ldr r0, =0x24000006\n    ldrh r1, [r0]\n    ldrb r1, [r0, #1]"),
    ("sev_then_wfe", "    sev\n    wfe\n    yield\n    nop"),
    ("wfe_not_executed", "    movs r0, #0\n    cmp r0, #0\n    it ne\n    wfene"),
])
def test_what_silicon_allows_runs_on(tmp_path, name, body):
    """Division by zero and unaligned word access are legal with the CCR trap bits clear (the reset
    state); WFE after SEV returns at once; YIELD is a no-op."""
    elf = build(tmp_path, name, body)
    on, off = simulate(elf, "stm32h743"), simulate(elf, "stm32h743", timing=False)
    assert on.exit_code == off.exit_code == 0 and on.instructions == off.instructions > 0


@pytest.mark.parametrize("timing", [True, False], ids=["timing", "bare"])
def test_trap_after_a_call_names_the_right_place(tmp_path, timing):
    """unicorn stops syncing the PC before memory callbacks once the PC has been written (as serving
    a semihosting call does): the fault's place comes from the engine's own record."""
    for name, bits, body, insn in [
            ("u", UNALIGN_TRP, "    ldr r0, =0x24000002\n    nop\n    ldr r1, [r0]", "ldr r1, [r0]"),
            ("d", DIV_0_TRP, "    movs r5, #0\n    nop\n    sdiv r1, r1, r5", "sdiv r1, r1, r5"),
            ("f", 0, "    ldr r0, =0x08000100\n    nop\n    str r0, [r0]", "str r0, [r0]")]:
        elf = build(tmp_path, name, CCR_SET.format(bits=bits) + PUTC + body, extra=CHR)
        with pytest.raises(SimError, match=re.escape(f"({insn})")):
            simulate(elf, "stm32h743", timing=timing)


def test_output_is_capped(tmp_path):
    body = "1:  movs r0, #0x04\n    adr r1, msg\n    bkpt 0xab\n    b 1b"
    elf = build(tmp_path, "chatty", body, extra="    .balign 4\nmsg:    .asciz \"0123456789\"\n")
    with pytest.raises(SimError, match="console output passed the cap of 1,000 characters"):
        simulate(elf, "stm32h743", output_cap=1000)


def test_console_opened_as_tt(tmp_path):
    """SYS_OPEN(":tt") is the console (what QEMU needs before SYS_WRITE); any other file does not exist."""
    body = """    movs r0, #0x01
    adr r1, open_tt
    bkpt 0xab
    adr r1, blk
    str r0, [r1]
    movs r0, #0x05
    bkpt 0xab
    movs r0, #0x01
    adr r1, open_file
    bkpt 0xab
    adds r0, r0, #1
    bne 1f
    movs r0, #0x04
    adr r1, nofile
    bkpt 0xab
1:"""
    extra = """    .balign 4
tt:     .asciz ":tt"
fname:  .asciz "data.bin"
nofile: .asciz " no file"
    .balign 4
open_tt:    .word tt, 4, 3
open_file:  .word fname, 0, 8
blk:    .word 0, msg, 2
msg:    .ascii "ok"
"""
    r = simulate(build(tmp_path, "tt", body, extra=extra), "stm32h743")
    assert r.stdout == "ok no file"
