"""Built firmware cached by the hash of what goes into it, each entry checked against its manifest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from tinyscope.errors import BuildError
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import (
    Firmware,
    FirmwareSources,
    compile_firmware,
    firmware_from_info,
    firmware_sources,
)
from tinyscope.ir.graph import Graph

CACHE_DIR = ".tinyscope-cache"
MANIFEST = "manifest.json"


def cache_root() -> Path:
    return Path(os.environ.get("TINYSCOPE_CACHE", CACHE_DIR))


def cached_firmware(graph: Graph, config: BuildConfig, root: Path | None = None) -> tuple[Firmware, bool]:
    """(firmware, was_cached). The key is the hash of everything that goes into the firmware
    (rendered C, harness, linker script, flags, toolchain and tinyscope versions, input), and an
    entry is used only when its manifest of SHA-256s matches every file; otherwise it is rebuilt."""
    sources = firmware_sources(graph, config)
    key = sources.key()
    folder = (root or cache_root()) / key
    hit = _load(folder, sources)
    if hit is not None:
        return hit, True
    tmp = folder.with_name(f"{key}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    compile_firmware(sources, tmp)
    write_manifest(tmp)  # last: an entry without a valid manifest is never used
    if folder.exists() and _load(folder, sources) is None:
        shutil.rmtree(folder, ignore_errors=True)  # a damaged entry: replace it
    try:
        os.rename(tmp, folder)  # atomic: parallel runs of one configuration never see half a build
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process finished the same build first
    hit = _load(folder, sources)
    if hit is None:
        raise BuildError(f"the build cache at {folder} is unusable; delete it")
    return hit, False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    doc = {p.relative_to(folder).as_posix(): _digest(p) for p in files}
    (folder / MANIFEST).write_text(json.dumps(doc, indent=1), encoding="utf-8")


def verify_manifest(folder: Path) -> bool:
    """True when the manifest lists the build's files and each one still has its hash."""
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not {"firmware.elf", "build.json"} <= doc.keys():
            return False
        return all(isinstance(h, str) and _digest(folder / name) == h for name, h in doc.items())
    except (OSError, ValueError):
        return False


def _load(folder: Path, sources: FirmwareSources) -> Firmware | None:
    if not verify_manifest(folder):
        return None
    try:
        info = json.loads((folder / "build.json").read_text(encoding="utf-8"))
        return firmware_from_info(folder, sources.config, sources.target, sources.placement, sources.input, info)
    except (OSError, ValueError, KeyError, TypeError):
        return None
