"""Hot regions listed once: the terminal and the HTML report show the same list."""

from __future__ import annotations


def hot_regions(loops: list[dict], blocks: list[dict], top: int = 5) -> list[dict]:
    """Each hot region once, costliest first: innermost loops and basic blocks (as hotloops.json and
    hotblocks.json hold them), skipping any that shares instructions with a costlier one already
    listed (a block inside a listed loop, or two loops whose back edges interleave, would repeat the
    same lines). Each region gets ``kind``: "loop" or "block"."""
    candidates = [{**lp, "kind": "loop"} for lp in loops] + [{**b, "kind": "block"} for b in blocks]
    candidates.sort(key=lambda r: (-r["cycles"], r["kind"] != "loop"))
    chosen: list[dict] = []
    for r in candidates:
        if not any(r["start"] <= c["end"] and c["start"] <= r["end"] for c in chosen):
            chosen.append(r)
        if len(chosen) == top:
            break
    return chosen
