import collections
import threading

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1


def test_fetch_structures(graph_mode):
    a = tf1.constant(3.0)
    b = tf1.constant(2.0)
    c = tf1.add(a, b)
    P = collections.namedtuple("P", "x y")
    with tf1.Session() as sess:
        out = sess.run({"s": c, "l": [a, (b,)], "p": P(a, c), "op": c.op})
        assert out["s"] == 5.0 and out["l"][0] == 3.0 and out["l"][1] == (2.0,)
        assert out["p"] == P(3.0, 5.0) and out["op"] is None
        assert sess.run(c.name) == 5.0 and c.name == "AddV2:0"
        assert isinstance(sess.run(c), np.float32)


def test_feeds_override_any_tensor_for_one_call(graph_mode):
    a = tf1.constant(3.0)
    b = tf1.multiply(a, 2.0)
    with tf1.Session() as sess:
        assert sess.run(b, feed_dict={a: 10.0}) == 20.0
        assert sess.run(b) == 6.0


def test_feed_shape_mismatch(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 784], name="x")
    y = tf1.reduce_sum(x)
    with tf1.Session() as sess:
        with pytest.raises(ValueError) as info:
            sess.run(y, feed_dict={x: np.zeros((50, 2352))})
        assert str(info.value) == ("Cannot feed value of shape (50, 2352) for Tensor 'x:0', "
                                   "which has shape '(?, 784)'")


def test_missing_feed_names_placeholder(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 2], name="inp")
    y = tf1.reduce_sum(x)
    with tf1.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y)
        assert "placeholder tensor 'inp'" in str(info.value)


def test_uninitialized_variable(graph_mode):
    v = tf1.Variable(1.0, name="counter")
    with tf1.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError) as info:
            sess.run(v)
        assert "Attempting to use uninitialized value counter" in str(info.value)


def test_sessions_hold_independent_values(graph_mode):
    v = tf1.Variable(0, name="v")
    inc = tf1.assign_add(v, 1)
    s1, s2 = tf1.Session(), tf1.Session()
    s1.run(tf1.global_variables_initializer())
    s2.run(tf1.global_variables_initializer())
    for _ in range(3):
        s1.run(inc)
    assert s1.run(v) == 3 and s2.run(v) == 0
    s1.close()
    s2.close()
    with pytest.raises(RuntimeError):
        s1.run(v)


def test_eval_run_interactive_session(graph_mode):
    sess = tf1.InteractiveSession()
    x = tf1.Variable([1.0, 2.0])
    x.initializer.run()
    assert tf1.subtract(x, 1.0).eval().tolist() == [0.0, 1.0]
    sess.close()
    with pytest.raises(ValueError):
        tf1.constant(1.0).eval()


def test_concurrent_runs_match_serial(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 8])
    w = tf1.constant(np.random.RandomState(0).rand(8, 8).astype(np.float32))
    y = tf1.reduce_sum(tf1.matmul(tf1.matmul(x, w), w), axis=1)
    data = [np.random.RandomState(i).rand(4, 8).astype(np.float32) for i in range(16)]
    with tf1.Session() as sess:
        serial = [sess.run(y, {x: d}) for d in data]
        results = [None] * 16

        def work(i):
            for _ in range(20):
                results[i] = sess.run(y, {x: data[i]})
        ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    for a, b in zip(serial, results):
        np.testing.assert_array_equal(a, b)


def test_plan_is_cached_per_signature(graph_mode):
    a = tf1.placeholder(tf.float32, [])
    b = a * 2.0
    with tf1.Session() as sess:
        sess.run(b, {a: 1.0})
        sess.run(b, {a: 2.0})
        assert len(sess._plans) == 1
        sess.run([b, a], {a: 2.0})
        assert len(sess._plans) == 2   # (b) and ([b, a]) with the same feed


def test_runtime_error_names_op_and_line(graph_mode):
    x = tf1.placeholder(tf.float32, [None, None])
    y = tf1.matmul(x, x)
    with tf1.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y, {x: np.ones((2, 3))})
    assert "MatMul" in str(info.value) and "test_session.py" in str(info.value)


def test_planned_single_fetch_with_feeds_behaves_like_the_first_run(graph_mode):
    x = tf1.placeholder(tf.float32, [None, 2], name="x")
    v = tf1.Variable(0.0)
    y = tf1.reduce_sum(x) + v
    inc = tf1.assign_add(v, tf1.reduce_sum(x))
    other = tf.Graph()
    with other.as_default():
        foreign = tf1.constant(1.0)
    with tf1.Session() as sess:
        sess.run(v.initializer)
        for _ in range(2):     # the first call builds each plan, the second reuses it
            assert sess.run(y, {x: [[1, 2]]}) == 3.0 and isinstance(
                sess.run(y, {x: [[1, 2]]}), np.float32)
            assert sess.run(y, {"x:0": np.ones((1, 2))}) == 2.0      # a name as the key
            with pytest.raises(ValueError, match="Cannot feed value of shape \\(1, 3\\)"):
                sess.run(y, {x: np.ones((1, 3))})
            with pytest.raises(ValueError, match="not an element of this graph"):
                sess.run(foreign, {x: np.ones((1, 2))})
        assert sess.run(inc, {x: [[1, 1]]}) == 2.0
        assert sess.run(inc.op, {x: [[1, 1]]}) is None
        assert sess.run(inc.op, {x: [[1, 1]]}) is None and sess.run(v) == 6.0
        x.set_shape([1, 2])    # a refined static shape is checked from then on
        with pytest.raises(ValueError, match="which has shape '\\(1, 2\\)'"):
            sess.run(y, {x: np.ones((3, 2))})
