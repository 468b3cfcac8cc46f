"""What the simulator and the profiler need from an ELF: load images, the vector table, symbols."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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
    code: list[tuple[int, bytes]] = field(default_factory=list)  # executable sections at their run address

    def special(self) -> dict[str, list[tuple[int, int]]]:
        """The instructions the engine hooks one by one, as (address, operand) lists: "div"
        (SDIV/UDIV with the divisor register number), "wfi", "wfe", "sev" and "yield".

        A halfword scan of the executable sections, not a disassembly: a match that is not the start
        of an instruction (the second half of a 32-bit one, a literal pool) is harmless, because a
        hook fires only when an instruction starts at its address, and these encodings are exact.
        """
        out: dict[str, list[tuple[int, int]]] = {"div": [], "wfi": [], "wfe": [], "sev": [], "yield": []}
        hints = {0xBF30: "wfi", 0xBF20: "wfe", 0xBF40: "sev", 0xBF10: "yield"}  # T1; T2 is F3AF 80xx
        wide = {0x8003: "wfi", 0x8002: "wfe", 0x8004: "sev", 0x8001: "yield"}
        for addr, data in self.code:
            if addr & 1 or len(data) < 2:
                continue
            h = np.frombuffer(data[: len(data) & ~1], "<u2").astype(np.int64)
            nxt = np.append(h[1:], -1)
            for k in np.flatnonzero(((h & 0xFFD0) == 0xFB90) & ((nxt & 0xF0F0) == 0xF0F0)):
                out["div"].append((addr + 2 * int(k), int(nxt[k]) & 0xF))  # SDIV FB9n / UDIV FBBn, Rm in [3:0]
            for code, name in hints.items():
                out[name] += [(addr + 2 * int(k), 2) for k in np.flatnonzero(h == code)]
            for k in np.flatnonzero(h == 0xF3AF):
                name = wide.get(int(nxt[k]))
                if name:
                    out[name].append((addr + 2 * int(k), 4))
        return out


def read_image(path: str | Path) -> Image:
    p = Path(path)
    try:
        with p.open("rb") as f:
            e = ELFFile(f)
            if e["e_machine"] != "EM_ARM":
                raise SimError(f"{p}: not an Arm ELF ({e['e_machine']})")
            segs = [(seg["p_paddr"], seg.data()) for seg in e.iter_segments()
                    if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0]
            code = [(s["sh_addr"], s.data()) for s in e.iter_sections()
                    if s["sh_type"] == "SHT_PROGBITS" and s["sh_flags"] & 0x4 and s["sh_size"]]  # SHF_EXECINSTR
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
    return Image(segs, vector, Symbols(syms), code)
