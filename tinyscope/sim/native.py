"""Native hooks that keep execution correct and make faults visible (the timing model is timing.py).

They are numba ``cfunc``s that unicorn calls directly, like the timing hooks, and share one small int64
array ``X`` (the layout below) as their user data. Three of them call back into unicorn's C API; the
intrinsics below emit those calls as external symbols that llvmlite resolves to libunicorn, so the
compiled code carries no process-specific address and stays cacheable.

- ``clear_it_state``: unicorn (2.1.4) leaves stale IT bits behind after a hooked memory access. Before
  calling a memory hook, cputlb.c runs ``cpu_restore_state``, which writes that instruction's IT state
  into ``env->condexec_bits``. The ARM translator keeps the IT state in the translation block and
  assumes the CPU copy is 0 inside a block: it writes it back at block exit only when non-zero. So a
  hooked access inside an IT block that ends the block (``ittt ge; ...; popge {r4, r5, pc}``) leaves
  the caller running as if conditional. Every memory hook calls this when the accessing instruction
  may be in an IT block (``F_IN_IT`` in its decode flags, or no decode): it writes EPSR back with
  IT = 0, the value the translator relies on (a block that really leaves with IT bits set writes
  them itself at its exit). Outside IT blocks the restored value is already 0.
- ``count_hook``: the instruction counter, the budget and a ring of the last PCs when the timing
  model is off (it replaces unicorn's own counting hook, at the same cost).
- ``trace_hook``: every PC into a buffer, for finding where two runs diverge.
- ``scs_read``/``scs_write`` (the System Control Space as MMIO, passed on to the timing model's PPB
  callbacks), ``div_hook``, ``unaligned_hook``: CCR.DIV_0_TRP and CCR.UNALIGN_TRP (UsageFaults).
"""

from __future__ import annotations

import ctypes

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from unicorn.arm_const import UC_ARM_REG_EPSR
from unicorn.unicorn_py3.unicorn import uclib

from tinyscope.targets.armv7m import CCR_DIV_0_TRP, CCR_UNALIGN_TRP, PPB_BASE, REGISTERS, SCS_BASE

for _name in ("uc_reg_write", "uc_reg_read", "uc_emu_stop"):
    llvm.add_symbol(f"tinyscope_{_name}", ctypes.cast(getattr(uclib, _name), ctypes.c_void_p).value)

# ---- slots of X ----
X_LEN, X_N, X_BUDGET, X_DIV_ON, X_CCR, X_UNALIGN_ON, X_REQ = range(7)
X_FAULT, X_FPC, X_FADDR, X_FSIZE, X_FWRITE = range(7, 12)
X_TRACE_N, X_TRACE_CAP, X_O_TRACE, X_NDIV, X_O_DIV, X_PPB_READ, X_PPB_WRITE, X_PPB_USER = range(12, 20)
X_RING = 32
RING = 32
X_HEADER = X_RING + RING
VIEW = 1 << 40

# fault codes in X[X_FAULT]
FAULT_DIV0, FAULT_UNALIGNED = 1, 2
REQ_UNALIGN, REQ_DIV = 1, 2  # X[X_REQ]: hooks the engine must add before resuming
CCR_RESET = 0x200  # STKALIGN (Armv7-M ARM B3.2.8; the M7 resets with 8-byte stack alignment on)
EPSR_T = 1 << 24
F_IN_IT = 1 << 20  # decode flag (beside decode.F_*): the instruction may sit in an IT block
SCS_OFFSET = SCS_BASE - PPB_BASE  # scs_read/scs_write serve the SCS and up; the timing callbacks take PPB offsets
CCR_OFFSET = REGISTERS["SCB_CCR"][0] - PPB_BASE


def new_state(divs: list[tuple[int, int]], trace_cap: int = 0) -> np.ndarray:
    """X for one run: ``divs`` are (address, unicorn register id of the divisor), ``trace_cap`` the
    number of PCs the trace hook keeps."""
    divs = sorted(divs)
    o_div = X_HEADER
    o_trace = o_div + 2 * len(divs)
    X = np.zeros(o_trace + trace_cap, np.int64)
    X[X_LEN] = len(X)
    X[X_CCR] = CCR_RESET
    X[X_NDIV], X[X_O_DIV] = len(divs), o_div
    for k, (addr, reg) in enumerate(divs):
        X[o_div + 2 * k], X[o_div + 2 * k + 1] = addr, reg
    X[X_O_TRACE], X[X_TRACE_CAP] = o_trace, trace_cap
    return X


@intrinsic
def _uc_write_epsr_thumb(typingctx, uc):
    """uc_reg_write(uc, UC_ARM_REG_EPSR, &T): IT bits 0, Thumb state kept."""
    sig = types.void(types.voidptr)

    def codegen(context, builder, signature, args):
        i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i8p, i32, i8p]),
                                            "tinyscope_uc_reg_write")
        value = cgutils.alloca_once_value(builder, ir.Constant(i32, EPSR_T))
        builder.call(fn, [args[0], ir.Constant(i32, UC_ARM_REG_EPSR), builder.bitcast(value, i8p)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _uc_reg_read(typingctx, uc, regid):
    """uc_reg_read(uc, regid, &value) for a 32-bit register."""
    sig = types.int64(types.voidptr, types.int64)

    def codegen(context, builder, signature, args):
        i32, i64, i8p = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i8p, i32, i8p]),
                                            "tinyscope_uc_reg_read")
        value = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
        builder.call(fn, [args[0], builder.trunc(args[1], i32), builder.bitcast(value, i8p)])
        return builder.and_(builder.load(value), ir.Constant(i64, 0xFFFFFFFF))

    return sig, codegen


@intrinsic
def _uc_emu_stop(typingctx, uc):
    sig = types.void(types.voidptr)

    def codegen(context, builder, signature, args):
        i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i8p]), "tinyscope_uc_emu_stop")
        builder.call(fn, [args[0]])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def _fault(X, uc, code, pc, addr, size, write):
    if X[X_FAULT] == 0:
        X[X_FAULT] = code
        X[X_FPC] = pc
        X[X_FADDR] = addr
        X[X_FSIZE] = size
        X[X_FWRITE] = write
    _uc_emu_stop(uc)


@njit(cache=True, inline="always")
def clear_it_state(uc):
    _uc_write_epsr_thumb(uc)


def mark_it_blocks(text: dict[int, str], ranges: list[tuple[int, int, int]], flags: np.ndarray,
                   sizes: np.ndarray) -> None:
    """OR ``F_IN_IT`` into the decode flags (one entry per halfword slot) of the 1-4 instructions
    that each IT instruction's block covers, walking the decoded sizes (``sizes``, per slot)."""
    for pc, t in text.items():
        m = t.split(" ", 1)[0]
        if m[:2] != "it" or len(m) > 5 or m[2:].strip("te"):
            continue
        for lo, hi, first in ranges:
            if lo <= pc < hi:
                a = pc + 2
                for _ in range(len(m) - 1):
                    if a >= hi:
                        break
                    k = first + (a - lo) // 2
                    flags[k] |= F_IN_IT
                    a += max(2, int(sizes[k]))
                break


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def count_hook(uc, address, size, user):
    X = carray(user, (VIEW,), np.int64)
    n = X[X_N] + 1
    X[X_N] = n
    X[X_RING + (n & (RING - 1))] = np.int64(address)
    if n > X[X_BUDGET]:
        _uc_emu_stop(uc)


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def trace_hook(uc, address, size, user):
    X = carray(user, (VIEW,), np.int64)
    n = X[X_TRACE_N]
    if n < X[X_TRACE_CAP]:
        X[X[X_O_TRACE] + n] = np.int64(address)
        X[X_TRACE_N] = n + 1


@intrinsic
def _call_ppb_read(typingctx, fn, uc, offset, size, user):
    """The timing model's PPB read callback, called through its address (``fn``, ``user``: int64)."""
    sig = types.uint64(types.int64, types.voidptr, types.uint64, types.uint32, types.int64)

    def codegen(context, builder, signature, args):
        i32, i64, i8p = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(i64, [i8p, i64, i32, i8p])
        ptr = builder.inttoptr(args[0], fnty.as_pointer())
        return builder.call(ptr, [args[1], args[2], args[3], builder.inttoptr(args[4], i8p)])

    return sig, codegen


@intrinsic
def _call_ppb_write(typingctx, fn, uc, offset, size, value, user):
    """The timing model's PPB write callback, called through its address."""
    sig = types.void(types.int64, types.voidptr, types.uint64, types.uint32, types.uint64, types.int64)

    def codegen(context, builder, signature, args):
        i32, i64, i8p = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i64, i32, i64, i8p])
        ptr = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(ptr, [args[1], args[2], args[3], args[4], builder.inttoptr(args[5], i8p)])
        return context.get_dummy_value()

    return sig, codegen


@cfunc(types.uint64(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def scs_read(uc, offset, size, user):
    """Reads of 0xE000E000 and up (the System Control Space): the timing model's PPB callback."""
    X = carray(user, (VIEW,), np.int64)
    return _call_ppb_read(X[X_PPB_READ], uc, np.uint64(offset + SCS_OFFSET), np.uint32(size), X[X_PPB_USER])


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.uint64, types.voidptr), cache=True)
def scs_write(uc, offset, size, value, user):
    """Writes of 0xE000E000 and up: the timing model's PPB callback, and SCB->CCR's trap bits. The first
    time UNALIGN_TRP or DIV_0_TRP is set, stop, so that the engine adds the hooks that check them and
    resumes at the same instruction: a memory hook anywhere puts every access on unicorn's slow path,
    and a second code hook makes unicorn call every code hook through a loop, so they are there
    only when a program asks for the trap."""
    X = carray(user, (VIEW,), np.int64)
    _call_ppb_write(X[X_PPB_WRITE], uc, np.uint64(offset + SCS_OFFSET), np.uint32(size), np.uint64(value),
                    X[X_PPB_USER])
    if np.int64(offset) + SCS_OFFSET == CCR_OFFSET:
        v = np.int64(value) & 0xFFFFFFFF
        X[X_CCR] = v
        req = 0
        if (v & CCR_UNALIGN_TRP) != 0 and X[X_UNALIGN_ON] == 0:
            req |= REQ_UNALIGN
        if (v & CCR_DIV_0_TRP) != 0 and X[X_DIV_ON] == 0:
            req |= REQ_DIV
        if req != 0:
            X[X_REQ] = req
            _uc_emu_stop(uc)


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def div_hook(uc, address, size, user):
    """SDIV/UDIV (hooked on each one's address): a zero divisor with DIV_0_TRP set is a UsageFault."""
    X = carray(user, (VIEW,), np.int64)
    if (X[X_CCR] & CCR_DIV_0_TRP) == 0:
        return
    pc = np.int64(address)
    o = X[X_O_DIV]
    lo, hi = 0, X[X_NDIV]
    while lo < hi:
        mid = (lo + hi) >> 1
        if X[o + 2 * mid] < pc:
            lo = mid + 1
        else:
            hi = mid
    if lo < X[X_NDIV] and X[o + 2 * lo] == pc and _uc_reg_read(uc, X[o + 2 * lo + 1]) == 0:
        _fault(X, uc, FAULT_DIV0, pc, 0, 0, 0)


@cfunc(types.void(types.voidptr, types.int32, types.uint64, types.int32, types.int64, types.voidptr), cache=True)
def unaligned_hook(uc, access, address, size, value, user):
    """Every data access once UNALIGN_TRP has been set: a halfword or word access that is not
    naturally aligned is a UsageFault while the bit stays set."""
    X = carray(user, (VIEW,), np.int64)
    _uc_write_epsr_thumb(uc)
    if (X[X_CCR] & CCR_UNALIGN_TRP) == 0 or size < 2:
        return
    a = np.int64(address)
    if (a & (min(size, 4) - 1)) != 0:
        _fault(X, uc, FAULT_UNALIGNED, -1, a, size, 1 if access == 17 else 0)  # PC: the engine's last one
