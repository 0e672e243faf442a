"""Random ops: TF's numbers for seeded ops (tests/fixtures/kernels/random_ops.npz, recorded
from TensorFlow's compat.v1), TF's seed rules in graph and eager mode, per-Session streams,
static shapes, distributions and error paths."""
import os

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors
from numflow.testing import Row, add_rows

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "kernels",
                                "random_ops.npz"))

# The cases of tests/fixtures/kernels/make_random_fixtures.py, built with numflow's TF1 API.
OP_SEED_CASES = {
    "normal_2x3_seed1": lambda: tf1.random_normal([2, 3], seed=1),
    "normal_200x300_mean2_std4_seed12": lambda: tf1.random_normal([200, 300], mean=2.0,
                                                                  stddev=4.0, seed=12),
    "normal_f64_3x5_seed3": lambda: tf1.random_normal([3, 5], dtype=tf.float64, seed=3),
    "normal_f64_2001_seed13": lambda: tf1.random_normal([2001], dtype=tf.float64, seed=13),
    "normal_f16_7_seed4": lambda: tf1.random_normal([7], dtype=tf.float16, seed=4),
    "normal_5_seed0": lambda: tf1.random_normal([5], seed=0),
    "uniform_4x5_seed5": lambda: tf1.random_uniform([4, 5], seed=5),
    "uniform_f64_3x3_seed6": lambda: tf1.random_uniform([3, 3], dtype=tf.float64, seed=6),
    "uniform_f16_9_seed14": lambda: tf1.random_uniform([9], dtype=tf.float16, seed=14),
    "uniform_minmax_seed15": lambda: tf1.random_uniform([6], minval=-3.0, maxval=5.0, seed=15),
    "uniform_int32_3x4_seed7": lambda: tf1.random_uniform([3, 4], minval=-5, maxval=17,
                                                          dtype=tf.int32, seed=7),
    "uniform_int32_full_seed16": lambda: tf1.random_uniform([9], minval=-2 ** 31,
                                                            maxval=2 ** 31 - 1,
                                                            dtype=tf.int32, seed=16),
    "uniform_int64_5_seed8": lambda: tf1.random_uniform([5], minval=-2 ** 40, maxval=2 ** 40,
                                                        dtype=tf.int64, seed=8),
    "truncated_50x7_seed9": lambda: tf1.truncated_normal([50, 7], seed=9),
    "truncated_f64_33_seed10": lambda: tf1.truncated_normal([33], dtype=tf.float64, seed=10),
    "truncated_f16_6_seed17": lambda: tf1.truncated_normal([6], dtype=tf.float16, seed=17),
    "truncated_3000_seed18": lambda: tf1.truncated_normal([3000], seed=18),
    "normal_big_seed_neg1": lambda: tf1.random_normal([4], seed=-1),
}
RAW_TYPES = ("RandomStandardNormal", "RandomUniform", "RandomUniformInt", "TruncatedNormal")


def raw_op(t):
    while t.op.type not in RAW_TYPES:
        t = t.op.inputs[0]
    return t


def assert_tf_numbers(got, want):
    """Integers and uniform floats are bit-exact; Box-Muller floats within 2 ulp (see
    numflow/kernels/random.py on glibc's logf/sincosf)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind in "iu":
        np.testing.assert_array_equal(got, want)
    else:
        spacing = np.spacing(np.abs(want).astype(want.dtype)).astype(np.float64)
        assert (np.abs(got.astype(np.float64) - want) <= 2 * spacing + 1e-30).all()


def check_recorded(name, t, sess):
    raw = raw_op(t)
    assert (raw.op.get_attr("seed"), raw.op.get_attr("seed2")) == tuple(
        int(v) for v in FIXTURES[f"{name}_seeds"])
    assert raw.shape.as_list() == FIXTURES[f"{name}_shape"].tolist() == t.shape.as_list()
    for run in (1, 2):
        r, f = sess.run([raw, t])
        want = FIXTURES[f"{name}_run{run}"]
        assert_tf_numbers(r.reshape(-1)[:want.size], want)
        key = f"{name}_final_run{run}_head"
        if key in FIXTURES:
            assert_tf_numbers(f.reshape(-1)[:100], FIXTURES[key])
            assert f.astype(np.float64).mean() == pytest.approx(
                float(FIXTURES[f"{name}_final_run{run}_mean"]), rel=1e-5, abs=1e-6)


def check_op_seed_cases(prefix):
    """Every recorded op-seed case whose name starts with ``prefix``, in a fresh graph."""
    with tf.Graph().as_default():
        ts = {name: make() for name, make in OP_SEED_CASES.items() if name.startswith(prefix)}
        assert ts
        with tf1.Session() as sess:
            for name, t in ts.items():
                check_recorded(name, t, sess)


def test_graph_seed_counter_rules(graph_mode):
    tf1.set_random_seed(1234)
    assert tf1.get_default_graph().seed == 1234
    a = tf1.random_normal([3])                  # counter 0
    b = tf1.random_uniform([2, 2])              # counter 1
    c = tf1.random_normal([3], seed=5)          # explicit op seed: no counter
    d = tf1.truncated_normal([5])               # counter 2
    with tf1.Session() as sess:
        for name, t in (("graph1234_a", a), ("graph1234_b", b), ("graph1234_c", c),
                        ("graph1234_d", d)):
            check_recorded(name, t, sess)
    g = tf.Graph()
    with g.as_default():
        tf1.set_random_seed(0)
        e = tf1.random_normal([4], seed=0)      # (0, 0) becomes (0, 2**31 - 1)
        with tf1.Session() as sess:
            check_recorded("graph0_seed0", e, sess)


def test_new_session_restarts_each_stream_and_ops_are_independent(graph_mode):
    rn = tf1.random_normal([200, 300], mean=2, stddev=4, seed=12)
    same_seed = tf1.random_normal([200, 300], mean=2, stddev=4, seed=12)
    other = tf1.random_normal([200, 300], mean=2, stddev=4, seed=13)
    unseeded = tf1.random_normal([50])
    with tf1.Session() as sess:
        first, again = sess.run(rn), sess.run(rn)
        u1 = sess.run(unseeded)
        assert not np.array_equal(first, again)
        np.testing.assert_array_equal(sess.run(same_seed), first)   # TF: equal seeds, equal numbers
        assert not np.array_equal(sess.run(other), first)
        assert not np.array_equal(sess.run(unseeded), u1)
    assert abs(first.mean() - 2) < 0.1 and abs(first.std() - 4) < 0.1
    with tf1.Session() as sess2:
        np.testing.assert_array_equal(sess2.run(rn), first)
        assert not np.array_equal(sess2.run(unseeded), u1)     # fresh entropy per session


def test_names_and_static_shapes(graph_mode):
    rn = tf1.random_normal([2, 3], seed=1, name="init")
    assert rn.op.name == "init" and raw_op(rn).op.name == "init/RandomStandardNormal"
    n = tf1.placeholder(tf.int32, [])
    dyn = tf1.random_uniform(tf1.stack([n, 3]), seed=2)
    ints = tf1.random_uniform([4], maxval=10, dtype=tf.int64, seed=3)
    assert dyn.shape.as_list() == [None, 3] and ints.shape.as_list() == [4]
    assert tf1.truncated_normal(tf.TensorShape([5, 2])).shape.as_list() == [5, 2]
    scalar = tf1.random_normal([])
    with tf1.Session() as sess:
        assert sess.run(dyn, {n: 7}).shape == (7, 3)
        assert sess.run(ints).dtype == np.int64 and sess.run(scalar).shape == ()


def test_eager_seed_rules():
    tf.random.set_seed(1)
    a1, a2 = tf.random.uniform([3], seed=1), tf.random.uniform([3], seed=1)
    assert not np.array_equal(a1.numpy(), a2.numpy())      # one kernel, its stream goes on
    tf.random.set_seed(1)
    np.testing.assert_array_equal(tf.random.uniform([3], seed=1).numpy(), a1.numpy())
    tf.random.set_seed(1234)
    np.testing.assert_array_equal(tf.random.uniform([2, 2], seed=1).numpy().reshape(-1),
                                  FIXTURES["graph1234_b_run1"])   # seeds (1234, 1) as in graphs
    tf.random.set_seed(7)
    g1 = [tf.random.normal([4]).numpy() for _ in range(2)]
    tf.random.set_seed(7)
    g2 = [tf.random.normal([4]).numpy() for _ in range(2)]
    np.testing.assert_array_equal(g1, g2)
    assert not np.array_equal(g1[0], g1[1])
    tf.random.set_seed(None)
    assert tf1.random.get_seed(None) == (None, None)
    assert tf1.get_seed(5) == (87654321, 5)


def test_uniform_ranges_and_errors():
    u = tf.random.uniform([200, 300], maxval=4, seed=12).numpy()
    assert u.min() >= 0 and u.max() < 4 and abs(u.mean() - 2) < 0.05
    i = tf.random.uniform([1000], minval=-3, maxval=4, dtype=tf.int32, seed=1).numpy()
    assert set(np.unique(i)) == set(range(-3, 4))
    with pytest.raises(ValueError, match="maxval"):
        tf.random.uniform([2], dtype=tf.int32)
    with pytest.raises(errors.InvalidArgumentError):
        tf.random.uniform([2], minval=5, maxval=5, dtype=tf.int32)
    with pytest.raises(ValueError):
        tf.random.normal([2], dtype=tf.int32)
    t = tf.random.truncated_normal([1000], stddev=0.1).numpy()
    assert np.abs(t).max() <= 0.2 + 1e-6 and t.dtype == np.float32


def test_shuffle():
    x = tf.constant(np.arange(20).reshape(10, 2))
    s1 = tf.random.shuffle(x, seed=3).numpy()
    assert sorted(s1[:, 0].tolist()) == list(range(0, 20, 2))
    np.testing.assert_array_equal(s1[:, 1], s1[:, 0] + 1)        # rows move together
    assert tf.random.shuffle(tf.constant([4]), seed=1).numpy().tolist() == [4]
    with tf.Graph().as_default():
        op = tf1.random_shuffle(tf1.constant(np.arange(50)), seed=9)
        runs = []
        for _ in range(2):
            with tf1.Session() as sess:
                runs.append([sess.run(op) for _ in range(2)])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0][0], runs[0][1])


def test_categorical():
    logits = np.log([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [1e-30, 1.0, 1e-30]]).astype(np.float32)
    s = tf.random.categorical(logits, 20000, seed=4)
    assert s.dtype == tf.int64 and s.shape == (3, 20000)
    freq = np.stack([np.bincount(r, minlength=3) / 20000 for r in s.numpy()])
    np.testing.assert_allclose(freq, np.exp(logits), atol=0.015)
    with tf.Graph().as_default():
        m = tf1.multinomial(tf1.placeholder(tf.float32, [None, 3]), 5, output_dtype=tf.int32)
        assert m.shape.as_list() == [None, 5] and m.dtype == tf.int32
    with pytest.raises(errors.InvalidArgumentError):
        tf.random.categorical(tf.ones([3]), 2)


# Recorded from TensorFlow 2.21 (tf.compat.v1 graph, one Session, two runs of each op).
TF_SHUFFLE_50_SEED9 = [
    [23, 46, 13, 7, 2, 8, 0, 16, 18, 15, 21, 31, 12, 32, 14, 3, 19, 24, 33, 44, 25, 49, 29, 11,
     28, 43, 27, 40, 41, 10, 38, 36, 34, 9, 1, 17, 20, 26, 22, 37, 39, 48, 30, 35, 6, 45, 42,
     47, 5, 4],
    [31, 48, 34, 7, 45, 32, 37, 47, 0, 24, 15, 9, 2, 42, 25, 44, 39, 1, 28, 38, 21, 4, 12, 20,
     22, 43, 10, 3, 14, 11, 30, 17, 6, 5, 33, 29, 27, 41, 46, 18, 35, 40, 49, 16, 8, 36, 23, 13,
     26, 19]]
TF_SHUFFLE_ROWS_SEED3 = [14, 4, 12, 16, 18, 2, 10, 6, 8, 0]
TF_MULTINOMIAL_SEED4 = [[[2, 2, 1, 2, 2, 1, 1], [0, 0, 0, 0, 0, 1, 1], [0, 2, 1, 2, 1, 1, 2]],
                        [[0, 0, 2, 0, 2, 1, 0], [0, 0, 0, 1, 0, 0, 0], [2, 2, 0, 2, 2, 1, 2]]]
TF_CATEGORICAL_SEED5 = [[[0, 2], [0, 0], [0, 1]], [[0, 0], [0, 0], [2, 0]]]
TF_DROPOUT_KEEP_SEED11 = ["00110001110010010101", "10011000111011110000", "10101110001100000111",
                          "11001000101010010101", "10010101010111010111", "01001111110111011100"]


def test_shuffle_categorical_dropout_match_tensorflow():
    with tf.Graph().as_default():
        s1 = tf1.random_shuffle(tf1.constant(np.arange(50)), seed=9)
        s2 = tf1.random_shuffle(tf1.constant(np.arange(20).reshape(10, 2)), seed=3)
        logits = tf1.constant(np.log([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4]]),
                              tf.float32)
        m1 = tf1.multinomial(logits, 7, seed=4)
        m2 = tf1.random.categorical(logits, 2, seed=5)
        x = tf1.placeholder(tf.float32, [6, 20])
        d = tf1.nn.dropout(x, keep_prob=0.5, seed=11)
        with tf1.Session() as sess:
            assert [sess.run(s1).tolist() for _ in range(2)] == TF_SHUFFLE_50_SEED9
            assert sess.run(s2)[:, 0].tolist() == TF_SHUFFLE_ROWS_SEED3
            assert [sess.run(m1).tolist() for _ in range(2)] == TF_MULTINOMIAL_SEED4
            assert [sess.run(m2).tolist() for _ in range(2)] == TF_CATEGORICAL_SEED5
            kept = sess.run(d, {x: np.ones((6, 20))})
    assert ["".join("1" if v else "0" for v in row) for row in kept] == TF_DROPOUT_KEEP_SEED11
    np.testing.assert_array_equal(kept[kept != 0], 2.0)


ROWS = add_rows([
    Row("RandomStandardNormal", None, [], custom=lambda: check_op_seed_cases("normal")),
    Row("RandomUniform", None, [], custom=lambda: check_op_seed_cases("uniform_f"),
        name="float"),
    Row("RandomUniform", None, [], custom=lambda: check_op_seed_cases("uniform_4x5"),
        name="float32"),
    Row("RandomUniform", None, [], custom=lambda: check_op_seed_cases("uniform_minmax"),
        name="minmax"),
    Row("RandomUniformInt", None, [], custom=lambda: check_op_seed_cases("uniform_int")),
    Row("TruncatedNormal", None, [], custom=lambda: check_op_seed_cases("truncated")),
    Row("RandomShuffle", None, [], custom=test_shuffle),
    Row("RandomShuffle", None, [], custom=test_shuffle_categorical_dropout_match_tensorflow,
        name="tf_numbers"),
    Row("Multinomial", None, [], custom=test_categorical),
    Row("Multinomial", None, [], custom=test_shuffle_categorical_dropout_match_tensorflow,
        name="tf_numbers"),
])


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()
