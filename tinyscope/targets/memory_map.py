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


def default_policy(base: int, bus: str) -> CachePolicy:
    """The cache policy the default memory map gives ``base``; TCM is never cached."""
    if bus in ("itcm", "dtcm"):
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
class Region:
    """One memory region as the core sees it.

    ``read_wait_cycles``: extra CPU cycles per uncached read beyond a 0-wait access;
    ``line_fill_cycles``: CPU cycles to fill one cache line from this region (critical word first);
    ``write_wait_cycles``: extra CPU cycles per uncached write once the store buffer is full.
    ``mirror_of`` names the region whose bytes this one shows at another address.
    ``accel`` describes a vendor read accelerator in front of the region (the F7's ART), if any.
    """

    name: str
    base: int
    size: int
    kind: Kind
    bus: Bus
    read_wait_cycles: int = 0
    line_fill_cycles: int = 0
    write_wait_cycles: int = 0
    cacheable: CachePolicy = "none"
    aliases: tuple[str, ...] = ()
    source: str = ""
    timing_source: str = ""
    estimate: bool = False
    accel: CacheGeometry | None = None
    mirror_of: str = ""  # another view of the same bytes (F7 flash through ITCM): same offsets, same capacity

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.base + self.size

    def contains(self, addr: int) -> bool:
        return self.base <= addr < self.end


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

    def region(self, name: str) -> Region:
        return self.regions.by_name(name)
