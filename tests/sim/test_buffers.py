"""Nothing is dropped without a word: call events and ITM records past the simulator's buffers are
counted, and a profile runs again with buffers big enough for all of them."""

from __future__ import annotations

import shutil

import pytest

from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.frontend import load
from tinyscope.sim import simulate

pytestmark = [pytest.mark.sim, pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                                  reason="arm-none-eabi-gcc not installed")]


def test_overflow_is_counted_and_the_profile_grows_its_buffers(tmp_path, monkeypatch):
    import tinyscope.profile.capture as prof

    fw = build_firmware(load("zoo:tiny-dscnn"), tmp_path / "fw", BuildConfig())
    full = simulate(fw.elf, fw.target)
    assert full.events_dropped == 0 and full.itm_dropped == 0 and len(full.events) > 40 and len(full.itm) > 8
    cut = simulate(fw.elf, fw.target, events_cap=20, itm_cap=4)
    assert len(cut.events) == 20 and cut.events_dropped == len(full.events) - 20
    assert len(cut.itm) == 4 and cut.itm_dropped == len(full.itm) - 4
    assert cut.cycles == full.cycles

    calls = []
    real = prof.simulate

    def small_first(*a, **k):
        calls.append((k["events_cap"], k["itm_cap"]))
        if len(calls) == 1:
            k = {**k, "events_cap": 20, "itm_cap": 4}
        return real(*a, **k)

    monkeypatch.setattr(prof, "simulate", small_first)
    monkeypatch.setattr(prof, "MAX_EVENTS", 10**9)
    again = prof.simulate_whole(fw.elf, fw.target, None)
    assert len(calls) == 2 and len(again.events) == len(full.events) and len(again.itm) == len(full.itm)
    monkeypatch.setattr(prof, "MAX_EVENTS", 10)
    calls.clear()
    from tinyscope.errors import SimError
    with pytest.raises(SimError, match="calls and returns"):
        prof.simulate_whole(fw.elf, fw.target, None)


def test_an_elf_profile_is_captured_whole_and_a_cut_saved_run_is_refused(tmp_path, monkeypatch):
    """profile FIRMWARE.elf grows its buffers as a model profile does; a saved run (sim --save) that
    dropped events cannot be grown afterwards, so profiling it is refused with the counts."""
    import tinyscope.profile.capture as cap
    from tinyscope.errors import SimError
    from tinyscope.profile.elf import profile_elf

    fw = build_firmware(load("zoo:tiny-dscnn"), tmp_path / "fw", BuildConfig())
    full = simulate(fw.elf, fw.target)
    real, caps = cap.simulate, []

    def small_first(*a, **k):
        caps.append(k["events_cap"])
        return real(*a, **({**k, "events_cap": 20} if len(caps) == 1 else k))

    monkeypatch.setattr(cap, "simulate", small_first)
    p = profile_elf(fw.elf, fw.target)
    assert len(caps) == 2 and len(p.result.events) == len(full.events) and p.result.events_dropped == 0
    cut = simulate(fw.elf, fw.target, events_cap=20)
    cut.save(tmp_path / "cut.npz")
    with pytest.raises(SimError, match=f"dropped {len(full.events) - 20:,} call events"):
        profile_elf(tmp_path / "cut.npz")
