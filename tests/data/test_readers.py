"""File datasets and Example parsing (numflow.data.readers, io_api, sparse), checked
against TFRecord files and parse results written by real TF (tests/fixtures/data)."""
import gzip
import importlib.util
import json
import os
import zlib

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as v1
from numflow.framework import errors

D = tf.data.Dataset
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "data")


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "make_data_fixtures", os.path.join(FIXTURES, "make_data_fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fixtures = _fixture_module()


def _scalar(t):
    """The Python value of a scalar tensor (bytes for strings)."""
    return np.asarray(t.numpy(), dtype=object).reshape(())[()]


def _features():
    out = {}
    for k, (kind, dtype, shape) in fixtures.FEATURES_SPEC.items():
        dt = getattr(tf, dtype)
        out[k] = tf.io.FixedLenFeature(shape, dt) if kind == "fixed" else \
            tf.io.VarLenFeature(dt)
    return out


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(FIXTURES, "examples_expected.json")) as f:
        return json.load(f)


def _check(value, want):
    if "indices" in want:
        assert isinstance(value, tf.sparse.SparseTensor)
        assert value.indices.numpy().tolist() == want["indices"]
        assert value.dense_shape.numpy().tolist() == want["dense_shape"]
        _check(value.values, want["values"])
    elif "bytes" in want:
        arr = np.asarray(value.numpy(), dtype=object)
        assert [b.decode("latin-1") for b in arr.reshape(-1)] == want["bytes"]
        assert list(arr.shape) == want["shape"]
    else:
        assert value.numpy().tolist() == want["values"]
        assert value.dtype.name == want["dtype"]


@pytest.mark.parametrize("name,compression", [("examples.tfrecord", None),
                                              ("examples.tfrecord.gz", "GZIP")])
def test_tf_written_records_parse_like_tf(expected, name, compression):
    ds = tf.data.TFRecordDataset(os.path.join(FIXTURES, name), compression_type=compression)
    assert ds.element_spec == tf.TensorSpec([], tf.string)
    records = [_scalar(r) for r in ds]
    assert [r.decode("latin-1") for r in records] == expected["records"]
    feats = _features()
    for rec, want in zip(records, expected["single"]):
        got = tf.io.parse_single_example(rec, feats)
        assert set(got) == set(want)
        for k in want:
            _check(got[k], want[k])
    batch = tf.io.parse_example(records, feats)
    for k in expected["batch"]:
        _check(batch[k], expected["batch"][k])


def test_tfrecord_round_trip_through_map_and_batch(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for d in fixtures.reference_examples():
            ex = tf.train.Example(features=tf.train.Features(feature={
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=d["label"])),
                "tokens": tf.train.Feature(int64_list=tf.train.Int64List(value=d["tokens"])),
            }))
            w.write(ex.SerializeToString())
    feats = {"label": tf.io.FixedLenFeature([], tf.int64),
             "tokens": tf.io.VarLenFeature(tf.int64)}
    ds = tf.data.TFRecordDataset([path]).map(lambda r: tf.io.parse_single_example(r, feats))
    assert ds._fn.traced
    spec = ds.element_spec
    assert spec["label"] == tf.TensorSpec([], tf.int64)
    assert isinstance(spec["tokens"], tf.SparseTensorSpec)
    rows = list(ds)
    assert [int(r["label"]) for r in rows] == [0, 1, 2, 3, 4]
    assert rows[3]["tokens"].values.numpy().tolist() == [0, 1, 2]
    batched = next(iter(ds.batch(5)))
    dense = tf.sparse.to_dense(batched["tokens"], default_value=-1).numpy()
    assert dense.tolist()[2] == [0, 1, -1, -1] and dense.shape == (5, 4)
    assert batched["label"].numpy().tolist() == [0, 1, 2, 3, 4]


def test_graph_mode_tfrecord_pipeline_with_fed_file_names(tmp_path):
    paths = []
    for i in range(2):
        p = str(tmp_path / f"f{i}.tfrecord")
        with tf.io.TFRecordWriter(p) as w:
            for j in range(3):
                w.write(tf.train.Example(features=tf.train.Features(feature={
                    "v": tf.train.Feature(float_list=tf.train.FloatList(value=[i * 10 + j]))
                })).SerializeToString())
        paths.append(p)
    with v1.Graph().as_default():
        names = v1.placeholder(v1.string, [None])
        ds = v1.data.TFRecordDataset(names).map(
            lambda r: v1.parse_single_example(r, {"v": v1.FixedLenFeature([], v1.float32)}))
        it = ds.batch(4).make_initializable_iterator()
        nxt = it.get_next()
        assert nxt["v"].shape.as_list() == [None]
        with v1.Session() as sess:
            sess.run(it.initializer, {names: paths})
            assert sess.run(nxt)["v"].tolist() == [0, 1, 2, 10]
            sess.run(it.initializer, {names: paths[1:]})
            assert sess.run(nxt)["v"].tolist() == [10, 11, 12]


def test_parse_in_graph_mode_gives_static_shapes():
    with v1.Graph().as_default():
        ser = v1.placeholder(v1.string, [None])
        out = v1.parse_example(ser, {"a": v1.FixedLenFeature([3], v1.float32),
                                     "b": v1.VarLenFeature(v1.string)})
        assert out["a"].shape.as_list() == [None, 3]
        assert isinstance(out["b"], v1.SparseTensor)
        assert out["b"].indices.shape.as_list() == [None, 2]
        ex = tf.train.Example(features=tf.train.Features(feature={
            "a": tf.train.Feature(float_list=tf.train.FloatList(value=[1, 2, 3])),
            "b": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"x", b"y"]))}))
        with v1.Session() as sess:
            a, vals = sess.run([out["a"], out["b"].values], {ser: [ex.SerializeToString()]})
            assert a.tolist() == [[1, 2, 3]] and vals.tolist() == [b"x", b"y"]
            sp = out["b"].eval(feed_dict={ser: [ex.SerializeToString()]}, session=sess)
            assert sp.dense_shape.tolist() == [1, 2]


def test_parse_errors_name_the_feature():
    ex = tf.train.Example(features=tf.train.Features(feature={
        "a": tf.train.Feature(int64_list=tf.train.Int64List(value=[1, 2]))}))
    s = ex.SerializeToString()
    with pytest.raises(errors.InvalidArgumentError, match="missing|required"):
        tf.io.parse_single_example(s, {"zz": tf.io.FixedLenFeature([], tf.int64)})
    with pytest.raises(errors.InvalidArgumentError, match="a"):
        tf.io.parse_single_example(s, {"a": tf.io.FixedLenFeature([], tf.int64)})
    got = tf.io.parse_single_example(
        s, {"zz": tf.io.FixedLenFeature([2], tf.float32, default_value=[0.5, 1.5])})
    assert got["zz"].numpy().tolist() == [0.5, 1.5]


def test_corrupt_tfrecord_raises_data_loss(tmp_path):
    path = str(tmp_path / "bad.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        w.write(b"first")
        w.write(b"second")
    raw = bytearray(open(path, "rb").read())
    raw[-6] ^= 0xFF
    open(path, "wb").write(bytes(raw))
    got = []
    with pytest.raises(errors.DataLossError, match="bad.tfrecord"):
        for r in tf.data.TFRecordDataset(path):
            got.append(_scalar(r))
    assert got == [b"first"]
    with pytest.raises(errors.NotFoundError):
        list(tf.data.TFRecordDataset(str(tmp_path / "missing")))


def test_num_parallel_reads_interleaves_files(tmp_path):
    paths = []
    for i in range(2):
        p = str(tmp_path / f"{i}.rec")
        with tf.io.TFRecordWriter(p, "ZLIB") as w:
            for j in range(3):
                w.write(f"{i}-{j}".encode())
        paths.append(p)
    seq = tf.data.TFRecordDataset(paths, compression_type="ZLIB")
    assert [r.decode() for r in seq.as_numpy_iterator()] == \
        ["0-0", "0-1", "0-2", "1-0", "1-1", "1-2"]
    par = tf.data.TFRecordDataset(paths, "ZLIB", num_parallel_reads=2)
    assert [r.decode() for r in par.as_numpy_iterator()] == \
        ["0-0", "1-0", "0-1", "1-1", "0-2", "1-2"]
    names = D.from_tensor_slices(paths[::-1])
    assert next(tf.data.TFRecordDataset(names, "ZLIB").as_numpy_iterator()) == b"1-0"


def test_text_line_dataset(tmp_path):
    a = tmp_path / "a.txt"
    a.write_bytes(b"one\r\ntwo\n\nthree")
    b = tmp_path / "b.txt.gz"
    b.write_bytes(gzip.compress(b"x\ny\n"))
    assert list(tf.data.TextLineDataset(str(a)).as_numpy_iterator()) == \
        [b"one", b"two", b"", b"three"]
    assert list(tf.data.TextLineDataset([str(b)], "GZIP").as_numpy_iterator()) == [b"x", b"y"]
    z = tmp_path / "c.txt.z"
    z.write_bytes(zlib.compress(b"p\nq"))
    assert list(tf.data.TextLineDataset(str(z), compression_type="ZLIB")
                .as_numpy_iterator()) == [b"p", b"q"]


def test_fixed_length_record_dataset(tmp_path):
    p = tmp_path / "r.bin"
    p.write_bytes(b"HH" + bytes(range(12)) + b"F")
    ds = tf.data.FixedLengthRecordDataset(str(p), 4, header_bytes=2, footer_bytes=1)
    recs = list(ds.as_numpy_iterator())
    assert recs == [bytes(range(0, 4)), bytes(range(4, 8)), bytes(range(8, 12))]
    vals = ds.map(lambda r: tf.io.decode_raw(r, tf.uint8))
    assert next(vals.as_numpy_iterator()).tolist() == [0, 1, 2, 3]
    with pytest.raises(errors.DataLossError):
        list(tf.data.FixedLengthRecordDataset(str(p), 4))


def test_decode_raw():
    out = tf.io.decode_raw([np.array([1, 2], "<i4").tobytes(),
                            np.array([3, 4], "<i4").tobytes()], tf.int32)
    assert out.numpy().tolist() == [[1, 2], [3, 4]]
    be = tf.io.decode_raw(np.array([1.5], ">f4").tobytes(), tf.float32, little_endian=False)
    assert be.numpy().tolist() == [1.5]
    with pytest.raises(errors.InvalidArgumentError, match="same size"):
        tf.io.decode_raw([b"abcd", b"ab"], tf.uint8)


def test_list_files(tmp_path):
    for n in ("b.csv", "a.csv", "c.txt"):
        (tmp_path / n).write_text("x")
    pattern = str(tmp_path / "*.csv")
    ordered = [os.path.basename(f.decode()) for f in
               D.list_files(pattern, shuffle=False).as_numpy_iterator()]
    assert ordered == ["a.csv", "b.csv"]
    shuffled = D.list_files([pattern, str(tmp_path / "*.txt")], seed=3)
    assert sorted(os.path.basename(f.decode()) for f in shuffled.as_numpy_iterator()) == \
        ["a.csv", "b.csv", "c.txt"]
    with pytest.raises(errors.InvalidArgumentError, match="No files matched"):
        D.list_files(str(tmp_path / "*.none"))


def test_public_names():
    assert tf.train.Example is v1.train.Example
    assert tf.io.FixedLenFeature is v1.FixedLenFeature is v1.io.FixedLenFeature
    assert v1.python_io.TFRecordWriter is tf.io.TFRecordWriter
    assert v1.io.tf_record_iterator is v1.python_io.tf_record_iterator
    assert tf.SparseTensor is tf.sparse.SparseTensor
    assert v1.sparse_tensor_to_dense is tf.sparse.to_dense
    assert v1.decode_raw is tf.io.decode_raw
