"""Memory-mapped peripherals for register-level STM32 firmware (what HAL start-up code polls), declared
per board by model name and base address (``[[peripheral]]`` in the board file), Qiling-style.

Each model is written from the reference manual (RM0433 for the STM32H743, RM0385 for the F746; the
section is given per model) and models only what start-up code waits for: a ready flag follows its
enable bit at once, a status field follows its request. No clock, voltage or flash timing changes the
simulated timing: the board file's cpu_hz is the clock. Anything else in the board's peripheral space
reads as zero, ignores writes and is reported once per 1 KiB block at the end of the run (``strict``:
a fault at the first access instead).

Accesses run in Python (unicorn MMIO callbacks): start-up polling and console output are rare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from unicorn import Uc, UcError

from tinyscope.errors import SimError
from tinyscope.targets import Target
from tinyscope.targets.memory_map import Peripheral

BLOCK = 0x400  # unmodelled accesses are reported per block (STM32 peripherals sit on 1 KiB boundaries)


class Device:
    """Registers as words, read back as written unless a model says otherwise."""

    RESET: dict[int, int] = {}

    def __init__(self, p: Peripheral, write_out: Callable[[str], None]) -> None:
        self.p = p
        self.regs: dict[int, int] = dict(self.RESET)
        self.write_out = write_out

    def read(self, off: int) -> int:
        return self.regs.get(off, 0)

    def write(self, off: int, value: int) -> None:
        self.regs[off] = value


class Memory(Device):
    """GPIO, SYSCFG and other registers nothing waits on: plain read/write memory."""


class Stm32h7Rcc(Device):
    """RM0433 §8.7. RCC_CR (0x00): each oscillator's and PLL's RDY bit is its ON bit shifted up one
    (HSI 0->2, CSI 7->8, HSI48 12->13, HSE 16->17, PLL1/2/3 24/26/28 -> 25/27/29), D1CKRDY and D2CKRDY
    (14, 15) set; RCC_CFGR (0x10): SWS [5:3] follows SW [2:0]. Reset values from the same section."""

    RESET = {0x00: 0x0000_0025, 0x28: 0x0202_0200, 0x2C: 0x01FF_0000, 0x30: 0x0101_0280, 0x38: 0x0101_0280,
             0x40: 0x0101_0280}
    PAIRS = ((0, 2), (7, 8), (12, 13), (16, 17), (24, 25), (26, 27), (28, 29))

    def read(self, off: int) -> int:
        v = self.regs.get(off, 0)
        if off == 0x00:
            for on, rdy in self.PAIRS:
                v = (v & ~(1 << rdy)) | (((v >> on) & 1) << rdy)
            return v | (3 << 14)
        if off == 0x10:
            return (v & ~0x38) | ((v & 7) << 3)
        return v


class Stm32f7Rcc(Device):
    """RM0385 §5.3. RCC_CR (0x00): HSIRDY 1 (HSION 0), HSERDY 17 (HSEON 16), PLLRDY 25 (PLLON 24),
    PLLI2SRDY 27 (26), PLLSAIRDY 29 (28); RCC_CFGR (0x08): SWS [3:2] follows SW [1:0]. RCC_PLLCFGR reset
    0x24003010."""

    RESET = {0x00: 0x0000_0083, 0x04: 0x2400_3010}
    PAIRS = ((0, 1), (16, 17), (24, 25), (26, 27), (28, 29))

    def read(self, off: int) -> int:
        v = self.regs.get(off, 0)
        if off == 0x00:
            for on, rdy in self.PAIRS:
                v = (v & ~(1 << rdy)) | (((v >> on) & 1) << rdy)
            return v
        if off == 0x08:
            return (v & ~0xC) | ((v & 3) << 2)
        return v


class Stm32h7Pwr(Device):
    """RM0433 §6.8. PWR_CR3 (0x0C) resets to 0x46 (SCUEN, LDOEN, USB33DEN clear); PWR_CSR1 (0x04) shows
    ACTVOSRDY (13) once the supply is configured and ACTVOS [15:14] = D3CR.VOS; PWR_D3CR (0x18): VOSRDY
    (13) is set as soon as VOS [15:14] is written (reset VOS = scale 3, 0x4000)."""

    RESET = {0x0C: 0x0000_0046, 0x18: 0x0000_4000}

    def read(self, off: int) -> int:
        if off == 0x04:
            return (1 << 13) | (self.regs.get(0x18, 0) & 0xC000)
        if off == 0x18:
            return self.regs.get(0x18, 0) | (1 << 13)
        return self.regs.get(off, 0)


class Stm32f7Pwr(Device):
    """RM0385 §4.4. PWR_CSR1 (0x04): VOSRDY (14), ODRDY (16) follows CR1.ODEN (16), ODSWRDY (17) follows
    CR1.ODSWEN (17)."""

    RESET = {0x00: 0x0000_C000}

    def read(self, off: int) -> int:
        if off == 0x04:
            cr1 = self.regs.get(0x00, 0)
            return self.regs.get(0x04, 0) | (1 << 14) | (cr1 & (3 << 16))
        return self.regs.get(off, 0)


class Stm32Flash(Device):
    """FLASH_ACR (0x00) reads back what was written, so HAL's check of the latency passes: RM0433 §4.9.1
    (H7 reset 0x37: LATENCY 7, WRHIGHFREQ 3), RM0385 §3.7.1 (F7 reset 0)."""

    def __init__(self, p: Peripheral, write_out: Callable[[str], None]) -> None:
        super().__init__(p, write_out)
        if p.model == "stm32h7-flash":
            self.regs[0x00] = 0x37
            self.regs[0x100] = 0x37  # the bank-2 alias of ACR


class Stm32Usart(Device):
    """The U(S)ART of the H7 and F7 (RM0433 §48.7, RM0385 §34.8; same layout): a byte written to TDR
    (0x28) while CR1 (0x00) has UE (0) and TE (3) goes to the run's output at once, so ISR (0x1C) always
    shows TXE (7) and TC (6), with TEACK (21) and REACK (22) following CR1.TE and CR1.RE (2)."""

    def read(self, off: int) -> int:
        if off == 0x1C:
            cr1 = self.regs.get(0x00, 0)
            return 0xC0 | (((cr1 >> 3) & 1) << 21) | (((cr1 >> 2) & 1) << 22)
        if off == 0x24:  # RDR: nothing is ever received
            return 0
        return self.regs.get(off, 0)

    def write(self, off: int, value: int) -> None:
        if off == 0x28:
            if self.regs.get(0x00, 0) & 0x9 == 0x9:
                self.write_out(chr(value & 0xFF))
            return
        super().write(off, value)


MODELS: dict[str, type[Device]] = {
    "memory": Memory, "stm32h7-rcc": Stm32h7Rcc, "stm32f7-rcc": Stm32f7Rcc, "stm32h7-pwr": Stm32h7Pwr,
    "stm32f7-pwr": Stm32f7Pwr, "stm32h7-flash": Stm32Flash, "stm32f7-flash": Stm32Flash, "stm32-usart": Stm32Usart,
}


@dataclass
class Unmodelled:
    """Accesses to one 1 KiB block of peripheral space nobody models."""

    base: int
    reads: int = 0
    writes: int = 0
    first_pc: int = -1

    def to_json(self) -> dict:
        return {"range": f"0x{self.base:08x}-0x{self.base + BLOCK - 1:08x}", "reads": self.reads,
                "writes": self.writes, "first_pc": self.first_pc}


@dataclass
class Bus:
    """The devices of one run, their callbacks (kept alive here) and what fell outside them."""

    devices: list[Device]
    unmodelled: dict[int, Unmodelled] = field(default_factory=dict)
    fault: str | None = None
    keep: list = field(default_factory=list)

    def report(self) -> list[dict]:
        return [u.to_json() for _, u in sorted(self.unmodelled.items())]


def _gaps(lo: int, hi: int, devices: list[Peripheral]) -> list[tuple[int, int]]:
    out, at = [], lo
    for p in sorted(devices, key=lambda d: d.base):
        if p.end <= lo or p.base >= hi:
            continue
        if p.base > at:
            out.append((at, p.base))
        at = max(at, p.end)
    if at < hi:
        out.append((at, hi))
    return out


def attach(uc: Uc, target: Target, write_out: Callable[[str], None], strict: bool,
           pc: Callable[[], int], stop: Callable[[str], None]) -> Bus:
    """Map the board's devices and its peripheral space into ``uc``. ``pc()`` gives the accessing
    instruction's address (for the report), ``stop(message)`` ends the run with a fault."""
    devices = []
    for p in target.peripherals:
        cls = MODELS.get(p.model)
        if cls is None:
            raise SimError(f"{target.name}: peripheral {p.name} has model {p.model!r}, which the simulator does "
                           f"not have (known: {', '.join(sorted(MODELS))})")
        devices.append(cls(p, write_out))
    bus = Bus(devices)

    def mmio(base: int, size: int, read, write) -> None:
        try:
            uc.mmio_map(base, size, read, None, write, None)
        except UcError as exc:
            raise SimError(f"{target.name}: cannot map peripheral space 0x{base:08x}-0x{base + size - 1:08x} "
                           f"({exc}); bases and sizes must be multiples of {BLOCK:#x}") from None
        bus.keep += [read, write]

    for dev in devices:
        def read(_uc, off, size, _u, dev=dev):
            word = dev.read(off & ~3)
            return (word >> (8 * (off & 3))) & ((1 << (8 * size)) - 1)

        def write(_uc, off, size, value, _u, dev=dev):
            if size == 4:
                dev.write(off, value & 0xFFFFFFFF)
            else:  # byte and halfword stores merge into the word
                sh, mask = 8 * (off & 3), (1 << (8 * size)) - 1
                old = dev.regs.get(off & ~3, 0)
                dev.write(off & ~3, (old & ~(mask << sh)) | ((value & mask) << sh))

        mmio(dev.p.base, _page(dev.p.size), read, write)
    lo, hi = target.peripheral_space
    for g0, g1 in (_gaps(lo, hi, list(target.peripherals)) if hi > lo else []):
        def unknown(kind: str, addr: int) -> None:
            blk = addr & ~(BLOCK - 1)
            u = bus.unmodelled.setdefault(blk, Unmodelled(blk))
            if u.first_pc < 0:
                u.first_pc = pc()
            if kind == "read":
                u.reads += 1
            else:
                u.writes += 1
            if strict and bus.fault is None:
                bus.fault = (f"{kind} of 0x{addr:08x}, a peripheral the simulator does not model on "
                             f"{target.name} (--strict)")
                stop(bus.fault)

        def uread(_uc, off, size, _u, g0=g0, unknown=unknown):
            unknown("read", g0 + off)
            return 0

        def uwrite(_uc, off, size, value, _u, g0=g0, unknown=unknown):
            unknown("write", g0 + off)

        mmio(g0, g1 - g0, uread, uwrite)
    return bus


def _page(n: int) -> int:
    return (n + BLOCK - 1) & ~(BLOCK - 1)
