"""ts_requant (the kernels' division-free MultiplyByQuantizedMultiplier) against the reference's
TFLite arithmetic, on edge and random values, compiled with the host compiler; and the weight
layouts the generator writes for the int8 and float conv kernels."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tinyscope.codegen import kernel_source
from tinyscope.codegen.layers import channel_blocks4, pair_interleaved
from tinyscope.ir import fixedpoint as fx

pytestmark = pytest.mark.hostc

PROGRAM = r"""
#include <stdio.h>
#include "ts_kernels.h"
static const int32_t xs[] = {%s};
static const int32_t ms[] = {%s};
static const int32_t ss[] = {%s};
int main(void)
{
    for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        printf("%%ld\n", (long)ts_requant(xs[i], ms[i], ss[i]));
    }
    return 0;
}
"""


def _cases() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    edge_x = [0, 1, -1, 2, -2, 2**31 - 1, -(2**31), 2**30, -(2**30), 12345, -12345]
    edge_m = [0, 2**30, 2**31 - 1, 1518500250]
    edge_s = [-31, -30, -16, -2, -1, 0]
    x, m, s = zip(*[(a, b, c) for a in edge_x for b in edge_m for c in edge_s])
    n = 3000
    rx = np.concatenate([rng.integers(-(2**31), 2**31, n), rng.integers(-(2**16), 2**16, n)])
    rm = np.concatenate([rng.integers(2**30, 2**31, 2 * n - 10), np.zeros(10, np.int64)])
    rs = rng.integers(-31, 1, 2 * n)
    left = (np.abs(rx) < 2**16) & (rng.random(2 * n) < 0.2)  # left shifts where int32 cannot overflow
    rs[left] = rng.integers(1, 8, int(left.sum()))
    return (np.concatenate([np.array(x, np.int64), rx]), np.concatenate([np.array(m, np.int64), rm]),
            np.concatenate([np.array(s, np.int64), rs]))


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_requant_matches_tflite_arithmetic(tmp_path):
    x, m, s = _cases()
    (tmp_path / "ts_kernels.h").write_text(kernel_source("ts_kernels.h"))
    src = tmp_path / "t.c"
    src.write_text(PROGRAM % tuple(", ".join(f"{int(v)}" if v > -(2**31) else "INT32_MIN" for v in a)
                                   for a in (x, m, s)))
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Werror", "-I", str(tmp_path), str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = np.array(subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split(), np.int64)
    want = fx.multiply_by_quantized_multiplier(x, m, s)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(int(x[i]), int(m[i]), int(s[i]), int(got[i]), int(want[i])) for i in bad[:5]]


def test_int8_pair_layout_keeps_every_weight_once():
    w = np.arange(5 * 3 * 3 * 3, dtype=np.int64).reshape(5, 3, 3, 3)  # oc 5 (odd), K 27 (tail 3), ic 3
    out = pair_interleaved(w)
    assert out.size == w.size and sorted(out.tolist()) == sorted(w.ravel().tolist())
    k = 27
    # channel pair (0, 1): the first group of four k of each, reordered for natural-order columns
    first = w.reshape(5, k)
    assert out[:8].tolist() == [first[0][i] for i in (0, 2, 1, 3)] + [first[1][i] for i in (0, 2, 1, 3)]
    assert out[-k:].tolist() == w.reshape(5, k)[4].tolist()  # the odd last channel as it is
    w4 = np.arange(4 * 1 * 1 * 8).reshape(4, 1, 1, 8)  # ic % 4 == 0: groups kept in natural order
    assert pair_interleaved(w4)[:8].tolist() == list(range(4)) + list(range(8, 12))


def test_float_block_layout():
    w = np.arange(6 * 2 * 2 * 1, dtype=np.float32).reshape(6, 2, 2, 1)  # oc 6: a padded second block
    out = channel_blocks4(w)
    assert out.size == 8 * 4
    assert out[:4].tolist() == [0, 4, 8, 12]  # k = 0 of channels 0..3
    assert out[16:20].tolist() == [16, 20, 0, 0]  # k = 0 of channels 4, 5 and two zero channels
