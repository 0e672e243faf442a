"""Tests for numflow.ops.apply: convert_to_tensor's eager fast paths give what the general
conversion gives, and graph mode is unaffected."""
import numpy as np
import pytest

import numflow as tf
from numflow.eager.tensor import EagerTensor
from numflow.ops.apply import apply_op, convert_to_tensor


def test_eager_tensor_and_array_conversion():
    t = tf.constant([1.0, 2.0])
    assert convert_to_tensor(t) is t
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    c = convert_to_tensor(a)
    assert type(c) is EagerTensor and c.dtype is tf.float64 and c.numpy() is a   # no copy
    assert convert_to_tensor(a, dtype_hint=tf.float32).dtype is tf.float64   # arrays keep theirs
    assert convert_to_tensor(a.astype(np.float32), dtype=tf.float32).dtype is tf.float32
    with pytest.raises(TypeError, match="requested dtype int32"):
        convert_to_tensor(t, dtype=tf.int32)
    s = convert_to_tensor(np.array(["ab", "c"]))
    assert s.dtype is tf.string and s.numpy().tolist() == [b"ab", b"c"]

    class Sub(np.ndarray):
        pass
    assert convert_to_tensor(np.ones((1, 2)).view(Sub)).shape == (1, 2)   # general path


def test_graph_mode_conversion_adds_constants(graph_mode):
    a = np.ones((2, 2), np.float32)
    c = convert_to_tensor(a)
    assert type(c) is not EagerTensor and c.op.type == "Const"


def test_eager_ops_name_the_op_on_kernel_errors():
    with pytest.raises(tf.errors.InvalidArgumentError, match="MatMul.*input shapes"):
        tf.matmul(tf.ones([2, 3]), tf.ones([2, 3]))
    from numflow.ops import nn_ops
    assert apply_op(nn_ops._RELU, [tf.constant([-1.0, 2.0])]).numpy().tolist() == [0.0, 2.0]
