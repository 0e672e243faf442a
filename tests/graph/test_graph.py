import threading

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1


def test_unique_names_and_scopes(graph_mode):
    a = tf1.constant(1.0, name="c")
    b = tf1.constant(2.0, name="c")
    assert a.name == "c:0" and b.name == "c_1:0"
    with tf1.name_scope("layer"):
        d = tf1.add(a, b, name="sum")
    assert d.name == "layer/sum:0" and d.op.name == "layer/sum"
    with tf1.name_scope("layer"):
        e = tf1.identity(d)
    assert e.name.startswith("layer_1/")
    g = tf1.get_default_graph()
    assert g.get_tensor_by_name("layer/sum:0") is d
    assert g.get_operation_by_name("c_1") is b.op
    with pytest.raises(KeyError):
        g.get_operation_by_name("nope")
    with pytest.raises(ValueError):
        g.get_tensor_by_name("c")


def test_graph_as_default_and_reset(graph_mode):
    g = tf.Graph()
    with g.as_default():
        c = tf1.constant(1)
        assert tf1.get_default_graph() is g
        assert not tf.executing_eagerly()
    assert c.graph is g and c.op in g.get_operations()
    tf1.reset_default_graph()
    assert tf1.get_default_graph() is not g


def test_collections_and_variables(graph_mode):
    v = tf1.Variable(1.0, name="v")
    w = tf1.Variable(2.0, name="w", trainable=False)
    assert tf1.global_variables() == [v, w]
    assert tf1.trainable_variables() == [v]
    tf1.add_to_collection("mine", 3)
    assert tf1.get_collection("mine") == [3]
    assert v.name == "v:0" and v.op.name == "v"


def test_control_dependencies_and_group(graph_mode):
    v = tf1.Variable(0, name="counter")
    inc = tf1.assign_add(v, 1)
    with tf1.control_dependencies([inc]):
        read = tf1.identity(v)
    assert inc.op in read.op.control_inputs
    noop = tf1.group(inc)
    assert noop.type == "NoOp"
    with tf1.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(read) == 1
        sess.run(noop)
        assert sess.run(v) == 2


def test_device_is_recorded_and_canonical(graph_mode):
    with tf1.device("/gpu:1"):
        c = tf1.constant(1.0)
    assert c.device == "/device:GPU:1"
    with tf1.Session(config=tf1.ConfigProto(log_device_placement=True)) as sess:
        assert sess.run(c) == 1.0


def test_impossible_shape_raises_at_construction_and_adds_no_node(graph_mode):
    a = tf1.placeholder(tf.float32, [None, 3])
    b = tf1.placeholder(tf.float32, [4, 5])
    n = len(tf1.get_default_graph().get_operations())
    with pytest.raises(ValueError) as info:
        tf1.matmul(a, b)
    msg = str(info.value)
    assert "MatMul" in msg and "3" in msg and "4" in msg and "test_graph.py" in msg
    assert len(tf1.get_default_graph().get_operations()) == n


def test_static_shapes(graph_mode):
    x = tf1.placeholder(tf.float32, shape=(None, 2), name="x-input")
    assert x.shape.as_list() == [None, 2] and x.name == "x-input:0"
    y = tf1.matmul(x, tf1.ones([2, 5]))
    assert y.shape.as_list() == [None, 5]
    r = tf1.reshape(y, [-1, 5, 1])
    assert r.shape.as_list() == [None, 5, 1]
    s = tf1.reduce_sum(y, axis=1)
    assert s.shape.as_list() == [None]


def test_building_from_several_threads_is_safe(graph_mode):
    g = tf1.get_default_graph()

    def build():
        with g.as_default():
            for _ in range(200):
                tf1.constant(1.0, name="t")
    threads = [threading.Thread(target=build) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = [op.name for op in g.get_operations()]
    assert len(names) == 800 and len(set(names)) == 800


def test_symbolic_tensor_has_no_value(graph_mode):
    c = tf1.constant([1.0])
    with pytest.raises(TypeError):
        bool(c)
    with pytest.raises(NotImplementedError):
        np.asarray(c)


def test_init_scope_clears_control_dependencies(graph_mode):
    a = tf1.constant(1.0)
    with tf1.control_dependencies([a]):
        with tf.init_scope():
            b = tf1.constant(2.0)
        c = tf1.constant(3.0)
    assert b.op.control_inputs == [] and c.op.control_inputs == [a.op]
