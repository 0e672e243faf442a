import numpy as np
import pytest

import numflow as tf


def test_value_shape_dtype_repr():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert x.shape == (2, 2) and x.dtype is tf.float32
    assert x.numpy().tolist() == [[1, 2], [3, 4]]
    assert "numpy=" in repr(x) and "shape=(2, 2)" in repr(x)
    assert np.asarray(x).dtype == np.float32
    assert len(x) == 2 and [r.numpy().tolist() for r in x] == [[1, 2], [3, 4]]
    assert float(tf.constant(2.5)) == 2.5 and bool(tf.constant(True))
    assert x.device.endswith("CPU:0")
    assert isinstance(x, tf.Tensor)


def test_operators_broadcast():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((x + [10.0, 20.0]).numpy(), [[11, 22], [13, 24]])
    np.testing.assert_array_equal((1.0 - x).numpy(), [[0, -1], [-2, -3]])
    np.testing.assert_array_equal((x * 2).numpy(), [[2, 4], [6, 8]])
    np.testing.assert_array_equal((x / 2).numpy(), [[0.5, 1], [1.5, 2]])
    np.testing.assert_array_equal((x @ x).numpy(), [[7, 10], [15, 22]])
    np.testing.assert_array_equal((-x).numpy(), -x.numpy())
    np.testing.assert_array_equal((np.float32(2) * x).numpy(), [[2, 4], [6, 8]])


def test_kernel_errors_become_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        tf.matmul(tf.ones([2, 3]), tf.ones([2, 3]))
    assert "MatMul" in str(info.value)


def test_variable_eager():
    v = tf.Variable([1.0, 2.0], name="v")
    assert v.numpy().tolist() == [1.0, 2.0] and v.name == "v:0"
    v.assign([3.0, 4.0])
    v.assign_add([1.0, 1.0])
    v.assign_sub([0.5, 0.5])
    assert v.numpy().tolist() == [3.5, 4.5]
    assert (v * 2).numpy().tolist() == [7.0, 9.0]
    assert tf.reduce_sum(v).numpy() == 8.0
    with pytest.raises(tf.errors.InvalidArgumentError):
        v.assign([1.0, 2.0, 3.0])
    assert v.numpy().tolist() == [3.5, 4.5]   # a failed assign changes nothing
    with pytest.raises(ValueError):
        tf.Variable(None)


def test_integer_division_rules():
    assert (tf.constant(7) / tf.constant(2)).numpy() == 3.5          # truediv -> float64
    assert (tf.constant(7) / tf.constant(2)).dtype is tf.float64


def test_shape_is_the_tensor_shape_of_the_array():
    for value in (np.float32(1), np.ones((0, 3)), np.ones((2, 1, 4), np.int8)):
        shape = tf.constant(value).shape
        assert shape == tf.TensorShape(value.shape) and shape.as_list() == list(value.shape)
        assert shape.rank == value.ndim and shape.is_fully_defined()
        assert hash(shape) == hash(tf.TensorShape(value.shape))
