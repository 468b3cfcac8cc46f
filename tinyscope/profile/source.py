"""C source lines for machine addresses, from the firmware's DWARF line table (it is built with -g).

The hot-loop listings put ``file:line`` and the text of that line beside each instruction, so a
reader sees which C statement an instruction belongs to. The text is copied into the profile's
files, so a report still shows it after the build cache is cleared."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile


@dataclass(frozen=True)
class SourceLine:
    file: str  # base name, as a reader looks for it (ts_conv_f32.c)
    line: int
    text: str  # the line's C text, stripped ("" when the file is not at hand)

    def where(self) -> str:
        return f"{self.file}:{self.line}"


class LineTable:
    """Address -> the C line that instruction was generated from (the last row at or below it)."""

    def __init__(self, rows: list[tuple[int, str, int]], sources: dict[str, list[str]]) -> None:
        rows.sort()
        self._addrs = [a for a, _, _ in rows]
        self._rows = rows
        self._sources = sources

    def lookup(self, addr: int) -> SourceLine | None:
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0:
            return None
        _, path, line = self._rows[i]
        if not path or line <= 0:
            return None
        text = self._sources.get(path, [])
        return SourceLine(Path(path).name, line, text[line - 1].strip() if line <= len(text) else "")


def _file_name(lp, cu, index: int) -> str:
    """The path of file ``index`` of a line program (DWARF 5 counts files from 0, earlier from 1)."""
    entries = lp["file_entry"]
    version = lp.header["version"]
    k = index if version >= 5 else index - 1
    if not 0 <= k < len(entries):
        return ""
    fe = entries[k]
    name = fe.name.decode(errors="replace") if isinstance(fe.name, bytes) else str(fe.name)
    dirs = lp["include_directory"]
    d = fe.dir_index if version >= 5 else fe.dir_index - 1
    base = ""
    if 0 <= d < len(dirs):
        base = dirs[d].decode(errors="replace") if isinstance(dirs[d], bytes) else str(dirs[d])
    comp = cu.get_top_DIE().attributes.get("DW_AT_comp_dir")
    comp_dir = comp.value.decode(errors="replace") if comp is not None and isinstance(comp.value, bytes) else ""
    p = Path(name)
    if not p.is_absolute():
        p = Path(base) / p if base else p
        if not p.is_absolute() and comp_dir:
            p = Path(comp_dir) / p
    return str(p)


def line_table(elf: str | Path, search: list[Path] | None = None) -> LineTable:
    """The line table of an ELF; empty when it has no DWARF (then listings show no source column).
    A file no longer at its compile-time path (the firmware was built in a staging folder) is looked
    for by name in ``search`` (default: the ``src/`` folder beside the ELF)."""
    search = [Path(elf).parent / "src"] if search is None else search
    rows: list[tuple[int, str, int]] = []
    sources: dict[str, list[str]] = {}
    with Path(elf).open("rb") as f:
        e = ELFFile(f)
        if not e.has_dwarf_info():
            return LineTable(rows, sources)
        dwarf = e.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            lp = dwarf.line_program_for_CU(cu)
            if lp is None:
                continue
            names: dict[int, str] = {}
            for entry in lp.get_entries():
                st = entry.state
                if st is None or st.end_sequence:
                    continue
                if st.file not in names:
                    names[st.file] = _file_name(lp, cu, st.file)
                rows.append((st.address, names[st.file], st.line))
    for path in {p for _, p, _ in rows if p}:
        sources[path] = []
        for candidate in [Path(path), *(d / Path(path).name for d in search)]:
            try:
                sources[path] = candidate.read_text(errors="replace").splitlines()
                break
            except OSError:
                continue
    return LineTable(rows, sources)
