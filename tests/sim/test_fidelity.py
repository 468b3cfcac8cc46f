"""The calibration suite (bench/fidelity.py) runs in `make test`: every snippet the model claims to
reproduce is within half a cycle (one dual-issue slot) of its published silicon figure, and the mean
absolute error over all snippets that ran stays small. Snippets with a documented gap are reported, not
asserted."""


from __future__ import annotations

import shutil

import pytest

from bench.fidelity import CASES, mean_abs_error, measure, table

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


def test_calibration_suite(capsys) -> None:
    rows = [measure(c) for c in CASES]
    with capsys.disabled():
        print("\n" + table(rows))
    off = [(r.name, r.simulated, r.published) for r in rows
           if not r.gap and r.simulated is not None and abs(r.error) > 0.5]  # half a cycle: one dual-issue slot
    assert not off
    ran = [r for r in rows if r.simulated is not None]
    assert len(ran) >= len(CASES) - 3  # only the double-precision snippets may not run (no DP in the engine yet)
    assert all(r.name.endswith(("f64", "f64 CPI")) for r in rows if r.simulated is None)
    assert mean_abs_error(rows) < 0.25
