"""constant_folding: stateless nodes on constants run once at plan time; results identical."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1


def _graph():
    x = tf1.placeholder(tf.float32, [None, 3])
    c = tf.cast(tf.constant([1, 2, 3]), tf.float32)           # foldable
    p = tf.pow(tf.constant(0.9), tf.cast(tf.constant(4), tf.float32))   # foldable chain
    return [x * c + p, tf.reduce_sum(x)], {x: np.arange(6, dtype=np.float32).reshape(2, 3)}


def test_folds_constant_subgraphs_with_identical_results(runner):
    on, off = runner.same(_graph, ["constant_folding"])
    assert "Cast" in runner.types(off) and "Pow" in runner.types(off)
    assert "Cast" not in runner.types(on) and "Pow" not in runner.types(on)


def test_keeps_fetched_stateful_and_failing_nodes(runner):
    def build():
        a = tf.cast(tf.constant([1, 2]), tf.float32)               # fetched: not folded
        r = tf1.random_uniform([2], seed=1) + tf.constant(1.0)      # stateful input
        return [a, r], None
    (res,), plan = runner.run(build)
    assert "Cast" in runner.types(plan) and "RandomUniform" in runner.types(plan)
    assert res[0].tolist() == [1.0, 2.0]
    # A kernel that fails on constants fails when the plan runs, naming the op.
    g = tf.Graph()
    with g.as_default():
        bad = tf.gather(tf.constant([1.0, 2.0]), tf.constant(5), name="bad_gather") * 2.0
        with tf1.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="node bad_gather"):
                sess.run(bad)


def test_large_results_stay_unfolded(runner):
    def build():
        big = tf.fill([1200, 1000], tf.constant(2.0))              # 4.8 MB: over the cap
        return [tf.reduce_sum(big * tf.constant(0.5))], None
    _, plan = runner.run(build)
    assert "Fill" in runner.types(plan)


def test_folded_fetch_of_a_const_reader_is_not_shared(runner):
    def build():
        return [tf.cast(tf.constant([1, 2]), tf.float32) * 1.0], None
    (first, second), _ = runner.run(build, runs=2)
    first[0][0] = 99.0                   # the user's copy is theirs
    assert second[0].tolist() == [1.0, 2.0]
