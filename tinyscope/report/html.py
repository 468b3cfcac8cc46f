"""One self-contained HTML report (no network, images inline) for a profile or a study folder."""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path

from tinyscope.errors import InputError
from tinyscope.version import __version__

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: .5em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: 12px; }
.note { color: #a33; font-weight: 600; } img { max-width: 100%; border: 1px solid #eee; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; } dt { font-weight: 600; }
"""
SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.getElementById('status').textContent = 'rendered: ' + ok + ' of ' + imgs.length + ' pictures';
  document.body.setAttribute('data-rendered', ok === imgs.length ? 'ok' : 'missing-pictures');
});
"""


def _e(x) -> str:
    return html.escape(str(x))


def _img(path: Path, alt: str) -> str:
    if not path.is_file():
        return f"<p>({_e(alt)}: not produced)</p>"
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{_e(alt)}" src="data:{mime};base64,{data}">'


def _table(rows: list[dict], left: tuple[str, ...] = (), limit: int = 40) -> str:
    if not rows:
        return "<p>(empty)</p>"
    cols = list(rows[0])
    head = "".join(f'<th class="{"l" if c in left else ""}">{_e(c)}</th>' for c in cols)
    body = "".join("<tr>" + "".join(f'<td class="{"l" if c in left else ""}">{_e(r[c])}</td>' for c in cols)
                   + "</tr>" for r in rows[:limit])
    return f"<table><tr>{head}</tr>{body}</table>"


def _csv(path: Path) -> list[dict]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def _profile_sections(folder: Path) -> list[str]:
    run = json.loads((folder / "run.json").read_text())
    prov = run.get("provenance", {})
    s = [f"<h2>Latency</h2><dl><dt>cycles</dt><dd>{run['cycles']:,}</dd><dt>time</dt><dd>{run['ms']:.3f} ms at "
         f"{run['cpu_hz'] / 1e6:g} MHz</dd><dt>cycles per MACC</dt><dd>{run['cycles_per_macc']:.2f} "
         f"({run['macc']:,} MACC)</dd><dt>I-cache</dt><dd>{run['icache']['misses']:,} misses of "
         f"{run['icache']['accesses']:,}</dd><dt>D-cache</dt><dd>{run['dcache']['misses']:,} misses of "
         f"{run['dcache']['accesses']:,}</dd><dt>stalls</dt><dd>{_e(run['stalls'])}</dd>"
         f"<dt>output vs reference</dt><dd>{_e(run['agreement'])}</dd></dl>",
         "<h2>Memory</h2>" + _table([{"region": k, "used (B)": f"{v['used']:,}", "size (B)": f"{v['size']:,}",
                                      "%": f"{100 * v['used'] / v['size']:.1f}"}
                                     for k, v in run["regions"].items() if v["used"]], left=("region",)),
         "<h2>Layers</h2>" + _table(_csv(folder / "layers.csv"), left=("name", "op")),
         "<h2>Functions</h2>" + _table(_csv(folder / "functions.csv"), left=("function",), limit=15),
         "<h2>Timeline</h2><p>Which symbol ran when (trace.json opens in ui.perfetto.dev).</p>"
         + _img(folder / "timeline.png", "timeline")]
    loops = json.loads((folder / "hotloops.json").read_text()) if (folder / "hotloops.json").is_file() else []
    blocks = json.loads((folder / "hotblocks.json").read_text()) if (folder / "hotblocks.json").is_file() else []
    s.append("<h2>Hot loops and blocks</h2>")
    for lp in loops[:3] + blocks[:2]:
        notes = "".join(f'<p class="note">{_e(n)}</p>' for n in lp["notes"])
        lines = "\n".join(f"{ln['addr']:08x}  {ln['text']:<36} exec {ln['count']:>9,}  cycles {ln['cycles']:>10,}  "
                          f"stalls {ln['stalls']:>9,}  I$miss {ln['icache_miss']:>6,}  D$miss {ln['dcache_miss']:>7,}"
                          for ln in lp["lines"])
        s.append(f"<h3>{_e(lp['function'])} {lp['start']:#x}-{lp['end']:#x}: {lp['iterations']:,} iterations, "
                 f"{lp['cycles']:,} cycles ({100 * lp['share']:.1f}%)</h3>{notes}<pre>{_e(lines)}</pre>")
    s.append("<h2>Provenance</h2><dl>" + "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in [
            ("model", prov.get("model")), ("model sha256", prov.get("model_sha256")),
            ("target", f"{prov.get('target')} at {prov.get('cpu_hz', 0) / 1e6:g} MHz"),
            ("placement", prov.get("placement")), ("caches", f"I {prov.get('config', {}).get('icache')}, "
                                                               f"D {prov.get('config', {}).get('dcache')}"),
            ("libc", prov.get("config", {}).get("libc")), ("memcpy", prov.get("memcpy")),
            ("toolchain", prov.get("toolchain")), ("flags", " ".join(prov.get("cflags", []))),
            ("tinyscope", prov.get("tinyscope", __version__))]) + "</dl>")
    return s


def render_html(folder: Path) -> str:
    folder = Path(folder)
    if (folder / "study.json").is_file():
        study = json.loads((folder / "study.json").read_text())
        title = f"tinyscope study: {study['model']}"
        body = [f"<h2>Configurations</h2><p>{_e(study['preset'])} on {_e(study['target'])}</p>",
                _table(study["rows"], left=("configuration", "top_function")),
                _img(folder / "study.png", "cycles per configuration")]
        first = next((r["folder"] for r in study["results"] if r.get("ok")), None)
        if first and (Path(first) / "run.json").is_file():
            body.append(f"<h2>Details of {_e(study['results'][0]['name'])}</h2>")
            body += _profile_sections(Path(first))
    elif (folder / "run.json").is_file():
        run = json.loads((folder / "run.json").read_text())
        title = f"tinyscope profile: {run['model']} on {run['target']}"
        body = _profile_sections(folder)
    else:
        raise InputError(f"{folder}: neither a profile (run.json) nor a study (study.json) folder")
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1><p id=\"status\">rendering</p>"
            + "\n".join(body) + f"<script>{SCRIPT}</script></body></html>")


def write_html(folder: Path, out: Path) -> Path:
    text = render_html(folder)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out
