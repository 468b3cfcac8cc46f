"""Rendering rich tables to plain text, so every report prints the same way on a terminal or a pipe."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text


def render(*items, width: int = 140) -> str:
    """Text of rich renderables (tables, strings), without colour codes."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False, soft_wrap=False)
    for item in items:
        console.print(item)
    return buf.getvalue()


def table(title: str | None, columns: list[tuple[str, str]], rows: list[list]) -> Table:
    """A table with (header, justify) columns; cells are plain text (never rich markup)."""
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False, box=None,
              header_style="bold")
    for header, justify in columns:
        t.add_column(header, justify=justify, overflow="fold")
    for row in rows:
        t.add_row(*[Text(str(c)) for c in row])  # Text: "[pc, #4]" or a model's "[name]" is not markup
    return t
