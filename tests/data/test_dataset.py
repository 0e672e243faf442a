"""tf.data sources, element_spec, cardinality, len and iteration (numflow.data.dataset)."""
import collections

import numpy as np
import pytest

import numflow as tf
from numflow.eager.tensor import EagerTensor
from numflow.framework import errors

D = tf.data.Dataset


def test_tf_data_is_the_real_package():
    import numflow.compat.v1 as v1
    import numflow.data
    import numflow.v1 as old
    assert tf.data is numflow.data
    assert v1.data is numflow.data and old.data is numflow.data
    assert tf.data.AUTOTUNE == tf.data.experimental.AUTOTUNE == -1
    assert tf.data.INFINITE_CARDINALITY == -1 and tf.data.UNKNOWN_CARDINALITY == -2


def test_from_tensor_slices_tuple_yields_eager_tensors():
    ds = D.from_tensor_slices(([1, 2, 3], [4.0, 5.0, 6.0]))
    assert ds.element_spec == (tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32))
    out = list(ds)
    assert len(out) == 3 and all(type(e) is tuple for e in out)
    a, b = out[1]
    assert isinstance(a, EagerTensor) and a.dtype == tf.int32 and int(a) == 2
    assert b.dtype == tf.float32 and float(b) == 5.0


def test_from_tensor_slices_dict_numpy_and_strings():
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    ds = D.from_tensor_slices({"x": x, "name": ["a", "b", "c", "d"]})
    spec = ds.element_spec
    assert spec["x"] == tf.TensorSpec([3], tf.float64)
    assert spec["name"] == tf.TensorSpec([], tf.string)
    first = next(iter(ds))
    assert set(first) == {"x", "name"}
    np.testing.assert_array_equal(first["x"].numpy(), x[0])
    assert first["name"].numpy() == b"a"


def test_from_tensor_slices_list_is_one_tensor_and_namedtuple_kept():
    assert list(D.from_tensor_slices([[1, 2], [3, 4]]).as_numpy_iterator())[1].tolist() == [3, 4]
    Point = collections.namedtuple("Point", "x y")
    ds = D.from_tensor_slices(Point(np.arange(2), np.arange(2) * 10))
    e = next(iter(ds))
    assert isinstance(e, Point) and int(e.y) == 0
    assert isinstance(ds.element_spec, Point)


def test_from_tensor_slices_accepts_tensors_and_checks_dims():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert [r.tolist() for r in D.from_tensor_slices(t).as_numpy_iterator()] == [[1, 2], [3, 4]]
    with pytest.raises(ValueError):
        D.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError):
        D.from_tensor_slices(np.float32(1.0))


def test_from_tensors_single_element():
    ds = D.from_tensors(([1, 2, 3], "s"))
    assert ds.element_spec == (tf.TensorSpec([3], tf.int32), tf.TensorSpec([], tf.string))
    assert len(ds) == 1
    (a, s), = ds.as_numpy_iterator()
    assert a.tolist() == [1, 2, 3] and s == b"s"


def test_range_forms_and_dtype():
    assert list(D.range(4).as_numpy_iterator()) == [0, 1, 2, 3]
    assert list(D.range(2, 8, 3).as_numpy_iterator()) == [2, 5]
    assert list(D.range(5, 0, -2).as_numpy_iterator()) == [5, 3, 1]
    assert D.range(3).element_spec == tf.TensorSpec([], tf.int64)
    assert D.range(3, output_type=tf.int32).element_spec.dtype == tf.int32
    assert len(D.range(10, 3)) == 0
    with pytest.raises(errors.InvalidArgumentError):
        D.range(0, 5, 0)


def test_as_numpy_iterator_values():
    ds = D.from_tensor_slices((np.arange(2), ["a", "b"]))
    assert list(ds.as_numpy_iterator()) == [(0, b"a"), (1, b"b")]
    v = next(ds.batch(2).as_numpy_iterator())
    assert isinstance(v[0], np.ndarray) and v[1].tolist() == [b"a", b"b"]


def test_cardinality_and_len():
    r = D.range(10)
    assert int(r.cardinality()) == 10 and r.cardinality().dtype == tf.int64
    assert int(r.repeat().cardinality()) == tf.data.INFINITE_CARDINALITY
    assert int(r.filter(lambda x: x > 3).cardinality()) == tf.data.UNKNOWN_CARDINALITY
    assert int(tf.data.experimental.cardinality(r.batch(3))) == 4
    assert len(r.batch(3, drop_remainder=True)) == 3
    assert len(r.repeat(3).take(25)) == 25 and len(r.skip(4)) == 6
    assert len(r.shard(3, 1)) == 3 and len(r.repeat(0)) == 0
    assert len(D.zip((r, D.range(4)))) == 4 and len(r.concatenate(r)) == 20
    assert int(D.zip((r, r.repeat())).cardinality()) == 10
    assert int(r.repeat().take(7).cardinality()) == 7
    with pytest.raises(TypeError, match="infinite"):
        len(r.repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(r.filter(lambda x: x > 3))
    assert bool(r.repeat())


def test_zip_structures_and_concatenate():
    a, b = D.range(3), D.from_tensor_slices(["x", "y"])
    assert list(D.zip(a, b).as_numpy_iterator()) == [(0, b"x"), (1, b"y")]
    z = D.zip({"n": a, "s": b})
    assert list(z.as_numpy_iterator()) == [{"n": 0, "s": b"x"}, {"n": 1, "s": b"y"}]
    nested = D.zip((a, (b, a)))
    assert next(nested.as_numpy_iterator()) == (0, (b"x", 0))
    with pytest.raises(TypeError):
        D.zip((a, 3))
    c = D.from_tensor_slices([[1, 2]]).concatenate(D.from_tensor_slices([[3, 4, 5]]))
    assert c.element_spec.shape.as_list() == [None]
    assert [x.tolist() for x in c.as_numpy_iterator()] == [[1, 2], [3, 4, 5]]
    with pytest.raises(TypeError):
        D.range(2).concatenate(D.from_tensor_slices(["a"]))


def test_from_generator_signature_and_legacy_types():
    def gen():
        yield 1, [1.0, 2.0]
        yield 2, [3.0, 4.0]
    sig = (tf.TensorSpec([], tf.int32), tf.TensorSpec([2], tf.float32))
    ds = D.from_generator(gen, output_signature=sig)
    assert ds.element_spec == sig and int(ds.cardinality()) == -2
    assert [x[1].tolist() for x in ds.as_numpy_iterator()] == [[1, 2], [3, 4]]
    old = D.from_generator(gen, output_types=(tf.int32, tf.float32), output_shapes=((), (2,)))
    assert old.element_spec == sig
    loose = D.from_generator(lambda: iter([[1, 2], [3]]), output_types=tf.int64)
    assert loose.element_spec.shape.rank is None
    assert [x.tolist() for x in loose.as_numpy_iterator()] == [[1, 2], [3]]
    with_args = D.from_generator(lambda n, s: iter([s] * int(n)), args=(2, "hi"),
                                 output_signature=tf.TensorSpec([], tf.string))
    assert list(with_args.as_numpy_iterator()) == [b"hi", b"hi"]
    # called afresh for each pass
    assert [int(a) for a, _ in ds.as_numpy_iterator()] == [1, 2]
    assert [int(a) for a, _ in ds.as_numpy_iterator()] == [1, 2]


def test_from_generator_checks_what_it_yields():
    bad_shape = D.from_generator(lambda: iter([[1, 2, 3]]),
                                 output_signature=tf.TensorSpec([2], tf.int32))
    with pytest.raises(errors.InvalidArgumentError, match="shape"):
        list(bad_shape)
    bad_struct = D.from_generator(lambda: iter([1]), output_types=(tf.int32, tf.int32))
    with pytest.raises(errors.InvalidArgumentError, match="structure"):
        list(bad_struct)
    bad_type = D.from_generator(lambda: iter(["x"]), output_types=tf.int32)
    with pytest.raises(errors.InvalidArgumentError, match="converted"):
        list(bad_type)
    with pytest.raises(TypeError):
        D.from_generator(3, output_types=tf.int32)
    with pytest.raises(TypeError):
        D.from_generator(lambda: iter([]))


def test_generator_error_delivers_prefix_then_original_exception():
    class Boom(Exception):
        pass

    def gen():
        for i in range(10):
            if i == 4:
                raise Boom("at 4")
            yield i
    for ds in (D.from_generator(gen, output_types=tf.int64),
               D.from_generator(gen, output_types=tf.int64).prefetch(3),
               D.from_generator(gen, output_types=tf.int64).map(lambda x: x).prefetch(1)):
        got = []
        with pytest.raises(Boom, match="at 4"):
            for x in ds:
                got.append(int(x))
        assert got == [0, 1, 2, 3]


def test_iteration_needs_eager_mode():
    ds = D.range(3)
    with tf.Graph().as_default():
        with pytest.raises(RuntimeError):
            iter(ds)
        with pytest.raises(TypeError):
            len(ds)
        with pytest.raises(RuntimeError):
            ds.as_numpy_iterator()


def test_iterator_object_protocol():
    it = iter(D.range(2))
    assert isinstance(it, tf.data.Iterator)
    assert it.element_spec == tf.TensorSpec([], tf.int64)
    assert int(it.get_next()) == 0 and int(next(it)) == 1
    opt = it.get_next_as_optional()
    assert not bool(opt.has_value())
    with pytest.raises(errors.OutOfRangeError):
        it.get_next()


def test_repr_and_numpy_protocol():
    ds = D.from_tensor_slices(np.arange(3)).batch(2)
    assert "element_spec=TensorSpec(shape=(None,), dtype=tf.int64" in repr(ds)
    batches = list(ds._numpy_batches())
    assert all(type(b) is np.ndarray for b in batches)
    assert [b.tolist() for b in batches] == [[0, 1], [2]]


def test_options_round_trip():
    opts = tf.data.Options()
    opts.experimental_distribute.auto_shard_policy = \
        tf.data.experimental.AutoShardPolicy.DATA
    opts.deterministic = True
    ds = D.range(3).with_options(opts).map(lambda x: x)
    assert ds.options().experimental_distribute.auto_shard_policy == \
        tf.data.experimental.AutoShardPolicy.DATA
    with pytest.raises(AttributeError):
        opts.no_such_option = 1
