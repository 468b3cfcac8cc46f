"""Decode from capstone's operands: a table of instructions with the class, issue cost, register roles
and write-back the timing model must see. The old decoder counted commas in the text (ldrd with an
offset cost 2, vldmia counted its base, vpop {d8, d9} counted one word per d register); and every figure
of cortex_m7.toml is read by the simulator."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinyscope.sim import timing as T
from tinyscope.sim.decode import (
    C_ALU,
    C_ALUE,
    C_BRANCH,
    C_FPLDM,
    C_FPMAC,
    C_FPMOV,
    C_FPSTM,
    C_LDM,
    C_LOAD,
    C_LOADN,
    C_MUL,
    C_SHIFT,
    C_STM,
    C_STORE,
    F_BRANCH,
    F_RETURN,
    FLAGS_REG,
    R_ACC,
    R_ADDR,
    R_EARLY,
    R_FPACC,
    R_LATE,
    R_MULOP,
    R_STORE,
    decode_elf,
    decode_insn,
    disassembler,
)
from tinyscope.targets import load_target
from tinyscope.targets.core import CoreTiming, load_core

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-as") is None, reason="arm-none-eabi-as missing")

S = 32  # s0 is register 32; d<n> is s<2n>, s<2n+1>

# (assembly, class, issue cycles, reads {reg: kind}, writes, written-back base)
TABLE = [
    ("ldrd r0, r1, [r2, #8]", C_LDM, 1, {2: R_ADDR}, {0, 1}, -1),
    ("ldrd r0, r1, [r2]", C_LDM, 1, {2: R_ADDR}, {0, 1}, -1),
    ("ldrd r0, r1, [r2, #8]!", C_LDM, 1, {2: R_ADDR}, {0, 1}, 2),
    ("strd r0, r1, [r2, #-8]!", C_STM, 1, {0: R_STORE, 1: R_STORE, 2: R_ADDR}, set(), 2),
    ("vldmia r0!, {s0-s3}", C_FPLDM, 2, {0: R_ADDR}, {S, S + 1, S + 2, S + 3}, 0),
    ("vldmia r0, {s0-s4}", C_FPLDM, 3, {0: R_ADDR}, {S + k for k in range(5)}, -1),
    ("vpop {d8, d9}", C_FPLDM, 2, {13: R_ADDR}, {S + k for k in range(16, 20)}, 13),
    ("vpush {d8-d11}", C_FPSTM, 4, {13: R_ADDR, **{S + k: R_STORE for k in range(16, 24)}}, set(), 13),
    ("push {r4-r7, lr}", C_STM, 3, {13: R_ADDR, 4: R_STORE, 5: R_STORE, 6: R_STORE, 7: R_STORE, 14: R_STORE},
     set(), 13),
    ("ldm r7!, {r0-r4}", C_LDM, 3, {7: R_ADDR}, {0, 1, 2, 3, 4}, 7),
    ("ldm r7, {r0-r3}", C_LDM, 2, {7: R_ADDR}, {0, 1, 2, 3}, -1),
    ("ldr r0, [r1, r2, lsl #2]", C_LOAD, 1, {1: R_ADDR, 2: R_ADDR}, {0}, -1),
    ("ldr r0, [r1], #4", C_LOAD, 1, {1: R_ADDR}, {0}, 1),
    ("ldrb r0, [r1, #4]!", C_LOADN, 1, {1: R_ADDR}, {0}, 1),
    ("ldrsh r0, [r1]", C_LOADN, 1, {1: R_ADDR}, {0}, -1),
    ("str r0, [r1, #4]", C_STORE, 1, {0: R_STORE, 1: R_ADDR}, set(), -1),
    ("add r1, r1, r0, lsl #2", C_SHIFT, 1, {1: R_LATE, 0: R_EARLY}, {1}, -1),
    ("add r1, r1, r0", C_ALUE, 1, {1: R_LATE, 0: R_LATE}, {1}, -1),
    ("eor r1, r1, r0", C_ALU, 1, {1: R_LATE, 0: R_LATE}, {1}, -1),
    ("subs r3, r3, #1", C_ALUE, 1, {3: R_LATE}, {3, FLAGS_REG}, -1),
    ("mla r1, r2, r3, r4", C_MUL, 1, {2: R_MULOP, 3: R_MULOP, 4: R_ACC}, {1}, -1),
    ("smlal r0, r1, r2, r3", C_MUL, 1, {0: R_ACC, 1: R_ACC, 2: R_MULOP, 3: R_MULOP}, {0, 1}, -1),
    ("uxtab r0, r1, r2", C_SHIFT, 1, {1: R_LATE, 2: R_EARLY}, {0}, -1),
    ("ubfx r0, r1, #2, #3", C_SHIFT, 1, {1: R_EARLY}, {0}, -1),
    ("vfma.f32 s0, s1, s2", C_FPMAC, 1, {S: R_FPACC, S + 1: R_LATE, S + 2: R_LATE}, {S}, -1),
    ("vmov r0, s0", C_FPMOV, 1, {S: R_LATE}, {0}, -1),
]


def _assemble(lines: list[str], tmp: Path) -> list:
    src = tmp / "t.S"
    src.write_text(".syntax unified\n.thumb\n" + "\n".join(lines) + "\n")
    obj, raw = tmp / "t.o", tmp / "t.bin"
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m7", "-mfpu=fpv5-d16", str(src), "-o", str(obj)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
    return list(disassembler().disasm(raw.read_bytes(), 0))


def test_decode_table(tmp_path: Path) -> None:
    core = load_core()
    insns = _assemble([row[0] for row in TABLE], tmp_path)
    assert len(insns) == len(TABLE)
    for (text, cls, cost, reads, writes, wb), insn in zip(TABLE, insns):
        d = decode_insn(insn, core)
        got = (d.cls, d.cost, d.reads, set(d.writes) - {d.wb}, d.wb)
        assert got == (cls, cost, reads, writes, wb), text


def test_conditional_pop_in_an_it_block_is_a_return(tmp_path: Path) -> None:
    """capstone spells it popge: the condition suffix must not hide the instruction (the old decoder
    timed it as one ALU op)."""
    it, pop = _assemble(["it ge", "popge {r4, r5, pc}"], tmp_path)
    d = decode_insn(pop, load_core())
    assert d.cls == C_LDM and d.cost == 2 and d.flags & F_BRANCH and d.flags & F_RETURN
    assert d.reads.get(FLAGS_REG) == R_LATE


def test_direct_branches_carry_their_target(tmp_path: Path) -> None:
    insns = _assemble(["1: nop", "bne 1b", "bne 2f", "2: nop"], tmp_path)
    back, fwd = (decode_insn(i, load_core()) for i in insns[1:3])
    assert back.cls == C_BRANCH and back.target == 0 and fwd.target == insns[3].address


def test_every_core_figure_is_used(tmp_path: Path, monkeypatch) -> None:
    """Decode a program covering every class and build the simulator's state: every field of the core
    record must have been read (no figure in cortex_m7.toml without a use)."""
    seen: set[str] = set()
    core = load_core()
    for section, cls in CoreTiming.sections().items():
        orig = cls.__getattribute__

        def spy(self, name, _orig=orig, _section=section):
            if not name.startswith("_"):
                seen.add(f"{_section}.{name}")
            return _orig(self, name)

        monkeypatch.setattr(cls, "__getattribute__", spy)
    program = [row[0] for row in TABLE] + [
        "sdiv r0, r1, r2", "vdiv.f32 s0, s1, s2", "vsqrt.f32 s0, s1", "vadd.f32 s0, s1, s2", "vcvt.s32.f32 s0, s1",
        "vldr s0, [r0]", "vmov s0, r0", "vadd.f64 d0, d1, d2", "vmul.f64 d0, d1, d2", "vfma.f64 d0, d1, d2",
        "vdiv.f64 d0, d1, d2", "mul r0, r1, r2", "tbb [pc, r0]", "b .", "bne ."]
    src = tmp_path / "all.S"
    src.write_text(".syntax unified\n.thumb\n.text\n" + "\n".join(program) + "\n")
    elf = tmp_path / "all.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-nostdlib",
                    "-Wl,-Ttext=0x08000000", str(src), "-o", str(elf)], check=True, capture_output=True)
    code = decode_elf(elf, core)
    T.build_state(load_target("stm32h743"), core, code, 16, 16)
    assert set(core.field_names()) - seen == set()
    assert set(CoreTiming.sections()) == {"latency", "forward", "issue", "branch", "memory"}


def test_state_layout_is_declared_once() -> None:
    """Offsets come from SCALARS: consecutive, no overlaps, and the tables start after the header."""
    pos = 0
    for name, size in T.SCALARS:
        assert getattr(T.L, name) == pos == getattr(T, name)
        pos += size
    assert pos == T.HEADER
