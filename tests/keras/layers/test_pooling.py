"""Pooling layers: harness rows, NumPy references (max / average with TF's padding rule),
global pooling with keepdims and masks, aliases."""
import importlib.util
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.keras.layers import conv_utils
from numflow.testing.layer_test import make_input, run_layer_test


def _load(name):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ref = _load("conv_reference")

POOL_CASES = [
    (layers.MaxPooling1D, dict(pool_size=2), (2, 7, 3), "max"),
    (layers.MaxPooling1D, dict(pool_size=3, strides=2, padding="same"), (2, 8, 2), "max"),
    (layers.AveragePooling1D, dict(pool_size=2, padding="same"), (2, 5, 3), "avg"),
    (layers.MaxPooling2D, dict(pool_size=(2, 2)), (2, 5, 6, 3), "max"),
    (layers.MaxPooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 7, 6, 2), "max"),
    (layers.AveragePooling2D, dict(pool_size=(3, 2), strides=1), (2, 5, 4, 2), "avg"),
    (layers.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (2, 6, 5, 2),
     "avg"),
    (layers.MaxPooling3D, dict(pool_size=2, padding="same"), (2, 5, 4, 3, 2), "max"),
    (layers.AveragePooling3D, dict(pool_size=(3, 2, 2), strides=(2, 1, 1), padding="same"),
     (2, 5, 4, 3, 2), "avg"),
    (layers.AveragePooling3D, dict(pool_size=2), (1, 4, 4, 5, 2), "avg"),
]


@pytest.mark.parametrize("layer_cls, kwargs, shape, kind", POOL_CASES)
def test_pooling_against_reference(layer_cls, kwargs, shape, kind):
    rank = len(shape) - 2
    size = conv_utils.normalize_tuple(kwargs["pool_size"], rank, "p")
    strides = size if kwargs.get("strides") is None else \
        conv_utils.normalize_tuple(kwargs["strides"], rank, "s")
    x = make_input(shape)
    expected = ref.pool(x, size, strides, kwargs.get("padding", "valid"), kind)
    run_layer_test(layer_cls, kwargs, input_data=x, expected_output=expected,
                   expected_num_trainable_weights=0)


def test_pooling_channels_first():
    x = make_input((2, 3, 6, 6))
    y = layers.MaxPooling2D(2, data_format="channels_first")(x).numpy()
    expected = ref.pool(np.transpose(x, (0, 2, 3, 1)), (2, 2), (2, 2), "valid", "max")
    np.testing.assert_allclose(np.transpose(y, (0, 2, 3, 1)), expected, atol=1e-6)


GLOBAL_CASES = [
    (layers.GlobalMaxPooling1D, (2, 5, 3), (1,), "max"),
    (layers.GlobalAveragePooling1D, (2, 5, 3), (1,), "mean"),
    (layers.GlobalMaxPooling2D, (2, 4, 5, 3), (1, 2), "max"),
    (layers.GlobalAveragePooling2D, (2, 4, 5, 3), (1, 2), "mean"),
    (layers.GlobalMaxPooling3D, (2, 3, 4, 2, 3), (1, 2, 3), "max"),
    (layers.GlobalAveragePooling3D, (2, 3, 4, 2, 3), (1, 2, 3), "mean"),
]


@pytest.mark.parametrize("layer_cls, shape, axes, fn", GLOBAL_CASES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(layer_cls, shape, axes, fn, keepdims):
    x = make_input(shape)
    expected = getattr(np, fn)(x, axis=axes, keepdims=keepdims)
    run_layer_test(layer_cls, dict(keepdims=keepdims), input_data=x, expected_output=expected)


def test_global_average_pooling_1d_with_mask():
    ids = np.array([[3, 4, 0, 0], [1, 2, 3, 0]])
    emb = layers.Embedding(10, 2, mask_zero=True)
    pooled = layers.GlobalAveragePooling1D()(emb(ids)).numpy()
    vectors = emb(ids).numpy()
    expected = np.stack([vectors[0, :2].mean(0), vectors[1, :3].mean(0)])
    np.testing.assert_allclose(pooled, expected, atol=1e-6)
    assert layers.GlobalAveragePooling1D().supports_masking


def test_aliases_and_defaults():
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    pool = layers.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    assert layers.MaxPooling1D().get_config()["pool_size"] == (2,)
    x = layers.Input((28, 28, 1))
    assert tuple(layers.MaxPool2D(3)(x).shape.as_list()) == (None, 9, 9, 1)
    assert tuple(layers.GlobalMaxPool2D()(x).shape.as_list()) == (None, 1)


def test_max_pool_gradient_routes_to_maxima():
    x = tf.constant(np.array([[[1.0], [3.0], [2.0], [0.0]]], "float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layers.MaxPooling1D(2)(x))
    g = tape.gradient(y, x).numpy()
    np.testing.assert_array_equal(g.ravel(), [0, 1, 1, 0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        layers.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(pool_size=(2, 2, 2))
    with pytest.raises(ValueError, match="ndim=4"):
        layers.MaxPooling2D()(np.zeros((2, 4, 3), "float32"))
