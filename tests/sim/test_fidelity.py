"""The calibration suite (bench/fidelity.py) runs in `make test`, in both timing modes from the same
builds: every snippet the model claims to reproduce is within half a cycle (one dual-issue slot) of its
published silicon figure, and the mean absolute error over all snippets that ran stays small, per mode;
block timing agrees with instruction timing within 2 % on every snippet. Snippets with a documented gap
are reported, not asserted."""


from __future__ import annotations

import shutil

import pytest

from bench.fidelity import CASES, mean_abs_error, measure_modes, table

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]

MODES = ("instr", "block")
SNIPPET = 0.02  # block vs instr, relative, per snippet (the bound for the smallest programs)


def test_calibration_suite(capsys) -> None:
    both = [measure_modes(c, modes=MODES) for c in CASES]
    for mode in MODES:
        rows = [b[mode] for b in both]
        with capsys.disabled():
            print(f"\n[{mode} timing]\n" + table(rows))
        off = [(r.name, r.simulated, r.published) for r in rows
               if not r.gap and r.simulated is not None and abs(r.error) > 0.5]  # half a cycle: one dual-issue slot
        assert not off, mode
        ran = [r for r in rows if r.simulated is not None]
        assert len(ran) >= len(CASES) - 3  # only the double-precision snippets may not run
        assert all(r.name.endswith(("f64", "f64 CPI")) for r in rows if r.simulated is None)
        assert mean_abs_error(rows) < 0.25, mode
    pairs = [(b["instr"], b["block"]) for b in both if b["instr"].simulated is not None]
    rel = sorted(((abs(k.simulated - i.simulated) / max(abs(i.simulated), 1e-9), i.name) for i, k in pairs),
                 reverse=True)
    with capsys.disabled():
        print(f"block vs instr: largest difference {rel[0][0]:.2%} ({rel[0][1]})")
    assert rel[0][0] <= SNIPPET, rel[:3]
