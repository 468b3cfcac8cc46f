"""tests/unit needs nothing but tinyscope's Python packages: no reference runtime (LiteRT, onnxruntime,
TensorFlow, PyTorch) and no shared model files. Tests that need them live in tests/reference. The helpers a
unit test imports from tests/ (tests/fuzz/tflite_spec.py, tests/keras_h5.py ...) are held to the same rule."""

from __future__ import annotations

import ast
from pathlib import Path

UNIT = Path(__file__).resolve().parent
TESTS = UNIT.parent
RUNTIMES = ("ai_edge_litert", "onnxruntime", "tensorflow", "tflite_runtime", "torch", "tflite_micro")
SHARED = ("shared_model", "shared_models_dir", "SHARED_MODELS")
DYNAMIC = ("importorskip", "import_module", "__import__")  # imports by a string: pytest.importorskip("torch")


def _uses(path: Path, root: Path = TESTS.parent) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [a.name for a in node.names]
        elif isinstance(node, ast.Call) and (
                isinstance(node.func, ast.Attribute) and node.func.attr in DYNAMIC
                or isinstance(node.func, ast.Name) and node.func.id in DYNAMIC):
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        elif isinstance(node, ast.Name | ast.arg):
            names = [node.id if isinstance(node, ast.Name) else node.arg]
        found += [f"{path.relative_to(root)}:{node.lineno}: {n}" for n in names
                  if n.split(".")[0] in RUNTIMES or n in SHARED]
    return found


def _helpers(path: Path) -> list[Path]:
    """The modules under tests/ that ``path`` imports (``from ..keras_h5 import``, ``from tests.x import``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            parts = (node.module or "").split(".") if node.module else []
        elif node.module and node.module.split(".")[0] == "tests":
            base, parts = TESTS, node.module.split(".")[1:]
        else:
            continue
        mod = base.joinpath(*parts)
        candidates = [mod.with_suffix(".py"), mod / "__init__.py"]
        candidates += [mod / f"{a.name}.py" for a in node.names]  # from ..fuzz import tflite_spec
        out += [c for c in candidates if c.is_file() and c.resolve().is_relative_to(TESTS)]
    return out


def _reached(roots: list[Path]) -> list[Path]:
    """``roots`` and every tests/ module they import, transitively (the conftest files are fixtures, not
    imports: a unit test that asks for ``shared_models_dir`` is caught by its argument's name)."""
    seen: dict[Path, None] = {}
    todo = list(roots)
    while todo:
        p = todo.pop().resolve()
        if p in seen or p.name == "conftest.py":
            continue
        seen[p] = None
        todo += _helpers(p)
    return list(seen)


def test_unit_tests_need_only_python_packages():
    roots = [p for p in sorted(UNIT.glob("*.py")) if p.name != Path(__file__).name]
    bad = [u for p in _reached(roots) for u in _uses(p)]
    assert not bad, "move these tests to tests/reference: " + "; ".join(bad)


def test_the_check_sees_what_it_forbids(tmp_path):
    p = tmp_path / "t.py"
    p.write_text("import onnxruntime as ort\nfrom ai_edge_litert.interpreter import Interpreter\n"
                 "def test_x(shared_models_dir):\n    pytest.importorskip('torch')\n    shared_model('a')\n")
    assert [u.split(": ")[1] for u in _uses(p, tmp_path)] == ["onnxruntime", "ai_edge_litert.interpreter",
                                                              "shared_models_dir", "torch", "shared_model"]
    assert _uses(p, tmp_path)[0] == "t.py:1: onnxruntime"  # the file and the line
    p.write_text("import importlib\ntf = importlib.import_module('tensorflow')\n")
    assert _uses(p, tmp_path) == ["t.py:2: tensorflow"]


def test_the_check_follows_the_helpers_a_unit_test_imports():
    reached = {p.relative_to(TESTS).as_posix() for p in _reached([UNIT / "test_unary.py"])}
    assert {"unit/test_unary.py", "keras_h5.py", "fuzz/tflite_spec.py"} <= reached
