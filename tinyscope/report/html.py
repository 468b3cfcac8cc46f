"""One self-contained HTML report (no network: styles, scripts and chart library inline) for a
profile folder or a study folder.

Libraries: Jinja2 renders the page (autoescaping: a model's layer names are data, never markup);
Plotly.js draws the charts, the zoomable timeline and the flame graph (an icicle chart). Plotly was
chosen over Vega-Lite because one bundle covers bar charts, a timeline with zoom and pan, and a
hierarchical flame graph, and because the ``plotly`` PyPI package ships ``plotly.min.js`` itself,
so the bundle comes with ``pip install`` and nothing is fetched when a report is written or read.
"""

from __future__ import annotations

import csv
import json
import math
import os
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from tinyscope.errors import InputError
from tinyscope.outputs import PROFILE_FILES as F
from tinyscope.outputs import STUDY_FILES, staged_folder
from tinyscope.report.names import short_names
from tinyscope.report.regions import hot_regions
from tinyscope.sim.result import STALL_KINDS
from tinyscope.version import __version__

STALLS = list(STALL_KINDS)
STALL_HELP = {"load_use": "a load's result used by the next instruction", "fp": "FPU result latency",
              "dep": "other register dependencies", "branch": "taken branches and mispredictions",
              "ifetch": "instruction fetch (I-cache misses, flash wait states)",
              "dmem": "data memory (D-cache misses, wait states, store buffer)"}
KIND_COLOURS = {"code": 0, "constants": 1, "weights": 2, "input": 3, "data": 4, "activations": 5, "stack": 6}
TIMELINE_ROWS = 12  # functions shown in the timeline (the rest are in the flame graph)
TIMELINE_BARS = 4000  # spans per row before short neighbours are merged into one bar


# ---------------------------------------------------------------- formatting (Jinja filters)

def fmt_int(v) -> str:
    try:
        return f"{int(v):,}"
    except (TypeError, ValueError):
        return "" if v in (None, "") else str(v)


def fmt_pct(v, digits: int = 1) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    if x != 0 and abs(100 * x) < 10 ** -digits:
        return f"<{10 ** -digits:g}%"
    return f"{100 * x:.{digits}f}%"


def fmt_bytes(v) -> str:
    try:
        n = int(v)
    except (TypeError, ValueError):
        return ""
    if n >= 1 << 20:
        return f"{n:,} B ({n / (1 << 20):.2f} MiB)"
    if n >= 1024:
        return f"{n:,} B ({n / 1024:.1f} KiB)"
    return f"{n:,} B"


def fmt_num(v, digits: int = 2) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    return f"{x:,.{digits}f}" if math.isfinite(x) else ""


def fmt_sci(v) -> str:
    try:
        return f"{float(v):.3g}"
    except (TypeError, ValueError):
        return ""


# ---------------------------------------------------------------- reading a profile folder

def _csv(path: Path) -> list[dict]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _json(path: Path, default):
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def _num(v, kind=int):
    try:
        return kind(v)
    except (TypeError, ValueError):
        return kind(0)


def _layers(folder: Path) -> list[dict]:
    rows = _csv(folder / F["layers"])
    shorts = short_names([r["name"] for r in rows])
    out = []
    for r, short in zip(rows, shorts):
        macc, cycles = _num(r.get("macc")), _num(r.get("cycles"))
        out.append({"c_id": _num(r.get("c_id")), "m_id": _num(r.get("m_id")), "name": r["name"], "short": short,
                    "op": r.get("op", ""), "rom": _num(r.get("rom_bytes")), "ram": _num(r.get("output_bytes")),
                    "macc": macc, "cycles": cycles, "start": _num(r.get("start")),
                    "share": _num(r.get("share"), float), "cpm": cycles / macc if macc else None,
                    "imiss": _num(r.get("icache_miss")), "dmiss": _num(r.get("dcache_miss")),
                    "stalls": {k: _num(r.get(f"stall_{k}")) for k in STALLS}})
    return out


def _functions(folder: Path) -> list[dict]:
    out = []
    for r in _csv(folder / F["functions"]):
        acc = _num(r.get("dcache_access"))
        out.append({"name": r["function"], "calls": _num(r.get("calls")), "exclusive": _num(r.get("exclusive")),
                    "inclusive": _num(r.get("inclusive")), "share": _num(r.get("share"), float),
                    "per_call": _num(r.get("per_call"), float), "instructions": _num(r.get("instructions")),
                    "stalls": {k: _num(r.get(f"stall_{k}")) for k in STALLS},
                    "imiss": _num(r.get("icache_miss")), "dmiss": _num(r.get("dcache_miss")), "dacc": acc,
                    "drate": _num(r.get("dcache_miss")) / acc if acc else None})
    return out


def _hot(folder: Path, top: int = 5) -> list[dict]:
    """Each hot region once (as the terminal lists them): loops and blocks that share no instruction."""
    return hot_regions(_json(folder / F["loops"], []), _json(folder / F["blocks"], []), top)


def _timeline_figure(trace: dict, cpu_hz: int, layers: list[dict]) -> dict | None:
    """Plotly bars: one row per function (the most time-consuming), the layers on top with labels."""
    events = trace.get("traceEvents", [])
    to_ms = 1e-3  # trace timestamps are microseconds
    spans: dict[str, list[tuple[float, float]]] = {}
    stack: list[tuple[str, float]] = []
    for e in events:
        if e.get("tid") != 2:
            continue
        if e["ph"] == "B":
            stack.append((e["name"], e["ts"]))
        elif e["ph"] == "E" and stack:
            name, ts = stack.pop()
            spans.setdefault(name, []).append((ts * to_ms, (e["ts"] - ts) * to_ms))
        elif e["ph"] == "X":
            spans.setdefault(e["name"], []).append((e["ts"] * to_ms, e.get("dur", 0) * to_ms))
    if not spans and not layers:
        return None
    total = {n: sum(d for _, d in v) for n, v in spans.items()}
    names = sorted(total, key=lambda n: -total[n])[:TIMELINE_ROWS]
    end = max([s + d for v in spans.values() for s, d in v] + [1e-9])
    data = []
    for k, name in enumerate(reversed(names)):
        bars = _merge(sorted(spans[name]), end / TIMELINE_BARS)
        data.append({"type": "bar", "orientation": "h", "name": name, "y": [name] * len(bars),
                     "base": [round(b[0], 6) for b in bars], "x": [max(round(b[1], 6), 1e-6) for b in bars],
                     "customdata": [b[2] for b in bars], "marker": {"color": _color(k)}, "showlegend": False,
                     "hovertemplate": f"{_js(name)}<br>%{{base:.3f}} ms + %{{x:.4f}} ms"
                                      "<br>%{customdata} call(s)<extra></extra>"})
    ms = 1e3 / cpu_hz
    if layers:
        data.append({"type": "bar", "orientation": "h", "name": "layers", "y": ["layers"] * len(layers),
                     "base": [round(r["start"] * ms, 6) for r in layers],
                     "x": [max(round(r["cycles"] * ms, 6), 1e-6) for r in layers],
                     "text": [f"{r['c_id']}: {r['short']}" for r in layers], "textposition": "inside",
                     "insidetextanchor": "middle", "textangle": 0, "constraintext": "both",
                     "customdata": [[r["name"], r["op"], f"{r['cycles']:,}"] for r in layers],
                     "marker": {"color": [_color(i, 0.75) for i in range(len(layers))]}, "showlegend": False,
                     "hovertemplate": "%{text}<br>%{customdata[1]}<br>%{customdata[2]} cycles"
                                      "<br>%{customdata[0]}<extra></extra>"})
    rows = len(names) + (1 if layers else 0)
    layout = {"barmode": "overlay", "height": 110 + 26 * rows, "margin": {"l": 150, "r": 20, "t": 34, "b": 40},
              "xaxis": {"title": {"text": f"time (ms at {cpu_hz / 1e6:g} MHz) — drag to zoom, double-click to reset"},
                        "rangeslider": {"visible": False}},
              "yaxis": {"automargin": True, "fixedrange": True, "ticksuffix": "  "}, "bargap": 0.25}
    return {"data": data, "layout": layout}


def _merge(spans: list[tuple[float, float]], gap: float) -> list[tuple[float, float, int]]:
    """Neighbouring spans closer than ``gap`` become one bar (with its call count), so a function
    called thousands of times stays a few hundred bars."""
    out: list[list] = []
    for s, d in spans:
        if out and s - (out[-1][0] + out[-1][1]) < gap and d < gap:
            out[-1][1] = max(out[-1][1], s + d - out[-1][0])
            out[-1][2] += 1
        else:
            out.append([s, d, 1])
    return [(a, b, c) for a, b, c in out]


def _flame_figure(folded: str) -> dict | None:
    """A flame graph of the folded stacks as a Plotly icicle (root at the bottom), in cycles."""
    weight: dict[str, int] = {}
    for line in folded.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        parts = stack.split(";")
        for k in range(1, len(parts) + 1):
            key = ";".join(parts[:k])
            weight[key] = weight.get(key, 0) + int(n)
    if not weight:
        return None
    ids = sorted(weight)
    total = sum(v for k, v in weight.items() if ";" not in k)
    data = [{"type": "icicle", "ids": ["all"] + ids, "labels": ["all stacks"] + [k.rsplit(";", 1)[-1] for k in ids],
             "parents": [""] + [k.rsplit(";", 1)[0] if ";" in k else "all" for k in ids],
             "values": [total] + [weight[k] for k in ids], "branchvalues": "total",
             "tiling": {"orientation": "v", "flip": "y"}, "maxdepth": 8,
             "hovertemplate": "%{label}<br>%{value:,} cycles (%{percentRoot:.1%})<extra></extra>",
             "texttemplate": "%{label} %{percentRoot:.1%}"}]
    return {"data": data, "layout": {"height": 420, "margin": {"l": 4, "r": 4, "t": 30, "b": 4}}}


def _color(i: int, alpha: float = 1.0) -> str:
    palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
    r, g, b = palette[i % len(palette)]
    return f"rgba({r},{g},{b},{alpha})"


def _js(text: str) -> str:
    """Text for a Plotly hovertemplate: its %{...} and markup are not interpreted."""
    return text.replace("%", "%%").replace("<", "&lt;").replace("{", "(").replace("}", ")")


def _normalize(run: dict) -> dict:
    """run.json with every field the page shows present: a profile of a plain ELF (no model) has no
    MACC, no agreement and may lack cache figures."""
    run = dict(run)
    run.setdefault("model", run.get("elf", "?"))
    run.setdefault("target", "?")
    run["cpu_hz"] = run.get("cpu_hz") or 1
    run["cycles"] = run.get("cycles") or 0
    run.setdefault("ms", 1e3 * run["cycles"] / run["cpu_hz"])
    for side in ("icache", "dcache"):
        c = {"accesses": 0, "misses": 0, **(run.get(side) or {})}
        c.setdefault("miss_rate", c["misses"] / c["accesses"] if c["accesses"] else 0.0)
        run[side] = c
    run["stalls"] = run.get("stalls") or {}
    return run


def profile_view(folder: Path, prefix: str = "") -> dict:
    """Everything the profile sections show, read from a profile folder's files."""
    run = _json(folder / F["run"], None)
    if run is None:
        raise InputError(f"{folder}: no run.json (not a profile folder)")
    run = _normalize(run)
    layers = _layers(folder)
    functions = _functions(folder)
    cycles = run.get("cycles") or 0
    stalls = run.get("stalls", {})
    figures: dict[str, dict] = {}
    if layers:
        figures["layer-cycles"] = {
            "data": [{"type": "bar", "x": [f"{r['c_id']}: {r['short']}" for r in layers],
                      "y": [r["cycles"] for r in layers], "customdata": [[r["name"], r["op"]] for r in layers],
                      "marker": {"color": _color(0)},
                      "hovertemplate": "%{x}<br>%{customdata[1]}<br>%{y:,} cycles<br>%{customdata[0]}<extra></extra>"}],
            "layout": {"height": 360, "margin": {"l": 70, "r": 10, "t": 30, "b": 110},
                       "yaxis": {"title": {"text": "cycles"}}, "xaxis": {"tickangle": -35, "automargin": True}}}
        figures["layer-misses"] = {
            "data": [{"type": "bar", "name": "D-cache misses", "x": [f"{r['c_id']}: {r['short']}" for r in layers],
                      "y": [r["dmiss"] for r in layers], "marker": {"color": _color(3)}},
                     {"type": "bar", "name": "I-cache misses", "x": [f"{r['c_id']}: {r['short']}" for r in layers],
                      "y": [r["imiss"] for r in layers], "marker": {"color": _color(1)}}],
            "layout": {"height": 340, "barmode": "group", "margin": {"l": 70, "r": 10, "t": 30, "b": 110},
                       "yaxis": {"title": {"text": "misses"}}, "xaxis": {"tickangle": -35, "automargin": True},
                       "legend": {"orientation": "h", "y": 1.12}}}
    staled = [r for r in layers if sum(r["stalls"].values())]
    if staled:
        figures["stalls-layer"] = {
            "data": [{"type": "bar", "name": k, "x": [f"{r['c_id']}: {r['short']}" for r in staled],
                      "y": [r["stalls"][k] for r in staled], "marker": {"color": _color(i)},
                      "customdata": [[r["name"]] for r in staled],
                      "hovertemplate": f"%{{customdata[0]}}: %{{y:,}} {k} stall cycles<extra></extra>"}
                     for i, k in enumerate(STALLS)],
            "layout": {"barmode": "stack", "height": 340, "margin": {"l": 10, "r": 10, "t": 30, "b": 40},
                       "yaxis": {"title": {"text": "stall cycles"}, "automargin": True},
                       "xaxis": {"automargin": True, "tickangle": -30}, "legend": {"orientation": "h", "y": 1.12}}}
    top = [f for f in functions if sum(f["stalls"].values())][:12]
    if top:
        figures["stalls-fn"] = {
            "data": [{"type": "bar", "orientation": "h", "name": k, "y": [f["name"] for f in top][::-1],
                      "x": [f["stalls"][k] for f in top][::-1], "marker": {"color": _color(i)},
                      "hovertemplate": f"%{{y}}: %{{x:,}} {k} stall cycles<extra></extra>"}
                     for i, k in enumerate(STALLS)],
            "layout": {"barmode": "stack", "height": 110 + 28 * len(top),
                       "margin": {"l": 10, "r": 10, "t": 30, "b": 40},
                       "xaxis": {"title": {"text": "stall cycles"}}, "yaxis": {"automargin": True},
                       "legend": {"orientation": "h", "y": -0.25}}}
    rated = sorted([f for f in functions if f["dacc"] >= 100], key=lambda f: -f["dmiss"])[:12]  # rates of a
    # handful of accesses say nothing
    if rated:
        figures["miss-rates"] = {
            "data": [{"type": "bar", "orientation": "h", "y": [f["name"] for f in rated][::-1],
                      "x": [100 * f["drate"] for f in rated][::-1], "marker": {"color": _color(3)},
                      "customdata": [[f"{f['dmiss']:,}", f"{f['dacc']:,}"] for f in rated][::-1],
                      "hovertemplate": "%{y}: %{x:.2f}% (%{customdata[0]} of %{customdata[1]})<extra></extra>"}],
            "layout": {"height": 110 + 26 * len(rated), "margin": {"l": 10, "r": 10, "t": 30, "b": 40},
                       "xaxis": {"title": {"text": "D-cache miss rate (%)"}}, "yaxis": {"automargin": True}}}
    trace = _json(folder / F["trace"], {})
    tl = _timeline_figure(trace, run.get("cpu_hz", 1), layers) if trace else None
    if tl:
        figures["timeline"] = tl
    folded = (folder / F["folded"]).read_text() if (folder / F["folded"]).is_file() else ""
    flame = _flame_figure(folded)
    if flame:
        figures["flame"] = flame
    stall_total = sum(stalls.values())
    memory = run.get("memory_map") or [{"region": k, "size": v["size"], "used": v["used"], "parts": {}}
                                       for k, v in run.get("regions", {}).items()]
    for region in memory:  # one colour per kind in every region (a load image takes its section's)
        region["colours"] = {what: KIND_COLOURS.get(what.removeprefix("load image of ").split(" (via")[0], 7)
                             for what in region.get("parts", {})}
    return {
        "prefix": prefix, "run": run, "prov": run.get("provenance", {}), "model": run.get("model_figures"),
        "memory": memory,
        "layers": layers, "functions": functions[:20], "hot": _hot(folder),
        "stalls": [{"kind": k, "cycles": stalls.get(k, 0), "share": stalls.get(k, 0) / cycles if cycles else 0,
                    "help": STALL_HELP.get(k, "")} for k in STALLS if k in stalls],
        "stall_total": stall_total, "figures": {f"{prefix}{k}": v for k, v in figures.items()},
        "has": {k: k in figures for k in ("layer-cycles", "layer-misses", "stalls-fn", "stalls-layer", "miss-rates",
                                          "timeline", "flame")},
        "files": sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != F["report"]),
    }


# ---------------------------------------------------------------- rendering

@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("tinyscope.report", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(n=fmt_int, pct=fmt_pct, bytes=fmt_bytes, num=fmt_num, sci=fmt_sci)
    return env


@cache
def plotly_js() -> str:
    """The Plotly.js bundle shipped inside the ``plotly`` Python package."""
    try:
        return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        try:
            from plotly.offline import get_plotlyjs
        except ImportError:
            raise InputError("the HTML report needs the plotly package (pip install plotly)") from None
        return get_plotlyjs()


def _static(name: str) -> str:
    return (resources.files("tinyscope.report") / "templates" / name).read_text(encoding="utf-8")


def _figures_json(figures: dict) -> str:
    # inside <script type="application/json">: "</" must not end the element
    return json.dumps(figures, separators=(",", ":")).replace("</", "<\\/")


def _assets(figures: dict) -> dict:
    """Inline text the template inserts as is (inserted once by Jinja, never searched and replaced)."""
    return {"css": Markup(_static("report.css")), "script": Markup(_static("report.js")),
            "plotly": Markup(plotly_js()), "figures": Markup(_figures_json(figures))}


def render_html(folder: Path, out: Path | None = None) -> str:
    """The report of ``folder``; links to other files are relative to ``out`` (default: in ``folder``)."""
    folder = Path(folder)
    if (folder / STUDY_FILES["json"]).is_file():
        study = _json(folder / STUDY_FILES["json"], {})
        title = f"tinyscope study: {study.get('model', '?')}"
        runs = []
        figures: dict[str, dict] = {}
        for i, r in enumerate(study.get("results", [])):
            run_folder = Path(r.get("folder", ""))
            if not run_folder.is_absolute() and not (run_folder / F["run"]).is_file():
                run_folder = folder / run_folder.name  # recorded relative to where the study ran
            view = None
            if r.get("ok") and (run_folder / F["run"]).is_file():
                view = profile_view(run_folder, prefix=f"run{i + 1}-")
                figures.update(view["figures"])
            link = None
            if (run_folder / F["report"]).is_file():  # relative to where this report is written
                base = folder.resolve() if out is None else Path(out).resolve().parent
                link = os.path.relpath((run_folder / F["report"]).resolve(), base)
            runs.append({"name": r.get("name", f"run {i + 1}"), "ok": r.get("ok"), "error": r.get("error"),
                         "view": view, "link": link, "index": i + 1})
        rows = study.get("rows", [])
        ok = [r for r in rows if r.get("cycles") not in ("", None)]
        if ok:
            figures["study-bars"] = {
                "data": [{"type": "bar", "orientation": "h", "y": [r["configuration"] for r in ok][::-1],
                          "x": [r["ms"] for r in ok][::-1],
                          "text": [f"{r['ms']:.2f} ms (x{r['ratio']:.2f})" for r in ok][::-1],
                          "textposition": "outside", "cliponaxis": False, "marker": {"color": _color(0)},
                          "hovertemplate": "%{y}<br>%{x:.3f} ms<extra></extra>"}],
                "layout": {"height": 100 + 34 * len(ok), "margin": {"l": 10, "r": 60, "t": 10, "b": 40},
                           "xaxis": {"title": {"text": "run time (ms)" if study.get("kind") == "firmware"
                                               else "inference time (ms)"}},
                           "yaxis": {"automargin": True, "ticksuffix": "  "}}}
        page = _env().get_template("study.html").render(
            title=title, study=study, rows=rows, runs=runs, version=__version__, has_bars=bool(ok),
            **_assets(figures))
    elif (folder / F["run"]).is_file():
        view = profile_view(folder)
        run = view["run"]
        title = f"tinyscope profile: {run.get('model', '?')} on {run.get('target', '?')}"
        figures = view["figures"]
        page = _env().get_template("profile.html").render(title=title, v=view, version=__version__,
                                                          **_assets(figures))
    else:
        raise InputError(f"{folder}: neither a profile (run.json) nor a study (study.json) folder")
    return page


def write_html(folder: Path, out: Path) -> Path:
    """Render ``folder``'s report into ``out`` (written whole or not at all)."""
    out = Path(out)
    text = render_html(folder, out)
    with staged_folder(out.parent) as tmp:
        (tmp / out.name).write_text(text, encoding="utf-8")
    return out
