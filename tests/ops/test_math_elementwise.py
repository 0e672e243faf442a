"""Error paths and TF-specific behaviour of numflow/ops/math_elementwise.py."""
import warnings

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors

BAD = (errors.InvalidArgumentError, ValueError)


def test_dtype_mismatch_is_type_error():
    with pytest.raises(TypeError, match="Maximum"):
        tf.math.maximum(tf.constant([1.0]), tf.constant([1]))
    with pytest.raises(TypeError, match="int32"):
        tf.math.less(tf.constant([1]), 0.5)


def test_float_only_ops_reject_ints():
    for fn in (tf.math.log, tf.math.exp, tf.math.sqrt, tf.math.sigmoid, tf.math.floor):
        with pytest.raises(TypeError, match="not in the list of allowed values"):
            fn(tf.constant([1, 2]))


def test_logical_ops_need_bool():
    with pytest.raises(TypeError):
        tf.math.logical_and(tf.constant([1.0]), tf.constant([1.0]))
    with pytest.raises(TypeError):
        tf.math.logical_not(tf.constant([1]))


def test_integer_division_by_zero_raises():
    with pytest.raises(errors.InvalidArgumentError, match="division by zero"):
        tf.math.floordiv(tf.constant([1, 2]), tf.constant([1, 0]))
    with pytest.raises(errors.InvalidArgumentError, match="division by zero"):
        tf.math.floormod(tf.constant([1, 2]), tf.constant([0, 1]))


def test_float_division_by_zero_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tf.math.floordiv(tf.constant([1.0, -1.0]), 0.0).numpy()
        assert np.isinf(out).all()
        assert np.isinf(tf.math.log(tf.constant([0.0])).numpy()).all()
        assert np.isnan(tf.math.sqrt(tf.constant([-1.0])).numpy()).all()


def test_floormod_sign_follows_divisor_and_python_operators():
    x = tf.constant([-7, 7])
    assert (x % 3).numpy().tolist() == [2, 1]
    assert (x // 3).numpy().tolist() == [-3, 2]
    assert (tf.constant(2.0) ** 3).numpy() == 8.0
    assert abs(tf.constant(-2)).numpy() == 2


def test_round_is_half_to_even():
    out = tf.math.round(tf.constant([0.5, 1.5, 2.5, -2.5])).numpy()
    assert out.tolist() == [0.0, 2.0, 2.0, -2.0]


def test_sigmoid_extremes_stay_float32_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tf.sigmoid(tf.constant([-1e4, 1e4])).numpy()
    assert out.dtype == np.float32 and out.tolist() == [0.0, 1.0]


def test_incompatible_broadcast_in_graph_mode_raises_at_construction():
    g = tf.Graph()
    with g.as_default():
        a = tf1.placeholder(tf.float32, [2, 3])
        b = tf1.placeholder(tf.float32, [4])
        with pytest.raises(ValueError, match="Dimensions must be equal"):
            tf.math.maximum(a, b)


def test_where_v1_and_v2():
    c = tf.constant([True, False])
    x = tf.constant([[1, 2], [3, 4]])
    y = tf.constant([[5, 6], [7, 8]])
    assert tf1.where(c, x, y).numpy().tolist() == [[1, 2], [7, 8]]
    assert tf.where(c, x, y).numpy().tolist() == [[1, 6], [3, 8]]
    with pytest.raises(ValueError):
        tf.where(c, x)
    with pytest.raises(BAD):
        tf1.where(c, x, tf.constant([1, 2]))
    assert tf.where(tf.constant([0, 3, 0, 1])).numpy().tolist() == [[1], [3]]


def test_clip_helpers():
    t = tf.constant([3.0, 4.0])
    assert np.allclose(tf.clip_by_norm(t, 1.0).numpy(), [0.6, 0.8])
    assert tf.clip_by_norm(tf.zeros([2]), 1.0).numpy().tolist() == [0.0, 0.0]
    assert tf.clip_by_value(t, 3.5, 3.7).numpy().tolist() == pytest.approx([3.5, 3.7])


def test_public_names():
    assert tf.math.log is not None and not hasattr(tf, "log")
    assert tf1.log is tf.math.log and tf1.mod is tf.math.floormod
    assert tf.nn.sigmoid is tf.sigmoid and tf.nn.tanh is tf.tanh
    import numflow.v1 as tfv1
    assert tfv1.select is tf1.where
