"""PhiloxStream against numbers recorded from TensorFlow (tests/fixtures/kernels), the
published Philox4x32-10 known-answer vectors and a scalar pure-Python Philox."""
import os

import numpy as np
import pytest

from numflow.framework import dtypes, errors
from numflow.kernels import random

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "kernels",
                                "random_ops.npz"))
M32 = 0xFFFFFFFF


def ref_philox_block(key, counter):
    """One Philox4x32-10 block with Python ints (the reference for the vectorised one)."""
    c = [(counter >> (32 * i)) & M32 for i in range(4)]
    k0, k1 = key & M32, key >> 32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c


@pytest.mark.parametrize("counter,key,want", [   # Random123's kat_vectors, philox4x32 R=10
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((M32,) * 4, (M32, M32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(counter, key, want):
    c = sum(v << (32 * i) for i, v in enumerate(counter))
    k = key[0] | key[1] << 32
    got = random.philox4x32(np, k, c, np.zeros(1, np.uint64))
    assert got.dtype == np.uint32
    assert tuple(int(v) for v in got[0]) == want
    assert ref_philox_block(k, c) == list(want)


def test_philox_counter_carries_across_words():
    key = 0x0123456789ABCDEF
    for base in (2 ** 64 - 3, 2 ** 32 - 2, 2 ** 128 - 2 ** 64 - 1):
        offsets = np.array([0, 1, 2, 3, 5], np.uint64)
        got = random.philox4x32(np, key, base, offsets)
        for row, off in zip(got, offsets):
            want = ref_philox_block(key, (base + int(off)) % 2 ** 128)
            assert [int(v) for v in row] == want


def fixture_cases():
    return sorted(k[:-len("_seeds")] for k in FIXTURES.files if k.endswith("_seeds"))


INT_BOUNDS = {"uniform_int32_3x4_seed7": (-5, 17), "uniform_int32_full_seed16": (-2 ** 31,
                                                                              2 ** 31 - 1),
              "uniform_int64_5_seed8": (-2 ** 40, 2 ** 40)}
GRAPH_KINDS = {"graph1234_a": "normal", "graph1234_b": "uniform", "graph1234_c": "normal",
               "graph1234_d": "truncated", "graph0_seed0": "normal"}


def draw(stream, name, shape, dtype):
    kind = GRAPH_KINDS.get(name, name.split("_")[0])
    if name in INT_BOUNDS:
        return stream.uniform_int(shape, *INT_BOUNDS[name], dtype=dtype)
    return {"normal": stream.normal, "uniform": stream.uniform,
            "truncated": stream.truncated_normal}[kind](shape, dtype)


def ulps(got, want):
    """Distance in units in the last place of ``want``."""
    return np.abs(got.astype(np.float64) - want) / np.spacing(np.abs(want)).astype(np.float64)


@pytest.mark.parametrize("name", fixture_cases())
def test_streams_match_tensorflow(name):
    """Two runs of each TF op: uniform and integer draws are bit-exact; float32/float64
    Box-Muller values are bit-exact except for ~2% / ~0.5% that are an ulp or two off
    (TF's glibc logf/sincosf/log versus NumPy; see numflow.kernels.random)."""
    seed, seed2 = (int(v) for v in FIXTURES[f"{name}_seeds"])
    shape = tuple(int(d) for d in FIXTURES[f"{name}_shape"])
    stream = random.PhiloxStream(seed, seed2)
    for run in (1, 2):
        want = FIXTURES[f"{name}_run{run}"]
        got = draw(stream, name, shape, want.dtype)
        assert got.shape == shape and got.dtype == want.dtype
        got = got.reshape(-1)[:want.size]
        kind = GRAPH_KINDS.get(name, name.split("_")[0])
        if kind == "uniform" or want.dtype == np.float16 or want.size < 100:
            np.testing.assert_array_equal(got, want)
        else:
            exact = np.mean(got == want)
            assert exact >= (0.99 if want.dtype == np.float64 else 0.97), exact
            assert ulps(got, want).max() <= 2


def test_mean_and_stddev_arithmetic_matches_tensorflow():
    """tf.random_normal(mean=2, stddev=4) is ``raw * 4 + 2`` in float32."""
    name = "normal_200x300_mean2_std4_seed12"
    stream = random.PhiloxStream(*(int(v) for v in FIXTURES[f"{name}_seeds"]))
    for run in (1, 2):
        final = stream.normal((200, 300), dtypes.float32) * np.float32(4) + np.float32(2)
        assert ulps(final.reshape(-1)[:100], FIXTURES[f"{name}_final_run{run}_head"]).max() <= 2
        assert final.astype(np.float64).mean() == pytest.approx(
            float(FIXTURES[f"{name}_final_run{run}_mean"]), abs=1e-6)
        assert final.astype(np.float64).std() == pytest.approx(
            float(FIXTURES[f"{name}_final_run{run}_std"]), rel=1e-6)
    name = "uniform_minmax_seed15"
    stream = random.PhiloxStream(*(int(v) for v in FIXTURES[f"{name}_seeds"]))
    final = stream.uniform((6,)) * np.float32(8) + np.float32(-3)
    np.testing.assert_array_equal(final, FIXTURES[f"{name}_final_run1_head"])


@pytest.mark.parametrize("graph_seed,op_seed,counter,want", [
    (None, None, 0, (None, None)),
    (None, 1, 0, (87654321, 1)),
    (None, -1, 0, (87654321, 2 ** 31 - 2)),
    (1234, None, 0, (1234, 0)),
    (1234, None, 2, (1234, 2)),
    (1234, 5, 7, (1234, 5)),
    (0, 0, 0, (0, 2 ** 31 - 1)),
    (2 ** 31 - 1, 2 ** 40, 0, (0, 2 ** 40 % (2 ** 31 - 1))),
])
def test_get_seed(graph_seed, op_seed, counter, want):
    assert random.get_seed(graph_seed, op_seed, counter) == want


def test_get_seed_agrees_with_recorded_graphs():
    for name, args in {"graph1234_a": (1234, None, 0), "graph1234_b": (1234, None, 1),
                       "graph1234_c": (1234, 5, 2), "graph1234_d": (1234, None, 2),
                       "graph0_seed0": (0, 0, 0), "normal_2x3_seed1": (None, 1, 0),
                       "normal_5_seed0": (None, 0, 0),
                       "normal_big_seed_neg1": (None, -1, 0)}.items():
        assert random.get_seed(*args) == tuple(int(v) for v in FIXTURES[f"{name}_seeds"])


def test_unseeded_streams_differ_and_seeded_ones_repeat():
    a, b = random.PhiloxStream(None, None), random.PhiloxStream(0, 0)
    assert not np.array_equal(a.uniform((8,)), b.uniform((8,)))
    np.testing.assert_array_equal(random.PhiloxStream(3, 4).normal((5,)),
                                  random.PhiloxStream(3, 4).normal((5,)))


def test_each_draw_reserves_256_blocks_per_output():
    s = random.PhiloxStream(9, 10)
    s.uniform((3,))
    nxt = s.uniform((4,))
    want = random.philox4x32(np, 9, (10 << 64) + 3 * 256, np.zeros(1, np.uint64))[0]
    np.testing.assert_array_equal(nxt, ((want & 0x7FFFFF) | 0x3F800000).view(np.float32) - 1)


def test_distribution_sanity():
    s = random.PhiloxStream(11, 12)
    n = s.normal((200000,), np.float64)
    assert abs(n.mean()) < 0.01 and abs(n.std() - 1) < 0.01
    t = s.truncated_normal((100000,))
    assert t.dtype == np.float32 and np.abs(t).max() < 2 and abs(t.std() - 0.8796) < 0.01
    u = s.uniform((100000,), np.float64)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    i = s.uniform_int((100000,), -3, 4, np.int64)
    assert i.dtype == np.int64 and set(np.unique(i)) == set(range(-3, 4))
    assert s.normal((0, 3)).shape == (0, 3)


def test_errors():
    s = random.PhiloxStream(1, 2)
    with pytest.raises(errors.InvalidArgumentError, match="minval < maxval"):
        s.uniform_int((2,), 5, 5)
    assert s.uniform_int((0,), 5, 5).shape == (0,)
    with pytest.raises(errors.InvalidArgumentError):
        s.normal((2,), dtypes.int32)
    with pytest.raises(errors.InvalidArgumentError):
        s.uniform_int((2,), 0, 3, dtypes.float32)
