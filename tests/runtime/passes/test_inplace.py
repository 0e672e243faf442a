"""inplace: elementwise results reuse a dying input's buffer; results identical; values
that anyone else can see (fetches, feeds, constants, variables) are never overwritten."""
import numpy as np

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.runtime import executor


def _chain():
    def build():
        x = tf1.placeholder(tf.float32, [None, 64])
        h = tf.sqrt(tf.square(x - 1.5) + 2.0) * 3.0
        return [tf.reduce_sum(tf.nn.relu(-h) + h), h * 0.5], \
            {x: np.linspace(-2, 2, 64 * 40, dtype=np.float32).reshape(40, 64)}
    return build


def test_results_identical_and_steps_reuse_buffers(runner):
    on, off = runner.same(_chain(), ["inplace"], runs=2)
    reusing = [s for s in on.steps if hasattr(s[0], "reuses")]
    assert len(reusing) >= 4 and not any(hasattr(s[0], "reuses") for s in off.steps)


def test_buffers_are_actually_reused(graph_mode, monkeypatch):
    calls = []
    real = executor._in_place_fn

    def spy(ufunc, k, kernel, same_dtype, sole):
        def counted(*args, out):
            calls.append(out.shape)
            return ufunc(*args, out=out)
        return real(counted, k, kernel, same_dtype, sole)
    monkeypatch.setattr(executor, "_in_place_fn", spy)
    x = tf1.placeholder(tf.float32, [None, 64])
    y = tf.exp(tf.sqrt(tf.abs(x) + 1.0)) * 2.0
    with tf1.Session() as sess:
        sess.run(y, {x: np.ones((600, 64), np.float32)})
    assert len(calls) >= 3            # AddV2, Sqrt, Exp, Mul: the first reads Abs's output


def test_feeds_constants_and_fetches_are_never_written(graph_mode):
    feed = np.full((32, 64), 4.0, np.float32)
    const = np.full((32, 64), 2.0, np.float32)
    x = tf1.placeholder(tf.float32, [None, 64])
    c = tf.constant(const)
    a = x + 1.0                        # fetched below, and read by b
    b = tf.sqrt(a) * c
    with tf1.Session() as sess:
        ra, rb = sess.run([a, b], {x: feed})
        ra2, rb2 = sess.run([a, b], {x: feed})
    assert (feed == 4.0).all() and (const == 2.0).all()
    assert (ra == 5.0).all() and np.allclose(rb, np.sqrt(5.0) * 2.0) and (ra2 == ra).all()
    assert ra is not ra2 and rb is not rb2


def test_eager_tensor_values_are_never_written():
    v = tf.Variable(np.full((32, 64), 3.0, np.float32))
    x = tf.constant(np.full((32, 64), 1.0, np.float32))

    @tf.function
    def f(t):
        return tf.sqrt(t + 1.0) * v

    held = v.numpy()
    out = f(x)
    assert (x.numpy() == 1.0).all() and (held == 3.0).all() and (v.numpy() == 3.0).all()
    assert np.allclose(out.numpy(), np.sqrt(2.0) * 3.0)
