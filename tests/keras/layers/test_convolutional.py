"""Convolution layers: one harness row per layer/configuration, outputs against a naive
float64 NumPy convolution, argument errors."""
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


def _random_weights(layer, seed=1):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-0.5, 0.5, w.shape.as_list()).astype("float32") for w in layer.weights]


def _check_against(layer_cls, kwargs, shape, reference, seed=1):
    layer = layer_cls(**kwargs)
    x = make_input(shape)
    layer(x)
    weights = _random_weights(layer, seed)
    expected = reference(x, *weights)
    run_layer_test(layer_cls, kwargs, input_data=x, weights=weights,
                   expected_output=expected, atol=1e-4, rtol=1e-4)


CONV_CASES = [
    (layers.Conv1D, dict(filters=3, kernel_size=3), (2, 7, 2)),
    (layers.Conv1D, dict(filters=2, kernel_size=2, strides=2, padding="same"), (2, 7, 3)),
    (layers.Conv1D, dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2),
     (2, 9, 2)),
    (layers.Conv1D, dict(filters=4, kernel_size=3, groups=2), (2, 6, 4)),
    (layers.Conv2D, dict(filters=3, kernel_size=3), (2, 6, 5, 2)),
    (layers.Conv2D, dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same",
                         activation="relu"), (2, 7, 6, 3)),
    (layers.Conv2D, dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
     (2, 7, 7, 2)),
    (layers.Conv2D, dict(filters=6, kernel_size=3, groups=3, use_bias=False), (2, 5, 5, 3)),
    (layers.Conv3D, dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 2),
                         padding="same"), (2, 5, 4, 6, 3)),
    (layers.Conv3D, dict(filters=3, kernel_size=2), (1, 3, 4, 3, 2)),
]


@pytest.mark.parametrize("layer_cls, kwargs, shape", CONV_CASES)
def test_conv_against_naive_reference(layer_cls, kwargs, shape):
    rank = len(shape) - 2
    strides = conv_utils.normalize_tuple(kwargs.get("strides", 1), rank, "s")
    dil = conv_utils.normalize_tuple(kwargs.get("dilation_rate", 1), rank, "d")
    groups = kwargs.get("groups", 1)
    act = (lambda v: np.maximum(v, 0)) if kwargs.get("activation") == "relu" else (lambda v: v)

    def reference(x, kernel, bias=None):
        return act(ref.conv(x, kernel, strides, kwargs.get("padding", "valid"), dil, groups,
                            bias))
    _check_against(layer_cls, kwargs, shape, reference)


TRANSPOSE_CASES = [
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=3), (2, 4, 5, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same"),
     (2, 3, 4, 3)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=(3, 2), strides=(2, 3)),
     (1, 3, 4, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same",
                                  output_padding=1), (2, 3, 3, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, dilation_rate=2), (1, 4, 4, 2)),
    (layers.Conv1DTranspose, dict(filters=2, kernel_size=3, strides=2, padding="same"),
     (2, 5, 3)),
    (layers.Conv1DTranspose, dict(filters=3, kernel_size=4, strides=3), (2, 4, 2)),
]


@pytest.mark.parametrize("layer_cls, kwargs, shape", TRANSPOSE_CASES)
def test_conv_transpose_against_naive_reference(layer_cls, kwargs, shape):
    rank = len(shape) - 2
    strides = conv_utils.normalize_tuple(kwargs.get("strides", 1), rank, "s")
    dil = conv_utils.normalize_tuple(kwargs.get("dilation_rate", 1), rank, "d")
    op = kwargs.get("output_padding")
    op = None if op is None else conv_utils.normalize_tuple(op, rank, "o", True)

    def reference(x, kernel, bias):
        return ref.conv_transpose(x, kernel, strides, kwargs.get("padding", "valid"), op, dil,
                                  bias)
    _check_against(layer_cls, kwargs, shape, reference)


def test_depthwise_and_separable_against_reference():
    def dw_reference(x, kernel, bias):
        return ref.depthwise(x, kernel, (2, 2), "valid", None, bias)
    _check_against(layers.DepthwiseConv2D, dict(kernel_size=3, strides=2, depth_multiplier=2),
                   (2, 7, 7, 3), dw_reference)

    def dw1_reference(x, kernel, bias):
        return ref.depthwise(x, kernel, (1,), "same", None, bias)
    _check_against(layers.DepthwiseConv1D, dict(kernel_size=3, padding="same"), (2, 6, 3),
                   dw1_reference)

    def sep_reference(x, dk, pk, bias):
        return ref.conv(ref.depthwise(x, dk, (1, 1), "same"), pk, (1, 1), "valid", bias=bias)
    _check_against(layers.SeparableConv2D, dict(filters=4, kernel_size=3, padding="same",
                                                depth_multiplier=2), (2, 5, 6, 3),
                   sep_reference)

    def sep1_reference(x, dk, pk, bias):
        return ref.conv(ref.depthwise(x, dk, (1,), "valid"), pk, (1,), "valid", bias=bias)
    _check_against(layers.SeparableConv1D, dict(filters=3, kernel_size=3), (2, 7, 2),
                   sep1_reference)


def test_weight_names_shapes_and_order():
    conv = layers.Conv2D(4, 3, name="c")
    conv(np.zeros((1, 5, 5, 2), "float32"))
    assert [w.name for w in conv.weights] == ["c/kernel:0", "c/bias:0"]
    assert [tuple(w.shape.as_list()) for w in conv.weights] == [(3, 3, 2, 4), (4,)]
    tr = layers.Conv2DTranspose(4, 3, name="t")
    tr(np.zeros((1, 5, 5, 2), "float32"))
    assert [tuple(w.shape.as_list()) for w in tr.weights] == [(3, 3, 4, 2), (4,)]
    sep = layers.SeparableConv2D(5, 3, depth_multiplier=2, name="s")
    sep(np.zeros((1, 5, 5, 3), "float32"))
    assert [w.name for w in sep.weights] == ["s/depthwise_kernel:0", "s/pointwise_kernel:0",
                                             "s/bias:0"]
    assert [tuple(w.shape.as_list()) for w in sep.weights] == [(3, 3, 3, 2), (1, 1, 6, 5),
                                                               (5,)]
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, name="d")
    dw(np.zeros((1, 5, 5, 3), "float32"))
    assert [tuple(w.shape.as_list()) for w in dw.weights] == [(3, 3, 3, 2), (6,)]
    assert dw.depthwise_kernel is dw.kernel


def test_channels_first_matches_channels_last():
    x = make_input((2, 6, 5, 3))
    last = layers.Conv2D(4, 3, strides=2, padding="same")
    first = layers.Conv2D(4, 3, strides=2, padding="same", data_format="channels_first")
    y_last = last(x)
    first(np.transpose(x, (0, 3, 1, 2)))
    first.set_weights(last.get_weights())
    y_first = first(np.transpose(x, (0, 3, 1, 2)))
    np.testing.assert_allclose(np.transpose(y_first.numpy(), (0, 2, 3, 1)), y_last.numpy(),
                               atol=1e-5)
    assert tuple(first.compute_output_shape((2, 3, 6, 5)).as_list()) == (2, 4, 3, 3)


def test_functional_shapes_with_unknown_spatial_sizes():
    x = layers.Input(shape=(None, None, 3))
    y = layers.Conv2D(4, 3, strides=2)(x)
    assert tuple(y.shape.as_list()) == (None, None, None, 4)
    z = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(y)
    assert tuple(z.shape.as_list()) == (None, None, None, 2)
    model = tf.keras.Model(x, z)
    assert model.predict(make_input((1, 9, 7, 3)), verbose=0).shape == (1, 8, 6, 2)


def test_conv_trains_in_fit():
    model = tf.keras.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                                 layers.Conv2DTranspose(1, 3)])
    model.compile(optimizer="adam", loss="mse")
    x = make_input((16, 8, 8, 1))
    hist = model.fit(x, x, epochs=3, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(filters=4, kernel_size=3, strides=2, dilation_rate=2), "dilation_rate"),
    (dict(filters=5, kernel_size=3, groups=2), "divisible"),
    (dict(filters=4, kernel_size=3, padding="full"), "padding"),
    (dict(filters=4, kernel_size=(3, 3, 3)), "kernel_size"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Conv2D(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="channel"):
        layers.Conv2D(2, 3).build((None, 5, 5, None))
    with pytest.raises(ValueError, match="divisible"):
        layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))
    conv = layers.Conv2D(2, 3)
    conv(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="axis -1"):
        conv(np.zeros((1, 5, 5, 4), "float32"))
    with pytest.raises(ValueError, match="causal"):
        layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="output padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
