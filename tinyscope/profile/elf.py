"""Profiles of any firmware: a user's ELF (or a saved ``tinyscope sim --save`` result) attributed to
functions, marked regions, stalls and hot regions, written as the same files a model profile writes.

There is no model here: no MACC, no reference output, no harness measurement. The cycle figure is the
simulated clock from reset to exit, and the layer table comes from the optional region markers
(``tinyscope_markers.h``) when the firmware writes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from tinyscope.errors import InputError, SimError
from tinyscope.profile.capture import check_whole, simulate_whole
from tinyscope.profile.functions import FunctionRow, function_table
from tinyscope.profile.hotloops import Loop, add_source, hot_blocks, hot_loops
from tinyscope.profile.layers import LayerRow, marker_spans
from tinyscope.profile.memory import RegionUse, memory_map
from tinyscope.profile.source import LineTable, line_table
from tinyscope.sim import SimResult
from tinyscope.sim.decode import decode_elf
from tinyscope.sim.elf import Symbols, read_image
from tinyscope.targets import DEFAULT_TARGET, Target, load_target
from tinyscope.targets.armv7m import ITM_LAYER_PORT
from tinyscope.targets.core import load_core
from tinyscope.version import __version__

ELF_SUFFIXES = (".elf", ".axf", ".out")
SAVED_SUFFIX = ".npz"
MEASURED_ELF = "simulated clock from reset to the program's exit (no firmware-side measurement)"
NO_MARKERS = ("no region markers: the firmware wrote nothing to ITM stimulus port "
              f"{ITM_LAYER_PORT}; include tinyscope_markers.h and wrap regions in tinyscope_begin(id) / "
              "tinyscope_end(id) for a layer table")


def is_firmware(path: str | Path) -> bool:
    """True for what `profile` treats as firmware rather than a model: an ELF or a saved sim result."""
    return Path(str(path)).suffix.lower() in ELF_SUFFIXES + (SAVED_SUFFIX,)


@dataclass
class ElfProfile:
    elf: str
    target: Target
    result: SimResult
    functions: list[FunctionRow]
    layers: list[LayerRow]
    loops: list[Loop]
    blocks: list[Loop]
    symbols: Symbols
    text: dict[int, str]
    lines: LineTable
    memory: list[RegionUse]
    source: str = "simulated"  # or the saved result's path
    notes: list[str] = field(default_factory=list)

    @property
    def model(self) -> str:
        """The name the exports and report title use."""
        return Path(self.elf).name

    @property
    def cycles(self) -> int:
        return self.result.cycles

    @property
    def ms(self) -> float:
        return self.cycles / self.target.cpu_hz * 1e3

    def summary(self) -> dict:
        r, t = self.result, self.target
        top = self.functions[0] if self.functions else None
        sha = _sha256(self.elf)
        return {
            "model": self.model, "elf": self.elf, "elf_sha256": sha, "target": t.name,
            "cpu_hz": t.cpu_hz, "cycles": self.cycles, "ms": self.ms, "instructions": r.instructions,
            "exit_code": r.exit_code, "stdout": r.stdout,
            "icache": {**r.icache, "miss_rate": r.icache["misses"] / max(r.icache["accesses"], 1)},
            "dcache": {**r.dcache, "miss_rate": r.dcache["misses"] / max(r.dcache["accesses"], 1)},
            "stalls": r.stalls, "top_function": top.name if top else None, "top_share": top.share if top else None,
            "markers": bool(self.layers), "notes": self.notes,
            "provenance": {"elf": self.elf, "elf_sha256": sha, "source": self.source,
                           "tinyscope": __version__, **r.meta.get("run", {})},
            "simulator": {"wall_seconds": r.wall_seconds, "mips": r.mips, **r.meta.get("simulator", {})},
            "measured": MEASURED_ELF, "memory_map": [m.to_json() for m in self.memory],
        }


def _sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def region_table(result: SimResult) -> list[LayerRow]:
    """One row per marker id; a region entered several times adds up (its start is the first entry)."""
    total = result.cycles or 1
    return [LayerRow(rid, rid, f"region {rid}" + (f" (x{sp.count})" if sp.count > 1 else ""), "marker", 0, sp.start,
                     sp.cycles, 0.0, sp.cycles / total, sp.icache_miss, sp.dcache_miss, **sp.stall_fields())
            for rid, sp in sorted(marker_spans(result).items())]


def profile_elf(firmware: str | Path, target: str | Target | None = None, **sim_options) -> ElfProfile:
    """Simulate ``firmware`` (an ELF) on ``target``, or load a saved result (.npz, whose ELF must still be
    where it was run), and attribute it."""
    path = Path(firmware)
    if path.suffix.lower() == SAVED_SUFFIX:
        try:
            result = SimResult.load(path)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"{path}: not a saved simulator result ({type(exc).__name__})") from None
        elf = Path(result.elf)
        if not elf.is_file() and not elf.is_absolute() and (path.parent / elf).is_file():
            elf = path.parent / elf  # saved with a relative path, from another folder
        if not elf.is_file():
            raise InputError(f"{path}: its ELF {elf} is no longer there (the profile needs its symbols)")
        tgt = load_target(target or result.target) if not isinstance(target, Target) else target
        if tgt.name != result.target:
            raise InputError(f"{path} was simulated on {result.target}, not {tgt.name}; drop --target or rerun")
        check_whole(result, str(path))
        code = decode_elf(elf, load_core())
        source = str(path)
    else:
        if not path.is_file():
            raise SimError(f"{path}: no such file")
        elf = path
        tgt = load_target(target or DEFAULT_TARGET) if not isinstance(target, Target) else target
        code = decode_elf(elf, load_core())
        result = simulate_whole(elf, tgt, code, **sim_options)
        source = "simulated"
    image = read_image(elf)
    lines = line_table(elf)
    loops, blocks = hot_loops(result, image.symbols, code.text), hot_blocks(result, image.symbols, code.text)
    add_source(loops, lines)
    add_source(blocks, lines)
    layers = region_table(result)
    notes = [] if layers else [NO_MARKERS]
    notes += [f"unmodelled peripheral {u['range']}: {u['reads']:,} reads (as zero), {u['writes']:,} writes (ignored), "
              f"first at {u['first_at']}" for u in result.meta.get("unmodelled_peripherals", [])]
    if not result.timing:
        notes.append("simulated without the timing model: cycles are not meaningful")
    return ElfProfile(str(elf), tgt, result, function_table(result, image.symbols), layers, loops, blocks,
                      image.symbols, code.text, lines, memory_map(elf, tgt), source, notes)
