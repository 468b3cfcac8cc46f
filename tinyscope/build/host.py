"""Build generated C for this machine as a shared library and run it through ctypes."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from tinyscope.codegen import GeneratedCode
from tinyscope.errors import BuildError
from tinyscope.ir.graph import Graph

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror"]


def host_compiler() -> str:
    for cc in ("gcc", "cc", "clang"):
        if shutil.which(cc):
            return cc
    raise BuildError("no host C compiler found (install gcc)")


def compile_shared(code: GeneratedCode, out: Path, sanitize: bool = False) -> Path:
    """``gcc -shared`` the generated sources; a compiler error becomes a BuildError with its stderr."""
    lib = out / f"lib{code.name}.so"
    cmd = [host_compiler(), *WARNINGS, "-O2", "-fPIC", "-shared", "-I", str(code.folder),
           *(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"] if sanitize else []),
           *[str(s) for s in code.sources], "-o", str(lib)]
    run_compiler(cmd)
    return lib


def run_compiler(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        first = next((line for line in r.stderr.splitlines() if "error" in line), r.stderr.strip()[:200])
        raise BuildError(f"{Path(cmd[0]).name} failed: {first}", cmd, r.stderr)


class HostNetwork:
    """The generated network loaded in this process: ``run(x)`` returns the output array."""

    def __init__(self, lib: Path, code: GeneratedCode, graph: Graph) -> None:
        self._lib = ctypes.CDLL(str(lib))
        self._run = getattr(self._lib, f"{code.name}_run")
        self._run.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._run.restype = ctypes.c_int
        self.inp = graph.input_tensors()[0]
        self.out = graph.output_tensors()[0]

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=self.inp.dtype.numpy).reshape(self.inp.shape)
        y = np.zeros(self.out.shape, self.out.dtype.numpy)
        self._run(x.ctypes.data, y.ctypes.data)
        return y
