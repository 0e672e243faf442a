"""Tests for numflow.train.variable_scope and numflow.train.init_ops (TF1 get_variable,
variable_scope, initializers). Expected names and messages are TF 2.21's (compat.v1)."""
import numpy as np
import pytest

import numflow as tf2
import numflow.compat.v1 as tf


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


def run(*fetches):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(list(fetches))


def test_get_variable_creates_and_refuses_duplicates(graph):
    v = tf.get_variable("x", [2])
    assert v.name == "x:0" and v.shape.as_list() == [2] and v.dtype.base_dtype == tf.float32
    assert v in tf.trainable_variables()
    with pytest.raises(ValueError, match=r"Variable x already exists, disallowed\. Did you "
                                         r"mean to set reuse=True or reuse=tf.AUTO_REUSE"):
        tf.get_variable("x", [2])


def test_reuse(graph):
    with tf.variable_scope("layer"):
        w = tf.get_variable("w", [3, 2])
    with tf.variable_scope("layer", reuse=True):
        assert tf.get_variable("w", [3, 2]) is w
        assert tf.get_variable("w") is w
        with pytest.raises(ValueError, match=r"Variable layer/y does not exist, or was not "
                                             r"created with tf.get_variable\(\)"):
            tf.get_variable("y", [2])
        with pytest.raises(ValueError, match=r"Trying to share variable layer/w, but "
                                             r"specified shape \(3, 3\) and found shape \(3, 2\)"):
            tf.get_variable("w", [3, 3])
        with pytest.raises(ValueError, match="specified dtype float64 and found dtype float32"):
            tf.get_variable("w", [3, 2], dtype=tf.float64)
        with tf.variable_scope("inner", reuse=False):   # reuse is inherited, False = inherit
            assert tf.get_variable_scope().reuse is True
    with tf.variable_scope("layer") as scope:
        scope.reuse_variables()
        assert tf.get_variable("w") is w


def test_auto_reuse(graph):
    def dense():
        with tf.variable_scope("dense", reuse=tf.AUTO_REUSE):
            return tf.get_variable("kernel", [4, 4])
    assert dense() is dense()
    assert len(tf.global_variables()) == 1


def test_scope_and_op_names(graph):
    with tf.variable_scope("foo") as sc:
        assert (sc.name, sc.original_name_scope) == ("foo", "foo/")
        assert tf.constant(1).name == "foo/Const:0"
    with tf.variable_scope("foo") as sc2:
        assert (sc2.name, sc2.original_name_scope) == ("foo", "foo_1/")
        assert tf.constant(1).name == "foo_1/Const:0"
    with tf.variable_scope(sc):
        assert tf.get_variable_scope().name == "foo"
        with tf.variable_scope("bar"):
            assert tf.get_variable("w", [1]).name == "foo/bar/w:0"
            assert tf.constant(1).name == "foo_2/bar/Const:0"
    with tf.variable_scope(None, default_name="foo") as s:
        assert s.name == "foo_1"
    with tf.variable_scope(None, default_name="foo") as s:
        assert s.name == "foo_2"
    with tf.name_scope("ns"):
        v = tf.get_variable("v", [1])    # variable names ignore name scopes
        assert v.name == "v:0"
        assert tf.constant(1).name == "ns/Const:0"
    names = [op.name for op in graph.get_operations()]
    assert "foo/bar/w/Initializer/random_uniform" in names


def test_variable_named_like_its_scope(graph):
    with tf.variable_scope("foo"):
        v = tf.get_variable("", [2], initializer=tf.zeros_initializer())
        assert v.name == "foo:0"
    assert tf.Variable(1.0, name="foo").name == "foo_1:0"


def test_default_name_errors(graph):
    with pytest.raises(TypeError, match="If default_name is None then name_or_scope is required"):
        with tf.variable_scope(None):
            pass
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with tf.variable_scope(None, default_name="x", reuse=True):
            pass


def test_default_initializers(graph):
    w = tf.get_variable("w", [100, 50])
    i = tf.get_variable("i", [3], dtype=tf.int32)
    b = tf.get_variable("b", [2], dtype=tf.bool)
    w_val, i_val, b_val = run(w, i, b)
    limit = np.sqrt(6.0 / 150)
    assert np.abs(w_val).max() <= limit and np.abs(w_val).max() > 0.9 * limit
    assert i_val.tolist() == [0, 0, 0] and b_val.tolist() == [False, False]
    with pytest.raises(ValueError, match="An initializer for variable c of complex64 is "
                                         "required"):
        tf.get_variable("c", [2], dtype=tf.complex64)


def test_initializer_arguments(graph):
    a = tf.get_variable("a", [2, 2], initializer=tf.constant_initializer(3.0))
    c = tf.get_variable("c", initializer=tf.constant([1.0, 2.0]))
    d = tf.get_variable("d", initializer=[[1, 2]], dtype=tf.int32)
    with tf.variable_scope("s", initializer=tf.ones_initializer(), dtype=tf.float64):
        e = tf.get_variable("e", [3])
    assert e.dtype.base_dtype == tf.float64
    a_val, c_val, d_val, e_val = run(a, c, d, e)
    assert a_val.tolist() == [[3.0, 3.0], [3.0, 3.0]] and c_val.tolist() == [1.0, 2.0]
    assert d_val.tolist() == [[1, 2]] and e_val.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="If initializer is a constant, do not specify shape"):
        tf.get_variable("f", [2], initializer=tf.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match="Initializer type 'float32' and explicit dtype "
                                         "'float64' don't match"):
        tf.get_variable("g", initializer=tf.constant([1.0]), dtype=tf.float64)
    with pytest.raises(ValueError, match="did not get an initializer, so its `shape` argument "
                                         "must be specified"):
        tf.get_variable("h")
    with pytest.raises(ValueError, match="The initializer passed is not valid"):
        tf.get_variable("k", [None, 3])


def test_random_initializers_statistics(graph):
    tf.set_random_seed(3)
    shape = [200, 300]
    vals = run(tf.random_normal_initializer(1.0, 2.0)(shape),
               tf.truncated_normal_initializer(0.0, 1.0)(shape),
               tf.random_uniform_initializer(-2.0, 2.0)(shape),
               tf.glorot_normal_initializer()(shape),
               tf.variance_scaling_initializer(2.0, "fan_out", "untruncated_normal")(shape),
               tf.uniform_unit_scaling_initializer(1.5)(shape),
               tf.initializers.he_uniform()(shape))
    normal, trunc, uniform, glorot_n, vs, uus, he_u = vals
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 2.0) < 0.05
    assert np.abs(trunc).max() <= 2.0 and abs(trunc.std() - 0.88) < 0.02
    assert uniform.min() >= -2.0 and uniform.max() < 2.0 and abs(uniform.mean()) < 0.05
    assert abs(glorot_n.std() - np.sqrt(2.0 / 500)) < 0.005
    assert abs(vs.std() - np.sqrt(2.0 / 300)) < 0.003
    assert np.abs(uus).max() <= 1.5 * np.sqrt(3.0 / 200)
    assert np.abs(he_u).max() <= np.sqrt(6.0 / 200)


def test_seeded_initializer_is_repeatable():
    def values():
        with tf.Graph().as_default():
            v = tf.get_variable("v", [5], initializer=tf.random_uniform_initializer(seed=7))
            return run(v)[0]
    np.testing.assert_array_equal(values(), values())


def test_initializer_classes_and_config():
    init = tf.constant_initializer([1, 2, 3, 4])
    assert init.get_config() == {"value": [1, 2, 3, 4], "dtype": "float32"}
    again = type(init).from_config(init.get_config())
    np.testing.assert_array_equal(again([2, 2]).numpy(), [[1, 2], [3, 4]])
    assert tf.zeros_initializer()([2], tf.int64).numpy().dtype == np.int64
    np.testing.assert_array_equal(tf.ones_initializer(tf.float64)([2]).numpy(), [1.0, 1.0])
    with pytest.raises(TypeError):
        tf.constant_initializer({"a": 1})
    with pytest.raises(ValueError, match="Invalid `mode` argument"):
        tf.variance_scaling_initializer(mode="fan_x")
    with pytest.raises(ValueError, match="Expected floating point type"):
        tf.random_normal_initializer()([2], tf.int32)
    assert tf.glorot_uniform_initializer is tf.initializers.glorot_uniform
    np.testing.assert_array_equal(tf.initializers.identity(2.0)([2, 3]).numpy(),
                                  [[2, 0, 0], [0, 2, 0]])
    with pytest.raises(ValueError, match="only be used for 2D matrices"):
        tf.initializers.identity()([2, 2, 2])


def test_regularizer_and_custom_getter(graph):
    def getter(getter, name, *args, **kwargs):
        kwargs["trainable"] = False
        return getter(name, *args, **kwargs)

    with tf.variable_scope("s", regularizer=lambda w: tf.reduce_sum(w * w),
                           custom_getter=getter):
        w = tf.get_variable("w", [2], initializer=tf.ones_initializer())
    assert not w.trainable
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1 and losses[0].name.startswith("s/w/Regularizer/")
    assert run(losses[0])[0] == 2.0


def test_scope_collections(graph):
    with tf.variable_scope("a") as a:
        tf.get_variable("w", [1])
    with tf.variable_scope("ab"):
        tf.get_variable("w", [1])
    assert [v.name for v in a.global_variables()] == ["a/w:0"]
    assert [v.name for v in a.trainable_variables()] == ["a/w:0"]


def test_eager_get_variable_never_shares():
    v1 = tf.get_variable("e", [2], initializer=tf.zeros_initializer())
    v2 = tf.get_variable("e", [2], initializer=tf.ones_initializer())
    assert v1 is not v2
    assert v2.numpy().tolist() == [1.0, 1.0]
    with tf.variable_scope("eager_scope"):
        assert tf.get_variable("w", [1]).name == "eager_scope/w:0"
    assert not hasattr(tf2, "get_variable")
