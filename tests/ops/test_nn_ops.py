"""tf.nn activations, softmax, cross-entropies, normalization, dropout, embedding lookup:
forward vs NumPy float64 references, gradients vs central differences, graph == eager,
static shape == runtime shape, numerical stability and error paths."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors

RNG = np.random.RandomState(0)


# ---- a small harness: eager, graph and finite differences ----------------------------------
def run_graph(fn, *arrays):
    """``fn`` on placeholders in a fresh graph; checks the static shape against the value."""
    g = tf.Graph()
    with g.as_default():
        phs = [tf1.placeholder(tf.as_dtype(a.dtype), a.shape) for a in arrays]
        out = fn(*phs)
        static = out.shape
        with tf1.Session(graph=g) as sess:
            val = sess.run(out, dict(zip(phs, arrays)))
    assert static.is_compatible_with(val.shape), (static, val.shape)
    if all(d is not None for d in static.as_list()):
        assert tuple(static.as_list()) == val.shape
    return val


def check_forward(fn, ref, *arrays, rtol=1e-5, atol=1e-6):
    """Eager == graph == the float64 reference; float32 stays float32."""
    eager = fn(*[tf.constant(a) for a in arrays]).numpy()
    graph = run_graph(fn, *arrays)
    np.testing.assert_allclose(eager, ref(*[a.astype(np.float64) for a in arrays]),
                               rtol=rtol, atol=atol)
    np.testing.assert_array_equal(eager, graph)
    assert eager.dtype == arrays[0].dtype
    return eager


def _numeric_grad(f, xs, i, eps):
    x = xs[i]
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + eps
        hi = f(*xs)
        flat[k] = old - eps
        lo = f(*xs)
        flat[k] = old
        g.reshape(-1)[k] = (hi - lo) / (2 * eps)
    return g


def check_grad(fn, *arrays, wrt=None, eps=1e-6, rtol=1e-5, atol=1e-7, order=1):
    """Tape gradients of ``sum(fn(x) * w)`` (and, with order=2, of its gradient) in float64
    against central differences."""
    xs = [np.array(a, dtype=np.float64) if a.dtype.kind == "f" else a for a in arrays]
    wrt = [i for i, a in enumerate(xs) if a.dtype.kind == "f"] if wrt is None else wrt
    out_shape = fn(*[tf.constant(a) for a in xs]).shape
    w = RNG.randn(*out_shape.as_list())

    def scalar(*vals):
        return float(tf.reduce_sum(fn(*[tf.constant(v) for v in vals]) * w).numpy())

    def tape_grads(*vals):
        ts = [tf.constant(v) for v in vals]
        with tf.GradientTape() as t:
            for i in wrt:
                t.watch(ts[i])
            s = tf.reduce_sum(fn(*ts) * w)
        return t.gradient(s, [ts[i] for i in wrt])

    for i, g in zip(wrt, tape_grads(*xs)):
        np.testing.assert_allclose(g.numpy(), _numeric_grad(scalar, xs, i, eps),
                                   rtol=rtol, atol=atol)
    if order == 2:
        vs = [RNG.randn(*xs[i].shape) for i in wrt]

        def g_dot_v(*vals):
            return sum(float(tf.reduce_sum(g * v).numpy())
                       for g, v in zip(tape_grads(*vals), vs))
        for i in wrt:
            ts = [tf.constant(v) for v in xs]
            with tf.GradientTape() as outer:
                outer.watch(ts[i])
                with tf.GradientTape() as inner:
                    for j in wrt:
                        inner.watch(ts[j])
                    s = tf.reduce_sum(fn(*ts) * w)
                gs = inner.gradient(s, [ts[j] for j in wrt])
                gv = tf.add_n([tf.reduce_sum(g * v) for g, v in zip(gs, vs)])
            np.testing.assert_allclose(outer.gradient(gv, ts[i]).numpy(),
                                       _numeric_grad(g_dot_v, xs, i, 1e-5), rtol=1e-4,
                                       atol=1e-6)


def away_from(x, points, gap=1e-2):
    """``x`` nudged so no element sits within ``gap`` of a kink."""
    for p in points:
        close = np.abs(x - p) < gap
        x[close] = p + 2 * gap
    return x


# ---- activations ------------------------------------------------------------------------------
SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
ACTIVATIONS = [
    ("relu", tf.nn.relu, lambda x: np.maximum(x, 0), [0.0]),
    ("relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), [0.0, 6.0]),
    ("leaky_relu", lambda x: tf.nn.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
     [0.0]),
    ("elu", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), [0.0]),
    ("selu", tf.nn.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(
        np.minimum(x, 0))), [0.0]),
    ("softplus", tf.nn.softplus, lambda x: np.logaddexp(x, 0), []),
    ("softsign", tf.nn.softsign, lambda x: x / (1 + np.abs(x)), [0.0]),
    ("gelu", tf.nn.gelu, lambda x: x * 0.5 * (1 + np.vectorize(__import__("math").erf)(
        x / np.sqrt(2))), []),
    ("gelu_tanh", lambda x: tf.nn.gelu(x, approximate=True), lambda x: 0.5 * x * (1 + np.tanh(
        np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), []),
    ("silu", tf.nn.silu, lambda x: x / (1 + np.exp(-x)), []),
]


@pytest.mark.parametrize("name,fn,ref,kinks", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_forward_and_grad(name, fn, ref, kinks):
    x = away_from((RNG.randn(3, 4) * 4).astype(np.float32), kinks)
    check_forward(fn, ref, x)
    smooth_twice = name not in ("relu", "relu6", "leaky_relu")
    check_grad(fn, x, order=2 if smooth_twice else 1)


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


# ---- softmax ---------------------------------------------------------------------------------
def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(axis):
    x = RNG.randn(3, 4, 5).astype(np.float32)
    check_forward(lambda t: tf.nn.softmax(t, axis=axis), lambda t: np_softmax(t, axis), x)
    check_forward(lambda t: tf.nn.log_softmax(t, axis=axis),
                  lambda t: np.log(np_softmax(t, axis)), x)
    check_grad(lambda t: tf.nn.softmax(t, axis=axis), x, order=2)
    check_grad(lambda t: tf.nn.log_softmax(t, axis=axis), x)


def test_softmax_stable_and_v1_dim(graph_mode):
    x = tf1.constant([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    s = tf1.nn.softmax(x)
    ls = tf1.nn.log_softmax(x, dim=0)
    with tf1.Session() as sess:
        sv, lv = sess.run([s, ls])
    np.testing.assert_allclose(sv, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-7)
    assert np.isfinite(lv).all()
    assert s.op.type == "Softmax"


def test_softmax_bad_axis():
    with pytest.raises(errors.InvalidArgumentError):
        tf.nn.softmax(tf.ones([2, 3]), axis=2)


# ---- cross-entropies -------------------------------------------------------------------------
def np_xent(labels, logits, axis=-1):
    return -(labels * np.log(np_softmax(logits, axis))).sum(axis)


def test_softmax_xent_forward_grad_second_order():
    logits = RNG.randn(4, 6).astype(np.float32)
    labels = np_softmax(RNG.randn(4, 6)).astype(np.float32)
    check_forward(lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b), np_xent,
                  labels, logits)
    check_grad(lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b), labels, logits,
               order=2)


def test_softmax_xent_axis_and_rank3():
    logits = RNG.randn(3, 4, 5).astype(np.float32)
    labels = np_softmax(RNG.randn(3, 4, 5), axis=1).astype(np.float32)   # sums to 1 on axis
    fn = lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b, axis=1)  # noqa: E731
    check_forward(fn, lambda a, b: np_xent(a, b, 1), labels, logits)
    check_grad(fn, labels, logits)


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


def test_sparse_softmax_xent():
    logits = RNG.randn(5, 7).astype(np.float32)
    labels = np.array([0, 6, 3, 3, 1], np.int32)
    fn = lambda z: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, z)  # noqa: E731
    check_forward(fn, lambda z: -np.log(np_softmax(z))[np.arange(5), labels], logits)
    check_grad(fn, logits, order=2)
    big = tf.constant([[1e4, -1e4], [-1e4, 1e4]])
    np.testing.assert_allclose(
        tf.nn.sparse_softmax_cross_entropy_with_logits([1, 1], big).numpy(), [2e4, 0])


def test_sparse_softmax_xent_errors(graph_mode):
    logits = tf1.placeholder(tf.float32, [None, 3])
    labels = tf1.placeholder(tf.int32, [None])
    loss = tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    with pytest.raises(ValueError, match="Shape mismatch"):
        tf1.nn.sparse_softmax_cross_entropy_with_logits(labels=tf1.constant([[1]]),
                                                        logits=tf1.ones([1, 3]))
    with tf1.Session() as sess:
        for bad in ([0, 3], [-1, 0]):
            with pytest.raises(errors.InvalidArgumentError, match="valid range of \\[0, 3\\)"):
                sess.run(loss, {logits: np.zeros((2, 3)), labels: bad})


def test_sigmoid_and_weighted_xent():
    x = (RNG.randn(3, 4) * 3).astype(np.float32)
    z = RNG.rand(3, 4).astype(np.float32)
    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    check_forward(lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=a, logits=b),
                  lambda a, b: -a * np.log(sig(b)) - (1 - a) * np.log(1 - sig(b)), z, x)
    check_forward(lambda a, b: tf.nn.weighted_cross_entropy_with_logits(a, b, 2.5),
                  lambda a, b: -2.5 * a * np.log(sig(b)) - (1 - a) * np.log(1 - sig(b)), z, x)
    check_grad(lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=a, logits=b), z, x)
    big = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant([1.0, 0.0]),
                                                  logits=tf.constant([-1e4, -1e4]))
    np.testing.assert_allclose(big.numpy(), [1e4, 0])
    with pytest.raises(ValueError):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones([2]), logits=tf.ones([3]))


# ---- bias_add, l2, normalization ---------------------------------------------------------
def test_bias_add_and_l2():
    x = RNG.randn(2, 3, 4).astype(np.float32)
    b = RNG.randn(4).astype(np.float32)
    check_forward(tf.nn.bias_add, lambda a, c: a + c, x, b)
    check_grad(tf.nn.bias_add, x, b)
    bc = RNG.randn(3).astype(np.float32)
    nc = lambda a, c: tf.nn.bias_add(a, c, data_format="NCHW")  # noqa: E731
    check_forward(nc, lambda a, c: a + c[:, None], x, bc)
    check_grad(nc, x, bc)
    with pytest.raises(ValueError):
        run_graph(tf.nn.bias_add, x, bc)
    check_forward(tf.nn.l2_loss, lambda a: (a ** 2).sum() / 2, x)
    check_grad(tf.nn.l2_loss, x, order=2)
    check_forward(lambda a: tf.nn.l2_normalize(a, axis=1),
                  lambda a: a / np.sqrt((a ** 2).sum(1, keepdims=True)), x)
    check_grad(lambda a: tf.math.l2_normalize(a, axis=[0, 2]), x)


def test_moments_and_batch_normalization():
    x = RNG.randn(4, 3, 5).astype(np.float32)
    mean, var = tf.nn.moments(tf.constant(x), axes=[0, 2])
    np.testing.assert_allclose(mean.numpy(), x.mean((0, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.numpy(), x.var((0, 2)), rtol=1e-5)
    m2, v2 = tf1.nn.moments(tf.constant(x), [0], keep_dims=True)
    assert m2.shape == (1, 3, 5) and v2.shape == (1, 3, 5)
    check_grad(lambda t: tf.add_n(list(tf.nn.moments(t, [0, 1]))), x)
    m, v = x.mean(0), x.var(0)
    off, sc = RNG.randn(3, 5).astype(np.float32), RNG.rand(3, 5).astype(np.float32)
    check_forward(lambda a, b, c, d, e: tf.nn.batch_normalization(a, b, c, d, e, 1e-3),
                  lambda a, b, c, d, e: (a - b) / np.sqrt(c + 1e-3) * e + d,
                  x, m, v, off, sc)
    check_grad(lambda a, b, c, d, e: tf.nn.batch_normalization(a, b, c, d, e, 1e-3),
               x, m, v + 0.5, off, sc)


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_fused_batch_norm(fmt):
    x = RNG.randn(4, 3, 5, 6).astype(np.float32)
    ch = 1 if fmt == "NCHW" else 3
    axes = tuple(a for a in range(4) if a != ch)
    c = x.shape[ch]
    scale, offset = RNG.rand(c).astype(np.float32) + 0.5, RNG.randn(c).astype(np.float32)
    y, m, v = tf.nn.fused_batch_norm(x, scale, offset, data_format=fmt)
    shape = [1, 1, 1, 1]
    shape[ch] = -1
    want = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-3) * \
        scale.reshape(shape) + offset.reshape(shape)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-4, atol=1e-5)
    n = x.size / c
    np.testing.assert_allclose(v.numpy(), x.var(axes) * n / (n - 1), rtol=1e-5)
    y2, m2, v2 = tf.nn.fused_batch_norm(x, scale, offset, m, v, is_training=False,
                                        data_format=fmt)
    np.testing.assert_allclose(y2.numpy(), (x - m.numpy().reshape(shape)) / np.sqrt(
        v.numpy().reshape(shape) + 1e-3) * scale.reshape(shape) + offset.reshape(shape),
        rtol=1e-4, atol=1e-5)
    check_grad(lambda a, s, o: tf.nn.fused_batch_norm(a, s, o, data_format=fmt)[0],
               x[:2, :, :3, :3] if fmt == "NCHW" else x[:2, :3, :3], scale, offset, rtol=1e-4)


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
    check_forward(fn, lambda p: p[ids], params)
    check_grad(fn, params)
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
