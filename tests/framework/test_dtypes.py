import numpy as np
import pytest

import numflow as tf
from numflow.framework import dtypes


def test_names_and_numpy_types():
    assert tf.float32.name == "float32" and tf.float32.as_numpy_dtype is np.float32
    assert tf.as_dtype("float") is tf.float32
    assert tf.as_dtype("double") is tf.float64
    assert tf.as_dtype(np.int64) is tf.int64
    assert tf.as_dtype(np.dtype("uint8")) is tf.uint8
    assert tf.as_dtype(tf.bool.as_datatype_enum) is tf.bool
    assert tf.as_dtype(str) is tf.string


def test_properties():
    assert tf.float16.is_floating and not tf.int32.is_floating
    assert tf.uint8.is_unsigned and tf.int8.is_integer
    assert tf.int8.min == -128 and tf.uint8.max == 255
    assert tf.float32.size == 4
    assert tf.float32 == "float32" and tf.float32 != tf.float64


def test_unknown_dtype_raises_type_error():
    with pytest.raises(TypeError):
        tf.as_dtype("float31")
    with pytest.raises(TypeError):
        tf.as_dtype(object())


def test_conversion_rules_follow_tf():
    assert tf.constant(1.5).dtype is tf.float32
    assert tf.constant(3).dtype is tf.int32
    assert tf.constant(2**40).dtype is tf.int64
    assert tf.constant([1.0, 2.0]).dtype is tf.float32
    assert tf.constant(np.zeros(2)).dtype is tf.float64      # NumPy arrays keep their dtype
    assert tf.constant(True).dtype is tf.bool
    assert tf.constant("ab").dtype is tf.string
    assert tf.constant(2, dtype=tf.float32).dtype is tf.float32


def test_no_silent_mixing():
    with pytest.raises(TypeError):
        tf.constant(1.0) + tf.constant(1)
    with pytest.raises(TypeError):
        tf.constant(1.5, dtype=tf.int32)
    # a Python scalar takes the tensor's dtype
    assert (tf.constant(1.0) + 1).dtype is tf.float32
    assert (2 * tf.constant(3)).numpy() == 6


def test_ref_dtype():
    ref = tf.float32._as_ref
    assert ref.name == "float32_ref" and ref.base_dtype is tf.float32


def test_dtype_of_value():
    assert dtypes.dtype_of_value(1) is tf.int32
    assert dtypes.dtype_of_value(1.0) is tf.float32
    with pytest.raises(TypeError):
        dtypes.dtype_of_value(object())
