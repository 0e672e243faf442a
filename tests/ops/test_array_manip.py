"""Error paths of numflow/ops/array_manip.py, array_gather.py and array_create.py."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors

BAD = (errors.InvalidArgumentError, ValueError)
X = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def test_gather_out_of_range_never_wraps():
    with pytest.raises(BAD, match=r"indices\[0\] = 2 is not in \[0, 2\)"):
        tf.gather(X, [2])
    with pytest.raises(BAD, match=r"= -1 is not in"):
        tf.gather(X, [-1])
    with pytest.raises(BAD, match="axis 2"):
        tf.gather(X, [0], axis=2)
    with pytest.raises(TypeError):
        tf.gather(X, [0.5])
    with pytest.raises(BAD, match="does not index"):
        tf.gather_nd(X, [[2, 0]])
    with pytest.raises(BAD, match="does not index"):
        tf.scatter_nd([[4]], [1.0], [3])
    with pytest.raises(BAD, match="segment_ids"):
        tf.math.unsorted_segment_sum(X, [0, 5], 3)


def test_gather_out_of_range_in_a_session():
    with tf.Graph().as_default():
        i = tf1.placeholder(tf.int32, [None])
        y = tf.gather(X.numpy(), i)
        with tf1.Session() as sess:
            assert sess.run(y, {i: [1]}).tolist() == [[4.0, 5.0, 6.0]]
            with pytest.raises(errors.InvalidArgumentError, match="GatherV2"):
                sess.run(y, {i: [3]})


def test_one_hot_rules():
    with pytest.raises(BAD, match="axis"):
        tf.one_hot([0, 1], 3, axis=3)
    with pytest.raises(BAD, match="depth"):
        tf.one_hot([0, 1], -1)
    with pytest.raises(TypeError):
        tf.one_hot([0.5], 3)
    # TF's rule: out-of-range indices (negative too) give an all-off row; nothing wraps.
    assert tf.one_hot([-1, 3], 3).numpy().tolist() == [[0, 0, 0], [0, 0, 0]]
    assert tf.one_hot([1], 2, on_value=7).dtype == tf.int32


def test_split_errors():
    with pytest.raises(BAD, match="evenly divide"):
        tf.split(X, 2, axis=1)
    with pytest.raises(BAD, match="Determined shape"):
        tf.split(X, [1, 1], axis=1)
    with pytest.raises(BAD, match="one -1"):
        tf.split(X, [-1, -1, 3], axis=1)
    with pytest.raises(BAD, match="axis 5"):
        tf.split(X, 3, axis=5)
    with tf.Graph().as_default():
        p = tf1.placeholder(tf.float32, [None, 4])
        with pytest.raises(ValueError, match="evenly divide"):
            tf.split(p, 3, axis=1)
        assert [t.shape.as_list() for t in tf.split(p, [1, -1], 1)] == [[None, 1], [None, 3]]


def test_shape_errors():
    with pytest.raises(BAD, match="dimensions of inputs should match"):
        tf.concat([X, tf.ones([3, 3])], 1)
    with pytest.raises(BAD, match="squeeze dim"):
        tf.squeeze(X, [0])
    with pytest.raises(BAD, match="axis 4"):
        tf.expand_dims(X, 4)
    with pytest.raises(BAD, match="permutation"):
        tf.transpose(X, [0, 0])
    with pytest.raises(BAD, match="length 2"):
        tf.tile(X, [1, 2, 3])
    with pytest.raises(BAD, match="less than"):
        tf.pad(X, [[2, 2], [0, 0]], "REFLECT")
    with pytest.raises(BAD, match="rank of inputs"):
        tf.pad(X, [[1, 1]])
    with pytest.raises(ValueError, match="WRAP"):
        tf.pad(X, [[1, 1], [1, 1]], "WRAP")
    with pytest.raises(BAD, match="more than once"):
        tf.reverse(X, [1, -1])
    with pytest.raises(BAD):
        tf.broadcast_to(X, [3, 3])
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Dimension 0 in both shapes"):
            tf.concat([tf1.placeholder(tf.float32, [2, 3]), tf1.placeholder(tf.float32, [3, 3])],
                      1)


def test_boolean_mask_and_unique():
    with pytest.raises(ValueError, match="incompatible"):
        tf.boolean_mask(X, [True, False, True])
    with pytest.raises(ValueError, match="scalar"):
        tf.boolean_mask(X, True)
    with pytest.raises(BAD, match="1D"):
        tf.unique(X)


def test_range_and_linspace():
    assert tf.range(5).dtype == tf.int32 and tf.range(1.0, 2.0, 0.5).dtype == tf.float32
    assert tf.range(0, 5, 2, dtype=tf.int64).dtype == tf.int64
    assert tf.range(tf.constant(3, tf.int64)).dtype == tf.int64
    assert tf.range(5, 0, -2).numpy().tolist() == [5, 3, 1]
    with pytest.raises(BAD, match="start <= limit"):
        tf.range(5, 1, 1)
    with pytest.raises(BAD, match="delta != 0"):
        tf.range(0, 5, 0)
    with pytest.raises(BAD, match="num > 0"):
        tf.linspace(0.0, 1.0, 0)
    assert tf1.lin_space(0.0, 1.0, 3).numpy().tolist() == [0.0, 0.5, 1.0]


def test_convert_to_tensor_exports():
    assert tf.convert_to_tensor([1, 2]).dtype == tf.int32
    assert tf.convert_to_tensor(1, dtype_hint=tf.float32).dtype == tf.float32
    assert tf1.convert_to_tensor([1.0], tf.float32, "c").dtype == tf.float32
