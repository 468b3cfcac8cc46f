"""A profile as terminal text: summary, function, layer and stall tables, and the hot loops."""

from __future__ import annotations

from dataclasses import asdict

from tinyscope.profile import MEASURED, Profile
from tinyscope.profile.elf import MEASURED_ELF, ElfProfile
from tinyscope.profile.functions import STALL_COLUMNS
from tinyscope.report.names import short_names
from tinyscope.report.regions import hot_regions
from tinyscope.report.tables import render, table

NAME_WIDTH = 28
LISTING = 24  # instructions listed per hot region in the terminal (the costliest, in address order)


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def _source(where: str, text: str, width: int = 44) -> str:
    s = f"{where} {text}".strip()
    return s if len(s) <= width else s[: width - 1] + "…"


def render_profile(p: Profile, top: int = 12, loops: int = 4) -> str:
    s = p.summary()
    cfg = p.firmware.config
    head = [
        f" model       : {p.model} ({s['model_sha256'][:16] if s['model_sha256'] else '?'})",
        f" target      : {s['target']} at {s['cpu_hz'] / 1e6:g} MHz; {cfg.libc}, {cfg.opt}; "
        f"I-cache {'on' if cfg.icache else 'off'}, D-cache {'on' if cfg.dcache else 'off'}",
        " placement   : " + ", ".join(f"{k}={v}" for k, v in p.firmware.placement.as_dict().items()),
        f" cycles      : {p.cycles:,} ({p.ms:.3f} ms), {s['cycles_per_macc']:.2f} cycles/MACC",
        f" measured    : {MEASURED}",
        f" output      : argmax {p.agreement.argmax} (reference {p.agreement.reference_argmax}), "
        f"max |diff| {p.agreement.max_abs:.3g}",
        f" caches      : I {s['icache']['misses']:,}/{s['icache']['accesses']:,} misses "
        f"({_pct(s['icache']['miss_rate'])}), D {s['dcache']['misses']:,}/{s['dcache']['accesses']:,} "
        f"({_pct(s['dcache']['miss_rate'])})",
    ]
    return _render_body(p, head, s, top, loops)


def render_elf_profile(p: ElfProfile, top: int = 12, loops: int = 4) -> str:
    """The same tables for any firmware: no model lines; the layer table only with region markers."""
    s = p.summary()
    r = p.result
    head = [
        f" firmware    : {p.elf} ({(s['elf_sha256'] or '?')[:16]})" + (f", from {p.source}" if p.source != "simulated"
                                                                        else ""),
        f" target      : {s['target']} at {s['cpu_hz'] / 1e6:g} MHz"
        + "".join(f"; {k} {({True: 'on', False: 'off'}.get(v, v) if isinstance(v, bool) else v)}"
                  for k, v in r.meta.get("run", {}).items()),
        f" cycles      : {p.cycles:,} ({p.ms:.3f} ms), {r.instructions:,} instructions, exit {r.exit_code}",
        f" measured    : {MEASURED_ELF}",
        f" caches      : I {s['icache']['misses']:,}/{s['icache']['accesses']:,} misses "
        f"({_pct(s['icache']['miss_rate'])}), D {s['dcache']['misses']:,}/{s['dcache']['accesses']:,} "
        f"({_pct(s['dcache']['miss_rate'])})",
    ]
    head += [f" note        : {n}" for n in p.notes]
    return _render_body(p, head, s, top, loops)


def _render_body(p: Profile | ElfProfile, head: list[str], s: dict, top: int, loops: int) -> str:
    stall_total = sum(s["stalls"].values())
    head.append(" stalls      : " + ", ".join(f"{k} {v:,}" for k, v in s["stalls"].items())
                + f" (total {stall_total:,})")
    funcs = table("functions", [("function", "left"), ("calls", "right"), ("exclusive", "right"),
                                ("inclusive", "right"), ("share", "right"), ("cyc/call", "right"),
                                ("I$ miss", "right"), ("D$ miss", "right"), ("D$ acc", "right")],
                  [[f.name, f"{f.calls:,}", f"{f.exclusive:,}", f"{f.inclusive:,}", _pct(f.share),
                    f"{f.per_call:,.0f}", f"{f.icache_miss:,}", f"{f.dcache_miss:,}", f"{f.dcache_access:,}"]
                   for f in p.functions[:top]])
    stalls = table("stall cycles per function", [("function", "left")] + [(c[6:], "right") for c in STALL_COLUMNS],
                   [[f.name] + [f"{f.stalls[c]:,}" for c in STALL_COLUMNS] for f in p.functions[:top]])
    layers = table("layers (ITM markers)", [("c_id", "right"), ("m_id", "right"), ("layer", "left"), ("op", "left"),
                                           ("macc", "right"), ("cycles", "right"), ("cyc/MACC", "right"),
                                           ("share", "right"), ("D$ miss", "right")],
                   [[lay.c_id, lay.m_id, short, lay.op, f"{lay.macc:,}", f"{lay.cycles:,}",
                     f"{lay.cycles_per_macc:.2f}", _pct(lay.share), f"{lay.dcache_miss:,}"]
                    for lay, short in zip(p.layers, short_names([lay.name for lay in p.layers], NAME_WIDTH))])
    if isinstance(p, ElfProfile) and p.layers:
        layers = table("regions (tinyscope_markers.h)", [("id", "right"), ("region", "left"), ("cycles", "right"),
                                                         ("share", "right"), ("I$ miss", "right"),
                                                         ("D$ miss", "right")],
                       [[lay.c_id, lay.name, f"{lay.cycles:,}", _pct(lay.share), f"{lay.icache_miss:,}",
                         f"{lay.dcache_miss:,}"] for lay in p.layers])
    shown = (funcs, stalls, layers) if p.layers or isinstance(p, Profile) else (funcs, stalls)
    parts = ["\n".join(head), "", render(*shown)]
    for lp in hot_regions([asdict(x) for x in p.loops], [asdict(x) for x in p.blocks], loops):  # each region once
        unit = "iterations" if lp["kind"] == "loop" else "executions"
        parts.append(f"hot {lp['kind']} in {lp['function']} 0x{lp['start']:08x}-0x{lp['end']:08x}: "
                     f"{lp['iterations']:,} {unit}, {lp['cycles']:,} cycles ({_pct(lp['share'])})"
                     + "".join(f"\n  ! {n}" for n in lp["notes"]))
        lines = lp["lines"]
        shown = sorted(sorted(lines, key=lambda ln: -ln["cycles"])[:LISTING], key=lambda ln: ln["addr"])
        rows = [[f"{ln['addr']:08x}", ln["text"], f"{ln['count']:,}", f"{ln['cycles']:,}", f"{ln['stalls']:,}",
                 f"{ln['icache_miss']:,}", f"{ln['dcache_miss']:,}", _source(ln["source"], ln["source_text"])]
                for ln in shown]
        if len(lines) > len(shown):
            rest = [ln for ln in lines if ln not in shown]
            rows.append(["", f"… {len(rest)} cooler instructions", "", f"{sum(ln['cycles'] for ln in rest):,}",
                         f"{sum(ln['stalls'] for ln in rest):,}", "", "", "(all in hotloops.json, report.html)"])
        parts.append(render(table(None, [("addr", "left"), ("instruction", "left"), ("exec", "right"),
                                         ("cycles", "right"), ("stalls", "right"), ("I$ miss", "right"),
                                         ("D$ miss", "right"), ("C source", "left")], rows)))
    return "\n".join(parts)
