"""The Cortex-M7 timing model, as native callbacks (numba ``cfunc``) that unicorn calls directly.

All state lives in one int64 array ``S`` whose address is the callbacks' user data. Its layout is
declared once, in ``SCALARS`` (name and size of every header slot) and ``TABLES`` (the tables after the
header, sized per run); ``L`` holds the generated offsets, used here as ``S[L.CLOCK]`` and by the engine.
The code hook runs once per instruction: it finalizes the previous instruction (issue cycle from the
in-order dual issue rules, the register scoreboard and the forwarding table, memory penalties from the
D-side hook, branch outcome against the BTAC and the static rule now that the next PC is known) and
charges the I-side fetch of the current one. No Python runs per instruction or per memory access.

Every figure comes from the core record (cortex_m7.toml) or the board (bus facts of each region); this
module holds rules, not numbers.
"""

from __future__ import annotations

import hashlib
from collections import namedtuple
from functools import cache
from pathlib import Path

import numpy as np
from numba import carray, cfunc, njit, types

from tinyscope.sim.decode import (
    C_ALU,
    C_ALUE,
    C_DIV,
    C_DP,
    C_FPALU,
    C_FPDIV,
    C_FPLDM,
    C_FPLOAD,
    C_FPMAC,
    C_FPMOV,
    C_FPSTORE,
    C_IT,
    C_LDM,
    C_LOAD,
    C_LOADN,
    C_MUL,
    C_SHIFT,
    C_STM,
    C_STORE,
    D_BYTES,
    D_CLS,
    D_COST,
    D_DST0,
    D_FLAGS,
    D_LAT,
    D_MASKHI,
    D_MASKLO,
    D_RKIND,
    D_SIZE,
    D_SRC0,
    D_TARGET,
    D_WB,
    F_BRANCH,
    F_CALL,
    F_COND,
    F_INDIRECT,
    F_RETURN,
    F_SINGLE,
    F_TAIL,
    F_UNCOND,
    FLAGS_REG,
    NCLS,
    NF,
    NREAD,
    R_ACC,
    R_ADDR,
    R_EARLY,
    R_FPACC,
    R_MULOP,
    R_STORE,
)
from tinyscope.sim.native import F_IN_IT, _uc_emu_stop, _uc_reg_read, clear_it_state
from tinyscope.targets.armv7m import PPB_BASE

MAX_RANGES = 4
FILL_FIELDS = 6  # line, time the critical beat arrives, critical beat, CPU cycles per beat, log2 beat bytes, beats

# ---- the state array's header: every slot once, with its size ----
SCALARS: tuple[tuple[str, int], ...] = (
    ("LEN", 1), ("CLOCK", 1), ("PREV_ISSUE", 1), ("PREV_NOPAIR", 1), ("PREV_CLS", 1),
    ("PEND_IDX", 1), ("PEND_PC", 1), ("PEND_MEM", 1), ("PEND_IFETCH", 1), ("PEND_DMISS", 1), ("PEND_DACC", 1),
    ("NINSTR", 1), ("IC_ON", 1), ("DC_ON", 1), ("LAST_FETCH", 1), ("LAST_WORD", 1),
    ("EV_N", 1), ("EV_CAP", 1), ("ITM_N", 1), ("ITM_CAP", 1),
    ("IC_ACC", 1), ("IC_MISS", 1), ("DC_ACC", 1), ("DC_MISS", 1), ("DC_WB", 1),
    ("ST_LOAD", 1), ("ST_FP", 1), ("ST_DEP", 1), ("ST_BRANCH", 1), ("ST_IFETCH", 1), ("ST_DMEM", 1),
    ("N_RANGES", 1), ("RANGES", 3 * MAX_RANGES),
    ("IC_SETS", 1), ("IC_WAYS", 1), ("DC_SETS", 1), ("DC_WAYS", 1), ("LINE_SHIFT", 1), ("FETCH_SHIFT", 1),
    ("N_REG", 1), ("LAST_REG", 1), ("BTAC_N", 1), ("BTAC_MAX", 1), ("SB_N", 1), ("NARROW_ST", 1), ("RING_POS", 1),
    ("STAMP", 1),
    ("XT_MAX", 1), ("P_MISPRED", 1), ("P_MISPRED_EARLY", 1), ("EARLY_FLAGS", 1), ("P_DIRECT", 1), ("FLAGS_T", 1),
    ("DUAL", 1), ("CYC_BASE", 1), ("BUS_FREE", 1), ("WB_LINE", 1), ("FILL", 2 * FILL_FIELDS),
    ("ART_N", 1), ("ART_SHIFT", 1), ("ART_ON", 1), ("ART_PF", 1), ("PF_LINE", 1), ("PF_T", 1), ("FLASH_FREE", 1),
    ("N_ENT", 1),
    # block mode: the block being executed (its entry, chosen schedule, effective start, clock at its hook),
    # the budget, the PC of the last DWT/ITM access
    ("BLOCK", 1), ("BUDGET", 1), ("PPB_PC", 1), ("BLK_E", 1), ("BLK_V", 1), ("BLK_START", 1), ("BLK_CLK0", 1),
    ("BT_N", 1), ("BLK_FETCH", 1), ("PMEM_LOST", 1), ("DC_MRU", 1), ("DC_MRU_DIRTY", 1),
    # block mode: the running block's memory instruction that the next access belongs to, and its bytes left
    ("ACC_K", 1), ("ACC_LEFT", 1), ("ACC_PC", 1),
    # a cache state forced by the user (1 on, 0 off) whatever the firmware writes to CCR; -1 follows CCR
    ("IC_FORCE", 1), ("DC_FORCE", 1),
    # offsets of the tables below, filled in per run
    ("O_DEC", 1), ("O_STATS", 1), ("O_READY", 1), ("O_KIND", 1), ("O_XT", 1), ("O_IC", 1), ("O_DC", 1),
    ("O_REG", 1), ("O_BTAC", 1), ("O_EV", 1), ("O_ITM", 1), ("O_SB", 1), ("O_RING", 1), ("O_PPB", 1), ("O_ART", 1),
    ("O_BT", 1), ("O_SREADY", 1), ("O_SKIND", 1), ("O_BOFF", 1), ("O_BOWN", 1), ("O_PMEM", 1),
)


def _offsets(slots: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int], int]:
    names, offs, pos = [], [], 0
    for name, size in slots:
        names.append(name)
        offs.append(pos)
        pos += size
    return names, offs, pos


_names, _offs, HEADER = _offsets(SCALARS)
L = namedtuple("Layout", _names)(*_offs)  # the generated offsets: S[L.CLOCK]
globals().update(L._asdict())  # the same offsets as module attributes for Python callers (engine: T.NINSTR)

VIEW = 1 << 40  # carray's shape is only metadata (no bounds checks): one view of the whole state

# per-instruction statistics (columns of the stats table)
S_COUNT, S_CYCLES, S_LOAD, S_FP, S_DEP, S_BRANCH, S_IFETCH, S_DMEM, S_ICMISS, S_DCMISS, S_DCACC = range(11)
NS = 11
STAT_NAMES = ["count", "cycles", "stall_load_use", "stall_fp", "stall_dep", "stall_branch", "stall_ifetch",
              "stall_dmem", "icache_miss", "dcache_miss", "dcache_access"]
# region record fields: R_KIND 0 = zero-wait TCM (never hooked), 1 = through the bus, 2 = flash behind an
# accelerator (ART); latencies in CPU cycles, derived from the board's bus facts
(R_LO, R_HI, R_KIND, R_POLICY, R_READ, R_CRIT, R_BEAT, R_BEATSH, R_WRITE, R_WBACK, R_IREAD, R_GRAN,
 R_USED) = range(13)
RF = 13
RING = 32
# cycle, port, value, then running totals: I-cache misses, D-cache misses, instructions, and the stall
# cycles of each kind (load_use, fp, dep, branch, ifetch, dmem), so a layer's figures are differences
ITM_FIELDS = 12
PPB_WORDS = 0x4000  # shadow of 0xE0000000..0xE000FFFF
BTAC_FIELDS = 3  # tag (branch address), target, direction counter
UC_ARM_REG_PC = 11  # unicorn.arm_const.UC_ARM_REG_PC (a literal: numba needs a compile-time constant)

# block mode: one entry per translation block, found by its address (direct-mapped), holding two schedules
# of it from a clean scoreboard (two records of BF fields): variant 0 with its first instruction issuing
# alone, variant 1 with it dual-issued beside the previous block's last instruction (chosen at run time
# when the pairing rules allow). B_FLAGS_T is the offset at which a block sets the flags, NOFL when it
# does not; live-ins are (register, read kind, issue offset of the first reader), live-outs (register,
# offset at which the value is ready, producer class), memory instructions (decode index, bytes moved as
# D_BYTES, clean offset before it) in program order, the first MAXMEM of them; B_MORE is the address after
# the last listed one when more follow (their offsets are in the per-instruction tables O_BOFF/O_BOWN),
# else -1. Executions and cycles are kept in variant 0.
(B_TAG, B_SIZE, B_N, B_BASE, B_FIRST, B_LAST, B_LASTPC, B_LISSUE, B_FLAGS_T, B_FREE, B_NOPAIR, B_LCLS, B_IT,
 B_COUNT, B_CYC, B_NIN, B_NOUT, B_FCLS, B_TCM, B_VAR, B_REG, B_GRAN, B_NGRAN, B_LASTG, B_NMEM, B_MORE) = range(26)
NLIVE = 52  # more than the registers the scoreboard tracks (r0-r15, APSR, FPSCR, s0-s31): never overflows
MAXMEM = 32  # memory instructions listed per block (a longer block's others are found by address)
B_IN = 26
B_OUT = B_IN + 3 * NLIVE
B_MEM = B_OUT + 3 * NLIVE
BF = B_MEM + 3 * MAXMEM
BLOCKS = 2048  # table entries (a power of two)
NOFL = -(1 << 40)
NEVER = -(1 << 40)  # a scratch scoreboard slot never written in the block
ORG = 1 << 20  # the clean schedule's time origin


@njit(cache=True, inline="always")
def _index(S, pc):
    for k in range(S[L.N_RANGES]):
        lo = S[L.RANGES + 3 * k]
        if lo <= pc < S[L.RANGES + 3 * k + 1]:
            return S[L.RANGES + 3 * k + 2] + (pc - lo) // 2
    return -1


@njit(cache=True, inline="always")
def _region(S, addr):
    b = S[L.LAST_REG]  # accesses cluster: try the last region first
    if S[b + R_LO] <= addr < S[b + R_HI]:
        return b
    o = S[L.O_REG]
    for k in range(S[L.N_REG]):
        b = o + k * RF
        if S[b + R_LO] <= addr < S[b + R_HI]:
            S[L.LAST_REG] = b
            return b
    return -1


@njit(cache=True)
def _cache_access(S, o, sets, ways, line, write_back, mark_dirty):
    """Look up a line; on a miss allocate it (LRU). Returns 1 on a hit, 0 on a miss, 2 on a miss that
    evicted a dirty line (its line number is left in WB_LINE)."""
    s = line % sets
    base = o + s * ways
    stamps = o + sets * ways
    dirty = stamps + sets * ways
    S[L.STAMP] += 1
    for w in range(ways):
        if S[base + w] == line:
            S[stamps + s * ways + w] = S[L.STAMP]
            if mark_dirty:
                S[dirty + s * ways + w] = 1
            return 1
    victim = 0
    oldest = S[stamps + s * ways]
    for w in range(1, ways):
        if S[stamps + s * ways + w] < oldest:
            oldest = S[stamps + s * ways + w]
            victim = w
    result = 0
    if write_back and S[dirty + s * ways + victim] == 1 and S[base + victim] >= 0:
        S[L.DC_WB] += 1
        S[L.WB_LINE] = S[base + victim]
        result = 2
    S[base + victim] = line
    S[stamps + s * ways + victim] = S[L.STAMP]
    S[dirty + s * ways + victim] = 1 if mark_dirty else 0
    return result


@njit(cache=True)
def _store_buffer(S, now, occupancy):
    """A write that goes to the bus waits only when all entries are still draining; entries drain in order."""
    o = S[L.O_SB]
    best = 0
    latest = S[o]
    for k in range(S[L.SB_N]):
        if S[o + k] < S[o + best]:
            best = k
        if S[o + k] > latest:
            latest = S[o + k]
    stall = 0
    if S[o + best] > now:
        stall = S[o + best] - now
    start = max(now + stall, latest)
    S[o + best] = start + occupancy
    return stall


@njit(cache=True)
def _fill(S, which, r, addr, line, now):
    """Start a line fill from region ``r`` (critical word first, then the other beats streaming, one
    fill at a time on the bus). Returns the stall until the critical word arrives."""
    start = max(now, S[L.BUS_FREE])
    crit_t = start + S[r + R_CRIT]
    sh = S[r + R_BEATSH]
    beats = (1 << S[L.LINE_SHIFT]) >> sh
    if beats < 1:
        beats = 1
    S[L.BUS_FREE] = crit_t + (beats - 1) * S[r + R_BEAT]
    f = L.FILL + which * FILL_FIELDS
    S[f] = line
    S[f + 1] = crit_t
    S[f + 2] = (addr & ((1 << S[L.LINE_SHIFT]) - 1)) >> sh
    S[f + 3] = S[r + R_BEAT]
    S[f + 4] = sh
    S[f + 5] = beats
    return crit_t - now


@njit(cache=True, inline="always")
def _streaming(S, which, line, addr, now):
    """Stall of a hit on a line whose fill is still streaming in: wait for the beat holding ``addr``."""
    f = L.FILL + which * FILL_FIELDS
    if S[f] != line:
        return 0
    beat = (addr & ((1 << S[L.LINE_SHIFT]) - 1)) >> S[f + 4]
    ready = S[f + 1] + ((beat - S[f + 2]) % S[f + 5]) * S[f + 3]
    return ready - now if ready > now else 0


@njit(cache=True)
def _writeback(S, now):
    """Charge a dirty line's write-back: it goes out through the store buffer and occupies the bus."""
    addr = S[L.WB_LINE] << S[L.LINE_SHIFT]
    v = _region(S, addr)
    if v < 0:
        return 0
    S[v + R_USED] += 1
    occ = S[v + R_WBACK]
    S[L.BUS_FREE] = max(S[L.BUS_FREE], now) + occ
    return _store_buffer(S, now, occ)


@njit(cache=True)
def _art(S, r, line, now, fetch):
    """The ART accelerator in front of flash on the ITCM path: a hit costs nothing; a miss reads one flash
    line (wait states + 1 cycles); with prefetch on, the next line is read while this one executes."""
    hit = 0
    if S[L.ART_ON] == 1:
        hit = _cache_access(S, S[L.O_ART], 1, S[L.ART_N], line, False, False)
    cost = 0
    if hit != 1:
        if S[L.ART_PF] == 1 and line == S[L.PF_LINE]:
            cost = S[L.PF_T] - now if S[L.PF_T] > now else 0
        else:
            start = max(now, S[L.FLASH_FREE])
            cost = start + S[r + R_READ] + 1 - now
            S[L.FLASH_FREE] = now + cost
    if fetch and S[L.ART_PF] == 1 and S[L.PF_LINE] != line + 1:
        S[L.PF_LINE] = line + 1
        S[L.PF_T] = max(now + cost, S[L.FLASH_FREE]) + S[r + R_READ] + 1
        S[L.FLASH_FREE] = S[L.PF_T]
    return cost


@njit(cache=True)
def _can_pair(prev, cur):
    fp_prev = prev == C_FPALU or prev == C_FPMAC or prev == C_FPDIV or prev == C_DP
    fp_cur = cur == C_FPALU or cur == C_FPMAC or cur == C_FPDIV or cur == C_DP
    if fp_prev and fp_cur:
        return False  # one FP pipe (jnk0le: two FP ops never pair)
    if prev == C_MUL and (cur == C_MUL or cur == C_STORE or cur == C_STM):
        return False  # one MAC pipe; MAC + store slips
    st_prev = prev == C_STORE or prev == C_FPSTORE
    st_cur = cur == C_STORE or cur == C_FPSTORE
    if st_prev and st_cur:
        return False  # one store pipe
    if prev == C_SHIFT and cur == C_SHIFT:
        return False  # one EX1 shifter path for shifted operands
    if prev == C_FPMAC and (cur == C_FPLOAD or cur == C_FPSTORE or cur == C_FPMOV):
        return False  # VFMA + VLDR/VSTR/VMOV do not pair (jnk0le, Arm community thread)
    return True


@njit(cache=True, inline="always")
def _step(S, d, ready, kind, clock, ifetch, mem, prev_issue, prev_nopair, prev_cls):
    """One instruction (decode row ``d``) through the in-order dual-issue rules against the scoreboard at
    ``ready``/``kind`` (offsets in S): the live one in instruction mode, a scratch one when a block is
    scheduled. Returns (clock after it, issue cycle, paired, stall, kind of the producer that stalled it,
    cycle its flags were set or -1). Shared by both modes: the rules exist once."""
    cls = S[d + D_CLS]
    flags = S[d + D_FLAGS]
    t0 = clock + ifetch
    dep = 0
    dep_kind = 0
    xt = S[L.O_XT]
    rk = S[d + D_RKIND]
    near = prev_issue - S[L.XT_MAX]  # a value ready by then cannot delay issue nor pairing
    for k in range(4):
        r = S[d + D_SRC0 + k]
        if r >= 0 and S[ready + r] > near:
            pk = S[kind + r]
            t = S[ready + r] + S[xt + ((rk >> (4 * k)) & 15) * NCLS + pk]
            if t > dep:
                dep = t
                dep_kind = pk
    single = (flags & F_SINGLE) != 0
    paired = False
    if cls == C_IT:
        issue = prev_issue
        paired = True
    elif (not single and prev_nopair == 0 and ifetch == 0 and dep <= prev_issue
          and S[L.DUAL] == 1 and _can_pair(prev_cls, cls)):
        issue = prev_issue
        paired = True
    else:
        issue = max(t0, dep)
    stall = 0 if paired else max(0, dep - t0)
    new_clock = max(clock, issue + S[d + D_COST]) + mem
    done = issue + S[d + D_LAT] + (mem if (flags & 1) != 0 else 0)
    flags_t = -1
    for k in range(2):
        r = S[d + D_DST0 + k]
        if r >= 0:
            S[ready + r] = done
            S[kind + r] = cls
            if r == FLAGS_REG:
                flags_t = issue
    lo = S[d + D_MASKLO]
    hi = S[d + D_MASKHI]
    if lo != 0 or hi != 0:
        for b in range(32):
            if (lo >> b) & 1:
                S[ready + b] = done
                S[kind + b] = cls
            if (hi >> b) & 1:
                S[ready + 32 + b] = done
                S[kind + 32 + b] = cls
        if (lo >> FLAGS_REG) & 1:
            flags_t = issue
    wb = S[d + D_WB]
    if wb >= 0:  # the address write-back comes from the AGU: usable by the next instruction
        S[ready + wb] = issue + 1
        S[kind + wb] = C_ALUE
    return new_clock, issue, paired, stall, dep_kind, flags_t


@njit(cache=True, inline="always")
def _branch(S, d, pc, next_pc, issue, flags_t):
    """A branch's penalty now that the next PC tells its outcome: the BTAC (dynamic) or the static rule
    tells the prediction; the BTAC learns the outcome. Shared by both modes."""
    flags = S[d + D_FLAGS]
    branch_pen = 0
    size = S[d + D_SIZE]
    taken = next_pc != pc + size
    e = S[L.O_BTAC] + BTAC_FIELDS * ((pc >> 1) % S[L.BTAC_N])
    hit = S[e] == pc
    miss = S[L.P_MISPRED]
    if issue - flags_t >= S[L.EARLY_FLAGS]:
        miss = S[L.P_MISPRED_EARLY]  # flags forwarded early: the branch resolves sooner
    if flags & F_UNCOND:
        if not hit:
            branch_pen = S[L.P_DIRECT]
        S[e] = pc
        S[e + 1] = next_pc
        S[e + 2] = S[L.BTAC_MAX]
    elif flags & F_INDIRECT:
        if not (hit and S[e + 1] == next_pc):
            branch_pen = miss
        if taken:
            S[e] = pc
            S[e + 1] = next_pc
            S[e + 2] = S[L.BTAC_MAX]
    elif flags & F_COND:
        half = (S[L.BTAC_MAX] + 1) // 2
        if hit:  # dynamic: the entry's saturating counter
            predicted_taken = S[e + 2] >= half
        else:  # static fallback: backward branches taken, forward ones not
            predicted_taken = 0 <= S[d + D_TARGET] < pc
        if predicted_taken != taken:
            branch_pen = miss
        elif taken and not hit:
            branch_pen = S[L.P_DIRECT]  # predicted by the static rule: target from decode, no BTAC
        if hit:
            if taken:
                S[e + 1] = next_pc
                if S[e + 2] < S[L.BTAC_MAX]:
                    S[e + 2] += 1
            elif S[e + 2] > 0:
                S[e + 2] -= 1
        else:  # allocate with the outcome seen, saturated: one surprise does not flip it
            S[e] = pc
            S[e + 1] = next_pc
            S[e + 2] = S[L.BTAC_MAX] if taken else 0
    return branch_pen, taken


@njit(cache=True, inline="always")
def _stall_stats(S, st, stall, dep_kind):
    if stall > 0:
        if dep_kind == C_LOAD or dep_kind == C_LOADN or dep_kind == C_FPLOAD or dep_kind == C_LDM \
                or dep_kind == C_FPLDM:
            if st >= 0:
                S[st + S_LOAD] += stall
            S[L.ST_LOAD] += stall
        elif dep_kind == C_FPALU or dep_kind == C_FPMAC or dep_kind == C_FPDIV or dep_kind == C_DP \
                or dep_kind == C_FPMOV:
            if st >= 0:
                S[st + S_FP] += stall
            S[L.ST_FP] += stall
        else:
            if st >= 0:
                S[st + S_DEP] += stall
            S[L.ST_DEP] += stall


@njit(cache=True, inline="always")
def _finalize(S, next_pc):
    """Instruction mode: charge the pending instruction now that the next PC is known."""
    idx = S[L.PEND_IDX]
    if idx < 0:
        return
    d = S[L.O_DEC] + idx * NF
    flags = S[d + D_FLAGS]
    clock = S[L.CLOCK]
    ifetch = S[L.PEND_IFETCH]
    mem = S[L.PEND_MEM]
    new_clock, issue, paired, stall, dep_kind, flags_t = _step(
        S, d, S[L.O_READY], S[L.O_KIND], clock, ifetch, mem, S[L.PREV_ISSUE], S[L.PREV_NOPAIR], S[L.PREV_CLS])
    if flags_t >= 0:
        S[L.FLAGS_T] = flags_t
    branch_pen = 0
    nopair_next = (flags & F_SINGLE) != 0
    if flags & F_BRANCH:
        pc = S[L.PEND_PC]
        branch_pen, taken = _branch(S, d, pc, next_pc, issue, S[L.FLAGS_T])
        if branch_pen > 0:
            nopair_next = True
        new_clock += branch_pen
        if flags & F_CALL and taken:
            _event(S, new_clock, 0, next_pc)
        elif flags & F_RETURN and taken:
            _event(S, new_clock, 1, next_pc)
        elif flags & F_TAIL and taken:
            _event(S, new_clock, 2, next_pc)
    cycles = new_clock - clock
    S[L.CLOCK] = new_clock
    S[L.PREV_ISSUE] = issue
    S[L.PREV_NOPAIR] = 1 if (nopair_next or paired) else 0
    S[L.PREV_CLS] = S[d + D_CLS]
    st = S[L.O_STATS] + idx * NS
    S[st + S_COUNT] += 1
    S[st + S_CYCLES] += cycles
    S[st + S_IFETCH] += ifetch
    S[st + S_DMEM] += mem
    S[st + S_BRANCH] += branch_pen
    S[st + S_DCMISS] += S[L.PEND_DMISS]
    S[st + S_DCACC] += S[L.PEND_DACC]
    _stall_stats(S, st, stall, dep_kind)
    S[L.ST_BRANCH] += branch_pen
    S[L.ST_IFETCH] += ifetch
    S[L.ST_DMEM] += mem
    S[L.PEND_IDX] = -1


@njit(cache=True)
def _event(S, cycle, kind, pc):
    n = S[L.EV_N]
    if n < S[L.EV_CAP]:
        o = S[L.O_EV] + 3 * n
        S[o] = cycle
        S[o + 1] = kind
        S[o + 2] = pc
    S[L.EV_N] = n + 1  # counts past the buffer, so the result can say how many were lost


@njit(cache=True, inline="always")
def _fetch(S, pc):
    """I-side cost of fetching ``pc``: an I-cache lookup per new line, the ART on the F7's ITCM flash, or,
    with the cache off or the region uncacheable, one bus access per fetch granule."""
    if (pc >> S[L.FETCH_SHIFT]) == S[L.LAST_WORD]:  # still inside the word the prefetch unit already has
        return 0
    S[L.LAST_WORD] = pc >> S[L.FETCH_SHIFT]
    r = _region(S, pc)
    if r < 0 or S[r + R_KIND] == 0:
        return 0
    now = S[L.CLOCK]
    if S[r + R_KIND] == 2:
        line = pc >> S[L.ART_SHIFT]
        if line == S[L.LAST_FETCH]:
            return 0
        S[L.LAST_FETCH] = line
        S[r + R_USED] += 1
        return _art(S, r, line, now, True)
    if S[L.IC_ON] == 1 and S[r + R_POLICY] != 0:
        line = pc >> S[L.LINE_SHIFT]
        if line == S[L.LAST_FETCH]:
            return _streaming(S, 0, line, pc, now)
        S[L.LAST_FETCH] = line
        S[L.IC_ACC] += 1
        if _cache_access(S, S[L.O_IC], S[L.IC_SETS], S[L.IC_WAYS], line, False, False) == 1:
            return _streaming(S, 0, line, pc, now)
        S[L.IC_MISS] += 1
        S[r + R_USED] += 1
        idx = S[L.PEND_IDX]
        if idx >= 0:
            S[S[L.O_STATS] + idx * NS + S_ICMISS] += 1
        return _fill(S, 0, r, pc, line, now)
    granule = pc >> S[r + R_GRAN]
    if granule == S[L.LAST_FETCH]:
        return 0
    S[L.LAST_FETCH] = granule
    S[r + R_USED] += 1
    return S[r + R_IREAD]


@njit(cache=True)
def _schedule_block(S, e, pc0, size, stop_pc, var):
    """Schedule the block at ``pc0`` (``size`` bytes) once from a clean scoreboard with the per-instruction
    rules (``_step``) and store its summary in record ``e``; or, with ``stop_pc`` >= 0, return the clean
    clock just before the instruction at ``stop_pc`` (for CYCCNT and ITM timestamps inside a block).
    ``var`` 1: the first instruction dual-issues beside the one before the block (at offset -1)."""
    sr = S[L.O_SREADY]
    sk = S[L.O_SKIND]
    for r in range(64):
        S[sr + r] = NEVER
        S[sk + r] = 0
    clock = ORG  # offsets are taken from ORG: a positive origin keeps _step's comparisons as in a real run
    prev_issue = ORG - 1
    prev_nopair = 1 - var  # variant 1: the slot beside the previous instruction is free ...
    prev_cls = C_ALU  # ... and an ALU instruction pairs with any class
    flags_t = NOFL
    n = 0
    n_in = 0
    n_mem = 0
    more = -1
    first = -1
    last = -1
    last_pc = -1
    last_issue = ORG
    free = 1
    it = 0
    pc = pc0
    end = pc0 + size
    # code in an uncached bus region (no I-cache can hold it): each new fetch granule costs a bus read, a
    # fixed figure, so the schedule charges it to the instruction that starts the granule, as instruction
    # mode does; only the block's first granule is left to run time (the last block may have fetched it)
    rg = _region(S, pc0)
    gsh = 62
    iread = 0
    n_gran = 0
    if rg >= 0 and rg == _region(S, end - 1) and S[rg + R_KIND] == 1 and S[rg + R_POLICY] == 0:
        gsh = S[rg + R_GRAN]
        iread = S[rg + R_IREAD]
    g_prev = pc0 >> gsh
    while pc < end:
        if pc == stop_pc:
            return clock - ORG
        idx = _index(S, pc)
        n += 1
        if idx < 0:  # outside the decoded code: untimed, as in instruction mode
            it = 1  # (and its memory accesses clear the IT state, as in instruction mode)
            pc += 2
            continue
        d = S[L.O_DEC] + idx * NF
        flags = S[d + D_FLAGS]
        if flags & F_IN_IT:
            it = 1
        if stop_pc < 0 and S[d + D_BYTES] != 0:  # its accesses happen at the clock before it (plus penalties)
            if n_mem < MAXMEM:
                o = e + B_MEM + 3 * n_mem
                S[o] = idx
                S[o + 1] = S[d + D_BYTES]
                S[o + 2] = clock - ORG
                n_mem += 1
            else:
                if more < 0:
                    more = pc
                S[S[L.O_BOFF] + 2 * idx + var] = clock - ORG
                S[S[L.O_BOWN] + idx] = pc0
        rk = S[d + D_RKIND]
        k0 = n_in
        if stop_pc < 0:
            for k in range(4):  # read before written in this block: a live-in (its first reader only)
                r = S[d + D_SRC0 + k]
                if r >= 0 and S[sr + r] == NEVER and S[sk + r] != -2:
                    o = e + B_IN + 3 * n_in
                    S[o] = r
                    S[o + 1] = (rk >> (4 * k)) & 15
                    S[sk + r] = -2
                    n_in += 1
        ifetch = 0
        if (pc >> gsh) != g_prev:
            g_prev = pc >> gsh
            ifetch = iread
            n_gran += 1
        clock, issue, paired, stall, dep_kind, ft = _step(S, d, sr, sk, clock, ifetch, 0, prev_issue,
                                                          prev_nopair, prev_cls)
        for j in range(k0, n_in):
            S[e + B_IN + 3 * j + 2] = issue - ORG
        if first < 0:
            first = idx
            if (flags & F_SINGLE) != 0 or S[d + D_CLS] == C_IT:
                free = 0
        if ft >= 0:
            flags_t = ft - ORG
        prev_issue = issue
        prev_nopair = 1 if ((flags & F_SINGLE) != 0 or paired) else 0
        prev_cls = S[d + D_CLS]
        last = idx
        last_pc = pc
        last_issue = issue
        pc += max(S[d + D_SIZE], 2)
    if stop_pc >= 0:
        return clock - ORG
    S[e + B_TAG] = pc0
    S[e + B_SIZE] = size
    S[e + B_N] = n
    S[e + B_BASE] = clock - ORG
    S[e + B_FIRST] = first
    S[e + B_LAST] = last
    S[e + B_LASTPC] = last_pc
    S[e + B_LISSUE] = last_issue - ORG
    S[e + B_FLAGS_T] = flags_t
    S[e + B_FREE] = free if first >= 0 else 0
    S[e + B_NOPAIR] = prev_nopair
    S[e + B_LCLS] = prev_cls
    S[e + B_IT] = it
    S[e + B_COUNT] = 0
    S[e + B_CYC] = 0
    S[e + B_NIN] = n_in
    S[e + B_NMEM] = n_mem
    S[e + B_MORE] = more
    S[e + B_FCLS] = S[S[L.O_DEC] + first * NF + D_CLS] if first >= 0 else C_ALU
    n_out = 0
    for r in range(64):
        if S[sr + r] != NEVER:
            o = e + B_OUT + 3 * n_out
            S[o] = r
            S[o + 1] = S[sr + r] - ORG
            S[o + 2] = S[sk + r]
            n_out += 1
    S[e + B_NOUT] = n_out
    r0 = _region(S, pc0)
    r1 = _region(S, end - 1)
    S[e + B_TCM] = 1 if (r0 >= 0 and r0 == r1 and S[r0 + R_KIND] == 0) else 0
    # the region when the block lies in one cached by the I-cache (its fetches can skip the lookups)
    S[e + B_REG] = r0 if (r0 >= 0 and r0 == r1 and S[r0 + R_KIND] == 1 and S[r0 + R_POLICY] != 0) else -1
    S[e + B_VAR] = var
    S[e + B_GRAN] = rg if iread > 0 else -1
    S[e + B_NGRAN] = n_gran
    S[e + B_LASTG] = g_prev
    return clock - ORG


@njit(cache=True)
def _flush_block(S, e):
    """Spread a block entry's executions and cycles over its instructions' statistics (cycles evenly, the
    remainder on the last): block mode's per-instruction attribution."""
    count = S[e + B_COUNT]
    if count == 0 or S[e + B_TAG] < 0:
        return
    cyc = S[e + B_CYC]
    n = S[e + B_N]
    share = cyc // n if n > 0 else 0
    pc = S[e + B_TAG]
    end = pc + S[e + B_SIZE]
    left = cyc
    while pc < end:
        idx = _index(S, pc)
        if idx < 0:
            pc += 2
            continue
        d = S[L.O_DEC] + idx * NF
        st = S[L.O_STATS] + idx * NS
        S[st + S_COUNT] += count
        pc += max(S[d + D_SIZE], 2)
        c = left if pc >= end else share
        S[st + S_CYCLES] += c
        left -= c
    S[e + B_COUNT] = 0
    S[e + B_CYC] = 0


@njit(cache=True)
def _replay(S, e):
    """A block whose accesses paid penalties (misses, busy store buffer, bus reads), run through the
    per-instruction rules (``_step``) on the live scoreboard from the clock at its hook, each instruction
    with the penalties its own accesses paid: what instruction mode computes, the memory stalls overlapping
    the block's other waits. Returns (clock after it, issue cycle of its last instruction, no pairing
    after it)."""
    pc = S[e + B_TAG]
    end = pc + S[e + B_SIZE]
    clock = S[L.BLK_CLK0]
    ifetch = S[L.BLK_FETCH]
    prev_issue = S[L.PREV_ISSUE]
    prev_nopair = S[L.PREV_NOPAIR]
    prev_cls = S[L.PREV_CLS]
    rg = S[e + B_GRAN]
    gsh = S[rg + R_GRAN] if rg >= 0 else 62
    iread = S[rg + R_IREAD] if rg >= 0 else 0
    g_prev = pc >> gsh
    lost = S[L.PMEM_LOST]
    S[L.PMEM_LOST] = 0
    pm = S[L.O_PMEM]
    while pc < end:
        idx = _index(S, pc)
        if idx < 0:
            pc += 2
            continue
        d = S[L.O_DEC] + idx * NF
        f = ifetch
        ifetch = 0
        if (pc >> gsh) != g_prev:
            g_prev = pc >> gsh
            f += iread
        mem = S[pm + idx]
        S[pm + idx] = 0
        pc += max(S[d + D_SIZE], 2)
        if pc >= end:
            mem += lost  # penalties of accesses not matched to an instruction: on the last one
        clock, issue, paired, stall, dep_kind, ft = _step(S, d, S[L.O_READY], S[L.O_KIND], clock, f, mem,
                                                          prev_issue, prev_nopair, prev_cls)
        if ft >= 0:
            S[L.FLAGS_T] = ft
        prev_issue = issue
        prev_nopair = 1 if ((S[d + D_FLAGS] & F_SINGLE) != 0 or paired) else 0
        prev_cls = S[d + D_CLS]
    return clock, prev_issue, prev_nopair


@njit(cache=True)
def _block_end(S, next_pc):
    """Finish the block that ran: its base cycles and memory penalties, the branch predictor's verdict on
    its last instruction now that the next block's address is known, and its live-outs' ready times."""
    e = S[L.BLK_E]
    if e < 0:
        return
    v = S[L.BLK_V]
    start = S[L.BLK_START]
    mem = S[L.PEND_MEM]
    if mem > 0:  # penalties paid: the block again, instruction by instruction, each with its own penalty
        end, last_issue, nopair = _replay(S, e)
    else:
        end = start + S[v + B_BASE]
        last_issue = start + S[v + B_LISSUE]
        nopair = S[v + B_NOPAIR]
        if S[v + B_FLAGS_T] != NOFL:
            S[L.FLAGS_T] = start + S[v + B_FLAGS_T]
    last = S[e + B_LAST]
    pen = 0
    if last >= 0:
        d = S[L.O_DEC] + last * NF
        flags = S[d + D_FLAGS]
        if flags & F_BRANCH:
            pen, taken = _branch(S, d, S[e + B_LASTPC], next_pc, last_issue, S[L.FLAGS_T])
            end += pen
            if pen > 0:
                nopair = 1
            if flags & F_CALL and taken:
                _event(S, end, 0, next_pc)
            elif flags & F_RETURN and taken:
                _event(S, end, 1, next_pc)
    if mem == 0:
        ready = S[L.O_READY]
        kind = S[L.O_KIND]
        for k in range(S[v + B_NOUT]):
            o = v + B_OUT + 3 * k
            r = S[o]
            S[ready + r] = start + S[o + 1]
            S[kind + r] = S[o + 2]
    S[L.PREV_ISSUE] = last_issue
    S[L.PREV_NOPAIR] = nopair
    S[L.PREV_CLS] = S[e + B_LCLS]
    S[L.CLOCK] = end
    S[e + B_COUNT] += 1
    S[e + B_CYC] += end - S[L.BLK_CLK0]
    S[L.ST_BRANCH] += pen
    S[L.ST_DMEM] += mem
    S[L.PEND_MEM] = 0
    S[L.BLK_E] = -1


@njit(cache=True)
def _live_in_stall(S, e, start):
    """Cycles the block waits for its live-ins beyond its clean schedule, and the producing class."""
    ready = S[L.O_READY]
    kind = S[L.O_KIND]
    xt = S[L.O_XT]
    stall = 0
    dep_kind = 0
    for k in range(S[e + B_NIN]):
        o = e + B_IN + 3 * k
        r = S[o]
        pk = S[kind + r]
        w = S[ready + r] + S[xt + S[o + 1] * NCLS + pk] - (start + S[o + 2])
        if w > stall:
            stall = w
            dep_kind = pk
    return stall, dep_kind


@njit(cache=True)
def _block_start(S, pc, size):
    """Charge a block as it starts: its fetch lines, the stall its live-ins impose, and whether its first
    instruction pairs with the previous block's last (approximated: only when nothing stalls)."""
    e = S[L.O_BT] + 2 * BF * ((pc >> 1) & (S[L.BT_N] - 1))
    if S[e + B_TAG] != pc or S[e + B_SIZE] != size:
        _flush_block(S, e)
        _schedule_block(S, e, pc, size, -1, 0)
        _schedule_block(S, e + BF, pc, size, -1, 1)
    clock = S[L.CLOCK]
    S[L.BLK_CLK0] = clock
    S[L.PEND_IDX] = -1
    fetch = 0
    rg = S[e + B_GRAN]
    if rg >= 0:  # uncached code: the first granule here (unless just fetched), the others in the schedule
        g = pc >> S[rg + R_GRAN]
        if g != S[L.LAST_FETCH] and (pc >> S[L.FETCH_SHIFT]) != S[L.LAST_WORD]:
            fetch = S[rg + R_IREAD]
            S[rg + R_USED] += 1
        S[rg + R_USED] += S[e + B_NGRAN]
        S[L.LAST_FETCH] = S[e + B_LASTG]
        S[L.LAST_WORD] = -1
    elif S[e + B_TCM] == 0:  # I-side: each fetch word of the block in order, the front end waiting on each
        fs = S[L.FETCH_SHIFT]
        ls = S[L.LINE_SHIFT]
        cached = S[e + B_REG] >= 0 and S[L.IC_ON] == 1
        f = L.FILL
        a = pc
        while a < pc + size:
            w = a >> fs
            if (cached and (a >> ls) == S[L.LAST_FETCH]
                    and (S[f] != S[L.LAST_FETCH] or clock + fetch >= S[f + 1] + (S[f + 5] - 1) * S[f + 3])):
                S[L.LAST_WORD] = w  # in the I-cache line just used, fully arrived: what _fetch gives, at once
            else:
                S[L.CLOCK] = clock + fetch
                fetch += _fetch(S, a)
            a = (w + 1) << fs
        S[L.CLOCK] = clock
    start = clock + fetch
    v = e
    stall, dep_kind = _live_in_stall(S, e, start)
    if (fetch == 0 and S[e + B_FREE] == 1 and S[L.PREV_NOPAIR] == 0 and S[L.DUAL] == 1
            and _can_pair(S[L.PREV_CLS], S[e + B_FCLS])):
        # the first instruction may dual-issue beside the previous block's last (issued at clock - 1):
        # taken when none of the block's live-ins then makes it wait (else it issues alone)
        s2, k2 = _live_in_stall(S, e + BF, clock)
        if s2 == 0:
            v = e + BF
            stall = 0
    start += stall
    _stall_stats(S, -1, stall, dep_kind)
    S[L.ST_IFETCH] += fetch
    S[L.BLK_FETCH] = fetch
    S[L.BLK_START] = start
    S[L.CLOCK] = start  # during the block: its start (memory hooks and CYCCNT add their offsets)
    S[L.PEND_MEM] = 0
    S[L.PEND_DMISS] = 0
    S[L.PEND_DACC] = 0
    S[L.BLK_E] = e
    S[L.BLK_V] = v
    S[L.ACC_K] = 0
    S[L.ACC_LEFT] = abs(S[v + B_MEM + 1]) if S[v + B_NMEM] > 0 else 0
    S[L.ACC_PC] = -1
    S[L.NINSTR] += S[e + B_N]
    S[S[L.O_RING] + S[L.RING_POS] % RING] = pc
    S[L.RING_POS] += 1


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def block_hook(uc, address, size, user):
    """Block mode (UC_HOOK_BLOCK): finish the previous block, charge this one, enforce the budget."""
    S = carray(user, (VIEW,), np.int64)
    pc = np.int64(address)
    _block_end(S, pc)
    _block_start(S, pc, np.int64(size))
    if S[L.NINSTR] > S[L.BUDGET]:
        _uc_emu_stop(uc)


@njit(cache=True)
def retire(S, next_pc):
    """Charge the instruction (instruction mode) or block (block mode) that ran last, now that the next PC
    is known: called before an exception's entry or exit cycles are added, so those cycles are not lost to
    the block's own clock and its call or return event comes before the exception's."""
    if S[L.BLOCK] != 0:
        _block_end(S, next_pc)
    elif S[L.PEND_IDX] >= 0:
        _finalize(S, next_pc)


def block_finish(S: np.ndarray) -> None:
    """After a block-mode run: finish the last block and spread every entry over the instruction stats."""
    _block_end(S, -1)
    o = int(S[L.O_BT])
    for k in range(int(S[L.BT_N])):
        _flush_block(S, o + 2 * BF * k)


@njit(cache=True)
def _now(S, uc):
    """The clock as the instruction making a PPB access sees it: in block mode, the block's start plus the
    clean schedule up to that instruction (its PC from unicorn) plus the block's memory penalties so far."""
    if S[L.BLOCK] == 0 or S[L.BLK_E] < 0:
        return S[L.CLOCK]
    v = S[L.BLK_V]
    return (S[L.CLOCK] + _schedule_block(S, v, S[v + B_TAG], S[v + B_SIZE], S[L.PPB_PC], S[v + B_VAR])
            + S[L.PEND_MEM])


@njit(cache=True)
def _access_beyond(S, v, write, size):
    """_block_access past the block's listed memory instructions: walk on by address from the cursor."""
    tag = S[v + B_TAG]
    end = tag + S[v + B_SIZE]
    pc = S[L.ACC_PC]
    left = S[L.ACC_LEFT]
    if pc < 0:  # the first access past the list: start at the first unlisted memory instruction
        pc = S[v + B_MORE]
        left = -1
    while pc < end:
        idx = _index(S, pc)
        if idx < 0:
            pc += 2
            left = -1
            continue
        d = S[L.O_DEC] + idx * NF
        b = S[d + D_BYTES]
        if left < 0:
            left = abs(b)
        if left > 0 and (b < 0) == write:
            S[L.ACC_PC] = pc
            S[L.ACC_LEFT] = left - size
            if S[S[L.O_BOWN] + idx] == tag:
                return idx, S[S[L.O_BOFF] + 2 * idx + S[v + B_VAR]]
            return -1, 0  # another block overlapping this one was scheduled since: untimed offset
        pc += max(S[d + D_SIZE], 2)
        left = -1
    S[L.ACC_PC] = end
    return -1, 0


@njit(cache=True, inline="always")
def _block_access(S, write, size):
    """Block mode: the running block's memory instruction that made this access (decode index, or -1) and
    its clean offset in the block. unicorn 2.1.4 reports the block's first PC for most accesses to RAM, so
    the accesses are counted instead: in program order, each memory instruction takes the accesses of its
    direction until its bytes are moved. An access the hooks do not see (TCM, an IT-skipped instruction)
    shifts the count by one instruction, timing later accesses at an earlier instruction's offset."""
    v = S[L.BLK_V]
    if v < 0:
        return -1, 0
    n = S[v + B_NMEM]
    k = S[L.ACC_K]
    left = S[L.ACC_LEFT]
    while k < n:
        o = v + B_MEM + 3 * k
        if left > 0 and (S[o + 1] < 0) == write:
            S[L.ACC_K] = k
            S[L.ACC_LEFT] = left - size
            return S[o], S[o + 2]
        k += 1
        if k < n:
            left = abs(S[o + 4])
    S[L.ACC_K] = n  # the list is used up (ACC_LEFT now belongs to _access_beyond's cursor)
    if S[v + B_MORE] >= 0:
        return _access_beyond(S, v, write, size)
    return -1, 0


@cfunc(types.void(types.voidptr, types.int32, types.uint64, types.int32, types.int64, types.voidptr), cache=True)
def ppb_pc_hook(uc, access, address, size, value, user):
    """Block mode, on the DWT and ITM registers only: the PC unicorn reports for the access (an MMIO
    callback sees a stale one); when it is the block's start, the timestamp is the block's start."""
    S = carray(user, (VIEW,), np.int64)
    clear_it_state(uc)  # the restore may leave stale IT bits, as for any hooked access (native.py)
    S[L.PPB_PC] = _uc_reg_read(uc, UC_ARM_REG_PC)
    _block_access(S, access == 17, size)  # keeps mem_hook's count of the block's accesses in step


@njit(cache=True)
def _skipped(S, a, pc):
    """Instruction mode: charge the instructions of an IT block whose condition failed (unicorn runs no
    code hook for them) between ``a`` and ``pc``. An in-order core schedules a conditional instruction as
    if it passed (Arm DDI 0344 16.4.5, Cortex-A8; the M7 is assumed alike [ESTIMATE]), and block mode
    charges them that way: both modes agree. They are not counted as executed instructions."""
    k = 0
    while a < pc and k < 4:
        idx = _index(S, a)
        if idx < 0:
            return
        d = S[L.O_DEC] + idx * NF
        if (S[d + D_FLAGS] & F_IN_IT) == 0:
            return
        S[L.PEND_IDX] = idx
        S[L.PEND_PC] = a
        S[L.PEND_MEM] = 0
        S[L.PEND_DMISS] = 0
        S[L.PEND_DACC] = 0
        S[L.PEND_IFETCH] = _fetch(S, a)
        a += max(S[d + D_SIZE], 2)
        _finalize(S, a)
        S[S[L.O_STATS] + idx * NS + S_COUNT] -= 1  # charged, not executed
        k += 1


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def code_hook(uc, address, size, user):
    S = carray(user, (VIEW,), np.int64)
    pc = np.int64(address)
    gap = -1
    p = S[L.PEND_IDX]
    if p >= 0:
        d = S[L.O_DEC] + p * NF
        if (S[d + D_FLAGS] & F_BRANCH) == 0 and S[L.PEND_PC] + max(S[d + D_SIZE], 2) != pc:
            gap = S[L.PEND_PC] + max(S[d + D_SIZE], 2)
    _finalize(S, pc)
    if gap >= 0:
        _skipped(S, gap, pc)
    idx = _index(S, pc)
    S[L.PEND_IDX] = idx
    S[L.PEND_PC] = pc
    S[L.PEND_MEM] = 0
    S[L.PEND_DMISS] = 0
    S[L.PEND_DACC] = 0
    S[L.NINSTR] += 1
    S[S[L.O_RING] + S[L.RING_POS] % RING] = pc
    S[L.RING_POS] += 1
    S[L.PEND_IFETCH] = _fetch(S, pc) if idx >= 0 else 0


@njit(cache=True, inline="always")
def _dc_mru(S, line):
    """Remember the D-cache line just used (now resident and the most recent) and its dirty flag's slot."""
    sets = S[L.DC_SETS]
    ways = S[L.DC_WAYS]
    s = line % sets
    base = S[L.O_DC] + s * ways
    for w in range(ways):
        if S[base + w] == line:
            S[L.DC_MRU] = line
            S[L.DC_MRU_DIRTY] = S[L.O_DC] + 2 * sets * ways + s * ways + w
            return


@cfunc(types.void(types.voidptr, types.int32, types.uint64, types.int32, types.int64, types.voidptr), cache=True)
def mem_hook(uc, access, address, size, value, user):
    S = carray(user, (VIEW,), np.int64)
    idx = -1
    write = access == 17  # UC_MEM_WRITE (UC_MEM_READ is 16)
    at = 0  # block mode: the accessing instruction's offset in its block's schedule
    if S[L.BLOCK] == 1:
        idx, at = _block_access(S, write, size)
        v = S[L.BLK_V]
        if v < 0 or S[v + B_IT] == 1:
            # the block holds an instruction in an IT block: clear on every hooked access (always safe, see
            # native.py); the access count may be off by an instruction (_block_access)
            clear_it_state(uc)
    else:
        idx = S[L.PEND_IDX]
        if idx < 0 or (S[S[L.O_DEC] + idx * NF + D_FLAGS] & F_IN_IT) != 0:
            clear_it_state(uc)  # unicorn leaves stale IT bits after a hooked access in an IT block: see native.py
    addr = np.int64(address)
    if addr >= PPB_BASE:
        return
    r = _region(S, addr)
    if r < 0 or S[r + R_KIND] == 0:
        return
    policy = S[r + R_POLICY]
    line = addr >> S[L.LINE_SHIFT]
    if (line == S[L.DC_MRU] and S[L.DC_ON] == 1 and policy != 0 and S[r + R_KIND] == 1
            and not (write and (policy == 1 or size < 4))):
        # a hit on the line the D-cache used last, with no fill still streaming into it: no penalty, and
        # the LRU order cannot change (that line is already the most recent): only the counts and the
        # dirty bit, exactly what the full path below would do
        f = L.FILL + FILL_FIELDS
        if S[f] != line or S[L.CLOCK] >= S[f + 1] + (S[f + 5] - 1) * S[f + 3]:
            S[L.DC_ACC] += 1
            S[L.PEND_DACC] += 1
            if write:
                S[S[L.DC_MRU_DIRTY]] = 1
            return
    mine = S[L.BLOCK] == 1 and idx >= 0  # block mode: the access belongs to an instruction of the running block
    now = S[L.CLOCK] + at + S[L.PEND_MEM]
    pen = 0
    if S[r + R_KIND] == 2 and not write:  # flash behind the ART (data reads share it) [UNCERTAIN]
        S[r + R_USED] += 1
        pen = _art(S, r, addr >> S[L.ART_SHIFT], now, False)
    elif S[L.DC_ON] == 1 and policy != 0:
        S[L.DC_ACC] += 1
        S[L.PEND_DACC] += 1
        if write and policy == 1:  # write-through: no allocation on a miss, the store goes to the bus
            S[r + R_USED] += 1
            pen = _store_buffer(S, now, S[r + R_WRITE])
        else:
            hit = _cache_access(S, S[L.O_DC], S[L.DC_SETS], S[L.DC_WAYS], line, True, write)
            _dc_mru(S, line)
            if hit == 1:
                pen = _streaming(S, 1, line, addr, now)
                if write and size < 4:  # a byte/half store is a read-modify-write in the store buffer
                    pen += _store_buffer(S, now + pen, S[L.NARROW_ST])
            else:
                S[L.DC_MISS] += 1
                S[L.PEND_DMISS] += 1
                S[r + R_USED] += 1
                crit = _fill(S, 1, r, addr, line, now)
                if write:  # the store merges into the linefill buffer: it waits only for a store-buffer entry
                    pen = _store_buffer(S, now, crit)
                else:
                    pen = crit
                if hit == 2:
                    pen += _writeback(S, now + pen)
    elif write:
        S[r + R_USED] += 1
        pen = _store_buffer(S, now, S[r + R_WRITE])
    else:
        S[r + R_USED] += 1
        pen = S[r + R_READ]
    S[L.PEND_MEM] += pen
    if S[L.BLOCK] == 1 and pen > 0:  # block mode replays a block that paid penalties: remember whose
        if mine:
            S[S[L.O_PMEM] + idx] += pen
        else:
            S[L.PMEM_LOST] += pen


@cfunc(types.uint64(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def ppb_read(uc, offset, size, user):
    """Reads of 0xE0000000..: DWT CYCCNT is the simulated clock; ITM ports are always ready;
    CCSIDR describes the D-cache; everything else reads back what was written."""
    S = carray(user, (VIEW,), np.int64)
    off = np.int64(offset)
    if off == 0x1004:
        return np.uint64((_now(S, uc) - S[L.CYC_BASE]) & 0xFFFFFFFF)
    if off < 0x80:
        return np.uint64(1)
    if off == 0xED80:  # CCSIDR: NumSets-1 [27:13], Associativity-1 [12:3], LineSize = log2(words) - 2
        return np.uint64(((S[L.DC_SETS] - 1) << 13) | ((S[L.DC_WAYS] - 1) << 3) | max(S[L.LINE_SHIFT] - 4, 0))
    if off < PPB_WORDS * 4:
        return np.uint64(S[S[L.O_PPB] + (off >> 2)] & 0xFFFFFFFF)
    return np.uint64(0)


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.uint64, types.voidptr), cache=True)
def ppb_write(uc, offset, size, value, user):
    S = carray(user, (VIEW,), np.int64)
    off = np.int64(offset)
    v = np.int64(value)
    if off < 0x80:  # ITM stimulus ports: a trace probe would see (cycle, port, value)
        n = S[L.ITM_N]
        if n < S[L.ITM_CAP]:
            o = S[L.O_ITM] + ITM_FIELDS * n
            S[o] = _now(S, uc)
            S[o + 1] = off >> 2
            S[o + 2] = v
            S[o + 3] = S[L.IC_MISS]  # running totals: misses per layer come from the differences
            S[o + 4] = S[L.DC_MISS]
            S[o + 5] = S[L.NINSTR]
            S[o + 6] = S[L.ST_LOAD]
            S[o + 7] = S[L.ST_FP]
            S[o + 8] = S[L.ST_DEP]
            S[o + 9] = S[L.ST_BRANCH]
            S[o + 10] = S[L.ST_IFETCH]
            S[o + 11] = S[L.ST_DMEM]
        S[L.ITM_N] = n + 1  # counts past the buffer, so the result can say how many were lost
        return
    if off == 0x1004:
        S[L.CYC_BASE] = _now(S, uc) - v
        return
    if off == 0xED14:  # SCB->CCR: IC bit 17, DC bit 16 switch the cache models (unless forced)
        ic = (v >> 17) & 1 if S[L.IC_FORCE] < 0 else S[L.IC_FORCE]
        dc = (v >> 16) & 1 if S[L.DC_FORCE] < 0 else S[L.DC_FORCE]
        S[L.IC_ON] = ic if S[L.IC_SETS] > 0 else 0
        S[L.DC_ON] = dc if S[L.DC_SETS] > 0 else 0
        S[L.DC_MRU] = -1
        S[L.LAST_FETCH] = -1
        S[L.LAST_WORD] = -1
    elif off == 0xEF50:  # ICIALLU
        o = S[L.O_IC]
        for k in range(S[L.IC_SETS] * S[L.IC_WAYS]):
            S[o + k] = -1
        S[L.LAST_FETCH] = -1
        S[L.LAST_WORD] = -1
    elif off == 0xEF60:  # DCISW: set in bits [..:line shift], way in bits [31:30]
        s = (v >> S[L.LINE_SHIFT]) % max(S[L.DC_SETS], 1)
        w = (v >> 30) & 3
        if S[L.DC_SETS] > 0 and w < S[L.DC_WAYS]:
            S[S[L.O_DC] + s * S[L.DC_WAYS] + w] = -1
        S[L.DC_MRU] = -1
    if off < PPB_WORDS * 4:
        S[S[L.O_PPB] + (off >> 2)] = v


def forwarding_table(core) -> np.ndarray:
    """Cycles added to a producer's latency, by how the consumer reads the operand (rows: R_* kinds)
    and what produced it (columns: classes). All figures from the core record's [forward] section."""
    f, lat = core.forward, core.latency
    xt = np.zeros((NREAD, NCLS), np.int64)
    word_loads = (C_LOAD, C_LDM)
    for c in range(NCLS):
        if c != C_ALUE:  # add/sub/mov results and address write-backs reach EX1 next cycle
            xt[R_EARLY, c] = f.early_operand
            xt[R_ADDR, c] = f.early_operand
    for c in word_loads:
        xt[R_ADDR, c] += f.word_load_to_address
        xt[R_MULOP, c] += f.word_load_to_multiply
    xt[R_ADDR, C_MUL] = f.mul_to_address - lat.mul
    xt[R_ACC, :] = -f.accumulate_advance
    xt[R_STORE, :] = -f.store_data_advance
    xt[R_FPACC, C_FPMAC] = -f.fp_accumulate_from_mac
    xt[R_FPACC, C_FPLOAD] = f.fp_accumulate_from_load
    xt[R_FPACC, C_FPLDM] = f.fp_accumulate_from_load
    return xt


def region_record(r, target, core) -> list[int]:
    """One region's fields (R_*), its latencies derived from the board's bus facts."""
    div, line = target.clock_div, target.line
    kind = 0 if r.zero_wait else (2 if r.accel is not None else 1)
    policy = {"none": 0, "wt": 1, "wbwa": 2}[r.cacheable]
    beat_bytes = r.bus_bits // 8
    fetch = core.memory.fetch_bytes
    word = max(r.device_bits() // 8, fetch)  # one uncached fetch brings a device word (at least 64 bits)
    # an uncached fetch of `fetch` bytes: the access, plus the further beats a narrower bus needs
    iread = r.read_cycles(div) + max(0, fetch // beat_bytes - 1) * r.beat_cycles(div) if kind else 0
    return [r.base, r.end, kind, policy, r.read_cycles(div), r.read_cycles(div),
            r.beat_cycles(div), beat_bytes.bit_length() - 1, r.write_cycles(div),
            r.writeback_cycles(div, line) if line else 0, iread, word.bit_length() - 1, 0]


def build_state(target, core, code, events_cap: int, itm_cap: int, block: bool = False,
                budget: int = 1 << 62, icache: bool | None = None, dcache: bool | None = None) -> np.ndarray:
    """Allocate the state array S and fill its header and tables for one run (``block``: block mode;
    ``icache``/``dcache``: a cache state forced from reset on, whatever the firmware writes to CCR;
    None follows the firmware)."""
    ic, dc = target.icache, target.dcache
    ic_sets, ic_ways = (ic.sets, ic.ways) if ic else (0, 1)
    dc_sets, dc_ways = (dc.sets, dc.ways) if dc else (0, 1)
    regions = list(target.regions)
    art = next((r.accel for r in regions if r.accel is not None), None)
    btac = core.branch.btac_entries
    sb = core.memory.store_buffer_entries
    n = len(code.table)
    tables = (("O_DEC", n * NF), ("O_STATS", n * NS), ("O_READY", 64), ("O_KIND", 64), ("O_XT", NREAD * NCLS),
              ("O_IC", max(ic_sets * ic_ways, 1) * 3), ("O_DC", max(dc_sets * dc_ways, 1) * 3),
              ("O_REG", len(regions) * RF), ("O_BTAC", BTAC_FIELDS * btac), ("O_EV", 3 * events_cap),
              ("O_ITM", ITM_FIELDS * itm_cap), ("O_SB", sb), ("O_RING", RING), ("O_PPB", PPB_WORDS),
              ("O_ART", (art.lines if art else 1) * 3), ("O_BT", 2 * BF * (BLOCKS if block else 1)),
              ("O_SREADY", 64), ("O_SKIND", 64),
              ("O_BOFF", 2 * n if block else 1), ("O_BOWN", n if block else 1), ("O_PMEM", n if block else 1))
    S_names, offs, size = _offsets(tuple((name, sz) for name, sz in tables))
    S = np.zeros(HEADER + size, np.int64)
    off = {name: HEADER + o for name, o in zip(S_names, offs)}
    for name, o in off.items():
        S[getattr(L, name)] = o
    S[L.LEN] = HEADER + size
    S[L.PEND_IDX] = -1
    S[L.LAST_FETCH] = -1
    S[L.LAST_WORD] = -1
    S[L.FLAGS_T] = -(1 << 40)
    S[L.N_RANGES] = len(code.ranges)
    if len(code.ranges) > MAX_RANGES:
        raise ValueError(f"the firmware has more than {MAX_RANGES} separate code ranges")
    for k, (lo, hi, first) in enumerate(code.ranges):
        S[L.RANGES + 3 * k: L.RANGES + 3 * k + 3] = (lo, hi, first)
    S[L.N_ENT] = n
    S[off["O_DEC"]: off["O_DEC"] + n * NF] = code.table.ravel()
    xt = forwarding_table(core)
    S[off["O_XT"]: off["O_XT"] + NREAD * NCLS] = xt.ravel()
    S[L.XT_MAX] = max(int(xt.max()), 0)
    S[L.IC_SETS], S[L.IC_WAYS], S[L.DC_SETS], S[L.DC_WAYS] = ic_sets, ic_ways, dc_sets, dc_ways
    S[off["O_IC"]: off["O_IC"] + max(ic_sets * ic_ways, 1)] = -1
    S[off["O_DC"]: off["O_DC"] + max(dc_sets * dc_ways, 1)] = -1
    S[L.LINE_SHIFT] = max(target.line.bit_length() - 1, 0)
    S[L.FETCH_SHIFT] = core.memory.fetch_bytes.bit_length() - 1
    S[L.N_REG], S[L.LAST_REG] = len(regions), off["O_REG"]
    for k, r in enumerate(regions):
        b = off["O_REG"] + k * RF
        S[b: b + RF] = region_record(r, target, core)
    S[L.BTAC_N] = btac
    S[L.BTAC_MAX] = (1 << core.branch.btac_counter_bits) - 1
    S[off["O_BTAC"]: off["O_BTAC"] + BTAC_FIELDS * btac: BTAC_FIELDS] = -1
    S[L.EV_CAP], S[L.ITM_CAP], S[L.SB_N] = events_cap, itm_cap, sb
    S[L.NARROW_ST] = core.memory.narrow_store_cycles
    S[L.P_MISPRED], S[L.P_MISPRED_EARLY] = core.branch.mispredict, core.branch.mispredict_early_flags
    S[L.EARLY_FLAGS], S[L.P_DIRECT] = core.branch.early_flags_cycles, core.branch.direct_miss
    S[L.DUAL] = 1 if core.issue.width >= 2 else 0
    S[L.FILL: L.FILL + 2 * FILL_FIELDS: FILL_FIELDS] = -1
    if art is not None:
        S[L.ART_N], S[L.ART_SHIFT] = art.lines, art.line.bit_length() - 1
        S[L.ART_ON], S[L.ART_PF] = int(art.enabled), int(art.prefetch)
        S[off["O_ART"]: off["O_ART"] + art.lines] = -1
    S[L.PF_LINE] = -1
    S[L.BLOCK], S[L.BUDGET], S[L.BLK_E] = int(block), budget, -1
    S[L.BT_N] = BLOCKS if block else 1
    S[L.DC_MRU] = -1
    S[L.IC_FORCE] = -1 if icache is None else int(icache)
    S[L.DC_FORCE] = -1 if dcache is None else int(dcache)
    S[L.IC_ON] = 1 if icache and ic_sets > 0 else 0
    S[L.DC_ON] = 1 if dcache and dc_sets > 0 else 0
    S[off["O_BT"]: off["O_BT"] + 2 * BF * int(S[L.BT_N]): BF] = -1
    return S


def regions_used(S: np.ndarray, target) -> dict[str, int]:
    """Accesses that reached each timed region's bus (misses, uncached accesses, write-backs) in a run."""
    o = int(S[L.O_REG])
    return {r.name: int(S[o + k * RF + R_USED]) for k, r in enumerate(target.regions)
            if int(S[o + k * RF + R_USED])}


@cache
def model_fingerprint() -> str:
    """Identifies the timing rules and the core figures a run used (decode.py, timing.py, cortex_m7.toml)."""
    from importlib import resources

    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for f in ("decode.py", "timing.py"):
        h.update((here / f).read_bytes())
    h.update(resources.files("tinyscope.targets").joinpath("cortex_m7.toml").read_bytes())
    return h.hexdigest()[:12]


# core figures a class of instruction relies on (only those the core file lists as estimated are reported)
_CLASS_FIGURES = {C_DIV: ("latency.div", "issue.div_cycles")}
_BRANCH_FIGURES = ("branch.direct_miss", "branch.btac_entries", "branch.btac_counter_bits")


def provenance(S: np.ndarray, target, core, code) -> dict:
    """The simulator's version and the estimated parameters this run touched: core figures of the
    instruction classes it executed, and board figures of the regions whose bus it used."""
    import tinyscope

    n = len(code.table)
    counts = S[int(S[L.O_STATS]): int(S[L.O_STATS]) + n * NS].reshape(n, NS)[:, S_COUNT]
    ran = code.table[counts > 0]
    used: set[str] = set()
    for c in set(int(x) for x in ran[:, 0]):
        used.update(_CLASS_FIGURES.get(c, ()))
    if (ran[:, 3] & F_BRANCH).any():
        used.update(_BRANCH_FIGURES)
    estimated = sorted(f"core.{f}" for f in used if f in core.estimated)
    regions = regions_used(S, target)
    for r in target.regions:
        if r.name in regions:
            estimated += [f"board.{r.name}.{f}" for f in r.estimated]
            if r.accel is not None and r.accel.estimate:
                estimated.append(f"board.{r.name}.accel.lines")
    return {"version": tinyscope.__version__, "timing_model": model_fingerprint(),
            "board": target.path or target.name, "estimated": estimated, "bus_accesses": regions}
