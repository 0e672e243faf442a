"""tf.raw_ops.ResourceApplyAdam (numflow/ops/training_ops.py) in eager, graph and
tf.function, its errors, and the optimizers that use it."""
import numpy as np
import pytest

import numflow as tf
from numflow.framework import errors

SCALARS = dict(beta1_power=0.9, beta2_power=0.999, lr=0.1, beta1=0.9, beta2=0.999,
               epsilon=1e-7)


def _vars(shape=(3, 2)):
    return (tf.Variable(np.ones(shape, np.float32)), tf.Variable(np.zeros(shape, np.float32)),
            tf.Variable(np.zeros(shape, np.float32)))


def _expected_after_one_step(grad=2.0):
    alpha = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    m, v = 0.1 * grad, 0.001 * grad * grad
    return 1 - alpha * m / (np.sqrt(v) + 1e-7), m, v


def test_eager_updates_all_three_variables():
    var, m, v = _vars()
    out = tf.raw_ops.ResourceApplyAdam(var=var.handle, m=m.handle, v=v.handle,
                                       grad=np.full((3, 2), 2, np.float32), **SCALARS)
    assert out is None
    # 1 - beta2 is computed in float32 (as TF's kernel does): 1.0000467e-3, not 1e-3.
    for variable, want in zip((var, m, v), _expected_after_one_step()):
        np.testing.assert_allclose(variable.numpy(), np.full((3, 2), want), rtol=2e-5)


def test_values_read_before_the_update_keep_their_value():
    var, m, v = _vars()
    before = var.value()
    held = var.numpy()
    tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=np.ones((3, 2), np.float32),
                                 **SCALARS)
    np.testing.assert_array_equal(before.numpy(), 1.0)
    np.testing.assert_array_equal(held, 1.0)
    assert float(var.numpy()[0, 0]) < 1.0


def test_graph_mode_returns_the_operation(graph_mode):
    var, m, v = _vars()
    op = tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=tf.fill([3, 2], 2.0), **SCALARS)
    assert op.type == "ResourceApplyAdam" and op.outputs == []
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        assert sess.run(op) is None
        want = _expected_after_one_step()
        np.testing.assert_allclose(sess.run(var), np.full((3, 2), want[0]), rtol=1e-6)
        np.testing.assert_allclose(sess.run(m), np.full((3, 2), want[1]), rtol=1e-6)


def test_in_tf_function_reads_are_ordered_around_the_update():
    var, m, v = _vars()

    @tf.function
    def step(g):
        before = var.read_value()
        tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=g, **SCALARS)
        return before, var.read_value(), m.read_value()

    before, after, m_after = step(tf.fill([3, 2], 2.0))
    want = _expected_after_one_step()
    np.testing.assert_array_equal(before.numpy(), 1.0)
    np.testing.assert_allclose(after.numpy(), np.full((3, 2), want[0]), rtol=1e-6)
    np.testing.assert_allclose(m_after.numpy(), np.full((3, 2), want[1]), rtol=1e-6)


def test_non_scalar_hyperparameter_is_rejected():
    var, m, v = _vars()
    args = dict(SCALARS, lr=[0.1, 0.2])
    with pytest.raises(errors.InvalidArgumentError, match="lr is not a scalar: \\[2\\]"):
        tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=np.ones((3, 2), np.float32),
                                     **args)
    np.testing.assert_array_equal(var.numpy(), 1.0)


def test_grad_of_the_wrong_shape_is_rejected_in_both_modes(graph_mode):
    var, m, v = _vars()
    with pytest.raises(errors.InvalidArgumentError, match="var and grad do not have the same"):
        tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=tf.ones([2, 3]), **SCALARS)


def test_grad_of_the_wrong_shape_is_rejected_eagerly():
    var, m, v = _vars()
    with pytest.raises(errors.InvalidArgumentError, match="var and grad do not have the same"):
        tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=np.ones(6, np.float32), **SCALARS)
    np.testing.assert_array_equal(var.numpy(), 1.0)


def test_wrong_dtype_and_non_variable_are_rejected():
    var, m, v = _vars()
    with pytest.raises((TypeError, ValueError)):
        tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=tf.ones([3, 2], tf.float64),
                                     **SCALARS)
    with pytest.raises(TypeError, match="must be a tf.Variable"):
        tf.raw_ops.ResourceApplyAdam(var=np.ones((3, 2)), m=m, v=v,
                                     grad=np.ones((3, 2), np.float32), **SCALARS)


def test_uninitialized_slot_fails_with_its_name(graph_mode):
    var, m, v = _vars()
    op = tf.raw_ops.ResourceApplyAdam(var=var, m=m, v=v, grad=tf.ones([3, 2]), **SCALARS)
    with tf.compat.v1.Session() as sess:
        sess.run(var.initializer)
        with pytest.raises(errors.FailedPreconditionError, match="uninitialized value"):
            sess.run(op)


def _train_tf1(steps, use_v1):
    """Three TF1 Adam steps on a quadratic; returns the variable's values."""
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.array([1.0, -2.0, 3.0], np.float32))
        loss = tf.reduce_sum(tf.square(w - 0.5))
        train = tf.compat.v1.train.AdamOptimizer(0.1).minimize(loss)
        assert any(op.type == "ResourceApplyAdam" for op in g.get_operations()) == use_v1
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return [sess.run(train) or sess.run(w) for _ in range(steps)]


def test_tf1_adam_optimizer_uses_the_fused_op_and_tf_arithmetic():
    got = _train_tf1(3, True)
    w = np.array([1.0, -2.0, 3.0])
    m = v = np.zeros(3)
    for t in range(1, 4):
        grad = 2 * (w - 0.5)
        m = m + (grad - m) * 0.1
        v = v + (grad * grad - v) * 0.001
        w = w - 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) * m / (np.sqrt(v) + 1e-8)
        np.testing.assert_allclose(got[t - 1], w, rtol=5e-6)
