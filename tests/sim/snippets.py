"""Build tiny bare-metal test programs around an assembly body, for the calibration tests.

The program reads DWT CYCCNT before and after the body and writes the difference to ITM port 0,
then exits through semihosting. The vector table sits in flash (0x08000000), the code in ITCM or
flash; r7 points at DTCM, r6 at AXI SRAM.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tinyscope.targets import armv7m

# The addresses and semihosting numbers the snippets use, from the one table the harness and simulator use.
FACTS = {"cpacr": armv7m.REGISTERS["SCB_CPACR"][0], "cyccnt": armv7m.REGISTERS["DWT_CYCCNT"][0],
         "stim0": armv7m.REGISTERS["ITM_STIM0"][0], "ccr": armv7m.REGISTERS["SCB_CCR"][0],
         "sys_exit": armv7m.SYS_OPS["SYS_EXIT"], "app_exit": armv7m.ADP_STOPPED_APPLICATION_EXIT,
         "bkpt": armv7m.SEMIHOSTING_BKPT}

LINKER = """
ENTRY(Reset_Handler)
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 2M
         ITCM (rwx) : ORIGIN = 0x00000000, LENGTH = 64K
         DTCM (rwx) : ORIGIN = 0x20000000, LENGTH = 128K }
_estack = ORIGIN(DTCM) + LENGTH(DTCM);
SECTIONS { .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
           .text : { *(.text*) *(.rodata*) } > CODE }
"""

TEMPLATE = """
    .syntax unified
    .thumb
    .section .isr_vector, "a"
    .word _estack, Reset_Handler + 1, Fault + 1, Fault + 1
    .text
    .balign 32
Fault:
    b Fault
    .balign 32
    .global Reset_Handler
    .type Reset_Handler, %function
    .thumb_func
Reset_Handler:
    ldr r1, ={cpacr:#x}      @ CPACR: FPU on
    ldr r2, [r1]
    orr r2, r2, #(0xF << 20)
    str r2, [r1]
    {caches}
    ldr r7, =0x20001000      @ DTCM data
    ldr r6, =0x24001000      @ AXI SRAM data
    ldr r8, ={cyccnt:#x}      @ DWT CYCCNT
    vmov.f32 s1, #1.0
    vmov.f32 s3, #1.0
    vmov.f32 s4, #1.0
    {setup}
    dsb
    isb
    .balign 32
    ldr r9, [r8]
{body}
    ldr r10, [r8]
    sub r0, r10, r9
    ldr r1, ={stim0:#x}
    str r0, [r1]
    movs r0, #{sys_exit:#x}
    ldr r1, ={app_exit:#x}
    bkpt {bkpt:#x}
    .ltorg
{extra}
"""

CACHES_ON = """
    ldr r1, ={ccr:#x}
    ldr r2, [r1]
    orr r2, r2, #(3 << 16)
    str r2, [r1]
    dsb
    isb
"""


def build(tmp: Path, name: str, body: str, setup: str = "", caches: bool = False, extra: str = "",
          code: str = "itcm") -> Path:
    """``code`` = "itcm" (zero-wait fetch: pipeline tests) or "flash" (I-side tests)."""
    src = tmp / f"{name}.S"
    src.write_text(TEMPLATE.format(body=body, setup=setup, caches=CACHES_ON.format(**FACTS) if caches else "",
                                   extra=extra, **FACTS))
    ld = tmp / f"snippet_{code}.ld"
    ld.write_text(LINKER.replace("> CODE", "> ITCM" if code == "itcm" else "> FLASH"))
    elf = tmp / f"{name}.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard",
                    "-nostdlib", "-T", str(ld), str(src), "-o", str(elf)], check=True, capture_output=True)
    return elf


def rept(n: int, text: str) -> str:
    return f"    .rept {n}\n{text}\n    .endr"
