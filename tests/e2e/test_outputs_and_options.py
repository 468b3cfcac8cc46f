"""Output folders are whole or absent, options are checked with one line, studies survive kills and
torn logs, and the build cache key and entries cannot go stale or be damaged silently."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tinyscope
from tinyscope.errors import InputError
from tinyscope.firmware import toolchain
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import firmware_sources
from tinyscope.outputs import staged_folder
from tinyscope.studies.grid import load_grid, preset
from tinyscope.studies.runner import _key, read_log, run_grid, study_lock

pytestmark = pytest.mark.e2e


def cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "usage:" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


# ---------------------------------------------------------------- outputs

def test_non_ascii_paths_and_model_names(tmp_path):
    model = tmp_path / "mödel ✓.onnx"
    src = Path(__file__).resolve().parent.parent / "hostc" / "test_codegen_names.py"
    assert src.exists()
    import onnx

    from tests.hostc.test_codegen_names import onnx_model
    onnx.save(onnx_model([f"v{i}" for i in range(16)]), model)
    out = tmp_path / "sortie é" / "c"
    r = cli("generate", str(model), "-o", str(out))
    assert r.returncode == 0, r.stderr
    report = (out / "network_report.txt").read_text(encoding="utf-8")
    assert "mödel ✓.onnx" in report
    assert (out / "network.c").read_bytes().isascii()
    r = cli("analyze", str(model), "-o", str(tmp_path / "analyse ü"))
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("verb", ["generate", "analyze", "build", "profile", "study", "run"])
def test_output_naming_a_file_is_one_line(tmp_path, verb):
    f = tmp_path / "file"
    f.write_text("keep me")
    r = cli(verb, "zoo:tiny-dscnn", "-o", str(f))
    assert "is a file" in one_line_error(r)
    assert f.read_text() == "keep me"


def test_failed_generate_leaves_no_folder_and_keeps_an_old_one(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    r = cli("generate", str(bad), "-o", str(tmp_path / "new"))
    one_line_error(r)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]  # no folder, no staging leftovers
    old = tmp_path / "old"
    old.mkdir()
    (old / "mine.txt").write_text("x")
    one_line_error(cli("generate", str(bad), "-o", str(old)))
    assert sorted(p.name for p in old.iterdir()) == ["mine.txt"]


def test_staged_folder_is_all_or_nothing(tmp_path):
    dest = tmp_path / "d"
    with pytest.raises(RuntimeError), staged_folder(dest) as tmp:
        (tmp / "a").write_text("a")
        raise RuntimeError("fail half way")
    assert not dest.exists() and list(tmp_path.iterdir()) == []
    with staged_folder(dest) as tmp:
        (tmp / "a").write_text("1")
    with staged_folder(dest) as tmp:  # into an existing folder: replaces by name, keeps the rest
        (tmp / "b").write_text("2")
    assert {p.name: p.read_text() for p in dest.iterdir()} == {"a": "1", "b": "2"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("args, word", [
    (["validate", "zoo:tiny-dscnn", "-n", "-1"], "-n"),
    (["validate", "zoo:tiny-dscnn", "-n", "100000000"], "-n"),
    (["validate", "zoo:tiny-dscnn", "-n", "many"], "-n"),
    (["sim", "x.elf", "--timeout", "-1"], "--timeout"),
    (["sim", "x.elf", "--max-instructions", "0"], "--max-instructions"),
    (["study", "zoo:tiny-dscnn", "-j", "0"], "--jobs"),
    (["analyze"], "model"),
    (["nonsense"], "COMMAND"),
    (["analyze", "zoo:tiny-dscnn", "--bogus"], "--bogus"),
])
def test_bad_options_are_one_line(args, word):
    assert word in one_line_error(cli(*args))


def test_sim_save_to_a_folder_is_one_line(tmp_path):
    elf = tmp_path / "x.elf"
    elf.write_bytes(b"\x7fELF")
    assert "--save" in one_line_error(cli("sim", str(elf), "--save", str(tmp_path)))


def test_unreachable_scheduler_is_one_line_within_ten_seconds(tmp_path):
    t0 = time.monotonic()
    r = cli("study", "zoo:tiny-dscnn", "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "s"))
    assert "--scheduler" in one_line_error(r)
    assert time.monotonic() - t0 < 20  # a 5 s connect timeout + start-up (dask), with room for a loaded machine


GRIDS = {
    "type": ('name = 3', "name must be a string"),
    "key": ('name = "a"\ncolour = "red"', "unknown keys colour"),
    "target": ('target = "stm32h999"', "unknown target"),
    "region": ('place = "weights=nowhere"', "no region"),
    "libc": ('libc = "glibc"', "unknown libc"),
    "opt": ('opt = "-O9"', "optimisation"),
    "onoff": ('icache = "maybe"', "on or off"),
}


@pytest.mark.parametrize("case", sorted(GRIDS))
def test_grid_is_checked_whole_before_any_build(tmp_path, case):
    body, word = GRIDS[case]
    grid = tmp_path / "g.toml"
    grid.write_text('[[run]]\nname = "fine"\n\n[[run]]\n' + body + "\n")
    with pytest.raises(InputError, match=word):
        load_grid(grid)
    out = tmp_path / "s"
    r = cli("study", "zoo:tiny-dscnn", "--grid", str(grid), "-o", str(out))
    assert word in one_line_error(r)
    assert not list(out.glob("run*")) if out.exists() else True  # nothing was built


# ---------------------------------------------------------------- studies

def test_resume_tolerates_a_torn_last_line(tmp_path):
    runs = preset("memcpy")
    log = tmp_path / "results.jsonl"
    lines = [json.dumps({"name": r.name, "ok": True, "key": _key(r), "cycles": 1}) for r in runs]
    log.write_text("\n".join(lines) + '\n{"name": "torn", "ok": tr')
    assert len(read_log(log)) == 2
    results = run_grid("zoo:tiny-dscnn", runs, tmp_path, workers=1)  # all done: nothing is run
    assert [r["cycles"] for r in results] == [1, 1]
    assert log.read_text().endswith("\n")


def test_two_studies_cannot_share_a_folder(tmp_path):
    with study_lock(tmp_path), pytest.raises(InputError, match="another study"):
        run_grid("zoo:tiny-dscnn", preset("memcpy"), tmp_path, workers=1)


def test_killing_a_study_kills_its_workers(tmp_path):
    pidfile = tmp_path / "worker.pid"
    script = textwrap.dedent(f"""
        import os, time
        from concurrent.futures import ProcessPoolExecutor
        from tinyscope.studies.runner import _die_with_parent

        def work():
            open({str(pidfile)!r}, "w").write(str(os.getpid()))
            time.sleep(600)

        if __name__ == "__main__":
            with ProcessPoolExecutor(1, initializer=_die_with_parent) as pool:
                pool.submit(work).result()
    """)
    (tmp_path / "study_like.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "study_like.py")])
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.1)
    worker = int(pidfile.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail("the worker outlived its SIGKILLed study")


# ---------------------------------------------------------------- the build cache

def test_cache_key_is_what_goes_into_the_firmware(monkeypatch):
    g = tinyscope.load("zoo:tiny-dscnn")
    base = firmware_sources(g, BuildConfig()).key()
    assert firmware_sources(tinyscope.load("zoo:tiny-dscnn"), BuildConfig()).key() == base
    changed = tinyscope.load("zoo:tiny-dscnn")
    w = next(t for t in changed.tensors.values() if t.data is not None and t.data.size > 4)
    w.data = w.data.copy()
    w.data.flat[0] += 1  # same zoo name, other weights: another firmware
    assert firmware_sources(changed, BuildConfig()).key() != base
    assert firmware_sources(g, BuildConfig(opt="-O2")).key() != base
    assert firmware_sources(g, BuildConfig(dcache=False)).key() != base
    assert firmware_sources(g, BuildConfig(seed=1)).key() != base  # another input sample
    monkeypatch.setattr(toolchain, "version", lambda: "arm-none-eabi-gcc 99")
    assert firmware_sources(g, BuildConfig()).key() != base
