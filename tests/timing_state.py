"""Drive the timing hooks (tinyscope/sim/timing.py) on a hand-built state, without firmware or unicorn.

A few Thumb instructions (given as halfwords) are decoded with capstone into code tables, as
``decode.decode_elf`` does for an ELF; ``timing.build_state`` allocates the state array as the engine
does; then ``code_hook`` is called once per instruction as unicorn would call it (instruction mode), or
``block_hook`` once for the whole sequence as one translation block (block mode). The hooks read only
the state: the unicorn handle they are given is never used on these paths. Code sits at address 0,
the STM32H743's ITCM, so no fetch stalls."""

from __future__ import annotations

import numpy as np

from tinyscope.sim import timing as T
from tinyscope.sim.decode import CodeTables, decode_into, disassembler, empty_table
from tinyscope.targets import load_target
from tinyscope.targets.core import load_core

CORE = load_core()
H743 = load_target("stm32h743")

Insn = tuple[int, ...]


def code_tables(insns: list[Insn]) -> CodeTables:
    """The decode tables of ``insns`` laid out from address 0 (every instruction must decode)."""
    halfwords = [h for insn in insns for h in insn]
    data = b"".join(h.to_bytes(2, "little") for h in halfwords)
    table = empty_table(len(halfwords), CORE)
    text = {}
    for insn in disassembler().disasm(data, 0):
        decode_into(table[insn.address // 2], insn, CORE)
        text[insn.address] = f"{insn.mnemonic} {insn.op_str}"
    assert len(text) == len(insns)  # every instruction decoded
    return CodeTables([(0, len(data), 0)], table, text)


def settle(S: np.ndarray) -> np.ndarray:
    """A core with nothing in flight: every register ready long ago and no issue slot left open.
    (A fresh state has every register written at cycle 0 by an ALU op and a slot open beside it.)"""
    S[S[T.L.O_READY]: S[T.L.O_READY] + 64] = T.NEVER
    S[T.L.PREV_NOPAIR] = 1
    return S


def run(insns: list[Insn], *, block: bool = False, settled: bool = False) -> np.ndarray:
    """The state after ``insns`` ran once, in instruction mode or (``block``) as one block."""
    code = code_tables(insns)
    end = 2 * len(code.table)
    S = T.build_state(H743, CORE, code, 0, 0, block=block)
    if settled:
        settle(S)
    if block:
        T.block_hook.ctypes(None, 0, end, S.ctypes.data)
        T.block_finish(S)
    else:
        for pc in sorted(code.text):
            T.code_hook.ctypes(None, pc, 4, S.ctypes.data)
        T.retire(S, end)
    assert S[T.L.NINSTR] == len(code.text)
    return S


def clock(pattern: list[Insn], times: int, *, block: bool = False) -> int:
    """Cycles of ``pattern`` repeated ``times`` times, through the hooks."""
    return int(run(pattern * times, block=block)[T.L.CLOCK])


def marginal(pattern: list[Insn], *, block: bool = False) -> float:
    """Cycles each further repetition of ``pattern`` adds (the pipeline's start-up does not count)."""
    return (clock(pattern, 8, block=block) - clock(pattern, 4, block=block)) / 4


def stalls(pattern: list[Insn], kind: str) -> float:
    """Stall cycles of ``kind`` (the state's ST_LOAD, ST_FP, ST_DEP ... totals) each further repetition adds."""
    slot = getattr(T.L, kind)
    return (int(run(pattern * 8)[slot]) - int(run(pattern * 4)[slot])) / 4
