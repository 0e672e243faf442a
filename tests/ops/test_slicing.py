"""numflow/ops/slicing.py: TF's __getitem__ rules, error paths, gradients."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors

BAD = (errors.InvalidArgumentError, ValueError)
A = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
X = tf.constant(A)


@pytest.mark.parametrize("key", [
    (0,), (-1,), (slice(None, None, -1),), (Ellipsis, 1), (slice(1, None), None, 2),
    (None, Ellipsis, None), (1, slice(None, None, 2), slice(3, 0, -1)), (slice(5, 10),),
    (slice(-10, 10),), (0, -3, -4)])
def test_matches_numpy(key):
    assert np.array_equal(X[key].numpy(), A[key])
    with tf.Graph().as_default():
        p = tf1.placeholder(tf.float32, [2, None, 4])
        y = p[key]
        with tf1.Session() as sess:
            v = sess.run(y, {p: A})
        assert np.array_equal(v, A[key])
        assert y.shape.is_compatible_with(v.shape)


def test_tensor_indices():
    i = tf.constant(1)
    assert np.array_equal(X[i, :i + 1].numpy(), A[1, :2])
    with tf.Graph().as_default():
        j = tf1.placeholder(tf.int32, [])
        y = tf.constant(A)[j]
        assert y.shape.as_list() == [3, 4]
        with tf1.Session() as sess:
            assert np.array_equal(sess.run(y, {j: -1}), A[-1])
            with pytest.raises(errors.InvalidArgumentError, match="out of bounds"):
                sess.run(y, {j: 2})


def test_errors():
    with pytest.raises(BAD, match="out of bounds"):
        X[2]
    with pytest.raises(BAD, match="out of bounds"):
        X[:, -4]
    with pytest.raises(BAD, match="Index out of range"):
        X[0, 0, 0, 0]
    with pytest.raises(TypeError):
        X[[0, 1]]
    with pytest.raises(TypeError):
        X[0.5]
    with pytest.raises(TypeError):
        X[tf.constant([0, 1])]
    with pytest.raises(ValueError, match="step"):
        X[::0]
    with pytest.raises(BAD):
        tf.slice(X, [0, 2, 0], [1, 2, 1])
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="out of bounds"):
            tf.constant(A)[5]


def test_gradient_scatters_back():
    x = tf.constant(A)
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(x[1, ::2, -1] * 3.0) + tf.reduce_sum(tf.slice(x, [0, 1, 1], [1, 1, 2]))
    g = t.gradient(y, x).numpy()
    want = np.zeros_like(A)
    want[1, ::2, -1] += 3
    want[0, 1, 1:3] += 1
    assert np.array_equal(g, want)
