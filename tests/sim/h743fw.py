"""Build the register-level STM32H743 and STM32F746 test firmware in tests/sim/firmware (no vendor code)."""

from __future__ import annotations

import subprocess
from pathlib import Path

FIRMWARE = Path(__file__).parent / "firmware"
INCLUDE = Path(__file__).parents[2] / "tinyscope" / "firmware" / "include"
CFLAGS = ["-O2", "-g", "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16", "-ffreestanding",
          "-fno-tree-loop-distribute-patterns", "-nostdlib"]


def build_h743(out: Path, name: str, sources: list[str | Path], defines: tuple[str, ...] = (),
               ld: str = "h743.ld") -> Path:
    """Link ``sources`` (names in firmware/ or paths) with the start-up file for the H743 memory map (or
    the linker script ``ld``: f746.ld for the F746)."""
    elf = out / f"{name}.elf"
    files = [str(s if isinstance(s, Path) else FIRMWARE / s) for s in ["h743_start.c", *sources]]
    cmd = ["arm-none-eabi-gcc", *CFLAGS, "-T", str(FIRMWARE / ld), f"-I{INCLUDE}", f"-I{FIRMWARE}", *defines,
           *files, "-lgcc", "-o", str(elf)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return elf
