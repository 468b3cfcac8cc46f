"""Importers: model files (TFLite, Keras, ONNX) and the built-in zoo, all into one IR Graph.

``load(path)`` picks the importer by the file's extension (or the ``zoo:`` prefix). Every importer
first lists all unsupported ops of a model and raises one ``UnsupportedError`` naming them all.
Loading never runs code from a model file (no Lambda layers, no pickle).
"""

from __future__ import annotations

from pathlib import Path

from tinyscope.errors import ModelError
from tinyscope.ir.graph import Graph

EXTENSIONS = {".tflite": "tflite", ".h5": "keras", ".hdf5": "keras", ".keras": "keras",
              ".onnx": "onnx"}


def load(path: str | Path) -> Graph:
    """Import a model file or ``zoo:<name>`` into a verified Graph."""
    text = str(path)
    if text.startswith("zoo:"):
        from tinyscope.frontend import zoo
        return zoo.load(text[4:])
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if p.is_dir():
        raise ModelError(f"{p}: is a folder, not a model file")
    kind = EXTENSIONS.get(p.suffix.lower())
    if kind is None:
        raise ModelError(f"{p}: unknown model extension {p.suffix!r} "
                         f"(expected one of {', '.join(sorted(EXTENSIONS))} or zoo:<name>)")
    if p.stat().st_size == 0:
        raise ModelError(f"{p}: the file is empty")
    if kind == "tflite":
        from tinyscope.frontend import tflite as importer
    elif kind == "keras":
        from tinyscope.frontend import keras as importer
    else:
        from tinyscope.frontend import onnx as importer
    return importer.load(p)
