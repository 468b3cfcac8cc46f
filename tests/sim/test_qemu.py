"""Functional cross-check: one mps2-an500 firmware prints the same outputs under QEMU and in
tinyscope's simulator, and both agree with the reference executor."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyscope import reference
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.firmware.protocol import parse_output
from tinyscope.firmware.qemu import run_qemu
from tinyscope.frontend import load

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"),
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"),
]


@pytest.mark.parametrize("model,libc", [("zoo:tiny-dscnn", "nano-bytecopy"), ("zoo:tiny-dscnn-int8", "newlib")])
def test_qemu_and_simulator_agree(model: str, libc: str, tmp_path: Path) -> None:
    graph = load(model)
    fw = build_firmware(graph, tmp_path, BuildConfig(target="mps2-an500", libc=libc, seed=3))
    text = run_qemu(fw.elf)
    lines = [ln for ln in text.splitlines() if ln.startswith("TS:")]
    assert lines[0] == f"TS:BEGIN {graph_layers(fw)}" and lines[-1] == "TS:END"
    assert any(ln.startswith("TS:OUT ") for ln in lines) and "TS:STATUS 0" in lines
    q = parse_output(text)
    ref = reference.run(graph, fw.input[None])[0].ravel()
    if q.output.dtype == np.int8:
        assert np.array_equal(q.output, ref)
    else:
        np.testing.assert_allclose(q.output, ref, rtol=1e-5, atol=1e-6)

    from tinyscope.sim import simulate

    s = parse_output(simulate(fw.elf, "mps2-an500", profile=False).stdout)
    assert np.array_equal(s.output, q.output), "same ELF, same bytes out"
    assert s.status == q.status == 0
    assert 0 < s.stack_used == q.stack_used < fw.config.stack_size
    assert s.cycles > 0 and len(s.layers) == q.layer_count


def graph_layers(fw) -> int:
    header = (fw.folder / "src" / "network.h").read_text()
    return int(header.split("#define network_LAYER_COUNT ")[1].split()[0])
