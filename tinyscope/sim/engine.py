"""Run a bare-metal Cortex-M7 ELF in unicorn with the native timing model attached.

Python runs only for rare events: semihosting calls (BKPT 0xAB), exceptions, faults, SEV (when the
program also has WFE) and the moments unicorn stops on its own (after WFI, WFE and YIELD, and when a
program first sets a CCR trap bit, so that the hooks checking it are added only then). Exceptions
raised in those callbacks are kept, the emulator is stopped, and they are raised again after
``emu_start`` returns, so nothing is lost (Qiling's pattern).

The CPU is unicorn's Cortex-M7 model (Armv7E-M, FPv5 with double precision, MVFR0 0x10110221). It has
to be asked for without UC_MODE_MCLASS: unicorn 2.1.4 replaces any model by a Cortex-M33
(single-precision FPU) when that mode flag is set (qemu/target/arm/cpu.c, cpu_arm_init); M-profile
behaviour comes from the model's ARM_FEATURE_M, not from the flag.

What the simulator does not model is a fault, never a silent success: exceptions are not taken (an
SVC, an exception return, WFI or WFE with nothing to wake the core), flash is read-only to plain
stores (a BusFault), CCR.DIV_0_TRP and CCR.UNALIGN_TRP raise their UsageFaults, semihosting serves
only the console and exit, and console output is capped.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from unicorn import (
    UC_ARCH_ARM,
    UC_ERR_INSN_INVALID,
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_FETCH_UNMAPPED,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_HOOK_MEM_WRITE_PROT,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MODE_THUMB,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn.arm_const import (
    UC_ARM_REG_LR,
    UC_ARM_REG_PC,
    UC_ARM_REG_R0,
    UC_ARM_REG_R1,
    UC_ARM_REG_SP,
    UC_ARM_REG_XPSR,
    UC_CPU_ARM_CORTEX_M7,
)
from unicorn.unicorn_py3.unicorn import uclib

from tinyscope.errors import SimError
from tinyscope.sim import exceptions as E
from tinyscope.sim import native as N
from tinyscope.sim import peripherals as P
from tinyscope.sim import timing as T
from tinyscope.sim.decode import D_FLAGS, D_SIZE, F_CALL, F_STORE, NF, CodeTables, decode_elf
from tinyscope.sim.elf import Image, read_image
from tinyscope.sim.result import (
    EVENT_DTYPE,
    EXC_ENTER,
    EXC_LEAVE,
    ITM_DTYPE,
    RESUMED,
    STALL_KINDS,
    SimResult,
    nest_tail_calls,
    switch_contexts,
)
from tinyscope.targets import Target, load_target
from tinyscope.targets.armv7m import ADP_STOPPED_APPLICATION_EXIT, PPB_BASE, PPB_SIZE
from tinyscope.targets.core import load_core

EXIT_OK = ADP_STOPPED_APPLICATION_EXIT
OUTPUT_CAP = 16 << 20  # console characters a run may write
TT_HANDLES = (3, 1, 2)  # SYS_OPEN(":tt") by mode / 4: read, write (stdout), append (stderr); all the console
EXCEPTIONS = {1: "undefined instruction", 2: "SVC", 3: "prefetch abort (instruction fetch fault)",
              4: "data abort (bus fault)", 5: "IRQ", 6: "FIQ", 7: "breakpoint", 8: "exception return",
              17: "UsageFault (NOCP: coprocessor access)", 18: "UsageFault (INVSTATE: branch to Arm state)",
              19: "UsageFault (STKOF: stack limit)", 22: "UsageFault (UNALIGNED)"}
SEMIHOSTING = {0x01: "SYS_OPEN", 0x02: "SYS_CLOSE", 0x03: "SYS_WRITEC", 0x04: "SYS_WRITE0", 0x05: "SYS_WRITE",
               0x06: "SYS_READ", 0x07: "SYS_READC", 0x08: "SYS_ISERROR", 0x09: "SYS_ISTTY", 0x0A: "SYS_SEEK",
               0x0C: "SYS_FLEN", 0x0D: "SYS_TMPNAM", 0x0E: "SYS_REMOVE", 0x0F: "SYS_RENAME", 0x10: "SYS_CLOCK",
               0x11: "SYS_TIME", 0x12: "SYS_SYSTEM", 0x13: "SYS_ERRNO", 0x15: "SYS_GET_CMDLINE",
               0x16: "SYS_HEAPINFO", 0x18: "SYS_EXIT", 0x20: "SYS_EXIT_EXTENDED", 0x30: "SYS_ELAPSED",
               0x31: "SYS_TICKFREQ"}
TIMING_MODES = ("block", "instr")
_CORE_REGS = [UC_ARM_REG_R0 + k for k in range(13)] + [UC_ARM_REG_SP, UC_ARM_REG_LR, UC_ARM_REG_PC]


class _Stop(Exception):
    """A fault found in a Python callback: its one-line description."""


@dataclass
class _Run:
    """What the Python callbacks learn during a run."""

    stdout: list[str]
    output_cap: int = OUTPUT_CAP
    written: int = 0
    exit_code: int | None = None
    fault: str | None = None
    error: BaseException | None = None
    event: bool = False  # the WFE event register (set by SEV)

    def room(self, n: int) -> None:
        """Stop the run if ``n`` more characters would pass the output cap."""
        if self.written + n > self.output_cap:
            raise _Stop(f"console output passed the cap of {self.output_cap:,} characters "
                        f"(the program asked to write {n:,} more); stopped")

    def write(self, text: str) -> None:
        self.room(len(text))
        self.written += len(text)
        self.stdout.append(text)


def _add_native_hook(uc: Uc, kind: int, fn, user: int, begin: int = 1, end: int = 0) -> None:
    hh = ctypes.c_size_t()
    err = uclib.uc_hook_add(uc._uch, ctypes.byref(hh), ctypes.c_int(kind), ctypes.c_void_p(fn.address),
                            ctypes.c_void_p(user), ctypes.c_uint64(begin), ctypes.c_uint64(end))
    if err:
        raise SimError(f"unicorn refused a native hook (error {err})")


def _map(uc: Uc, target: Target, image: Image) -> list:
    """Map every region (flash read-only to the CPU, as on silicon) and load the image."""
    keep = []
    buffers: dict[str, ctypes.Array] = {}
    for r in target.regions:
        size = (r.size + 0xFFF) & ~0xFFF
        src = r.mirror_of or r.name
        if src not in buffers:
            buffers[src] = (ctypes.c_ubyte * size)()
        buf = buffers[src]
        perms = UC_PROT_READ | UC_PROT_EXEC | (0 if r.kind == "flash" else UC_PROT_WRITE)
        err = uclib.uc_mem_map_ptr(uc._uch, ctypes.c_uint64(r.base), ctypes.c_size_t(min(size, len(buf))),
                                   ctypes.c_uint32(perms), ctypes.cast(buf, ctypes.c_void_p))
        if err:
            raise SimError(f"unicorn cannot map {target.name}'s region {r.name} at 0x{r.base:08x} (error {err})")
        keep.append(buf)
    for addr, data in image.segments:
        r = target.regions.region_for(addr)
        if r is None or not r.contains(addr + len(data) - 1):
            raise SimError(f"the ELF loads {len(data)} bytes at 0x{addr:08x}, outside {target.name}'s memory map")
        uc.mem_write(addr, data)
    return keep


def _read(uc: Uc, addr: int, n: int, what: str) -> bytes:
    try:
        return bytes(uc.mem_read(addr, n))
    except UcError:
        raise _Stop(f"{what} at 0x{addr:08x} ({n:,} bytes) is not readable memory") from None


def _semihosting(uc: Uc, run: _Run, pc: int, where) -> bool:
    """Serve a BKPT 0xAB call; True when the program asked to exit. Only the console and exit are
    served (a file open or length query is answered "no such file"); anything else, input included,
    stops the run, naming the call. Console writes go to the output whatever the handle."""
    op = uc.reg_read(UC_ARM_REG_R0)
    arg = uc.reg_read(UC_ARM_REG_R1)
    name = SEMIHOSTING.get(op, f"0x{op:x}")

    def word(addr: int) -> int:
        return int.from_bytes(_read(uc, addr, 4, f"{name} at {where(pc)}: its parameter block"), "little")

    def cstring(addr: int) -> str:
        out = bytearray()
        while True:  # read up to page ends, so a string near the end of a region is still read
            a = addr + len(out)
            try:
                chunk = bytes(uc.mem_read(a, 0x1000 - (a & 0xFFF)))
            except UcError:
                raise _Stop(f"{name} at {where(pc)}: the string at 0x{addr:08x} runs into unreadable memory "
                            f"at 0x{a:08x}") from None
            nul = chunk.find(b"\0")
            out += chunk if nul < 0 else chunk[:nul]
            if nul >= 0:
                return out.decode("latin-1")
            run.room(len(out))

    result = 0
    if op == 0x04:  # SYS_WRITE0
        run.write(cstring(arg))
    elif op == 0x03:  # SYS_WRITEC
        run.write(chr(_read(uc, arg, 1, f"{name} at {where(pc)}: the character")[0]))
    elif op == 0x05:  # SYS_WRITE: handle, buffer, length; returns bytes not written
        buf, n = word(arg + 4), word(arg + 8)
        run.room(n)
        run.write(_read(uc, buf, n, f"{name} at {where(pc)}: the buffer").decode("latin-1"))
    elif op == 0x18:  # SYS_EXIT: the reason in r1
        run.exit_code = 0 if arg == EXIT_OK else 1
        return True
    elif op == 0x20:  # SYS_EXIT_EXTENDED: [reason, subcode]
        reason, sub = word(arg), word(arg + 4)
        run.exit_code = sub if reason == EXIT_OK else 1
        return True
    elif op == 0x01:  # SYS_OPEN: [name, mode, length]; ":tt" is the console, there are no files
        addr, mode, length = word(arg), word(arg + 4), word(arg + 8)
        fname = _read(uc, addr, min(length, 256), f"{name} at {where(pc)}: the file name")
        result = TT_HANDLES[mode // 4] if fname == b":tt" and mode < 12 else 0xFFFFFFFF
    elif op == 0x02:  # SYS_CLOSE
        result = 0 if word(arg) in TT_HANDLES else 0xFFFFFFFF
    elif op == 0x09:  # SYS_ISTTY
        result = 1 if word(arg) in TT_HANDLES else 0xFFFFFFFF
    elif op == 0x0C:  # SYS_FLEN: no files
        result = 0xFFFFFFFF
    else:
        what = f"{name} (0x{op:02x})" if op in SEMIHOSTING else f"0x{op:x}, an unknown operation,"
        raise _Stop(f"semihosting call {what} is not supported at {where(pc)}: the simulator serves the "
                    "console (SYS_OPEN of \":tt\", SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_CLOSE, SYS_ISTTY) "
                    "and exit (SYS_EXIT, SYS_EXIT_EXTENDED)")
    uc.reg_write(UC_ARM_REG_R0, result)
    return False


def simulate(elf_path: str | Path, target: str | Target = "stm32h743", *, max_instructions: int = 2_000_000_000,
             timeout_s: float = 900.0, profile: bool = True, timing: bool = True,
             events_cap: int = 2_000_000, itm_cap: int = 100_000, code: CodeTables | None = None,
             output_cap: int = OUTPUT_CAP, trace: int = 0, timing_mode: str = "instr",
             strict: bool = False, icache: bool | None = None, dcache: bool | None = None) -> SimResult:
    """Run the firmware until it exits through semihosting; faults and hangs raise SimError.

    ``timing_mode``: "instr" charges every instruction from unicorn's code hook (exact per-instruction
    attribution, for profiles); "block" charges each translation block from its precomputed schedule
    (several times faster; the same rules, approximated at block boundaries: docs/simulator-speed.md).

    ``code`` is the ELF's decode (decode_elf) when the caller already has it, e.g. the profiler.
    ``trace`` > 0 keeps the first ``trace`` executed PCs (``SimResult.pc_trace``, or the SimError's
    ``pc_trace`` attribute when the run fails), to find where two runs part.
    The board's peripherals (sim/peripherals.py) are mapped; ``strict`` makes an access to an unmodelled
    one a fault instead of a zero read reported at the end (``meta["unmodelled_peripherals"]``).
    ``icache``/``dcache`` force a cache on or off from reset whatever the firmware writes to CCR (a
    what-if on someone else's firmware); None, the default, follows the firmware.
    """
    if max_instructions < 1:
        raise SimError(f"the instruction budget must be at least 1, not {max_instructions}")
    if not timeout_s > 0:
        raise SimError(f"the wall-clock limit must be positive, not {timeout_s}")
    if timing_mode not in TIMING_MODES:
        raise SimError(f"the timing mode is one of {', '.join(TIMING_MODES)}, not {timing_mode!r}")
    block = timing and timing_mode == "block"
    tgt = load_target(target) if isinstance(target, str) else target
    core = load_core()
    image = read_image(elf_path)
    if code is None:
        code = decode_elf(elf_path, core) if timing else CodeTables([], np.zeros((1, NF), np.int64), {})
    try:
        S = T.build_state(tgt, core, code, events_cap if profile else 0, itm_cap, block=block,
                          budget=max_instructions, icache=icache, dcache=dcache)
    except ValueError as exc:
        raise SimError(str(exc)) from None
    special = image.special()
    X = N.new_state([(a, _CORE_REGS[r]) for a, r in special["div"]], trace)
    X[N.X_BUDGET] = max_instructions
    user, xuser = S.ctypes.data, X.ctypes.data
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)  # not UC_MODE_MCLASS: see the module docstring
    uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M7)
    keep = _map(uc, tgt, image)
    # the PPB is MMIO: ITM and DWT straight to the timing model, the System Control Space through
    # native.scs_* (CCR's trap bits), which pass every access on to the same callbacks
    X[N.X_PPB_READ], X[N.X_PPB_WRITE], X[N.X_PPB_USER] = T.ppb_read.address, T.ppb_write.address, user
    uclib.uc_mmio_map(uc._uch, ctypes.c_uint64(PPB_BASE), ctypes.c_size_t(N.SCS_OFFSET),
                      ctypes.c_void_p(T.ppb_read.address), ctypes.c_void_p(user),
                      ctypes.c_void_p(T.ppb_write.address), ctypes.c_void_p(user))
    xc = _attach_exceptions(uc, S, X, timing, image.vector_table)  # the SCS: SysTick, NVIC, SCB (exceptions.py)

    def on_unmask(uc_: Uc, address: int, size: int, _user) -> None:
        if xc.pending and xc.next_ready(uc_) is not None:
            uc_.emu_stop()

    unmask = E.unmask_points(code.text, lambda a: int(code.table[code_index_of(code, a), D_SIZE]))

    def add_unmask_hooks() -> None:
        """Only once an interrupt can be pending (SysTick with TICKINT, or a pend): until then a firmware's
        ``cpsie`` can unmask nothing, and every extra code hook costs on every instruction."""
        while unmask:
            addr = unmask.pop()
            uc.hook_add(UC_HOOK_CODE, on_unmask, begin=addr, end=addr)
    # Code hooks: one per instruction from the timing model, or the counter alone without it (unicorn
    # calls a lone code hook inline, several through a loop over all of them: every extra code hook
    # costs on every instruction, so the trap and hint checks below come only when needed).
    if block:  # one native call per translation block; the budget is counted there (no count= code hook)
        _add_native_hook(uc, UC_HOOK_BLOCK, T.block_hook, user)
        # CYCCNT and ITM timestamps need the accessing instruction's PC: a hook on those registers only
        _add_native_hook(uc, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, T.ppb_pc_hook, user, PPB_BASE, PPB_BASE + 0x1FFF)
    elif timing:
        _add_native_hook(uc, UC_HOOK_CODE, T.code_hook, user)
    if timing:
        dec, end = int(S[T.O_DEC]), int(S[T.O_DEC]) + len(code.table) * NF
        N.mark_it_blocks(code.text, code.ranges, S[dec + D_FLAGS: end: NF], S[dec + D_SIZE: end: NF])
    else:
        _add_native_hook(uc, UC_HOOK_CODE, N.count_hook, xuser)
    if trace:
        _add_native_hook(uc, UC_HOOK_CODE, N.trace_hook, xuser)
    if timing:
        # D-side accesses cost nothing extra in TCM: hook only the other regions (fewer slow paths)
        for r in tgt.regions:
            if not r.zero_wait:
                _add_native_hook(uc, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, T.mem_hook, user, r.base, r.end - 1)
    run = _Run([], output_cap=output_cap)

    def executed() -> int:
        return int(S[T.NINSTR]) if timing else int(X[N.X_N])

    def recent(n: int) -> list[int]:
        """The PCs of the last ``n`` instructions that started, oldest first."""
        if timing:
            pos, o = int(S[T.RING_POS]), int(S[T.O_RING])
            return [int(S[o + k % T.RING]) for k in range(max(0, pos - min(n, T.RING)), pos)]
        pos = int(X[N.X_N])
        return [int(X[N.X_RING + (k & (N.RING - 1))]) for k in range(max(1, pos - min(n, N.RING) + 1), pos + 1)]

    def last_pc() -> int:
        if block and S[T.BLK_E] >= 0:  # block mode: the PC when it lies in the running block, else its last
            e = int(S[T.BLK_E])
            pc = uc.reg_read(UC_ARM_REG_PC)
            return pc if S[e + T.B_TAG] <= pc < S[e + T.B_TAG] + S[e + T.B_SIZE] else int(S[e + T.B_LASTPC])
        pcs = recent(1)
        return pcs[-1] if pcs else -1

    def where(pc: int) -> str:
        return f"{image.symbols.name(pc)} ({_insn_text(uc, code, pc)})"

    def on_interrupt(uc_: Uc, intno: int, _user) -> None:
        try:
            pc = uc_.reg_read(UC_ARM_REG_PC)
            if intno == 7 and bytes(uc_.mem_read(pc, 2)) == b"\xab\xbe":
                if _semihosting(uc_, run, pc, where):
                    uc_.emu_stop()
                else:
                    uc_.reg_write(UC_ARM_REG_PC, (pc + 2) | 1)
                return
            if intno == 3:
                raise _Stop(_branch_fault(tgt, pc, last_pc(), where))
            if intno == 8:
                if not xc.active:
                    raise _Stop(f"exception return to 0x{pc | 1:08x} by {where(last_pc())}, but no exception is "
                                "active")
                bad = xc.exception_return(uc_, pc | 1)
                if bad:
                    raise _Stop(f"{bad} by {where(last_pc())}")
                _exc_event(S, timing, xc, uc_)
                return
            if intno == 2:
                if xc.priority(E.SVCALL) >= xc.execution_priority(uc_):
                    raise _Stop(f"SVC at {where(last_pc())} with SVCall masked or not above the current priority "
                                "(a HardFault on silicon; escalation is not modelled)")
                try:
                    xc.enter(uc_, E.SVCALL, pc)
                except E.MissingHandler as missing:
                    raise _Stop(f"SVC at {where(last_pc())}: {missing}") from None
                _exc_event(S, timing, xc, uc_)
                return
            raise _Stop(f"{EXCEPTIONS.get(intno, f'exception {intno}')} at {where(pc)}")
        except _Stop as exc:
            run.fault = str(exc)
            uc_.emu_stop()
        except BaseException as exc:  # keep it for after emu_start
            run.error = exc
            uc_.emu_stop()

    uc.hook_add(UC_HOOK_INTR, on_interrupt)
    bus = _attach_peripherals(uc, tgt, run, strict, last_pc, where)

    # The faulting access's own PC: the last instruction whose code hook ran (unicorn syncs the PC
    # before a memory callback only until the first register write of the PC, e.g. after a
    # semihosting call).
    def on_unmapped(uc_: Uc, access: int, address: int, size: int, value: int, _user) -> bool:
        if access == 21:  # fetch: the PC is the target; the branch is the last instruction that ran
            run.fault = _branch_fault(tgt, address, last_pc(), where)
        else:
            kind = {19: "read of", 20: "write to"}.get(access, "access to")
            run.fault = f"BusFault: {size}-byte {kind} unmapped address 0x{address:08x} at {where(last_pc())}"
        return False  # let unicorn stop with its error; run.fault has the details

    uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED | UC_HOOK_MEM_FETCH_UNMAPPED, on_unmapped)

    def on_write_prot(uc_: Uc, access: int, address: int, size: int, value: int, _user) -> bool:
        r = tgt.regions.region_for(address)
        run.fault = (f"BusFault: {size}-byte store to {r.name if r else 'read-only memory'} at 0x{address:08x} "
                     f"by {where(last_pc())} (flash is read-only to the CPU)")
        return False

    uc.hook_add(UC_HOOK_MEM_WRITE_PROT, on_write_prot)

    def on_sev(uc_: Uc, address: int, size: int, _user) -> None:
        run.event = True

    if special["wfe"]:  # the event register matters only to a WFE
        for addr, _ in special["sev"]:
            uc.hook_add(UC_HOOK_CODE, on_sev, begin=addr, end=addr)
    hints = {addr: (kind, size) for kind in ("wfi", "wfe", "yield") for addr, size in special[kind]}

    def after_hint() -> tuple[str, int] | None:
        """(kind, address) when the last instruction that ran is WFI, WFE or YIELD and the PC is
        just past it: unicorn returns from a WFI with nothing pending, and stops with "invalid
        instruction" after WFE and YIELD."""
        pc = uc.reg_read(UC_ARM_REG_PC)
        if block:  # the hint is the instruction just before the PC
            return next(((kind, a) for a, (kind, size) in hints.items() if a + size == pc), None)
        last = last_pc()
        kind, size = hints.get(last, ("", 0))
        return (kind, last) if kind and pc == last + size else None

    vt = bytes(uc.mem_read(image.vector_table, 8))
    sp, reset = (int.from_bytes(vt[i:i + 4], "little") for i in (0, 4))
    uc.reg_write(UC_ARM_REG_SP, sp)
    start = time.perf_counter()
    pc = reset | 1
    while not run.fault:  # (a pending exception with no handler sets it between runs)
        left = timeout_s - (time.perf_counter() - start)
        if left <= 0:  # the wall-clock limit, reached between chunks
            break
        failed = None
        if unmask and (xc.pending or xc.interrupt_source()):
            add_unmask_hooks()
        chunk = _chunk(xc, timing)
        budget = max(1, max_instructions - executed())
        if hints.get(pc & ~1, ("",))[0] == "wfi" and not (xc.interrupt_source() or xc.pending):
            # resuming at a WFI nothing can end (bare unicorn would run past it: measured)
            run.fault = _wait_fault("wfi", xc, where(pc & ~1))
            break
        try:
            uc.emu_start(pc, 0xFFFF_FFFF, timeout=max(1, int(left * 1e6)),
                         count=_count(block, timing, budget, chunk))
        except UcError as err_:
            failed = err_
        if run.fault or run.error or X[N.X_FAULT] or run.exit_code is not None:
            break
        pc = uc.reg_read(UC_ARM_REG_PC) | 1
        hint = after_hint()
        if hint is not None:
            kind, addr = hint
            if kind == "yield" or (kind == "wfe" and run.event):  # YIELD, or WFE with the event set: go on
                if kind == "wfe":
                    run.event = False
                continue
            if kind == "wfi" and xc.interrupt_source():  # sleep until the next tick
                xc.advance(xc.cycles_to_event() or 0)
                if _take_pending(uc, xc, S, timing, run, where):
                    pc = uc.reg_read(UC_ARM_REG_PC) | 1
                continue
            run.fault = _wait_fault(kind, xc, where(addr))
            break
        if failed is not None:
            here = pc & ~1
            if not uc.reg_read(UC_ARM_REG_XPSR) & N.EPSR_T:
                run.fault = (f"UsageFault (INVSTATE): branch to 0x{here:08x} with bit 0 clear (Arm state, which "
                             f"the M-profile does not have) from {where(last_pc())}")
            else:
                what = "undefined instruction" if failed.errno == UC_ERR_INSN_INVALID else str(failed)
                run.fault = f"{what} at {where(here)}"
            break
        req = int(X[N.X_REQ]) if failed is None else 0
        if req:
            # the program set a CCR trap bit for the first time: add its hooks and resume where it stopped
            X[N.X_REQ] = 0
            if req & N.REQ_UNALIGN:
                X[N.X_UNALIGN_ON] = 1
                for r in tgt.regions:
                    _add_native_hook(uc, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, N.unaligned_hook, xuser, r.base,
                                     r.end - 1)
            if req & N.REQ_DIV:
                X[N.X_DIV_ON] = 1
                for addr, _ in special["div"]:
                    _add_native_hook(uc, UC_HOOK_CODE, N.div_hook, xuser, addr, addr)
            if pc & ~1 == last_pc() and not block:  # stopped before the store finished: it runs again, count it once
                if timing:
                    S[T.NINSTR] -= 1
                    S[T.RING_POS] -= 1
                    S[T.PEND_IDX] = -1
                else:
                    X[N.X_N] -= 1
        if failed is None and (xc.stopped or xc.pending or chunk < budget):
            if xc.stopped and pc & ~1 == last_pc():  # stopped inside the ICSR store: it has happened
                pc = ((pc & ~1) + _insn_size(uc, code, pc & ~1)) | 1
                uc.reg_write(UC_ARM_REG_PC, pc)
            xc.stopped = False
            if _take_pending(uc, xc, S, timing, run, where):
                pc = uc.reg_read(UC_ARM_REG_PC) | 1
                continue
            if executed() < max_instructions:
                forever = None if xc.interrupt_source() or xc.syst_on else _stuck(uc, code, recent, pc, where)
                if forever:
                    run.fault = forever
                    break
                pc = uc.reg_read(UC_ARM_REG_PC) | 1
                continue
        if req and executed() < max_instructions:  # resume after adding the trap hooks
            continue
        break
    wall = time.perf_counter() - start
    if run.error is not None:
        raise run.error
    if block:
        T.block_finish(S)
    elif timing:
        T._finalize(S, -1)
    n_instr = min(executed(), max_instructions)
    if X[N.X_FAULT] and run.fault is None:
        run.fault = _trap_fault(X, where, last_pc())
    if run.fault is None and run.exit_code is None:
        why = "the wall-clock limit" if wall >= timeout_s * 0.99 else f"the budget of {max_instructions:,} instructions"
        run.fault = f"stopped by {why} without exiting (at {image.symbols.name(uc.reg_read(UC_ARM_REG_PC))})"
    pc_trace = X[int(X[N.X_O_TRACE]): int(X[N.X_O_TRACE]) + int(X[N.X_TRACE_N])].copy() if trace else None
    if run.fault is not None:
        last = "; ".join(f"{image.symbols.name(a)}: {_insn_text(uc, code, a)}" for a in recent(8)) or "none recorded"
        err = SimError(f"{Path(elf_path).name}: {run.fault}; last instructions: {last}")
        err.pc_trace = pc_trace
        err.stdout = "".join(run.stdout)
        raise err
    del keep
    res = _result(S, code, str(elf_path), tgt.name, run, wall, timing, n_instr)
    res.pc_trace = pc_trace
    res.meta["run"] = {"icache": _cache_setting(icache), "dcache": _cache_setting(dcache),
                       "timing": timing_mode if timing else "off", "strict": strict}
    if bus.unmodelled:
        res.meta["unmodelled_peripherals"] = [{**u, "first_at": image.symbols.name(u["first_pc"])}
                                              for u in bus.report()]
    if timing:  # the simulator's version and the estimated figures this run relied on (run.json)
        res.meta["simulator"] = {**T.provenance(S, tgt, core, code), "timing_mode": timing_mode}
    return res


def _cache_setting(forced: bool | None) -> str:
    """How a cache was set in a run, for run.json and the profile header."""
    return "as the firmware sets it" if forced is None else ("forced on" if forced else "forced off")


def _attach_exceptions(uc: Uc, S: np.ndarray, X: np.ndarray, timing: bool, vector_table: int) -> E.Exceptions:
    """Map the System Control Space as Python MMIO: SysTick, ICSR and the priorities are served by
    exceptions.py, every other offset by the native SCS callbacks (CCR traps, caches), as before."""
    xuser = ctypes.c_void_p(X.ctypes.data)
    scs = PPB_BASE + N.SCS_OFFSET

    def native_read(uc_: Uc, addr: int, size: int) -> int:
        return int(N.scs_read.ctypes(uc_._uch, addr - scs, size, xuser))

    def native_write(uc_: Uc, addr: int, size: int, value: int) -> None:
        N.scs_write.ctypes(uc_._uch, addr - scs, size, value, xuser)

    if timing:
        def clock() -> int:
            return int(S[T.CLOCK])

        def advance(c: int) -> None:
            # the instruction before is charged first (the new PC is already set): its cycles and its call
            # or return event then come before the exception's
            T.retire(S, uc.reg_read(UC_ARM_REG_PC) & ~1)
            S[T.CLOCK] += c
    else:
        def clock() -> int:
            return int(X[N.X_N])

        def advance(c: int) -> None:
            pass

    exc = E.Exceptions(clock, advance, native_read, native_write, vector_table)
    uc.mmio_map(scs, PPB_SIZE - N.SCS_OFFSET, lambda uc_, off, size, _u: exc.read(uc_, scs + off, size), None,
                lambda uc_, off, size, value, _u: exc.write(uc_, scs + off, size, value), None)
    return exc


def _attach_peripherals(uc: Uc, tgt: Target, run: _Run, strict: bool, last_pc, where) -> P.Bus:
    """The board's devices (console output through the run, so the cap applies) and its peripheral space."""
    def stop(msg: str) -> None:
        run.fault = run.fault or f"{msg} at {where(last_pc())}"
        uc.emu_stop()

    def write_out(text: str) -> None:
        try:
            run.write(text)
        except _Stop as exc:
            stop(str(exc))

    return P.attach(uc, tgt, write_out, strict, last_pc, stop)


def _branch_fault(tgt: Target, target_pc: int, branch_pc: int, where) -> str:
    src = where(branch_pc) if branch_pc >= 0 else "the reset vector"
    if target_pc >= 0xFFFF_FF00:
        return (f"branch to 0x{target_pc:08x} from {src}: an exception return (EXC_RETURN) outside an "
                "exception handler")
    if tgt.regions.region_for(target_pc) is None:
        return f"branch to unmapped address 0x{target_pc:08x} from {src}"
    return f"instruction fetch fault at 0x{target_pc:08x} after {src}"


def _wait_fault(kind: str, exc: E.Exceptions, where: str) -> str:
    nvic = any(exc.regs.get(E.NVIC_ISER + 4 * k, 0) for k in range(16))
    what = "an interrupt" if kind == "wfi" else "an event"
    if nvic:
        return (f"{kind.upper()} at {where} waits for {what}: an NVIC interrupt is enabled, but the simulator "
                "models no device interrupts, so it never comes")
    return f"{kind.upper()} at {where} waits for {what} that never comes (nothing can wake the core)"


def _insn_size(uc: Uc, code: CodeTables, addr: int) -> int:
    """Bytes of the Thumb instruction at ``addr``: from the decode, else from its first halfword (ARMv7-M
    ARM A5.1: 0b11101, 0b11110 and 0b11111 in bits 15:11 start a 32-bit instruction)."""
    k = code_index_of(code, addr)
    if k >= 0:
        return int(code.table[k, D_SIZE])
    return 4 if int.from_bytes(uc.mem_read(addr, 2), "little") >> 11 in (0b11101, 0b11110, 0b11111) else 2


def _count(block: bool, timing: bool, budget: int, chunk: int) -> int:
    """emu_start's instruction count: the budget or the chunk to the next tick. Block mode counts its
    budget in the block hook, so it stops early only when an exception source is due (a count hook
    costs speed, and a block cut there is charged again from its middle: docs/simulator-speed.md)."""
    if block:
        return chunk if chunk < budget else 0
    return min(budget, chunk) if timing or chunk < budget else 0


def _chunk(exc: E.Exceptions, timing: bool) -> int:
    """Instructions to run before looking at SysTick again: a quarter of the cycles to its next wrap
    (an instruction can cost many cycles), or a long stretch when no tick is due."""
    left = exc.cycles_to_event()
    if left is None:
        return E.CHUNK
    return max(1, left // 4) if timing else left


def _exc_event(S: np.ndarray, timing: bool, exc: E.Exceptions, uc: Uc) -> None:
    """Events for the entry or return just made: a call for a handler entered (its time shows as its own
    function, its ``bx lr`` closes it), with the stacked frame's address on entry and return, so the
    profile can tell a return to another context (a task switch) from a return to the one interrupted."""
    if not timing or not exc.note:
        return
    note, exc.note = exc.note, ()
    now = S[T.CLOCK]
    if note[0] == "enter":
        T._event(S, now, EXC_ENTER, note[1])
    if note[0] in ("enter", "tail"):
        T._event(S, now, 0, uc.reg_read(UC_ARM_REG_PC) & ~1)
    else:
        T._event(S, now, EXC_LEAVE, note[1])
        T._event(S, now, RESUMED, note[2])


def _take_pending(uc: Uc, exc: E.Exceptions, S: np.ndarray, timing: bool, run: _Run,
                  where: Callable[[int], str]) -> bool:
    n = exc.next_ready(uc)
    if n is None:
        return False
    pc = uc.reg_read(UC_ARM_REG_PC)
    try:
        exc.enter(uc, n, pc)
    except E.MissingHandler as missing:
        run.fault = f"{E.NAMES.get(n, n)} taken at {where(pc & ~1)}: {missing}"
        return False
    _exc_event(S, timing, exc, uc)
    return True


def _stuck(uc: Uc, code: CodeTables, recent, pc: int, where) -> str | None:
    """A loop that can never end: the last PCs repeat with a short period, no instruction in it stores,
    and one more pass leaves every register as it was (nothing can change what it reads: no interrupt
    source is enabled)."""
    pcs = recent(32)
    if len(pcs) < 32:
        return None
    period = next((p for p in range(1, 17) if all(pcs[k] == pcs[k - p] for k in range(p, 32))), 0)
    if not period:
        return None
    for a in set(pcs[-period:]):
        k = code_index_of(code, a)
        if k < 0 or code.table[k, D_FLAGS] & (F_STORE | F_CALL):
            return None
    regs = [UC_ARM_REG_R0 + k for k in range(13)] + [UC_ARM_REG_SP, UC_ARM_REG_LR, UC_ARM_REG_XPSR]
    before = [uc.reg_read(r) for r in regs]
    try:
        uc.emu_start(pc, 0xFFFF_FFFF, count=period)
    except UcError:
        return None
    if [uc.reg_read(r) for r in regs] != before or (uc.reg_read(UC_ARM_REG_PC) | 1) != pc:
        return None
    return (f"waiting forever in the loop at {where(pc & ~1)} ({period} instructions, no store, the same registers "
            "after each pass): SysTick is not enabled and no other interrupt can change what it reads")


def code_index_of(code: CodeTables, pc: int) -> int:
    for lo, hi, first in code.ranges:
        if lo <= pc < hi:
            return first + (pc - lo) // 2
    return -1


def _trap_fault(X: np.ndarray, where, last_pc: int) -> str:
    pc = int(X[N.X_FPC]) if X[N.X_FPC] >= 0 else last_pc
    if X[N.X_FAULT] == N.FAULT_DIV0:
        return f"UsageFault (DIVBYZERO): integer division by zero with CCR.DIV_0_TRP set at {where(pc)}"
    kind = "write to" if X[N.X_FWRITE] else "read of"
    return (f"UsageFault (UNALIGNED): {int(X[N.X_FSIZE])}-byte {kind} unaligned address 0x{int(X[N.X_FADDR]):08x} "
            f"with CCR.UNALIGN_TRP set at {where(pc)}")


_CS = None


def _insn_text(uc: Uc, code: CodeTables, pc: int) -> str:
    """The instruction at ``pc``, from the decode when there is one, else disassembled from memory."""
    if pc < 0:
        return "?"
    text = code.text.get(pc)
    if text is not None:
        return text
    global _CS
    import capstone

    if _CS is None:
        _CS = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    try:
        for insn in _CS.disasm(bytes(uc.mem_read(pc, 4)), pc, 1):
            return f"{insn.mnemonic} {insn.op_str}".strip()
    except UcError:
        pass
    return "?"


def _result(S, code: CodeTables, elf: str, target: str, run: _Run, wall: float, timing: bool, n: int) -> SimResult:
    ne = len(code.table)
    stats = S[int(S[T.O_STATS]): int(S[T.O_STATS]) + ne * T.NS].reshape(ne, T.NS)
    ev_n, itm_n = min(int(S[T.EV_N]), int(S[T.EV_CAP])), min(int(S[T.ITM_N]), int(S[T.ITM_CAP]))
    ev = S[int(S[T.O_EV]): int(S[T.O_EV]) + 3 * ev_n].reshape(ev_n, 3)
    itm = S[int(S[T.O_ITM]): int(S[T.O_ITM]) + T.ITM_FIELDS * itm_n].reshape(itm_n, T.ITM_FIELDS)
    events = np.zeros(ev_n, EVENT_DTYPE)
    events["cycle"], events["kind"], events["pc"] = ev[:, 0], ev[:, 1], ev[:, 2]
    events = switch_contexts(nest_tail_calls(events))
    itm_rec = np.zeros(itm_n, ITM_DTYPE)
    itm_rec["cycle"], itm_rec["port"], itm_rec["value"] = itm[:, 0], itm[:, 1], itm[:, 2] & 0xFFFFFFFF
    itm_rec["icache_miss"], itm_rec["dcache_miss"], itm_rec["instructions"] = itm[:, 3], itm[:, 4], itm[:, 5]
    itm_rec["stalls"] = itm[:, 6:12]
    names = STALL_KINDS
    return SimResult(
        elf=elf, target=target, cycles=int(S[T.CLOCK]), instructions=n, exit_code=run.exit_code,
        stdout="".join(run.stdout), itm=itm_rec, events=events, ranges=list(code.ranges),
        pc_stats={name: stats[:, k].copy() for k, name in enumerate(T.STAT_NAMES)},
        stalls={name: int(S[T.ST_LOAD + k]) for k, name in enumerate(names)},
        icache={"accesses": int(S[T.IC_ACC]), "misses": int(S[T.IC_MISS])},
        dcache={"accesses": int(S[T.DC_ACC]), "misses": int(S[T.DC_MISS]), "writebacks": int(S[T.DC_WB])},
        wall_seconds=wall, timing=timing,
        events_dropped=int(S[T.EV_N]) - ev_n if int(S[T.EV_CAP]) > 0 else 0, itm_dropped=int(S[T.ITM_N]) - itm_n)
