"""Simulator speed: the study's model with the full timing model and with bare unicorn, same ELF,
in one run. Prints both rates and their ratio (goal: >= 20 M simulated instructions/s, >= 1/3 of bare).

    .venv/bin/python bench/sim_speed.py [MODEL] [--repeat N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import tinyscope
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.sim import simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model", nargs="?", default="zoo:mnist-cnn")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    graph = tinyscope.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        fw = build_firmware(graph, Path(tmp), BuildConfig())
        simulate(fw.elf, fw.target)  # warm-up: numba loads its cached machine code
        timed, bare = [], []
        for _ in range(args.repeat):
            r = simulate(fw.elf, fw.target, profile=True)
            timed.append(r.wall_seconds)
            t = time.perf_counter()
            simulate(fw.elf, fw.target, timing=False)
            bare.append(time.perf_counter() - t)
    n = r.instructions
    t_rate, b_rate = n / min(timed) / 1e6, n / min(bare) / 1e6
    print(f"model {args.model}: {n:,} instructions, {r.cycles:,} cycles, best of {args.repeat}")
    print(f"timing model : {min(timed):6.2f} s  {t_rate:6.1f} M instructions/s")
    print(f"bare unicorn : {min(bare):6.2f} s  {b_rate:6.1f} M instructions/s")
    print(f"ratio        : {t_rate / b_rate:6.2f} of bare (goal >= 0.33); goal 20 M/s: "
          f"{'met' if t_rate >= 20 else 'not met'}")


if __name__ == "__main__":
    main()
