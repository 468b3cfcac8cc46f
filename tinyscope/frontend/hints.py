"""What to use instead: for a layer or operator an importer cannot take, the supported one that does the
same job, where one exists. Each importer's list of unsupported layers appends the hint to the name;
a name missing here has no replacement (an LSTM, an up-sampling, a transposed conv)."""

from __future__ import annotations

KERAS = {
    "Conv1D": "Conv2D with a (1, k) kernel on a Reshape to (1, steps, channels)",
    "DepthwiseConv1D": "DepthwiseConv2D with a (1, k) kernel on a Reshape to (1, steps, channels)",
    "SeparableConv1D": "SeparableConv2D with a (1, k) kernel on a Reshape to (1, steps, channels)",
    "MaxPooling1D": "MaxPooling2D with pool_size (1, k)",
    "AveragePooling1D": "AveragePooling2D with pool_size (1, k)",
    "GlobalAveragePooling1D": "GlobalAveragePooling2D on a Reshape to (1, steps, channels)",
    "GlobalMaxPooling1D": "GlobalMaxPooling2D on a Reshape to (1, steps, channels)",
    "ZeroPadding1D": "ZeroPadding2D with ((0, 0), (left, right))",
    "ReLU6": "ReLU with max_value=6",
    "Rescaling": "scale the input before inference (or fold it into the first layer's weights)",
}

ONNX = {
    "Pad": "the pads attribute of the Conv or pooling node that reads it",
    "Transpose": "export without layout transposes: tinyscope reads NCHW and lays tensors out itself",
    "Squeeze": "Reshape or Flatten (onnxslim folds them when the shape is constant)",
    "Unsqueeze": "Reshape or Flatten (onnxslim folds them when the shape is constant)",
    "Mul": "a scale folded into the Conv or Gemm before it (a BatchNormalization there is folded on import)",
    "Div": "a scale folded into the Conv or Gemm before it (a BatchNormalization there is folded on import)",
    "Sub": "an offset folded into the bias of the Conv or Gemm before it",
    "AveragePool1d": "AveragePool",
}

TFLITE = {
    "MEAN": "AVERAGE_POOL_2D with a window of the whole height and width",
    "PADV2": "PAD (zero padding)",
    "SQUEEZE": "RESHAPE",
    "EXPAND_DIMS": "RESHAPE",
    "RELU": "the fused activation of the operator before it",
    "RELU6": "the fused activation of the operator before it",
}


def hint(table: dict[str, str], name: str) -> str:
    """``, instead: ...`` for the layer or operator ``name``, or nothing when nothing replaces it."""
    return f", instead: {table[name]}" if name in table else ""
