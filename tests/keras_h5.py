"""Write a Keras-2 style HDF5 model by hand (no Keras needed): a config and each layer's weights."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np


def write_keras2_h5(path: Path, config: dict, weights: dict[str, list[tuple[str, np.ndarray]]]) -> Path:
    """``weights``: per layer name, in the file's order, its (weight name, array) pairs (``kernel:0``, ...)."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [n.encode() for n in weights]
        for lname, ws in weights.items():
            lg = g.create_group(lname)
            lg.attrs["weight_names"] = [f"{lname}/{w}".encode() for w, _ in ws]
            for w, data in ws:
                lg.create_dataset(f"{lname}/{w}", data=data)
    return path
