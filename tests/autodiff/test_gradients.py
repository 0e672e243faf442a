import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1


def test_tf_gradients_graph_mode(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 2])
    w = tf1.Variable([[1.0], [2.0]], name="w")
    b = tf1.Variable([0.5], name="b")
    y = tf1.reduce_sum(tf1.matmul(x, w) + b)
    gw, gb, gx = tf1.gradients(y, [w, b, x])
    assert gw.op.name.startswith("gradients/")
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        vw, vb, vx = sess.run([gw, gb, gx], {x: [[1.0, 2.0], [3.0, 4.0]]})
    np.testing.assert_allclose(vw, [[4.0], [6.0]])
    np.testing.assert_allclose(vb, [2.0])
    np.testing.assert_allclose(vx, [[1.0, 2.0], [1.0, 2.0]])


def test_unconnected_and_stop_gradients(graph_mode):
    a = tf1.constant(2.0)
    b = tf1.constant(3.0)
    c = a * b
    d = c * a
    assert tf1.gradients(c, [tf1.constant(1.0)]) == [None]
    (ga,) = tf1.gradients(d, [a], stop_gradients=[c])
    with tf1.Session() as sess:
        assert sess.run(ga) == 6.0      # c treated as a constant
        (gz,) = tf1.gradients(c, [d], unconnected_gradients="zero")
        assert sess.run(gz) == 0.0


def test_grad_ys_and_second_derivative(graph_mode):
    x = tf1.constant(3.0)
    y = x * x * x
    (g,) = tf1.gradients(y, [x], grad_ys=[tf1.constant(2.0)])
    (g1,) = tf1.gradients(y, [x])
    (g2,) = tf1.gradients(g1, [x])
    with tf1.Session() as sess:
        assert sess.run(g) == 54.0 and sess.run(g2) == 18.0


def test_gradients_eager_raises():
    with pytest.raises(RuntimeError):
        tf1.gradients(tf.constant(1.0), [tf.constant(1.0)])
