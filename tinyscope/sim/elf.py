"""What the simulator and the profiler need from an ELF: load images, the vector table, symbols."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tinyscope.errors import SimError


@dataclass(frozen=True)
class Symbol:
    addr: int
    size: int
    name: str


class Symbols:
    """Function symbols sorted by address; ``lookup(pc)`` finds the function holding a PC."""

    def __init__(self, symbols: list[Symbol]) -> None:
        ordered = sorted(symbols, key=lambda s: s.addr)
        # hand-written assembly often has no .size: such a symbol runs up to the next one (the last, 4 KiB)
        self.symbols = [s if s.size else Symbol(s.addr, ordered[k + 1].addr - s.addr if k + 1 < len(ordered)
                                                else 4096, s.name) for k, s in enumerate(ordered)]
        self._addrs = [s.addr for s in self.symbols]

    def lookup(self, pc: int) -> Symbol | None:
        i = bisect.bisect_right(self._addrs, pc) - 1
        if i >= 0:
            s = self.symbols[i]
            if s.addr <= pc < s.addr + max(s.size, 2):
                return s
        return None

    def name(self, pc: int) -> str:
        s = self.lookup(pc)
        return f"{s.name}+0x{pc - s.addr:x}" if s else f"0x{pc:08x}"

    def by_name(self, name: str) -> Symbol | None:
        for s in self.symbols:
            if s.name == name:
                return s
        return None


@dataclass
class Image:
    segments: list[tuple[int, bytes]]  # (load address, bytes)
    vector_table: int  # address of the initial SP / reset vector pair
    symbols: Symbols


def read_image(path: str | Path) -> Image:
    p = Path(path)
    try:
        with p.open("rb") as f:
            e = ELFFile(f)
            if e["e_machine"] != "EM_ARM":
                raise SimError(f"{p}: not an Arm ELF ({e['e_machine']})")
            segs = [(seg["p_paddr"], seg.data()) for seg in e.iter_segments()
                    if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0]
            vt = e.get_section_by_name(".isr_vector")
            vector = vt["sh_addr"] if vt is not None else min(a for a, _ in segs)
            syms = []
            tab = e.get_section_by_name(".symtab")
            if isinstance(tab, SymbolTableSection):
                for s in tab.iter_symbols():
                    if s["st_info"]["type"] == "STT_FUNC" and s["st_value"]:
                        syms.append(Symbol(s["st_value"] & ~1, s["st_size"], s.name))
    except FileNotFoundError:
        raise SimError(f"{p}: no such file") from None
    except SimError:
        raise
    except Exception as exc:  # pyelftools raises several kinds on a file that is not an ELF
        raise SimError(f"{p}: not a readable ELF file ({type(exc).__name__})") from exc
    if not segs:
        raise SimError(f"{p}: the ELF has nothing to load")
    return Image(segs, vector, Symbols(syms))
