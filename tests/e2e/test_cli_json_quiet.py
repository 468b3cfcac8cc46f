"""Every verb speaks to scripts: --json prints one JSON object, --quiet prints nothing on success."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
M = "zoo:tiny-dscnn-int8"


def verbs(tmp):
    return {
        "analyze": ["analyze", M],
        "generate": ["generate", M, "-o", str(tmp / "gen")],
        "validate": ["validate", M, "-n", "2"],
        "build": ["build", M, "-o", str(tmp / "fw")],
        "run": ["run", M],
        "sim": ["sim", str(tmp / "fw" / "firmware.elf")],
        "profile": ["profile", M, "-o", str(tmp / "prof")],
        "report": ["report", str(tmp / "prof")],
    }


def _cli(args, tmp):
    env = {**os.environ, "TINYSCOPE_CACHE": str(tmp / "cache")}
    return subprocess.run([sys.executable, "-m", "tinyscope", *args], capture_output=True, text=True, cwd=tmp,
                          env=env, timeout=300)


def test_every_verb_has_json_and_quiet(tmp_path):
    for name, args in verbs(tmp_path).items():  # in order: sim reads build's ELF, report profile's folder
        r = _cli([*args, "--json"], tmp_path)
        assert r.returncode == 0, f"{name}: {r.stderr}"
        assert isinstance(json.loads(r.stdout), dict), name
        q = _cli([*args, "--quiet"], tmp_path)
        assert q.returncode == 0 and q.stdout == "", f"{name}: {q.stdout[:200]} {q.stderr}"
