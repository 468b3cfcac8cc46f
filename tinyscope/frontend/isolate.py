"""Run a file reader built on a C library in a child process, with a time and memory limit.

The HDF5 library that h5py wraps is not hardened against damaged files: a zeroed global heap makes
it loop forever inside one C call (no Python signal can interrupt it), and corrupt files have
crashed it in the past. So Keras files are read in a child: the child runs the reader and hands
back plain data, float arrays in an .npz (never a pickle) and JSON; the parent checks both again.
A hang, a crash or running out of memory in the child is one ``ModelError`` naming the file.

The child is forked when this process has a single thread (a few milliseconds), and otherwise
started afresh with ``python -c`` (a fork of a multi-threaded process is not safe).
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinyscope.errors import ModelError, ShapeError, TinyscopeError, UnsupportedError

ADDRESS_SPACE = 4 * 2**30
_ERRORS = {c.__name__: c for c in (ModelError, ShapeError, UnsupportedError)}
Result = tuple[dict, dict[str, list[np.ndarray]]]


def time_limit(path: Path) -> float:
    """CPU seconds for the child: five, and one more per 50 MB (reading a sound file takes a small
    fraction of this). CPU time, not wall time, so a loaded machine never turns a slow read into a
    refusal; the wall-clock backstop is WALL_FACTOR times longer."""
    return 5.0 + path.stat().st_size / 50e6


WALL_FACTOR = 12  # a child starved of CPU by other work still gets its CPU seconds before the backstop


def read_isolated(reader: str, path: Path, check: Callable[[Path, str], dict]) -> Result:
    """``reader(path)`` (a function of tinyscope.frontend.keras) run in a child process.

    ``check(path, config_json)`` re-validates the config text in the parent.
    """
    limit = time_limit(path)
    with tempfile.TemporaryDirectory(prefix="tinyscope-read-") as tmp:
        out = Path(tmp)
        if threading.active_count() == 1 and hasattr(os, "fork"):
            status = _forked(reader, path, out, limit)
        else:
            status = _spawned(reader, path, out, limit)
        if status in ("timeout", "died by signal SIGXCPU"):
            raise ModelError(f"{path}: reading the file took more than {limit:.0f} s of CPU; a damaged HDF5 file "
                             "can make the HDF5 library loop forever")
        error = out / "error.json"
        if error.is_file():
            e = json.loads(error.read_text(encoding="utf-8"))
            raise _ERRORS.get(e.get("class"), ModelError)(str(e.get("message", "unreadable file")))
        if status != "ok" or not (out / "result.json").is_file():
            raise ModelError(f"{path}: the HDF5 library failed reading the file ({status})")
        return _unpack(path, out, check)


def _forked(reader: str, path: Path, out: Path, limit: float) -> str:
    done_r, done_w = os.pipe()  # closed by the child's exit, however it ends: the parent wakes at once
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(done_r)
            faulthandler.disable()  # a crash here is reported by the parent, not dumped on the terminal
            code = child_main(reader, path, out, cpu_seconds=limit)
        finally:
            os._exit(code)
    os.close(done_w)
    try:
        ready, _, _ = select.select([done_r], [], [], limit * WALL_FACTOR)
        if not ready:
            return "timeout"
        _, status = os.waitpid(pid, 0)
        pid = 0
        return _describe(status)
    finally:  # a timeout, or this process interrupted while waiting: the child must not live on
        os.close(done_r)
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _spawned(reader: str, path: Path, out: Path, limit: float) -> str:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    code = ("import sys; from tinyscope.frontend.isolate import child_main; "
            "sys.exit(child_main(*sys.argv[1:-1], cpu_seconds=float(sys.argv[-1])))")
    try:
        r = subprocess.run([sys.executable, "-c", code, reader, str(path), str(out), str(limit)], env=env,
                           capture_output=True, timeout=limit * WALL_FACTOR)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "ok" if r.returncode == 0 else (f"died by signal {signal.Signals(-r.returncode).name}"
                                           if r.returncode < 0 else f"exit status {r.returncode}")


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"died by signal {signal.Signals(os.WTERMSIG(status)).name}"
    code = os.WEXITSTATUS(status)
    return "ok" if code == 0 else f"exit status {code}"


def child_main(reader: str, path: str | Path, out: str | Path, cpu_seconds: float = 0.0) -> int:
    """In the child: limit memory and CPU time, run the reader, write result.json + weights.npz or
    error.json."""
    out, path = Path(out), Path(path)
    try:
        if cpu_seconds > 0:
            used = resource.getrusage(resource.RUSAGE_SELF)
            spent = used.ru_utime + used.ru_stime  # a spawned child has already spent its start-up
            cpu = int(spent + cpu_seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(ADDRESS_SPACE, hard)
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        from tinyscope.frontend import keras

        config, weights = getattr(keras, reader)(path)
        arrays, index = {}, []
        for lname, ws in weights.items():
            keys = []
            for w in ws:
                keys.append(f"a{len(arrays)}")
                arrays[keys[-1]] = np.ascontiguousarray(w, dtype=np.float32)
            index.append([lname, keys])
        np.savez(out / "weights.npz", **arrays)
        (out / "result.json").write_text(json.dumps({"config": json.dumps(config), "weights": index}),
                                         encoding="utf-8")
        return 0
    except TinyscopeError as exc:
        _error(out, type(exc).__name__, str(exc))
        return 3
    except MemoryError:
        _error(out, "ModelError", f"{path}: reading the file needs more than {ADDRESS_SPACE // 2**30} GB of memory")
        return 3
    except Exception as exc:  # the HDF5 library's own errors on damage it did not foresee
        text = " ".join(str(exc).split())[:200]
        _error(out, "ModelError", f"{path}: damaged file ({type(exc).__name__}: {text})")
        return 3


def _error(out: Path, cls: str, message: str) -> None:
    (out / "error.json").write_text(json.dumps({"class": cls, "message": message}), encoding="utf-8")


def _unpack(path: Path, out: Path, check: Callable[[Path, str], dict]) -> Result:
    """The child's result, trusted no more than the file: the config is checked again, arrays are
    loaded without pickle and must be float32."""
    try:
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        config = check(path, result["config"])
        weights: dict[str, list[np.ndarray]] = {}
        with np.load(out / "weights.npz", allow_pickle=False) as z:
            for lname, keys in result["weights"]:
                arrs = [z[k] for k in keys]
                if not isinstance(lname, str) or any(a.dtype != np.float32 for a in arrs):
                    raise ValueError("unexpected weights")
                weights[lname] = arrs
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise ModelError(f"{path}: the file's reader returned malformed data ({type(exc).__name__})") from None
    return config, weights
