"""Issue 8, section 2: every bad model is one line and exit status 2, never a traceback.

One test per case the issue names (and the garbage it says was accepted), each checking the error
class, a word of the message, and, through ``tinyscope.cli.main`` (the function the command runs),
that the user sees one line and exit status 2. Models are built here: TFLite with the fuzz tier's
flatbuffer writer, ONNX with onnx.helper, Keras by editing the fixtures in tests/data/keras.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinyscope
from tests.fuzz import tflite_spec
from tests.json_docs import check_analyze
from tinyscope.cli import main as cli_main
from tinyscope.errors import ModelError, ShapeError, TinyscopeError, UnsupportedError
from tinyscope.frontend import MalformedModelError

KERAS = Path(__file__).resolve().parent.parent / "data" / "keras"


def one_line(*argv: str, code: int = 2) -> str:
    """Run the CLI in this process; it must exit ``code`` with one line on stderr. Returns the line."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        got = cli_main(list(argv))
    lines = err.getvalue().strip().splitlines()
    assert got == code, (got, err.getvalue())
    if code == 2:
        assert len(lines) == 1 and "Traceback" not in err.getvalue(), err.getvalue()
    return lines[0] if lines else ""


def rejected(path: Path, cls: type[TinyscopeError], word: str, verbs=("analyze",)) -> str:
    """``path`` fails to load with ``cls`` naming the file, and each verb prints one line, exit 2."""
    with pytest.raises(cls) as e:
        tinyscope.load(path)
    msg = str(e.value)
    assert word in msg, msg
    assert str(path) in msg and "\n" not in msg, msg
    for verb in verbs:
        extra = ["-o", str(path.parent / f"out-{verb}")] if verb == "generate" else []
        line = one_line(verb, str(path), *extra)
        assert line.startswith(f"tinyscope {verb}: error: ") and word in line, line
        assert not (path.parent / f"out-{verb}").exists()
    return msg


# ---------------------------------------------------------------- builders

def onnx_model(nodes, inits=None, in_shape=(1, 2, 6, 6), out_shape=(1, 4, 6, 6), outputs=("y",)):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, list(out_shape)) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def conv_onnx(**attrs):
    w = np.random.default_rng(0).standard_normal((4, 2, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1], **attrs)
    return onnx_model([node], {"w": w, "b": np.zeros(4, np.float32)})


def save_onnx(tmp_path: Path, m, name="m.onnx") -> Path:
    p = tmp_path / name
    p.write_bytes(m if isinstance(m, bytes) else m.SerializeToString())
    return p


def keras_h5(tmp_path: Path, edit=None, weights_edit=None, fixture="seq_fixture", raw=None) -> Path:
    """A copy of a Keras fixture (.h5) with its config edited (a function of the dict) or replaced."""
    p = tmp_path / f"{fixture}_edited.h5"
    shutil.copy(KERAS / f"{fixture}.h5", p)
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        if edit is not None:
            edit(cfg)
        f.attrs["model_config"] = raw if raw is not None else json.dumps(cfg)
        if weights_edit is not None:
            weights_edit(f)
    return p


def keras_zip(tmp_path: Path, edit=None, fixture="seq_fixture", raw: bytes | None = None) -> Path:
    p = tmp_path / f"{fixture}_edited.keras"
    with zipfile.ZipFile(KERAS / f"{fixture}.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(members["config.json"])
    if edit is not None:
        edit(cfg)
    members["config.json"] = raw if raw is not None else json.dumps(cfg).encode()
    with zipfile.ZipFile(p, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return p


def layers(cfg: dict) -> list[dict]:
    return cfg["config"]["layers"]


def layer(cfg: dict, cls: str) -> dict:
    return next(lay for lay in layers(cfg) if lay["class_name"] == cls)


def tflite_file(tmp_path: Path, edit=None, spec=None, name="m.tflite") -> Path:
    s = copy.deepcopy(spec or tflite_spec.tiny_int8())
    if edit is not None:
        r = edit(s)
        s = s if r is None else r
    p = tmp_path / name
    p.write_bytes(s if isinstance(s, bytes) else tflite_spec.write(s))
    return p


def tensor(spec: dict, name: str) -> dict:
    return next(t for t in spec["tensors"] if t["name"] == name.encode())


# ---------------------------------------------------------------- the seeds are fine

def test_builders_make_valid_models(tmp_path):
    for p in (tflite_file(tmp_path), tflite_file(tmp_path, spec=tflite_spec.tiny_float(), name="f.tflite"),
              save_onnx(tmp_path, conv_onnx()), keras_h5(tmp_path), keras_zip(tmp_path)):
        assert tinyscope.load(p).ops, p
        one_line("analyze", str(p), "--quiet", code=0)


# ---------------------------------------------------------------- stride 0 (ZeroDivisionError today)

def test_onnx_stride_0(tmp_path):
    rejected(save_onnx(tmp_path, conv_onnx(strides=[0, 1])), ModelError, "strides=[0, 1]")
    m = onnx_model([helper.make_node("MaxPool", ["x"], ["y"], name="p", kernel_shape=[2, 2], strides=[2, 0])],
                   out_shape=(1, 2, 3, 3))
    rejected(save_onnx(tmp_path, m, "pool.onnx"), ModelError, "strides=[2, 0]")


def test_keras_stride_0(tmp_path):
    rejected(keras_h5(tmp_path, lambda c: layer(c, "Conv2D")["config"].update(strides=[0, 0])), ModelError,
             "strides=[0, 0]")
    rejected(keras_zip(tmp_path, lambda c: layer(c, "MaxPooling2D")["config"].update(strides=0)), ModelError,
             "strides=0")


def test_tflite_stride_0(tmp_path):
    def edit(s):
        s["ops"][0]["options"]["StrideH"] = 0
    rejected(tflite_file(tmp_path, edit), ShapeError, "stride")


# ---------------------------------------------------------------- ONNX initializers

@pytest.mark.parametrize("what, edit, cls, word", [
    ("dims do not match the data", lambda t: t.dims.__setitem__(0, 5), ModelError, "need"),
    ("dtype 99", lambda t: setattr(t, "data_type", 99), UnsupportedError, "element type 99"),
    ("short raw data", lambda t: setattr(t, "raw_data", t.raw_data[:10]), ModelError, "holds 10 bytes"),
    ("negative dims", lambda t: t.dims.__setitem__(0, -4), ShapeError, "negative dimensions"),
    ("external data", lambda t: (t.ClearField("raw_data"), setattr(t, "data_location", 1),
                                 t.external_data.add(key="location", value="../../etc/passwd")),
     UnsupportedError, "another file"),
])
def test_onnx_bad_initializers(tmp_path, what, edit, cls, word):
    m = conv_onnx()
    edit(next(t for t in m.graph.initializer if t.name == "w"))
    rejected(save_onnx(tmp_path, m), cls, word)


def test_onnx_names_that_are_not_utf8(tmp_path):
    m = conv_onnx()
    m.graph.node[0].output[0] = "QQQQ"
    m.graph.output[0].name = "QQQQ"
    data = m.SerializeToString().replace(b"QQQQ", b"\xff\xfe\xc3(")
    rejected(save_onnx(tmp_path, data), ModelError, "not valid UTF-8")


def test_tflite_names_that_are_not_utf8_are_replaced_and_reach_json_cleanly(tmp_path):
    def edit(s):
        for t in s["tensors"]:
            t["name"] = b"\xff\xfe" + t["name"]
    p = tflite_file(tmp_path, edit)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        assert cli_main(["analyze", str(p), "--json"]) == 0
    doc = json.loads(out.getvalue())
    assert "\ufffd" in json.dumps(doc, ensure_ascii=False)
    check_analyze(doc)  # still the documented JSON (docs/analyze-json.md)
    assert all(t["name"].startswith("\ufffd\ufffd") for t in doc["inputs"] + doc["outputs"])
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # no lone surrogates left to break a UTF-8 writer


# ---------------------------------------------------------------- Keras configs and files

def test_keras_config_not_json(tmp_path):
    rejected(keras_h5(tmp_path, raw="{'class_name': Sequential"), ModelError, "not JSON")
    rejected(keras_zip(tmp_path, raw=b"\x00\x01 not json"), ModelError, "not JSON")


def test_keras_config_nested_10000_deep(tmp_path):
    rejected(keras_h5(tmp_path, raw="[" * 10000 + "]" * 10000), ModelError, "nests too deeply")
    deep = {"class_name": "Sequential", "config": {"layers": json.loads("[" * 300 + "]" * 300)}}
    rejected(keras_zip(tmp_path, raw=json.dumps(deep).encode()), ModelError, "more than 100 levels")


def test_keras_config_not_utf8(tmp_path):
    rejected(keras_zip(tmp_path, raw=json.dumps({"class_name": "Sequential"}).encode()[:-1] + b'\xff"}'),
             ModelError, "not UTF-8 text")
    rejected(keras_h5(tmp_path, raw=np.void(b'{"class_name": "Sequential\xff"}')), ModelError, "not JSON text")


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "weights group missing", "layer_names not UTF-8"])
def test_damaged_hdf5(tmp_path, damage):
    src = (KERAS / "func_fixture.h5").read_bytes()
    p = tmp_path / "damaged.h5"
    if damage == "truncated":
        p.write_bytes(src[: len(src) * 2 // 3])
    elif damage == "zeroed":
        p.write_bytes(src[:2048] + bytes(4096) + src[6144:])
    else:
        p.write_bytes(src)
        with h5py.File(p, "r+") as f:
            names = list(f["model_weights"].attrs["layer_names"])
            if damage == "weights group missing":
                del f["model_weights/stem"]
            else:
                f["model_weights"].attrs["layer_names"] = [b"\xff\xfeoops"] + [
                    n if isinstance(n, bytes) else n.encode() for n in names[1:]]
    with pytest.raises(ModelError) as e:
        tinyscope.load(p)
    assert not isinstance(e.value, MalformedModelError), e.value  # a real check, not the safety net
    one_line("analyze", str(p))


def test_int_x_in_batch_input_shape(tmp_path):
    def edit(c):
        layers(c)[0]["config"]["batch_shape"] = [None, "x", 10, 2]
    rejected(keras_h5(tmp_path, edit), ModelError, "'x'")


def test_weight_shape_does_not_match_config(tmp_path):
    def weights(f):
        d = f["model_weights/conv2d/seq_fixture/conv2d/kernel"]
        data = d[()]
        del f["model_weights/conv2d/seq_fixture/conv2d/kernel"]
        f["model_weights/conv2d/seq_fixture/conv2d"].create_dataset("kernel", data=data.reshape(-1))
    rejected(keras_h5(tmp_path, weights_edit=weights), ShapeError, "weight 0 has shape (108,)")


def test_keras_config_contradicting_its_weights(tmp_path):
    rejected(keras_h5(tmp_path, lambda c: layer(c, "Conv2D")["config"].update(filters=5)), ShapeError,
             "the config says (3, 3, '?', 5)")
    rejected(keras_zip(tmp_path, lambda c: layer(c, "Dense")["config"].update(use_bias=False)), ModelError,
             "has 2 weight arrays, its config needs 1")
    rejected(keras_zip(tmp_path, lambda c: layer(c, "DepthwiseConv2D")["config"].update(kernel_size=[5, 5])),
             ShapeError, "the config says (5, 5")


def test_layer_config_null(tmp_path):
    rejected(keras_h5(tmp_path, lambda c: layers(c)[2].update(config=None)), ModelError, "layer_config is null")


def test_unknown_output_layer_name(tmp_path):
    def edit(c):
        c["config"]["output_layers"] = [["no_such_layer", 0, 0]]
    rejected(keras_zip(tmp_path, edit, fixture="func_fixture"), ModelError, "'no_such_layer' is not a layer")


def test_rank_2_input_to_a_conv(tmp_path):
    rejected(keras_h5(tmp_path, lambda c: layers(c)[0]["config"].update(batch_shape=[None, 20])), ShapeError,
             "needs a 4-D")
    m = conv_onnx()
    m.graph.input[0].type.tensor_type.shape.ClearField("dim")
    for d in (1, 20):
        m.graph.input[0].type.tensor_type.shape.dim.add(dim_value=d)
    rejected(save_onnx(tmp_path, m), ShapeError, "needs a 4-D")


def test_bit_flipped_keras_archive(tmp_path):
    """A flipped bit in a member makes zipfile raise BadZipFile (bad CRC) on read."""
    src = bytearray((KERAS / "seq_fixture.keras").read_bytes())
    with zipfile.ZipFile(KERAS / "seq_fixture.keras") as z:
        info = z.getinfo("config.json")
    src[info.header_offset + 30 + len(info.filename) + 40] ^= 0x10  # inside config.json's compressed data
    p = tmp_path / "flipped.keras"
    p.write_bytes(bytes(src))
    rejected(p, ModelError, "damaged Keras archive")


def test_keras_model_with_0_layers(tmp_path):
    rejected(keras_h5(tmp_path, lambda c: c["config"].update(layers=[])), ModelError, "no layers")
    rejected(keras_zip(tmp_path, lambda c: c["config"].update(layers=layers(c)[:1])), ShapeError,
             "never computed by a layer")  # only the InputLayer


# ---------------------------------------------------------------- TFLite: accepted, then crashed generate/validate

def test_int32_bias_retyped_as_float32(tmp_path):
    def edit(s):
        tensor(s, "pw/b")["type"] = 0  # FLOAT32: the same 16 bytes now read as floats
    rejected(tflite_file(tmp_path, edit), ShapeError, "int8 op with int8 weights and float32 bias",
             verbs=("analyze", "generate", "validate"))


@pytest.mark.parametrize("value, word", [(float("nan"), "nan"), (0.0, "0.0"), (-0.25, "-0.25"),
                                         (float("inf"), "inf")])
def test_bad_quantization_scale(tmp_path, value, word):
    def edit(s):
        tensor(s, "pw")["quant"]["scale"] = [value]
    msg = rejected(tflite_file(tmp_path, edit), ShapeError, "is not a finite number > 0",
                   verbs=("analyze", "generate", "validate"))
    assert word in msg


def test_nan_per_channel_weight_scale(tmp_path):
    def edit(s):
        tensor(s, "dw/w")["quant"]["scale"][1] = float("nan")
    rejected(tflite_file(tmp_path, edit), ShapeError, "scale nan", verbs=("generate",))


def test_onnx_attribute_without_a_type(tmp_path):
    m = conv_onnx()
    a = m.graph.node[0].attribute.add()
    a.name, a.type = "mystery", 0
    rejected(save_onnx(tmp_path, m), ModelError, "has no type")


# ---------------------------------------------------------------- garbage accepted until now

def test_onnx_without_graph_outputs(tmp_path):
    m = conv_onnx()
    del m.graph.output[:]
    rejected(save_onnx(tmp_path, m), ModelError, "no outputs")


def test_onnx_two_nodes_writing_one_value(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="a"), helper.make_node("Relu", ["x"], ["y"], name="b")]
    rejected(save_onnx(tmp_path, onnx_model(nodes, out_shape=(1, 2, 6, 6))), ModelError, "defined twice")


def test_onnx_auto_pad_evil(tmp_path):
    rejected(save_onnx(tmp_path, conv_onnx(auto_pad="EVIL")), ModelError, "auto_pad='EVIL'")


def test_onnx_cycles_and_dangling_inputs(tmp_path):
    nodes = [helper.make_node("Relu", ["z"], ["a"], name="first"), helper.make_node("Relu", ["a"], ["z"], name="loop"),
             helper.make_node("Relu", ["z"], ["y"], name="out")]
    rejected(save_onnx(tmp_path, onnx_model(nodes, out_shape=(1, 2, 6, 6))), ModelError, "cycle")
    nodes = [helper.make_node("Relu", ["ghost"], ["y"], name="r")]
    rejected(save_onnx(tmp_path, onnx_model(nodes, out_shape=(1, 2, 6, 6)), "d.onnx"), ModelError,
             "nothing computes it")


def test_onnx_huge_input(tmp_path):
    m = conv_onnx()
    for d, v in zip(m.graph.input[0].type.tensor_type.shape.dim, (1, 1000, 100000, 100000)):
        d.dim_value = v
    rejected(save_onnx(tmp_path, m), ShapeError, "no Cortex-M7 can hold")


def test_tflite_without_outputs(tmp_path):
    rejected(tflite_file(tmp_path, lambda s: s.update(outputs=[])), ShapeError, "no output")


def test_tflite_string_length_past_the_end(tmp_path):
    def edit(s):
        buf = bytearray(tflite_spec.write(s))
        pos = bytes(buf).find((4).to_bytes(4, "little") + b"dw/w")
        buf[pos:pos + 4] = (10**6).to_bytes(4, "little")
        return bytes(buf)
    rejected(tflite_file(tmp_path, edit), ModelError, "past the end of the file")


def test_tflite_huge_dims_and_out_of_range_indices(tmp_path):
    rejected(tflite_file(tmp_path, lambda s: tensor(s, "input").update(shape=[1, 100000, 100000, 1000])),
             ShapeError, "no Cortex-M7 can hold")

    def edit(s):
        s["ops"][1]["inputs"][0] = 4242
    rejected(tflite_file(tmp_path, edit, name="idx.tflite"), ModelError, "refers to tensor 4242")


def test_tflite_cycle_and_duplicate_writers(tmp_path):
    def cycle(s):
        s["ops"][1]["inputs"][0] = s["ops"][2]["outputs"][0]
    rejected(tflite_file(tmp_path, cycle), ShapeError, "used before it is computed")

    def writers(s):
        s["ops"][1]["outputs"][0] = s["ops"][0]["outputs"][0]
    rejected(tflite_file(tmp_path, writers, name="w.tflite"), ShapeError, "")


def test_pool_padding_wider_than_its_window(tmp_path):
    m = onnx_model([helper.make_node("AveragePool", ["x"], ["y"], name="p", kernel_shape=[2, 2], pads=[2, 2, 2, 2])],
                   out_shape=(1, 2, 9, 9))
    rejected(save_onnx(tmp_path, m), ShapeError, "not smaller than its window")


# ---------------------------------------------------------------- the HDF5 library in a child process

def _zeroed_global_heap(tmp_path: Path) -> Path:
    """func_fixture.h5 with 4 KB zeroed where the global heap holds model_config: libhdf5 loops forever."""
    src = (KERAS / "func_fixture.h5").read_bytes()
    p = tmp_path / "heap.h5"
    p.write_bytes(src[:6003] + bytes(4096) + src[6003 + 4096:])
    return p


@pytest.mark.parametrize("threads", [1, 2], ids=["forked", "spawned"])
def test_hdf5_library_hang_is_one_line(tmp_path, monkeypatch, threads):
    from tinyscope.frontend import isolate

    monkeypatch.setattr(isolate, "time_limit", lambda path: 1.5)
    monkeypatch.setattr(isolate.threading, "active_count", lambda: threads)
    rejected(_zeroed_global_heap(tmp_path), ModelError, "HDF5 library loop forever")
    assert tinyscope.load(KERAS / "seq_fixture.keras").ops  # and a sound file still reads the same way


def test_hdf5_library_crash_is_one_line(tmp_path, monkeypatch):
    import ctypes

    from tinyscope.frontend import isolate, keras

    monkeypatch.setattr(keras, "_read_h5", lambda path: ctypes.string_at(0))  # runs in the forked child
    # the patch reaches only a forked child: take the fork path even if another test left a thread running
    monkeypatch.setattr(isolate.threading, "active_count", lambda: 1)
    rejected(keras_h5(tmp_path), ModelError, "died by signal SIGSEGV")


# ---------------------------------------------------------------- the safety net

def test_unforeseen_importer_failures_become_one_line(tmp_path, monkeypatch):
    from tinyscope.frontend import onnx as onnx_importer

    def broken(path):
        raise IndexError("list index out of range\nsecond line")
    monkeypatch.setattr(onnx_importer, "load", broken)
    p = save_onnx(tmp_path, conv_onnx())
    with pytest.raises(MalformedModelError, match=r"malformed model file \(IndexError: list index out of range"):
        tinyscope.load(p)
    assert "second line" in one_line("analyze", str(p))  # joined into the one line
