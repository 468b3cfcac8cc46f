"""Calibration suite: instruction-level snippets held against published Cortex-M7 silicon measurements.

Each case is a short assembly body with the cycles silicon takes per repetition, as published by
jnk0le ("pipeline cycle test", STM32H743 rev Y, DWT.CYCCNT: github.com/jnk0le/random, doc/cortex_m7.md),
by quinapalus.com/cm7cycles.html (STM32H730) or by the Arm-written LLVM model where the two agree
(see /work/shared/ref/cortex-m7-timing.md for the citations). The simulator runs each body N and 2N
times in one program (code in ITCM, data in DTCM) and the cost per repetition is
(T(2N) - T(N)) / N, so the cost of reading CYCCNT cancels.

The model is fitted at this level and from documents, never to whole programs.

    .venv/bin/python bench/fidelity.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from tinyscope.errors import SimError
from tinyscope.sim import simulate

N = 32
J = "jnk0le cortex_m7.md"
Q = "quinapalus cm7cycles"


@dataclass(frozen=True)
class Case:
    """One snippet: ``body`` is repeated (``{n}`` is replaced by the repeat count when ``loop`` is set)."""

    name: str
    body: str
    published: float  # cycles per repetition on silicon
    source: str
    setup: str = ""
    loop: bool = False  # body is a counted loop taking {n}; otherwise it is repeated with .rept
    needs_dp: bool = False
    minus: str = ""  # a reference body: the case's figure is per_rep(body) - per_rep(minus)
    gap: str = ""  # why the model does not reproduce this measurement yet (kept in the table, honestly)


# D-cache on, r6 -> 512 bytes of AXI SRAM already in the cache (the snippets then only hit)
CACHED_SRAM = """    ldr r1, =0xE000ED14
    ldr r2, [r1]
    orr r2, r2, #(3 << 16)
    str r2, [r1]
    dsb
    isb
    ldr r6, =0x24001000
    mov r1, r6
    mov r2, #16
3:  ldr r3, [r1], #32
    subs r2, r2, #1
    bne 3b"""


def _loop_exit(flags_early: bool, branch: bool = True) -> str:
    """An inner loop of 4 passes, re-entered {n} times: its exit is one mispredict per instance under any
    predictor that predicts the back edge. With ``branch`` False the back edge is a nop.w and the body is
    unrolled (same instructions, same pairing): the reference the penalty is measured against."""
    adds = "".join(f"    add.w r{r}, r{r}, #1\n" for r in (0, 1, 2, 5, 6, 9))
    step = "    subs r3, r3, #1\n"
    one = (step + adds if flags_early else adds + step)
    inner = one + "    bne.w 2b\n" if branch else (one + "    nop.w\n") * 4
    return "    mov r4, #{n}\n1:  mov r3, #4\n2:\n" + inner + "    subs r4, r4, #1\n    bne.w 1b"


CASES: tuple[Case, ...] = (
    # integer pipe: dual issue
    Case("alu+alu pair", "    eor.w r0, r0, r1\n    eor.w r2, r2, r1", 1.0, f"{Q} (eor+eor 1 cycle); LLVM 2 ALUs"),
    Case("ldr+alu pair", "    ldr.w r2, [r7]\n    add.w r0, r0, #1", 1.0, f"{J} (load pairs with ALU)"),
    Case("ldr+str pair", "    ldr.w r2, [r7]\n    str.w r1, [r7, #8]", 1.0,
         f"{J} stores: 'can be dual issued with load'"),
    Case("str+str no pair", "    str.w r0, [r7]\n    str.w r1, [r7, #8]", 2.0,
         f"{J} stores: 'cannot dual issue two stores'"),
    Case("mul+mul no pair", "    mul r0, r1, r1\n    mul r2, r1, r1", 2.0, f"{J} multiplication: no dual issue"),
    Case("mul+alu pair", "    mul r0, r1, r1\n    add.w r2, r2, #1", 1.0, f"{Q} (MUL pairs with ALU); LLVM MAC pipe"),
    Case("shifted+shifted no pair", "    add.w r0, r1, r2, lsl #2\n    add.w r3, r1, r2, lsl #2", 2.0,
         f"{J} operand2 matrix (inline shifted reg x2: -)"),
    Case("ldrd no pair", "    ldrd r0, r1, [r7]\n    add.w r2, r2, #1", 2.0, f"{J} pair/multiple: single issue"),
    Case("ldr+ldr, other bank", "    ldr.w r0, [r7]\n    ldr.w r1, [r7, #4]", 1.0,
         f"{J} loads: dual issue when they target different (even/odd word) banks"),
    Case("ldr+ldr, same bank", "    ldr.w r0, [r7]\n    ldr.w r1, [r7, #8]", 2.0,
         f"{J} loads: not when they target the same bank",
         gap="DTCM banks are not modelled (TCM accesses are not hooked, for speed)"),
    Case("unaligned ldr", "    ldr.w r0, [r7, #1]", 4.0, f"{J} loads: unaligned +3 cycles as older op",
         gap="unaligned access cost not modelled"),
    Case("strb stream to D-cache, unit stride", "    strb.w r0, [r6], #1", 2.4,
         f"{J} stores: byte stores are read-modify-writes, 2.4 cycles each for unit-stride strb",
         setup=CACHED_SRAM),
    Case("strh stream to D-cache", "    strh.w r0, [r6], #2", 2.0, f"{J} stores: '(strh is still 2 cycles)'",
         setup=CACHED_SRAM),
    Case("str stream to D-cache", "    str.w r0, [r6], #4", 1.0, f"{J} stores: word stores need no read-modify-write",
         setup=CACHED_SRAM),
    Case("strb stream, one bank", "    strb.w r0, [r7]", 4.0,
         f"{J} stores: byte stores to one bank, 4 cycles per store (no merging)",
         gap="the store buffer is not modelled for DTCM"),
    # load-use latency per consumer class
    Case("ldr -> late ALU", "    ldr.w r0, [r7]\n    add.w r1, r1, r0", 1.0,
         f"{J} loads: 'word loads can be consumed by late ALU in next cycle'"),
    Case("ldrb -> late ALU", "    ldrb.w r0, [r7]\n    add.w r1, r1, r0", 2.0,
         f"{J} loads: byte/half consumed in second cycle by late ALU"),
    Case("ldrh -> late ALU", "    ldrh.w r0, [r7]\n    add.w r1, r1, r0", 2.0,
         f"{J} loads: byte/half consumed in second cycle by late ALU"),
    Case("ldr -> shifted operand", "    ldr.w r0, [r7]\n    add.w r1, r1, r0, lsl #2", 2.0,
         f"{J} loads: except early-ALU consumers (inline shifted operand2)"),
    Case("ldrb -> shifted operand", "    ldrb.w r0, [r7]\n    add.w r1, r1, r0, lsl #2", 3.0,
         f"{J} loads: byte/half 'third in early ALU'"),
    Case("ldr -> mul operand", "    ldr.w r0, [r7]\n    mla r1, r0, r0, r1", 2.0,
         f"{J} MAC: 'can't consume ldr result from previous cycle'"),
    Case("ldrb -> mla accumulate", "    ldrb.w r0, [r7]\n    mla r1, r2, r2, r0", 1.0,
         f"{J} MAC: accumulate 'can consume ldrb result from previous cycle'"),
    Case("ldr -> address (pointer chase)", "    ldr.w r0, [r0]", 3.0,
         f"{Q} data-to-address dependency 3 [2nd]; LLVM ARMLatencyMutations (+1 over ReadAdvance -1)",
         setup="    str r7, [r7]\n    mov r0, r7"),
    Case("add -> address", "    add.w r1, r1, #0\n    ldr.w r0, [r7, r1]", 1.0,
         f"{J} overall: add/sub/mov results reach the AGU next cycle", setup="    mov r1, #0"),
    Case("uxtb -> address", "    uxtb r1, r1\n    ldr.w r0, [r7, r1]", 2.0,
         f"{J} bitfield: result used as index 'in next cycle (1 extra cycle latency)'", setup="    mov r1, #0"),
    Case("eor -> shifted operand", "    eor.w r1, r1, #0\n    add.w r2, r2, r1, lsl #1", 2.0,
         f"{J} operand2: 'inline shifted operand consumed in early ALU'"),
    Case("mla accumulate chain", "    mla r1, r2, r2, r1", 1.0,
         f"{J} MAC: 'chained on accumulator dependency each cycle'"),
    Case("mul result latency", "    mul r1, r1, r1", 2.0, f"{J} MAC: '1 additional cycle of result latency'"),
    # load/store multiple
    Case("ldm 2 regs", "    ldm r7, {r0-r1}", 1.0, f"{J} multiple: ceil(regnum/2)"),
    Case("ldm 4 regs", "    ldm r7, {r0-r3}", 2.0, f"{J} multiple: ceil(regnum/2)"),
    Case("ldm 5 regs", "    ldm r7, {r0-r4}", 3.0, f"{J} multiple: ceil(regnum/2)"),
    Case("ldrd with offset", "    ldrd r0, r1, [r7, #8]", 1.0, f"{J} pair: ceil(2/2)"),
    Case("vldm 4 singles", "    vldmia r7, {s8-s11}", 2.0, f"{J} fpu: 'vldm behaves as regular ldm'"),
    Case("vldm 4 singles, writeback", "    vldmia r0!, {s8-s11}", 2.0, f"{J} fpu: 'vldm behaves as regular ldm'",
         setup="    mov r0, r7"),
    Case("vpush+vpop 2 doubles", "    vpush {d8, d9}\n    vpop {d8, d9}", 4.0, f"{J} fpu: vldm/vstm as ldm (4 words)"),
    # branches
    Case("loop back edge", "    mov r3, #{n}\n1:  add.w r0, r0, #1\n    add.w r1, r1, #1\n    subs r3, r3, #1\n"
         "    bne.w 1b", 2.0, f"{J} branching: predicted taken branch dual issues with one instruction at target",
         loop=True),
    Case("mispredict (loop exit), flags late", _loop_exit(False), 8.0, f"{J} branching: mispredict penalty 8",
         loop=True, minus=_loop_exit(False, branch=False)),
    Case("mispredict (loop exit), flags early", _loop_exit(True), 6.0,
         f"{J} branching: 6 when flags are set >= 3 cycles before the branch", loop=True,
         minus=_loop_exit(True, branch=False)),
    # single precision FPU (jnk0le table)
    Case("vadd chain", "    vadd.f32 s0, s0, s1", 3.0, f"{J} fpu table: vadd as vadd operand 3"),
    Case("vmul -> vmul", "    vmul.f32 s0, s0, s1", 3.0, f"{J} fpu table: vmul as vmul operand 3"),
    Case("vfma accumulate chain", "    vfma.f32 s0, s3, s4", 3.0, f"{J} fpu table: vfma as fma accumulate 3"),
    Case("vfma -> vmul operand", "    vfma.f32 s0, s3, s4\n    vmul.f32 s3, s0, s1", 5.0 + 3.0,
         f"{J} fpu table: vfma as vmul operand 5, vmul as fma multiplicand 3"),
    Case("3 vfma accumulators", "    vfma.f32 s0, s3, s4\n    vfma.f32 s1, s3, s4\n    vfma.f32 s2, s3, s4", 3.0,
         f"{J} fpu: 'pipelined every cycle, at least 3 independent accumulations'"),
    Case("vadd+vmul no pair", "    vadd.f32 s5, s1, s3\n    vmul.f32 s6, s3, s4", 2.0,
         f"{J} fpu: 'arithmetic instructions cannot be dual issued'"),
    Case("vdiv.f32", "    vdiv.f32 s0, s0, s1", 16.0, f"{J} fpu: vdiv 16 cycles"),
    Case("vsqrt.f32", "    vsqrt.f32 s0, s0", 14.0, f"{J} fpu: vsqrt 14 cycles"),
    Case("independent vdiv.f32 + add", "    vdiv.f32 s5, s1, s3\n    add.w r0, r0, #1", 16.0,
         f"{J} fpu: vdiv pairs with one integer instruction and locks the pipeline for the rest"),
    Case("vldr -> vadd", "    vldr s0, [r7]\n    vadd.f32 s5, s5, s0", 3.0,
         f"{J} fpu: vldr.f 1 cycle result latency; vadd chain 3"),
    Case("vldr -> vfma accumulate", "    vldr s0, [r7]\n    vfma.f32 s0, s3, s4\n    vstr s0, [r7, #8]", 3.0 + 3.0,
         f"{J} fpu: vldr as vfma accumulate 3; vfma as vstr operand 3"),
    Case("vadd -> vstr", "    vadd.f32 s0, s0, s1\n    vstr s0, [r7]", 3.0, f"{J} fpu table: vadd as vstr operand 1"),
    # double precision (STM32H743 DP FPU)
    Case("vadd.f64 CPI", "    vadd.f64 d4, d1, d1", 1.0, f"{J} DP table: vadd.d same exponent 1", needs_dp=True,
         setup="    vmov.f64 d1, #1.0"),
    Case("vmul.f64 CPI", "    vmul.f64 d4, d1, d1", 5.0, f"{J} DP table: vmul.d 5", needs_dp=True,
         setup="    vmov.f64 d1, #1.0"),
    Case("vdiv.f64", "    vdiv.f64 d4, d1, d1", 30.0, f"{J} DP table: vdiv.d 30", needs_dp=True,
         setup="    vmov.f64 d1, #1.0"),
)

LINKER = """
ENTRY(Reset_Handler)
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 2M
         ITCM (rwx) : ORIGIN = 0x00000000, LENGTH = 64K
         DTCM (rwx) : ORIGIN = 0x20000000, LENGTH = 128K }
_estack = ORIGIN(DTCM) + LENGTH(DTCM);
SECTIONS { .isr_vector : { KEEP(*(.isr_vector)) } > FLASH
           .text : { *(.text*) *(.rodata*) } > ITCM }
"""

PROGRAM = """
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
    ldr r7, =0x20001000      @ DTCM data (zeroed by the simulator)
    ldr r8, =0xE0001004      @ DWT CYCCNT
    ldr r11, =0xE0000000     @ ITM port 0
    vmov.f32 s1, #1.0
    vmov.f32 s3, #1.0
    vmov.f32 s4, #1.0
{setup}
    dsb
    isb
    .balign 32
{segments}
    ldr r10, [r8]
    str r10, [r11]
    movs r0, #0x18
    ldr r1, =0x20026
    bkpt 0xab
    .ltorg
"""


def _body(case: Case, body: str, n: int) -> str:
    if case.loop:
        return body.replace("{n}", str(n))
    return f"    .rept {n}\n{body}\n    .endr"


def _segments(case: Case) -> str:
    """CYCCNT to ITM before each of body x N, body x 2N (and minus x N, minus x 2N)."""
    bodies = [case.body] + ([case.minus] if case.minus else [])
    read = "    ldr r10, [r8]\n    str r10, [r11]\n"
    return "".join(read + _body(case, b, n) + "\n" for b in bodies for n in (N, 2 * N))


def build(case: Case, folder: Path) -> Path:
    """Assemble the case's program (N and 2N repetitions, CYCCNT on ITM port 0 around each)."""
    src, ld, elf = folder / "case.S", folder / "case.ld", folder / "case.elf"
    src.write_text(PROGRAM.format(setup=case.setup, segments=_segments(case)))
    ld.write_text(LINKER)
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard",
                    "-nostdlib", "-T", str(ld), str(src), "-o", str(elf)], check=True, capture_output=True)
    return elf


@dataclass
class Row:
    name: str
    published: float
    simulated: float | None
    source: str
    note: str = ""
    gap: str = ""

    @property
    def error(self) -> float | None:
        return None if self.simulated is None else self.simulated - self.published


def measure(case: Case, target: str = "stm32h743", timing_mode: str = "instr") -> Row:
    """Simulated cycles per repetition of ``case``; ``simulated`` is None when the engine cannot run it."""
    return measure_modes(case, target, (timing_mode,))[timing_mode]


def measure_modes(case: Case, target: str = "stm32h743", modes: tuple[str, ...] = ("instr", "block")) -> dict[str, Row]:
    """``measure`` in each timing mode, from one build."""
    with tempfile.TemporaryDirectory() as tmp:
        elf = build(case, Path(tmp))
        rows = {}
        for mode in modes:
            try:
                r = simulate(elf, target, profile=False, timing_mode=mode)
            except SimError as exc:
                rows[mode] = Row(case.name, case.published, None, case.source,
                                 f"not run: {str(exc).split(';')[0]}", case.gap)
                continue
            rows[mode] = _row(case, r)
    return rows


def _row(case: Case, r) -> Row:
    t = [int(v) for v in r.itm["value"]]
    per_rep = [((t[k + 2] - t[k + 1]) - (t[k + 1] - t[k])) / N for k in range(0, len(t) - 2, 2)]
    return Row(case.name, case.published, per_rep[0] - (per_rep[1] if case.minus else 0.0), case.source,
               f"known gap: {case.gap}" if case.gap else "", case.gap)


def mean_abs_error(rows: list[Row]) -> float:
    errs = [abs(r.error) for r in rows if r.error is not None]
    return sum(errs) / len(errs) if errs else float("nan")


def table(rows: list[Row]) -> str:
    w = max(len(r.name) for r in rows)
    out = [f"{'snippet':<{w}}  published  simulated   error  source"]
    for r in rows:
        sim = f"{r.simulated:9.2f}" if r.simulated is not None else "      n/a"
        err = f"{r.error:+7.2f}" if r.error is not None else "       "
        out.append(f"{r.name:<{w}}  {r.published:9.2f}  {sim}  {err}  {r.note or r.source}")
    ran = [r for r in rows if r.error is not None]
    exact = sum(1 for r in ran if abs(r.error) < 0.26)
    out.append(f"mean absolute error: {mean_abs_error(rows):.3f} cycles per snippet over {len(ran)} snippets "
               f"({exact} within 0.25 cycle; {len(rows) - len(ran)} not run)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    ap.add_argument("--timing", choices=("instr", "block"), default="instr", help="the simulator's timing mode")
    args = ap.parse_args(argv)
    rows = [measure(c, timing_mode=args.timing) for c in CASES]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": [{**asdict(r), "error": r.error} for r in rows],
                                         "mean_abs_error": mean_abs_error(rows)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
