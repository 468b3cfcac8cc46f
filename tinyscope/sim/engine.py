"""Run a bare-metal Cortex-M7 ELF in unicorn with the native timing model attached.

Python runs only for rare events: semihosting calls (BKPT 0xAB), exceptions and the HardFault
handler. Exceptions raised in those callbacks are kept, the emulator is stopped, and they are
raised again after ``emu_start`` returns, so nothing is lost (Qiling's pattern).
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from unicorn import (
    UC_ARCH_ARM,
    UC_ERR_INSN_INVALID,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    Uc,
    UcError,
)
from unicorn.arm_const import UC_ARM_REG_PC, UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_SP, UC_CPU_ARM_CORTEX_M7
from unicorn.unicorn_py3.unicorn import uclib

from tinyscope.errors import SimError
from tinyscope.sim import timing as T
from tinyscope.sim.decode import NF, CodeTables, decode_elf
from tinyscope.sim.elf import Image, read_image
from tinyscope.sim.result import EVENT_DTYPE, ITM_DTYPE, SimResult
from tinyscope.targets import Target, load_target
from tinyscope.targets.core import load_core

PPB_BASE, PPB_SIZE = 0xE000_0000, 0x10_0000
EXIT_OK = 0x20026  # ADP_Stopped_ApplicationExit
EXCEPTIONS = {1: "undefined instruction", 2: "SVC", 3: "prefetch abort (instruction fetch fault)",
              4: "data abort (bus fault)", 5: "IRQ", 6: "FIQ", 7: "breakpoint"}


@dataclass
class _Run:
    """What the Python callbacks learn during a run."""

    stdout: list[str]
    exit_code: int | None = None
    fault: str | None = None
    error: BaseException | None = None


def _add_native_hook(uc: Uc, kind: int, fn, user: int, begin: int = 1, end: int = 0) -> None:
    hh = ctypes.c_size_t()
    err = uclib.uc_hook_add(uc._uch, ctypes.byref(hh), ctypes.c_int(kind), ctypes.c_void_p(fn.address),
                            ctypes.c_void_p(user), ctypes.c_uint64(begin), ctypes.c_uint64(end))
    if err:
        raise SimError(f"unicorn refused a native hook (error {err})")


def _map(uc: Uc, target: Target, image: Image) -> list:
    keep = []
    buffers: dict[str, ctypes.Array] = {}
    for r in target.regions:
        size = (r.size + 0xFFF) & ~0xFFF
        src = r.mirror_of or r.name
        if src not in buffers:
            buffers[src] = (ctypes.c_ubyte * size)()
        buf = buffers[src]
        uclib.uc_mem_map_ptr(uc._uch, ctypes.c_uint64(r.base), ctypes.c_size_t(min(size, len(buf))),
                             ctypes.c_uint32(7), ctypes.cast(buf, ctypes.c_void_p))
        keep.append(buf)
    for addr, data in image.segments:
        r = target.regions.region_for(addr)
        if r is None or not r.contains(addr + len(data) - 1):
            raise SimError(f"the ELF loads {len(data)} bytes at 0x{addr:08x}, outside {target.name}'s memory map")
        uc.mem_write(addr, data)
    return keep


def _semihosting(uc: Uc, run: _Run) -> bool:
    """Serve a BKPT 0xAB call; True when the program asked to exit."""
    op = uc.reg_read(UC_ARM_REG_R0)
    arg = uc.reg_read(UC_ARM_REG_R1)

    def cstring(addr: int) -> str:
        out = bytearray()
        while len(out) < 65536:
            chunk = bytes(uc.mem_read(addr + len(out), 64))
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
        return out.decode("latin-1")

    def word(addr: int) -> int:
        return int.from_bytes(uc.mem_read(addr, 4), "little")

    result = 0
    if op == 0x04:  # SYS_WRITE0
        run.stdout.append(cstring(arg))
    elif op == 0x03:  # SYS_WRITEC
        run.stdout.append(chr(uc.mem_read(arg, 1)[0]))
    elif op == 0x05:  # SYS_WRITE: handle, buffer, length; returns bytes not written
        buf, n = word(arg + 4), word(arg + 8)
        run.stdout.append(bytes(uc.mem_read(buf, n)).decode("latin-1"))
    elif op == 0x18:  # SYS_EXIT: the reason in r1
        run.exit_code = 0 if arg == EXIT_OK else 1
        return True
    elif op == 0x20:  # SYS_EXIT_EXTENDED: [reason, subcode]
        reason, sub = word(arg), word(arg + 4)
        run.exit_code = sub if reason == EXIT_OK else 1
        return True
    elif op in (0x01, 0x09, 0x0C):  # OPEN, ISTTY, FLEN: no files here
        result = 0xFFFFFFFF
    uc.reg_write(UC_ARM_REG_R0, result)
    return False


def simulate(elf_path: str | Path, target: str | Target = "stm32h743", *, max_instructions: int = 2_000_000_000,
             timeout_s: float = 900.0, profile: bool = True, timing: bool = True,
             events_cap: int = 2_000_000, code: CodeTables | None = None) -> SimResult:
    """Run the firmware until it exits through semihosting; faults and hangs raise SimError.

    ``code`` is the ELF's decode (decode_elf) when the caller already has it, e.g. the profiler.
    """
    tgt = load_target(target) if isinstance(target, str) else target
    core = load_core()
    image = read_image(elf_path)
    if code is None:
        code = decode_elf(elf_path, core) if timing else CodeTables([], np.zeros((1, NF), np.int64), {})
    try:
        S = T.build_state(tgt, core, code, events_cap if profile else 0, 100_000)
    except ValueError as exc:
        raise SimError(str(exc)) from None
    user = S.ctypes.data
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M7)
    keep = _map(uc, tgt, image)
    uclib.uc_mmio_map(uc._uch, ctypes.c_uint64(PPB_BASE), ctypes.c_size_t(PPB_SIZE),
                      ctypes.c_void_p(T.ppb_read.address), ctypes.c_void_p(user),
                      ctypes.c_void_p(T.ppb_write.address), ctypes.c_void_p(user))
    if timing:
        _add_native_hook(uc, UC_HOOK_CODE, T.code_hook, user)
        # D-side accesses cost nothing extra in zero-wait TCM: hook only the other regions (fewer slow paths)
        for r in tgt.regions:
            if not r.zero_wait:
                _add_native_hook(uc, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, T.mem_hook, user, r.base, r.end - 1)
    run = _Run([])

    def on_interrupt(uc_: Uc, intno: int, _user) -> None:
        try:
            pc = uc_.reg_read(UC_ARM_REG_PC)
            if intno == 7 and bytes(uc_.mem_read(pc, 2)) == b"\xab\xbe":
                if _semihosting(uc_, run):
                    uc_.emu_stop()
                else:
                    uc_.reg_write(UC_ARM_REG_PC, (pc + 2) | 1)
                return
            run.fault = f"{EXCEPTIONS.get(intno, f'exception {intno}')} at {image.symbols.name(pc)}"
            uc_.emu_stop()
        except BaseException as exc:  # keep it for after emu_start
            run.error = exc
            uc_.emu_stop()

    uc.hook_add(UC_HOOK_INTR, on_interrupt)

    def on_unmapped(uc_: Uc, access: int, address: int, size: int, value: int, _user) -> bool:
        kind = {19: "read of", 20: "write to", 21: "fetch from"}.get(access, "access to")
        run.fault = f"{kind} unmapped address 0x{address:08x} at {image.symbols.name(uc_.reg_read(UC_ARM_REG_PC))}"
        return False  # let unicorn stop with its error; run.fault has the details

    uc.hook_add(UC_HOOK_MEM_UNMAPPED, on_unmapped)
    vt = bytes(uc.mem_read(image.vector_table, 16))
    sp, reset, hardfault = (int.from_bytes(vt[i:i + 4], "little") for i in (0, 4, 12))
    if hardfault & ~1 and hardfault & ~1 != reset & ~1:
        def on_hardfault(uc_: Uc, address: int, size: int, _user) -> None:
            run.fault = "HardFault"
            uc_.emu_stop()
        uc.hook_add(UC_HOOK_CODE, on_hardfault, begin=hardfault & ~1, end=hardfault & ~1)
    uc.reg_write(UC_ARM_REG_SP, sp)
    start = time.perf_counter()
    try:
        uc.emu_start(reset | 1, 0xFFFF_FFFF, timeout=int(timeout_s * 1e6), count=max_instructions)
    except UcError as exc:
        if run.fault is None:
            what = "undefined instruction" if exc.errno == UC_ERR_INSN_INVALID else str(exc)
            run.fault = f"{what} at {image.symbols.name(uc.reg_read(UC_ARM_REG_PC))}"
    wall = time.perf_counter() - start
    if run.error is not None:
        raise run.error
    if timing:
        T._finalize(S, -1)
    n_instr = int(S[T.NINSTR]) if timing else 0
    if run.fault is not None:
        raise SimError(f"{Path(elf_path).name}: {run.fault}; last instructions: {_last(S, code, image)}")
    if run.exit_code is None:
        why = "the wall-clock limit" if wall >= timeout_s * 0.99 else f"the budget of {max_instructions:,} instructions"
        raise SimError(f"{Path(elf_path).name}: stopped by {why} without exiting "
                       f"(at {image.symbols.name(uc.reg_read(UC_ARM_REG_PC))})")
    del keep
    result = _result(S, code, str(elf_path), tgt.name, run, wall, timing, n_instr)
    if timing:  # the simulator's version and the estimated figures this run relied on (run.json)
        result.meta["simulator"] = T.provenance(S, tgt, core, code)
    return result


def _last(S: np.ndarray, code: CodeTables, image: Image, n: int = 8) -> str:
    pos = int(S[T.RING_POS])
    pcs = [int(S[int(S[T.O_RING]) + (k % T.RING)]) for k in range(max(0, pos - n), pos)]
    return "; ".join(f"{image.symbols.name(pc)}: {code.text.get(pc, '?')}" for pc in pcs) or "none recorded"


def _result(S, code: CodeTables, elf: str, target: str, run: _Run, wall: float, timing: bool, n: int) -> SimResult:
    ne = len(code.table)
    stats = S[int(S[T.O_STATS]): int(S[T.O_STATS]) + ne * T.NS].reshape(ne, T.NS)
    ev_n, itm_n = int(S[T.EV_N]), int(S[T.ITM_N])
    ev = S[int(S[T.O_EV]): int(S[T.O_EV]) + 3 * ev_n].reshape(ev_n, 3)
    itm = S[int(S[T.O_ITM]): int(S[T.O_ITM]) + T.ITM_FIELDS * itm_n].reshape(itm_n, T.ITM_FIELDS)
    events = np.zeros(ev_n, EVENT_DTYPE)
    events["cycle"], events["kind"], events["pc"] = ev[:, 0], ev[:, 1], ev[:, 2]
    itm_rec = np.zeros(itm_n, ITM_DTYPE)
    itm_rec["cycle"], itm_rec["port"], itm_rec["value"] = itm[:, 0], itm[:, 1], itm[:, 2] & 0xFFFFFFFF
    itm_rec["icache_miss"], itm_rec["dcache_miss"], itm_rec["instructions"] = itm[:, 3], itm[:, 4], itm[:, 5]
    names = ["load_use", "fp", "dep", "branch", "ifetch", "dmem"]
    return SimResult(
        elf=elf, target=target, cycles=int(S[T.CLOCK]), instructions=n, exit_code=run.exit_code,
        stdout="".join(run.stdout), itm=itm_rec, events=events, ranges=list(code.ranges),
        pc_stats={name: stats[:, k].copy() for k, name in enumerate(T.STAT_NAMES)},
        stalls={name: int(S[T.ST_LOAD + k]) for k, name in enumerate(names)},
        icache={"accesses": int(S[T.IC_ACC]), "misses": int(S[T.IC_MISS])},
        dcache={"accesses": int(S[T.DC_ACC]), "misses": int(S[T.DC_MISS]), "writebacks": int(S[T.DC_WB])},
        wall_seconds=wall, timing=timing, events_dropped=int(S[T.EV_N]) >= int(S[T.EV_CAP]) > 0)
