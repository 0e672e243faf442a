"""Noise and regularization layers: identity at inference, the right noise while training."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.testing.layer_test import make_input, run_layer_test

NOISE = [
    (layers.SpatialDropout1D, dict(rate=0.5), (2, 4, 3)),
    (layers.SpatialDropout2D, dict(rate=0.5), (2, 3, 3, 4)),
    (layers.SpatialDropout3D, dict(rate=0.5), (2, 2, 3, 3, 4)),
    (layers.GaussianNoise, dict(stddev=0.1), (2, 3)),
    (layers.GaussianDropout, dict(rate=0.2), (2, 3)),
    (layers.AlphaDropout, dict(rate=0.2), (2, 3)),
]


@pytest.mark.parametrize("layer_cls, kwargs, shape", NOISE)
def test_identity_at_inference(layer_cls, kwargs, shape):
    x = make_input(shape)
    run_layer_test(layer_cls, kwargs, input_data=x, expected_output=x, supports_masking=True)
    out = layer_cls(**kwargs)(x, training=True)
    assert out.shape == x.shape


@pytest.mark.parametrize("layer_cls, rank", [(layers.SpatialDropout1D, 1),
                                             (layers.SpatialDropout2D, 2)])
def test_spatial_dropout_drops_whole_channels(layer_cls, rank):
    x = np.ones((8,) + (5,) * rank + (16,), "float32")
    y = layer_cls(0.5, seed=3)(x, training=True).numpy()
    flat = y.reshape(8, -1, 16)
    # each (example, channel) is all zero or all 1 / (1 - rate)
    assert np.all((flat == 0).all(1) | (flat == 2).all(1))
    assert 0 < (flat == 0).mean() < 1


def test_spatial_dropout_channels_first():
    x = np.ones((4, 16, 5, 5), "float32")
    y = layers.SpatialDropout2D(0.5, data_format="channels_first")(x, training=True).numpy()
    per_map = y.reshape(4, 16, -1)
    assert np.all((per_map == 0).all(-1) | (per_map == 2).all(-1))


def test_gaussian_noise_statistics():
    x = np.zeros((200, 100), "float32")
    y = layers.GaussianNoise(0.5)(x, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 0.5) < 0.02
    y = layers.GaussianDropout(0.5)(np.ones((200, 100), "float32"), training=True).numpy()
    assert abs(y.mean() - 1) < 0.02 and abs(y.std() - 1.0) < 0.03


def test_alpha_dropout_keeps_selu_statistics():
    x = np.random.RandomState(0).normal(size=(400, 200)).astype("float32")
    y = layers.AlphaDropout(0.2)(x, training=True).numpy()
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05


def test_noise_is_active_inside_fit():
    model = tf.keras.Sequential([layers.Input((4,)), layers.GaussianNoise(1.0),
                                 layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((32, 4), "float32")
    assert model.evaluate(x, np.zeros((32, 1)), verbose=0) == 0   # inference: no noise
    hist = model.fit(x, np.zeros((32, 1)), epochs=1, batch_size=32, verbose=0)
    assert hist.history["loss"][0] > 0.5                         # training: noise


def test_activity_regularization():
    x = make_input((4, 3))
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), x)
    expected = (0.1 * np.abs(x).sum() + 0.01 * np.square(x).sum()) / 4
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    assert layer.get_config()["l1"] == 0.1
    run_layer_test(layers.ActivityRegularization, dict(l2=0.5), input_data=x, expected_output=x)


def test_bad_rates():
    with pytest.raises(ValueError, match="rate"):
        layers.SpatialDropout2D(1.5)
    with pytest.raises(ValueError, match="stddev"):
        layers.GaussianNoise(-1)
