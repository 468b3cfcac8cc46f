"""Block timing agrees with instruction timing: the differential corpus and every zoo and shared model
print the same thing in both modes and their cycle counts agree within 0.5 % (the calibration snippets,
within 2 %, are held in test_fidelity.py from the same builds). Both modes call the same rule functions
(timing._step, _branch); block mode approximates only at block boundaries (docs/simulator-speed.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.frontend import load, zoo
from tinyscope.sim import simulate

from ..conftest import SHARED_MODELS
from .differential import GCC, build
from .test_differential import CORPUS

pytestmark = [pytest.mark.sim, pytest.mark.skipif(GCC is None, reason="arm-none-eabi-gcc missing")]

# The bound for whole programs (docs/simulator-speed.md has the figures).
WHOLE_PROGRAM = 0.005


def _params(names: list[str]) -> list:
    return list(names)


SHARED = ["mnist_cnn.h5", "mnist_cnn_f32.tflite", "kws_dscnn_int8.tflite", "kws_dscnn_f32.tflite",
          "ic_resnet8_int8.tflite"]


def _without_cycles(text: str) -> str:
    """The console without the lines that print DWT cycle counts (they differ by design)."""
    return "".join(ln + "\n" for ln in text.splitlines() if not ln.startswith(("TS:LAYER", "TS:CYCLES")))


def _agree(elf, target, name: str) -> float:
    instr = simulate(elf, target, profile=False, timing_mode="instr")
    block = simulate(elf, target, profile=False, timing_mode="block")
    assert block.meta["simulator"]["timing_mode"] == "block"
    assert (_without_cycles(block.stdout), block.exit_code) == (_without_cycles(instr.stdout), instr.exit_code)
    diff = (block.cycles - instr.cycles) / instr.cycles
    print(f"\n{name}: instr {instr.cycles:,} block {block.cycles:,} cycles ({diff:+.3%}); instructions "
          f"{instr.instructions:,} / {block.instructions:,}")
    assert abs(diff) <= WHOLE_PROGRAM, f"{name}: block {block.cycles:,} vs instr {instr.cycles:,} ({diff:+.3%})"
    return diff


@pytest.mark.parametrize("name", _params(list(CORPUS)))
def test_differential_corpus_agrees_in_both_modes(name: str, tmp_path) -> None:
    sources, fpu, libc = CORPUS[name]
    _agree(build(tmp_path, name, sources, fpu=fpu, libc=libc), "mps2-an500", name)


@pytest.mark.parametrize("model", _params([f"zoo:{n}" for n in zoo.NAMES] + SHARED))
def test_models_agree_in_both_modes(model: str, tmp_path) -> None:
    if not model.startswith("zoo:"):
        path = SHARED_MODELS / model
        if not path.is_file():
            pytest.skip(f"{path} not present (the shared models folder is not beside this checkout)")
        model = str(path)
    fw = build_firmware(load(model), tmp_path, BuildConfig())
    _agree(fw.elf, fw.target, Path(model).name)


def test_block_mode_counts_the_budget_and_stops(tmp_path) -> None:
    """Block mode keeps the instruction budget without unicorn's per-instruction counter."""
    from tinyscope.errors import SimError

    elf = build(tmp_path, "qsort", ["qsort.c"])
    with pytest.raises(SimError, match="budget of 5,000 instructions"):
        simulate(elf, "mps2-an500", timing_mode="block", max_instructions=5_000)


def test_an_unknown_timing_mode_is_one_clear_error(tmp_path) -> None:
    from tinyscope.errors import SimError

    with pytest.raises(SimError, match="timing mode"):
        simulate(tmp_path / "none.elf", timing_mode="fast")
