"""Decode a firmware's code once, with capstone, into flat tables the native timing hooks index.

Each Thumb instruction gets a class (what pipe it uses), a result latency, an issue cost, flags
(load, store, branch kinds, single issue, ...), its source registers with how each is read (late ALU,
early ALU, address, multiplicand, accumulator, store data), its destination registers, the base
register an addressing mode writes back, and a direct branch's target. Registers are numbered 0-15
(core), 16 (APSR flags), 17 (FPSCR flags), 32-63 (s0-s31; d<n> is s<2n>,s<2n+1>).

Everything comes from capstone's operands (register lists, memory operands, shifts), not from the
text; the cycle figures come from the core record (cortex_m7.toml), never from constants here.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import capstone
import numpy as np
from capstone import arm
from elftools.elf.elffile import ELFFile

from tinyscope.sim.elf import read_image
from tinyscope.targets.core import CoreTiming

# instruction classes (C_ALUE: add/sub/mov and simple shifts, whose results the early ALU and the AGU
# can use in the next cycle)
C_ALU, C_SHIFT, C_LOAD, C_LOADN, C_STORE, C_LDM, C_STM, C_MUL, C_DIV = range(9)
C_BRANCH, C_CALL, C_INDIRECT, C_FPALU, C_FPMAC, C_FPDIV, C_FPLOAD, C_FPSTORE = range(9, 17)
C_FPLDM, C_FPSTM, C_FPMOV, C_SYSTEM, C_DP, C_IT, C_ALUE = range(17, 24)
NCLS = 24
CLASS_NAMES = ["alu", "shift", "load", "load_narrow", "store", "ldm", "stm", "mul", "div", "branch", "call",
               "indirect", "fp_alu", "fp_mac", "fp_div", "fp_load", "fp_store", "fp_ldm", "fp_stm", "fp_mov",
               "system", "dp", "it", "alu_early"]

# how an instruction reads a source register (the consumer side of the forwarding table)
R_LATE, R_EARLY, R_ADDR, R_MULOP, R_ACC, R_STORE, R_FPACC = range(7)
NREAD = 7
READ_NAMES = ["late", "early", "address", "multiplicand", "accumulate", "store_data", "fp_accumulate"]
_READ_PRIORITY = (R_ADDR, R_MULOP, R_EARLY, R_FPACC, R_LATE, R_ACC, R_STORE)  # a register read two ways

# flags
F_LOAD, F_STORE, F_BRANCH, F_CALL, F_RETURN = 1, 2, 4, 8, 16
F_FP, F_SINGLE, F_COND, F_INDIRECT, F_UNCOND = 32, 64, 128, 256, 512
F_TAIL = 1024  # a plain branch to another function's entry: a tail call (the profiler counts it as a call)

# table fields: D_RKIND packs the read kind of source k in bits 4k..4k+3; D_WB is the written-back base
# register (-1 if none); D_TARGET a direct branch's target (-1 if none); D_BYTES the bytes the instruction
# moves to (negative) or from memory (access_bytes)
(D_CLS, D_LAT, D_COST, D_FLAGS, D_SRC0, D_SRC1, D_SRC2, D_SRC3, D_RKIND, D_DST0, D_DST1, D_MASKLO, D_MASKHI,
 D_SIZE, D_WB, D_TARGET, D_BYTES) = range(17)
NF = 17

FLAGS_REG, FPSCR_REG = 16, 17
_ALIASES = {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}
_CONDS = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"}

_LDM = {"pop", "ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "ldrd", "ldaexd", "ldrexd"}
_STM = {"push", "stm", "stmia", "stmea", "stmdb", "stmfd", "strd", "strexd", "stlexd"}
_VLDM = {"vpop", "vldm", "vldmia", "vldmdb"}
_VSTM = {"vpush", "vstm", "vstmia", "vstmdb"}
_FPMAC = {"vfma", "vfms", "vfnma", "vfnms", "vmla", "vmls", "vnmla", "vnmls"}
_FPARITH = {"vadd", "vsub", "vmul", "vnmul"}
_FPOTHER = {"vabs", "vneg", "vcvt", "vcvtr", "vcvta", "vcvtn", "vcvtp", "vcvtm", "vcvtb", "vcvtt", "vcmp", "vcmpe",
            "vmaxnm", "vminnm", "vrinta", "vrintn", "vrintm", "vrintp", "vrintz", "vrintr", "vrintx", "vsel"}
_MUL_LONG = {"smull", "umull", "smlal", "umlal", "umaal", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "smlald",
             "smlaldx", "smlsld", "smlsldx"}
_MUL_ACC4 = {"mla", "mls", "smlabb", "smlabt", "smlatb", "smlatt", "smlawb", "smlawt", "smlad", "smladx", "smlsd",
             "smlsdx", "smmla", "smmlar", "smmls", "smmlsr", "usada8"}
_MUL = _MUL_LONG | _MUL_ACC4 | {"mul", "smulbb", "smulbt", "smultb", "smultt", "smulwb", "smulwt", "smuad", "smuadx",
                                "smusd", "smusdx", "smmul", "smmulr", "usad8"}
_LONG_ACC = {"smlal", "umlal", "umaal", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "smlald", "smlaldx", "smlsld",
             "smlsldx"}
_SYSTEM = {"mrs", "msr", "dmb", "dsb", "isb", "cpsid", "cpsie", "bkpt", "svc", "wfi", "wfe", "sev", "udf", "clrex",
           "ldrex", "ldrexb", "ldrexh", "strex", "strexb", "strexh"}
# bitfield/DSP/extend: one instruction of this group per cycle (jnk0le); the listed operands are read early
_EARLY_ALL = {"sbfx", "ubfx", "rbit", "rev", "rev16", "revsh", "uxtb", "uxth", "sxtb", "sxth", "uxtb16", "sxtb16"}
_EARLY_LAST = {"bfi", "pkhbt", "uxtab", "uxtah", "sxtab", "sxtah", "uxtab16", "sxtab16"}
_BITFIELD = _EARLY_ALL | _EARLY_LAST | {"bfc", "clz", "pkhtb", "usat", "ssat", "usat16", "ssat16", "qadd", "qsub",
                                        "qdadd", "qdsub", "qadd8", "qsub8", "qadd16", "qsub16", "uadd8", "usub8",
                                        "uadd16", "usub16", "sadd8", "ssub8", "sadd16", "ssub16", "uqadd8",
                                        "uqsub8", "uqadd16", "uqsub16", "shadd8", "uhadd8", "sel", "sasx", "ssax",
                                        "uasx", "usax", "qasx", "qsax"}
_EARLY_ALU = {"add", "adds", "sub", "subs", "addw", "subw", "mov", "movs", "movw", "movt", "adr", "lsl", "lsls",
              "lsr", "lsrs", "asr", "asrs", "ror", "rors"}


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



@dataclass
class Decoded:
    """What the timing model needs to know about one instruction."""

    cls: int
    latency: int
    cost: int
    flags: int
    reads: dict[int, int]  # register -> R_* read kind
    writes: list[int]
    wb: int = -1
    target: int = -1


def base_mnemonic(insn) -> str:
    """The mnemonic without width qualifier, data type or IT condition: ``popge`` -> ``pop``."""
    m = insn.mnemonic.split(".")[0].lower()
    if insn.cc not in (arm.ARM_CC_AL, arm.ARM_CC_INVALID) and m[-2:] in _CONDS and len(m) > 2:
        m = m[:-2]
    return m


def _regs(insn, op) -> list[int]:
    return reg_index(insn.reg_name(op.reg))


def _words(insn, ops) -> int:
    """32-bit words a register list or pair moves: s and r registers are one word, d registers two."""
    return sum(2 if insn.reg_name(o.reg).startswith("d") else 1 for o in ops if o.type == arm.ARM_OP_REG)


def _read(reads: dict[int, int], regs: list[int], kind: int) -> None:
    for r in regs:
        if r == 15:
            continue
        old = reads.get(r)
        if old is None or _READ_PRIORITY.index(kind) < _READ_PRIORITY.index(old):
            reads[r] = kind


def decode_insn(insn, core: CoreTiming) -> Decoded:
    """Class, latency, issue cost, flags and register roles of one capstone instruction (detail on)."""
    lat, iss = core.latency, core.issue
    m = base_mnemonic(insn)
    full = insn.mnemonic.lower()
    ops = list(insn.operands)
    try:
        acc_reads, acc_writes = insn.regs_access()
    except capstone.CsError:
        acc_reads, acc_writes = [], []
    names_w = [insn.reg_name(r) for r in acc_writes]
    writes_pc = "pc" in names_w or any(o.type == arm.ARM_OP_REG and o.reg == arm.ARM_REG_PC and o.access & 2
                                       for o in ops)
    cond = insn.cc not in (arm.ARM_CC_AL, arm.ARM_CC_INVALID)
    reads: dict[int, int] = {}
    writes: list[int] = []
    wb = -1

    def default_regs() -> None:
        """Reads and writes as capstone reports them, plus the operands' own access bits."""
        _read(reads, [x for r in acc_reads for x in reg_index(insn.reg_name(r))], R_LATE)
        for o in ops:
            if o.type == arm.ARM_OP_REG and o.access & 1:
                _read(reads, _regs(insn, o), R_EARLY if o.shift.type != 0 else R_LATE)
            if o.type == arm.ARM_OP_REG and o.access & 2:
                writes.extend(_regs(insn, o))
        writes.extend(x for r in acc_writes for x in reg_index(insn.reg_name(r)))
        if getattr(insn, "update_flags", False) or m in ("cmp", "cmn", "tst", "teq"):
            writes.append(FLAGS_REG)  # capstone leaves APSR out of some 16-bit flag setters (subs r3, #1)

    def address() -> int:
        """Mark base and index of the memory operand as address reads; the written-back base, if any."""
        for k, o in enumerate(ops):
            if o.type == arm.ARM_OP_MEM:
                if o.mem.index:
                    _read(reads, reg_index(insn.reg_name(o.mem.index)), R_ADDR)
                if not o.mem.base:
                    return -1
                base = reg_index(insn.reg_name(o.mem.base))
                _read(reads, base, R_ADDR)
                post = any(x.type == arm.ARM_OP_IMM for x in ops[k + 1:])  # ldr r0, [r1], #4
                return base[0] if (insn.writeback or post) and base and base[0] != 15 else -1
        return -1

    dp = any(o.type == arm.ARM_OP_REG and insn.reg_name(o.reg).startswith("d") for o in ops) or ".f64" in full

    if m.startswith("it") and len(m) <= 5 and set(m[2:]) <= {"t", "e"}:
        return Decoded(C_IT, 0, 0, 0, {}, [])
    if m in ("b", "cbz", "cbnz"):
        default_regs()
        imm = [o.imm for o in ops if o.type == arm.ARM_OP_IMM]
        uncond = m == "b" and not cond
        return Decoded(C_BRANCH, lat.alu, 1, F_BRANCH | (F_UNCOND if uncond else F_COND),
                       {r: k for r, k in reads.items() if r != FLAGS_REG}, [], -1, imm[-1] if imm else -1)
    if m == "bl":
        imm = [o.imm for o in ops if o.type == arm.ARM_OP_IMM]
        return Decoded(C_CALL, lat.alu, 1, F_BRANCH | F_CALL | F_UNCOND, {}, [14], -1, imm[-1] if imm else -1)
    if m in ("blx", "bx"):
        default_regs()
        ret = F_RETURN if m == "bx" and any(o.type == arm.ARM_OP_REG and o.reg == arm.ARM_REG_LR for o in ops) else 0
        call = F_CALL if m == "blx" else 0
        return Decoded(C_INDIRECT, lat.alu, 1, F_BRANCH | F_INDIRECT | call | ret,
                       {r: k for r, k in reads.items() if r != FLAGS_REG}, [x for x in writes if x != 15])
    if m in ("tbb", "tbh"):
        address()
        return Decoded(C_INDIRECT, lat.alu, iss.table_branch_cycles, F_BRANCH | F_INDIRECT | F_SINGLE | F_LOAD,
                       reads, [])
    if m in _LDM or m in _VLDM:
        fp = m in _VLDM
        listed = [o for o in ops if o.type == arm.ARM_OP_REG]
        if m in ("pop", "vpop"):
            _read(reads, [13], R_ADDR)
            wb = 13
        elif m.startswith(("ldm", "vldm")):
            base = listed.pop(0)
            _read(reads, _regs(insn, base), R_ADDR)
            wb = _regs(insn, base)[0] if insn.writeback else -1
        else:  # ldrd: two destinations and a memory operand
            wb = address()
        for o in listed:
            writes.extend(r for r in _regs(insn, o) if r != 15)
        if cond:
            _read(reads, [FLAGS_REG], R_LATE)
        cost = max(1, -(-_words(insn, listed) // iss.words_per_cycle))
        fl = F_LOAD | F_SINGLE | (F_FP if fp else 0)
        if writes_pc:
            fl |= F_BRANCH | F_INDIRECT | (F_RETURN if m == "pop" or wb == 13 else 0)
        return Decoded(C_FPLDM if fp else C_LDM, (lat.fp_load if fp else lat.load_word) + cost - 1, cost, fl,
                       reads, writes, wb)
    if m in _STM or m in _VSTM:
        fp = m in _VSTM
        listed = [o for o in ops if o.type == arm.ARM_OP_REG]
        if m in ("push", "vpush"):
            _read(reads, [13], R_ADDR)
            wb = 13
        elif m.startswith(("stm", "vstm")):
            base = listed.pop(0)
            _read(reads, _regs(insn, base), R_ADDR)
            wb = _regs(insn, base)[0] if insn.writeback else -1
        else:  # strd/strexd: data registers (strexd: a status destination first) and a memory operand
            wb = address()
            if m.startswith("strex") and listed:
                writes.extend(_regs(insn, listed.pop(0)))
        for o in listed:
            _read(reads, _regs(insn, o), R_STORE)
        if cond:
            _read(reads, [FLAGS_REG], R_LATE)
        cost = max(1, -(-_words(insn, listed) // iss.words_per_cycle))
        return Decoded(C_FPSTM if fp else C_STM, lat.alu, cost, F_STORE | F_SINGLE | (F_FP if fp else 0), reads,
                       writes, wb)
    if m.startswith(("ldr", "lda")) and m not in _SYSTEM:
        wb = address()
        for o in ops:
            if o.type == arm.ARM_OP_REG and o.access & 2:
                writes.extend(r for r in _regs(insn, o) if r != 15)
        if cond:
            _read(reads, [FLAGS_REG], R_LATE)
        fl = F_LOAD
        if writes_pc:
            fl |= F_BRANCH | F_INDIRECT | (F_RETURN if wb == 13 else 0)
        narrow = m[3:4] in ("b", "h") or m.startswith(("ldrs", "ldab", "ldah"))
        if narrow:
            return Decoded(C_LOADN, lat.load_narrow, 1, fl, reads, writes, wb)
        return Decoded(C_LOAD, lat.load_word, 1, fl, reads, writes, wb)
    if m.startswith(("str", "stl")) and m not in _SYSTEM:
        wb = address()
        for o in ops:
            if o.type == arm.ARM_OP_REG:
                _read(reads, _regs(insn, o), R_STORE)
        if cond:
            _read(reads, [FLAGS_REG], R_LATE)
        return Decoded(C_STORE, lat.alu, 1, F_STORE, reads, writes, wb)
    if m in ("vldr", "vstr"):
        wb = address()
        data = [o for o in ops if o.type == arm.ARM_OP_REG]
        single = not _words(insn, data) == 2
        if cond:
            _read(reads, [FLAGS_REG], R_LATE)
        if m == "vldr":
            for o in data:
                writes.extend(_regs(insn, o))
            return Decoded(C_FPLOAD if single else C_FPLDM, lat.fp_load, 1,
                           F_LOAD | F_FP | (0 if single else F_SINGLE), reads, writes, wb)
        for o in data:
            _read(reads, _regs(insn, o), R_STORE)
        return Decoded(C_FPSTORE if single else C_FPSTM, lat.alu, 1, F_STORE | F_FP | (0 if single else F_SINGLE),
                       reads, writes, wb)
    default_regs()
    if m in _FPMAC:
        if ops and ops[0].type == arm.ARM_OP_REG:
            for r in _regs(insn, ops[0]):
                reads[r] = R_FPACC
        if dp:
            return Decoded(C_DP, lat.dp_mac, iss.dp_mac_cycles, F_FP | F_SINGLE, reads, writes)
        return Decoded(C_FPMAC, lat.fp_mac, 1, F_FP, reads, writes)
    if m in ("vdiv", "vsqrt"):
        if dp:
            return Decoded(C_DP, lat.dp_div, lat.dp_div, F_FP | F_SINGLE, reads, writes)
        la = lat.fp_div if m == "vdiv" else lat.fp_sqrt
        return Decoded(C_FPDIV, la, la, F_FP, reads, writes)
    if m in _FPARITH:
        if dp:
            mul = m in ("vmul", "vnmul")
            return Decoded(C_DP, lat.dp_mul if mul else lat.dp_alu, iss.dp_mul_cycles if mul else iss.dp_add_cycles,
                           F_FP | F_SINGLE, reads, writes)
        return Decoded(C_FPALU, lat.fp_alu, 1, F_FP, reads, writes)
    if m in _FPOTHER:
        if dp:
            return Decoded(C_DP, lat.dp_alu, iss.dp_add_cycles, F_FP | F_SINGLE, reads, writes)
        return Decoded(C_FPALU, lat.fp_cvt, 1, F_FP, reads, writes)
    if m in ("vmov", "vmrs", "vmsr"):
        regs = [o for o in ops if o.type == arm.ARM_OP_REG]
        single = m != "vmov" or len(regs) > 2 or dp
        to_core = m == "vmov" and len(regs) == 2 and insn.reg_name(regs[0].reg).startswith(("r", "ip", "lr", "sb",
                                                                                            "sl", "fp"))
        return Decoded(C_FPMOV, lat.fp_to_core if to_core else lat.fp_mov, 1, F_FP | (F_SINGLE if single else 0),
                       reads, writes)
    if m.rstrip("s") in _MUL or m in _MUL:
        name = m if m in _MUL else m.rstrip("s")
        regs = [o for o in ops if o.type == arm.ARM_OP_REG]
        if name in _MUL_LONG:
            accs, mults = (regs[:2] if name in _LONG_ACC else []), regs[2:]
        elif name in _MUL_ACC4 and len(regs) == 4:
            accs, mults = regs[3:], regs[1:3]
        else:
            accs, mults = [], (regs[1:] if len(regs) >= 3 else regs)
        for o in mults:
            for r in _regs(insn, o):
                reads[r] = R_MULOP
        for o in accs:  # capstone leaves RdLo/RdHi out of the reads of the long accumulates
            for r in _regs(insn, o):
                reads[r] = R_ACC
        return Decoded(C_MUL, lat.mul, 1, 0, reads, writes)
    if m in ("sdiv", "udiv"):
        return Decoded(C_DIV, lat.div, iss.div_cycles, F_SINGLE, reads, writes)
    if m in _SYSTEM:
        return Decoded(C_SYSTEM, lat.alu, 1, F_SINGLE, reads, writes)
    regs = [o for o in ops if o.type == arm.ARM_OP_REG]
    if m in _EARLY_ALL:
        for o in regs[1:]:
            _read(reads, _regs(insn, o), R_EARLY)
    elif m in _EARLY_LAST and len(regs) >= 2:
        # the extracted operand (capstone may leave it out of the reads: uxtab r0, r1, r2)
        _read(reads, _regs(insn, regs[-1]), R_EARLY)
        if m == "pkhtb" and len(regs) >= 3:
            _read(reads, _regs(insn, regs[1]), R_EARLY)
    shifted = any(o.type == arm.ARM_OP_REG and o.shift.type != 0 for o in ops)
    if m in _BITFIELD or shifted:
        return Decoded(C_SHIFT, lat.alu, 1, 0, reads, writes)
    if m in _EARLY_ALU:
        return Decoded(C_ALUE, lat.alu, 1, 0, reads, writes)
    return Decoded(C_ALU, lat.alu, 1, 0, reads, writes)


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


def disassembler() -> capstone.Cs:
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    md.detail = True
    return md


def access_bytes(insn) -> int:
    """Bytes the instruction moves from memory, negated for a store, 0 for none. Block mode matches each
    hooked access to the instruction that made it by counting these (unicorn reports a stale PC there)."""
    m = base_mnemonic(insn)
    regs = [o for o in insn.operands if o.type == arm.ARM_OP_REG]
    if m in ("tbb", "tbh"):
        return 1 if m == "tbb" else 2
    if m in _LDM or m in _VLDM or m in _STM or m in _VSTM:
        sign = -1 if m in _STM or m in _VSTM else 1
        if m.startswith(("ldr", "str", "lda", "stl")):  # ldrd, strd and the exclusive pairs: two words
            return 8 * sign
        listed = regs[1:] if m.startswith(("ldm", "stm", "vldm", "vstm")) else regs  # without the base
        return 4 * _words(insn, listed) * sign
    if m in ("vldr", "vstr"):
        return 4 * _words(insn, regs) * (1 if m == "vldr" else -1)
    if m.startswith(("ldr", "lda", "str", "stl")):
        width = m[3:].removeprefix("ex").removeprefix("s")  # ldrsb -> b, ldrexh -> h, ldr -> ""
        n = 1 if width.startswith("b") else 2 if width.startswith("h") else 4
        return n if m.startswith(("ldr", "lda")) else -n
    return 0


def fill_row(row: np.ndarray, d: Decoded, size: int) -> None:
    """Write one instruction's record into its table row."""
    row[D_CLS], row[D_LAT], row[D_COST], row[D_FLAGS], row[D_SIZE] = d.cls, d.latency, d.cost, d.flags, size
    row[D_WB], row[D_TARGET] = d.wb, d.target
    reads = sorted(d.reads.items(), key=lambda kv: _READ_PRIORITY.index(kv[1]))[:4]
    row[D_RKIND] = 0
    for k, (r, kind) in enumerate(reads):
        row[D_SRC0 + k] = r
        row[D_RKIND] |= kind << (4 * k)
    uniq = [x for x in dict.fromkeys(d.writes) if x != 15 and x != d.wb]
    for k, r in enumerate(uniq[:2]):
        row[D_DST0 + k] = r
    for r in uniq[2:]:
        if r < 32:
            row[D_MASKLO] |= 1 << r
        else:
            row[D_MASKHI] |= 1 << (r - 32)


def decode_into(row: np.ndarray, insn, core: CoreTiming) -> None:
    """Decode one capstone instruction into its table row."""
    fill_row(row, decode_insn(insn, core), insn.size)
    row[D_BYTES] = access_bytes(insn)


def decode_elf(elf_path, core: CoreTiming) -> CodeTables:
    """Decode every executable section of the ELF (at its run address) into CodeTables."""
    md = disassembler()
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
    table = empty_table(max(total, 1), core)
    text: dict[int, str] = {}
    entries = _function_entries(elf_path)
    for (addr, data), (lo, _, first) in zip(sections, ranges):
        for insn in _disasm_all(md, data, addr):
            i = first + (insn.address - lo) // 2
            text[insn.address] = f"{insn.mnemonic} {insn.op_str}".strip()
            decode_into(table[i], insn, core)
            _mark_tail_call(table[i], insn.address, entries)
    return CodeTables(ranges, table, text)


def _function_entries(elf_path) -> list[int]:
    """Sorted start addresses of the ELF's functions (STT_FUNC symbols), for tail-call detection."""
    return [s.addr for s in read_image(elf_path).symbols.symbols]


def _mark_tail_call(row: np.ndarray, pc: int, entries: list[int]) -> None:
    """Flag a direct branch (``b``/``b.w``, not ``bl``) to the entry of another function as a tail call:
    compilers turn ``return f(x);`` into one, and without the flag the callee shows 0 calls."""
    tgt = int(row[D_TARGET])
    if row[D_CLS] != C_BRANCH or tgt < 0 or not entries:
        return
    k = bisect.bisect_left(entries, tgt)
    if k == len(entries) or entries[k] != tgt:
        return
    own = bisect.bisect_right(entries, pc) - 1
    if own < 0 or entries[own] != tgt:
        row[D_FLAGS] |= F_TAIL


def empty_table(n: int, core: CoreTiming) -> np.ndarray:
    """Rows for ``n`` halfword slots; a slot capstone cannot decode (data in code) costs an ALU issue."""
    table = np.zeros((n, NF), np.int64)
    table[:, D_SRC0:D_SRC3 + 1] = -1
    table[:, D_DST0:D_DST1 + 1] = -1
    table[:, D_WB] = -1
    table[:, D_TARGET] = -1
    table[:, D_SIZE] = 2
    table[:, D_LAT] = core.latency.alu
    table[:, D_COST] = 1
    return table
