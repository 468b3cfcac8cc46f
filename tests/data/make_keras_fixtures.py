"""Regenerate the small Keras fixtures in tests/data/keras/ (run by hand, never by the tests).

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras jax jaxlib h5py numpy
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tests/data/make_keras_fixtures.py

Each model is saved as a legacy HDF5 file and as a Keras 3 archive, with Keras's own outputs for
fixed inputs in an .npz, so tests compare tinyscope's import and reference executor with Keras
without Keras installed. Fixtures made with Keras 3.15.1 on the JAX backend.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

OUT = Path(__file__).resolve().parent / "keras"


def _randomize(model: keras.Model, seed: int) -> None:
    """Non-trivial weights, including BatchNorm statistics, so folding is really exercised."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 2.0, shape).astype("float32"))
        else:
            w.assign((rng.standard_normal(shape) * 0.3).astype("float32"))


def sequential() -> keras.Model:
    return keras.Sequential([
        keras.Input((12, 10, 2)),
        layers.ZeroPadding2D(((1, 0), (1, 2))),
        layers.Conv2D(6, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        layers.BatchNormalization(),
        layers.ReLU(max_value=6.0),
        layers.SeparableConv2D(8, 3, strides=1, padding="same", activation="relu"),
        layers.AveragePooling2D(2, padding="valid"),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(7),
        layers.Activation("relu"),
        layers.Dense(5, activation="softmax"),
    ], name="seq_fixture")


def functional() -> keras.Model:
    x = keras.Input((9, 9, 3), name="image")
    a = layers.Conv2D(8, 3, padding="same", strides=2, name="stem")(x)
    a = layers.BatchNormalization(name="stem_bn")(a)
    a = layers.ReLU(name="stem_relu")(a)
    b = layers.Conv2D(8, 1, name="branch")(a)
    s = layers.Add(name="residual")([a, b])
    s = layers.Activation("relu6", name="act6")(s)
    g = layers.GlobalAveragePooling2D(name="gap")(s)
    r = layers.Reshape((2, 4), name="reshape")(g)
    f = layers.Flatten(name="flat")(r)
    y = layers.Dense(4, name="head")(f)
    y = layers.Softmax(name="probs")(y)
    return keras.Model(x, y, name="func_fixture")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, make in enumerate([sequential, functional]):
        model = make()
        _randomize(model, seed)
        name = model.name
        model.save(OUT / f"{name}.keras")
        model.save(OUT / f"{name}.h5")
        rng = np.random.default_rng(100 + seed)
        x = rng.standard_normal((3, *model.input_shape[1:])).astype("float32")
        y = np.asarray(model.predict(x, verbose=0))
        np.savez(OUT / f"{name}_io.npz", x=x, y=y)
        print(name, x.shape, y.shape)


if __name__ == "__main__":
    main()
