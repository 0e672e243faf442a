"""Tests for numflow.keras.initializers: statistics, seeding, names, configs."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import initializers


def _v(init, shape, dtype=None):
    return np.asarray(init(shape, dtype=dtype).numpy())


def test_constant_kinds():
    np.testing.assert_array_equal(_v(initializers.Zeros(), (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(_v(initializers.Ones(), (2,)), np.ones(2))
    np.testing.assert_array_equal(_v(initializers.Constant(3.5), (2, 2)), np.full((2, 2), 3.5))
    np.testing.assert_array_equal(_v(initializers.Identity(2.0), (3, 3)), 2 * np.eye(3))
    assert _v(initializers.Zeros(), (2,), "int32").dtype == np.int32
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))


@pytest.mark.parametrize("cls,fan,scale,dist", [
    (initializers.GlorotUniform, "avg", 1.0, "uniform"),
    (initializers.GlorotNormal, "avg", 1.0, "normal"),
    (initializers.HeNormal, "in", 2.0, "normal"),
    (initializers.HeUniform, "in", 2.0, "uniform"),
    (initializers.LecunNormal, "in", 1.0, "normal"),
    (initializers.LecunUniform, "in", 1.0, "uniform"),
])
def test_variance_scaling_statistics(cls, fan, scale, dist):
    shape = (400, 300)
    values = _v(cls(seed=1), shape)
    assert values.dtype == np.float32 and values.shape == shape
    n = 400 if fan == "in" else 350
    expected_std = np.sqrt(scale / n)
    assert abs(values.std() - expected_std) / expected_std < 0.03
    if dist == "uniform":
        assert np.abs(values).max() <= np.sqrt(3 * scale / n) + 1e-6
    else:   # truncated at two (corrected) standard deviations
        assert np.abs(values).max() <= 2 * expected_std / 0.87962566103423978 + 1e-6


def test_random_families():
    u = _v(initializers.RandomUniform(-1, 2, seed=0), (10000,))
    assert u.min() >= -1 and u.max() < 2 and abs(u.mean() - 0.5) < 0.05
    n = _v(initializers.RandomNormal(1.0, 0.5, seed=0), (10000,))
    assert abs(n.mean() - 1) < 0.02 and abs(n.std() - 0.5) < 0.02
    t = _v(initializers.TruncatedNormal(0.0, 1.0, seed=0), (10000,))
    assert np.abs(t).max() <= 2.0
    q = _v(initializers.Orthogonal(seed=0), (6, 4))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    q2 = _v(initializers.Orthogonal(gain=2.0, seed=0), (3, 5))
    np.testing.assert_allclose(q2 @ q2.T, 4 * np.eye(3), atol=1e-5)


def test_seeded_is_reproducible_and_global_seed():
    a = _v(initializers.GlorotUniform(seed=7), (5, 5))
    b = _v(initializers.GlorotUniform(seed=7), (5, 5))
    np.testing.assert_array_equal(a, b)
    tf.random.set_seed(11)
    first = [_v(initializers.GlorotUniform(), (4, 4)) for _ in range(2)]
    tf.random.set_seed(11)
    second = [_v(initializers.GlorotUniform(), (4, 4)) for _ in range(2)]
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])


def test_get_names_aliases_and_classes():
    assert isinstance(initializers.get("glorot_uniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get("uniform"), initializers.RandomUniform)
    assert isinstance(initializers.get("normal"), initializers.RandomNormal)
    assert isinstance(initializers.get("zeros"), initializers.Zeros)
    assert isinstance(initializers.get(initializers.glorot_normal), initializers.GlorotNormal)
    assert initializers.glorot_normal is initializers.GlorotNormal
    assert initializers.get(None) is None
    fn = lambda shape, dtype=None: tf.zeros(shape)  # noqa: E731
    assert initializers.get(fn) is fn
    with pytest.raises(ValueError, match="Unknown initializer"):
        initializers.get("glorot_unifrom")


def test_serialize_round_trip():
    for init in (initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
                 initializers.Constant(1.5), initializers.RandomNormal(0.0, 0.1, seed=2),
                 initializers.Orthogonal(0.5), initializers.HeNormal(seed=1)):
        cfg = initializers.serialize(init)
        again = initializers.deserialize(cfg)
        assert type(again) is type(init) and again.get_config() == init.get_config()
    assert initializers.serialize(initializers.GlorotUniform()) == {
        "class_name": "GlorotUniform", "config": {"seed": None}}


def test_invalid_variance_scaling_args():
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan")
