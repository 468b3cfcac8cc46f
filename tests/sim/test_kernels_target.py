"""The Arm-only kernel paths (SXTB16/SMLAD matrix product, 4-channel depthwise, the SMLAL
requantization) on the simulated target, bit for bit against the reference, on a network whose
output is a raw int8 activation (a softmax output would hide most errors). And the issue-11 rule
that an int8 zoo network is never slower than its float32 twin on the simulated board."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.firmware.config import BuildConfig
from tinyscope.firmware.firmware import build_firmware
from tinyscope.firmware.protocol import parse_output
from tinyscope.frontend.quantize import quantize_graph
from tinyscope.frontend.zoo import _Net
from tinyscope.ir.graph import Graph
from tinyscope.ir.ops import RELU, AddAttrs, ConvAttrs, OpType, PoolAttrs
from tinyscope.ir.shapes import same_padding_2d
from tinyscope.sim import simulate

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


def kernel_paths() -> Graph:
    """Every int8 conv path: ic = 3 (natural columns, K % 4 = 3) with an odd oc, ic = 5 (natural, one
    tail k), depthwise on 8 channels (SIMD) with stride 1 (inside, left/right, top/bottom, corners)
    and stride 2, a padded 3x3 conv on 8 channels (word-wise im2col), a residual ADD, a conv with a
    fused max pool over an odd number of pixels; the output is the last int8 activation."""
    n = _Net("kernel-paths", 7)
    x = n.b.input("input", (1, 11, 9, 3))
    y = n.conv(x, "c3", 5, 3, same=True)
    y = n.conv(y, "c5", 8, 1)
    y = n.depthwise(y, "dw1", 3)
    d = n.depthwise(y, "dw2", 3, stride=(2, 2))
    y = n.conv(d, "c8", 8, 3, same=True)
    y = n.layer(OpType.ADD, "add", [y, d], AddAttrs(RELU))
    y = n.conv(y, "c_pool", 6, 3, same=True)
    y = n.layer(OpType.MAX_POOL_2D, "pool", [y], PoolAttrs((2, 2), (2, 2)))
    g = n.b.finish([y])
    rng = np.random.default_rng(3)
    return quantize_graph(g, [rng.random((1, 11, 9, 3), dtype=np.float32) for _ in range(4)])


def fc_paths() -> Graph:
    """Fully connected with 37 inputs (SMLAD groups and a scalar tail, unaligned rows), then 12."""
    n = _Net("fc-paths", 8)
    x = n.b.input("input", (1, 37))
    y = n.dense(x, "fc1", 12)
    y = n.dense(y, "fc2", 7, act=ConvAttrs().act)
    g = n.b.finish([y])
    rng = np.random.default_rng(4)
    return quantize_graph(g, [rng.random((1, 37), dtype=np.float32) for _ in range(4)])


def first_layer_paths() -> Graph:
    """One input channel: a 5x5 kernel with padding (the run gather, inside and border rows, K % 4 =
    1), then a strided 3x3 (the straight-line nine taps) on its 6 channels."""
    n = _Net("first-layer-paths", 9)
    x = n.b.input("input", (1, 13, 10, 1))
    a = n.conv(x, "c5x5", 6, 5, same=True)
    a = n.layer(OpType.MAX_POOL_2D, "pool", [a], PoolAttrs((2, 2), (2, 2), same_padding_2d(13, 10, 2, 2, (2, 2))))
    b = n.conv(x, "c3x3", 6, 3, stride=(2, 2), same=True)
    y = n.layer(OpType.ADD, "add", [a, b], AddAttrs(RELU))
    g = n.b.finish([y])
    rng = np.random.default_rng(5)
    return quantize_graph(g, [rng.random((1, 13, 10, 1), dtype=np.float32) for _ in range(4)])


@pytest.mark.parametrize("make", [kernel_paths, fc_paths, first_layer_paths])
def test_int8_kernel_paths_are_bit_exact_on_the_target(make, tmp_path):
    graph = make()
    fw = build_firmware(graph, tmp_path, BuildConfig())
    out = parse_output(simulate(fw.elf, fw.target).stdout).output
    ref = reference.run(graph, [fw.input[None]])[0]
    assert np.unique(ref).size > 5  # a raw activation, not a saturated softmax
    np.testing.assert_array_equal(out.ravel(), ref.ravel())


@pytest.mark.parametrize("model", ["tiny-dscnn", "mnist-cnn", "mobilenet-tiny"])
def test_int8_zoo_network_is_not_slower_than_its_float_twin(model, tmp_path):
    cycles = {}
    for name in (model, f"{model}-int8"):
        fw = build_firmware(tinyscope.load(f"zoo:{name}"), tmp_path / name, BuildConfig())
        cycles[name] = parse_output(simulate(fw.elf, fw.target).stdout).cycles
    assert cycles[f"{model}-int8"] <= cycles[model], cycles
