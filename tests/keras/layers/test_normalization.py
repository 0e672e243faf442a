"""BatchNormalization (training vs inference, moving statistics, fit), LayerNormalization
and UnitNormalization against NumPy."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.testing.layer_test import make_input, run_layer_test


def _bn_weights(c, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.uniform(0.5, 1.5, c).astype("float32"), rng.uniform(-1, 1, c).astype("float32"),
            rng.uniform(-1, 1, c).astype("float32"), rng.uniform(0.5, 2, c).astype("float32")]


def test_batch_norm_inference_uses_moving_statistics():
    x = make_input((4, 3, 5))
    gamma, beta, mean, var = _bn_weights(5)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    run_layer_test(layers.BatchNormalization, {}, input_data=x, weights=[gamma, beta, mean, var],
                   expected_output=expected, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=2,
                   expected_weight_shapes=[(5,), (5,), (5,), (5,)])


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    x = make_input((6, 3, 2))
    bn = layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-3)
    bn(x)
    gamma, beta, mean, var = _bn_weights(3)
    bn.set_weights([gamma, beta, mean, var])
    y = bn(x, training=True).numpy()
    bm, bv = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    expected = ((x - bm[:, None]) / np.sqrt(bv[:, None] + 1e-3) * gamma[:, None]
                + beta[:, None])
    np.testing.assert_allclose(y, expected, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean * 0.9 + bm * 0.1, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var * 0.9 + bv * 0.1, atol=1e-6)
    # inference leaves the statistics alone
    before = bn.moving_mean.numpy().copy()
    bn(x, training=False)
    bn(x)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    run_layer_test(layers.BatchNormalization, dict(axis=1, momentum=0.9), input_data=x,
                   call_kwargs={"training": True}, expected_output=expected,
                   weights=[gamma, beta, mean, var])


def test_batch_norm_frozen_layer_runs_in_inference_mode():
    x = make_input((8, 4))
    bn = layers.BatchNormalization()
    bn(x)
    bn.trainable = False
    y = bn(x, training=True).numpy()
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-3), atol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(4))


def test_batch_norm_weight_names_and_options():
    bn = layers.BatchNormalization(name="bn")
    bn(np.zeros((2, 3), "float32"))
    assert [w.name for w in bn.weights] == ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0",
                                            "bn/moving_variance:0"]
    assert not bn.moving_mean.trainable and not bn.moving_variance.trainable
    plain = layers.BatchNormalization(center=False, scale=False)
    plain(np.zeros((2, 3), "float32"))
    assert len(plain.weights) == 2
    x = make_input((5, 4))
    run_layer_test(layers.BatchNormalization, dict(center=False, scale=False), input_data=x,
                   expected_output=x / np.sqrt(1 + 1e-3))
    with pytest.raises(NotImplementedError, match="renorm"):
        layers.BatchNormalization(renorm=True)
    # tf.keras 2 configs carry extra defaults
    layers.BatchNormalization(fused=None, renorm=False, virtual_batch_size=None)


def test_batch_norm_masked_statistics():
    x = make_input((2, 4, 3))
    mask = np.array([[True, True, False, False], [True, True, True, False]])
    bn = layers.BatchNormalization(momentum=0.0)
    bn(x, training=True, mask=mask)
    kept = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), kept.mean(0), atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), kept.var(0), atol=1e-5)


def test_batch_norm_statistics_update_inside_fit():
    model = tf.keras.Sequential([layers.Input((3,)), layers.BatchNormalization(momentum=0.5),
                                 layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = (make_input((64, 3)) * 2 + 5).astype("float32")
    model.fit(x, np.zeros((64, 1), "float32"), batch_size=16, epochs=3, verbose=0)
    bn = model.layers[0]
    np.testing.assert_allclose(bn.moving_mean.numpy(), x.mean(0), atol=0.5)
    assert np.all(bn.moving_variance.numpy() > 0.5)
    # predict uses the moving statistics: a batch of one gives a sensible value
    assert np.all(np.isfinite(model.predict(x[:1], verbose=0)))


def test_layer_normalization():
    x = make_input((3, 4, 5))
    rng = np.random.RandomState(0)
    gamma = rng.uniform(0.5, 1.5, 5).astype("float32")
    beta = rng.uniform(-1, 1, 5).astype("float32")
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    run_layer_test(layers.LayerNormalization, {}, input_data=x, weights=[gamma, beta],
                   expected_output=(x - mean) / np.sqrt(var + 1e-3) * gamma + beta,
                   expected_weight_shapes=[(5,), (5,)])
    gamma2 = rng.uniform(0.5, 1.5, (4, 5)).astype("float32")
    beta2 = rng.uniform(-1, 1, (4, 5)).astype("float32")
    mean, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    run_layer_test(layers.LayerNormalization, dict(axis=[1, 2], epsilon=1e-5), input_data=x,
                   weights=[gamma2, beta2],
                   expected_output=(x - mean) / np.sqrt(var + 1e-5) * gamma2 + beta2)
    ms = np.mean(x * x, -1, keepdims=True)
    run_layer_test(layers.LayerNormalization, dict(rms_scaling=True), input_data=x,
                   weights=[gamma], expected_output=x / np.sqrt(ms + 1e-3) * gamma)


def test_unit_normalization():
    x = make_input((3, 4))
    run_layer_test(layers.UnitNormalization, {}, input_data=x,
                   expected_output=x / np.linalg.norm(x, axis=-1, keepdims=True))
