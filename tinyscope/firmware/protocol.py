"""The harness's semihosting line protocol (documented in harness/main.c), parsed in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyscope.errors import SimError

DTYPES = {"float32": np.float32, "int8": np.int8, "bytes": np.uint8}


@dataclass
class HarnessOutput:
    """What one firmware run reported."""

    cycles: int
    status: int
    output: np.ndarray
    layers: list[tuple[int, int]] = field(default_factory=list)  # (start, end) cycles since run start
    layer_count: int = 0
    stack_used: int | None = None  # bytes, from the painted stack


def parse_output(text: str) -> HarnessOutput:
    """Parse TS: lines; SimError if the firmware faulted or stopped before TS:END."""
    cycles = status = stack = None
    layers: dict[int, tuple[int, int]] = {}
    out_dtype, count, nbytes, hexes = "bytes", 0, 0, []
    layer_count, ended = 0, False
    for line in text.splitlines():
        if not line.startswith("TS:"):
            continue
        tag, _, rest = line[3:].partition(" ")
        f = rest.split()
        if tag == "FAULT":
            raise SimError("the firmware hit a fault handler (HardFault/BusFault/UsageFault)")
        if tag == "BEGIN":
            layer_count = int(f[0])
        elif tag == "LAYER":
            layers[int(f[0])] = (int(f[1]), int(f[2]))
        elif tag == "CYCLES":
            cycles = int(f[0])
        elif tag == "STATUS":
            status = int(f[0])
        elif tag == "STACK":
            stack = int(f[0])
        elif tag == "OUT":
            out_dtype, count, nbytes = f[0], int(f[1]), int(f[2])
        elif tag == "HEX":
            hexes.append(f[0] if f else "")
        elif tag == "END":
            ended = True
    if not ended or cycles is None or status is None:
        raise SimError("the firmware stopped before reporting its results (no TS:END line)")
    raw = bytes.fromhex("".join(hexes))
    if len(raw) != nbytes or out_dtype not in DTYPES:
        raise SimError(f"malformed output: {len(raw)} of {nbytes} bytes, dtype {out_dtype}")
    output = np.frombuffer(raw, dtype=DTYPES[out_dtype]).copy()
    if out_dtype != "bytes" and output.size != count:
        raise SimError(f"malformed output: {output.size} values, expected {count}")
    return HarnessOutput(cycles, status, output, [layers.get(i, (0, 0)) for i in range(layer_count)], layer_count,
                         stack)
