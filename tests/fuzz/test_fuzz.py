"""The fuzz tier: every damaged model is exit 0 or exit 2 with one line, never a traceback or a hang.

For each format (TFLite, Keras .h5, Keras .keras, ONNX) seeds made here (and the shared models when
they are beside the checkout) are mutated deterministically (tests/fuzz/mutants.py). ``analyze``
runs on every mutant and ``generate`` and ``validate`` on a sample, through the very function the
``tinyscope`` command runs, in child processes limited to 4 GB of address space and a timeout
(tests/fuzz/driver.py). ``test_real_cli`` then runs the ``tinyscope`` command itself, one process
per run, on a sample across formats. The tallies are printed at the end of the pytest run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from tests.conftest import SHARED_MODELS
from tests.fuzz import harness, mutants, seeds

pytestmark = pytest.mark.fuzz
# (format, seeds): "here" are made by the tests, "shared" are the models in ../shared/models
TIERS = [("tflite", "here"), ("tflite", "shared"), ("h5", "here"), ("h5", "shared"), ("keras", "here"),
         ("onnx", "here")]
MIN_MUTANTS = {("tflite", "here"): 180, ("tflite", "shared"): 350, ("h5", "here"): 280, ("h5", "shared"): 70,
               ("keras", "here"): 200, ("onnx", "here"): 260}
SAMPLE = {"accepted": 12, "rejected": 4}  # per tier, each through generate and validate


def _mutants(tmp_path, fmt: str, source: str = "here"):
    seed_files = seeds.make_seeds(tmp_path / "seeds", fmt, source)
    return seed_files, mutants.build(tmp_path / "mutants", fmt, seed_files)


@pytest.mark.parametrize("fmt, source", TIERS, ids=[f"{f}-{s}" for f, s in TIERS])
def test_mutants(fmt, source, tmp_path, record_property):
    if source == "shared" and not seeds.shared_available():
        pytest.skip(f"{SHARED_MODELS} not present: the shared models are not fuzzed (the seeds made by the "
                    "tests still are)")
    seed_files, ms = _mutants(tmp_path, fmt, source)
    assert len(ms) >= MIN_MUTANTS[fmt, source], f"only {len(ms)} {fmt} mutants"
    out = tmp_path / "out"
    # the seeds themselves must import cleanly, or their mutants prove little
    seed_runs = harness.run_batch([{"id": f"seed {p.name}", "argv": ["analyze", str(p), "--quiet"], "out": None,
                                    "timeout": harness.ANALYZE_TIMEOUT} for p in seed_files], tmp_path / "w0")
    assert all(r["code"] == 0 for r in seed_runs), [(r["id"], r["stderr"]) for r in seed_runs if r["code"] != 0]

    analyzed = harness.run_batch([harness.analyze_job(m, out) for m in ms], tmp_path / "w1")
    picked = harness.sample(ms, analyzed, **SAMPLE)
    built = harness.run_batch([job(m, out) for m in picked for job in (harness.generate_job, harness.validate_job)],
                              tmp_path / "w2")
    results = analyzed + built
    t = harness.tally(ms, results)
    record_property("fuzz_tally", json.dumps(t))
    print(harness.render(t, f"{fmt} ({source})"))
    bad = harness.problems(results)
    assert not bad, f"{len(bad)} of {len(results)} runs broke the promise:\n" + "\n".join(bad[:20])
    structural_net = {k: v for k, v in t["safety_net"].items() if "/structural" in k}
    assert not structural_net, f"named structural defects reached the safety net instead of a check: {structural_net}"


def test_the_limits_are_real(tmp_path):
    """A memory blow-up, a hang and a crash in a child are caught, reported, and the batch goes on."""
    model = seeds.make_seeds(tmp_path / "seeds", "onnx")[0]
    jobs = [{"id": kind, "argv": ["selftest"], "selftest": kind, "out": None, "timeout": 3}
            for kind in ("allocate 8 GB", "hang", "segfault")]
    jobs.append({"id": "after", "argv": ["analyze", str(model), "--quiet"], "out": None, "timeout": 20})
    results = {r["id"]: r for r in harness.run_batch(jobs, tmp_path / "w")}
    assert results["allocate 8 GB"]["outcome"] == "traceback" and "MemoryError" in results["allocate 8 GB"]["traceback"]
    assert results["hang"]["outcome"] == "timeout"
    assert results["segfault"]["outcome"] == "died" and "SIGSEGV" in results["segfault"]["stderr"]
    assert results["after"]["code"] == 0  # the driver was restarted after the crash
    assert len(harness.problems(list(results.values()))) == 3


def test_real_cli(tmp_path, record_property):
    """The ``tinyscope`` command itself, one process per run: exit status, one line, nothing left behind."""
    runs: list[tuple[str, mutants.Mutant]] = []
    for fmt in mutants.FORMATS:
        _, ms = _mutants(tmp_path / fmt, fmt)
        first = {}
        for m in ms:
            first.setdefault(m.kind, m)
        named = [m for m in ms if any(w in m.detail for w in ("stride 0", "NaN", "non-UTF-8", "100000"))]
        runs += [("analyze", first["truncate"]), ("analyze", first["magic"]), ("generate", first["bitflip"]),
                 ("validate", first["zero"]), ("generate", named[0]), ("validate", named[-1])]
    bad, statuses = [], Counter()
    for verb, m in runs:
        out = tmp_path / "out" / m.path.stem
        extra = [] if verb == "validate" else ["-o", str(out)]
        r = subprocess.run([sys.executable, "-m", "tinyscope", verb, str(m.path), *extra], capture_output=True,
                           text=True, timeout=120, cwd=harness.ROOT, env=harness.child_env(),
                           preexec_fn=harness.limit_memory)
        where = f"{verb} {m.id}"
        statuses[f"{verb} (own process): exit {r.returncode}"] += 1
        lines = r.stderr.strip().splitlines()
        if r.returncode not in (0, 2) or "Traceback" in r.stderr:
            bad.append(f"{where}: exit {r.returncode}: {r.stderr[-800:]}")
        elif r.returncode == 2 and (len(lines) != 1 or not lines[0].startswith(f"tinyscope {verb}: error: ")):
            bad.append(f"{where}: not one line: {r.stderr!r}")
        elif r.returncode == 2 and out.exists():
            bad.append(f"{where}: rejected, but {out} was left behind")
    record_property("fuzz_tally", json.dumps({"mutants": 0, "runs": statuses, "format": {}, "kind": {},
                                              "safety_net": {}, "slowest": [], "peak_rss_mb": 0.0}))
    assert not bad, f"{len(bad)} of {len(runs)} runs broke the promise:\n" + "\n".join(bad)
