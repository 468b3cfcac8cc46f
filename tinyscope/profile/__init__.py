"""Profiles: one simulated run of a model's firmware, attributed to functions, layers and
instructions, with its timeline and provenance. ``run_profile`` builds (cached) and simulates;
``write_profile`` writes run.json, CSV tables, the trace and the timeline pictures."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinyscope import reference
from tinyscope.build.cache import cached_firmware
from tinyscope.build.config import BuildConfig
from tinyscope.build.firmware import Firmware
from tinyscope.build.protocol import HarnessOutput, parse_output
from tinyscope.frontend import load
from tinyscope.ir.graph import Graph
from tinyscope.outputs import staged_folder
from tinyscope.plan.analyze import ModelFigures, analyze
from tinyscope.profile.functions import FunctionRow, function_table
from tinyscope.profile.hotloops import Loop, hot_blocks, hot_loops
from tinyscope.profile.layers import LayerRow, layer_table
from tinyscope.profile.timeline import chrome_trace, folded_stacks, plot_timeline, write_trace
from tinyscope.sim import SimResult, simulate
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
    agreement: dict
    symbols: object

    @property
    def cycles(self) -> int:
        """The firmware's own measurement (DWT CYCCNT around the network), as on a board."""
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
            "top_share": top.share if top else None, "agreement": self.agreement,
            "regions": {k: {"used": u, "size": s} for k, (u, s) in self.firmware.usage.items()},
            "provenance": {**self.firmware.info, "memcpy": _memcpy_variant(self.firmware.config.libc)},
            "simulator": {"wall_seconds": r.wall_seconds, "mips": r.mips, **r.meta.get("simulator", {})},
        }


def _memcpy_variant(libc: str) -> str:
    return {"newlib": "newlib memcpy-armv7m.S (word copy)", "nano": "Debian newlib-nano (word copy)",
            "nano-bytecopy": "byte-by-byte loop (as in Arm's own newlib-nano builds)"}[libc]


def _agreement(graph: Graph, fw: Firmware, out: np.ndarray) -> dict:
    ref = reference.run(graph, [fw.input[None] if fw.input.ndim == len(graph.input_tensors()[0].shape) - 1
                                else fw.input])[0].ravel()
    got = np.asarray(out).ravel()
    d = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    return {"max_abs_diff": float(d.max()) if d.size else 0.0, "argmax_equal": bool(got.argmax() == ref.argmax()),
            "argmax": int(got.argmax()), "reference_argmax": int(ref.argmax())}


def run_profile(model: str, config: BuildConfig, cache: Path | None = None, timing_mode: str = "instr") -> Profile:
    """Build (cached), simulate and attribute. ``timing_mode`` "instr" (the default, for `profile`) gives
    exact per-instruction cycles; "block" (studies) spreads each block's cycles over its instructions."""
    graph = load(model)
    fw, _ = cached_firmware(graph, config, cache)
    code = decode_elf(fw.elf, load_core())  # once: the simulator's tables and the listings' text
    result = simulate(fw.elf, fw.target, code=code, timing_mode=timing_mode)
    harness = parse_output(result.stdout)
    image = read_image(fw.elf)
    text = code.text
    return Profile(model, graph, analyze(graph), fw, harness, result, function_table(result, image.symbols),
                   layer_table(result, graph), hot_loops(result, image.symbols, text),
                   hot_blocks(result, image.symbols, text), _agreement(graph, fw, harness.output), image.symbols)


def _csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write_profile(p: Profile, out: Path) -> dict[str, Path]:
    """Machine-readable results and pictures of one profile, in ``out`` (all files or none)."""
    names = {"run": "run.json", "functions": "functions.csv", "layers": "layers.csv", "loops": "hotloops.json",
             "blocks": "hotblocks.json", "trace": "trace.json", "folded": "stacks.folded", "sim": "sim.npz",
             "timeline_png": "timeline.png", "timeline_svg": "timeline.svg"}
    with staged_folder(out) as tmp:
        files = {k: tmp / v for k, v in names.items()}
        files["run"].write_text(json.dumps(p.summary(), indent=2))
        _csv(files["functions"], [{"function": f.name, "calls": f.calls, "exclusive": f.exclusive,
                                   "inclusive": f.inclusive, "share": round(f.share, 5),
                                   "per_call": round(f.per_call, 1), "instructions": f.instructions, **f.stalls,
                                   "icache_miss": f.icache_miss, "dcache_miss": f.dcache_miss,
                                   "dcache_access": f.dcache_access}
                                  for f in p.functions])
        _csv(files["layers"], [asdict(lay) for lay in p.layers])
        files["loops"].write_text(json.dumps([asdict(lp) for lp in p.loops], indent=1))
        files["blocks"].write_text(json.dumps([asdict(b) for b in p.blocks], indent=1))
        write_trace(files["trace"], chrome_trace(p.result, p.symbols, p.layers, p.firmware.target.cpu_hz))
        files["folded"].write_text(folded_stacks(p.result, p.symbols))
        p.result.save(files["sim"])
        plot_timeline(p.result, p.symbols, p.layers, p.firmware.target.cpu_hz, tmp / "timeline")
    return {k: Path(out) / v for k, v in names.items()}
