"""A study's comparison: the table (text and CSV) and the bar chart of cycles per configuration."""

from __future__ import annotations

import csv
from pathlib import Path

from tinyscope.report.tables import render, table


def study_rows(results: list[dict]) -> list[dict]:
    first = next((r["cycles"] for r in results if r.get("ok")), None)
    rows = []
    for r in results:
        if not r.get("ok"):
            rows.append({"configuration": r["name"], "cycles": "", "ms": "", "ratio": "", "icache_miss": "",
                         "dcache_miss": "", "top_function": f"FAILED: {r.get('error', '?')}", "top_share": "",
                         "memcpy_share": ""})
            continue
        rows.append({"configuration": r["name"], "cycles": r["cycles"], "ms": round(r["ms"], 3),
                     "ratio": round(r["cycles"] / first, 3) if first else "",
                     "icache_miss": round(r["icache_miss_rate"], 4), "dcache_miss": round(r["dcache_miss_rate"], 4),
                     "top_function": r["top_function"], "top_share": round(r["top_share"], 4),
                     "memcpy_share": round(r["memcpy_share"], 4)})
    return rows


def render_study(rows: list[dict]) -> str:
    def pct(v):
        return f"{100 * v:.1f}%" if v != "" else ""

    cols = [("configuration", "left"), ("cycles", "right"), ("ms", "right"), ("ratio", "right"),
            ("I$ miss", "right"), ("D$ miss", "right"), ("top function", "left"), ("share", "right"),
            ("memcpy", "right")]
    body = [[r["configuration"], f"{r['cycles']:,}" if r["cycles"] != "" else "", r["ms"],
             f"{r['ratio']:.2f}" if r["ratio"] != "" else "", pct(r["icache_miss"]), pct(r["dcache_miss"]),
             r["top_function"], pct(r["top_share"]), pct(r["memcpy_share"])] for r in rows]
    return render(table(None, cols, body))


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def bar_chart(rows: list[dict], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["cycles"] != ""]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(ok) + 1.5))
    names = [r["configuration"] for r in ok][::-1]
    ms = [r["ms"] for r in ok][::-1]
    bars = ax.barh(names, ms, color=[f"C{i % 10}" for i in range(len(ok))][::-1])
    for b, r in zip(bars, ok[::-1]):
        ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {r['ms']:.2f} ms (x{r['ratio']:.2f})",
                va="center", fontsize=8)
    ax.set_xlabel("inference time (ms)")
    ax.set_title(title)
    ax.set_xlim(0, max(ms) * 1.3 if ms else 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
