"""A GNU ld script from a target's memory map and a placement, and reading ld's verdict back.

Every loadable section lives in the boot flash (the region named ``flash``); a section placed in RAM
or ITCM gets its load copy there and an entry in the copy table that start-up walks (``.data``, and
code or weights moved to RAM). Zero-initialised sections get an entry in the zero table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinyscope.errors import PlanError
from tinyscope.targets import Region, Target

PLACEABLE = ("weights", "activations", "code", "stack", "input")
BOOT_REGION = "flash"
_OVERFLOW = re.compile(r"region [`']?([A-Za-z0-9_]+)'? overflowed by (\d+) bytes")
_USAGE = re.compile(r"^\s*([A-Za-z0-9_]+):\s+(\d+)\s*(B|KB|MB|GB)\s+(\d+)\s*(B|KB|MB|GB)\s+[\d.]+%", re.M)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


@dataclass(frozen=True)
class Placement:
    """Which region (by canonical name) holds each placeable class."""

    weights: str
    activations: str
    code: str
    stack: str
    input: str  # the input buffer: in RAM by default (beside the activations), as an application has it

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in PLACEABLE}


def resolve_placement(target: Target, place: dict[str, str] | None) -> Placement:
    """The target's default placement overridden by ``place``; unknown classes or regions are PlanErrors."""
    merged = dict(target.default_place)
    for what, name in (place or {}).items():
        if what not in PLACEABLE:
            raise PlanError(f"cannot place {what!r}: placeable are {', '.join(PLACEABLE)}")
        merged[what] = name
    if "input" not in merged and "activations" in merged:
        merged["input"] = merged["activations"]  # RAM, as analyze's ram (total) counts it
    out: dict[str, str] = {}
    for what in PLACEABLE:
        if what not in merged:
            raise PlanError(f"target {target.name} has no default region for {what}; give --place {what}=REGION")
        try:
            region = target.regions.by_name(merged[what])
        except KeyError:
            raise PlanError(f"target {target.name} has no region {merged[what]!r} for {what} "
                            f"(regions: {', '.join(target.regions.names())})") from None
        if region.mirror_of and (what != "code" or region.mirror_of != BOOT_REGION):
            raise PlanError(f"only code can go in {region.name} (a view of {region.mirror_of})")
        if what in ("activations", "stack") and region.kind != "ram":
            raise PlanError(f"{what} must be in RAM, but {region.name} is {region.kind}")
        out[what] = region.name
    return Placement(**out)


def _mem(region: Region) -> str:
    return region.name.upper()


def linker_script(target: Target, placement: Placement, stack_size: int) -> str:
    """The GNU ld script text (region names come from our own target files, checked as identifiers)."""
    boot = target.regions.by_name(BOOT_REGION)
    used = {boot.name, *placement.as_dict().values()}
    mirror = target.regions.by_name(placement.code) if target.regions.by_name(placement.code).mirror_of else None
    regions = [r for r in target.regions if r.name in used and not r.mirror_of]
    for r in regions:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", r.name):
            raise PlanError(f"target {target.name}: region name {r.name!r} is not an identifier")
    mem = ["MEMORY", "{"]
    for r in regions:
        attrs = "rx" if r.kind == "flash" else "rwx"
        mem.append(f"  {_mem(r)} ({attrs}) : ORIGIN = 0x{r.base:08X}, LENGTH = 0x{r.size:X}")
    mem.append("}")
    flash = _mem(boot)
    copies: list[str] = []
    zeros: list[str] = []

    def loaded(name: str, region: str, body: str) -> str:
        vma = _mem(target.regions.by_name(region))
        if vma == flash:
            where = f"> {flash}"
        else:
            where = f"> {vma} AT> {flash}"
            copies.append(name)
        return f"  {name} :\n  {{\n    . = ALIGN(8);\n{body}\n    . = ALIGN(8);\n  }} {where}\n"

    def zeroed(name: str, region: str, body: str) -> str:
        zeros.append(name)
        return (f"  {name} (NOLOAD) :\n  {{\n    . = ALIGN(8);\n{body}\n    . = ALIGN(8);\n  }} "
                f"> {_mem(target.regions.by_name(region))}\n")

    code = "\n".join(["    *(.text .text.*)", "    *(.glue_7) *(.glue_7t) *(.vfp11_veneer) *(.v4_bx)"])
    text = "" if mirror else loaded(".text", placement.code, code)
    sections = [
        f"  .isr_vector :\n  {{\n    KEEP(*(.isr_vector))\n    KEEP(*(.boot .boot.*))\n  }} > {flash}\n",
        text,
        f"  .rodata :\n  {{\n    . = ALIGN(8);\n    *(.rodata .rodata.*)\n    . = ALIGN(8);\n  }} > {flash}\n",
        f"  .ARM.exidx :\n  {{\n    *(.ARM.exidx* .gnu.linkonce.armexidx.*)\n  }} > {flash}\n",
        loaded(".tinyscope.weights", placement.weights, "    *(.tinyscope.weights .tinyscope.weights.*)"),
        loaded(".tinyscope.input", placement.input, "    KEEP(*(.tinyscope.input))"),
        loaded(".data", placement.stack, "    *(.data .data.*)"),
        zeroed(".bss", placement.stack, "    *(.bss .bss.*)\n    *(COMMON)"),
        zeroed(".tinyscope.activations", placement.activations, "    *(.tinyscope.activations)"),
        f"  .stack (NOLOAD) :\n  {{\n    . = ALIGN(8);\n    __ts_stack_bottom = .;\n"
        f"    . = . + 0x{stack_size:X};\n    . = ALIGN(8);\n"
        f"    _estack = .;\n  }} > {_mem(target.regions.by_name(placement.stack))}\n",
    ]
    tables = ["  .ts_tables :\n  {\n    . = ALIGN(4);\n    __ts_copy_start = .;"]
    tables += [f"    LONG(LOADADDR({s})) LONG(ADDR({s})) LONG(ADDR({s}) + SIZEOF({s}))" for s in copies]
    tables += ["    __ts_copy_end = .;", "    __ts_zero_start = .;"]
    tables += [f"    LONG(ADDR({s})) LONG(ADDR({s}) + SIZEOF({s}))" for s in zeros]
    tables += ["    __ts_zero_end = .;", f"  }} > {flash}\n"]
    if mirror:  # code runs in place through the mirror: same offset from the mirror's base as in flash
        tables += ["  __ts_mirror_lma = ALIGN(LOADADDR(.ts_tables) + SIZEOF(.ts_tables), 8);",
                   f"  .text (0x{mirror.base:08X} + __ts_mirror_lma - ORIGIN({flash})) : AT(__ts_mirror_lma)\n"
                   f"  {{\n{code}\n    . = ALIGN(8);\n  }}",
                   f"  __ts_flash_used = __ts_mirror_lma + SIZEOF(.text) - ORIGIN({flash});",
                   f"  ASSERT(__ts_flash_used <= LENGTH({flash}), \"region `{flash}' overflowed by code in "
                   f"{mirror.name}\")\n"]
    return "\n".join([
        f"/* Generated by tinyscope for target {target.name}: "
        + ", ".join(f"{k}={v}" for k, v in placement.as_dict().items()) + " */",
        "ENTRY(Reset_Handler)", "", *mem, "", "SECTIONS", "{", *sections, "\n".join(tables),
        "  end = ADDR(.bss) + SIZEOF(.bss);", "  _end = end;",
        "  /DISCARD/ : { *(.ARM.attributes.discard) }", "}", ""])


def overflow_error(stderr: str) -> PlanError | None:
    """A PlanError naming each overflowing region and the bytes missing, if ld reported overflows."""
    hits = _OVERFLOW.findall(stderr)
    if not hits:
        return None
    parts = [f"region {name.lower()} overflowed by {int(n)} bytes" for name, n in dict(hits).items()]
    return PlanError("firmware does not fit: " + "; ".join(parts))


def memory_usage(text: str) -> dict[str, tuple[int, int]]:
    """``{region: (used, size)}`` from ``ld --print-memory-usage`` output."""
    return {m[1].lower(): (int(m[2]) * _UNITS[m[3]], int(m[4]) * _UNITS[m[5]]) for m in _USAGE.finditer(text)}
