"""tf.data transformations (numflow.data.transforms, batching), with element orders
checked against TF's (tests/fixtures/data/pipeline_expected.json, written by real TF)."""
import json
import os

import numpy as np
import pytest

import numflow as tf
from numflow.framework import errors

D = tf.data.Dataset
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "data")


def _np(ds):
    return [np.asarray(e).tolist() if not isinstance(e, tuple) else
            [np.asarray(x).tolist() for x in e] for e in ds.as_numpy_iterator()]


@pytest.fixture(scope="module")
def tf_orders():
    with open(os.path.join(FIXTURES, "pipeline_expected.json")) as f:
        return json.load(f)


def test_pipelines_match_tensorflow(tf_orders):
    got = {
        "interleave_3_2": _np(D.range(6).interleave(
            lambda x: D.range(x).map(lambda y: y * 10 + x), cycle_length=3, block_length=2)),
        "window_3_2": [[int(v) for v in w.as_numpy_iterator()]
                       for w in D.range(7).window(3, shift=2)],
        "window_drop_2_1_2": [[int(v) for v in w.as_numpy_iterator()]
                              for w in D.range(7).window(2, shift=1, stride=2,
                                                         drop_remainder=True)],
        "padded_batch": _np(D.range(1, 5).map(lambda x: tf.fill([x], x)).padded_batch(2)),
        "padded_batch_shape": _np(D.range(1, 4).map(lambda x: tf.fill([x], x)).padded_batch(
            2, padded_shapes=[5], padding_values=tf.constant(-1, tf.int64))),
        "shard_3_1": _np(D.range(10).shard(3, 1)),
        "unbatch": _np(D.from_tensor_slices([[1, 2], [3, 4]]).unbatch()),
        "enumerate": _np(D.from_tensor_slices([5, 6]).enumerate(3)),
        "concatenate": _np(D.range(2).concatenate(D.range(5, 7))),
        "zip_short": _np(D.zip((D.range(3), D.range(10, 12)))),
        "take_skip": _np(D.range(10).skip(2).take(3)),
        "batch_repeat": _np(D.range(5).batch(2).repeat(2)),
        "repeat_batch": _np(D.range(5).repeat(2).batch(3)),
    }
    assert got == tf_orders


def test_map_traces_once_and_unpacks_tuples():
    calls = []

    def f(a, b):
        calls.append(1)
        return a + b, tf.cast(a, tf.float32) * 0.5
    ds = D.from_tensor_slices((np.arange(4), np.arange(4) * 10)).map(f)
    assert ds._fn.traced and len(calls) == 1      # traced at map() time, as TF does
    assert ds.element_spec == (tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.float32))
    assert [a for a, _ in ds.as_numpy_iterator()] == [0, 11, 22, 33]
    assert len(calls) == 1


def test_map_dict_and_list_results():
    ds = D.from_tensor_slices({"x": np.ones((3, 2), np.float32)})
    out = ds.map(lambda d: {"y": d["x"] * 2})
    assert out.element_spec == {"y": tf.TensorSpec([2], tf.float32)}
    assert next(out.as_numpy_iterator())["y"].tolist() == [2, 2]
    as_tuple = D.range(2).map(lambda x: [x, x + 1])          # a returned list is a tuple
    assert isinstance(as_tuple.element_spec, tuple)
    assert list(as_tuple.as_numpy_iterator()) == [(0, 1), (1, 2)]
    const = D.range(2).map(lambda x: 7)
    assert list(const.as_numpy_iterator()) == [7, 7]


def test_map_untraceable_function_runs_eagerly_on_eager_tensors():
    seen = []

    def f(x):
        seen.append(type(x).__name__)
        v = x.numpy()                # only an EagerTensor has .numpy()
        return v * 3 if v % 2 else v
    ds = D.range(4).map(f, num_parallel_calls=tf.data.AUTOTUNE)
    assert not ds._fn.traced
    assert list(ds.as_numpy_iterator()) == [0, 3, 2, 9]
    assert ds.element_spec == tf.TensorSpec([], tf.int64)
    assert "EagerTensor" in seen


def test_filter_and_predicate_checks():
    ds = D.range(10).filter(lambda x: tf.equal(x % 3, 0))
    assert list(ds.as_numpy_iterator()) == [0, 3, 6, 9]
    with pytest.raises(ValueError, match="predicate"):
        D.range(3).filter(lambda x: x)
    assert list(D.range(6).take_while(lambda x: x < 3).as_numpy_iterator()) == [0, 1, 2]


def test_flat_map_interleave_and_element_specs():
    fm = D.range(4).flat_map(lambda x: D.range(x))
    assert fm.element_spec == tf.TensorSpec([], tf.int64)
    assert list(fm.as_numpy_iterator()) == [0, 0, 1, 0, 1, 2]
    il = D.from_tensor_slices([[1, 2], [3, 4]]).interleave(
        lambda r: D.from_tensor_slices(r), cycle_length=2)
    assert list(il.as_numpy_iterator()) == [1, 3, 2, 4]
    with pytest.raises(TypeError):
        list(D.range(2).flat_map(lambda x: x))


def test_take_skip_repeat_edge_counts():
    r = D.range(5)
    assert list(r.take(-1).as_numpy_iterator()) == [0, 1, 2, 3, 4]
    assert list(r.skip(-1).as_numpy_iterator()) == []
    assert list(r.take(0).as_numpy_iterator()) == []
    assert list(r.repeat().take(7).as_numpy_iterator()) == [0, 1, 2, 3, 4, 0, 1]
    assert list(D.range(0).repeat().as_numpy_iterator()) == []   # empty input ends
    with pytest.raises(errors.InvalidArgumentError):
        r.shard(2, 2)


def test_batch_drop_remainder_spec_and_errors():
    ds = D.from_tensor_slices(np.zeros((5, 3), np.float32))
    assert ds.batch(2).element_spec.shape.as_list() == [None, 3]
    assert ds.batch(2, drop_remainder=True).element_spec.shape.as_list() == [2, 3]
    assert [b.shape for b in ds.batch(2, drop_remainder=True).as_numpy_iterator()] == \
        [(2, 3), (2, 3)]
    ragged = D.from_generator(lambda: iter([[1], [1, 2]]), output_types=tf.int32,
                              output_shapes=[None])
    with pytest.raises(errors.InvalidArgumentError, match="different shapes"):
        list(ragged.batch(2))
    with pytest.raises(errors.InvalidArgumentError):
        ds.batch(0)


def test_padded_batch_values_and_type_check():
    ds = D.from_generator(lambda: iter([[1], [2, 2]]), output_types=tf.int64,
                          output_shapes=[None])
    assert _np(ds.padded_batch(2, padding_values=np.int64(9))) == [[[1, 9], [2, 2]]]
    with pytest.raises(TypeError, match="padding_values"):
        ds.padded_batch(2, padding_values=9)        # int32 for an int64 component, as TF
    strs = D.from_tensor_slices(["a", "b"]).map(lambda s: tf.stack([s, s])) \
        if hasattr(tf, "stack") else None
    if strs is not None:
        assert next(strs.padded_batch(2, padded_shapes=[3]).as_numpy_iterator())[0].tolist() \
            == [b"a", b"a", b""]
    with pytest.raises(errors.InvalidArgumentError, match="smaller"):
        list(ds.padded_batch(2, padded_shapes=[1]))


def test_unbatch_and_rebatch():
    ds = D.from_tensor_slices(np.arange(12).reshape(6, 2)).batch(4).unbatch()
    assert [x.tolist() for x in ds.as_numpy_iterator()] == np.arange(12).reshape(6, 2).tolist()
    assert _np(D.range(7).batch(3).rebatch(2)) == [[0, 1], [2, 3], [4, 5], [6]]
    with pytest.raises(ValueError):
        D.range(3).unbatch()


def test_enumerate_reduce_scan_unique_apply():
    assert list(D.from_tensor_slices(["a", "b"]).enumerate().as_numpy_iterator()) == \
        [(0, b"a"), (1, b"b")]
    total = D.range(5).reduce(np.int64(0), lambda s, x: s + x)
    assert int(total) == 10
    pair = D.range(4).reduce((np.int64(0), np.int64(1)), lambda s, x: (s[0] + x, s[1] * 2))
    assert [int(v) for v in pair] == [6, 16]
    with pytest.raises(TypeError):
        D.range(3).reduce(np.int64(0), lambda s, x: tf.cast(s, tf.float32))
    sc = D.range(5).scan(np.int64(0), lambda s, x: (s + x, s * 10))
    assert list(sc.as_numpy_iterator()) == [0, 0, 10, 30, 60]
    assert list(D.from_tensor_slices([1, 2, 1, 3, 2]).unique().as_numpy_iterator()) == [1, 2, 3]
    assert list(D.range(6).apply(lambda d: d.skip(4)).as_numpy_iterator()) == [4, 5]
    with pytest.raises(TypeError):
        D.range(2).apply(lambda d: 3)
    assert int(D.range(1).get_single_element()) == 0
    with pytest.raises(errors.InvalidArgumentError, match="more than one"):
        D.range(2).get_single_element()


def test_experimental_helpers():
    exp = tf.data.experimental
    ds = D.range(4).apply(exp.shuffle_and_repeat(4, count=2, seed=1))
    assert sorted(ds.as_numpy_iterator()) == [0, 0, 1, 1, 2, 2, 3, 3]
    mb = D.range(5).apply(exp.map_and_batch(lambda x: x * 2, 2))
    assert _np(mb) == [[0, 2], [4, 6], [8]]
    chosen = D.choose_from_datasets([D.range(3), D.range(10, 13)],
                                    D.from_tensor_slices(np.array([0, 1, 1, 0], np.int64)))
    assert list(chosen.as_numpy_iterator()) == [0, 10, 11, 1]
    mixed = exp.sample_from_datasets([D.range(5), D.range(10, 15)], seed=3)
    assert sorted(mixed.as_numpy_iterator()) == list(range(5)) + list(range(10, 15))
    with pytest.raises(errors.FailedPreconditionError):
        list(D.range(3).apply(exp.assert_cardinality(4)))
    assert list(exp.Counter(2, 3).take(3).as_numpy_iterator()) == [2, 5, 8]


def test_ignore_errors_drops_failing_elements():
    def f(x):
        if int(x.numpy()) == 2:
            raise errors.InvalidArgumentError(None, None, "bad element")
        return x
    ds = D.range(5).map(f).ignore_errors()
    assert list(ds.as_numpy_iterator()) == [0, 1, 3, 4]
    with pytest.raises(errors.InvalidArgumentError):
        list(D.range(5).map(f))


def test_cache_memory_and_file(tmp_path):
    calls = []

    def gen():
        calls.append(1)
        yield from ([1, 2], [3, 4])
    src = D.from_generator(gen, output_signature=tf.TensorSpec([2], tf.int32))
    mem = src.cache()
    assert _np(mem) == _np(mem) == [[1, 2], [3, 4]]
    assert len(calls) == 1
    path = str(tmp_path / "c")
    strs = D.from_tensor_slices(["x", "yy\0"]).map(lambda s: s)
    a = D.zip((src, strs)).cache(path)
    first = list(a.as_numpy_iterator())
    again = D.zip((D.from_generator(lambda: iter([]),
                                    output_signature=tf.TensorSpec([2], tf.int32)),
                   strs)).cache(path)
    second = list(again.as_numpy_iterator())       # read from the file, not the (empty) input
    assert [(x.tolist(), s) for x, s in second] == [(x.tolist(), s) for x, s in first]
    assert second[1][1] == b"yy\0"


def test_window_of_tuples_is_tuple_of_datasets():
    ds = D.from_tensor_slices((np.arange(5), np.arange(5) * 10)).window(2)
    spec = ds.element_spec
    assert isinstance(spec, tuple) and isinstance(spec[0], tf.data.DatasetSpec)
    flat = ds.flat_map(lambda a, b: D.zip((a.batch(2), b.batch(2))))
    assert [(a.tolist(), b.tolist()) for a, b in flat.as_numpy_iterator()] == \
        [([0, 1], [0, 10]), ([2, 3], [20, 30]), ([4], [40])]
