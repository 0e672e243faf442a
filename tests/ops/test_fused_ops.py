"""Fused ops (numflow/ops/fused_ops.py): op-table rows (forward vs float64 references,
graph == eager, shapes, gradients vs central differences) and bit-for-bit equality with
the separate ops they replace."""
import numpy as np
import pytest

import numflow as tf
from numflow.ops import fused_ops
from numflow.ops.apply import apply_op
from numflow.kernels.conv import conv_output_size_and_padding
from numflow.testing import Row, add_rows

RNG = np.random.RandomState(7)
F32 = np.float32
ROWS = []


def rnd(*shape):
    return RNG.randn(*shape).astype(F32)


def ref_conv(x, w, strides, padding):
    """Direct float64 convolution (NHWC, HWIO), one tap at a time."""
    geom = [conv_output_size_and_padding(x.shape[1 + a], w.shape[a], strides[a], 1, padding)
            for a in range(2)]
    (oh, t, b), (ow, l, r) = geom
    xp = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)])
    out = 0
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            out = out + xp[:, i:i + oh * strides[0]:strides[0],
                           j:j + ow * strides[1]:strides[1]] @ w[i, j]
    return out


def _relu(x, act):
    return np.maximum(x, 0) if act == "Relu" else x


def fused_matmul(ta=False, tb=False, act=None):
    return lambda a, b, c: apply_op(fused_ops.FUSED_MATMUL, [a, b, c],
                                    {"transpose_a": ta, "transpose_b": tb, "activation": act})


def fused_conv(strides=(1, 1), padding="SAME", act=None):
    return lambda x, w, c: apply_op(fused_ops.FUSED_CONV2D, [x, w, c],
                                    {"strides": strides, "padding": padding,
                                     "dilations": (1, 1), "activation": act})


for act in (None, "Relu"):
    for ta, tb in ((False, False), (True, False), (False, True), (True, True)):
        a = rnd(4, 3) if ta else rnd(3, 4)
        b = rnd(5, 4) if tb else rnd(4, 5)
        ROWS.extend(add_rows([Row(
            "_FusedMatMul", fused_matmul(ta, tb, act), [a, b, rnd(5)],
            lambda x, y, c, ta=ta, tb=tb, act=act: _relu(
                (x.T if ta else x) @ (y.T if tb else y) + c, act),
            name=f"{act}_ta{int(ta)}_tb{int(tb)}")]))
    ROWS.extend(add_rows([Row(
        "_FusedMatMul", fused_matmul(act=act), [rnd(2, 3, 4), rnd(4, 2), rnd(2)],
        lambda x, y, c, act=act: _relu(x @ y + c, act), name=f"{act}_batched")]))
    for strides, padding in (((1, 1), "SAME"), ((2, 2), "VALID")):
        ROWS.extend(add_rows([Row(
            "_FusedConv2D", fused_conv(strides, padding, act),
            [rnd(2, 6, 5, 3), rnd(3, 3, 3, 4), rnd(4)],
            lambda x, w, c, s=strides, p=padding, act=act: _relu(
                ref_conv(x, w, s, p) + c, act),
            rtol=1e-4, atol=1e-5, name=f"{act}_{padding}_s{strides[0]}")]))


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()


@pytest.mark.parametrize("act", [None, "Relu"])
def test_fused_matmul_is_bitwise_the_separate_ops(act):
    a, b, c = rnd(33, 70), rnd(70, 21), rnd(21)
    fused = fused_matmul(act=act)(tf.constant(a), tf.constant(b), tf.constant(c)).numpy()
    ref = tf.nn.bias_add(tf.matmul(a, b), c)
    ref = (tf.nn.relu(ref) if act else ref).numpy()
    assert fused.dtype == np.float32 and np.array_equal(fused, ref)


@pytest.mark.parametrize("act", [None, "Relu"])
def test_fused_conv_is_bitwise_the_separate_ops(act):
    x, w, c = rnd(2, 9, 8, 3), rnd(5, 5, 3, 6), rnd(6)
    fused = fused_conv(act=act)(tf.constant(x), tf.constant(w), tf.constant(c)).numpy()
    ref = tf.nn.bias_add(tf.nn.conv2d(x, w, 1, "SAME"), c)
    ref = (tf.nn.relu(ref) if act else ref).numpy()
    assert fused.dtype == np.float32 and np.array_equal(fused, ref)


def test_bias_of_the_wrong_length_raises():
    with pytest.raises(tf.errors.InvalidArgumentError, match="as many biases"):
        fused_matmul()(tf.constant(rnd(2, 3)), tf.constant(rnd(3, 4)), tf.constant(rnd(3)))


def test_unknown_activation_is_rejected_in_graphs():
    g = tf.Graph()
    with g.as_default():
        with pytest.raises(ValueError, match="Unsupported fused activation"):
            apply_op(fused_ops.FUSED_MATMUL, [tf.constant(rnd(2, 3)), tf.constant(rnd(3, 4)),
                                               tf.constant(rnd(4))],
                     {"transpose_a": False, "transpose_b": False, "activation": "Elu"})
