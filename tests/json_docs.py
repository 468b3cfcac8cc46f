"""The documented JSON outputs, as checks: every key a document lists, with the type it gives.

``check_analyze`` is docs/analyze-json.md (``tinyscope analyze --json`` and a profile's ``model_figures``);
``check_profile_run`` is the ``run.json`` row of docs/profile-files.md (``tinyscope profile --json`` prints
it). A key missing, or of another type, fails with the key's path."""

from __future__ import annotations

INT, FLOAT, STR, BOOL, LIST, DICT = int, (int, float), str, bool, list, dict
NONE = type(None)

ANALYZE = {
    "model": STR, "source": STR, "source_format": STR, "model_hash": STR, "params": INT, "macc": INT,
    "macc_st": INT, "weights_bytes": INT, "activations_bytes": INT, "io_bytes": INT, "ram_total_bytes": INT,
    "inputs": LIST, "outputs": LIST, "steps": INT, "layers": LIST, "notes": LIST,
}
TENSOR = {"name": STR, "shape": LIST, "dtype": STR, "bytes": INT, "scale": (float, NONE), "zero_point": (int, NONE)}
LAYER = {
    "m_id": INT, "c_id": INT, "name": STR, "type": STR, "origin": STR, "output_shape": LIST, "params": INT,
    "rom_bytes": INT, "macc": INT, "macc_st": INT, "output_bytes": INT, "fused": BOOL,
}
SOURCE_FORMATS = {"tflite", "keras-h5", "keras-v3", "onnx", "zoo"}

RUN = {
    "model": STR, "model_sha256": (str, NONE), "target": STR, "cpu_hz": INT, "cycles": INT, "measured": STR,
    "ms": FLOAT, "macc": INT, "cycles_per_macc": (int, float, NONE), "simulated_cycles_total": INT,
    "instructions": INT, "icache": DICT, "dcache": DICT, "stalls": DICT, "top_function": (str, NONE),
    "top_share": (int, float, NONE), "agreement": DICT, "regions": DICT, "provenance": DICT, "simulator": DICT,
    "model_figures": DICT, "memory_map": LIST,
}
CACHE = {"accesses": INT, "misses": INT, "miss_rate": FLOAT}
STALLS = ("load_use", "fp", "dep", "branch", "ifetch", "dmem")
AGREEMENT = {"max_abs_diff": FLOAT, "argmax_equal": (bool, NONE), "argmax": INT, "reference_argmax": INT}
REGION = {"region": STR, "base": INT, "size": INT, "used": INT, "parts": DICT}


def _has(doc: object, keys: dict, where: str) -> None:
    assert isinstance(doc, dict), f"{where}: {type(doc).__name__}, not an object"
    missing = [k for k in keys if k not in doc]
    assert not missing, f"{where}: no {missing}"
    for k, kind in keys.items():
        v = doc[k]
        ok = isinstance(v, kind) and not (isinstance(v, bool) and kind in (INT, FLOAT))  # a bool is no count
        assert ok, f"{where}.{k} = {v!r}: {type(v).__name__}, documented as {kind}"


def _ints(v: object, where: str) -> None:
    assert isinstance(v, list) and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in v), \
        f"{where} = {v!r}: not a list of positive integers"


def check_analyze(doc: dict, where: str = "analyze") -> None:
    _has(doc, ANALYZE, where)
    assert doc["source_format"] in SOURCE_FORMATS, f"{where}.source_format = {doc['source_format']!r}"
    assert len(doc["model_hash"]) == 64 and int(doc["model_hash"], 16) >= 0, f"{where}.model_hash"
    assert doc["ram_total_bytes"] == doc["activations_bytes"] + doc["io_bytes"], where
    assert all(isinstance(n, str) for n in doc["notes"]), f"{where}.notes"
    for side in ("inputs", "outputs"):
        assert doc[side], f"{where}.{side} is empty"
        for k, t in enumerate(doc[side]):
            _has(t, TENSOR, f"{where}.{side}[{k}]")
            _ints(t["shape"], f"{where}.{side}[{k}].shape")
            assert (t["scale"] is None) == (t["zero_point"] is None) == (t["dtype"] == "float32"), \
                f"{where}.{side}[{k}]: scale/zero_point are null exactly for float"
    assert doc["io_bytes"] == sum(t["bytes"] for side in ("inputs", "outputs") for t in doc[side]), where
    assert doc["layers"], f"{where}.layers is empty"
    for k, lay in enumerate(doc["layers"]):
        _has(lay, LAYER, f"{where}.layers[{k}]")
        _ints(lay["output_shape"], f"{where}.layers[{k}].output_shape")
        assert -1 <= lay["c_id"] < doc["steps"], f"{where}.layers[{k}].c_id"
    for total in ("params", "macc", "macc_st"):  # the totals are the layers' sums
        assert doc[total] == sum(lay[total] for lay in doc["layers"]), f"{where}.{total}"
    assert doc["weights_bytes"] == sum(lay["rom_bytes"] for lay in doc["layers"]), f"{where}.weights_bytes"


def check_profile_run(doc: dict, where: str = "run.json") -> None:
    _has(doc, RUN, where)
    for cache in ("icache", "dcache"):
        _has(doc[cache], CACHE, f"{where}.{cache}")
        assert 0 <= doc[cache]["miss_rate"] <= 1 and doc[cache]["misses"] <= doc[cache]["accesses"], where
    _has(doc["dcache"], {"writebacks": INT}, f"{where}.dcache")
    _has(doc["stalls"], dict.fromkeys(STALLS, INT), f"{where}.stalls")
    _has(doc["agreement"], AGREEMENT, f"{where}.agreement")
    for name, use in doc["regions"].items():
        _has(use, {"used": INT, "size": INT}, f"{where}.regions.{name}")
    _has(doc["simulator"], {"wall_seconds": FLOAT, "mips": FLOAT}, f"{where}.simulator")
    assert doc["memory_map"], f"{where}.memory_map is empty"
    for k, region in enumerate(doc["memory_map"]):
        _has(region, REGION, f"{where}.memory_map[{k}]")
        assert all(isinstance(n, int) for n in region["parts"].values()), f"{where}.memory_map[{k}].parts"
    check_analyze(doc["model_figures"], f"{where}.model_figures")
