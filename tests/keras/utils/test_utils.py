"""Tests for numflow.keras.utils: to_categorical, normalize, Progbar, Sequence, seeding,
custom-object registration and (de)serialization helpers."""
import io
import sys

import numpy as np
import pytest

import numflow as tf
from numflow import keras
from numflow.keras import utils
from numflow.keras.utils import generic_utils


def test_to_categorical_and_normalize():
    np.testing.assert_array_equal(utils.to_categorical([0, 2, 1]),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    y = utils.to_categorical(np.array([[1], [3]]), 4)
    assert y.shape == (2, 4) and y.dtype == np.float32
    assert utils.to_categorical(np.zeros((2, 3), int), 2).shape == (2, 3, 2)
    n = utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(n, [[0.6, 0.8], [0, 0]])


def _capture(fn, tty):
    buf = io.StringIO()
    buf.isatty = lambda: tty
    old = sys.stdout
    sys.stdout = buf
    try:
        fn()
    finally:
        sys.stdout = old
    return buf.getvalue()


def test_progbar_non_tty_prints_one_line():
    def run():
        bar = utils.Progbar(10)
        for i in range(1, 11):
            bar.update(i, [("loss", 0.5)])
    out = _capture(run, tty=False)
    assert out.count("\n") == 1 and "\r" not in out
    assert out.startswith("10/10 [==============================] - ")
    assert "step - loss: 0.5000" in out


def test_progbar_tty_redraws_in_place():
    def run():
        bar = utils.Progbar(4, interval=0.0)
        for i in range(1, 5):
            bar.update(i, [("acc", 1.0)])
    out = _capture(run, tty=True)
    assert out.count("\r") == 4 and out.endswith("\n")
    assert "1/4 [======>.......................] - ETA:" in out
    assert "4/4 [==============================]" in out


def test_progbar_verbose2_and_averaging():
    def run():
        bar = utils.Progbar(2, verbose=2)
        bar.update(1, [("loss", 1.0)])
        bar.update(2, [("loss", 3.0)])
    out = _capture(run, tty=False)
    assert out.startswith("2/2 - ") and "loss: 2.0000" in out


def test_sequence_base():
    class S(utils.Sequence):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i
    assert list(S()) == [0, 1]
    with pytest.raises(NotImplementedError):
        utils.Sequence()[0]


def test_set_random_seed_reproduces_initial_weights():
    utils.set_random_seed(5)
    a = keras.layers.Dense(3)
    a(np.ones((1, 2), np.float32))
    r1 = np.random.rand()
    utils.set_random_seed(5)
    b = keras.layers.Dense(3)
    b(np.ones((1, 2), np.float32))
    assert r1 == np.random.rand()
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())


def test_register_and_custom_object_scope():
    @utils.register_keras_serializable(package="Test")
    class Thing:
        def __init__(self, v=1):
            self.v = v

        def get_config(self):
            return {"v": self.v}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    assert utils.get_registered_name(Thing) == "Test>Thing"
    cfg = utils.serialize_keras_object(Thing(4))
    assert cfg == {"class_name": "Test>Thing", "config": {"v": 4}}
    assert utils.deserialize_keras_object(cfg).v == 4

    class Other:
        pass
    with pytest.raises(ValueError, match="Unknown object: 'Other'"):
        utils.deserialize_keras_object("Other")
    with utils.custom_object_scope({"Other": Other}):
        assert isinstance(utils.deserialize_keras_object("Other"), Other)
    assert generic_utils.to_snake_case("Conv2DTranspose") == "conv2d_transpose"
    assert generic_utils.to_snake_case("MyRNNLayer") == "my_rnn_layer"


def test_namespace_exports():
    for name in ("to_categorical", "normalize", "get_file", "Progbar", "Sequence",
                 "plot_model", "set_random_seed", "custom_object_scope",
                 "register_keras_serializable", "get_custom_objects"):
        assert hasattr(tf.keras.utils, name), name
