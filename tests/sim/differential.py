"""The differential harness: build a corpus program, run it with the timing model, without it and
under QEMU, and when they disagree name the first instruction where their paths part.

A program is C (and assembly) files from ``programs/`` linked with ``sys.c`` (start-up and newlib
system calls over semihosting). QEMU runs only the mps2-an500 memory map.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import capstone
import numpy as np

from tinyscope.errors import SimError
from tinyscope.sim import simulate
from tinyscope.sim.elf import read_image

PROGRAMS = Path(__file__).parent / "programs"
QEMU = shutil.which("qemu-system-arm")
GCC = shutil.which("arm-none-eabi-gcc")
FPU = {"sp": "fpv5-sp-d16", "dp": "fpv5-d16"}  # doubles in libgcc's soft-double code, or in the FPU
LIBC = {"nano": ["-specs=nano.specs", "-u", "_printf_float", "-u", "_scanf_float"], "newlib": []}


def build(out: Path, name: str, sources: list[str], fpu: str = "dp", libc: str = "nano",
          ld: Path = PROGRAMS / "mps2.ld", opt: str = "-O2") -> Path:
    """Compile ``sources`` (paths relative to programs/) with sys.c into ``out/name.elf``."""
    elf = out / f"{name}.elf"
    cmd = [GCC, opt, "-g0", "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", f"-mfpu={FPU[fpu]}", *LIBC[libc],
           "-nostartfiles", "-T", str(ld), str(PROGRAMS / "sys.c"), *(str(PROGRAMS / s) for s in sources),
           "-lm", "-o", str(elf)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr}"
    return elf


@dataclass
class Outcome:
    """What one engine made of a program: its console text, exit status and instruction count (or
    the fault that stopped it)."""

    stdout: str
    exit_code: int | None
    instructions: int | None = None
    fault: str | None = None

    def same_as(self, other: Outcome) -> bool:
        return (self.stdout, self.exit_code, self.fault) == (other.stdout, other.exit_code, other.fault)


def run_sim(elf: Path, target: str, timing: bool, trace: int = 0) -> tuple[Outcome, np.ndarray | None]:
    try:
        r = simulate(elf, target, timing=timing, profile=False, trace=trace, timeout_s=120)
    except SimError as exc:
        fault = str(exc).split("; last instructions")[0]
        return Outcome(getattr(exc, "stdout", ""), None, None, fault), getattr(exc, "pc_trace", None)
    return Outcome(r.stdout, r.exit_code, r.instructions), r.pc_trace


def qemu_cmd(elf: Path) -> list[str]:
    return [QEMU, "-M", "mps2-an500", "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]


def run_qemu(elf: Path) -> Outcome:
    """QEMU prints SYS_WRITE0 text on stderr and SYS_WRITE to ":tt" on stdout; a program uses one."""
    r = subprocess.run(qemu_cmd(elf), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return Outcome(r.stdout + r.stderr, r.returncode)


def qemu_trace(elf: Path, log: Path) -> np.ndarray:
    """Every PC QEMU executes, one instruction per translation block (-singlestep, -d exec,nochain)."""
    subprocess.run([*qemu_cmd(elf), "-singlestep", "-d", "exec,nochain", "-D", str(log)], capture_output=True,
                   timeout=600, stdin=subprocess.DEVNULL)
    pcs = [int(line.split("[", 1)[1].split("/")[1], 16) for line in log.read_text().splitlines()
           if line.startswith("Trace ")]
    return np.array(pcs, np.int64)


class Disassembly:
    """Name an address: symbol+offset and the instruction there, from the ELF's bytes."""

    def __init__(self, elf: Path) -> None:
        self.image = read_image(elf)
        self.md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)

    def __call__(self, pc: int) -> str:
        text = "?"
        for addr, data in self.image.code + self.image.segments:
            if addr <= pc < addr + len(data):
                for insn in self.md.disasm(data[pc - addr: pc - addr + 4], pc, 1):
                    text = f"{insn.mnemonic} {insn.op_str}".strip()
                break
        return f"{self.image.symbols.name(pc)} ({text})"


def first_divergence(a: np.ndarray, b: np.ndarray, skippable: int = 0) -> tuple[int, int] | None:
    """Indices (i, j) of the first place the PC sequences ``a`` and ``b`` part, or None when one is a
    prefix of the other. With ``skippable`` > 0, ``a`` may hold up to that many extra straight-line
    instructions before realigning (QEMU traces the instructions of an IT block whose condition
    fails; unicorn's code hook does not see them)."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
            continue
        for s in range(1, skippable + 1):
            if i + s < len(a) and a[i + s] == b[j] and all(0 < a[i + t + 1] - a[i + t] <= 4 for t in range(s)):
                i += s
                break
        else:
            return i, j
    return None if i == len(a) or j == len(b) else (i, j)


def explain(elf: Path, target: str, qemu: bool) -> str:
    """Re-run with PC traces and name the first instruction where timing-on and timing-off (or the
    simulator and QEMU) part."""
    name = Disassembly(elf)
    cap = 20_000_000
    _, on = run_sim(elf, target, True, trace=cap)
    _, off = run_sim(elf, target, False, trace=cap)
    lines = []
    d = first_divergence(on, off)
    if d is None:
        lines.append(f"timing on and off follow the same {min(len(on), len(off)):,} PCs "
                     f"(then {len(on):,} vs {len(off):,})")
    else:
        i, j = d
        before = name(int(on[i - 1])) if i else "the start"
        lines.append(f"timing on and off part after {i:,} instructions, after {before}: on runs "
                     f"{name(int(on[i])) if i < len(on) else 'nothing'}, off runs "
                     f"{name(int(off[j])) if j < len(off) else 'nothing'}")
    if qemu and QEMU:
        q = qemu_trace(elf, elf.with_suffix(".qemu.log"))
        d = first_divergence(q, off, skippable=4)
        if d is None:
            lines.append(f"QEMU and the simulator follow the same path ({len(q):,} vs {len(off):,} PCs)")
        else:
            i, j = d
            before = name(int(off[j - 1])) if j else "the start"
            lines.append(f"QEMU and the simulator part after {before}: QEMU runs "
                         f"{name(int(q[i])) if i < len(q) else 'nothing'}, the simulator runs "
                         f"{name(int(off[j])) if j < len(off) else 'nothing'}")
    return "\n".join(lines)


def check(elf: Path, target: str = "mps2-an500", qemu: bool = True, normalize=None, same_count: bool = True
          ) -> Outcome:
    """Run three ways and assert that they agree; return the timing-off outcome. ``normalize`` maps
    console text to what must agree (e.g. without cycle counts, which only the timing model has);
    ``same_count`` False for a program whose path depends on the cycle counter."""
    on, _ = run_sim(elf, target, True)
    off, _ = run_sim(elf, target, False)
    if normalize is not None:
        on.stdout, off.stdout = normalize(on.stdout), normalize(off.stdout)
    problems = []
    if not on.same_as(off):
        problems.append(f"timing on and off differ:\n  on:  {on}\n  off: {off}")
    elif same_count and on.instructions != off.instructions:
        problems.append(f"timing on and off count {on.instructions:,} and {off.instructions:,} instructions")
    q = None
    if qemu and QEMU and target == "mps2-an500":
        q = run_qemu(elf)
        if normalize is not None:
            q.stdout = normalize(q.stdout)
        if (q.stdout, q.exit_code) != (off.stdout, off.exit_code):
            problems.append(f"QEMU differs:\n  qemu: {q}\n  sim:  {off}")
    if problems:
        raise AssertionError(f"{elf.name}: " + "\n".join(problems) + "\n" + explain(elf, target, q is not None))
    assert off.fault is None and off.exit_code == 0, f"{elf.name}: {off}"
    return off
