"""The Cortex-M7 core's timing parameters (cortex_m7.toml) as a typed record.

The file is the single source of every core timing figure: the simulator reads them from this record
and keeps no copies. Unknown and missing keys are errors, so a figure cannot be added to the file and
silently ignored, nor dropped from it and silently defaulted.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources
from typing import Any

from tinyscope.errors import InputError


@dataclass(frozen=True)
class Latency:
    """Producer issue to the issue of a late-ALU consumer, in cycles."""

    alu: int
    load_word: int
    load_narrow: int
    mul: int
    div: int
    fp_alu: int
    fp_cvt: int
    fp_mac: int
    fp_div: int
    fp_sqrt: int
    fp_load: int
    fp_mov: int
    fp_to_core: int
    dp_alu: int
    dp_mul: int
    dp_mac: int
    dp_div: int


@dataclass(frozen=True)
class Forward:
    """Corrections to Latency by how the consumer reads its operand."""

    early_operand: int
    word_load_to_address: int
    word_load_to_multiply: int
    mul_to_address: int
    accumulate_advance: int
    store_data_advance: int
    fp_accumulate_from_mac: int
    fp_accumulate_from_load: int


@dataclass(frozen=True)
class Issue:
    width: int
    words_per_cycle: int
    div_cycles: int
    table_branch_cycles: int
    dp_add_cycles: int
    dp_mul_cycles: int
    dp_mac_cycles: int


@dataclass(frozen=True)
class Branch:
    mispredict: int
    mispredict_early_flags: int
    early_flags_cycles: int
    direct_miss: int
    btac_entries: int
    btac_counter_bits: int


@dataclass(frozen=True)
class Memory:
    store_buffer_entries: int
    narrow_store_cycles: int
    fetch_bytes: int


@dataclass(frozen=True)
class CoreTiming:
    """One core's timing: a section per table of cortex_m7.toml."""

    latency: Latency
    forward: Forward
    issue: Issue
    branch: Branch
    memory: Memory
    estimated: tuple[str, ...] = ()  # "section.name" of the figures without a hard source

    @staticmethod
    def sections() -> dict[str, type]:
        return {f.name: f.type if isinstance(f.type, type) else globals()[f.type] for f in fields(CoreTiming)
                if f.name != "estimated"}

    def field_names(self) -> list[str]:
        """Every figure as "section.name"."""
        return [f"{s}.{f.name}" for s, cls in self.sections().items() for f in fields(cls)]


def parse_core(data: dict[str, Any], where: str = "core timing") -> CoreTiming:
    """Build the record; InputError on an unknown or missing section or key, or a non-integer value."""
    sections = CoreTiming.sections()
    data = dict(data)
    estimated = data.pop("estimated", [])
    extra = set(data) - set(sections)
    if extra:
        raise InputError(f"{where}: unknown section(s) {', '.join(sorted(extra))}")
    built = {}
    for name, cls in sections.items():
        table = data.get(name)
        if not isinstance(table, dict):
            raise InputError(f"{where}: missing section [{name}]")
        want = {f.name for f in fields(cls)}
        unknown, missing = set(table) - want, want - set(table)
        if unknown:
            raise InputError(f"{where}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
        if missing:
            raise InputError(f"{where}: missing key(s) in [{name}]: {', '.join(sorted(missing))}")
        bad = [k for k, v in table.items() if not isinstance(v, int) or isinstance(v, bool)]
        if bad:
            raise InputError(f"{where}: [{name}] {', '.join(sorted(bad))} must be integers")
        built[name] = cls(**table)
    core = CoreTiming(**built, estimated=tuple(estimated) if isinstance(estimated, list) else ("?",))
    unknown = set(core.estimated) - set(core.field_names())
    if unknown:
        raise InputError(f"{where}: estimated names unknown figure(s) {', '.join(sorted(unknown))}")
    return core


@cache
def load_core() -> CoreTiming:
    text = resources.files("tinyscope.targets").joinpath("cortex_m7.toml").read_text()
    return parse_core(tomllib.loads(text), "cortex_m7.toml")
