"""Short layer names that keep the distinctive part.

A TFLite converter names a fused op after every op it absorbed, e.g.
``functional_1/activation_1/Relu;functional_1/batch_normalization_1/FusedBatchNormV3;
functional_1/depthwise_conv2d/depthwise;...``. Cutting at N characters keeps the part all layers
share. Instead: take the ``;``-separated parts, drop the scope every name shares (``functional_1/``)
and the op word at the end (``/Relu``, ``/BiasAdd``), and keep the layer scope named most often,
preferring a compute layer over the activation or normalisation folded into it."""

from __future__ import annotations

import re
from collections import Counter

# scopes that name what was folded into a layer, not the layer itself
_FOLDED = re.compile(r"^(activation|batch_normalization|batchnorm|re_?lu|relu6|bn|dropout|quant|dequant)(_\d+)?$",
                     re.IGNORECASE)
_TRAILING = re.compile(r"/(ReadVariableOp(/resource)?\d*|resource\d*)$")


def _scopes(name: str, prefix: int) -> list[str]:
    out = []
    for part in name.split(";"):
        part = _TRAILING.sub("", part.strip())
        path = [p for p in part.split("/") if p]
        path = path[prefix:] if len(path) > prefix else path
        if len(path) > 1:
            path = path[:-1]  # the op word: Relu, BiasAdd, Conv2D, depthwise, ...
        if path:
            out.append("/".join(path))
    return out


def _common_prefix(names: list[str]) -> int:
    """How many leading path components every part of every name shares (``model/``)."""
    firsts = [p.split("/") for n in names for p in n.split(";") if "/" in p]
    if not firsts or len(firsts) < len([n for n in names if n]):
        return 0
    k = 0
    while all(len(f) > k + 1 and f[k] == firsts[0][k] for f in firsts):
        k += 1
    return k


def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep - keep // 2] + "…" + text[len(text) - keep // 2:]


def short_names(names: list[str], width: int = 28) -> list[str]:
    """One short, distinct label per name (the full name is for hover text and files)."""
    prefix = _common_prefix(names) if len(names) > 1 else 0
    out = []
    for name in names:
        flat = name.replace("\n", " ")
        if ";" not in flat and "/" not in flat:
            out.append(_fit(flat, width))
            continue
        scopes = _scopes(flat, prefix)
        if not scopes:
            out.append(_fit(flat, width))
            continue
        counts = Counter(scopes)
        best = max(counts, key=lambda s: (not _FOLDED.match(s.split("/")[-1]), counts[s], -scopes.index(s)))
        out.append(_fit(best, width))
    seen = Counter(out)
    if any(v > 1 for v in seen.values()):  # keep labels distinct: number the repeats
        k: Counter = Counter()
        for i, label in enumerate(out):
            if seen[label] > 1:
                k[label] += 1
                out[i] = _fit(label, width - 3) + f" #{k[label]}"
    return out
