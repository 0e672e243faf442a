"""fuse_bias_activation: MatMul/Conv2D + bias-add (+ Relu) become one fused node; forward
and gradient results bit-identical; no fusion where an intermediate is visible."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1



def _dense_net(relu=True, fetch_pre=False):
    def build():
        R = np.random.RandomState(3)
        x = tf1.placeholder(tf.float32, [None, 6])
        w = tf1.Variable(R.randn(6, 5).astype(np.float32))
        b = tf1.Variable(R.randn(5).astype(np.float32))
        pre = tf.nn.bias_add(tf.matmul(x, w), b)
        y = tf.nn.relu(pre) if relu else pre
        loss = tf.reduce_sum(y * y)
        gw, gb = tf1.gradients(loss, [w, b])
        fetches = [y, gw, gb] + ([pre] if fetch_pre else [])
        return fetches, {x: R.randn(4, 6).astype(np.float32)}
    return build


def _conv_net():
    def build():
        R = np.random.RandomState(3)
        x = tf1.placeholder(tf.float32, [None, 8, 8, 2])
        w = tf1.Variable(R.randn(3, 3, 2, 4).astype(np.float32))
        b = tf1.Variable(R.randn(4).astype(np.float32))
        y = tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME") + b)      # Keras's AddV2 form
        gx, gw, gb = tf1.gradients(tf.reduce_sum(y * y), [x, w, b])
        return [y, gx, gw, gb], {x: R.randn(2, 8, 8, 2).astype(np.float32)}
    return build


@pytest.mark.parametrize("relu", [True, False])
def test_matmul_bias_relu_fused_bitwise(runner, relu):
    on, off = runner.same(_dense_net(relu), ["fuse_bias_activation"])
    assert "_FusedMatMul" in runner.types(on) and "BiasAdd" not in runner.types(on)
    assert ("Relu" in runner.types(on)) is False
    assert "_FusedMatMul" not in runner.types(off)


def test_conv_plus_bias_relu_fused_bitwise(runner):
    on, off = runner.same(_conv_net(), ["fuse_bias_activation"])
    fused, = [n for n in on.program.nodes if n.type == "_FusedConv2D"]
    assert fused.attrs["activation"] == "Relu"
    assert "Conv2D" not in runner.types(on) and "Relu" not in runner.types(on)


def test_visible_intermediate_is_not_fused(runner):
    on, _ = runner.same(_dense_net(relu=True, fetch_pre=True), ["fuse_bias_activation"])
    fused, = [n for n in on.program.nodes if n.type == "_FusedMatMul"]
    assert fused.attrs["activation"] is None        # the bias-add output is fetched
    assert "Relu" in runner.types(on)


def test_failure_names_the_original_op(graph_mode):
    x = tf1.placeholder(tf.float32, [None, None])
    w = tf1.placeholder(tf.float32, [None, None])
    y = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w), tf.constant([1.0, 2.0]), name="my_bias"))
    with tf1.Session() as sess:
        ok = sess.run(y * 1.0, {x: np.ones((1, 2)), w: np.ones((2, 2))})
        assert ok.tolist() == [[3.0, 4.0]]
        with pytest.raises(tf.errors.InvalidArgumentError, match="node my_bias"):
            sess.run(y * 1.0, {x: np.ones((1, 2)), w: np.ones((2, 3))})


def test_tf1_weights_read_after_an_assign_in_between_are_not_fused_across(graph_mode):
    x = tf.constant(np.ones((1, 2), np.float32))
    w = tf1.Variable(np.ones((2, 2), np.float32))
    b = tf1.Variable(np.zeros(2, np.float32))
    prod = tf.matmul(x, w)
    with tf.control_dependencies([prod]):
        bump = w.assign(w * 10.0)
    with tf.control_dependencies([bump]):
        b_read = tf.identity(b)
    y = tf.nn.bias_add(prod, b_read)
    with tf1.Session() as sess:
        sess.run([w.initializer, b.initializer])
        assert sess.run(y).tolist() == [[2.0, 2.0]]     # the product saw w before the assign
