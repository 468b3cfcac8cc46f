"""The memory map of a firmware: for every region of the target, its size and what the linker put
in it (code, weights, the input, activations, stack, ...), read from the ELF's section headers.

Sections that are copied at start-up (code in ITCM, initialised data) also occupy their load
address in flash; those copies are listed as "load image of ..." so the flash figure adds up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from tinyscope.targets.memory_map import Target

KINDS = {".isr_vector": "code", ".text": "code", ".rodata": "constants", ".ARM.exidx": "constants",
         ".tinyscope.weights": "weights", ".tinyscope.input": "input", ".data": "data", ".bss": "data",
         ".tinyscope.activations": "activations", ".stack": "stack", ".ts_tables": "start-up tables"}
INPUT_SYMBOL = "ts_input"


@dataclass
class RegionUse:
    region: str
    base: int
    size: int
    used: int = 0
    parts: dict[str, int] = field(default_factory=dict)  # what -> bytes

    def to_json(self) -> dict:
        return {"region": self.region, "base": self.base, "size": self.size, "used": self.used,
                "parts": dict(self.parts)}


def memory_map(elf: str | Path, target: Target) -> list[RegionUse]:
    """Every region of ``target`` (in address order) with the bytes of each kind placed in it."""
    regions = {r.name: RegionUse(r.name, r.base, r.size) for r in sorted(target.regions, key=lambda r: r.base)}

    def add(addr: int, what: str, n: int) -> None:
        r = target.regions.region_for(addr)
        if r is None or n <= 0:
            return
        for use, label in [(regions[r.name], what)] + ([(regions[r.mirror_of], f"{what} (via {r.name})")]
                                                       if r.mirror_of in regions else []):
            use.used += n
            use.parts[label] = use.parts.get(label, 0) + n

    with Path(elf).open("rb") as f:
        e = ELFFile(f)
        input_sym = _object(e, INPUT_SYMBOL)
        loads = [s for s in e.iter_segments() if s["p_type"] == "PT_LOAD"]
        for sec in e.iter_sections():
            if not sec["sh_flags"] & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            addr, size = sec["sh_addr"], sec["sh_size"]
            what = KINDS.get(sec.name, sec.name)
            if input_sym is not None and addr <= input_sym[0] < addr + size and what != "input":
                add(input_sym[0], "input", input_sym[1])
                add(addr, what, size - input_sym[1])
            else:
                add(addr, what, size)
            if sec["sh_type"] != "SHT_NOBITS":
                for seg in loads:
                    if seg.section_in_segment(sec) and seg["p_paddr"] != seg["p_vaddr"]:
                        add(seg["p_paddr"] + addr - seg["p_vaddr"], f"load image of {what}", size)
    return list(regions.values())


def _object(e: ELFFile, name: str) -> tuple[int, int] | None:
    tab = e.get_section_by_name(".symtab")
    if isinstance(tab, SymbolTableSection):
        for s in tab.get_symbol_by_name(name) or []:
            if s["st_size"]:
                return s["st_value"], s["st_size"]
    return None


def ram_figures(elf: str | Path, target: Target) -> dict[str, dict]:
    """What analyze's ``ram (total)`` counts, as linked: the activation arena, the input buffer and
    the output buffer, each with its size and region (so ``run`` and ``analyze`` count the same)."""
    out: dict[str, dict] = {}
    with Path(elf).open("rb") as f:
        e = ELFFile(f)
        arena = e.get_section_by_name(".tinyscope.activations")
        found = {"activations": (arena["sh_addr"], arena["sh_size"]) if arena is not None else None,
                 "input": _object(e, INPUT_SYMBOL), "output": _object(e, "ts_output")}
    for what, hit in found.items():
        if hit is not None:
            region = target.regions.region_for(hit[0])
            out[what] = {"bytes": hit[1], "region": region.name if region else "?",
                         "ram": bool(region and region.kind == "ram")}
    return out
