"""A run captured whole: the call events and ITM records a profile attributes, never silently cut short."""

from __future__ import annotations

from pathlib import Path

from tinyscope.errors import SimError
from tinyscope.sim import SimResult, simulate

MAX_EVENTS, MAX_ITM = 64_000_000, 16_000_000  # 1.5 GB and 0.8 GB of buffers: past this, refuse


def simulate_whole(elf: Path, target, code, timing_mode: str = "instr", **sim_options) -> SimResult:
    """Simulate with buffers big enough for every call event and ITM record: a run that overflows is
    run again (it is deterministic) with the buffers it needed."""
    events, itm = 2_000_000, 100_000
    while True:
        result = simulate(elf, target, code=code, events_cap=events, itm_cap=itm, timing_mode=timing_mode,
                          **sim_options)
        if not result.events_dropped and not result.itm_dropped:
            return result
        need_ev, need_itm = events + result.events_dropped, itm + result.itm_dropped
        if need_ev > MAX_EVENTS or need_itm > MAX_ITM:
            raise SimError(f"{Path(elf).name}: the run made {need_ev:,} calls and returns and {need_itm:,} ITM "
                           f"writes; a profile keeps at most {MAX_EVENTS:,} and {MAX_ITM:,}")
        events, itm = max(events, need_ev), max(itm, need_itm)


def check_whole(result: SimResult, where: str) -> None:
    """A saved run that outgrew its buffers cannot be profiled whole: say so rather than show part."""
    if result.events_dropped or result.itm_dropped:
        raise SimError(f"{where}: the saved run dropped {result.events_dropped:,} call events and "
                       f"{result.itm_dropped:,} ITM records past its buffers; profile the ELF itself")
