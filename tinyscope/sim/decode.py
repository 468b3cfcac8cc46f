"""Decode a firmware's code once, with capstone, into flat tables the native timing hooks index.

Each Thumb instruction gets a class (what pipe it uses), a result latency, an issue cost, flags
(load, store, branch kinds, single issue, ...) and its source and destination registers. Registers
are numbered 0-15 (core), 16 (APSR flags), 17 (FPSCR flags), 32-63 (s0-s31; d<n> is s<2n>,s<2n+1>).
"""

from __future__ import annotations

from dataclasses import dataclass

import capstone
import numpy as np
from capstone import arm
from elftools.elf.elffile import ELFFile

# instruction classes
C_ALU, C_SHIFT, C_LOAD, C_LOADN, C_STORE, C_LDM, C_STM, C_MUL, C_DIV = range(9)
C_BRANCH, C_CALL, C_INDIRECT, C_FPALU, C_FPMAC, C_FPDIV, C_FPLOAD, C_FPSTORE = range(9, 17)
C_FPLDM, C_FPSTM, C_FPMOV, C_SYSTEM, C_DP, C_IT = range(17, 23)
CLASS_NAMES = ["alu", "shift", "load", "load_narrow", "store", "ldm", "stm", "mul", "div", "branch", "call",
               "indirect", "fp_alu", "fp_mac", "fp_div", "fp_load", "fp_store", "fp_ldm", "fp_stm", "fp_mov",
               "system", "dp", "it"]

# flags
F_LOAD, F_STORE, F_BRANCH, F_CALL, F_RETURN = 1, 2, 4, 8, 16
F_FP, F_SINGLE, F_COND, F_INDIRECT, F_UNCOND = 32, 64, 128, 256, 512

# table fields
D_CLS, D_LAT, D_COST, D_FLAGS, D_SRC0, D_SRC1, D_SRC2, D_SRC3, D_DST0, D_DST1, D_MASKLO, D_MASKHI, D_SIZE = range(13)
NF = 13

FLAGS_REG, FPSCR_REG = 16, 17
_ALIASES = {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}


def reg_index(name: str) -> list[int]:
    name = name.lower()
    if name in _ALIASES:
        return [_ALIASES[name]]
    if name[0] == "r" and name[1:].isdigit():
        return [int(name[1:])]
    if name[0] == "s" and name[1:].isdigit():
        return [32 + int(name[1:])]
    if name[0] == "d" and name[1:].isdigit():
        n = int(name[1:])
        return [32 + 2 * n, 33 + 2 * n] if n < 16 else []
    if name.startswith(("apsr", "cpsr", "itstate")):
        return [FLAGS_REG]
    if name.startswith("fpscr"):
        return [FPSCR_REG]
    return []


@dataclass
class CodeTables:
    """Decode tables for the code ranges of one ELF: ``ranges`` are (start, end, first_index)."""

    ranges: list[tuple[int, int, int]]
    table: np.ndarray  # (entries, NF) int64
    text: dict[int, str]  # address -> "mnemonic operands", for annotated listings

    def index(self, pc: int) -> int:
        for lo, hi, first in self.ranges:
            if lo <= pc < hi:
                return first + (pc - lo) // 2
        return -1

    def pc_of(self, index: int) -> int:
        for lo, hi, first in self.ranges:
            if first <= index < first + (hi - lo) // 2:
                return lo + 2 * (index - first)
        return -1


def _classify(insn, lat: dict) -> tuple[int, int, int, int]:
    """(class, latency, issue cost, flags) of one instruction (see cortex_m7.toml for sources)."""
    m = insn.mnemonic.split(".")[0].lower()
    full = insn.mnemonic.lower()
    ops = insn.op_str.lower()
    dp = ".f64" in full or " d" in f" {ops}" and m.startswith(("vadd", "vsub", "vmul", "vfm", "vml", "vdiv", "vsqrt"))
    writes_pc = "pc" in [insn.reg_name(r) for r in insn.regs_access()[1]]
    cond = insn.cc not in (arm.ARM_CC_AL, arm.ARM_CC_INVALID) if hasattr(arm, "ARM_CC_AL") else False
    if m == "it" or m.startswith("it") and len(m) <= 4 and m[2:].replace("t", "").replace("e", "") == "":
        return C_IT, 0, 0, 0
    if m in ("b", "cbz", "cbnz") or (m.startswith("b") and len(m) == 3 and m not in ("bic", "bfi", "bfc", "blx")):
        uncond = m == "b" and not cond
        return C_BRANCH, 1, 1, F_BRANCH | (F_UNCOND if uncond else F_COND)
    if m == "bl":
        return C_CALL, 1, 1, F_BRANCH | F_CALL | F_UNCOND
    if m == "blx":
        return C_INDIRECT, 1, 1, F_BRANCH | F_CALL | F_INDIRECT
    if m == "bx":
        ret = F_RETURN if "lr" in ops else 0
        return C_INDIRECT, 1, 1, F_BRANCH | F_INDIRECT | ret
    if m in ("tbb", "tbh"):
        return C_INDIRECT, 2, 2, F_BRANCH | F_INDIRECT | F_SINGLE | F_LOAD
    if m in ("pop", "ldm", "ldmia", "ldmfd", "ldmdb", "ldrd", "ldaexd", "ldrexd"):
        n = max(1, ops.count(",") + (0 if m.startswith("ldm") else 1) - (1 if m.startswith("ldr") else 0))
        fl = F_LOAD | F_SINGLE
        if writes_pc:
            fl |= F_BRANCH | F_INDIRECT | (F_RETURN if m == "pop" or "sp" in ops.split(",")[0] else 0)
        return C_LDM, lat["load_word"], max(1, (n + 1) // 2), fl
    if m in ("push", "stm", "stmia", "stmea", "stmdb", "stmfd", "strd", "strexd"):
        n = max(1, ops.count(",") + (0 if m.startswith("stm") else 1) - (1 if m.startswith("str") else 0))
        return C_STM, 1, max(1, (n + 1) // 2), F_STORE | F_SINGLE
    if m.startswith("ldr") or m.startswith("lda"):
        fl = F_LOAD
        if writes_pc:
            fl |= F_BRANCH | F_INDIRECT | (F_RETURN if "sp" in ops else 0)
        narrow = m[3:4] in ("b", "h") or m.startswith(("ldrsb", "ldrsh"))
        return (C_LOADN, lat["load_byte"], 1, fl) if narrow else (C_LOAD, lat["load_word"], 1, fl)
    if m.startswith("str") or m.startswith("stl"):
        return C_STORE, 1, 1, F_STORE
    if m in ("vpop", "vldm", "vldmia", "vldmdb"):
        n = max(1, ops.count(",") + 1)
        return C_FPLDM, lat["fp_load"], max(1, (n + 1) // 2), F_LOAD | F_FP | F_SINGLE
    if m in ("vpush", "vstm", "vstmia", "vstmdb"):
        n = max(1, ops.count(",") + 1)
        return C_FPSTM, 1, max(1, (n + 1) // 2), F_STORE | F_FP | F_SINGLE
    if m == "vldr":
        single = ".64" not in full and not ops.startswith("d")
        return C_FPLOAD if single else C_FPLDM, lat["fp_load"], 1, F_LOAD | F_FP | (0 if single else F_SINGLE)
    if m == "vstr":
        single = ".64" not in full and not ops.startswith("d")
        return C_FPSTORE if single else C_FPSTM, 1, 1, F_STORE | F_FP | (0 if single else F_SINGLE)
    if m in ("vfma", "vfms", "vfnma", "vfnms", "vmla", "vmls", "vnmla", "vnmls"):
        if dp:
            return C_DP, lat["dp_mac"], 2, F_FP | F_SINGLE
        return C_FPMAC, lat["fp_mac"], 1, F_FP
    if m in ("vdiv", "vsqrt"):
        if dp:
            return C_DP, lat["dp_div"], lat["dp_div"] - 2, F_FP | F_SINGLE
        return C_FPDIV, lat["fp_div" if m == "vdiv" else "fp_sqrt"], 14, F_FP
    if m in ("vadd", "vsub", "vmul", "vnmul", "vabs", "vneg", "vcvt", "vcvtr", "vcmp", "vcmpe", "vmaxnm",
             "vminnm", "vrinta", "vrintn", "vrintm", "vrintp", "vrintz", "vrintr", "vrintx", "vsel"):
        if dp:
            return C_DP, lat["dp_mul"] if m in ("vmul", "vnmul") else lat["dp_alu"], 1, F_FP | F_SINGLE
        return C_FPALU, lat["fp_alu"], 1, F_FP
    if m in ("vmov", "vmrs", "vmsr"):
        single = m != "vmov" or ops.count(",") > 1
        return C_FPMOV, lat["fp_mov"], 1, F_FP | (F_SINGLE if single else 0)
    if m in ("mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "smulbb", "smulbt", "smultb", "smultt",
             "smlabb", "smlad", "smladx", "smlsd", "smuad", "smusd", "smmul", "smmla", "smlawb", "smlawt",
             "smulwb", "smulwt", "umaal", "smlalbb", "smlald"):
        return C_MUL, lat["mul"], 1, 0
    if m in ("sdiv", "udiv"):
        return C_DIV, lat["div"], lat["div"], F_SINGLE
    if m in ("mrs", "msr", "dmb", "dsb", "isb", "cpsid", "cpsie", "bkpt", "svc", "wfi", "wfe", "sev", "udf",
             "clrex", "ldrex", "strex"):
        return C_SYSTEM, 1, 1, F_SINGLE
    shifted = any(s in ops for s in ("lsl #", "lsr #", "asr #", "ror #", "rrx"))
    if m in ("lsl", "lsls", "lsr", "lsrs", "asr", "asrs", "ror", "rors", "ubfx", "sbfx", "bfi", "bfc", "rbit",
             "rev", "rev16", "revsh", "uxtb", "uxth", "sxtb", "sxth", "uxtab", "uxtah", "sxtab", "sxtah", "clz",
             "pkhbt", "pkhtb", "usat", "ssat", "qadd", "qsub", "uadd8", "sadd16", "sel") or shifted:
        return C_SHIFT, lat["alu"], 1, 0
    return C_ALU, lat["alu"], 1, 0


def _disasm_all(md, data: bytes, addr: int):
    """Every instruction of a section: capstone stops at bytes it cannot decode (literal pools,
    padding), so restart two bytes further on instead of losing the rest of the section."""
    offset = 0
    while offset < len(data):
        last = None
        for insn in md.disasm(data[offset:], addr + offset):
            last = insn
            yield insn
        offset = (last.address + last.size - addr) if last is not None else offset
        offset += 0 if last is not None and offset >= len(data) else 2


def decode_elf(elf_path, core: dict) -> CodeTables:
    """Decode every executable section of the ELF (at its run address) into CodeTables."""
    lat = core["latency"]
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    md.detail = True
    sections = []
    with open(elf_path, "rb") as f:
        e = ELFFile(f)
        for s in e.iter_sections():
            if s["sh_flags"] & 0x4 and s["sh_size"] and s["sh_type"] == "SHT_PROGBITS":  # SHF_EXECINSTR
                sections.append((s["sh_addr"], s.data()))
    sections.sort()
    ranges, total = [], 0
    for addr, data in sections:
        ranges.append((addr, addr + len(data), total))
        total += (len(data) + 1) // 2
    table = np.zeros((max(total, 1), NF), np.int64)
    table[:, D_SRC0:D_DST1 + 1] = -1
    table[:, D_SIZE] = 2
    table[:, D_LAT] = 1  # a slot capstone cannot decode (data in code) still costs an ALU issue
    table[:, D_COST] = 1
    text: dict[int, str] = {}
    for (addr, data), (lo, _, first) in zip(sections, ranges):
        for insn in _disasm_all(md, data, addr):
            i = first + (insn.address - lo) // 2
            text[insn.address] = f"{insn.mnemonic} {insn.op_str}".strip()
            cls, latency, cost, flags = _classify(insn, lat)
            try:
                reads, writes = insn.regs_access()
            except capstone.CsError:
                reads, writes = [], []
            srcs = [x for r in reads for x in reg_index(insn.reg_name(r)) if x != 15]
            if flags & F_BRANCH:
                srcs = [x for x in srcs if x != FLAGS_REG]  # predicted: resolved after issue
            dsts = [x for r in writes for x in reg_index(insn.reg_name(r)) if x != 15]
            row = table[i]
            row[D_CLS], row[D_LAT], row[D_COST], row[D_FLAGS], row[D_SIZE] = cls, latency, cost, flags, insn.size
            for k, s in enumerate(dict.fromkeys(srcs)):
                if k < 4:
                    row[D_SRC0 + k] = s
            uniq = list(dict.fromkeys(dsts))
            for k, d in enumerate(uniq[:2]):
                row[D_DST0 + k] = d
            for d in uniq[2:]:
                if d < 32:
                    row[D_MASKLO] |= 1 << d
                else:
                    row[D_MASKHI] |= 1 << (d - 32)
    return CodeTables(ranges, table, text)
