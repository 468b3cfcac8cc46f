"""Imports point one way: every ``tinyscope.X`` import, at any depth in a module (lazy ones too),
goes to a package of a lower layer or to its own package. The layer table is written once, here;
ARCHITECTURE.md's diagram shows the same rows (checked below)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "tinyscope"

# Lowest first. A package may import packages of lower rows only (and itself).
LAYERS: list[tuple[str, ...]] = [
    ("errors", "version"),
    ("ir", "targets", "outputs"),
    ("reference", "plan"),
    ("frontend", "codegen"),
    ("firmware", "sim"),
    ("profile",),
    ("report",),
    ("studies",),
    ("api",),
    ("cli",),
]
RANK = {pkg: i for i, row in enumerate(LAYERS) for pkg in row}


def _package(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mod = node.module
            if mod == "tinyscope":
                out += [(node.lineno, f"tinyscope.{a.name}") for a in node.names]
            elif mod.startswith("tinyscope."):
                out.append((node.lineno, mod))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("tinyscope.")]
    return out


def test_every_package_has_a_layer():
    found = {_package(p) for p in PKG.rglob("*.py") if p.parent != PKG or p.stem not in ("__init__", "__main__")}
    assert found <= RANK.keys(), f"add to LAYERS: {sorted(found - RANK.keys())}"


def test_imports_point_down():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        if path.parent == PKG and path.stem in ("__init__", "__main__"):
            continue  # the root's lazy conveniences and `python -m tinyscope`
        src = _package(path)
        for line, mod in _imports(path):
            dst = mod.split(".")[1]
            if dst != src and RANK.get(dst, 99) >= RANK[src]:
                bad.append(f"{path.relative_to(ROOT)}:{line}: {src} (layer {RANK[src]}) imports {mod}")
    assert not bad, "\n".join(bad)


def test_architecture_md_shows_the_layers():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    rows = [tuple(re.findall(r"\b([a-z]+)(?:/|\.py)", line)) for line in block.splitlines()]
    rows = [r for r in rows if r]
    assert rows == [tuple(r) for r in reversed(LAYERS)], rows


def test_leaves_import_cheaply():
    """``import tinyscope.errors`` loads neither numpy nor the IR (the root package is lazy)."""
    code = ("import sys, tinyscope.errors; "
            "print(sorted(m for m in sys.modules if m.startswith(('numpy', 'tinyscope.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tinyscope.errors', 'tinyscope.version']", out
