"""Exceptions in software around unicorn, which never takes one itself: SysTick, SVC and PendSV with
stacking, EXC_RETURN, tail-chaining, PRIMASK and BASEPRI (Armv7-M ARM, DDI 0403E, B1.5.6 entry, B1.5.8
return, B3.3 SysTick; unicorn's behaviour: /work/shared/ref/unicorn-notes.md, summarised in the docstrings).

- The SysTick block (0xE000E010..) and the SCB page (0xE000EC00..) are Python MMIO: SysTick counts the
  simulated clock (the timing model's cycles, or instructions without it), COUNTFLAG is set by a wrap and
  cleared by reading CSR; ICSR's PENDSVSET/PENDSTSET pend, the SHPR registers give priorities. Other
  offsets of those pages go to the native SCS callbacks (CCR, cache maintenance, CCSIDR) unchanged.
- The engine runs unicorn in chunks that end at the next SysTick wrap; pending exceptions are taken
  between chunks and right after the instruction that pended them (the MMIO write stops the emulator).
- Entry pushes the basic frame, or the extended one (s0-s15, FPSCR) when CONTROL.FPCA is set (stored at
  once rather than lazily: the same state, the lazy-stacking timing is not modelled), sets LR to
  EXC_RETURN, IPSR, CONTROL.SPSEL = 0, and writes APSR_NZCV, which makes unicorn rebuild its cached
  handler-mode flags (a write of IPSR alone does not). ``bx lr`` to EXC_RETURN reaches the INTR hook as
  intno 8; return unstacks (honouring the xPSR bit 9 realignment) or tail-chains into a pending one.
- Entry and exit cost the cycles of ``core.exceptions`` when the core file has them, else 12 each
  (Cortex-M7 TRM, DDI 0489F, 3.3 "interrupt latency 12 cycles"; the exit figure is an estimate).
- A loop that can never end (the same registers after one more pass, no store in it, no interrupt
  source enabled: e.g. a delay on a tick that was never enabled) is reported as waiting forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from unicorn import Uc
from unicorn.arm_const import (
    UC_ARM_REG_APSR_NZCV,
    UC_ARM_REG_BASEPRI,
    UC_ARM_REG_CONTROL,
    UC_ARM_REG_FPSCR,
    UC_ARM_REG_IPSR,
    UC_ARM_REG_LR,
    UC_ARM_REG_MSP,
    UC_ARM_REG_PC,
    UC_ARM_REG_PRIMASK,
    UC_ARM_REG_PSP,
    UC_ARM_REG_R0,
    UC_ARM_REG_R12,
    UC_ARM_REG_S0,
    UC_ARM_REG_XPSR,
)

from tinyscope.targets.armv7m import REGISTERS, SCS_BASE

SVCALL, PENDSV, SYSTICK, HARDFAULT = 11, 14, 15, 3
NAMES = {SVCALL: "SVCall", PENDSV: "PendSV", SYSTICK: "SysTick", HARDFAULT: "HardFault"}
ENTRY_CYCLES = 12  # Cortex-M7 TRM (DDI 0489F) 3.3: 12-cycle interrupt latency
EXIT_CYCLES = 12  # estimate: the TRM gives no exit figure; taken equal to entry
SYST_PAGE, SCB_PAGE, PAGE = SCS_BASE, SCS_BASE + 0xC00, 0x400
SYST_CSR, SYST_RVR, SYST_CVR = (REGISTERS[k][0] for k in ("SYST_CSR", "SYST_RVR", "SYST_CVR"))
ICSR, VTOR = REGISTERS["SCB_ICSR"][0], REGISTERS["SCB_VTOR"][0]
NVIC_ISER, SHPR2, SHPR3 = (REGISTERS[k][0] for k in ("NVIC_ISER0", "SCB_SHPR2", "SCB_SHPR3"))
PENDSVSET, PENDSVCLR, PENDSTSET, PENDSTCLR = 1 << 28, 1 << 27, 1 << 26, 1 << 25
CHUNK = 4_000_000  # instructions between checks for a loop that cannot end
_FRAME = [UC_ARM_REG_R0 + k for k in range(4)] + [UC_ARM_REG_R12, UC_ARM_REG_LR]


class MissingHandler(Exception):
    """The vector table has no Thumb handler for an exception being taken (a HardFault on silicon)."""


@dataclass
class Exceptions:
    """The NVIC's view of the system exceptions during one run."""

    clock: object  # () -> int: the current cycle
    advance: object  # (cycles) -> None: charge cycles to the clock (entry/exit, sleep)
    native_read: object  # (uc, address, size) -> int: the SCS callbacks for offsets not modelled here
    native_write: object
    vector_table: int
    regs: dict[int, int] = field(default_factory=dict)
    pending: set[int] = field(default_factory=set)
    active: list[int] = field(default_factory=list)  # nesting, outermost first
    base: int = 0  # clock when the SysTick counter last reloaded
    seen_wraps: int = 0  # wraps already pended / flagged
    countflag: bool = False
    taken: dict[str, int] = field(default_factory=dict)
    stopped: bool = False  # an MMIO write pended something: the emulator was stopped to take it
    # what the last entry or return did, for the profile's call stacks: ("enter", frame address),
    # ("tail", 0) or ("leave", frame address, resumed PC)
    note: tuple = ()

    # ---- SysTick ----
    @property
    def syst_on(self) -> bool:
        return bool(self.regs.get(SYST_CSR, 0) & 1)

    def _period(self) -> int:
        return (self.regs.get(SYST_RVR, 0) & 0xFFFFFF) + 1

    def _update(self) -> None:
        """Fold wraps up to now into COUNTFLAG and, with TICKINT, a pending SysTick."""
        if not self.syst_on or self._period() < 2:
            return
        wraps = (self.clock() - self.base) // self._period()
        if wraps > self.seen_wraps:
            self.seen_wraps = wraps
            self.countflag = True
            if self.regs.get(SYST_CSR, 0) & 2:
                self.pending.add(SYSTICK)

    def cycles_to_event(self) -> int | None:
        """Cycles until the next SysTick wrap, or None when the counter is off."""
        if not self.syst_on or self._period() < 2:
            return None
        return max(1, self.base + (self.seen_wraps + 1) * self._period() - self.clock())

    def interrupt_source(self) -> bool:
        """SysTick can interrupt (enabled, TICKINT, a reload value that wraps)."""
        return self.syst_on and bool(self.regs.get(SYST_CSR, 0) & 2) and self._period() >= 2

    # ---- MMIO ----
    def read(self, uc: Uc, addr: int, size: int) -> int:
        self._update()
        if addr == SYST_CSR:
            v = (self.regs.get(SYST_CSR, 0) & 7) | (1 << 2) | (int(self.countflag) << 16)
            self.countflag = False
            return v
        if addr == SYST_CVR:
            if not self.syst_on:
                return self.regs.get(SYST_CVR, 0)
            return (self._period() - 1 - (self.clock() - self.base) % self._period()) & 0xFFFFFF
        if addr == ICSR:
            v = self.regs.get(ICSR, 0) & ~(PENDSVSET | PENDSTSET | 0x1FF)
            return v | (PENDSVSET if PENDSV in self.pending else 0) | (PENDSTSET if SYSTICK in self.pending else 0) \
                | (self.active[-1] if self.active else 0)
        if SYST_CSR <= addr < SYST_CSR + 0x10 or addr in (SHPR2, SHPR3, VTOR):
            return self.regs.get(addr, 0)
        return self.native_read(uc, addr, size)

    def write(self, uc: Uc, addr: int, size: int, value: int) -> None:
        self._update()
        if addr == SYST_CSR:
            was, old = self.syst_on, self.regs.get(SYST_CSR, 0)
            self.regs[SYST_CSR] = value & 7
            if value & 1 and not was:
                self.base, self.seen_wraps = self.clock(), 0
            if (value ^ old) & 3:  # ENABLE or TICKINT changed: the engine's current stretch was sized
                self.stopped = True  # without it (and may need its unmask hooks): size it again
                uc.emu_stop()
        elif addr == SYST_RVR:
            self.regs[SYST_RVR] = value & 0xFFFFFF
        elif addr == SYST_CVR:  # any write clears the counter and COUNTFLAG; it reloads on the next tick
            self.base, self.seen_wraps, self.countflag = self.clock(), 0, False
        elif addr == ICSR:
            if value & PENDSVCLR:
                self.pending.discard(PENDSV)
            if value & PENDSTCLR:
                self.pending.discard(SYSTICK)
            new = (value & PENDSVSET and PENDSV) or 0, (value & PENDSTSET and SYSTICK) or 0
            if any(new):
                self.pending.update(n for n in new if n)
                self.stopped = True
                uc.emu_stop()  # take it after this instruction, as the NVIC would
        elif addr in (SHPR2, SHPR3, VTOR):
            self.regs[addr] = value
            if addr == VTOR:
                self.native_write(uc, addr, size, value)
        else:
            if NVIC_ISER <= addr < NVIC_ISER + 0x40:
                self.regs[addr] = value  # remembered: a WFI with an interrupt enabled says so
            self.native_write(uc, addr, size, value)

    # ---- priorities ----
    def priority(self, n: int) -> int:
        if n == HARDFAULT:
            return -1
        reg, shift = {SVCALL: (SHPR2, 24), PENDSV: (SHPR3, 16), SYSTICK: (SHPR3, 24)}[n]
        return (self.regs.get(reg, 0) >> shift) & 0xFF

    def execution_priority(self, uc: Uc) -> int:
        pri = min([self.priority(n) for n in self.active], default=256)
        if uc.reg_read(UC_ARM_REG_PRIMASK) & 1:
            return min(pri, 0)
        basepri = uc.reg_read(UC_ARM_REG_BASEPRI) & 0xFF
        return min(pri, basepri) if basepri else pri

    def next_ready(self, uc: Uc) -> int | None:
        """The pending exception that may preempt now (lowest priority value, then lowest number)."""
        self._update()
        if not self.pending:
            return None
        n = min(self.pending, key=lambda k: (self.priority(k), k))
        return n if self.priority(n) < self.execution_priority(uc) else None

    # ---- entry and return ----
    def enter(self, uc: Uc, n: int, return_pc: int, tail: int | None = None) -> None:
        """Take exception ``n``: push the frame (unless tail-chaining with EXC_RETURN ``tail``), vector."""
        vtor = self.regs.get(VTOR, self.vector_table)
        handler_pc = int.from_bytes(uc.mem_read(vtor + 4 * n, 4), "little")
        if not handler_pc & 1:  # 0 (no handler) or an Arm-state address: the vector fetch faults
            raise MissingHandler(f"no {NAMES.get(n, f'exception {n}')} handler runs (vector table entry "
                                 f"0x{vtor + 4 * n:08x} holds 0x{handler_pc:08x})")
        self.pending.discard(n)
        if tail is None:
            control = uc.reg_read(UC_ARM_REG_CONTROL)
            handler = bool(self.active)
            use_psp = not handler and bool(control & 2)
            fp = bool(control & 4)
            sp = uc.reg_read(UC_ARM_REG_PSP if use_psp else UC_ARM_REG_MSP)
            words = 26 if fp else 8
            frame_sp = (sp - 4 * words) & ~7
            realign = (sp - 4 * words) & 4
            vals = [uc.reg_read(r) for r in _FRAME] + [return_pc & ~1,
                                                      (uc.reg_read(UC_ARM_REG_XPSR) & ~0x1FF & ~(1 << 9))
                                                      | (1 << 9 if realign else 0) | (self.active[-1] if handler
                                                                                       else 0)]
            if fp:
                vals += [uc.reg_read(UC_ARM_REG_S0 + k) for k in range(16)] + [uc.reg_read(UC_ARM_REG_FPSCR), 0]
            uc.mem_write(frame_sp, np.array(vals, np.uint32).tobytes())
            msp, psp = uc.reg_read(UC_ARM_REG_MSP), uc.reg_read(UC_ARM_REG_PSP)
            msp, psp = (msp, frame_sp) if use_psp else (frame_sp, psp)
            exc_return = 0xFFFFFFE1 | (0 if fp else 0x10) | (0 if handler else 8) | (4 if use_psp else 0)
            # mode first, then CONTROL, then both stack pointers by name: unicorn swaps its banked SP
            # only on a CONTROL.SPSEL change in thread mode, so explicit writes keep both right
            uc.reg_write(UC_ARM_REG_IPSR, n)
            uc.reg_write(UC_ARM_REG_CONTROL, control & ~6)  # handler: MSP, FPCA clear
            uc.reg_write(UC_ARM_REG_MSP, msp)
            uc.reg_write(UC_ARM_REG_PSP, psp)
            self.note = ("enter", frame_sp)
        else:
            exc_return = tail
            self.note = ("tail", 0)
        self.active.append(n)
        uc.reg_write(UC_ARM_REG_LR, exc_return)
        uc.reg_write(UC_ARM_REG_IPSR, n)
        uc.reg_write(UC_ARM_REG_APSR_NZCV, uc.reg_read(UC_ARM_REG_APSR_NZCV))  # refreshes unicorn's hflags
        uc.reg_write(UC_ARM_REG_PC, handler_pc | 1)
        self.advance(ENTRY_CYCLES if tail is None else ENTRY_CYCLES // 2)
        self.taken[NAMES.get(n, str(n))] = self.taken.get(NAMES.get(n, str(n)), 0) + 1

    def exception_return(self, uc: Uc, exc_return: int) -> str | None:
        """``bx`` to EXC_RETURN: tail-chain or unstack; a message when it is not a valid return."""
        if not self.active:
            return f"exception return to 0x{exc_return:08x} outside an exception handler"
        if exc_return & 0xFFFFFFE0 != 0xFFFFFFE0 or (exc_return & 0xF) not in (1, 9, 0xD):
            return f"invalid EXC_RETURN 0x{exc_return:08x}"
        self.active.pop()
        nxt = self.next_ready(uc)
        if nxt is not None:  # tail-chain: the frame stays, the next handler returns through it
            self.enter(uc, nxt, 0, tail=exc_return)
            return None
        to_thread, use_psp, fp = bool(exc_return & 8), bool(exc_return & 4), not exc_return & 0x10
        sp = uc.reg_read(UC_ARM_REG_PSP if use_psp else UC_ARM_REG_MSP)
        words = 26 if fp else 8
        vals = np.frombuffer(bytes(uc.mem_read(sp, 4 * words)), np.uint32).tolist()
        for r, v in zip(_FRAME, vals[:6]):
            uc.reg_write(r, v)
        if fp:
            for k in range(16):
                uc.reg_write(UC_ARM_REG_S0 + k, vals[8 + k])
            uc.reg_write(UC_ARM_REG_FPSCR, vals[24])
        xpsr = vals[7]
        sp += 4 * words + (4 if xpsr & (1 << 9) else 0)
        msp, psp = uc.reg_read(UC_ARM_REG_MSP), uc.reg_read(UC_ARM_REG_PSP)
        msp, psp = (msp, sp) if use_psp else (sp, psp)
        control = uc.reg_read(UC_ARM_REG_CONTROL) & ~6
        control |= (2 if to_thread and use_psp else 0) | (4 if fp else 0)
        ipsr = 0 if to_thread else self.active[-1]
        uc.reg_write(UC_ARM_REG_XPSR, (xpsr & ~0x1FF & ~(1 << 9)) | ipsr)
        uc.reg_write(UC_ARM_REG_IPSR, ipsr)
        uc.reg_write(UC_ARM_REG_CONTROL, control)
        uc.reg_write(UC_ARM_REG_MSP, msp)
        uc.reg_write(UC_ARM_REG_PSP, psp)
        uc.reg_write(UC_ARM_REG_APSR_NZCV, xpsr & 0xF8000000)
        uc.reg_write(UC_ARM_REG_PC, vals[6] | 1)
        self.note = ("leave", sp - 4 * words - (4 if xpsr & (1 << 9) else 0), vals[6] & ~1)
        self.advance(EXIT_CYCLES)
        return None


def unmask_points(text: dict[int, str], sizes) -> list[int]:
    """Addresses just after each instruction that can unmask interrupts (``cpsie i``, an MSR to PRIMASK
    or BASEPRI): a pending exception is taken there, not at the next SysTick check. ``sizes(pc)`` gives
    an instruction's length."""
    out = []
    for pc, t in text.items():
        m, _, ops = t.partition(" ")
        if m == "cpsie" or (m == "msr" and ops.split(",")[0].strip() in ("primask", "basepri", "basepri_max")):
            out.append(pc + sizes(pc))
    return sorted(out)
