"""Profiles: one simulated run of a model's firmware, attributed to functions, layers and
instructions, with its timeline and provenance. ``run_profile`` builds (cached) and simulates;
``write_profile`` writes run.json, CSV tables, the trace and the timeline pictures."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tinyscope.firmware.cache import cached_firmware
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import Firmware
from tinyscope.firmware.protocol import HarnessOutput, parse_output
from tinyscope.frontend import load
from tinyscope.ir.graph import Graph
from tinyscope.outputs import PROFILE_FILES, staged_folder
from tinyscope.plan.analyze import ModelFigures, analyze
from tinyscope.profile.capture import simulate_whole
from tinyscope.profile.elf import ElfProfile
from tinyscope.profile.exports import callgrind, speedscope, write_speedscope
from tinyscope.profile.functions import FunctionRow, function_table
from tinyscope.profile.hotloops import Loop, add_source, hot_blocks, hot_loops
from tinyscope.profile.layers import LayerRow, layer_table
from tinyscope.profile.memory import RegionUse, memory_map
from tinyscope.profile.source import LineTable, line_table
from tinyscope.profile.timeline import chrome_trace, folded_stacks, plot_timeline, write_trace
from tinyscope.reference.metrics import Agreement, agreement
from tinyscope.sim import SimResult
from tinyscope.sim.decode import decode_elf
from tinyscope.sim.elf import read_image
from tinyscope.targets.core import load_core


@dataclass
class Profile:
    model: str
    graph: Graph
    figures: ModelFigures
    firmware: Firmware
    harness: HarnessOutput
    result: SimResult
    functions: list[FunctionRow]
    layers: list[LayerRow]
    loops: list[Loop]
    blocks: list[Loop]
    agreement: Agreement  # the output against the reference executor's
    symbols: object
    text: dict[int, str]  # address -> disassembly
    lines: LineTable  # address -> C line (DWARF)
    memory: list[RegionUse]

    @property
    def cycles(self) -> int:
        """The firmware's own measurement (DWT CYCCNT around ``network_run``), as on a board."""
        return self.harness.cycles

    @property
    def ms(self) -> float:
        return self.cycles / self.firmware.target.cpu_hz * 1e3

    def summary(self) -> dict:
        t = self.firmware.target
        r = self.result
        top = self.functions[0] if self.functions else None
        return {
            "model": self.model, "model_sha256": self.firmware.info.get("model_sha256"), "target": t.name,
            "cpu_hz": t.cpu_hz, "cycles": self.cycles, "ms": self.ms, "macc": self.figures.macc,
            "cycles_per_macc": self.cycles / self.figures.macc if self.figures.macc else None,
            "simulated_cycles_total": r.cycles, "instructions": r.instructions,
            "icache": {**r.icache, "miss_rate": r.icache["misses"] / max(r.icache["accesses"], 1)},
            "dcache": {**r.dcache, "miss_rate": r.dcache["misses"] / max(r.dcache["accesses"], 1)},
            "stalls": r.stalls, "top_function": top.name if top else None,
            "top_share": top.share if top else None, "agreement": self.agreement.to_json(),
            "regions": {k: {"used": u, "size": s} for k, (u, s) in self.firmware.usage.items()},
            "provenance": {**self.firmware.info, "memcpy": _memcpy_variant(self.firmware.config.libc)},
            "simulator": {"wall_seconds": r.wall_seconds, "mips": r.mips, **r.meta.get("simulator", {})},
            "measured": MEASURED,
            "model_figures": self.figures.to_json(),
            "memory_map": [m.to_json() for m in self.memory],
        }


MEASURED = "DWT CYCCNT around network_run(); the input is read where it is placed, not copied"


def _memcpy_variant(libc: str) -> str:
    return {"newlib": "newlib memcpy-armv7m.S (word copy)", "nano": "Debian newlib-nano (word copy)",
            "nano-bytecopy": "byte-by-byte loop (as in Arm's own newlib-nano builds)"}[libc]


def run_profile(model: str, config: BuildConfig, cache: Path | None = None, timing_mode: str = "instr") -> Profile:
    """Build (cached), simulate and attribute. ``timing_mode`` "instr" (the default, for `profile`) gives
    exact per-instruction cycles; "block" (studies) spreads each block's cycles over its instructions."""
    graph = load(model, config.input_shape)
    fw, _ = cached_firmware(graph, config, cache)
    code = decode_elf(fw.elf, load_core())  # once: the simulator's tables and the listings' text
    result = simulate_whole(fw.elf, fw.target, code, timing_mode)
    harness = parse_output(result.stdout)
    image = read_image(fw.elf)
    text = code.text
    lines = line_table(fw.elf)
    loops, blocks = hot_loops(result, image.symbols, text), hot_blocks(result, image.symbols, text)
    add_source(loops, lines)
    add_source(blocks, lines)
    return Profile(model, graph, analyze(graph), fw, harness, result, function_table(result, image.symbols),
                   layer_table(result, graph), loops, blocks, agreement(graph, fw.input, harness.output), image.symbols,
                   text, lines, memory_map(fw.elf, fw.target))


def _csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def layer_rows(p: Profile) -> list[dict]:
    """layers.csv: the measured figures of each kernel call beside analyze's ROM and RAM for its ops."""
    by_cid: dict[int, list] = {}
    for lf in p.figures.layers:
        by_cid.setdefault(lf.c_id, []).append(lf)
    rows = []
    for lay in p.layers:
        figs = by_cid.get(lay.c_id, [])
        rows.append({**asdict(lay), "rom_bytes": sum(f.rom_bytes for f in figs),
                     "output_bytes": figs[-1].output_bytes if figs else 0,
                     "params": sum(f.params for f in figs)})
    return rows


def write_profile(p: Profile | ElfProfile, out: Path,
                  finish: Callable[[Path], object] | None = None) -> dict[str, Path]:
    """Machine-readable results and pictures of one profile (a model's or any ELF's), in ``out`` (all
    files or none)."""
    target = p.firmware.target if isinstance(p, Profile) else p.target
    names = PROFILE_FILES
    with staged_folder(out) as tmp:
        files = {k: tmp / v for k, v in names.items()}
        files["run"].write_text(json.dumps(p.summary(), indent=2))
        _csv(files["functions"], [{"function": f.name, "calls": f.calls, "exclusive": f.exclusive,
                                   "inclusive": f.inclusive, "share": round(f.share, 5),
                                   "per_call": round(f.per_call, 1), "instructions": f.instructions, **f.stalls,
                                   "icache_miss": f.icache_miss, "dcache_miss": f.dcache_miss,
                                   "dcache_access": f.dcache_access}
                                  for f in p.functions])
        _csv(files["layers"], layer_rows(p) if isinstance(p, Profile) else [asdict(lay) for lay in p.layers])
        files["loops"].write_text(json.dumps([asdict(lp) for lp in p.loops], indent=1))
        files["blocks"].write_text(json.dumps([asdict(b) for b in p.blocks], indent=1))
        write_trace(files["trace"], chrome_trace(p.result, p.symbols, p.layers, target.cpu_hz))
        files["folded"].write_text(folded_stacks(p.result, p.symbols))
        p.result.save(files["sim"])
        plot_timeline(p.result, p.symbols, p.layers, target.cpu_hz, tmp / "timeline")
        write_speedscope(files["speedscope"], speedscope(p.result, p.symbols, f"{p.model} on {target.name}"))
        files["callgrind"].write_text(callgrind(p.result, p.symbols, p.text, p.lines,
                                                f"tinyscope profile {p.model} --target {target.name}"))
        if finish is not None:
            finish(tmp)  # e.g. the HTML report, written from these files before they move into place
    return {k: Path(out) / v for k, v in names.items()}
