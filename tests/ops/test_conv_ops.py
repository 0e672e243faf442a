"""tf.nn conv/pool ops: forward vs direct float64 loops, gradients (and the gradient ops'
own gradients) vs central differences, exact graph-mode static shapes, graph == eager,
data formats, argument forms and error paths."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors
from numflow.kernels.conv import conv_output_size_and_padding

from numflow.ops.apply import apply_op
from numflow.ops.registry import lookup
from numflow.testing import Row, add_rows, check_op

RNG = np.random.RandomState(1)
F32 = np.float32
ROWS = []


def rows(*rs):
    ROWS.extend(add_rows(rs))


def rnd(*shape):
    return RNG.randn(*shape).astype(F32)


def distinct(*shape):
    """No ties (max pooling's gradient is then well defined), spaced by 0.01."""
    n = int(np.prod(shape))
    return (RNG.permutation(n).reshape(shape) * 0.01 - n * 0.005).astype(F32)


# ---- float64 references ---------------------------------------------------------------------
def _geom(in_hw, k_hw, strides, padding, dilations):
    pads = [padding] * 2 if isinstance(padding, str) else padding
    return [conv_output_size_and_padding(in_hw[a], k_hw[a], strides[a], dilations[a], pads[a])
            for a in range(2)]


def ref_conv(x, w, strides=(1, 1), padding="SAME", dilations=(1, 1), depthwise=False):
    (oh, t, b), (ow, l, r) = _geom(x.shape[1:3], w.shape[:2], strides, padding, dilations)
    xp = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)])
    kh, kw = w.shape[:2]
    out = 0
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * dilations[0], j * dilations[1]
            patch = xp[:, y0:y0 + oh * strides[0]:strides[0], x0:x0 + ow * strides[1]:strides[1]]
            if depthwise:
                out = out + (patch[..., None] * w[i, j]).reshape(patch.shape[:3] + (-1,))
            else:
                out = out + patch @ w[i, j]
    return out


def ref_pool(x, k, strides, padding, op):
    (oh, t, b), (ow, l, r) = _geom(x.shape[1:3], k, strides, padding, (1, 1))
    fill = -np.inf if op == "max" else np.nan
    xp = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)], constant_values=fill)
    wins = np.stack([xp[:, i:i + oh * strides[0]:strides[0], j:j + ow * strides[1]:strides[1]]
                     for i in range(k[0]) for j in range(k[1])])
    return wins.max(0) if op == "max" else np.nanmean(wins, 0)


def ref_conv_backprop_input(w, dy, in_shape, strides=(1, 1), padding="SAME",
                            dilations=(1, 1), depthwise=False):
    n, h, wd, c = in_shape
    (oh, t, b), (ow, l, r) = _geom((h, wd), w.shape[:2], strides, padding, dilations)
    dx = np.zeros((n, h + t + b, wd + l + r, c))
    for i in range(w.shape[0]):
        for j in range(w.shape[1]):
            y0, x0 = i * dilations[0], j * dilations[1]
            if depthwise:
                part = (dy.reshape(n, oh, ow, c, -1) * w[i, j]).sum(-1)
            else:
                part = dy @ w[i, j].T
            dx[:, y0:y0 + oh * strides[0]:strides[0], x0:x0 + ow * strides[1]:strides[1]] += part
    return dx[:, t:t + h, l:l + wd]


def ref_conv_backprop_filter(x, dy, w_shape, strides=(1, 1), padding="SAME", dilations=(1, 1),
                             depthwise=False):
    (oh, t, b), (ow, l, r) = _geom(x.shape[1:3], w_shape[:2], strides, padding, dilations)
    xp = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)])
    dw = np.zeros(w_shape)
    for i in range(w_shape[0]):
        for j in range(w_shape[1]):
            y0, x0 = i * dilations[0], j * dilations[1]
            patch = xp[:, y0:y0 + oh * strides[0]:strides[0], x0:x0 + ow * strides[1]:strides[1]]
            if depthwise:
                dw[i, j] = np.einsum("nhwc,nhwcm->cm", patch,
                                     dy.reshape(dy.shape[:3] + (x.shape[3], -1)))
            else:
                dw[i, j] = np.einsum("nhwc,nhwo->co", patch, dy)
    return dw


def ref_max_pool_grad(x, dy, k, strides, padding):
    (oh, t, b), (ow, l, r) = _geom(x.shape[1:3], k, strides, padding, (1, 1))
    xp = np.pad(x, [(0, 0), (t, b), (l, r), (0, 0)], constant_values=-np.inf)
    dx = np.zeros(xp.shape)
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                for c in range(x.shape[3]):
                    y0, x0 = i * strides[0], j * strides[1]
                    win = xp[n, y0:y0 + k[0], x0:x0 + k[1], c]
                    a, bb = np.unravel_index(np.argmax(win), win.shape)
                    dx[n, y0 + a, x0 + bb, c] += dy[n, i, j, c]
    return dx[:, t:t + x.shape[1], l:l + x.shape[2]]


def ref_avg_pool_grad(dy, in_shape, k, strides, padding):
    (oh, t, b), (ow, l, r) = _geom(in_shape[1:3], k, strides, padding, (1, 1))
    ones = np.pad(np.ones(in_shape), [(0, 0), (t, b), (l, r), (0, 0)])
    dx = np.zeros(ones.shape)
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * strides[0], j * strides[1]
            cnt = ones[:, y0:y0 + k[0], x0:x0 + k[1]].sum((1, 2), keepdims=True)
            dx[:, y0:y0 + k[0], x0:x0 + k[1]] += dy[:, i:i + 1, j:j + 1] / cnt
    return dx[:, t:t + in_shape[1], l:l + in_shape[2]]


def raw(op_type, *static, **attrs):
    """``fn(*tensors)`` applying a registered op directly; ``static`` values go first
    (shape inputs) as constants."""
    return lambda *ts: apply_op(lookup(op_type), [tf.constant(np.asarray(v, np.int32))
                                                  for v in static] + list(ts), attrs)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---- conv2d and its gradient ops --------------------------------------------------------------
CONV_CASES = [
    # name, input, filter, strides, padding, dilations, second derivative
    ("same_s1", (2, 7, 6, 3), (3, 3, 3, 4), 1, "SAME", 1, True),
    ("valid_s2", (2, 9, 8, 2), (3, 2, 2, 3), [1, 2, 2, 1], "VALID", None, False),
    ("same_s2_even", (1, 8, 8, 2), (4, 4, 2, 2), 2, "SAME", 1, False),
    ("dilated", (1, 9, 9, 2), (3, 3, 2, 2), 1, "SAME", 2, False),
    ("explicit", (1, 5, 6, 2), (3, 3, 2, 3), [1, 2, 1, 1], [[0, 0], [2, 1], [0, 3], [0, 0]], 1,
     False),
    ("one_by_one", (2, 1, 1, 3), (1, 1, 3, 2), 1, "VALID", 1, False),
]
for name, xs, ws, strides, padding, dil, grad2 in CONV_CASES:
    s2 = _pair(strides) if not isinstance(strides, list) else tuple(strides[1:3])
    d2 = (1, 1) if dil is None else _pair(dil)
    p2 = padding if isinstance(padding, str) else tuple(tuple(p) for p in padding[1:3])
    ref_kw = dict(strides=s2, padding=p2, dilations=d2)
    x, w = rnd(*xs), rnd(*ws)
    dy = rnd(*ref_conv(x, w, **ref_kw).shape)
    rows(Row("Conv2D", lambda a, b, st=strides, p=padding, d=dil: tf.nn.conv2d(a, b, st, p,
                                                                               dilations=d),
             [x, w], lambda a, b, kw=ref_kw: ref_conv(a, b, **kw), rtol=1e-4, atol=1e-5,
             grad2=grad2, name=name),
         Row("Conv2DBackpropInput", raw("Conv2DBackpropInput", xs, **ref_kw), [w, dy],
             lambda a, b, xs=xs, kw=ref_kw: ref_conv_backprop_input(a, b, xs, **kw),
             rtol=1e-4, atol=1e-5, grad2=grad2, name=name),
         Row("Conv2DBackpropFilter", lambda a, b, ws=ws, kw=ref_kw: apply_op(
             lookup("Conv2DBackpropFilter"), [a, tf.constant(np.array(ws, np.int32)), b], kw),
             [x, dy], lambda a, b, ws=ws, kw=ref_kw: ref_conv_backprop_filter(a, b, ws, **kw),
             rtol=1e-4, atol=1e-5, grad2=grad2, name=name))

DW = dict(strides=(1, 1), padding="SAME", dilations=(1, 1))
DW2 = dict(strides=(2, 2), padding="VALID", dilations=(1, 1))
_x, _w = rnd(2, 6, 5, 3), rnd(3, 3, 3, 2)
for name, kw in (("same", DW), ("valid_s2", DW2)):
    _dy = rnd(*ref_conv(_x, _w, depthwise=True, **kw).shape)
    rows(Row("DepthwiseConv2dNative", lambda a, b, kw=kw: tf.nn.depthwise_conv2d(
                 a, b, [1] + list(kw["strides"]) + [1], kw["padding"]),
             [_x, _w], lambda a, b, kw=kw: ref_conv(a, b, depthwise=True, **kw), rtol=1e-4,
             atol=1e-5, grad2=name == "same", name=name),
         Row("DepthwiseConv2dNativeBackpropInput",
             raw("DepthwiseConv2dNativeBackpropInput", _x.shape, **kw), [_w, _dy],
             lambda a, b, kw=kw: ref_conv_backprop_input(a, b, _x.shape, depthwise=True, **kw),
             rtol=1e-4, atol=1e-5, grad2=name == "same", name=name),
         Row("DepthwiseConv2dNativeBackpropFilter", lambda a, b, kw=kw: apply_op(
             lookup("DepthwiseConv2dNativeBackpropFilter"),
             [a, tf.constant(np.array(_w.shape, np.int32)), b], kw), [_x, _dy],
             lambda a, b, kw=kw: ref_conv_backprop_filter(a, b, _w.shape, depthwise=True, **kw),
             rtol=1e-4, atol=1e-5, grad2=name == "same", name=name))

# ---- pooling and its gradient ops ------------------------------------------------------------
POOL_CASES = [
    ("2x2_s2_same", [1, 2, 2, 1], [1, 2, 2, 1], "SAME", (2, 7, 7, 3)),
    ("3x3_s2_valid", 3, 2, "VALID", (2, 9, 8, 2)),
    ("3x3_s1_same", (3, 3), 1, "SAME", (1, 5, 6, 2)),
    ("explicit", 2, 2, [[0, 0], [1, 0], [0, 1], [0, 0]], (1, 4, 5, 2)),
]
for name, ksize, strides, padding, shape in POOL_CASES:
    k2 = _pair(ksize) if not isinstance(ksize, list) else tuple(ksize[1:3])
    s2 = _pair(strides) if not isinstance(strides, list) else tuple(strides[1:3])
    p2 = padding if isinstance(padding, str) else tuple(tuple(p) for p in padding[1:3])
    x = distinct(*shape)
    y = ref_pool(x, k2, s2, p2, "max")
    dy = rnd(*y.shape)
    attrs = dict(ksize=k2, strides=s2, padding=p2)
    rows(Row("MaxPool", lambda a, k=ksize, st=strides, p=padding: tf.nn.max_pool2d(a, k, st, p),
             [x], lambda a, k=k2, st=s2, p=p2: ref_pool(a, k, st, p, "max"), name=name),
         Row("MaxPoolGrad", lambda a, b, c, at=attrs: apply_op(lookup("MaxPoolGrad"), [a, b, c],
                                                               at),
             [x, y.astype(F32), dy], lambda a, b, c, at=attrs: ref_max_pool_grad(
                 a, c, at["ksize"], at["strides"], at["padding"]), grad=False, name=name),
         Row("AvgPool", lambda a, k=ksize, st=strides, p=padding: tf.nn.avg_pool2d(a, k, st, p),
             [x], lambda a, k=k2, st=s2, p=p2: ref_pool(a, k, st, p, "avg"), grad2=True,
             rtol=1e-5, name=name),
         Row("AvgPoolGrad", raw("AvgPoolGrad", shape, **attrs), [dy],
             lambda b, at=attrs, sh=shape: ref_avg_pool_grad(b, sh, at["ksize"], at["strides"],
                                                             at["padding"]),
             grad2=True, name=name))


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()


def test_conv2d_nchw_and_v1_signature(graph_mode):
    x = RNG.randn(2, 3, 6, 5).astype(np.float32)
    w = RNG.randn(3, 3, 3, 4).astype(np.float32)
    y = tf1.nn.conv2d(x, filter=w, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW")
    assert y.shape.as_list() == [2, 4, 3, 3]
    with tf1.Session() as sess:
        got = sess.run(y)
    want = ref_conv(x.transpose(0, 2, 3, 1), w, (2, 2)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_deep_mnist_static_shapes(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 784])
    img = tf1.reshape(x, [-1, 28, 28, 1])
    w1, w2 = tf1.ones([5, 5, 1, 32]), tf1.ones([5, 5, 32, 64])
    pool = lambda h: tf1.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1],  # noqa
                                     padding="SAME")
    h1 = pool(tf1.nn.relu(tf1.nn.conv2d(img, w1, strides=[1, 1, 1, 1], padding="SAME")))
    h2 = pool(tf1.nn.relu(tf1.nn.conv2d(h1, w2, strides=[1, 1, 1, 1], padding="SAME")))
    assert h1.get_shape().as_list() == [None, 14, 14, 32]
    assert h2.get_shape().as_list() == [None, 7, 7, 64]
    gx, gw = tf1.gradients(tf1.reduce_sum(h2), [x, w1])
    assert gx.shape.as_list() == [None, 784] and gw.shape.as_list() == [5, 5, 1, 32]
    assert {op.type for op in tf1.get_default_graph().get_operations()} >= {
        "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "MaxPool", "MaxPoolGrad"}
    with tf1.Session() as sess:
        out = sess.run(h2, {x: np.zeros((3, 784), np.float32)})
    assert out.shape == (3, 7, 7, 64)


def test_conv2d_errors(graph_mode):
    with pytest.raises(ValueError, match="Depth of input"):
        tf1.nn.conv2d(tf1.ones([1, 5, 5, 3]), tf1.ones([3, 3, 2, 4]), [1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="rank 4"):
        tf1.nn.conv2d(tf1.ones([5, 5, 3]), tf1.ones([3, 3, 3, 4]), [1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError):
        tf1.nn.conv2d(tf1.ones([1, 2, 2, 1]), tf1.ones([5, 5, 1, 1]), [1, 1, 1, 1], "VALID")
    with pytest.raises(ValueError, match="batch and depth"):
        tf1.nn.conv2d(tf1.ones([1, 5, 5, 1]), tf1.ones([3, 3, 1, 1]), [2, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="padding"):
        tf1.nn.conv2d(tf1.ones([1, 5, 5, 1]), tf1.ones([3, 3, 1, 1]), [1, 1, 1, 1], "FULL")
    x = tf1.placeholder(tf.float32, [None, None, None, None])
    y = tf1.nn.conv2d(x, tf1.ones([3, 3, 3, 2]), [1, 1, 1, 1], "SAME")
    assert y.shape.as_list() == [None, None, None, 2]
    with tf1.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError):
            sess.run(y, {x: np.zeros((1, 4, 4, 2), np.float32)})


# ---- depthwise, conv1d, conv2d_transpose (public wrappers) ----------------------------------
def test_depthwise_conv2d_rate_and_native():
    x, w = rnd(2, 6, 5, 3), rnd(3, 3, 3, 2)
    y = tf1.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME", rate=[2, 2])
    np.testing.assert_allclose(y.numpy(), ref_conv(x, w, dilations=(2, 2), depthwise=True),
                               rtol=1e-4, atol=1e-5)
    y = tf1.nn.depthwise_conv2d_native(x, w, [1, 2, 2, 1], "VALID")
    np.testing.assert_allclose(y.numpy(), ref_conv(x, w, (2, 2), "VALID", depthwise=True),
                               rtol=1e-4, atol=1e-5)


def test_convolution_dispatches_on_rank():
    x, w = rnd(2, 7, 6, 3), rnd(3, 3, 3, 4)
    np.testing.assert_allclose(tf.nn.convolution(x, w, padding="SAME", dilations=2).numpy(),
                               ref_conv(x, w, dilations=(2, 2)), rtol=1e-4, atol=1e-5)
    x1, w1 = rnd(2, 9, 3), rnd(3, 3, 4)
    np.testing.assert_allclose(tf1.nn.convolution(x1, w1, "VALID", strides=[2]).numpy(),
                               ref_conv(x1[:, None], w1[None], (1, 2), "VALID")[:, 0],
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        tf.nn.convolution(tf.ones([1, 2, 2, 2, 1]), tf.ones([1, 1, 1, 1, 1]))


def test_conv1d():
    x, w = rnd(2, 9, 3), rnd(3, 3, 4)
    ref = lambda a, b: ref_conv(a[:, None], b[None], (1, 2))[:, 0]  # noqa: E731
    check_op(lambda a, b: tf.nn.conv1d(a, b, 2, "SAME"), [x, w], ref, rtol=1e-4, atol=1e-5)
    y = tf1.nn.conv1d(value=x.transpose(0, 2, 1), filters=w, stride=2, padding="SAME",
                      data_format="NCW")
    np.testing.assert_allclose(y.numpy(), ref(x, w).transpose(0, 2, 1), rtol=1e-4, atol=1e-5)


def test_conv2d_transpose_is_conv_input_gradient():
    x, w = rnd(2, 4, 3, 5), rnd(3, 3, 2, 5)
    out_shape = [2, 8, 6, 2]
    y = tf.nn.conv2d_transpose(x, w, out_shape, strides=2, padding="SAME")
    probe = tf.constant(rnd(*out_shape))
    with tf.GradientTape() as t:
        t.watch(probe)
        s = tf.reduce_sum(tf.nn.conv2d(probe, w, 2, "SAME") * x)
    np.testing.assert_allclose(y.numpy(), t.gradient(s, probe).numpy(), rtol=1e-5, atol=1e-5)
    check_op(lambda a, b: tf.nn.conv2d_transpose(a, b, out_shape, 2, "SAME"), [x, w],
             lambda a, b: ref_conv_backprop_input(b, a, out_shape, (2, 2)), rtol=1e-4,
             atol=1e-5, grad2=True)
    nchw = tf.nn.conv2d_transpose(x.transpose(0, 3, 1, 2), w, [2, 2, 8, 6], 2,
                                  data_format="NCHW")
    np.testing.assert_allclose(nchw.numpy(), y.numpy().transpose(0, 3, 1, 2), rtol=1e-5,
                               atol=1e-5)
    g = tf.Graph()
    with g.as_default():
        z = tf1.nn.conv2d_transpose(tf1.placeholder(tf.float32, [None, 4, 3, 5]), w,
                                    output_shape=[2, 8, 6, 2], strides=[1, 2, 2, 1])
        assert z.shape.as_list() == [2, 8, 6, 2] and z.op.type == "Conv2DBackpropInput"
    with pytest.raises(errors.InvalidArgumentError):
        tf.nn.conv2d_transpose(x, w, [2, 9, 9, 2], strides=1, padding="SAME")


# ---- pooling ------------------------------------------------------------------------------------
def test_pool_v1_names_nchw_and_1d(graph_mode):
    x = RNG.randn(2, 3, 6, 6).astype(np.float32)
    m = tf1.nn.max_pool(x, [1, 1, 2, 2], [1, 1, 2, 2], "VALID", data_format="NCHW")
    a = tf1.nn.avg_pool(value=x.transpose(0, 2, 3, 1), ksize=[1, 3, 3, 1],
                        strides=[1, 2, 2, 1], padding="SAME")
    m1 = tf1.nn.max_pool1d(x[:, 0], 2, 2, "VALID")
    a1 = tf.nn.avg_pool(x[:, 0], 3, 1, "SAME")          # rank 3: 1-D pooling
    assert m.shape.as_list() == [2, 3, 3, 3] and a.shape.as_list() == [2, 3, 3, 3]
    assert m1.shape.as_list() == [2, 3, 6] and a1.shape.as_list() == [2, 6, 6]
    with tf1.Session() as sess:
        mv, av, m1v, a1v = sess.run([m, a, m1, a1])
    xt = x.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(mv, ref_pool(xt, (2, 2), (2, 2), "VALID", "max")
                               .transpose(0, 3, 1, 2))
    np.testing.assert_allclose(av, ref_pool(xt, (3, 3), (2, 2), "SAME", "avg"), rtol=1e-5)
    np.testing.assert_allclose(m1v, ref_pool(x[:, 0, None], (1, 2), (1, 2), "VALID", "max")[:, 0])
    np.testing.assert_allclose(a1v, ref_pool(x[:, 0, None], (1, 3), (1, 1), "SAME", "avg")[:, 0],
                               rtol=1e-5)


def test_max_pool_second_derivative_is_refused():
    x = tf.constant(RNG.randn(1, 4, 4, 1))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(tf.nn.max_pool2d(x, 2, 2, "VALID") ** 2)
        g = inner.gradient(y, x)
        gg = tf.reduce_sum(g * g)
    with pytest.raises(LookupError, match="MaxPoolGradGrad"):
        outer.gradient(gg, x)


def test_pool_errors():
    with pytest.raises(ValueError):
        tf.nn.max_pool2d(tf.ones([2, 3]), 2, 2, "SAME")
    with pytest.raises(ValueError):
        tf.nn.max_pool(tf.ones([1, 2, 2, 2, 1]), 2, 2, "SAME")
    with pytest.raises(ValueError, match="length"):
        tf.nn.avg_pool2d(tf.ones([1, 4, 4, 1]), [2, 2, 2], 2, "SAME")
