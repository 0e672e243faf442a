import numpy as np
import pytest

import numflow as tf


def test_gradient_of_variables_and_watched_tensors():
    w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    x = tf.constant([[1.0, 1.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.matmul(x, w) * 3.0)
    gw = tape.gradient(y, w)
    np.testing.assert_allclose(gw.numpy(), [[3, 3], [3, 3]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.matmul(x, w))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[3, 7]])


def test_unconnected_and_nested_structures():
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = a * 3.0
    g = tape.gradient(y, {"a": a, "b": [b]})
    assert g["a"].numpy() == 3.0 and g["b"] == [None]
    with tf.GradientTape() as tape:
        y = a * 3.0
    assert tape.gradient(y, b, unconnected_gradients="zero").numpy() == 0.0


def test_non_persistent_tape_single_use():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError):
        tape.gradient(y, x)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * x
    assert tape.gradient(y, x).numpy() == 4.0 and tape.gradient(z, x).numpy() == 12.0


def test_higher_order():
    x = tf.constant(3.0)
    with tf.GradientTape() as t2:
        t2.watch(x)
        with tf.GradientTape() as t1:
            t1.watch(x)
            y = x * x * x
        dy = t1.gradient(y, x)
    assert dy.numpy() == 27.0 and t2.gradient(dy, x).numpy() == 18.0


def test_stop_recording_and_stop_gradient_and_watch_accessed():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        with tape.stop_recording():
            z = x * x
        y = x * tf.stop_gradient(x) + z
    assert tape.gradient(y, x).numpy() == 2.0
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        y = x * x
    assert tape.gradient(y, x) is None


def test_broadcast_gradients_are_unbroadcast_once():
    b = tf.Variable([1.0, 2.0, 3.0])
    x = tf.ones([4, 3])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum((x + b) * (x + b))
    np.testing.assert_allclose(tape.gradient(y, b).numpy(), 4 * 2 * np.array([2.0, 3.0, 4.0]))


def test_fan_in_sums_and_deep_chains():
    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = x
        for _ in range(3000):     # deep graph: the walk is iterative
            y = y + x * 0.001
    assert abs(tape.gradient(y, x).numpy() - 4.0) < 1e-3


def test_jacobian():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(tape.jacobian(y, x).numpy(), [[2, 0], [0, 4]])
