"""C code generation: a Graph becomes a self-contained C99 library (network, weights, kernels).

``render`` (codegen/render.py) is the pure part, Graph -> C text; ``generate`` writes it and the
kernels the model needs into a folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tinyscope.codegen.cnames import check_prefix
from tinyscope.codegen.render import Rendered, render
from tinyscope.ir.graph import Graph
from tinyscope.outputs import staged_folder

KERNEL_HEADER = "ts_kernels.h"


@dataclass
class GeneratedCode:
    folder: Path
    name: str
    sources: list[Path]  # the .c files to compile
    headers: list[Path]
    arena_size: int
    weights_size: int
    macc: int
    files: list[Path] = field(default_factory=list)


def kernel_source(file: str) -> str:
    return resources.files("tinyscope.codegen").joinpath("kernels", file).read_text()


def library_files(graph: Graph, name: str = "network", split_weights: bool = False,
                  report: str | None = None) -> tuple[dict[str, str], Rendered]:
    """Every file of the C library for ``graph`` as text (file name -> text), without writing any."""
    check_prefix(name)
    rendered: Rendered = render(graph, name, split_weights)
    texts = dict(rendered.files)
    for k in [KERNEL_HEADER, *rendered.kernel_files]:
        texts[k] = kernel_source(k)
    if report is not None:
        texts[f"{name}_report.txt"] = report
    return texts, rendered


def generate(graph: Graph, out_dir: str | Path, name: str = "network", split_weights: bool = False,
             report: str | None = None) -> GeneratedCode:
    """Write the C library for ``graph`` into ``out_dir``; nothing is written if the model fails."""
    texts, rendered = library_files(graph, name, split_weights, report)  # raises before any file is written
    folder = Path(out_dir)
    with staged_folder(folder) as tmp:  # all files or none
        for fname, text in texts.items():
            (tmp / fname).write_text(text, encoding="ascii" if fname.endswith((".c", ".h")) else "utf-8")
    files = [folder / f for f in texts]
    return GeneratedCode(folder, name, [f for f in files if f.suffix == ".c"],
                         [f for f in files if f.suffix == ".h"], rendered.arena_size,
                         rendered.weights_size, rendered.macc, files)


__all__ = ["GeneratedCode", "generate", "library_files", "render"]
