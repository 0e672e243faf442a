"""Error paths and TF conventions of numflow/ops/reductions.py."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors

BAD = (errors.InvalidArgumentError, ValueError)
X = tf.constant([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])


def test_bad_axis():
    with pytest.raises(BAD, match="Invalid reduction dimension 2"):
        tf.reduce_max(X, axis=2)
    with pytest.raises(BAD, match="-3"):
        tf.reduce_min(X, axis=-3)
    with pytest.raises(BAD, match="range"):
        tf.math.argmax(X, axis=2)
    with pytest.raises(BAD, match="out of range"):
        tf.math.cumsum(X, axis=2)


def test_bad_axis_in_graph_mode_raises_at_construction():
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [None, 3])
        with pytest.raises(ValueError, match="Invalid reduction dimension"):
            tf.reduce_max(x, axis=3)
        with pytest.raises(ValueError, match="dimension in the range"):
            tf.math.argmax(x, 5)


def test_dtype_rules():
    with pytest.raises(TypeError):
        tf.reduce_all(X)
    with pytest.raises(TypeError):
        tf.reduce_max(tf.constant([True]))
    with pytest.raises(TypeError):
        tf.math.argmax(X, output_type=tf.float32)


def test_v1_spellings():
    assert tf1.reduce_max(X, reduction_indices=[1], keep_dims=True).numpy().tolist() == \
        [[5.0], [6.0]]
    assert tf1.argmax(X, dimension=1).numpy().tolist() == [1, 2]
    assert tf1.count_nonzero(input=tf.constant([0, 1, 2])).numpy() == 2
    assert tf.math.argmax(X).dtype == tf.int64   # axis defaults to 0


def test_empty_reductions_use_identities():
    e = tf.zeros([0, 3])
    assert np.isneginf(tf.reduce_max(e, axis=0).numpy()).all()
    assert np.isposinf(tf.reduce_min(e, axis=0).numpy()).all()
    assert tf.reduce_prod(e, axis=0).numpy().tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(BAD):
        tf.math.argmax(e, axis=0)


def test_top_k_and_in_top_k():
    v, i = tf.math.top_k(tf.constant([1.0, 3.0, 3.0, 2.0]), k=3)
    assert v.numpy().tolist() == [3.0, 3.0, 2.0] and i.numpy().tolist() == [1, 2, 3]
    with pytest.raises(BAD, match="at least k=5"):
        tf.math.top_k(X, 5)
    with pytest.raises(ValueError, match="k >= 0"):
        tf.math.top_k(X, -1)
    p = tf.constant([[0.1, 0.5, 0.4], [0.2, 0.2, 0.6]])
    # ties straddling the boundary count as in the top k; out-of-range targets are False
    assert tf.math.in_top_k(tf.constant([2, 0]), p, 1).numpy().tolist() == [False, False]
    assert tf1.nn.in_top_k(p, tf.constant([1, 7]), 1).numpy().tolist() == [True, False]
    assert tf1.nn.in_top_k(p, tf.constant([0, 1]), 2).numpy().tolist() == [False, True]


def test_logsumexp_is_stable():
    out = tf.reduce_logsumexp(tf.constant([1000.0, 1000.0])).numpy()
    assert out == pytest.approx(1000.0 + np.log(2.0))
    out = tf.reduce_logsumexp(tf.constant([-np.inf, -np.inf])).numpy()
    assert np.isneginf(out)
