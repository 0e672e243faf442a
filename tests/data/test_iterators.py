"""TF1 graph-mode iterators (numflow.data.iterators), as TF 1.15 runs them."""
import numpy as np
import pytest

import numflow as tf2
import numflow.compat.v1 as tf
from numflow.data.iterators import OwnedIterator

D = tf.data.Dataset


@pytest.fixture
def graph():
    g = tf.Graph()
    with g.as_default():
        yield g


def _drain(sess, t):
    out = []
    try:
        while True:
            out.append(sess.run(t))
    except tf.errors.OutOfRangeError:
        return out


def test_one_shot_iterator_advances_once_per_run(graph):
    ds = D.from_tensor_slices((np.arange(5), np.arange(5) * 2.0)).batch(2)
    x, y = ds.make_one_shot_iterator().get_next()
    assert x.shape.as_list() == [None] and x.dtype == tf.int64 and y.dtype == tf.float64
    with tf.Session() as sess:
        a, b = sess.run([x, y])          # both outputs of one step: one element
        assert a.tolist() == [0, 1] and b.tolist() == [0.0, 2.0]
        rest = _drain(sess, x)
        assert [r.tolist() for r in rest] == [[2, 3], [4]]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(x)                  # stays at the end


def test_static_shapes_from_element_spec(graph):
    ds = D.from_tensor_slices({"img": np.zeros((10, 28, 28), np.float32),
                               "label": np.zeros(10, np.int32)})
    nxt = tf.data.make_one_shot_iterator(ds.batch(4, drop_remainder=True)).get_next()
    assert nxt["img"].shape.as_list() == [4, 28, 28]
    assert nxt["label"].shape.as_list() == [4]
    nxt = tf.data.make_one_shot_iterator(ds.batch(4)).get_next()
    assert nxt["img"].shape.as_list() == [None, 28, 28]


def test_each_session_has_its_own_position(graph):
    nxt = D.range(3).make_one_shot_iterator().get_next()
    with tf.Session() as s1, tf.Session() as s2:
        assert s1.run(nxt) == 0 and s1.run(nxt) == 1
        assert s2.run(nxt) == 0
        assert s1.run(nxt) == 2


def test_initializable_iterator_with_fed_placeholder(graph):
    ph = tf.placeholder(tf.float32, [None, 3])
    ds = D.from_tensor_slices(ph).map(lambda r: r * 2).batch(2)
    it = ds.make_initializable_iterator()
    nxt = it.get_next()
    assert nxt.shape.as_list() == [None, 3]
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            sess.run(nxt)
        sess.run(it.initializer, feed_dict={ph: np.ones((3, 3))})
        assert [b.shape for b in _drain(sess, nxt)] == [(2, 3), (1, 3)]
        sess.run(it.initializer, feed_dict={ph: np.full((1, 3), 5.0)})   # restart
        assert sess.run(nxt).tolist() == [[10.0, 10.0, 10.0]]
    with pytest.raises(ValueError):
        tf.data.make_one_shot_iterator(ds)           # one-shot cannot capture placeholders


def test_epochs_by_reinitializing_with_shuffle(graph):
    ds = D.range(10).shuffle(10, seed=4)
    it = tf.data.make_initializable_iterator(ds)
    nxt = it.get_next()
    with tf.Session() as sess:
        epochs = []
        for _ in range(2):
            sess.run(it.initializer)
            epochs.append([int(v) for v in _drain(sess, nxt)])
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(10))
    assert epochs[0] != epochs[1]


def test_reinitializable_iterator_switches_datasets(graph):
    train = D.range(10).batch(4)
    val = D.range(100, 103).batch(4)
    it = tf.data.Iterator.from_structure(tf.data.get_output_types(train),
                                         tf.data.get_output_shapes(train))
    nxt = it.get_next()
    train_init, val_init = it.make_initializer(train), it.make_initializer(val)
    with tf.Session() as sess:
        sess.run(train_init)
        assert sess.run(nxt).tolist() == [0, 1, 2, 3]
        sess.run(val_init)
        assert [v.tolist() for v in _drain(sess, nxt)] == [[100, 101, 102]]
    with pytest.raises(TypeError):
        it.make_initializer(D.from_tensor_slices(["a"]))


def test_feedable_iterator_with_string_handles(graph):
    train = D.range(100).make_one_shot_iterator()
    val_it = D.range(500, 503).make_initializable_iterator()
    handle = tf.placeholder(tf.string, [])
    it = tf.data.Iterator.from_string_handle(handle, train.output_types, train.output_shapes)
    nxt = it.get_next()
    with tf.Session() as sess:
        th, vh = sess.run([train.string_handle(), val_it.string_handle()])
        sess.run(val_it.initializer)
        assert sess.run(nxt, {handle: th}) == 0
        assert sess.run(nxt, {handle: vh}) == 500
        assert sess.run(nxt, {handle: th}) == 1


def test_training_step_consumes_one_element_per_run(graph):
    x = np.arange(8, dtype=np.float32).reshape(8, 1)
    nxt = D.from_tensor_slices(x).batch(2).repeat().make_one_shot_iterator().get_next()
    total = tf.Variable(0.0)
    step = tf.assign_add(total, tf.reduce_sum(nxt))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(step)
        assert sess.run(total) == 0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 0 + 1


def test_graph_reduce_and_single_element(graph):
    total = D.range(5).reduce(np.int64(0), lambda s, x: s + x)
    single = D.from_tensors(np.float32(2.5)).get_single_element()
    ph = tf.placeholder(tf.int64, [None])
    fed = D.from_tensor_slices(ph).reduce(np.int64(0), lambda s, x: s + x)
    with tf.Session() as sess:
        assert sess.run(total) == 10 and sess.run(single) == 2.5
        assert sess.run(fed, {ph: [4, 5]}) == 9


def test_iterator_properties(graph):
    ds = D.from_tensor_slices((np.zeros((4, 2), np.float32), ["a"] * 4))
    it = ds.make_one_shot_iterator()
    assert it.output_types == (tf.float32, tf.string)
    assert it.output_shapes[0].as_list() == [2]
    assert it.output_classes == (tf.Tensor, tf.Tensor)
    assert ds.output_types == (tf.float32, tf.string)
    assert tf.data.get_output_classes(ds) == (tf.Tensor, tf.Tensor)
    with pytest.raises(ValueError):
        it.initializer
    assert isinstance(it, tf.data.Iterator)


def test_eager_mode_versions():
    it = tf.data.make_one_shot_iterator(tf2.data.Dataset.range(2))
    assert isinstance(it, OwnedIterator) and int(it.get_next()) == 0
    with pytest.raises(RuntimeError):
        tf.data.make_initializable_iterator(tf2.data.Dataset.range(2))


def test_graph_pipeline_running_user_ops_inside_session(graph):
    # map functions run eagerly inside Session.run even though the graph is being built
    ds = D.from_tensor_slices(np.arange(6, dtype=np.float32)).map(lambda x: tf.square(x))
    ds = ds.filter(lambda x: tf.greater(x, 3.0)).batch(2)
    nxt = ds.make_one_shot_iterator().get_next()
    n_ops = len(graph.get_operations())
    with tf.Session() as sess:
        assert [b.tolist() for b in _drain(sess, nxt)] == [[4.0, 9.0], [16.0, 25.0]]
    assert len(graph.get_operations()) == n_ops


def test_prefetch_thread_runs_untraceable_functions_eagerly_in_tf1(graph):
    def f(x):
        return x.numpy() * 2            # cannot be traced: runs eagerly, in the thread
    ds = D.range(4).map(f).prefetch(2).map(lambda x: tf.square(x))
    nxt = ds.make_one_shot_iterator().get_next()
    n_ops = len(graph.get_operations())
    with tf.Session() as sess:
        assert [int(v) for v in _drain(sess, nxt)] == [0, 4, 16, 36]
    assert len(graph.get_operations()) == n_ops


def test_keras_style_consumption_of_an_infinite_dataset():
    x = np.arange(100, dtype=np.float32).reshape(50, 2)
    y = np.arange(50)
    ds = tf2.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat()
    batches = ds._numpy_batches()
    seen = [next(batches)[1] for _ in range(5)]      # steps_per_epoch spans passes
    assert [len(b) for b in seen] == [32, 18, 32, 18, 32]
    assert all(type(a) is np.ndarray for a in next(batches))


def test_one_shot_iterator_over_computed_graph_tensors(graph):
    x = tf.cast(tf.constant(np.arange(6).reshape(3, 2)), tf.float32)
    ds = D.from_tensor_slices((x, tf.constant([1, 2, 3]) * 2)).batch(2)
    xb, yb = ds.make_one_shot_iterator().get_next()
    assert xb.shape.as_list() == [None, 2] and xb.dtype == tf.float32
    with tf.Session() as sess:
        assert sess.run(yb).tolist() == [2, 4]
        assert sess.run(xb).tolist() == [[4.0, 5.0]]
