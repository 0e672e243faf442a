"""``tf.summary`` (TF2 writers and ops) and ``tf.compat.v1.summary`` (graph-mode summary
ops, merge_all, FileWriter), read back with numflow.io.events.read_events."""
import os

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as v1
from numflow.framework import errors
from numflow.io.events import read_events
from numflow.summary import writer as writer_lib


def _events(directory):
    out = []
    for name in sorted(os.listdir(directory)):
        out.extend(read_events(os.path.join(directory, name)))
    return out


def _values(directory):
    return [(e["step"], v) for e in _events(directory) for v in e.get("summary", [])]


def test_scalar_histogram_image_text(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default(step=5):
        assert bool(tf.summary.scalar("loss", 0.25))
        tf.summary.scalar("acc", tf.constant(0.5), step=7, description="accuracy")
        tf.summary.histogram("h", np.arange(10.0), buckets=5)
        tf.summary.image("im", np.random.RandomState(0).rand(2, 3, 4, 3), max_outputs=1)
        tf.summary.text("t", "**hello**")
    values = {v["tag"]: (s, v) for s, v in _values(tmp_path)}
    step, loss = values["loss"]
    assert step == 5 and loss["plugin_name"] == "scalars" and float(loss["tensor"]) == 0.25
    assert values["acc"][0] == 7
    hist = values["h"][1]["tensor"]
    assert values["h"][1]["plugin_name"] == "histograms" and hist.shape == (5, 3)
    np.testing.assert_array_equal(hist[:, 2], [2, 2, 2, 2, 2])
    image = values["im"][1]["tensor"]
    assert image.shape == (3,) and image[0] == b"4" and image[1] == b"3"
    assert image[2].startswith(b"\x89PNG")
    assert values["t"][1]["text"] == "**hello**"
    assert os.listdir(tmp_path)[0].endswith(".v2")


def test_histogram_buckets_match_tensorboard_rules():
    b = writer_lib.histogram_buckets([3.0, 3.0, 3.0], 4)
    np.testing.assert_array_equal(b, [[3, 3, 0], [3, 3, 0], [3, 3, 0], [3, 3, 3]])
    assert writer_lib.histogram_buckets([], 3).shape == (3, 3)
    b = writer_lib.histogram_buckets([0.0, 1.0, 2.0, 3.0], 3)
    np.testing.assert_allclose(b[:, 0], [0, 1, 2])
    np.testing.assert_allclose(b[:, 2], [1, 1, 2])


def test_no_writer_record_if_and_step_errors(tmp_path):
    assert tf.summary.scalar("x", 1.0, step=1) is False
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        with pytest.raises(ValueError, match="No step set"):
            tf.summary.scalar("x", 1.0)
        with tf.summary.record_if(False):
            assert tf.summary.scalar("x", 1.0, step=1) is False
            assert not tf.summary.should_record_summaries()
        with tf.summary.record_if(lambda: True):
            assert tf.summary.should_record_summaries()
        tf.summary.experimental.set_step(11)
        assert tf.summary.experimental.get_step() == 11
        tf.summary.scalar("y", 2.0)
        tf.summary.experimental.set_step(None)
    assert [s for s, v in _values(tmp_path) if v["tag"] == "y"] == [11]
    with tf.summary.create_noop_writer().as_default():
        assert tf.summary.scalar("z", 1.0, step=1) is False


def test_summaries_inside_tf_function_and_variable_step(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    step = tf.Variable(0, dtype=tf.int64)

    @tf.function
    def train(x):
        with w.as_default():
            tf.summary.scalar("value", x * 2.0, step=step)
        step.assign_add(1)
        return x

    for i in range(3):
        train(tf.constant(float(i)))
    w.flush()
    got = [(s, float(v["tensor"])) for s, v in _values(tmp_path) if v["tag"] == "value"]
    assert got == [(0, 0.0), (1, 2.0), (2, 4.0)]


def test_set_as_default_flush_and_close(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path), flush_millis=10 ** 9, max_queue=1000)
    w.set_as_default(step=1)
    tf.summary.scalar("a", 1.0)
    tf.summary.flush()
    assert any(v["tag"] == "a" for _, v in _values(tmp_path))
    w.close()
    assert tf.summary.scalar("b", 1.0, step=2) is False


def test_graph_summary(tmp_path):
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        tf.identity(x * 2.0, name="y")
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default():
        assert tf.summary.graph(g)
    events = [e for e in _events(tmp_path) if "graph_def" in e]
    assert events and b"x" in events[0]["graph_def"]


def test_v1_ops_merge_all_and_file_writer(tmp_path, graph_mode):
    x = v1.placeholder(tf.float32, [], name="x")
    with v1.name_scope("train"):
        v1.summary.scalar("loss", x)
    v1.summary.histogram("hist", x * tf.constant([1.0, 2.0, 3.0]))
    v1.summary.image("img", tf.zeros([2, 4, 4, 1]) + x, max_outputs=2)
    v1.summary.text("note", tf.constant("hi"))
    merged = v1.summary.merge_all()
    assert merged is not None and merged.dtype == tf.string
    fw = v1.summary.FileWriter(str(tmp_path), v1.get_default_graph())
    with v1.Session() as sess:
        for i in range(3):
            fw.add_summary(sess.run(merged, {x: float(i)}), global_step=i)
    fw.add_summary(v1.Summary(value=[v1.Summary.Value(tag="manual", simple_value=9.0)]), 3)
    fw.close()
    events = _events(tmp_path)
    assert events[0]["file_version"] == "brain.Event:2"
    assert any("graph_def" in e for e in events)
    values = _values(tmp_path)
    losses = [(s, v["simple_value"]) for s, v in values if v["tag"] == "train/loss"]
    assert losses == [(0, 0.0), (1, 1.0), (2, 2.0)]
    hist = [v for s, v in values if v["tag"] == "hist" and s == 2][0]["histogram"]
    assert hist["max"] == 6.0 and hist["num"] == 3
    assert {v["tag"] for _, v in values} >= {"img/image/0", "img/image/1", "note", "manual"}
    it = list(v1.train.summary_iterator(os.path.join(tmp_path, os.listdir(tmp_path)[0])))
    assert it[-1].summary.value[0].tag == "manual"
    assert it[-1].summary.value[0].simple_value == 9.0


def test_v1_merge_duplicate_tags_and_empty(graph_mode):
    assert v1.summary.merge_all() is None
    a = v1.summary.scalar("same", tf.constant(1.0))
    b = v1.summary.scalar("same", tf.constant(2.0))
    with v1.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="Duplicate tag"):
            sess.run(v1.summary.merge([a, b]))


def test_v1_in_eager_mode():
    serialized = v1.summary.scalar("e", 3.0)
    from numflow.io import summary as summary_pb
    decoded = summary_pb.decode_summary(serialized.numpy())
    assert decoded[0]["tag"] == "e" and decoded[0]["simple_value"] == 3.0
    with pytest.raises(RuntimeError, match="eager"):
        v1.summary.FileWriter("unused")
    with pytest.raises(RuntimeError):
        v1.summary.merge_all()


def test_file_writer_cache(tmp_path, graph_mode):
    a = v1.summary.FileWriterCache.get(str(tmp_path))
    assert v1.summary.FileWriterCache.get(str(tmp_path)) is a
    v1.summary.FileWriterCache.clear()
    assert v1.summary.FileWriterCache.get(str(tmp_path)) is not a
    v1.summary.FileWriterCache.clear()


def test_histogram_nan_raises(tmp_path):
    w = tf.summary.create_file_writer(str(tmp_path))
    with w.as_default(step=0):
        with pytest.raises(errors.InvalidArgumentError):
            tf.summary.histogram("bad", [1.0, float("nan")])


def test_public_names():
    for name in ("create_file_writer", "scalar", "histogram", "image", "text", "record_if",
                 "flush", "SummaryWriter", "create_noop_writer", "write", "graph"):
        assert hasattr(tf.summary, name), name
    assert hasattr(tf.summary.experimental, "set_step")
    for name in ("FileWriter", "FileWriterCache", "scalar", "histogram", "image", "text",
                 "merge", "merge_all", "Summary"):
        assert hasattr(v1.summary, name), name
    import numflow.v1 as old
    assert old.merge_all_summaries is v1.summary.merge_all
    assert old.train.SummaryWriter is v1.summary.FileWriter
