"""Tests for numflow.keras.activations against NumPy formulas."""
import math

import numpy as np
import pytest

import numflow as tf
from numflow.keras import activations

X = np.linspace(-4, 4, 17, dtype=np.float32).reshape(1, -1)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf)

CASES = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _np_sigmoid,
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 *
                                                    (np.exp(x) - 1)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "swish": lambda x: x * _np_sigmoid(x),
    "silu": lambda x: x * _np_sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "exponential": np.exp,
    "linear": lambda x: x,
    "relu6": lambda x: np.clip(x, 0, 6),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_get(name):
    fn = activations.get(name)
    out = fn(tf.constant(X))
    out = out.numpy() if hasattr(out, "numpy") else out
    np.testing.assert_allclose(out, CASES[name](X.astype(np.float64)), rtol=2e-5, atol=2e-6)


def test_relu_options_and_leaky():
    x = tf.constant(X)
    np.testing.assert_allclose(activations.relu(x, alpha=0.1).numpy(),
                               np.where(X > 0, X, 0.1 * X), rtol=1e-6)
    np.testing.assert_allclose(activations.relu(x, max_value=2.0).numpy(), np.clip(X, 0, 2))
    np.testing.assert_allclose(activations.relu(x, threshold=1.0).numpy(),
                               np.where(X > 1, X, 0))
    np.testing.assert_allclose(activations.leaky_relu(x, alpha=0.2).numpy(),
                               np.where(X > 0, X, 0.2 * X), rtol=1e-6)
    np.testing.assert_allclose(activations.elu(x, alpha=2.0).numpy(),
                               np.where(X > 0, X, 2 * (np.exp(X) - 1)), rtol=1e-5, atol=1e-6)


def test_get_serialize_deserialize():
    assert activations.get(None) is activations.linear
    assert activations.get(tf.nn.relu) is tf.nn.relu
    assert activations.serialize(activations.relu) == "relu"
    assert activations.serialize(tf.nn.relu) == "relu"
    assert activations.serialize(tf.sigmoid) == "sigmoid"
    assert activations.serialize(None) == "linear"
    assert activations.deserialize("tanh") is activations.tanh
    with pytest.raises(ValueError, match="Unknown activation function: 'nope'"):
        activations.get("nope")
    with pytest.raises(TypeError):
        activations.get(3)


def test_softmax_rank1_rejected():
    with pytest.raises(ValueError, match="1D"):
        activations.softmax(tf.constant([1.0, 2.0]))
