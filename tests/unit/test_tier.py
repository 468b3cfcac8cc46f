"""tests/unit needs nothing but tinyscope's Python packages: no reference runtime (LiteRT, onnxruntime,
TensorFlow, PyTorch) and no shared model files. Tests that need them live in tests/reference."""

from __future__ import annotations

import ast
from pathlib import Path

UNIT = Path(__file__).resolve().parent
RUNTIMES = ("ai_edge_litert", "onnxruntime", "tensorflow", "tflite_runtime", "torch", "tflite_micro")
SHARED = ("shared_model", "shared_models_dir", "SHARED_MODELS")


def _uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [a.name for a in node.names]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "importorskip":
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        elif isinstance(node, ast.Name | ast.arg):
            names = [node.id if isinstance(node, ast.Name) else node.arg]
        found += [f"{path.name}:{node.lineno}: {n}" for n in names
                  if n.split(".")[0] in RUNTIMES or n in SHARED]
    return found


def test_unit_tests_need_only_python_packages():
    bad = [u for p in sorted(UNIT.glob("*.py")) if p.name != Path(__file__).name for u in _uses(p)]
    assert not bad, "move these tests to tests/reference: " + "; ".join(bad)


def test_the_check_sees_what_it_forbids(tmp_path):
    p = tmp_path / "t.py"
    p.write_text("import onnxruntime as ort\nfrom ai_edge_litert.interpreter import Interpreter\n"
                 "def test_x(shared_models_dir):\n    pytest.importorskip('torch')\n    shared_model('a')\n")
    assert [u.split(": ")[1] for u in _uses(p)] == ["onnxruntime", "ai_edge_litert.interpreter", "shared_models_dir",
                                                    "torch", "shared_model"]
