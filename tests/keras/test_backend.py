"""Tests for numflow.keras.backend settings and helpers."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import backend


def test_settings_round_trip():
    assert backend.floatx() == "float32" and backend.epsilon() == 1e-7
    assert backend.image_data_format() == "channels_last"
    backend.set_epsilon(1e-5)
    assert backend.epsilon() == 1e-5
    backend.set_epsilon(1e-7)
    with pytest.raises(ValueError):
        backend.set_floatx("int8")
    with pytest.raises(ValueError):
        backend.set_image_data_format("nchw")


def test_uids_and_clear_session():
    backend.clear_session()
    assert [backend.unique_object_name("x") for _ in range(3)] == ["x", "x_1", "x_2"]
    assert backend.unique_object_name("input", zero_based=False) == "input_1"
    backend.clear_session()
    assert backend.unique_object_name("x") == "x"


def test_tensor_helpers():
    v = backend.variable(np.ones((2, 3)))
    assert backend.int_shape(v) == (2, 3) and backend.ndim(v) == 2
    assert backend.dtype(v) == "float32"
    backend.set_value(v, np.zeros((2, 3)))
    np.testing.assert_array_equal(backend.get_value(v), np.zeros((2, 3)))
    x = tf.constant([[1.0, -2.0]])
    assert float(backend.sum(backend.abs(x))) == 3.0
    assert float(backend.mean(backend.square(x))) == 2.5
    np.testing.assert_allclose(backend.softmax(x).numpy().sum(), 1.0, rtol=1e-6)
    assert backend.is_keras_tensor(tf.keras.Input((2,)))
    assert not backend.is_keras_tensor(x)
