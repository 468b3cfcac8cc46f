"""Study grids: presets written as roles resolve on every board, and placements that cannot fit
are found before any build, with the region and the bytes over."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields

import pytest

from tinyscope.errors import InputError
from tinyscope.firmware.config import OPTIONS, BuildConfig
from tinyscope.firmware.firmware import check_config
from tinyscope.firmware.options import add_build_arguments, config_from_args
from tinyscope.frontend import load
from tinyscope.plan.analyze import analyze
from tinyscope.studies.grid import KEYS, check_fit, load_grid, preset, preset_runs
from tinyscope.targets import TARGETS, load_target


@pytest.mark.parametrize("target", TARGETS)
def test_seed_preset_resolves_on_every_board(target):
    runs, skipped = preset_runs("seed", target)
    board = load_target(target)
    for run in runs:
        check_config(run.config)  # every region exists and may hold its class on this board
        assert set(run.config.place.values()) <= set(board.regions.names())
    has_tcm = any(r.bus == "dtcm" and r.kind == "ram" for r in board.regions)
    assert (len(runs), len(skipped)) == ((7, 0) if has_tcm else (2, 5))
    assert all("left out" in n and target in n for n in skipped)


def test_seed_preset_on_the_f7_uses_its_tcms():
    runs = {r.name[0]: r.config.place for r in preset("seed", "stm32f746")}
    assert runs["1"] == {} and runs["2"] == {"activations": "dtcm"}
    assert runs["7"] == {"activations": "dtcm", "code": "itcm", "stack": "dtcm"}


def test_roles_in_a_grid(tmp_path):
    g = tmp_path / "g.toml"
    g.write_text('[[run]]\nplace = "activations=@data-tcm,code=@code-tcm,weights=@default"\n')
    assert load_grid(g, "stm32f746")[0].config.place == {"activations": "dtcm", "code": "itcm", "weights": "flash"}
    with pytest.raises(InputError, match="mps2-an500 has no DTCM"):
        load_grid(g, "mps2-an500")
    g.write_text('[[run]]\nplace = "activations=@fast"\n')
    with pytest.raises(InputError, match="unknown role '@fast'"):
        load_grid(g)


def test_placements_that_cannot_fit_are_found_up_front(tmp_path):
    figures = analyze(load("zoo:mnist-cnn"))
    g = tmp_path / "g.toml"
    g.write_text('[[run]]\nname = "fits"\n[[run]]\nname = "weights in DTCM"\nplace = "weights=dtcm"\n'
                 '[[run]]\nname = "F7 all in DTCM"\ntarget = "stm32f746"\nplace = "activations=dtcm,stack=dtcm"\n')
    problems = check_fit(load_grid(g), figures)
    need = figures.weights_bytes
    dtcm = load_target("stm32h743").regions.by_name("dtcm").size
    assert len(problems) == 1 and problems[0].startswith("'weights in DTCM': dtcm")
    assert f"needs {need:,} B" in problems[0] and f"({need - dtcm:,} B over)" in problems[0]
    big = tmp_path / "big.toml"  # activations + stack together overflow the F7's 64 KiB DTCM
    big.write_text('[[run]]\nname = "big stack"\ntarget = "stm32f746"\nplace = "activations=dtcm,stack=dtcm"\n')
    run = load_grid(big)[0]
    from dataclasses import replace

    run = replace(run, config=replace(run.config, stack_size=48 * 1024))
    [line] = check_fit([run], figures)
    x = sum(t.bytes for t in figures.inputs)  # the input buffer sits beside the activations
    total = x + figures.activations_bytes + 48 * 1024
    assert f"dtcm needs {total:,} B (input {x:,} + activations {figures.activations_bytes:,} + stack {48 * 1024:,})" \
        in line


def test_a_grid_sets_every_build_option(tmp_path):
    """Every BuildConfig field is a grid key (its CLI flag without the dashes); an unset key keeps the
    field's default, and a relative input is read beside the grid file."""
    (tmp_path / "x.npy").write_bytes(b"")
    p = tmp_path / "g.toml"
    p.write_text('[[run]]\nname = "all"\nplace = "activations=@data-tcm"\nicache = "off"\ndcache = false\n'
                 'libc = "newlib"\nopt = "O2"\nstack-size = 8192\ninput = "x.npy"\nseed = 7\n'
                 'input_shape = [1, 3, 32, 32]\n[[run]]\n')
    full, empty = load_grid(p)
    assert full.config == BuildConfig(target="stm32h743", place={"activations": "dtcm"}, icache=False, dcache=False,
                                      libc="newlib", opt="-O2", stack_size=8192, input_path=str(tmp_path / "x.npy"),
                                      seed=7, input_shape=(1, 3, 32, 32))
    assert empty.name == "run 2" and empty.config == BuildConfig()
    assert set(KEYS) == {o.flag.removeprefix("--") for o in OPTIONS.values()} and len(KEYS) == len(fields(BuildConfig))


@pytest.mark.parametrize(("line", "word"), [("stack-size = true", "stack-size: expected a whole number"),
                                            ("seed = 1.5", "seed: expected a whole number"),
                                            ("input-shape = \"1xAx3\"", "input-shape: '1xAx3' is not a shape"),
                                            ("icache = \"maybe\"", "icache: expected on or off"),
                                            ("libc = \"glibc\"", "libc: unknown libc 'glibc'"),
                                            ("stack-size = 1000", "must be a multiple of 8"),
                                            ("colour = 1", "unknown keys colour")])
def test_grid_values_are_checked_by_the_options_parsers(tmp_path, line, word):
    p = tmp_path / "g.toml"
    p.write_text(f"[[run]]\n{line}\n")
    with pytest.raises(InputError, match=f"g.toml: run 1: .*{re.escape(word)}"):
        load_grid(p)


def test_the_command_line_defaults_are_the_config_defaults():
    """argparse's build options, unset, give BuildConfig(); each flag reads its value with the field's parser."""
    parser = argparse.ArgumentParser()
    add_build_arguments(parser)
    assert config_from_args(parser.parse_args([])) == BuildConfig()
    got = config_from_args(parser.parse_args(["--stack-size", "0x2000", "--icache", "off", "--place", "code=itcm",
                                              "--input-shape", "1x8", "-O1"]))
    assert got == BuildConfig(stack_size=8192, icache=False, place={"code": "itcm"}, input_shape=(1, 8), opt="-O1")
