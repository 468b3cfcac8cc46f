"""Generated C for every zoo and shared model: warning-free with both compilers, clean under
ASan/UBSan, and equal to the reference executor (int8 bit for bit, float32 l2r < 1e-6)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import tinyscope
from tinyscope import reference
from tinyscope.codegen import generate
from tinyscope.firmware.host import HostNetwork, compile_host
from tinyscope.reference.inputs import load_inputs, random_inputs
from tinyscope.reference.metrics import compare

from ..conftest import SHARED_MODELS, shared_model

pytestmark = pytest.mark.hostc

MODELS = ["zoo:mnist-cnn", "zoo:mnist-cnn-int8", "zoo:tiny-dscnn", "zoo:tiny-dscnn-int8", "zoo:mobilenet-tiny",
          "zoo:mobilenet-tiny-int8", "mnist_cnn.h5", "mnist_cnn_f32.tflite", "kws_dscnn_f32.tflite",
          "kws_dscnn_int8.tflite", "ic_resnet8_int8.tflite"]
ARM = ["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-mcpu=cortex-m7", "-mthumb",
       "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-O3", "-c"]
HARNESS = r"""
#include <string.h>
#include "network.h"
static network_input_t in[network_INPUT_COUNT];
static network_output_t out[network_OUTPUT_COUNT];
static int calls;
static void hook(int layer, int end) { (void)layer; calls += end; }
int main(void)
{
    unsigned s = 12345u;
    for (int i = 0; i < network_INPUT_COUNT; i++) {
        s = s * 1103515245u + 12345u;
#ifdef network_INPUT_DTYPE_INT8
        in[i] = (network_input_t)(int)((s >> 16) & 0xFF) - 128;
#else
        in[i] = (network_input_t)((s >> 16) & 0x7FFF) / 32768.0f;
#endif
    }
    network_set_layer_hook(hook);
    network_run(in, out);
    return calls == network_LAYER_COUNT ? 0 : 3;
}
"""


def _model(name: str) -> str:
    return name if name.startswith("zoo:") else str(shared_model(name))


@pytest.fixture(scope="module", params=MODELS)
def generated(request, tmp_path_factory):
    graph = tinyscope.load(_model(request.param))
    folder = tmp_path_factory.mktemp(request.param.replace(":", "_").replace(".", "_"))
    return graph, generate(graph, folder / "c", "network"), folder


def test_host_build_matches_reference(generated):
    graph, code, folder = generated
    net = HostNetwork(compile_host(code, folder), code, graph)
    samples = random_inputs(graph, 4, seed=1)
    ours = np.stack([net.run(x) for x in samples])
    ref = np.stack([reference.run(graph, [x[None]])[0] for x in samples])
    if ours.dtype == np.int8:
        np.testing.assert_array_equal(ours, ref)
    else:
        assert compare(ours, ref).l2r < 1e-6


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")
def test_arm_build_is_warning_free_and_needs_no_libc(generated):
    """-Werror with the firmware flags, and no undefined symbol beyond memcpy/memset."""
    _, code, folder = generated
    out = folder / "arm"
    out.mkdir(exist_ok=True)
    for src in code.sources:
        r = subprocess.run([*ARM, str(src), "-o", str(out / (src.stem + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0 and r.stderr == "", r.stderr
    undefined, defined = set(), set()
    for o in out.glob("*.o"):
        u = subprocess.run(["arm-none-eabi-nm", "-u", str(o)], capture_output=True, text=True).stdout
        d = subprocess.run(["arm-none-eabi-nm", "--defined-only", str(o)], capture_output=True, text=True).stdout
        undefined |= {line.split()[-1] for line in u.splitlines() if line.strip()}
        defined |= {line.split()[-1] for line in d.splitlines() if line.strip()}
    assert undefined - defined <= {"memcpy", "memset"}


def test_sanitizers_report_nothing(generated):
    _, code, folder = generated
    main = folder / "main.c"
    main.write_text(HARNESS)
    exe = folder / "san"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-g",
                        "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", str(code.folder),
                        str(main), *map(str, code.sources), "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr


@pytest.mark.parametrize("name", ["mnist_cnn.h5", "mnist_cnn_f32.tflite"])
def test_study_digit_is_a_two_in_generated_c(name, tmp_path):
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"{SHARED_MODELS} not present")
    graph = tinyscope.load(shared_model(name))
    code = generate(graph, tmp_path / "c")
    net = HostNetwork(compile_host(code, tmp_path), code, graph)
    digit = load_inputs(graph, shared_model("mnist_digit2.csv"))
    assert int(net.run(digit[0]).argmax()) == 2


def test_sizes_agree_with_the_compiled_code(generated):
    """The figures analyze prints are what the compiler lays out: the arena section is exactly the
    planned size, the weights section holds at least the model's constants, and the arena is no
    smaller than the largest tensor a kernel call writes (from shapes, not from the arena planner)."""
    from elftools.elf.elffile import ELFFile

    graph, code, folder = generated
    figures = tinyscope.analyze(graph)
    sizes = {}
    for src in ("network.c", "network_weights.c"):
        obj = folder / (src + ".o")
        subprocess.run(["gcc", "-std=c99", "-c", "-I", str(code.folder), str(code.folder / src), "-o", str(obj)],
                       check=True)
        with obj.open("rb") as f:
            sizes.update({sec.name: sec["sh_size"] for sec in ELFFile(f).iter_sections()})
    assert sizes[".tinyscope.activations"] == max(figures.activations_bytes, 8)
    consts = sum(t.nbytes for t in graph.tensors.values() if t.data is not None)
    assert sizes[".tinyscope.weights"] >= figures.weights_bytes >= consts * 0.5
    header = (code.folder / "network.h").read_text()
    assert f"#define network_ACTIVATIONS_SIZE {figures.activations_bytes} " in header
    assert f"#define network_MACC {figures.macc}" in header
    io = {*graph.inputs, *graph.outputs}
    from tinyscope.plan.schedule import schedule

    produced = [s.output for s in schedule(graph) if s.output not in io]  # fused pre-pool tensors never exist
    biggest = max((graph.tensors[t].nbytes for t in produced), default=0)
    assert figures.activations_bytes >= biggest
