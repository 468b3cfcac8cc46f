"""Built firmware cached by a hash of (model bytes, input, configuration, tinyscope version)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from functools import cache
from pathlib import Path

import numpy as np

from tinyscope.build import linker
from tinyscope.build.config import BuildConfig
from tinyscope.build.firmware import Firmware, build_firmware, model_input
from tinyscope.errors import BuildError
from tinyscope.ir.graph import Graph
from tinyscope.plan.analyze import model_hash
from tinyscope.targets import is_board_file, load_target

CACHE_DIR = ".tinyscope-cache"
_SOURCES = ("codegen", "build", "ir", "plan")  # what shapes the firmware bytes besides model and config


@cache
def source_fingerprint() -> str:
    """Hash of tinyscope's own code that goes into a firmware, so edits invalidate cached builds."""
    pkg = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for sub in _SOURCES:
        for f in sorted((pkg / sub).rglob("*")):
            if f.suffix in (".py", ".c", ".h", ".toml") and f.is_file():
                h.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes())
    for f in sorted((pkg / "targets").glob("*.toml")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def cache_root() -> Path:
    return Path(os.environ.get("TINYSCOPE_CACHE", CACHE_DIR))


def cached_firmware(graph: Graph, config: BuildConfig, root: Path | None = None) -> tuple[Firmware, bool]:
    """(firmware, was_cached): reuse ``<root>/<key>/`` when it holds a finished build of this configuration."""
    x = model_input(graph, config)
    board = hashlib.sha256(Path(config.target).read_bytes()).hexdigest() if is_board_file(config.target) else ""
    key = config.key(model_hash(graph.source) + source_fingerprint() + board, hashlib.sha256(x.tobytes()).hexdigest())
    folder = (root or cache_root()) / key
    hit = _load(folder, config)
    if hit is not None:
        return hit, True
    tmp = folder.with_name(f"{key}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    fw = build_firmware(graph, tmp, config)
    np.save(tmp / "input.npy", fw.input)
    try:
        os.rename(tmp, folder)  # atomic: parallel runs of one configuration never see half a build
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another process finished the same build first
    hit = _load(folder, config)
    if hit is None:
        raise BuildError(f"the build cache at {folder} is unusable; delete it")
    return hit, False


def _load(folder: Path, config: BuildConfig) -> Firmware | None:
    info_file = folder / "build.json"
    if not (info_file.is_file() and (folder / "firmware.elf").is_file() and (folder / "input.npy").is_file()):
        return None
    info = json.loads(info_file.read_text(encoding="utf-8"))
    usage = {k: (v["used"], v["size"]) for k, v in info["usage"].items()}
    return Firmware(folder, folder / "firmware.elf", folder / "firmware.map", config, load_target(config.target),
                    linker.Placement(**info["placement"]), usage, np.load(folder / "input.npy"),
                    info.get("macc", 0), info)
