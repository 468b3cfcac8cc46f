"""`tinyscope build` and `tinyscope run` from the command line: files, region table, one-line errors,
the build cache, and the simulator's figures."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tinyscope.cli import main

pytestmark = [pytest.mark.sim, pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                                  reason="arm-none-eabi-gcc not installed")]


def test_build_writes_the_firmware_folder(tmp_path: Path, capsys) -> None:
    rc = main(["build", "zoo:tiny-dscnn", "-o", str(tmp_path / "fw"), "--place", "code=itcm,activations=dtcm",
               "--libc", "nano-bytecopy", "--dcache", "off"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "code=itcm" in text and "dcache off" in text and "libc nano-bytecopy" in text
    assert re.search(r"itcm\s+0x00000000\s+\d+\s+65536", text)
    assert {p.name for p in (tmp_path / "fw").iterdir()} >= {"firmware.elf", "firmware.map", "firmware.ld",
                                                             "build.json", "src"}


def test_build_errors_are_one_line(tmp_path: Path, capsys) -> None:
    rc = main(["build", "zoo:mnist-cnn", "-o", str(tmp_path), "--place", "weights=dtcm"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert re.search(r"region dtcm overflowed by \d+ bytes", err)
    assert main(["build", "zoo:mnist-cnn", "-o", str(tmp_path), "--place", "stack=flash"]) == 2
    assert "stack must be in RAM" in capsys.readouterr().err


def test_run_caches_and_reports(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TINYSCOPE_CACHE", str(tmp_path))
    args = ["run", "zoo:tiny-dscnn-int8", "--target", "mps2-an500", "--engine", "qemu"]
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed")
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "max |diff| 0," in first and "(cached)" not in first
    assert main(args) == 0
    assert "(cached)" in capsys.readouterr().out
    assert main(["run", "zoo:tiny-dscnn", "-o", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    cycles = int(re.search(r"cycles\s+(\d+)", text)[1])
    assert cycles > 0 and re.search(r"ms at 480 MHz", text) and re.search(r"cycles/MACC\s+\d+\.\d\d", text)
    assert (tmp_path / "run.json").is_file()
