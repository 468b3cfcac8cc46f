"""The fuzz tier's engine: jobs for mutants, child processes with limits, checks and tallies.

Children run with a 4 GB address-space limit (RLIMIT_AS) and a timeout; a child that dies is
restarted on the jobs it had not finished, and the job it died on is recorded as a crash.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from tests.fuzz.mutants import Mutant

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 4 * 2**30
ANALYZE_TIMEOUT = 20.0
BUILD_TIMEOUT = 90.0
SAFETY_NET = "malformed model file ("
PEAK_RSS_KB = 1536 * 1024  # a blow-up long before the 4 GB limit: these models need ~200 MB


def limit_memory() -> None:
    """preexec_fn: at most 4 GB of address space, so a blow-up fails fast instead of swapping."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def analyze_job(m: Mutant, out_root: Path) -> dict:
    return {"id": m.id, "argv": ["analyze", str(m.path), "--quiet", "-o", str(out_root / f"a-{m.path.stem}")],
            "out": str(out_root / f"a-{m.path.stem}"), "timeout": ANALYZE_TIMEOUT}


def generate_job(m: Mutant, out_root: Path) -> dict:
    return {"id": m.id, "argv": ["generate", str(m.path), "--quiet", "-o", str(out_root / f"g-{m.path.stem}")],
            "out": str(out_root / f"g-{m.path.stem}"), "timeout": BUILD_TIMEOUT}


def validate_job(m: Mutant, out_root: Path) -> dict:
    return {"id": m.id, "argv": ["validate", str(m.path), "--quiet", "-n", "2"], "out": None,
            "timeout": BUILD_TIMEOUT}


def run_batch(jobs: list[dict], work: Path, total_timeout: float = 300.0) -> list[dict]:
    """Run jobs in driver children (restarted after a crash); one result per job, in order."""
    work.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    pending = list(jobs)
    deadline = time.monotonic() + total_timeout
    n = 0
    while pending:
        n += 1
        jobs_file, results_file = work / f"jobs-{n}.json", work / f"results-{n}.jsonl"
        jobs_file.write_text(json.dumps(pending))
        results_file.write_text("")
        left = max(deadline - time.monotonic(), 5.0)
        try:
            r = subprocess.run([sys.executable, "-m", "tests.fuzz.driver", str(jobs_file), str(results_file)],
                               cwd=ROOT, env=child_env(), preexec_fn=limit_memory, capture_output=True,
                               text=True, timeout=left)
            died = None if r.returncode == 0 else _death(r.returncode, r.stderr)
        except subprocess.TimeoutExpired:
            died = "timeout (the whole batch ran out of time)"
        done = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
        results += done
        pending = pending[len(done):]
        if pending and died is not None:
            job = pending.pop(0)
            results.append({"id": job["id"], "verb": job["argv"][0], "code": None,
                            "outcome": "timeout" if died.startswith("timeout") else "died",
                            "stderr": died, "traceback": "", "seconds": None, "peak_rss_kb": None,
                            "out_exists": Path(job["out"]).exists() if job.get("out") else None})
            if died.startswith("timeout"):
                break
        elif pending:
            break  # the child exited cleanly without finishing: should not happen, reported below
    for job in pending:
        results.append({"id": job["id"], "verb": job["argv"][0], "code": None, "outcome": "not run",
                        "stderr": "", "traceback": "", "seconds": None, "peak_rss_kb": None, "out_exists": None})
    return results


def _death(code: int, stderr: str) -> str:
    if code < 0:
        return f"died by signal {signal.Signals(-code).name}"
    tail = stderr.strip().splitlines()[-3:]
    return f"driver exited {code}: {' | '.join(tail)}"


def problems(results: list[dict]) -> list[str]:
    """Every result that breaks the promise: exit 0 or 2, one line, no traceback, nothing left behind."""
    bad = []
    for r in results:
        where = f"{r['verb']} {r['id']}"
        if r["outcome"] != "exit":
            bad.append(f"{where}: {r['outcome']} {r['stderr'][-300:]} {r['traceback'][-1500:]}")
            continue
        if r["code"] not in (0, 2):
            bad.append(f"{where}: exit {r['code']}: {r['stderr'][-300:]}")
        if "Traceback" in r["stderr"]:
            bad.append(f"{where}: a traceback on stderr: {r['stderr'][-500:]}")
        if r["code"] == 2:
            lines = [line for line in r["stderr"].splitlines() if line.strip()]
            if len(lines) != 1:
                bad.append(f"{where}: {len(lines)} lines on stderr: {r['stderr'][-500:]}")
            if "MemoryError" in r["stderr"]:
                bad.append(f"{where}: ran out of memory: {r['stderr'][-300:]}")
        if r["peak_rss_kb"] and r["peak_rss_kb"] > PEAK_RSS_KB:
            bad.append(f"{where}: the child's memory peaked at {r['peak_rss_kb'] // 1024} MB")
            if r["out_exists"]:
                bad.append(f"{where}: rejected, but its output folder was left behind")
    return bad


def tally(mutants: list[Mutant], results: list[dict]) -> dict:
    """Counts per format, per mutation kind, per verb and exit status; safety-net hits; timings."""
    by_id = {m.id: m for m in mutants}
    t: dict = {"mutants": len(mutants), "runs": Counter(), "format": defaultdict(Counter),
               "kind": defaultdict(Counter), "safety_net": Counter(), "slowest": [], "peak_rss_mb": 0.0}
    for r in results:
        m = by_id.get(r["id"])
        status = f"exit {r['code']}" if r["outcome"] == "exit" else r["outcome"]
        t["runs"][f"{r['verb']}: {status}"] += 1
        if m is not None and r["verb"] == "analyze":
            t["format"][m.fmt][status] += 1
            t["kind"][f"{m.fmt}/{m.kind}"][status] += 1
        if SAFETY_NET in r["stderr"]:
            t["safety_net"][f"{r['verb']} {m.fmt if m else '?'}/{m.kind if m else '?'}"] += 1
        if r["seconds"] is not None:
            t["slowest"].append((r["seconds"], f"{r['verb']} {r['id']}"))
        if r["peak_rss_kb"]:
            t["peak_rss_mb"] = max(t["peak_rss_mb"], r["peak_rss_kb"] / 1024)
    t["slowest"] = sorted(t["slowest"], reverse=True)[:3]
    return t


def render(t: dict, title: str) -> str:
    lines = [f"== fuzz {title}: {t['mutants']} mutants; " +
             ", ".join(f"{k} {v}" for k, v in sorted(t["runs"].items()))]
    for fmt, c in sorted(t["format"].items()):
        lines.append(f"   analyze {fmt:<7} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    for kind, c in sorted(t["kind"].items()):
        lines.append(f"     {kind:<20} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    net = sum(t["safety_net"].values())
    lines.append(f"   safety net (unforeseen errors turned into one line): {net}"
                 + (f" ({dict(t['safety_net'])})" if net else ""))
    lines.append(f"   peak memory of a child (RSS): {t['peak_rss_mb']:.0f} MB of the 4 GB allowed; slowest: "
                 + ", ".join(f"{s:.2f}s {what}" for s, what in t["slowest"]))
    return "\n".join(lines)


def merge(tallies: list[dict]) -> dict:
    out: dict = {"mutants": 0, "runs": Counter(), "format": defaultdict(Counter), "kind": defaultdict(Counter),
                 "safety_net": Counter(), "slowest": [], "peak_rss_mb": 0.0}
    for t in tallies:
        out["mutants"] += t["mutants"]
        out["runs"].update(t["runs"])
        for k, c in t["format"].items():
            out["format"][k].update(c)
        for k, c in t["kind"].items():
            out["kind"][k].update(c)
        out["safety_net"].update(t["safety_net"])
        out["slowest"] = sorted(out["slowest"] + [tuple(s) for s in t["slowest"]], reverse=True)[:3]
        out["peak_rss_mb"] = max(out["peak_rss_mb"], t["peak_rss_mb"])
    return out


def sample(mutants: list[Mutant], analyzed: list[dict], accepted: int, rejected: int) -> list[Mutant]:
    """A deterministic sample for generate/validate: mutants analyze accepted, and some it rejected.

    Seeds over 200 KB (the MNIST models) compile slowly, so they get at most two places.
    """
    code = {r["id"]: r["code"] for r in analyzed}
    small = [m for m in mutants if m.path.stat().st_size < 200_000]
    big = [m for m in mutants if m.path.stat().st_size >= 200_000]

    def spread(ms: list[Mutant], n: int) -> list[Mutant]:
        if len(ms) <= n:
            return ms
        step = len(ms) / n
        return [ms[int(i * step)] for i in range(n)]

    ok_small = [m for m in small if code.get(m.id) == 0]
    ok_big = [m for m in big if code.get(m.id) == 0]
    bad = [m for m in mutants if code.get(m.id) == 2]
    picked = spread(ok_small, accepted - min(2, len(ok_big))) + spread(ok_big, 2) + spread(bad, rejected)
    seen: set[str] = set()
    return [m for m in picked if not (m.id in seen or seen.add(m.id))]
