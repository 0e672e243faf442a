"""Tests for numflow.train.meta_graph: export_meta_graph / import_meta_graph (numflow's
JSON graph format) and the ``.meta`` files Saver.save writes."""
import json
import os

import numpy as np
import pytest

import numflow.compat.v1 as tf
from numflow.train import meta_graph


def build_model():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.variable_scope("dense"):
        w = tf.get_variable("w", [3, 2], initializer=tf.random_normal_initializer(seed=3))
        b = tf.get_variable("b", [2], initializer=tf.zeros_initializer())
    y = tf.nn.relu(tf.matmul(x, w) + b, name="y")
    loss = tf.reduce_mean(tf.square(y - 1.0), name="loss")
    step = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
    tf.add_to_collection("outputs", y)
    tf.add_to_collection("names", "hello")
    return x, y, train


FEED = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], np.float32)


def test_round_trip_continues_training(tmp_path):
    with tf.Graph().as_default():
        x, y, train = build_model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train, {x: FEED})
            path = saver.save(sess, str(tmp_path / "model"), global_step=1)
            sess.run(train, {x: FEED})
            want = sess.run(y, {x: FEED})
            n_ops = len(tf.get_default_graph().get_operations())
    with tf.Graph().as_default() as g:
        restored = tf.train.import_meta_graph(path + ".meta")
        assert len(g.get_operations()) >= n_ops
        assert [v.name for v in tf.trainable_variables()] == ["dense/w:0", "dense/b:0"]
        assert "dense/w/Adam:0" in [v.name for v in tf.global_variables()]
        assert tf.get_collection("names") == ["hello"]
        assert tf.get_collection("outputs")[0] is g.get_tensor_by_name("y:0")
        assert tf.train.get_global_step().name == "global_step:0"
        with tf.Session() as sess:
            restored.restore(sess, path)
            sess.run(tf.get_collection(tf.GraphKeys.TRAIN_OP)[0], {"x:0": FEED})
            np.testing.assert_allclose(sess.run("y:0", {"x:0": FEED}), want, rtol=1e-6)
            assert sess.run(tf.train.get_global_step()) == 2
            # the imported initializers work too
            sess.run(tf.global_variables_initializer())
            assert sess.run("dense/b:0").tolist() == [0.0, 0.0]


def test_import_scope_and_dict_saver(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        saver = tf.train.Saver({"renamed": v})
        with tf.Session() as sess:
            sess.run(v.initializer)
            path = saver.save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default() as g:
        tf.constant(0.0, name="v")   # an op already named "v"
        restored = tf.train.import_meta_graph(path + ".meta", import_scope="imported")
        assert g.get_tensor_by_name("imported/v:0") is not None
        with tf.Session() as sess:
            restored.restore(sess, path)   # the checkpoint names stay "renamed"
            assert sess.run("imported/v:0").tolist() == [1.0, 2.0]


def test_export_returns_and_writes_json(tmp_path):
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            c = tf.constant([[1, 2]], tf.int64, name="c")
        tf.identity(c, name="out")
        meta = tf.train.export_meta_graph(str(tmp_path / "g.meta"))
        no_dev = tf.train.export_meta_graph(clear_devices=True)
    on_disk = json.loads((tmp_path / "g.meta").read_text())
    assert on_disk == json.loads(json.dumps(meta))
    assert on_disk["format"] == "numflow.MetaGraph"
    assert [op["name"] for op in on_disk["ops"]] == ["c", "out"]
    assert on_disk["ops"][0]["device"] == "/device:CPU:0"
    assert no_dev["ops"][0]["device"] == ""
    with tf.Graph().as_default():
        assert tf.train.import_meta_graph(str(tmp_path / "g.meta")) is None   # no variables
        with tf.Session() as sess:
            assert sess.run("out:0").tolist() == [[1, 2]]
            assert sess.run("out:0").dtype == np.int64


def test_attribute_values_round_trip():
    values = [None, True, 3, -2.5, float("inf"), "s", b"\x00\xff", (1, (2, "a")), [1, 2],
              {"k": (1,)}, tf.float16, tf.TensorShape([None, 3]), tf.TensorShape(None),
              np.arange(6, dtype=np.int16).reshape(2, 3), np.array(2.5, np.float32),
              np.float64(1.5), np.array([b"a", b"bc"], dtype=object)]
    for v in values:
        back = meta_graph._decode(json.loads(json.dumps(meta_graph._encode(v, "test"))))
        if isinstance(v, np.ndarray):
            assert back.dtype == v.dtype and back.shape == v.shape
            np.testing.assert_array_equal(back, v)
        else:
            assert back == v and type(back) is type(v), (v, back)


def test_unserializable_graph(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="v")
        tf.constant(0.0, name="holder").op.attrs["fn"] = lambda: None   # never run
        with pytest.raises(meta_graph.MetaGraphExportError, match="holder"):
            tf.train.export_meta_graph()
        with tf.Session() as sess:
            sess.run(v.initializer)
            with pytest.warns(UserWarning, match="meta graph was not written"):
                path = tf.train.Saver().save(sess, str(tmp_path / "m"))
    assert not os.path.exists(path + ".meta")
    assert tf.train.latest_checkpoint(str(tmp_path)) == path


@pytest.mark.parametrize("content,error", [
    (b"\x08\x01\x12\x04junk", ValueError),                       # a TF protobuf
    (b'{"format": "other"}', ValueError),
    (b'{"format": "numflow.MetaGraph", "version": 99}', ValueError),
])
def test_bad_files(tmp_path, content, error):
    (tmp_path / "bad.meta").write_bytes(content)
    with tf.Graph().as_default():
        with pytest.raises(error):
            tf.train.import_meta_graph(str(tmp_path / "bad.meta"))


def _meta_with_const(attr_value, op_type="Const"):
    return {"format": "numflow.MetaGraph", "version": 1, "collections": {}, "variables": [],
            "saver": None,
            "ops": [{"name": "c", "type": op_type, "inputs": [], "control_inputs": [],
                     "device": "", "attrs": {"value": attr_value,
                                             "dtype": {"__dtype__": "float32"}},
                     "outputs": [["float32", [2]]]}]}


def test_hostile_contents_are_refused():
    with tf.Graph().as_default():
        bad_arrays = [{"__ndarray__": {"dtype": "|O", "shape": [1], "data": ""}},
                      {"__ndarray__": {"dtype": "<f4", "shape": [100], "data": "AAAAAA=="}},
                      {"__ndarray__": {"dtype": "<f4", "shape": [-1], "data": ""}},
                      {"__pickle__": "gASV"}, {"a": 1, "b": 2}]
        for attr in bad_arrays:
            with pytest.raises(ValueError):
                tf.train.import_meta_graph(_meta_with_const(attr))
        with pytest.raises(KeyError, match="No op named 'NotAnOp'"):
            tf.train.import_meta_graph(_meta_with_const(None, "NotAnOp"))


def test_eager_mode_refuses():
    with pytest.raises(RuntimeError, match="not supported when eager execution is enabled"):
        tf.train.export_meta_graph()
