"""Plan and executor (numflow/runtime/plan.py, executor.py): value lifetimes, in-place
variable updates that no one can observe, TF1 variable-read timing, BLAS threads."""
import weakref

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.kernels import threads
from numflow.runtime import executor
from numflow.runtime.plan import Plan
from numflow.runtime.state import RunState


def test_intermediates_are_freed_after_their_last_reader(graph_mode):
    seen = []
    x = tf1.placeholder(tf.float32, [None])
    mid = tf.exp(x)
    y = tf.reduce_sum(mid) + tf.reduce_sum(x * 2.0)
    plan = Plan([y], [], [x], RunState())
    steps = []
    for fn, get, outs, free, node in plan.steps:
        def spy(*args, fn=fn, node=node):
            res = fn(*args)
            if node.op is mid.op:
                seen.append(weakref.ref(res))
            elif seen:
                assert seen[0]() is None or node.op is y.op.inputs[0].op, node
            return res
        steps.append((spy, get, outs, free, node))
    plan.steps = steps
    assert plan.run([np.ones(1000, np.float32)])[0] == pytest.approx(np.e * 1000 + 2000)
    assert seen and seen[0]() is None


def test_fed_intermediate_output_keeps_the_fed_value(graph_mode):
    a = tf.constant(3.0)
    b = a * 2.0
    c = b + 1.0
    with tf1.Session() as sess:
        assert sess.run([b, c], {b: 10.0}) == [10.0, 11.0]
        assert sess.run(c) == 7.0


def _train_graph():
    x = tf.constant(np.ones((4, 3), np.float32))
    w = tf1.Variable(np.ones((3, 2), np.float32))
    loss = tf.reduce_sum(tf.matmul(x, w))
    step = tf1.train.GradientDescentOptimizer(0.5).minimize(loss)
    return w, step


def test_optimizer_updates_write_into_the_stored_array(graph_mode):
    w, step = _train_graph()
    with tf1.Session() as sess:
        sess.run(w.initializer)
        stored = id(sess._state.vars[w._key])     # holding the array would block the reuse
        sess.run(step)
        assert id(sess._state.vars[w._key]) == stored
        assert (sess._state.vars[w._key] == -1.0).all()


def test_fetched_values_do_not_change_under_later_updates(graph_mode):
    w, step = _train_graph()
    with tf1.Session() as sess:
        sess.run(w.initializer)
        before = sess.run(w)
        view = before[:1]
        sess.run(step)
        assert (before == 1.0).all() and (view == 1.0).all()
        assert (sess.run(w) == -1.0).all()
        del before, view
        sess.run(step)
        assert (sess.run(w) == -3.0).all()


def test_tf1_reads_see_the_value_when_their_reader_runs(graph_mode):
    v = tf1.Variable(np.ones(3, np.float32))
    early = v * 1.0
    with tf.control_dependencies([early]):
        bump = v.assign_add(np.ones(3, np.float32))
    with tf.control_dependencies([bump]):
        late = v * 1.0
    with tf1.Session() as sess:
        sess.run(v.initializer)
        e, _, l = sess.run([early, bump, late])
        assert e.tolist() == [1.0] * 3 and l.tolist() == [2.0] * 3


def test_eager_values_held_by_the_user_do_not_change():
    v = tf.Variable(np.zeros(4, np.float32))
    held, read = v.numpy(), v.read_value()
    v.assign_add(np.ones(4, np.float32))
    assert held.tolist() == [0.0] * 4 and read.numpy().tolist() == [0.0] * 4
    assert v.numpy().tolist() == [1.0] * 4

    @tf.function
    def bump():
        v.assign_sub(np.full(4, 0.5, np.float32))
        return v.read_value()
    out = bump()
    out2 = bump()
    assert out.numpy().tolist() == [0.5] * 4 and out2.numpy().tolist() == [0.0] * 4


def test_assign_add_keeps_its_errors_and_dtypes(graph_mode):
    v = tf1.Variable(np.zeros(3, np.float32))
    bad = v.assign_add(tf1.placeholder(tf.float32, None))
    i = tf1.Variable(np.array([1, 2], np.int32))
    with tf1.Session() as sess:
        sess.run([v.initializer, i.initializer])
        with pytest.raises(tf.errors.InvalidArgumentError, match="does not match variable"):
            sess.run(bad, {bad.op.inputs[0]: np.ones((2, 3), np.float32)})
        with pytest.raises(tf.errors.InvalidArgumentError, match="could not be broadcast"):
            sess.run(bad, {bad.op.inputs[0]: np.ones(4, np.float32)})
        assert sess.run(i.assign_add([3, 4])).tolist() == [4, 6]
        assert sess.run(i).dtype == np.int32


class _FakeThreads:
    def __init__(self, n):
        self.n, self.log = n, []

    def get(self):
        return self.n

    def set(self, n):
        self.log.append(n)
        self.n = n


@pytest.mark.parametrize("size,busy,expect", [(8, False, []), (80, False, [1, 2]),
                                               (600, False, []),
                                               (600, True, [1, 2])])
def test_blas_threads_by_size_and_load_and_restored(graph_mode, monkeypatch, size, busy,
                                                    expect):
    fake = _FakeThreads(2)
    monkeypatch.setattr(threads, "get", fake.get)
    monkeypatch.setattr(threads, "set", fake.set)
    monkeypatch.setattr(threads, "available", lambda: True)
    monkeypatch.setattr(threads, "contended", lambda: busy)
    a = tf1.placeholder(tf.float32, [None, None])
    y = tf.matmul(a, a)
    with tf1.Session() as sess:
        sess.run(y, {a: np.ones((size, size), np.float32)})
    assert fake.log == expect and fake.n == 2


def test_contention_probe_reads_the_machine():
    threads._probe["at"] = None
    assert threads.contended() in (True, False)
    assert threads.contended() in (True, False)      # cached within PROBE_SECONDS


def test_calibrated_reference_counts_are_sane():
    assert all(2 <= n <= 8 for n in executor._SOLE_REFS.values())


def test_statically_tiny_products_skip_the_thread_policy(graph_mode):
    y = tf.matmul(tf1.constant([[3.0, 3.0]]), tf1.constant([[2.0], [2.0]]))
    big = tf1.placeholder(tf.float32, [None, 512])
    z = tf.matmul(big, tf1.ones([512, 512]))
    with tf1.Session() as sess:
        sess.run(y)
        sess.run(z, {big: np.ones((4, 512), np.float32)})
        assert not sess._plans[id(y)].uses_blas     # shapes prove it tiny: no thread calls
        assert any(p.uses_blas for p in sess._plans.values())   # unknown batch: decided at run
