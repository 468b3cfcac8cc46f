"""Study grids: presets written as roles resolve on every board, and placements that cannot fit
are found before any build, with the region and the bytes over."""

from __future__ import annotations

import pytest

from tinyscope.errors import InputError
from tinyscope.firmware.firmware import check_config
from tinyscope.frontend import load
from tinyscope.plan.analyze import analyze
from tinyscope.studies.grid import check_fit, load_grid, preset, preset_runs
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
