"""arm-none-eabi-gcc as argument lists: compile one C file, link objects with a script and a libc."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from tinyscope.errors import BuildError
from tinyscope.targets import Target

GCC = "arm-none-eabi-gcc"
LIBCS = ("newlib", "nano", "nano-bytecopy")
OPTS = ("-O0", "-O1", "-O2", "-O3", "-Os", "-Og", "-Ofast")
# -ffp-contract=fast: under -std=c99 GCC keeps a*b+c as VMUL+VADD; contraction gives VFMA (one FP
# instruction per multiply-accumulate instead of two)
CFLAGS = ["-std=c99", "-Wall", "-g", "-ffunction-sections", "-fdata-sections", "-ffp-contract=fast"]


def gcc() -> str:
    path = shutil.which(GCC)
    if path is None:
        raise BuildError(f"{GCC} not found (Debian: apt install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    return path


def cpu_flags(target: Target) -> list[str]:
    return ["-mcpu=cortex-m7", "-mthumb", f"-mfpu={target.fpu}", "-mfloat-abi=hard"]


def libc_specs(libc: str) -> list[str]:
    """Spec files per libc variant; the byte-copy memcpy is an extra object, added by the caller."""
    if libc not in LIBCS:
        raise BuildError(f"unknown libc {libc!r} (choose {', '.join(LIBCS)})")
    return (["--specs=nano.specs"] if libc != "newlib" else []) + ["--specs=nosys.specs"]


def run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        first = next((ln for ln in r.stderr.splitlines() if "error" in ln.lower()), r.stderr.strip()[:300])
        raise BuildError(f"{what} failed: {first}", cmd, r.stderr)
    return r


def compile_c(target: Target, src: Path, obj: Path, flags: list[str]) -> Path:
    run([gcc(), *cpu_flags(target), *CFLAGS, *flags, "-c", str(src), "-o", str(obj)], f"compiling {src.name}")
    return obj


def link_command(target: Target, objs: list[Path], script: Path, elf: Path, map_file: Path, libc: str) -> list[str]:
    return [gcc(), *cpu_flags(target), *libc_specs(libc), "-nostartfiles", "-T", str(script),
            "-Wl,--gc-sections", "-Xlinker", f"-Map={map_file}", "-Wl,--print-memory-usage",
            *[str(o) for o in objs], "-lm", "-o", str(elf)]


@cache
def version() -> str:
    r = subprocess.run([gcc(), "--version"], capture_output=True, text=True)
    return r.stdout.splitlines()[0] if r.stdout else "unknown"
