"""``run``: build a model's firmware (cached), run it on an engine, and compare its output with the
reference executor's; ``RunResult.to_json()`` is run.json, whether the CLI or a script asked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tinyscope.errors import InputError
from tinyscope.firmware.cache import cached_firmware
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import Firmware
from tinyscope.firmware.protocol import HarnessOutput, parse_output
from tinyscope.frontend import load
from tinyscope.ir.graph import Graph
from tinyscope.outputs import PROFILE_FILES, check_folder, staged_folder
from tinyscope.reference.metrics import Agreement, agreement

ENGINES = ("sim", "qemu")  # sim: the Cortex-M7 timing simulator; qemu: functional only (mps2-an500)


@dataclass
class RunResult:
    """One run of a model's firmware: what it reported, and how its output agrees with the reference."""

    graph: Graph
    firmware: Firmware
    cached: bool  # the firmware came from the build cache
    engine: str
    harness: HarnessOutput  # cycles, status, output, per-layer spans, stack used
    agreement: Agreement
    ram: dict[str, dict]  # what analyze's ram (total) counts, as linked: {what: {bytes, region, ram}}
    simulator: dict = field(default_factory=dict)  # the simulator's provenance (empty under QEMU)

    @property
    def ok(self) -> bool:
        """The firmware finished with status 0 (the CLI's exit status follows it)."""
        return self.harness.status == 0

    @property
    def cycles(self) -> int:
        return self.harness.cycles

    @property
    def ms(self) -> float:
        return 1e3 * self.cycles / self.firmware.target.cpu_hz

    @property
    def cycles_per_macc(self) -> float | None:
        return self.cycles / self.firmware.macc if self.firmware.macc else None

    @property
    def ram_total(self) -> int:
        return sum(v["bytes"] for v in self.ram.values() if v["ram"])

    def to_json(self) -> dict:
        """run.json: the build's provenance, the measurement and the agreement, as one object."""
        h, a = self.harness, self.agreement
        return {"build": self.firmware.info, "cycles": h.cycles, "ms": self.ms, "cycles_per_macc": self.cycles_per_macc,
                "status": h.status, "stack_used": h.stack_used, "layers": h.layers, "output": a.output.tolist(),
                "reference": a.reference.tolist(), "max_abs": a.max_abs, "l2r": a.l2r,
                "argmax_equal": a.argmax_equal, "engine": self.engine, "target": self.firmware.target.name,
                "simulator": self.simulator, "ram": {k: {**v} for k, v in self.ram.items()},
                "ram_total": self.ram_total}


def run(model: str | Graph, config: BuildConfig | None = None, engine: str = "sim", timing: str = "instr",
        output: str | Path | None = None) -> RunResult:
    """Build ``model`` (a path, ``zoo:NAME`` or a Graph) with ``config`` (default: BuildConfig()), run it
    on ``engine`` with the simulator's ``timing`` mode, and write run.json into ``output`` if given.
    The output folder is checked before anything is built, so a bad ``-o`` costs no build."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (choose {' or '.join(ENGINES)})")
    if output is not None:
        check_folder(Path(output))
    config = config or BuildConfig()
    graph = model if isinstance(model, Graph) else load(model, config.input_shape)
    fw, cached = cached_firmware(graph, config)
    simulator: dict = {}
    if engine == "sim":
        from tinyscope.sim import simulate  # here: numba compiles the timing hooks on first use

        r = simulate(fw.elf, fw.target, profile=False, timing_mode=timing)
        harness, simulator = parse_output(r.stdout), r.meta.get("simulator", {})
    else:
        from tinyscope.firmware.qemu import run_qemu

        harness = parse_output(run_qemu(fw.elf, fw.target.name))
    from tinyscope.profile.memory import ram_figures  # here: tinyscope.profile loads the simulator

    result = RunResult(graph, fw, cached, engine, harness, agreement(graph, fw.input, harness.output),
                       ram_figures(fw.elf, fw.target), simulator)
    if output is not None:
        with staged_folder(Path(output)) as tmp:
            (tmp / PROFILE_FILES["run"]).write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return result
