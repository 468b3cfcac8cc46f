"""Names from a model are data: whatever a model calls its layers, tensors or itself, the generated C
compiles under the strictest flags and its tokens, outside comments and string literals, are exactly
those of the same model with plain names. Checked by property (hypothesis) on the IR and through
every importer, the model file name and ``--name``.
"""

from __future__ import annotations

import json
import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from tests.conftest import shared_model
from tinyscope import reference
from tinyscope.codegen import generate
from tinyscope.codegen.cnames import comment, identifier, string_literal
from tinyscope.codegen.render import render
from tinyscope.firmware.host import HostNetwork, compile_host
from tinyscope.frontend import load
from tinyscope.ir import RELU, ConvAttrs, FullyConnectedAttrs, OpType, PoolAttrs, ReshapeAttrs
from tinyscope.ir.builder import GraphBuilder

pytestmark = pytest.mark.hostc

EXPLOIT = '*\\ __attribute__((constructor))void p(){system(">PWN");}\\*'
HOSTILE = [EXPLOIT, "*/ int evil(void) { return 1; } /*", 'say "hi"\\', "line\nbreak\r\n#include <stdio.h>",
           "??/", "x??/\n", "int", "ünïcödé ✓", "a" * 5000, "", "main", "\0nul", "\\", "*", "/", "?"]
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-trigraphs"]
NAMES = st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE),
                  st.lists(st.sampled_from(["*", "/", "\\", "?", "??/", '"', "'", "\n", "#", "\0", "é", "a"]),
                           max_size=30).map("".join))


def tokens(folder: Path) -> list[str]:
    """The C tokens the compiler sees (trigraphs on), with string and character literals emptied."""
    out = []
    for src in sorted(folder.glob("*.c")):
        r = subprocess.run(["gcc", *STRICT, "-E", "-P", "-I", str(folder), str(src)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', r.stdout)
        text = re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", text)
        out += [src.name, *text.split()]
    return out


def compile_strict(folder: Path) -> None:
    for src in sorted(folder.glob("*.c")):
        r = subprocess.run(["gcc", *STRICT, "-fsyntax-only", "-I", str(folder), str(src)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def check_same_code(hostile: Path, plain: Path) -> None:
    compile_strict(hostile)
    assert tokens(hostile) == tokens(plain)
    for f in hostile.iterdir():
        assert f.read_bytes().isascii(), f.name


def graph_with(names: list[str], source: str):
    rng = np.random.default_rng(0)
    b = GraphBuilder(names[0], source=source, source_format="zoo")
    x = b.input(names[1], (1, 6, 6, 2))
    w = b.const(names[2], rng.standard_normal((4, 3, 3, 2)).astype(np.float32))
    bias = b.const(names[3], rng.standard_normal(4).astype(np.float32))
    y = b.op(OpType.CONV_2D, names[4], [x, w, bias], ConvAttrs(act=RELU))
    y = b.op(OpType.MAX_POOL_2D, names[5], [y], PoolAttrs())
    y = b.op(OpType.RESHAPE, names[6], [y], ReshapeAttrs((1, 16)))
    w2 = b.const(names[7], rng.standard_normal((3, 16)).astype(np.float32))
    b2 = b.const(names[8], rng.standard_normal(3).astype(np.float32))
    y = b.op(OpType.FULLY_CONNECTED, names[9], [y, w2, b2], FullyConnectedAttrs())
    return b.finish([y])


def _write(files: dict[str, str], folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for k, v in files.items():
        (folder / k).write_text(v)
    from tinyscope.codegen import KERNEL_HEADER, kernel_source
    (folder / KERNEL_HEADER).write_text(kernel_source(KERNEL_HEADER))
    return folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=11, max_size=11))
def test_any_names_give_the_same_code_as_plain_names(names, tmp_path):
    plain = render(graph_with([f"n{i}" for i in range(10)], "plain.tflite"), "network")
    hostile = render(graph_with(names[:10], names[10]), "network")
    a, b = _write(hostile.files, tmp_path / "hostile"), _write(plain.files, tmp_path / "plain")
    kernels = {k: k for k in hostile.kernel_files}
    for k in kernels:
        from tinyscope.codegen import kernel_source
        (a / k).write_text(kernel_source(k))
        (b / k).write_text(kernel_source(k))
    check_same_code(a, b)


def test_hostile_names_compile_and_run(tmp_path):
    g = graph_with(HOSTILE[:10], "*/ evil path\n")
    code = generate(g, tmp_path / "c")
    net = HostNetwork(compile_host(code, tmp_path), code, g)
    x = np.random.default_rng(1).random((1, 6, 6, 2), dtype=np.float32)
    np.testing.assert_allclose(net.run(x), reference.run(g, [x])[0], rtol=1e-5, atol=1e-6)


def test_layer_names_survive_as_data(tmp_path):
    """The name table holds the model's names byte for byte, whatever they are."""
    g = graph_with(HOSTILE[:10], "m")
    code = generate(g, tmp_path / "c")
    main = tmp_path / "names.c"
    main.write_text('#include <stdio.h>\n#include "network.h"\nint main(void) { int i;\n'
                    "for (i = 0; i < network_LAYER_COUNT; i++) { fputs(network_layer_name(i), stdout);"
                    " putchar(0); }\nreturn 0; }\n")
    exe = tmp_path / "names"
    subprocess.run(["gcc", *STRICT, "-I", str(code.folder), str(main), *map(str, code.sources), "-o", str(exe)],
                   check=True)
    got = subprocess.run([str(exe)], capture_output=True, check=True).stdout.split(b"\0")[:-1]
    from tinyscope.plan.schedule import schedule
    want = [s.name.encode()[:117] + (b"..." if len(s.name.encode()) > 120 else s.name.encode()[117:])
            for s in schedule(g)]
    assert got == [w.split(b"\0")[0] for w in want]


def test_escaping_functions_are_allowlists():
    for name in HOSTILE:
        c = comment(name)
        assert set(c) <= set(string.ascii_letters + string.digits + " _-.,:;=+()[]<>{}#@%&|^~!$'\"")
        lit = string_literal(name)
        assert re.fullmatch(r'"(?:[A-Za-z0-9 _.\-]|\\[0-7]{3})*"', lit), lit
    assert string_literal("??/") == '"\\077\\077\\057"'
    assert identifier("net", "c", 7) == "net_c7"


# ---------------------------------------------------------------- through every importer

def onnx_model(names: list[str]) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), names[2])
    b = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), names[3])
    w2 = numpy_helper.from_array(rng.standard_normal((3, 16)).astype(np.float32), names[7])
    b2 = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), names[8])
    nodes = [helper.make_node("Conv", [names[1], names[2], names[3]], [names[10]], names[4], kernel_shape=[3, 3]),
             helper.make_node("Relu", [names[10]], [names[11]], names[5]),
             helper.make_node("MaxPool", [names[11]], [names[12]], names[6], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", [names[12]], [names[13]], names[9]),
             helper.make_node("Gemm", [names[13], names[7], names[8]], [names[14]], names[0], transB=1)]
    graph = helper.make_graph(nodes, names[15], [helper.make_tensor_value_info(names[1], TensorProto.FLOAT,
                                                                               [1, 2, 6, 6])],
                              [helper.make_tensor_value_info(names[14], TensorProto.FLOAT, [1, 3])], [w, b, w2, b2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _onnx_names(pool: list[str]) -> list[str]:
    # ONNX values are keyed by name, so value names must differ (node names need not); NUL cannot
    # pass through protobuf's C++ string checks in onnx's checker, so it is left to the IR test above.
    names, seen = [], set()
    for i in range(16):
        n = pool[i % len(pool)].replace("\0", "") + ("" if i < len(pool) else f"#{i}")
        while n in seen:
            n += "'"
        seen.add(n)
        names.append(n)
    return names


def _generate(model: Path, folder: Path, name: str = "network") -> Path:
    generate(load(model), folder, name)
    return folder


def test_onnx_names_and_file_name(tmp_path):
    hostile = tmp_path / "*\\ #include ??= ??' x \"evil\"\n.onnx"
    onnx.save(onnx_model(_onnx_names(HOSTILE)), hostile)
    plain = tmp_path / "plain.onnx"
    onnx.save(onnx_model([f"v{i}" for i in range(16)]), plain)
    check_same_code(_generate(hostile, tmp_path / "h"), _generate(plain, tmp_path / "p"))


def _renamed_h5(src: Path, dst: Path, names: list[str]) -> None:
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        layers = cfg["config"]["layers"]
        mapping = {lay["config"]["name"]: names[i % len(names)] + f"_{i}" for i, lay in enumerate(layers)}
        for lay in layers:
            lay["config"]["name"] = mapping[lay["config"]["name"]]
        f.attrs["model_config"] = json.dumps(cfg)
        mw = f["model_weights"]
        old = [n.decode() if isinstance(n, bytes) else str(n) for n in mw.attrs["layer_names"]]
        for n in old:
            if n in mw:
                mw.move(n, mapping.get(n, n))
        mw.attrs["layer_names"] = np.array([mapping.get(n, n).encode() for n in old], dtype=object)


def test_keras_layer_names_and_file_name(tmp_path):
    src = Path(__file__).resolve().parent.parent / "data" / "keras" / "seq_fixture.h5"
    # HDF5 paths cannot hold '/' or NUL and Keras refuses them in layer names; everything else goes.
    pool = [h.replace("/", "|").replace("\0", "") for h in HOSTILE if h.replace("/", "").replace("\0", "")]
    hostile = tmp_path / "*\\ ??- \"k\".h5"
    _renamed_h5(src, hostile, pool)
    plain = tmp_path / "plain.h5"
    _renamed_h5(src, plain, ["layer"])
    check_same_code(_generate(hostile, tmp_path / "h"), _generate(plain, tmp_path / "p"))


def _patched_tflite(src: bytes, fill: bytes) -> bytes:
    """Every tensor name of a .tflite overwritten in place (same length) with hostile bytes."""
    import tflite

    data = bytearray(src)
    model = tflite.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        o = t._tab.Offset(6)  # the name field of Tensor (schema: shape, type, buffer, name)
        if not o:
            continue
        start = t._tab.Indirect(o + t._tab.Pos)
        n = int.from_bytes(data[start:start + 4], "little")
        data[start + 4:start + 4 + n] = (fill * (n // len(fill) + 1))[:n]
    return bytes(data)


@pytest.mark.parametrize("fill", [EXPLOIT.encode(), b"??/\n#include\"x\\", "é✓".encode()])
def test_tflite_tensor_names_and_file_name(tmp_path, fill):
    src = shared_model("kws_dscnn_int8.tflite").read_bytes()
    hostile = tmp_path / "*\\ ??\u2028 \"t\".tflite"
    hostile.write_bytes(_patched_tflite(src, fill))
    plain = tmp_path / "plain.tflite"
    plain.write_bytes(_patched_tflite(src, b"t"))
    check_same_code(_generate(hostile, tmp_path / "h"), _generate(plain, tmp_path / "p"))


def test_validate_of_the_exploit_runs_no_model_code(tmp_path):
    """The reported attack: a node name that closes the comment and adds a constructor."""
    model = tmp_path / "m.onnx"
    onnx.save(onnx_model(_onnx_names([EXPLOIT, EXPLOIT.replace(">PWN", ">PWN2")])), model)
    r = subprocess.run([sys.executable, "-m", "tinyscope", "validate", str(model), "-n", "2"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (tmp_path / "PWN").exists() and not (tmp_path / "PWN2").exists()


@pytest.mark.parametrize("bad", ["1abc", "a b", "x;y", "int", "é", "a" * 41, "__x", EXPLOIT])
def test_bad_name_option_is_one_line(tmp_path, bad):
    r = subprocess.run([sys.executable, "-m", "tinyscope", "generate", "zoo:tiny-dscnn", "-o",
                        str(tmp_path / "out"), "--name", bad], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "out").exists()


def test_a_crash_of_the_compiled_network_is_a_clear_error(tmp_path):
    """validate runs the network in a child process: its crash is an error message, not ours."""
    import signal

    from tinyscope.errors import ValidationError

    g = graph_with([f"n{i}" for i in range(10)], "m")
    code = generate(g, tmp_path / "c")
    crash = tmp_path / "crash.c"
    crash.write_text("#include <signal.h>\nint main(void) { raise(SIGSEGV); return 0; }\n")
    exe = tmp_path / "crash"
    subprocess.run(["gcc", str(crash), "-o", str(exe)], check=True)
    with pytest.raises(ValidationError, match=signal.Signals.SIGSEGV.name):
        HostNetwork(exe, code, g).run(np.zeros((1, 6, 6, 2), np.float32))
