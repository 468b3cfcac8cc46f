"""Importers: model files (TFLite, Keras, ONNX) and the built-in zoo, all into one IR Graph.

``load(path)`` picks the importer by the file's extension (or the ``zoo:`` prefix). Every importer
first lists all unsupported ops of a model and raises one ``UnsupportedError`` naming them all.
Loading never runs code from a model file (no Lambda layers, no pickle).

Model files are untrusted data: each importer checks structure, types, sizes and values as it
reads, and the IR verifier checks the graph it builds, so a malformed file is one ``ModelError``
(exit status 2) naming the file. As a last line of defence, any other exception escaping an
importer is reported as a ``MalformedModelError``; the fuzz tier (tests/fuzz) counts those so
they stay rare and get a real check instead.
"""

from __future__ import annotations

from pathlib import Path

from tinyscope.errors import InputError, ModelError, TinyscopeError
from tinyscope.ir.graph import Graph

EXTENSIONS = {".tflite": "tflite", ".h5": "keras", ".hdf5": "keras", ".keras": "keras",
              ".onnx": "onnx"}


class MalformedModelError(ModelError):
    """An importer failed in a way it did not check for: the file is malformed in an unforeseen way."""


def load(path: str | Path, input_shape: tuple[int, ...] | None = None) -> Graph:
    """Import a model file or ``zoo:<name>`` into a verified Graph. ``input_shape`` fixes an ONNX model's
    input dimensions in its own layout (a dynamic batch becomes 1 without it); other formats fix theirs."""
    text = str(path)
    if input_shape is not None and not text.lower().endswith(".onnx"):
        raise InputError(f"{text}: --input-shape applies to ONNX models (TFLite, Keras and the zoo fix their "
                         "input shapes)")
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
    try:
        return importer.load(p) if input_shape is None else importer.load(p, input_shape)
    except ModelError as exc:
        if str(exc).startswith(f"{p}:"):
            raise
        raise type(exc)(f"{p}: {exc}") from exc  # every message names the file
    except TinyscopeError:
        raise
    except Exception as exc:  # the safety net: a check is missing somewhere, but the user gets one line
        raise MalformedModelError(f"{p}: malformed model file ({type(exc).__name__}: "
                                  f"{_one_line(str(exc))})") from exc


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
