"""Users describe their own board: `--target path/to/board.toml` works for every verb that takes a target,
bad files give one line and exit status 2, and run.json records the board, the simulator's version and the
estimated figures the run relied on."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from tinyscope.cli import main

from .snippets import build

pytestmark = [pytest.mark.sim, pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                                  reason="arm-none-eabi-gcc not installed")]


def _board(tmp_path: Path, edit=lambda s: s) -> Path:
    p = tmp_path / "myboard.toml"
    text = resources.files("tinyscope.targets").joinpath("stm32h743.toml").read_text()
    p.write_text(edit(text.replace('name = "stm32h743"', 'name = "myboard"')))
    return p


def test_sim_takes_a_board_file(tmp_path: Path, capsys) -> None:
    elf = build(tmp_path, "ok", "    ldr r0, [r6]\n    nop", caches=True)
    board = _board(tmp_path)
    assert main(["sim", str(elf), "--target", str(board), "--json"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert main(["sim", str(elf), "--json"]) == 0
    builtin = json.loads(capsys.readouterr().out)
    assert mine["target"] == "myboard" and mine["cycles"] == builtin["cycles"]
    assert mine["simulator"]["board"] == str(board.resolve())
    assert "board.axisram.access_cycles" in mine["simulator"]["estimated"]
    # the board's wait states are the board's: a slower AXI SRAM shows in the cycles
    slow = _board(tmp_path, lambda s: s.replace("access_cycles = 2    # AXI matrix request and data return [ESTIMATE];",
                                                 "access_cycles = 6    #"))
    assert main(["sim", str(elf), "--target", str(slow), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cycles"] > builtin["cycles"]


def test_bad_board_file_is_one_line(tmp_path: Path, capsys) -> None:
    elf = build(tmp_path, "ok", "    nop")
    bad = _board(tmp_path, lambda s: s.replace("bus_bits = 32 ", "bus_width = 32 ", 1))
    assert main(["sim", str(elf), "--target", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown key(s) bus_width" in err and "myboard.toml" in err
    assert main(["build", "zoo:tiny-dscnn", "-o", str(tmp_path / "fw"), "--target", str(tmp_path / "no.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sim", str(elf), "--target", "stm32h999"])
    assert "or give the path of a board .toml file" in capsys.readouterr().err


def test_run_and_profile_with_a_board_file(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TINYSCOPE_CACHE", str(tmp_path / "cache"))
    board = _board(tmp_path)
    assert main(["run", "zoo:tiny-dscnn", "--target", str(board), "-o", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert doc["target"] == "myboard"
    sim = doc["simulator"]
    assert sim["version"] and sim["timing_model"] and sim["board"] == str(board.resolve())
    assert "board.flash.access_cycles" in sim["estimated"]
