"""numflow/kernels/segment.py: segment sums equal add.at bit for bit, in both strategies."""
import numpy as np
import pytest

from numflow.kernels import segment


def _reference(data, ids, n):
    out = np.zeros((n,) + data.shape[ids.ndim:], data.dtype)
    np.add.at(out, ids.astype(np.intp), data)
    return out


@pytest.mark.parametrize("shape,n", [((32, 100, 64), 2000), ((3200, 512), 5000),
                                     ((64, 16), 3), ((40,), 7), ((10, 5, 3), 4),
                                     ((0, 32), 5)])
def test_matches_add_at_bit_for_bit(shape, n):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, n, shape[:-1] if len(shape) > 1 else shape)
    data = rng.standard_normal(shape).astype(np.float32)
    got = segment.unsorted_segment_sum(np, data, ids, n)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, _reference(data, ids, n))


def test_many_repeats_fall_back_and_agree(monkeypatch):
    rng = np.random.default_rng(1)
    ids = np.zeros(300, np.int64)
    ids[::7] = 1
    data = rng.standard_normal((300, 32)).astype(np.float32)
    want = _reference(data, ids, 3)
    np.testing.assert_array_equal(segment.unsorted_segment_sum(np, data, ids, 3), want)
    monkeypatch.setattr(segment, "MAX_ROUNDS", 10 ** 6)     # force the round path
    np.testing.assert_array_equal(segment.unsorted_segment_sum(np, data, ids, 3), want)


def test_rounds_keep_input_order_within_a_segment():
    # 1e8 + 1 - 1e8 depends on the order of the additions in float32.
    data = np.array([[1e8] * 16, [1.0] * 16, [-1e8] * 16], np.float32)
    ids = np.array([2, 2, 2])
    got = segment.unsorted_segment_sum(np, data, ids, 3)
    np.testing.assert_array_equal(got, _reference(data, ids, 3))


def test_integer_data():
    data = np.arange(60, dtype=np.int32).reshape(3, 20)
    ids = np.array([1, 0, 1])
    np.testing.assert_array_equal(segment.unsorted_segment_sum(np, data, ids, 2),
                                  _reference(data, ids, 2))
