"""The Cortex-M7 timing model, as native callbacks (numba ``cfunc``) that unicorn calls directly.

All state lives in one int64 array ``S`` whose address is the callbacks' user data: scalars at
the fixed offsets below, then tables whose offsets are stored in the header. The code hook runs
once per instruction: it finalizes the previous instruction (issue cycle from the in-order dual
issue rules and the register scoreboard, memory penalties from the D-side hook, branch outcome now
that the next PC is known) and charges the I-side fetch of the current one. No Python runs per
instruction or per memory access.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, njit, types

from tinyscope.sim.decode import (
    C_DP,
    C_FPALU,
    C_FPDIV,
    C_FPLOAD,
    C_FPMAC,
    C_FPMOV,
    C_FPSTORE,
    C_IT,
    C_LOAD,
    C_LOADN,
    C_MUL,
    C_SHIFT,
    C_STM,
    C_STORE,
    D_CLS,
    D_COST,
    D_DST0,
    D_FLAGS,
    D_LAT,
    D_MASKHI,
    D_MASKLO,
    D_SIZE,
    D_SRC0,
    F_BRANCH,
    F_CALL,
    F_COND,
    F_INDIRECT,
    F_RETURN,
    F_SINGLE,
    F_UNCOND,
    NF,
)
from tinyscope.sim.native import F_IN_IT, clear_it_state

# ---- scalar slots of S ----
LEN, CLOCK, PREV_ISSUE, PREV_NOPAIR, PREV_CLS, PEND_IDX, PEND_PC, PEND_MEM, PEND_IFETCH = range(9)
PEND_DMISS, PEND_DACC, NINSTR, IC_ON, DC_ON, LAST_FETCH, EV_N, EV_CAP, ITM_N, ITM_CAP = range(9, 19)
IC_ACC, IC_MISS, DC_ACC, DC_MISS, DC_WB = range(19, 24)
ST_LOAD, ST_FP, ST_DEP, ST_BRANCH, ST_IFETCH, ST_DMEM = range(24, 30)
N_RANGES, RANGES = 30, 31  # up to 4 ranges x (lo, hi, first) = 31..42
O_DEC, N_ENT, O_STATS, O_READY, O_KIND = range(43, 48)
O_IC, IC_SETS, IC_WAYS, O_DC, DC_SETS, DC_WAYS = range(48, 54)
O_REG, N_REG, O_BTAC, BTAC_N, O_EV, O_ITM, O_SB, SB_N, O_RING, RING_POS = range(54, 64)
STAMP, P_MISPRED, P_DIRECT, CYC_BASE, O_PPB, LAST_WORD, LAST_REG = range(64, 71)
HEADER = 80
VIEW = 1 << 40  # carray's shape is only metadata (no bounds checks): one view of the whole state

# per-instruction statistics (columns of the stats table)
S_COUNT, S_CYCLES, S_LOAD, S_FP, S_DEP, S_BRANCH, S_IFETCH, S_DMEM, S_ICMISS, S_DCMISS, S_DCACC = range(11)
NS = 11
STAT_NAMES = ["count", "cycles", "stall_load_use", "stall_fp", "stall_dep", "stall_branch", "stall_ifetch",
              "stall_dmem", "icache_miss", "dcache_miss", "dcache_access"]
# region record fields
R_LO, R_HI, R_TCM, R_POLICY, R_READ, R_FILL, R_WRITE, R_GRANULE = range(8)
RF = 8
RING = 32
ITM_FIELDS = 6  # cycle, port, value, I-cache misses so far, D-cache misses so far, instructions so far
PPB_WORDS = 0x4000  # shadow of 0xE0000000..0xE000FFFF


@njit(cache=True, inline="always")
def _index(S, pc):
    for k in range(S[N_RANGES]):
        lo = S[RANGES + 3 * k]
        if lo <= pc < S[RANGES + 3 * k + 1]:
            return S[RANGES + 3 * k + 2] + (pc - lo) // 2
    return -1


@njit(cache=True, inline="always")
def _region(S, addr):
    b = S[LAST_REG]  # accesses cluster: try the last region first
    if S[b + R_LO] <= addr < S[b + R_HI]:
        return b
    o = S[O_REG]
    for k in range(S[N_REG]):
        b = o + k * RF
        if S[b + R_LO] <= addr < S[b + R_HI]:
            S[LAST_REG] = b
            return b
    return -1


@njit(cache=True)
def _cache_access(S, o, sets, ways, line, write_back, mark_dirty):
    """Look up a 32-byte line; on a miss allocate it (LRU). Returns 1 on hit, 0 on miss, and adds to
    DC_WB when a dirty line is evicted."""
    s = line % sets
    base = o + s * ways
    stamps = o + sets * ways
    dirty = stamps + sets * ways
    S[STAMP] += 1
    for w in range(ways):
        if S[base + w] == line:
            S[stamps + s * ways + w] = S[STAMP]
            if mark_dirty:
                S[dirty + s * ways + w] = 1
            return 1
    victim = 0
    oldest = S[stamps + s * ways]
    for w in range(1, ways):
        if S[stamps + s * ways + w] < oldest:
            oldest = S[stamps + s * ways + w]
            victim = w
    if write_back and S[dirty + s * ways + victim] == 1 and S[base + victim] >= 0:
        S[DC_WB] += 1
    S[base + victim] = line
    S[stamps + s * ways + victim] = S[STAMP]
    S[dirty + s * ways + victim] = 1 if mark_dirty else 0
    return 0


@njit(cache=True)
def _store_buffer(S, occupancy):
    """A store that goes to the bus waits only when all entries are still draining."""
    now = S[CLOCK]
    o = S[O_SB]
    best = 0
    latest = S[o]
    for k in range(S[SB_N]):
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
def _finalize(S, next_pc):
    idx = S[PEND_IDX]
    if idx < 0:
        return
    d = S[O_DEC] + idx * NF
    cls = S[d + D_CLS]
    flags = S[d + D_FLAGS]
    clock = S[CLOCK]
    ifetch = S[PEND_IFETCH]
    t0 = clock + ifetch
    dep = 0
    dep_kind = 0
    ready = S[O_READY]
    kind = S[O_KIND]
    for k in range(4):
        r = S[d + D_SRC0 + k]
        if r >= 0 and S[ready + r] > dep:
            dep = S[ready + r]
            dep_kind = S[kind + r]
    single = (flags & F_SINGLE) != 0
    paired = False
    if cls == C_IT:
        issue = S[PREV_ISSUE]
        paired = True
    elif (not single and S[PREV_NOPAIR] == 0 and ifetch == 0 and dep <= S[PREV_ISSUE]
          and _can_pair(S[PREV_CLS], cls)):
        issue = S[PREV_ISSUE]
        paired = True
    else:
        issue = max(t0, dep)
    stall = 0 if paired else max(0, dep - t0)
    cost = S[d + D_COST]
    new_clock = max(clock, issue + cost)
    mem = S[PEND_MEM]
    new_clock += mem
    lat = S[d + D_LAT] + (mem if (flags & 1) != 0 else 0)
    done = issue + lat
    for k in range(2):
        r = S[d + D_DST0 + k]
        if r >= 0:
            S[ready + r] = done
            S[kind + r] = cls
    lo = S[d + D_MASKLO]
    hi = S[d + D_MASKHI]
    if lo != 0 or hi != 0:
        for b in range(32):
            if (lo >> b) & 1:
                S[ready + b] = done
            if (hi >> b) & 1:
                S[ready + 32 + b] = done
    # branches: the next PC tells the outcome; the BTAC and a static rule tell the prediction
    branch_pen = 0
    pc = S[PEND_PC]
    nopair_next = single
    if flags & F_BRANCH:
        size = S[d + D_SIZE]
        taken = next_pc != pc + size
        e = S[O_BTAC] + 2 * ((pc >> 1) % S[BTAC_N])
        hit = S[e] == pc
        if flags & F_UNCOND:
            if not hit:
                branch_pen = S[P_DIRECT]
        elif flags & F_INDIRECT:
            if not (hit and S[e + 1] == next_pc):
                branch_pen = S[P_MISPRED]
        elif flags & F_COND:
            predicted_taken = hit
            if predicted_taken != taken:
                branch_pen = S[P_MISPRED]
        if taken:
            S[e] = pc
            S[e + 1] = next_pc
        elif hit and (flags & F_COND):
            S[e] = -1
        if branch_pen > 0:
            nopair_next = True
        new_clock += branch_pen
        if flags & F_CALL and taken:
            _event(S, new_clock, 0, next_pc)
        elif flags & F_RETURN and taken:
            _event(S, new_clock, 1, next_pc)
    cycles = new_clock - clock
    S[CLOCK] = new_clock
    S[PREV_ISSUE] = issue
    S[PREV_NOPAIR] = 1 if (nopair_next or paired) else 0
    S[PREV_CLS] = cls
    st = S[O_STATS] + idx * NS
    S[st + S_COUNT] += 1
    S[st + S_CYCLES] += cycles
    S[st + S_IFETCH] += ifetch
    S[st + S_DMEM] += mem
    S[st + S_BRANCH] += branch_pen
    S[st + S_DCMISS] += S[PEND_DMISS]
    S[st + S_DCACC] += S[PEND_DACC]
    if stall > 0:
        if dep_kind == C_LOAD or dep_kind == C_LOADN or dep_kind == C_FPLOAD:
            S[st + S_LOAD] += stall
            S[ST_LOAD] += stall
        elif dep_kind == C_FPALU or dep_kind == C_FPMAC or dep_kind == C_FPDIV or dep_kind == C_DP \
                or dep_kind == C_FPMOV:
            S[st + S_FP] += stall
            S[ST_FP] += stall
        else:
            S[st + S_DEP] += stall
            S[ST_DEP] += stall
    S[ST_BRANCH] += branch_pen
    S[ST_IFETCH] += ifetch
    S[ST_DMEM] += mem
    S[PEND_IDX] = -1


@njit(cache=True)
def _event(S, cycle, kind, pc):
    n = S[EV_N]
    if n < S[EV_CAP]:
        o = S[O_EV] + 3 * n
        S[o] = cycle
        S[o + 1] = kind
        S[o + 2] = pc
        S[EV_N] = n + 1


@njit(cache=True, inline="always")
def _fetch(S, pc):
    """I-side cost of fetching ``pc``: an I-cache lookup per new 32-byte line, or, with the cache
    off or the region uncacheable, one bus access per fetch granule."""
    if (pc >> 3) == S[LAST_WORD]:  # still inside the 64-bit word the prefetch unit already has
        return 0
    S[LAST_WORD] = pc >> 3
    r = _region(S, pc)
    if r < 0 or S[r + R_TCM] == 1:
        return 0
    line = pc >> 5
    if S[IC_ON] == 1 and S[r + R_POLICY] != 0:
        if line == S[LAST_FETCH]:
            return 0
        S[LAST_FETCH] = line
        S[IC_ACC] += 1
        if _cache_access(S, S[O_IC], S[IC_SETS], S[IC_WAYS], line, False, False) == 1:
            return 0
        S[IC_MISS] += 1
        idx = S[PEND_IDX]
        if idx >= 0:
            S[S[O_STATS] + idx * NS + S_ICMISS] += 1
        return S[r + R_FILL]
    granule = pc // S[r + R_GRANULE]
    if granule == S[LAST_FETCH]:
        return 0
    S[LAST_FETCH] = granule
    return S[r + R_READ]


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def code_hook(uc, address, size, user):
    S = carray(user, (VIEW,), np.int64)
    pc = np.int64(address)
    _finalize(S, pc)
    idx = _index(S, pc)
    S[PEND_IDX] = idx
    S[PEND_PC] = pc
    S[PEND_MEM] = 0
    S[PEND_DMISS] = 0
    S[PEND_DACC] = 0
    S[NINSTR] += 1
    S[S[O_RING] + S[RING_POS] % RING] = pc
    S[RING_POS] += 1
    S[PEND_IFETCH] = _fetch(S, pc) if idx >= 0 else 0


@cfunc(types.void(types.voidptr, types.int32, types.uint64, types.int32, types.int64, types.voidptr), cache=True)
def mem_hook(uc, access, address, size, value, user):
    S = carray(user, (VIEW,), np.int64)
    idx = S[PEND_IDX]
    if idx < 0 or (S[S[O_DEC] + idx * NF + D_FLAGS] & F_IN_IT) != 0:
        clear_it_state(uc)  # unicorn leaves stale IT bits after a hooked access in an IT block: see native.py
    addr = np.int64(address)
    if addr >= 0xE0000000:
        return
    r = _region(S, addr)
    if r < 0 or S[r + R_TCM] == 1:
        return
    write = access == 17  # UC_MEM_WRITE (UC_MEM_READ is 16)
    pen = 0
    policy = S[r + R_POLICY]
    if S[DC_ON] == 1 and policy != 0:
        S[DC_ACC] += 1
        S[PEND_DACC] += 1
        line = addr >> 5
        if write and policy == 1:  # write-through: no allocation on a miss, the store goes to the bus
            pen = _store_buffer(S, S[r + R_WRITE])
        else:
            hit = _cache_access(S, S[O_DC], S[DC_SETS], S[DC_WAYS], line, True, write)
            if hit == 0:
                S[DC_MISS] += 1
                S[PEND_DMISS] += 1
                pen = _store_buffer(S, S[r + R_FILL]) if write else S[r + R_FILL]
    elif write:
        pen = _store_buffer(S, S[r + R_WRITE])
    else:
        pen = S[r + R_READ]
    S[PEND_MEM] += pen


@cfunc(types.uint64(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def ppb_read(uc, offset, size, user):
    """Reads of 0xE0000000..: DWT CYCCNT is the simulated clock; ITM ports are always ready;
    CCSIDR describes the D-cache; everything else reads back what was written."""
    S = carray(user, (VIEW,), np.int64)
    off = np.int64(offset)
    if off == 0x1004:
        return np.uint64((S[CLOCK] - S[CYC_BASE]) & 0xFFFFFFFF)
    if off < 0x80:
        return np.uint64(1)
    if off == 0xED80:  # CCSIDR: NumSets-1 [27:13], Associativity-1 [12:3], LineSize = log2(words) - 2 = 1
        return np.uint64(((S[DC_SETS] - 1) << 13) | ((S[DC_WAYS] - 1) << 3) | 1)
    if off < PPB_WORDS * 4:
        return np.uint64(S[S[O_PPB] + (off >> 2)] & 0xFFFFFFFF)
    return np.uint64(0)


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.uint64, types.voidptr), cache=True)
def ppb_write(uc, offset, size, value, user):
    S = carray(user, (VIEW,), np.int64)
    off = np.int64(offset)
    v = np.int64(value)
    if off < 0x80:  # ITM stimulus ports: a trace probe would see (cycle, port, value)
        n = S[ITM_N]
        if n < S[ITM_CAP]:
            o = S[O_ITM] + ITM_FIELDS * n
            S[o] = S[CLOCK]
            S[o + 1] = off >> 2
            S[o + 2] = v
            S[o + 3] = S[IC_MISS]  # running totals: misses per layer come from the differences
            S[o + 4] = S[DC_MISS]
            S[o + 5] = S[NINSTR]
            S[ITM_N] = n + 1
        return
    if off == 0x1004:
        S[CYC_BASE] = S[CLOCK] - v
        return
    if off == 0xED14:  # SCB->CCR: IC bit 17, DC bit 16 switch the cache models
        S[IC_ON] = (v >> 17) & 1 if S[IC_SETS] > 0 else 0
        S[DC_ON] = (v >> 16) & 1 if S[DC_SETS] > 0 else 0
        S[LAST_FETCH] = -1
        S[LAST_WORD] = -1
    elif off == 0xEF50:  # ICIALLU
        o = S[O_IC]
        for k in range(S[IC_SETS] * S[IC_WAYS]):
            S[o + k] = -1
        S[LAST_FETCH] = -1
        S[LAST_WORD] = -1
    elif off == 0xEF60:  # DCISW: set in bits [..:5], way in bits [31:30]
        s = (v >> 5) % max(S[DC_SETS], 1)
        w = (v >> 30) & 3
        if S[DC_SETS] > 0 and w < S[DC_WAYS]:
            S[S[O_DC] + s * S[DC_WAYS] + w] = -1
    if off < PPB_WORDS * 4:
        S[S[O_PPB] + (off >> 2)] = v
