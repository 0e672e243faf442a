"""cse: equal stateless nodes computed once; identical results; state never merged."""
import numpy as np

import numflow as tf
import numflow.compat.v1 as tf1


def test_merges_duplicates_with_identical_results(runner):
    def build():
        x = tf1.placeholder(tf.float32, [None, 4])
        a = tf.exp(x) * 2.0
        b = tf.exp(x) * 2.0                                        # the same again
        return [tf.reduce_sum(a + b), a], {x: np.linspace(-1, 1, 8, dtype=np.float32)
                                           .reshape(2, 4)}
    on, off = runner.same(build, ["cse"])
    assert runner.types(off).count("Exp") == 2 and runner.types(on).count("Exp") == 1


def test_equal_small_constants_merge(runner):
    def build():
        x = tf1.placeholder(tf.float32, [3])
        return [(x + tf.constant(1.5)) * (x - tf.constant(1.5))], {x: [1.0, 2.0, 3.0]}
    on, off = runner.same(build, ["cse", "constant_folding"])
    assert runner.types(on).count("Const") < runner.types(off).count("Const")


def test_random_ops_are_not_merged(runner):
    def build():
        return [tf1.random_uniform([3], seed=1) - tf1.random_uniform([3], seed=1)], None
    (res,), plan = runner.run(build)
    assert runner.types(plan).count("RandomUniform") == 2


def test_tf1_variable_readers_on_either_side_of_an_assign_stay_apart(graph_mode):
    v = tf1.Variable(1.0)
    before = v * 2.0
    with tf.control_dependencies([before]):
        assign = v.assign(5.0)
    after = v * 2.0           # the same node as ``before``, run after the assign (fetch order)
    with tf1.Session() as sess:
        sess.run(v.initializer)
        assert sess.run([before, assign, after]) == [2.0, 5.0, 10.0]
        plan, = [p for k, p in sess._plans.items() if isinstance(k, tuple) and k[0]]
        assert [n.type for n in plan.program.nodes].count("Mul") == 2
