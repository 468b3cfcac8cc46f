"""The STM32H743's FPU is double precision (fpv5-d16): unicorn's Cortex-M7 model runs DP
instructions (it is a Cortex-M33 with a single-precision FPU under UC_MODE_MCLASS), and the timing
model times them as DP operations, not as their single-precision cousins."""

from __future__ import annotations

import shutil

import pytest

from tinyscope.sim import simulate

from .snippets import build, rept

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]

SETUP = "    vmov.f64 d1, #1.0\n    vmov.f64 d2, #1.5\n    vmov.f64 d3, #2.0"


def cycles(tmp_path, name: str, body: str, timing: bool = True) -> int:
    r = simulate(build(tmp_path, name, body, setup=SETUP), "stm32h743", timing=timing)
    assert r.exit_code == 0
    return int(r.itm["value"][0]) if timing else r.instructions


@pytest.mark.parametrize("op", ["vadd.f64 d1, d1, d2", "vmul.f64 d1, d1, d2", "vdiv.f64 d1, d1, d2",
                                "vsqrt.f64 d1, d3", "vfma.f64 d1, d2, d3", "vcvt.f64.f32 d4, s1",
                                "vcvt.s32.f64 s8, d2", "vldr d5, [r7]", "vstr d2, [r7, #8]",
                                "vmov.f64 d6, d2", "vcmp.f64 d1, d2", "vneg.f64 d7, d2"])
def test_double_precision_instructions_execute(tmp_path, op):
    name = op.split()[0].replace(".", "_")
    assert cycles(tmp_path, name, rept(8, f"    {op}"), timing=False) > 0  # no "undefined instruction"
    assert cycles(tmp_path, name, rept(8, f"    {op}")) > 0


@pytest.mark.parametrize("dp,sp", [("vadd.f64 d1, d1, d2", "vadd.f32 s2, s2, s4"),
                                   ("vmul.f64 d1, d1, d2", "vmul.f32 s2, s2, s4"),
                                   ("vdiv.f64 d1, d1, d2", "vdiv.f32 s2, s2, s4")])
def test_dependent_double_precision_chains_cost_more_than_single(tmp_path, dp, sp):
    n = 32
    assert cycles(tmp_path, "dp", rept(n, f"    {dp}")) > cycles(tmp_path, "sp", rept(n, f"    {sp}")) + n // 2
