"""numflow/ops/control_flow.py and debug_ops.py: cond/case/while_loop in eager and graph
mode (only the taken branch runs, side effects once, gradients through cond), asserts,
printing and check_numerics."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.autodiff.gradients import gradients
from numflow.framework import errors
from numflow.testing import Row, add_rows

BAD = (errors.InvalidArgumentError, ValueError)
X = np.array([0.5, -1.5, 2.0], np.float32)


def _cond_fn(x):
    return tf.cond(tf.reduce_sum(x) > 0, lambda: tf.square(x) * 3.0, lambda: tf.sin(x))


def _loop_fn(x):
    i, acc = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * x + 1.0),
                           [tf.constant(0), tf.zeros_like(x)])
    return acc


ROWS = add_rows([
    Row("StatelessIf", _cond_fn, [X], lambda x: np.square(x) * 3, grad2=True, name="true"),
    Row("StatelessIf", _cond_fn, [-X], lambda x: np.sin(x), name="false"),
    Row("StatelessWhile", _loop_fn, [X], lambda x: (x + 1) * x + 1, grad=False),
    Row("CheckNumerics", lambda x: tf.debugging.check_numerics(x * 2.0, "msg"), [X],
        lambda x: x * 2),
])


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()


def test_eager_cond_and_while_are_python():
    assert tf.cond(tf.constant(False), lambda: 1, lambda: 2) == 2
    out = tf.while_loop(lambda i: i < 5, lambda i: i + 2, [0])
    assert isinstance(out, list) and out[0].numpy() == 6
    i, s = tf.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s + i), (0, 0),
                         maximum_iterations=2)
    assert (i.numpy(), s.numpy()) == (2, 1)
    assert tf1.while_loop(lambda i: i < 5, lambda i: i + 2, [0]).numpy() == 6


def test_graph_cond_runs_only_the_taken_branch():
    with tf.Graph().as_default():
        p = tf1.placeholder(tf.bool, [])
        v = tf1.Variable(0.0)
        w = tf1.Variable(0.0)
        out = tf.cond(p, lambda: v.assign_add(1.0), lambda: w.assign_add(10.0))
        idx = tf1.placeholder(tf.int32, [])
        safe = tf.cond(idx < 3, lambda: tf.gather([1, 2, 3], idx), lambda: tf.constant(-1))
        assert {op.type for op in tf1.get_default_graph().get_operations()} >= {"If"}
        with tf1.Session() as sess:
            sess.run([v.initializer, w.initializer])
            assert sess.run(out, {p: True}) == 1.0
            assert sess.run(out, {p: True}) == 2.0
            assert sess.run(out, {p: False}) == 10.0
            assert sess.run([v, w]) == [2.0, 10.0]
            assert sess.run(safe, {idx: 7}) == -1      # the gather never ran
            assert sess.run(safe, {idx: 1}) == 2


def test_cond_gradient_reuses_random_draws():
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [1000])
        p = tf1.placeholder(tf.bool, [])
        y = tf.cond(p, lambda: x * tf1.random_uniform([1000], seed=1), lambda: x)
        dy = gradients(tf.reduce_sum(y), x)[0]
        with tf1.Session() as sess:
            yv, dv = sess.run([y, dy], {x: np.ones(1000), p: True})
            assert np.array_equal(yv, dv)        # d(x * r)/dx = r, the same draw
            yv, dv = sess.run([y, dy], {x: np.ones(1000), p: False})
            assert np.array_equal(dv, np.ones(1000))


def test_cond_structure_and_dtype_errors():
    with tf.Graph().as_default():
        p = tf1.placeholder(tf.bool, [])
        with pytest.raises(ValueError, match="same number"):
            tf.cond(p, lambda: (tf.constant(1), tf.constant(2)), lambda: tf.constant(1))
        with pytest.raises(TypeError, match="dtype"):
            tf.cond(p, lambda: tf.constant(1), lambda: tf.constant(1.0))
        with pytest.raises(TypeError, match="bool"):
            tf.cond(tf.constant(1), lambda: 1, lambda: 2)
        out = tf.cond(p, lambda: tf.zeros([2, 3]), lambda: tf.zeros([4, 3]))
        assert out.shape.as_list() == [None, 3]
    with pytest.raises(TypeError, match="callable"):
        tf.cond(True, 1, 2)


def test_graph_while_loop():
    with tf.Graph().as_default():
        n = tf1.placeholder(tf.int32, [])
        i, fact = tf.while_loop(lambda i, f: i <= n, lambda i, f: (i + 1, f * i),
                                [tf.constant(1), tf.constant(1)])
        j = tf.while_loop(lambda j: j < 100, lambda j: j + 1, [0], maximum_iterations=7)
        grow = tf.while_loop(lambda t: tf.size(t) < 8, lambda t: tf.concat([t, t], 0),
                             [tf.ones([1])], shape_invariants=[tf.TensorShape([None])])
        v = tf1.Variable(0)
        side = tf.while_loop(lambda k: k < 3, lambda k: k + 1 + v.assign_add(1) * 0, [0])
        with tf1.Session() as sess:
            sess.run(v.initializer)
            assert sess.run(fact, {n: 5}) == 120
            assert sess.run(j)[0] == 7
            assert sess.run(grow)[0].shape == (8,)
            sess.run(side)
            assert sess.run(v) == 3
        with pytest.raises(ValueError, match="shape_invariants"):
            tf.while_loop(lambda t: tf.size(t) < 8, lambda t: tf.concat([t, t], 0),
                          [tf.ones([1])])
        with pytest.raises(TypeError, match="enters as int32"):
            tf.while_loop(lambda k: k < 3, lambda k: tf.cast(k, tf.float32), [0])
        x = tf1.placeholder(tf.float32, [2])
        out = tf.while_loop(lambda k, a: k < 2, lambda k, a: (k + 1, a * x), [0, x])[1]
        with pytest.raises(NotImplementedError, match="while_loop"):
            gradients(out, x)


def test_case():
    x = tf.constant(3)
    out = tf.case([(x < 2, lambda: tf.constant(1)), (x < 5, lambda: tf.constant(2))],
                  default=lambda: tf.constant(3))
    assert out.numpy() == 2
    assert tf.case([(x > 5, lambda: tf.constant(1)), (x > 9, lambda: tf.constant(2))]).numpy() == 2
    with pytest.raises(errors.InvalidArgumentError):
        tf.case([(x > 1, lambda: tf.constant(1)), (x > 2, lambda: tf.constant(2))],
                default=lambda: tf.constant(0), exclusive=True)
    with tf.Graph().as_default():
        k = tf1.placeholder(tf.int32, [])
        out = tf1.case({k < 2: lambda: tf.constant(10), k < 5: lambda: tf.constant(20)},
                       default=lambda: tf.constant(30))
        with tf1.Session() as sess:
            assert [sess.run(out, {k: v}) for v in (0, 3, 9)] == [10, 20, 30]


def test_asserts():
    with pytest.raises(errors.InvalidArgumentError, match="assertion failed"):
        tf.debugging.assert_equal(tf.constant([1, 2]), tf.constant([1, 3]))
    assert tf.debugging.assert_less(tf.constant([1]), tf.constant([2])) is None
    with pytest.raises(errors.InvalidArgumentError, match="must be big"):
        tf.debugging.assert_greater(tf.constant(1.0), 2.0, message="must be big")
    with pytest.raises(errors.InvalidArgumentError):
        tf.debugging.assert_positive(tf.constant([1, 0]))
    with pytest.raises(ValueError, match="rank 2"):
        tf.debugging.assert_rank(tf.constant([1]), 2)
    with pytest.raises(errors.InvalidArgumentError, match="boom"):
        tf.Assert(tf.constant(False), ["boom", tf.constant([1, 2])])
    with tf.Graph().as_default():
        with pytest.raises(errors.InvalidArgumentError):   # constants: checked when built
            tf1.assert_equal(tf.constant(1), tf.constant(2))
        x = tf1.placeholder(tf.float32, [None])
        check = tf1.assert_non_negative(x, message="negative input")
        with tf1.control_dependencies([check]):
            y = tf.identity(x)
        with tf1.Session() as sess:
            assert sess.run(y, {x: [1.0]}).tolist() == [1.0]
            with pytest.raises(errors.InvalidArgumentError, match="negative input"):
                sess.run(y, {x: [-1.0]})


def test_print(capsys):
    tf.print("value:", tf.constant([1, 2, 3]), sep="|")
    assert capsys.readouterr().err == "value:|[1 2 3]\n"
    tf.print(tf.range(10), output_stream=__import__("sys").stdout)
    assert capsys.readouterr().out == "[0 1 2 ... 7 8 9]\n"
    with tf.Graph().as_default():
        x = tf1.placeholder(tf.float32, [2])
        y = tf1.Print(x * 2.0, [x], message="x is ", first_n=1)
        op = tf.print("graph", x)
        with tf1.Session() as sess:
            assert sess.run(y, {x: [1.0, 2.0]}).tolist() == [2.0, 4.0]
            sess.run(y, {x: [1.0, 2.0]})
            sess.run(op, {x: [3.0, 4.0]})
        err = capsys.readouterr().err
        assert err.count("x is [1 2]") == 1 and "graph [3 4]" in err

    @tf.function
    def f(v):
        tf.print("in function", v)
        return v + 1
    f(tf.constant(1))
    f(tf.constant(2))
    assert capsys.readouterr().err == "in function 1\nin function 2\n"


def test_check_numerics():
    with pytest.raises(errors.InvalidArgumentError, match="bad : Tensor had NaN"):
        tf.debugging.check_numerics(tf.constant([np.nan]), "bad")
    with pytest.raises(errors.InvalidArgumentError, match="Inf"):
        tf.debugging.check_numerics(tf.constant([np.inf]), "bad")
    tf.debugging.enable_check_numerics()
    try:
        with pytest.raises(errors.InvalidArgumentError, match="RealDiv"):
            tf.constant([1.0]) / tf.constant([0.0])
    finally:
        tf.debugging.disable_check_numerics()
    assert np.isinf((tf.constant([1.0]) / tf.constant([0.0])).numpy()).all()


def _print_rows_check():
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        with tf.Graph().as_default():
            x = tf1.placeholder(tf.float32, [2])
            y = tf1.Print(x, [x], message="m ")
            op = tf.print("p", x)
            with tf1.Session() as sess:
                sess.run([y, op], {x: [1.0, 2.5]})
    assert sorted(buf.getvalue().splitlines()) == ["m [1 2.5]", "p [1 2.5]"]


add_rows([Row("If", None, [], custom=test_graph_cond_runs_only_the_taken_branch),
          Row("While", None, [], custom=test_graph_while_loop),
          Row("Assert", None, [], custom=test_asserts),
          Row("Print", None, [], custom=_print_rows_check),
          Row("PrintV2", None, [], custom=_print_rows_check)])
