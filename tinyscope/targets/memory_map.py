"""Board memory as data: regions with bus, latency and cacheability, cache geometry, clocks.

The simulator (timing) and the firmware builder (linker script) both read these records, so a board is
described once, in its TOML file, and every number there names its source or says it is an estimate.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["flash", "ram"]
Bus = Literal["itcm", "dtcm", "axi", "ahb"]
CachePolicy = Literal["wt", "wbwa", "none"]

# Default memory attributes with the MPU off (Arm DUI0646C §2.2.3 Tables 2.11/2.12); TCMs are always
# non-cacheable (Cortex-M7 TRM DDI0489F §5.8.1).
_DEFAULT_POLICY: list[tuple[int, int, CachePolicy]] = [
    (0x00000000, 0x1FFFFFFF, "wt"),
    (0x20000000, 0x3FFFFFFF, "wbwa"),
    (0x60000000, 0x7FFFFFFF, "wbwa"),
    (0x80000000, 0x9FFFFFFF, "wt"),
]


TCM_BUSES: tuple[Bus, ...] = ("itcm", "dtcm")  # the core's tightly coupled memories


def default_policy(base: int, bus: str) -> CachePolicy:
    """The cache policy the default memory map gives ``base``; TCM is never cached."""
    if bus in TCM_BUSES:
        return "none"
    for lo, hi, policy in _DEFAULT_POLICY:
        if lo <= base <= hi:
            return policy
    return "none"


@dataclass(frozen=True)
class CacheGeometry:
    """An L1 cache's shape: total bytes, associativity and line length."""

    size: int
    ways: int
    line: int = 32
    source: str = ""

    @property
    def sets(self) -> int:
        return self.size // (self.ways * self.line)


@dataclass(frozen=True)
class Accelerator:
    """A vendor read accelerator in front of flash (the STM32F7's ART on the ITCM path): ``lines`` lines of
    ``line`` bytes, switched on or off, with or without sequential prefetch of the next line."""

    lines: int
    line: int
    enabled: bool = True
    prefetch: bool = True
    source: str = ""
    estimate: bool = False  # the size is not documented


# The timing fields a region can carry; a board marks the ones without a hard source as estimates.
TIMING_FIELDS = ("bus_bits", "access_cycles", "wait_states", "word_bits")


@dataclass(frozen=True)
class Region:
    """One memory region as the core sees it, with the bus facts its latencies are derived from.

    ``bus_bits``: width of the path from the core (64-bit AXI, 32-bit AHB behind a bridge);
    ``access_cycles``: bus-clock cycles from the request to the first data through the interconnect and
    bridges (0 for a device right at the core's clock);
    ``wait_states``: the device's wait states per access (flash: FLASH_ACR.LATENCY);
    ``word_bits``: bits one device access returns (a 256-bit flash word fills a 32-byte line at once).
    Every derived latency is in CPU cycles, given ``clock_div`` = CPU clock / bus clock.
    ``mirror_of`` names the region whose bytes this one shows at another address.
    ``accel`` describes a vendor read accelerator in front of the region (the F7's ART), if any.
    ``estimated`` lists the timing fields that are estimates rather than documented facts.
    """

    name: str
    base: int
    size: int
    kind: Kind
    bus: Bus
    bus_bits: int = 64
    access_cycles: int = 0
    wait_states: int = 0
    word_bits: int = 0  # 0: the bus width
    cacheable: CachePolicy = "none"
    aliases: tuple[str, ...] = ()
    source: str = ""
    timing_source: str = ""
    estimated: tuple[str, ...] = ()
    accel: Accelerator | None = None
    mirror_of: str = ""  # another view of the same bytes (F7 flash through ITCM): same offsets, same capacity

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.base + self.size

    def contains(self, addr: int) -> bool:
        return self.base <= addr < self.end

    @property
    def zero_wait(self) -> bool:
        """A TCM with no accelerator in front: the core reaches it without stalls."""
        return self.bus in TCM_BUSES and self.accel is None

    @property
    def estimate(self) -> bool:
        return bool(self.estimated)

    # ---- latencies derived from the bus facts (CPU cycles) ----
    def device_bits(self) -> int:
        return self.word_bits or self.bus_bits

    def read_cycles(self, clock_div: int) -> int:
        """Stall of one uncached read beyond a zero-wait load: request through the interconnect, then the
        device access (wait states + 1), in bus cycles, scaled to CPU cycles."""
        if self.zero_wait:
            return 0
        return max(0, clock_div * (self.access_cycles + self.wait_states + 1) - 1)

    def beats(self, line: int) -> int:
        """Bus beats in one cache line."""
        return max(1, line * 8 // self.bus_bits)

    def beat_cycles(self, clock_div: int) -> int:
        """CPU cycles between beats of a burst: one bus cycle when the device word covers several beats
        (a 256-bit flash word streams out), a whole device access when each beat needs its own."""
        if self.zero_wait:
            return 0
        per = 1 if self.device_bits() > self.bus_bits else self.wait_states + 1
        return clock_div * per

    def fill_cycles(self, clock_div: int, line: int) -> int:
        """Stall until the last beat of a line fill arrives; the critical word comes first, after
        read_cycles (Arm TRM §5.9: critical word first, streaming)."""
        if self.zero_wait:
            return 0
        return self.read_cycles(clock_div) + (self.beats(line) - 1) * self.beat_cycles(clock_div)

    def write_cycles(self, clock_div: int) -> int:
        """CPU cycles a posted write occupies the path (store-buffer drain time per entry)."""
        if self.zero_wait:
            return 0
        return clock_div * (self.access_cycles + 1)

    def writeback_cycles(self, clock_div: int, line: int) -> int:
        """CPU cycles a dirty line's write-back burst occupies the path."""
        if self.zero_wait:
            return 0
        return clock_div * (self.access_cycles + self.beats(line))


@dataclass(frozen=True)
class MemoryMap:
    """Regions sorted by base address, looked up by address or by the names users type."""

    regions: tuple[Region, ...]
    _bases: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regions = tuple(sorted(self.regions, key=lambda r: r.base))
        for a, b in zip(regions, regions[1:]):
            if a.end > b.base:
                raise ValueError(f"regions {a.name} and {b.name} overlap")
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "_bases", tuple(r.base for r in regions))

    def __iter__(self):
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)

    def region_for(self, addr: int) -> Region | None:
        """The region holding ``addr``, or None (peripherals, unmapped)."""
        i = bisect.bisect_right(self._bases, addr) - 1
        if i >= 0 and self.regions[i].contains(addr):
            return self.regions[i]
        return None

    def by_name(self, name: str) -> Region:
        """The region called ``name`` or carrying it as an alias (case-insensitive); KeyError if none."""
        key = name.lower()
        for r in self.regions:
            if r.name == key or key in r.aliases:
                return r
        raise KeyError(name)

    def names(self) -> list[str]:
        return [r.name for r in self.regions]


@dataclass(frozen=True)
class Peripheral:
    """A device the simulator models (``model`` names its behaviour in sim/peripherals.py) at ``base``."""

    name: str
    model: str
    base: int
    size: int
    source: str

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class Target:
    """A board: clocks, memory map, caches, and the default build placement."""

    name: str
    cpu_hz: int
    bus_hz: int
    regions: MemoryMap
    icache: CacheGeometry | None
    dcache: CacheGeometry | None
    notes: str = ""
    default_place: dict[str, str] = field(default_factory=dict)
    fpu: str = "fpv5-d16"
    source: str = ""
    path: str = ""  # the board file, for a board the user described
    peripherals: tuple[Peripheral, ...] = ()
    peripheral_space: tuple[int, int] = (0, 0)  # [base, end): other addresses here read as zero, reported

    def region(self, name: str) -> Region:
        return self.regions.by_name(name)

    @property
    def clock_div(self) -> int:
        """CPU cycles per cycle of the AXI/AHB clock (H743 at 480/240 MHz: 2)."""
        return max(1, round(self.cpu_hz / self.bus_hz))

    @property
    def line(self) -> int:
        """The L1 line length in bytes (from the D-cache, else the I-cache); 0 without caches."""
        c = self.dcache or self.icache
        return c.line if c else 0
