"""Simulator speed: block timing, instruction timing and bare unicorn side by side, same ELF, one run.

Workloads: the study's network (zoo:mnist-cnn by default, and the shared models when ../shared is there:
the study's Keras MNIST CNN and the int8 KWS DS-CNN) and a branchy integer program (bench/programs/
branchy.c: CRC-32, a list walk, a state machine, a matrix product). Bare unicorn is ``simulate(...,
timing=False)``: the same engine with only the native instruction counter. Goals for block timing on
the study's network: >= 25 M simulated instructions/s and >= 1/3 of bare.

    .venv/bin/python bench/sim_speed.py [WORKLOAD ...] [--repeat N]

A WORKLOAD is a model (zoo:NAME or a file) or ``branchy``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import tinyscope
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.sim import simulate

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "models"
SYS_C = HERE.parent / "tests" / "sim" / "programs" / "sys.c"
MPS2_LD = HERE.parent / "tests" / "sim" / "programs" / "mps2.ld"


def default_workloads() -> list[str]:
    out = ["zoo:mnist-cnn"]
    out += [str(SHARED / f) for f in ("mnist_cnn.h5", "kws_dscnn_int8.tflite") if (SHARED / f).exists()]
    return out + ["branchy"]


def build_branchy(folder: Path) -> tuple[Path, str]:
    """bench/programs/branchy.c with the differential corpus's start-up code, for mps2-an500."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise SystemExit("arm-none-eabi-gcc is needed for the branchy workload")
    elf = folder / "branchy.elf"
    subprocess.run([gcc, "-O2", "-g0", "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16",
                    "-specs=nano.specs", "-nostartfiles", "-T", str(MPS2_LD), str(SYS_C),
                    str(HERE / "programs" / "branchy.c"), "-o", str(elf)], check=True)
    return elf, "mps2-an500"


def measure(elf: Path, target, repeat: int) -> dict:
    """Best wall time of each engine over ``repeat`` rounds (interleaved, so load drifts hit all three)."""
    modes = {"block": {"timing_mode": "block"}, "instr": {"timing_mode": "instr"}, "bare": {"timing": False}}
    for kw in modes.values():  # warm-up: numba loads its cached machine code
        simulate(elf, target, profile=False, **kw)
    best = {m: float("inf") for m in modes}
    res = {}
    for _ in range(repeat):
        for m, kw in modes.items():
            r = simulate(elf, target, profile=False, **kw)
            best[m] = min(best[m], r.wall_seconds)
            res[m] = r
    return {"best": best, "results": res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, w in enumerate(args.workloads or default_workloads()):
            folder = Path(tmp) / str(k)
            folder.mkdir()
            if w == "branchy":
                elf, target = build_branchy(folder)
            else:
                fw = build_firmware(tinyscope.load(w), folder, BuildConfig())
                elf, target = fw.elf, fw.target
            m = measure(elf, target, args.repeat)
            rows.append((Path(w).name, m))
    print(f"best of {args.repeat}; M = million simulated instructions per second (instructions: block mode's "
          "count; cycles: block vs instr)")
    print(f"{'workload':<24} {'instructions':>13} {'bare M/s':>9} {'block M/s':>10} {'instr M/s':>10} "
          f"{'block/bare':>10} {'instr/bare':>10} {'block/instr':>11} {'cycles Δ':>9}")
    for name, m in rows:
        r, b = m["results"], m["best"]
        rate = {mode: r[mode].instructions / b[mode] / 1e6 for mode in b}
        dc = (r["block"].cycles - r["instr"].cycles) / r["instr"].cycles
        print(f"{name:<24} {r['block'].instructions:>13,} {rate['bare']:>9.1f} {rate['block']:>10.1f} "
              f"{rate['instr']:>10.1f} {rate['block'] / rate['bare']:>10.2f} {rate['instr'] / rate['bare']:>10.2f} "
              f"{rate['block'] / rate['instr']:>11.2f} {dc:>+9.3%}")
    name, m = rows[0]
    r, b = m["results"], m["best"]
    block, bare = r["block"].instructions / b["block"] / 1e6, r["bare"].instructions / b["bare"] / 1e6
    print(f"goals on {name}: >= 25 M/s {'met' if block >= 25 else 'NOT met'} ({block:.1f}); >= 1/3 of bare "
          f"{'met' if block >= bare / 3 else 'NOT met'} ({block / bare:.2f})")


if __name__ == "__main__":
    main()
