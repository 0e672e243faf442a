"""shuffle: seeds, reshuffling, TF's buffer semantics, and the vectorised fast path
(numflow.data.indexing)."""
import time

import numpy as np
import pytest

import numflow as tf
from numflow.data import indexing
from numflow.framework import context

D = tf.data.Dataset


def _order(ds):
    return [int(x) for x in ds.as_numpy_iterator()]


def test_seed_makes_order_reproducible():
    a = _order(D.range(100).shuffle(10, seed=42))
    b = _order(D.range(100).shuffle(10, seed=42))
    assert a == b and sorted(a) == list(range(100)) and a != list(range(100))
    assert _order(D.range(100).shuffle(10, seed=43)) != a


def test_global_seed_makes_order_reproducible():
    saved = context.global_seed()
    try:
        tf.random.set_seed(7)
        a = _order(D.range(50).shuffle(50))
        tf.random.set_seed(7)
        b = _order(D.range(50).shuffle(50))
        assert a == b
    finally:
        context.set_global_seed(saved)


def test_reshuffle_each_iteration():
    ds = D.range(100).shuffle(100, seed=1)
    first, second = _order(ds), _order(ds)
    assert sorted(first) == sorted(second) == list(range(100)) and first != second
    fixed = D.range(100).shuffle(100, seed=1, reshuffle_each_iteration=False)
    assert _order(fixed) == _order(fixed)
    epochs = _order(D.range(20).shuffle(20, seed=3).repeat(2))
    assert sorted(epochs[:20]) == sorted(epochs[20:]) == list(range(20))
    assert epochs[:20] != epochs[20:]
    # the sequence of epoch orders is itself reproducible
    again = _order(D.range(20).shuffle(20, seed=3).repeat(2))
    assert again == epochs


def test_buffer_semantics():
    n, size = 200, 10
    out = _order(D.range(n).shuffle(size, seed=5))
    # TF's buffer: output t is one of the first t + size inputs
    assert all(v < t + size for t, v in enumerate(out))
    assert _order(D.range(30).shuffle(1, seed=5)) == list(range(30))
    assert sorted(_order(D.range(30).shuffle(1000, seed=5))) == list(range(30))


def test_element_path_and_index_path_agree():
    fast = D.range(300).shuffle(37, seed=11)
    assert fast._index_plan() is not None
    slow = D.from_generator(lambda: iter(range(300)), output_types=tf.int64) \
        .shuffle(37, seed=11)
    assert slow._index_plan() is None
    assert _order(fast) == _order(slow)


def test_shuffle_of_batches_and_generic_elements():
    ds = D.range(12).batch(3).shuffle(4, seed=2)
    batches = [b.tolist() for b in ds.as_numpy_iterator()]
    assert sorted(batches) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def test_fast_batch_gathers_once_per_batch(monkeypatch):
    calls = []
    real = indexing.gather_views

    def counting(arrays, chunk):
        calls.append(indexing.chunk_len(chunk))
        return real(arrays, chunk)
    monkeypatch.setattr(indexing, "gather_views", counting)
    x = np.arange(1000 * 3, dtype=np.float32).reshape(1000, 3)
    y = np.arange(1000)
    ds = D.from_tensor_slices((x, y)).shuffle(100, seed=0).batch(100)
    batches = list(ds._numpy_batches())
    assert calls == [100] * 10
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(1000))
    for bx, by in batches:
        np.testing.assert_array_equal(bx, x[by])       # rows stay paired


def test_fast_path_equals_element_path():
    x = np.random.default_rng(0).random((257, 4)).astype(np.float32)
    y = np.arange(257)
    fast = D.from_tensor_slices((x, y)).shuffle(50, seed=9).repeat(2).batch(32)
    slow = D.from_tensor_slices((x, y)).map(lambda a, b: (a, b)).shuffle(50, seed=9) \
        .repeat(2).batch(32)
    assert fast._inputs[0]._index_plan() is not None
    assert slow._inputs[0]._index_plan() is None
    fb, sb = list(fast.as_numpy_iterator()), list(slow.as_numpy_iterator())
    assert len(fb) == len(sb) == -(-514 // 32) == int(fast.cardinality())
    for (fx, fy), (sx, sy) in zip(fb, sb):
        np.testing.assert_array_equal(fx, sx)
        np.testing.assert_array_equal(fy, sy)
    counts = np.bincount(np.concatenate([b[1] for b in fb]))
    assert counts.tolist() == [2] * 257        # batches cross the epoch boundary


def test_fast_path_take_skip_shard_zip_range():
    x = np.arange(20)
    assert [b.tolist() for b in D.from_tensor_slices(x).skip(3).take(7).batch(3)
            .as_numpy_iterator()] == [[3, 4, 5], [6, 7, 8], [9]]
    assert [b.tolist() for b in D.from_tensor_slices(x).shard(4, 1).batch(2)
            .as_numpy_iterator()] == [[1, 5], [9, 13], [17]]
    z = D.zip((D.range(5), D.from_tensor_slices(x * 10)))
    assert z._index_plan() is not None
    assert [(a.tolist(), b.tolist()) for a, b in z.batch(2).as_numpy_iterator()] == \
        [([0, 1], [0, 10]), ([2, 3], [20, 30]), ([4], [40])]
    assert [b.tolist() for b in D.range(10, 0, -3).batch(2).as_numpy_iterator()] == \
        [[10, 7], [4, 1]]
    assert [b.tolist() for b in D.from_tensors([1, 2]).repeat(3).batch(2)
            .as_numpy_iterator()] == [[[1, 2], [1, 2]], [[1, 2]]]


def test_unshuffled_batches_are_read_only_views():
    x = np.arange(10.0)
    b = next(D.from_tensor_slices(x).batch(4)._numpy_batches())
    assert not b.flags.writeable and np.shares_memory(b, x)
    assert x.flags.writeable
    with pytest.raises(ValueError):
        b[0] = 5


def test_mnist_sized_epoch_is_fast():
    x = np.zeros((60000, 784), np.float32)
    y = np.zeros(60000, np.int64)
    ds = D.from_tensor_slices((x, y)).shuffle(10000).batch(128).prefetch(tf.data.AUTOTUNE)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        n = sum(1 for _ in ds)
        best = min(best, time.perf_counter() - t0)
    assert n == 469
    assert best < 1.0, f"one epoch took {best:.2f} s"


def test_shuffle_arguments():
    with pytest.raises(tf.errors.InvalidArgumentError):
        D.range(3).shuffle(0)
    assert sorted(_order(D.range(5).shuffle(-1, seed=1))) == list(range(5))
