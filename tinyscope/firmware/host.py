"""Build generated C for this machine as an executable and run it in a child process.

The network never runs inside tinyscope: the child reads samples on stdin, writes outputs on
stdout and exits, under a time and address-space limit. A crash is a clear error, not a crash of
tinyscope, and nothing a model contains can act on tinyscope's own process.
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np

from tinyscope.codegen import GeneratedCode
from tinyscope.errors import BuildError, ValidationError
from tinyscope.ir.graph import Graph

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-trigraphs"]
ADDRESS_SPACE_LIMIT = 4 << 30  # bytes; sanitizer builds are run without it (ASan reserves terabytes)


def host_compiler() -> str:
    for cc in ("gcc", "cc", "clang"):
        if shutil.which(cc):
            return cc
    raise BuildError("no host C compiler found (install gcc)")


def compile_host(code: GeneratedCode, out: Path, sanitize: bool = False) -> Path:
    """The generated sources and the host harness as one executable; a compiler error becomes a
    BuildError with its stderr."""
    exe = out / f"{code.name}_host"
    harness = resources.files("tinyscope.firmware").joinpath("harness", "host_main.c")
    n = code.name
    cmd = [host_compiler(), *WARNINGS, "-O2", "-I", str(code.folder), "-include", f"{n}.h",
           f"-DTS_RUN={n}_run", f"-DTS_IN_SIZE={n}_INPUT_SIZE", f"-DTS_OUT_SIZE={n}_OUTPUT_SIZE",
           *(["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"] if sanitize else []),
           str(harness), *[str(s) for s in code.sources], "-lm", "-o", str(exe)]
    run_compiler(cmd)
    return exe


def run_compiler(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        first = next((line for line in r.stderr.splitlines() if "error" in line), r.stderr.strip()[:200])
        raise BuildError(f"{Path(cmd[0]).name} failed: {first}", cmd, r.stderr)


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


class HostNetwork:
    """The generated network as a child process: ``run_batch(xs)`` returns one output per sample."""

    def __init__(self, exe: Path, code: GeneratedCode, graph: Graph, timeout: float = 120.0,
                 limit_memory: bool = True) -> None:
        self.exe = Path(exe)
        self.inp = graph.input_tensors()[0]
        self.out = graph.output_tensors()[0]
        self.timeout = timeout
        self.limit_memory = limit_memory

    def run_batch(self, xs: np.ndarray | list[np.ndarray]) -> np.ndarray:
        batch = [np.ascontiguousarray(x, dtype=self.inp.dtype.numpy).reshape(self.inp.shape) for x in xs]
        data = b"".join(x.tobytes() for x in batch)
        try:
            r = subprocess.run([str(self.exe)], input=data, capture_output=True, timeout=self.timeout,
                               preexec_fn=_limit_address_space if self.limit_memory else None)
        except subprocess.TimeoutExpired:
            raise ValidationError(f"the host build of the network did not finish {len(batch)} samples "
                                  f"in {self.timeout:g} s") from None
        if r.returncode != 0:
            why = (f"was killed by {signal.Signals(-r.returncode).name}" if r.returncode < 0
                   else f"exited with status {r.returncode}")
            detail = r.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ValidationError(f"the host build of the network {why}"
                                  + (f": {detail[-1][:200]}" if detail else ""))
        nbytes = self.out.nbytes
        if len(r.stdout) != nbytes * len(batch):
            raise ValidationError(f"the host build of the network wrote {len(r.stdout)} bytes, "
                                  f"expected {nbytes * len(batch)}")
        y = np.frombuffer(r.stdout, dtype=self.out.dtype.numpy)
        return y.reshape((len(batch), *self.out.shape)).copy()

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.run_batch([x])[0]
