"""Run a firmware under QEMU (board mps2-an500) for a functional cross-check: same ELF, same protocol."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tinyscope.errors import SimError

QEMU = "qemu-system-arm"
QEMU_BOARDS = {"mps2-an500": "mps2-an500"}


def run_qemu(elf: str | Path, board: str = "mps2-an500", timeout: float = 120.0) -> str:
    """The text the firmware printed over semihosting (QEMU sends it to stderr, so both are kept)."""
    exe = shutil.which(QEMU)
    if exe is None:
        raise SimError(f"{QEMU} not found (Debian: apt install qemu-system-arm)")
    if board not in QEMU_BOARDS:
        raise SimError(f"QEMU runs only target(s) {', '.join(QEMU_BOARDS)}, not {board}")
    cmd = [exe, "-M", QEMU_BOARDS[board], "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise SimError(f"QEMU did not finish within {timeout:.0f} s") from exc
    return r.stdout + r.stderr
