"""tf.nn activations, softmax, cross-entropies, normalization, dropout, embedding lookup:
forward vs NumPy float64 references, gradients vs central differences, graph == eager,
static shape == runtime shape, numerical stability and error paths."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors
from numflow.ops.apply import apply_op
from numflow.ops.registry import lookup
from numflow.testing import Row, add_rows, check_op

RNG = np.random.RandomState(0)
F32 = np.float32
ROWS = []


def rows(*rs):
    ROWS.extend(add_rows(rs))


def rnd(*shape, lo=-3.0, hi=3.0):
    return RNG.uniform(lo, hi, shape).astype(F32)


def away_from(x, points, gap=2e-2):
    """``x`` nudged so no element sits within ``gap`` of a kink."""
    for p in points:
        close = np.abs(x - p) < gap
        x[close] = p + 2 * gap
    return x


def grad_op(name, **attrs):
    """A gradient op applied directly: ``fn(g, x)`` (for rows of the *Grad ops)."""
    return lambda g, x: apply_op(lookup(name), [g, x], attrs)


# ---- activations (registered ops) ---------------------------------------------------------
SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def np_elu(x, scale=1.0, alpha=1.0):
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


ACTIVATIONS = [
    # op, public fn, reference, kinks, smooth enough for a second derivative
    ("Relu", tf.nn.relu, lambda x: np.maximum(x, 0), [0.0], False),
    ("Relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), [0.0, 6.0], False),
    ("LeakyRelu", lambda x: tf.nn.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
     [0.0], False),
    ("Elu", tf.nn.elu, np_elu, [0.0], True),
    ("Selu", tf.nn.selu, lambda x: np_elu(x, SELU_S, SELU_A), [0.0], True),
    ("Softplus", tf.nn.softplus, lambda x: np.logaddexp(x, 0), [], True),
    ("Softsign", tf.nn.softsign, lambda x: x / (1 + np.abs(x)), [0.0], True),
]
for op, fn, ref, kinks, smooth in ACTIVATIONS:
    x = away_from(rnd(3, 4, lo=-8, hi=8), kinks)
    rows(Row(op, fn, [x], ref, grad2=smooth),
         Row(op, fn, [rnd(0, 3)], ref, name="empty"),
         Row(op, fn, [away_from(rnd(), kinks)], ref, name="scalar"))

G = rnd(3, 4)
rows(Row("ReluGrad", grad_op("ReluGrad"), [G, away_from(rnd(3, 4), [0.0])],
         lambda g, y: g * (y > 0), grad2=True),
     Row("Relu6Grad", grad_op("Relu6Grad"), [G, away_from(rnd(3, 4, lo=-2, hi=8), [0, 6])],
         lambda g, y: g * ((y > 0) & (y < 6)), grad2=True),
     Row("LeakyReluGrad", grad_op("LeakyReluGrad", alpha=0.3),
         [G, away_from(rnd(3, 4), [0.0])], lambda g, x: np.where(x > 0, g, 0.3 * g)),
     Row("EluGrad", grad_op("EluGrad", scale=1.0, alpha=1.0),
         [G, away_from(rnd(3, 4, lo=-0.95, hi=3), [0.0])],
         lambda g, y: np.where(y > 0, g, g * (y + 1)), grad2=True),
     Row("SeluGrad", grad_op("SeluGrad", scale=SELU_S, alpha=SELU_A),
         [G, away_from(rnd(3, 4, lo=-1.7, hi=3), [0.0])],
         lambda g, y: np.where(y > 0, g * SELU_S, g * (y + SELU_S * SELU_A))))


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu(approximate):
    from math import erf
    exact = lambda x: 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2)))  # noqa: E731
    tanh = lambda x: 0.5 * x * (1 + np.tanh(  # noqa: E731
        np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    check_op(lambda x: tf.nn.gelu(x, approximate=approximate), [rnd(3, 4)],
             tanh if approximate else exact, grad2=True)


def test_silu_swish():
    check_op(tf.nn.silu, [rnd(3, 4)], lambda x: x / (1 + np.exp(-x)), grad2=True)
    check_op(lambda x: tf.nn.swish(x, beta=2.0), [rnd(5)], lambda x: x / (1 + np.exp(-2 * x)))


def test_activation_tf1_names_and_ints(graph_mode):
    import numflow.v1 as v1
    y = v1.nn.leaky_relu([-2, 3])          # ints become float32, as in TF
    r = v1.nn.relu([-1.0, 0.0, 2.5])
    with v1.Session() as sess:
        assert sess.run(r).tolist() == [0.0, 0.0, 2.5]
        np.testing.assert_allclose(sess.run(y), [-0.4, 3.0])
    assert y.dtype == tf.float32


def test_activation_extremes_are_finite():
    x = tf.constant([-1e4, -100.0, 0.0, 100.0, 1e4], tf.float32)
    for fn in (tf.nn.softplus, tf.nn.elu, tf.nn.selu, tf.nn.softsign, tf.nn.silu, tf.nn.gelu):
        with tf.GradientTape() as t:
            t.watch(x)
            y = fn(x)
        assert np.isfinite(y.numpy()).all() and np.isfinite(t.gradient(y, x).numpy()).all()
    np.testing.assert_allclose(tf.nn.softplus(x).numpy(), [0, 0, np.log(2), 100, 1e4],
                               atol=1e-6)


# ---- softmax and cross-entropies ------------------------------------------------------------
def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_xent(labels, logits, axis=-1):
    return -(labels * np.log(np_softmax(logits, axis))).sum(axis)


LABELS = np_softmax(RNG.randn(4, 6)).astype(F32)
SPARSE = np.array([0, 5, 3, 3], np.int32)
XENT = lookup("SoftmaxCrossEntropyWithLogits")
SPARSE_XENT = lookup("SparseSoftmaxCrossEntropyWithLogits")
for axis in (-1, 0, 1):
    rows(Row("Softmax", lambda t, axis=axis: tf.nn.softmax(t, axis=axis), [rnd(3, 4, 5)],
             lambda t, axis=axis: np_softmax(t, axis), grad2=axis == -1, name=f"axis{axis}"))
rows(Row("Softmax", tf.nn.softmax, [rnd(0, 3)], np_softmax, name="empty"),
     Row("Softmax", tf.nn.softmax, [rnd(1)], np_softmax, name="one"),
     Row("SoftmaxCrossEntropyWithLogits", tf.nn.softmax_cross_entropy_with_logits,
         [LABELS, rnd(4, 6)], np_xent, grad2=True),
     Row("SoftmaxCrossEntropyWithLogits", lambda a, b: XENT and apply_op(XENT, [b, a]),
         [LABELS, rnd(4, 6)], lambda a, b: [np_xent(a, b), np_softmax(b) - a], grad2=True,
         name="both_outputs"),
     Row("SoftmaxCrossEntropyWithLogits",
         lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b, axis=1),
         [np_softmax(RNG.randn(3, 4, 5), axis=1).astype(F32), rnd(3, 4, 5)],
         lambda a, b: np_xent(a, b, 1), name="axis1_rank3"),
     Row("SoftmaxCrossEntropyWithLogits", tf.nn.softmax_cross_entropy_with_logits,
         [LABELS[:1], rnd(3, 6)], lambda a, b: np_xent(a, b), name="broadcast_labels"),
     Row("SoftmaxCrossEntropyWithLogits", tf.nn.softmax_cross_entropy_with_logits,
         [rnd(0, 6), rnd(0, 6)], np_xent, name="empty"),
     Row("SparseSoftmaxCrossEntropyWithLogits",
         lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(SPARSE, z), [rnd(4, 6)],
         lambda z: -np.log(np_softmax(z))[np.arange(4), SPARSE], grad2=True),
     Row("SparseSoftmaxCrossEntropyWithLogits", lambda z, y: apply_op(SPARSE_XENT, [z, y]),
         [rnd(4, 6), SPARSE], lambda z, y: [-np.log(np_softmax(z))[np.arange(4), y],
                                           np_softmax(z) - np.eye(6)[y]],
         grad2=True, name="both_outputs"),
     Row("SparseSoftmaxCrossEntropyWithLogits",
         lambda z, y: tf.nn.sparse_softmax_cross_entropy_with_logits(y, z),
         [rnd(2, 3, 4), np.array([[0, 3, 1], [2, 2, 0]], np.int64)],
         lambda z, y: -np.take_along_axis(np.log(np_softmax(z)), y[..., None], -1)[..., 0],
         name="rank3_int64"))


def test_log_softmax():
    for axis in (-1, 0, 1):
        check_op(lambda t: tf.nn.log_softmax(t, axis=axis), [rnd(3, 4, 5)],
                 lambda t: np.log(np_softmax(t, axis)), grad2=axis == -1)


def test_softmax_stable_and_v1_dim(graph_mode):
    x = tf1.constant([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    s = tf1.nn.softmax(x)
    ls = tf1.nn.log_softmax(x, dim=0)
    with tf1.Session() as sess:
        sv, lv = sess.run([s, ls])
    np.testing.assert_allclose(sv, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-7)
    assert np.isfinite(lv).all()
    assert s.op.type == "Softmax"


def test_softmax_bad_axis_and_dtypes():
    with pytest.raises(errors.InvalidArgumentError):
        tf.nn.softmax(tf.ones([2, 3]), axis=2)
    for fn in (tf.nn.softmax, tf.nn.log_softmax, tf.nn.elu, tf.nn.softplus, tf.nn.l2_loss):
        with pytest.raises(TypeError):
            fn(tf.constant([1, 2]))
    assert tf.nn.relu(tf.constant([-1, 2])).numpy().tolist() == [0, 2]   # Relu takes ints


def test_softmax_xent_stable_and_gradient_is_softmax_minus_labels():
    logits = tf.constant([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    labels = tf.constant([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    with tf.GradientTape() as t:
        t.watch(logits)
        loss = tf.nn.softmax_cross_entropy_with_logits(labels, logits)
    g = t.gradient(loss, logits).numpy()
    np.testing.assert_allclose(loss.numpy(), [2e4, 1e4 + np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(g, np_softmax(logits.numpy().astype(np.float64)) -
                               labels.numpy(), atol=1e-7)
    assert np.isfinite(g).all() and g.dtype == np.float32
    big = tf.constant([[1e4, -1e4], [-1e4, 1e4]])
    np.testing.assert_allclose(
        tf.nn.sparse_softmax_cross_entropy_with_logits([1, 1], big).numpy(), [2e4, 0])


def test_softmax_xent_v1_stops_label_gradient(graph_mode):
    logits = tf1.constant([[1.0, 2.0, 3.0]])
    labels = tf1.constant([[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError):
        tf1.nn.softmax_cross_entropy_with_logits(labels, logits)
    l1 = tf1.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    l2 = tf1.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    assert tf1.gradients(l1, [labels]) == [None]
    (g2,) = tf1.gradients(l2, [labels])
    assert l2.op.type == "SoftmaxCrossEntropyWithLogits" and l2.shape.as_list() == [1]
    with tf1.Session() as sess:
        a, b, gl = sess.run([l1, l2, g2])
    assert a == b
    np.testing.assert_allclose(gl, -np.log(np_softmax(np.array([[1.0, 2, 3]]))), rtol=1e-6)


def test_sparse_softmax_xent_errors(graph_mode):
    logits = tf1.placeholder(tf.float32, [None, 3])
    labels = tf1.placeholder(tf.int32, [None])
    loss = tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    with pytest.raises(ValueError, match="Shape mismatch"):
        tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=tf1.constant([[1]]),
                                                        logits=tf1.ones([1, 3]))
    with pytest.raises(TypeError):
        tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=tf1.ones([1]),
                                                        logits=tf1.ones([1, 3]))
    with tf1.Session() as sess:
        for bad in ([0, 3], [-1, 0]):
            with pytest.raises(errors.InvalidArgumentError, match="valid range of \\[0, 3\\)"):
                sess.run(loss, {logits: np.zeros((2, 3)), labels: bad})


def sig(t):
    return 1 / (1 + np.exp(-t))


def test_sigmoid_and_weighted_xent():
    x, z = rnd(3, 4), RNG.rand(3, 4).astype(F32)
    check_op(lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=a, logits=b), [z, x],
             lambda a, b: -a * np.log(sig(b)) - (1 - a) * np.log(1 - sig(b)))
    check_op(lambda a, b: tf.nn.weighted_cross_entropy_with_logits(a, b, 2.5), [z, x],
             lambda a, b: -2.5 * a * np.log(sig(b)) - (1 - a) * np.log(1 - sig(b)))
    v1 = tf1.nn.weighted_cross_entropy_with_logits(targets=z, logits=x, pos_weight=2.5)
    np.testing.assert_allclose(v1.numpy(), tf.nn.weighted_cross_entropy_with_logits(
        z, x, 2.5).numpy())
    big = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant([1.0, 0.0, 1.0]),
                                                  logits=tf.constant([-1e4, -1e4, 1e4]))
    np.testing.assert_allclose(big.numpy(), [1e4, 0, 0])
    with pytest.raises(ValueError):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones([2]), logits=tf.ones([3]))


# ---- bias_add, l2, normalization ---------------------------------------------------------
rows(Row("BiasAdd", tf.nn.bias_add, [rnd(2, 3, 4), rnd(4)], lambda a, c: a + c),
     Row("BiasAdd", lambda a, c: tf.nn.bias_add(a, c, data_format="NCHW"),
         [rnd(2, 3, 4, 2), rnd(3)], lambda a, c: a + c[:, None, None], name="nchw"),
     Row("BiasAdd", tf.nn.bias_add, [rnd(0, 4), rnd(4)], lambda a, c: a + c, name="empty"),
     Row("L2Loss", tf.nn.l2_loss, [rnd(2, 3, 4)], lambda a: (a ** 2).sum() / 2, grad2=True),
     Row("L2Loss", tf.nn.l2_loss, [rnd(0)], lambda a: (a ** 2).sum() / 2, name="empty"))


def test_bias_add_errors():
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        _graph(lambda: tf.nn.bias_add(tf1.ones([2, 3]), tf1.ones([4])))
    with pytest.raises(errors.InvalidArgumentError):
        tf.nn.bias_add(tf.ones([2, 3]), tf.ones([4]))
    with pytest.raises(ValueError):
        _graph(lambda: tf.nn.bias_add(tf1.ones([3]), tf1.ones([3])))


def _graph(build):
    with tf.Graph().as_default():
        return build()


def test_l2_normalize():
    check_op(lambda a: tf.nn.l2_normalize(a, axis=1), [rnd(2, 3, 4)],
             lambda a: a / np.sqrt((a ** 2).sum(1, keepdims=True)))
    check_op(lambda a: tf.math.l2_normalize(a, axis=[0, 2]), [rnd(2, 3, 4)],
             lambda a: a / np.sqrt((a ** 2).sum((0, 2), keepdims=True)))
    np.testing.assert_array_equal(tf.nn.l2_normalize(tf.zeros([3])).numpy(), 0)


def test_moments_and_batch_normalization():
    x = rnd(4, 3, 5)
    check_op(lambda t: list(tf.nn.moments(t, axes=[0, 2])), [x],
             lambda t: [t.mean((0, 2)), t.var((0, 2))])
    check_op(lambda t: list(tf1.nn.moments(t, [0], keep_dims=True)), [x],
             lambda t: [t.mean(0, keepdims=True), t.var(0, keepdims=True)])
    m, v = x.mean(0), x.var(0) + 0.5
    off, sc = rnd(3, 5), RNG.rand(3, 5).astype(F32) + 0.5
    check_op(lambda a, b, c, d, e: tf.nn.batch_normalization(a, b, c, d, e, 1e-3),
             [x, m, v, off, sc], lambda a, b, c, d, e: (a - b) / np.sqrt(c + 1e-3) * e + d)
    check_op(lambda a, b, c: tf.nn.batch_normalization(a, b, c, None, None, 1e-3),
             [x, m, v], lambda a, b, c: (a - b) / np.sqrt(c + 1e-3))


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_fused_batch_norm(fmt):
    x = rnd(4, 3, 5, 6)
    ch = 1 if fmt == "NCHW" else 3
    axes = tuple(a for a in range(4) if a != ch)
    c = x.shape[ch]
    scale, offset = RNG.rand(c).astype(F32) + 0.5, rnd(c)
    shape = [1, 1, 1, 1]
    shape[ch] = -1
    n = x.size / c

    def ref(a, s, o):
        y = (a - a.mean(axes, keepdims=True)) / np.sqrt(a.var(axes, keepdims=True) + 1e-3)
        return [y * s.reshape(shape) + o.reshape(shape), a.mean(axes), a.var(axes) * n / (n - 1)]
    small = x[:2, :, :3, :3] if fmt == "NCHW" else x[:2, :3, :3]
    check_op(lambda a, s, o: list(tf1.nn.fused_batch_norm(a, s, o, data_format=fmt)),
             [x, scale, offset], ref, rtol=1e-4, grad=False)
    n = small.size / c
    check_op(lambda a, s, o: tf1.nn.fused_batch_norm(a, s, o, data_format=fmt)[0],
             [small, scale, offset], lambda a, s, o: ref(a, s, o)[0], rtol=1e-4)
    m, v = x.mean(axes), x.var(axes)
    check_op(lambda a, s, o, mm, vv: tf1.nn.fused_batch_norm(a, s, o, mm, vv, is_training=False,
                                                            data_format=fmt)[0],
             [x, scale, offset, m, v], lambda a, s, o, mm, vv: (a - mm.reshape(shape)) /
             np.sqrt(vv.reshape(shape) + 1e-3) * s.reshape(shape) + o.reshape(shape),
             rtol=1e-4, grad=False)
    _, m2, v2 = tf1.nn.fused_batch_norm(x, scale, offset, m, v, data_format=fmt,
                                       exponential_avg_factor=0.25)
    np.testing.assert_allclose(m2.numpy(), m, rtol=1e-5, atol=1e-6)   # batch mean == m
    np.testing.assert_allclose(v2.numpy(), 0.75 * v + 0.25 * v * x.size / c / (x.size / c - 1),
                               rtol=1e-5)


# ---- dropout -----------------------------------------------------------------------------------
def test_dropout_statistics_and_scaling():
    x = tf.ones([200, 300])
    y = tf.nn.dropout(x, rate=0.25, seed=3).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert tf.nn.dropout(x, 0.0) is x
    ns = tf.nn.dropout(x, 0.5, noise_shape=[200, 1], seed=1).numpy()
    assert ((ns == 0).all(1) | (ns != 0).all(1)).all()
    cols = tf.nn.dropout(x, 0.5, noise_shape=[1, None], seed=1).numpy()   # None: x's dim
    assert ((cols == 0).all(0) | (cols != 0).all(0)).all() and 0 < (cols == 0).mean() < 1
    with tf.Graph().as_default():
        h = tf1.placeholder(tf.float32, [None, 4])
        d = tf1.nn.dropout(h, 0.5, noise_shape=[None, 1])
        assert d.shape.as_list() == [None, 4]
        with tf1.Session() as sess:
            v = sess.run(d, {h: np.ones((300, 4))})
    assert ((v == 0).all(1) | (v != 0).all(1)).all() and 0.4 < (v == 0).mean() < 0.6
    with pytest.raises(ValueError):
        tf.nn.dropout(x, 1.0)
    with pytest.raises(ValueError):
        tf.nn.dropout(tf.ones([2], tf.int32), 0.5)


def test_dropout_gradient_follows_mask():
    x = tf.constant(RNG.randn(50, 40).astype(np.float32))
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.nn.dropout(x, 0.4, seed=7)
    g = t.gradient(y, x).numpy()
    np.testing.assert_allclose(g, (y.numpy() != 0) / 0.6, rtol=1e-6)


def test_dropout_v1_keep_prob_placeholder(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 1024])
    keep_prob = tf1.placeholder(tf.float32)
    h = tf1.nn.dropout(x, keep_prob)
    assert h.shape.as_list() == [None, 1024]
    data = RNG.rand(10, 1024).astype(np.float32) + 0.1
    with tf1.Session() as sess:
        full = sess.run(h, {x: data, keep_prob: 1.0})
        half = sess.run(h, {x: data, keep_prob: 0.5})
    np.testing.assert_array_equal(full, data)
    assert abs((half == 0).mean() - 0.5) < 0.03
    np.testing.assert_allclose(half[half != 0], 2 * data[half != 0], rtol=1e-6)
    with pytest.raises(ValueError):
        tf1.nn.dropout(x, keep_prob=0.0)


# ---- embedding lookup ----------------------------------------------------------------------
def test_embedding_lookup_forward_grad_and_errors():
    params = RNG.randn(6, 3).astype(np.float32)
    ids = np.array([[0, 5], [2, 2]], np.int32)
    fn = lambda p: tf.nn.embedding_lookup(p, ids)  # noqa: E731
    check_op(fn, [params], lambda p: p[ids])
    for bad in ([6], [-1]):
        with pytest.raises(errors.InvalidArgumentError):
            tf.nn.embedding_lookup(params, bad)
    clipped = tf.nn.embedding_lookup(params * 10, [1, 2], max_norm=1.0).numpy()
    np.testing.assert_allclose(np.linalg.norm(clipped, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("strategy", ["mod", "div"])
def test_embedding_lookup_sharded(strategy):
    full = np.arange(21, dtype=np.float32).reshape(7, 3)
    if strategy == "mod":
        shards = [full[i::3] for i in range(3)]
    else:
        shards = [full[0:3], full[3:5], full[5:7]]
    ids = np.array([0, 1, 2, 3, 4, 5, 6, 3])
    got = tf1.nn.embedding_lookup([tf.constant(s) for s in shards], ids,
                                  partition_strategy=strategy)
    np.testing.assert_array_equal(got.numpy(), full[ids])


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()
