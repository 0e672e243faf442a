"""Preprocessing layers: Rescaling, Normalization (fixed statistics and adapt), Resizing and
CenterCrop (their outputs against TensorFlow's are in test_keras_weights.py)."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.testing.layer_test import make_input, run_layer_test


def test_rescaling():
    x = np.random.RandomState(0).randint(0, 256, (2, 4, 4, 3)).astype("uint8")
    out = layers.Rescaling(1 / 255.0)(x)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), x / 255.0, atol=1e-6)
    f = make_input((3, 4))
    run_layer_test(layers.Rescaling, dict(scale=2.0, offset=-1.0), input_data=f,
                   expected_output=f * 2 - 1)


def test_normalization_fixed_statistics():
    x = make_input((4, 3))
    mean, var = [1.0, 2.0, 3.0], [1.0, 4.0, 9.0]
    run_layer_test(layers.Normalization, dict(mean=mean, variance=var), input_data=x,
                   expected_output=(x - np.array(mean)) / np.sqrt(var))
    run_layer_test(layers.Normalization, dict(mean=mean, variance=var, invert=True),
                   input_data=x, expected_output=x * np.sqrt(var) + np.array(mean))
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        layers.Normalization(mean=1.0)


def test_normalization_adapt():
    rng = np.random.RandomState(0)
    data = (rng.normal(size=(100, 3)) * [1, 2, 3] + [5, -1, 0]).astype("float32")
    layer = layers.Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), data.var(0), rtol=1e-5)
    assert int(layer.count.numpy()) == 100
    out = layer(data).numpy()
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-4)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["mean:0", "variance:0",
                                                              "count:0"]
    # batches of a dataset give the same statistics as the whole array
    batched = layers.Normalization()
    batched.adapt(tf.data.Dataset.from_tensor_slices(data).batch(7))
    np.testing.assert_allclose(batched.adapt_mean.numpy(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(batched.adapt_variance.numpy(), data.var(0), rtol=1e-4)
    # axis=None: one statistic for everything
    single = layers.Normalization(axis=None)
    single.adapt(data)
    np.testing.assert_allclose(float(single.adapt_mean.numpy()), data.mean(), rtol=1e-5)


def test_normalization_in_a_model():
    data = np.random.RandomState(1).uniform(10, 20, (64, 4)).astype("float32")
    norm = layers.Normalization()
    norm.adapt(data)
    model = tf.keras.Sequential([layers.Input((4,)), norm, layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    hist = model.fit(data, data[:, :1] - 15, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_resizing_and_center_crop():
    x = make_input((2, 6, 8, 3))
    run_layer_test(layers.Resizing, dict(height=3, width=4, interpolation="nearest"),
                   input_data=x, expected_output=x[:, 1::2, 1::2])
    run_layer_test(layers.Resizing, dict(height=12, width=16), input_data=x,
                   expected_output_shape=(2, 12, 16, 3))
    run_layer_test(layers.CenterCrop, dict(height=4, width=4), input_data=x,
                   expected_output=x[:, 1:5, 2:6])
    img = layers.Input((None, None, 3))
    model = tf.keras.Model(img, layers.Resizing(4, 5)(img))
    assert tuple(model.output_shape) == (None, 4, 5, 3)
    resized = model.predict(x, verbose=0)
    np.testing.assert_allclose(resized, layers.Resizing(4, 5)(x).numpy(), atol=1e-6)
    for method in ("bilinear", "nearest"):       # sizes known only at run time
        layer = layers.Resizing(4, 5, interpolation=method)
        dynamic = tf.function(layer, input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32)])
        np.testing.assert_allclose(dynamic(x).numpy(), layer(x).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="static"):
        layers.Resizing(4, 4, crop_to_aspect_ratio=True)(img)
    with pytest.raises(ValueError, match="interpolation"):
        layers.Resizing(4, 4, interpolation="lanczos3")
