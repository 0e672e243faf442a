"""Tests for numflow.keras.regularizers and numflow.keras.constraints."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import constraints, regularizers

W = np.array([[1.0, -2.0], [3.0, -4.0]], np.float32)


def test_regularizer_values():
    w = tf.constant(W)
    assert np.isclose(float(regularizers.l1(0.1)(w)), 1.0)
    assert np.isclose(float(regularizers.l2(0.1)(w)), 3.0)
    assert np.isclose(float(regularizers.l1_l2(0.1, 0.1)(w)), 4.0)
    assert np.isclose(float(regularizers.L1L2(l2=0.5)(w)), 15.0)
    assert np.isclose(float(regularizers.L2(l=0.1)(w)), 3.0)
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1)


def test_regularizer_get_and_config():
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert regularizers.get(None) is None
    cfg = regularizers.serialize(regularizers.l2(0.01))
    assert cfg == {"class_name": "L2", "config": {"l2": 0.01}}
    assert regularizers.deserialize(cfg).l2 == 0.01
    both = regularizers.get("l1_l2")
    assert (both.l1, both.l2) == (0.01, 0.01)


def test_constraints():
    w = tf.constant(W)
    norms = np.sqrt((W ** 2).sum(0))
    np.testing.assert_allclose(constraints.max_norm(2.0)(w).numpy(),
                               W * np.minimum(norms, 2) / (norms + 1e-7), rtol=1e-5)
    np.testing.assert_array_equal(constraints.non_neg()(w).numpy(), np.maximum(W, 0))
    np.testing.assert_allclose(np.sqrt((constraints.unit_norm()(w).numpy() ** 2).sum(0)), 1,
                               rtol=1e-5)
    mm = constraints.min_max_norm(5.0, 6.0)(w).numpy()
    np.testing.assert_allclose(np.sqrt((mm ** 2).sum(0)), np.clip(norms, 5, 6), rtol=1e-5)
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    cfg = constraints.serialize(constraints.MaxNorm(3, axis=1))
    again = constraints.deserialize(cfg)
    assert (again.max_value, again.axis) == (3, 1)
