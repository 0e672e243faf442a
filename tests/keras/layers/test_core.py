"""Tests for numflow.keras.layers.core: values, shapes, configs and errors of each layer."""
import numpy as np
import pytest

import numflow as tf
from numflow import keras
from numflow.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def _round_trip(layer):
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is type(layer)
    return clone


def test_dense_values_rank3_and_config():
    d = layers.Dense(2, activation="relu", kernel_initializer="ones", bias_initializer="ones")
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 3
    np.testing.assert_allclose(d(x).numpy(), np.maximum(x.sum(1, keepdims=True) + 1, 0)
                               * np.ones((1, 2)))
    y = d(np.ones((4, 5, 3), np.float32))
    assert y.shape == (4, 5, 2)
    _round_trip(d)
    with pytest.raises(ValueError, match="positive integer"):
        layers.Dense(0)
    kt = layers.Dense(7)(keras.Input((None, 3)))
    assert kt.shape.as_list() == [None, None, 7]


def test_dense_no_bias_and_constraint_on_variable():
    d = layers.Dense(3, use_bias=False, kernel_constraint=keras.constraints.non_neg())
    d(np.ones((1, 2), np.float32))
    assert len(d.weights) == 1 and d.bias is None
    assert isinstance(d.kernel.constraint, keras.constraints.NonNeg)


def test_dense_last_dim_must_be_known():
    with pytest.raises(ValueError, match="last dimension of the inputs to a Dense"):
        layers.Dense(2)(keras.Input((None,)))


def test_activation_layer():
    a = layers.Activation("softmax")
    out = a(np.array([[1.0, 2.0]], np.float32)).numpy()
    np.testing.assert_allclose(out[0], np.exp([1, 2]) / np.exp([1, 2]).sum(), rtol=1e-6)
    assert a.get_config()["activation"] == "softmax"
    assert layers.Activation(tf.nn.relu).get_config()["activation"] == "relu"
    _round_trip(a)


def test_dropout_rates_and_inference():
    x = np.ones((200, 50), np.float32)
    drop = layers.Dropout(0.3)
    np.testing.assert_array_equal(drop(x).numpy(), x)
    out = drop(x, training=True).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.03
    np.testing.assert_allclose(out[kept], 1 / 0.7, rtol=1e-6)
    _round_trip(drop)
    with pytest.raises(ValueError, match="between 0 and 1"):
        layers.Dropout(1.5)


def test_flatten_reshape_permute_repeat():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Flatten()(x).numpy(), x.reshape(2, 12))
    assert layers.Flatten()(np.ones((3,), np.float32)).shape == (3, 1)
    assert layers.Flatten()(keras.Input((3, 4))).shape.as_list() == [None, 12]
    np.testing.assert_array_equal(layers.Reshape((4, 3))(x).numpy(), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(layers.Reshape((-1, 2))(x).numpy(), x.reshape(2, 6, 2))
    assert layers.Reshape((4, 4, 1))(keras.Input((16,))).shape.as_list() == [None, 4, 4, 1]
    assert layers.Reshape((-1, 2))(keras.Input((3, 4))).shape.as_list() == [None, 6, 2]
    np.testing.assert_array_equal(layers.Permute((2, 1))(x).numpy(), x.transpose(0, 2, 1))
    with pytest.raises(ValueError, match="consecutive"):
        layers.Permute((1, 3))
    r = layers.RepeatVector(3)(np.array([[1.0, 2.0]], np.float32)).numpy()
    np.testing.assert_array_equal(r, [[[1, 2], [1, 2], [1, 2]]])
    for layer in (layers.Flatten(), layers.Reshape((4, 3)), layers.Permute((2, 1)),
                  layers.RepeatVector(3)):
        _round_trip(layer)


def test_embedding_lookup_mask_and_config():
    emb = layers.Embedding(10, 4, mask_zero=True)
    ids = np.array([[1, 0, 3]])
    out = emb(ids)
    assert out.shape == (1, 3, 4)
    np.testing.assert_array_equal(out.numpy()[0, 0], emb.embeddings.numpy()[1])
    np.testing.assert_array_equal(emb.compute_mask(tf.constant(ids)).numpy(),
                                  [[True, False, True]])
    assert emb.embeddings.name == "embedding/embeddings:0"
    # float ids are cast to int
    np.testing.assert_array_equal(emb(ids.astype("float32")).numpy(), out.numpy())
    _round_trip(emb)
    seq = keras.Sequential([layers.Embedding(100, 8, input_length=5), layers.Flatten()])
    assert seq.output_shape == (None, 40)
    assert layers.Embedding(5, 2)(keras.Input((None,), dtype="int32")).shape.as_list() == \
        [None, None, 2]


def test_masking_layer():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]], np.float32)
    m = layers.Masking(0.0)
    out = m(x)
    np.testing.assert_array_equal(out.numpy(), x)
    np.testing.assert_array_equal(m.compute_mask(tf.constant(x)).numpy(), [[True, False, True]])
    _round_trip(m)


def test_identity_and_lambda():
    x = np.ones((2, 2), np.float32)
    np.testing.assert_array_equal(layers.Identity()(x).numpy(), x)
    lam = layers.Lambda(lambda t, k: t * k, arguments={"k": 3.0})
    np.testing.assert_array_equal(lam(x).numpy(), 3 * x)

    def double(t):
        return t * 2.0
    named = layers.Lambda(double)
    cfg = named.get_config()
    assert cfg["function"] == "double" and cfg["function_type"] == "function"
    with pytest.raises(ValueError, match="custom_objects"):
        layers.Lambda.from_config(cfg)
    again = layers.Lambda.from_config(cfg, custom_objects={"double": double})
    np.testing.assert_array_equal(again(x).numpy(), 2 * x)
    out = layers.Lambda(lambda t: tf.reduce_sum(t, axis=-1))(keras.Input((5,)))
    assert out.shape.as_list() == [None]


def test_layers_namespace():
    for name in ("Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute",
                 "RepeatVector", "Masking", "Embedding", "Identity", "Lambda", "Layer",
                 "InputLayer", "Input", "InputSpec", "serialize", "deserialize"):
        assert hasattr(layers, name), name
    assert tf.keras.layers.Dense is layers.Dense
