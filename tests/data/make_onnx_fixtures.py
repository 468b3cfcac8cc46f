"""Regenerate the small ONNX fixtures in tests/data/onnx/ (run by hand, never by the tests).

    python3 -m venv /tmp/tenv && /tmp/tenv/bin/pip install torch onnx onnxscript numpy
    /tmp/tenv/bin/python tests/data/make_onnx_fixtures.py

Each model is exported the way its users export it: PyTorch's ``torch.onnx.export`` with a dynamic
batch (the TorchScript exporter, which writes ``x.view(x.size(0), -1)`` as Shape -> Gather ->
Unsqueeze -> Concat -> Reshape, and the dynamo exporter), and a CNTK-style MNIST written with
onnx.helper in the layout of the ONNX model zoo's mnist-8 (a Reshape of a constant weight, a Conv
without bias followed by an Add of a (C, 1, 1) constant, MatMul + Add). PyTorch's outputs for fixed
inputs are kept in an .npz so tests compare without PyTorch installed. Made with torch 2.13.0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

OUT = Path(__file__).resolve().parent / "onnx"


class Cnn(nn.Module):
    """A PyTorch tutorial CNN: conv/BN/ReLU/pool twice, flatten with view, two Linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.c2 = nn.Conv2d(6, 8, 3)
        self.f1, self.f2 = nn.Linear(8 * 6 * 6, 24), nn.Linear(24, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.b1(self.c1(x))), 2)
        x = torch.max_pool2d(torch.relu(self.c2(x)), 2)
        x = x.view(x.size(0), -1)
        return torch.softmax(self.f2(torch.relu(self.f1(x))), dim=1)


class MlpBn(nn.Module):
    """Linear -> BatchNorm1d -> ReLU -> Linear, as tabular and sensor models are written."""

    def __init__(self) -> None:
        super().__init__()
        self.l1, self.bn, self.l2 = nn.Linear(16, 32), nn.BatchNorm1d(32), nn.Linear(32, 4)

    def forward(self, x):
        return self.l2(torch.relu(self.bn(self.l1(x))))


def _randomize(m: nn.Module, seed: int) -> None:
    """Non-trivial weights and BatchNorm statistics, so folding is really exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(m.named_parameters()) + list(m.named_buffers()):
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) * 1.5 + 0.5)
            elif p.dtype.is_floating_point:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    m.eval()


def _export(m: nn.Module, x: torch.Tensor, name: str, dynamo: bool) -> None:
    path = OUT / f"{name}.onnx"
    kw = {"dynamo": dynamo}
    if dynamo:
        kw["dynamic_shapes"] = ({0: torch.export.Dim("batch", min=1, max=64)},)
    else:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(m, (x,), str(path), input_names=["input"], output_names=["output"], opset_version=17,
                      **kw)
    model = onnx.load(str(path))  # one file: the dynamo exporter may write weights beside it
    onnx.save(model, str(path), save_as_external_data=False)
    for extra in OUT.glob(f"{name}.onnx.data"):
        extra.unlink()
    with torch.no_grad():
        np.savez(OUT / f"{name}_io.npz", x=x.numpy(), y=m(x).numpy())


def cntk_mnist() -> None:
    """mnist-8's layout at a smaller size: 1x1x12x12 input, conv 3x3 (4), pool, conv 3x3 (6), pool, FC 10."""
    rng = np.random.default_rng(8)
    f32 = np.float32
    w1, b1 = (rng.standard_normal((4, 1, 3, 3)) * 0.4).astype(f32), (rng.standard_normal((4, 1, 1)) * 0.1).astype(f32)
    w2, b2 = (rng.standard_normal((6, 4, 3, 3)) * 0.3).astype(f32), (rng.standard_normal((6, 1, 1)) * 0.1).astype(f32)
    fc = (rng.standard_normal((6, 2, 2, 10)) * 0.3).astype(f32)
    fb = (rng.standard_normal((1, 10)) * 0.1).astype(f32)
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (w1, "Parameter5"), (b1, "Parameter6"), (w2, "Parameter87"), (b2, "Parameter88"), (fc, "Parameter193"),
        (np.array([24, 10], np.int64), "Parameter193_reshape1_shape"), (fb, "Parameter194"),
        (np.array([1, 24], np.int64), "Pooling160_Output_0_reshape0_shape")]]
    nodes = [
        helper.make_node("Reshape", ["Parameter193", "Parameter193_reshape1_shape"], ["Parameter193_reshape1"],
                         name="Times212_reshape1"),
        helper.make_node("Conv", ["Input3", "Parameter5"], ["Convolution28_Output_0"], name="Convolution28",
                         kernel_shape=[3, 3], strides=[1, 1], auto_pad="SAME_UPPER"),
        helper.make_node("Add", ["Convolution28_Output_0", "Parameter6"], ["Plus30_Output_0"], name="Plus30"),
        helper.make_node("Relu", ["Plus30_Output_0"], ["ReLU32_Output_0"], name="ReLU32"),
        helper.make_node("MaxPool", ["ReLU32_Output_0"], ["Pooling66_Output_0"], name="Pooling66",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["Pooling66_Output_0", "Parameter87"], ["Convolution110_Output_0"],
                         name="Convolution110", kernel_shape=[3, 3], strides=[1, 1], auto_pad="SAME_UPPER"),
        helper.make_node("Add", ["Convolution110_Output_0", "Parameter88"], ["Plus112_Output_0"], name="Plus112"),
        helper.make_node("Relu", ["Plus112_Output_0"], ["ReLU114_Output_0"], name="ReLU114"),
        helper.make_node("MaxPool", ["ReLU114_Output_0"], ["Pooling160_Output_0"], name="Pooling160",
                         kernel_shape=[3, 3], strides=[3, 3]),
        helper.make_node("Reshape", ["Pooling160_Output_0", "Pooling160_Output_0_reshape0_shape"],
                         ["Pooling160_Output_0_reshape0"], name="Times212_reshape0"),
        helper.make_node("MatMul", ["Pooling160_Output_0_reshape0", "Parameter193_reshape1"],
                         ["Times212_Output_0"], name="Times212"),
        helper.make_node("Add", ["Times212_Output_0", "Parameter194"], ["Plus214_Output_0"], name="Plus214"),
    ]
    # IR version 3, as CNTK wrote it: every initializer is also a graph input
    inputs = [helper.make_tensor_value_info("Input3", TensorProto.FLOAT, [1, 1, 12, 12])] + [
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    graph = helper.make_graph(nodes, "CNTKGraph", inputs,
                              [helper.make_tensor_value_info("Plus214_Output_0", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, producer_name="CNTK", opset_imports=[helper.make_opsetid("", 8)])
    model.ir_version = 3
    onnx.checker.check_model(model)
    onnx.save(model, str(OUT / "cntk_mnist.onnx"))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    cnn = Cnn()
    _randomize(cnn, 1)
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    _export(cnn, x, "torch_cnn", dynamo=False)
    _export(cnn, x, "torch_cnn_dynamo", dynamo=True)
    mlp = MlpBn()
    _randomize(mlp, 3)
    _export(mlp, torch.randn(2, 16, generator=torch.Generator().manual_seed(4)), "torch_mlp_bn1d", dynamo=False)
    cntk_mnist()


if __name__ == "__main__":
    main()
