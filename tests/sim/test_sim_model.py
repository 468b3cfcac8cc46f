"""A real model's firmware in the simulator: every executed instruction was decoded (none runs for
free) and the modelled pipeline never exceeds dual issue."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.firmware.protocol import parse_output
from tinyscope.sim import simulate
from tinyscope.sim.decode import decode_elf
from tinyscope.targets.core import load_core

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


@pytest.mark.parametrize("model", ["zoo:tiny-dscnn-int8", "zoo:tiny-dscnn"])
def test_every_executed_instruction_is_decoded(model, tmp_path):
    fw = build_firmware(tinyscope.load(model), tmp_path, BuildConfig())
    r = simulate(fw.elf, fw.target)
    text = decode_elf(fw.elf, load_core()).text
    executed = r.pcs()[r.pc_stats["count"] > 0]
    assert len(executed) > 100
    missing = [hex(int(pc)) for pc in executed if int(pc) not in text]
    assert not missing, missing[:10]
    assert r.instructions <= 2 * r.cycles  # dual issue at most
    assert int(np.sum(r.pc_stats["cycles"])) <= r.cycles


def test_int8_firmware_is_bit_exact_on_the_target(tmp_path):
    """The SMLAD path of the int8 conv (ic % 4 == 0) runs only on the Arm build: check it there."""
    graph = tinyscope.load("zoo:tiny-dscnn-int8")
    fw = build_firmware(graph, tmp_path, BuildConfig())
    out = parse_output(simulate(fw.elf, fw.target).stdout).output
    np.testing.assert_array_equal(out.ravel(), reference.run(graph, [fw.input[None]])[0].ravel())
