"""A built firmware as terminal text: the bytes each memory region holds (build and run print it)."""

from __future__ import annotations

from tinyscope.firmware.firmware import Firmware
from tinyscope.report.tables import render, table


def usage_table(fw: Firmware) -> str:
    rows = []
    for name, (used, size) in sorted(fw.usage.items(), key=lambda kv: fw.target.regions.by_name(kv[0]).base):
        region = fw.target.regions.by_name(name)
        holds = ", ".join(k for k, v in fw.placement.as_dict().items() if v == name)
        rows.append([name, f"0x{region.base:08x}", used, size, f"{100 * used / size:.1f}%", holds])
    return render(table("bytes per region", [("region", "left"), ("base", "left"), ("used", "right"),
                                             ("size", "right"), ("%", "right"), ("holds", "left")], rows))
