"""Pooling kernels against naive float64 references (one loop over output positions)
and against results recorded from TensorFlow (tests/fixtures/kernels)."""
import os

import numpy as np
import pytest

from numflow.framework import errors
from numflow.kernels import pool

RNG = np.random.default_rng(99)
FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "kernels",
                                "conv_pool.npz"))

# (H, W, ksize, strides, padding)
CASES = [
    (8, 8, (2, 2), (2, 2), "VALID"),
    (8, 8, (2, 2), (2, 2), "SAME"),
    (8, 7, (2, 2), (3, 3), "SAME"),            # gaps between windows
    (7, 9, (3, 3), (2, 2), "SAME"),
    (7, 9, (3, 2), (2, 3), "VALID"),
    (6, 5, (2, 3), (1, 1), "SAME"),
    (5, 6, (4, 4), (3, 1), "SAME"),
    (6, 6, (3, 3), (1, 2), ((1, 1), (2, 0))),
]


def ref_windows(shape, ksize, strides, padding):
    """Yield (y, x, rows, cols) with the real input rows/cols of each output window."""
    geo = []
    for a in range(2):
        size, k, s = shape[1 + a], ksize[a], strides[a]
        pad = padding if isinstance(padding, str) else None
        if pad == "SAME":
            out = -(-size // s)
            before = max((out - 1) * s + k - size, 0) // 2
        elif pad == "VALID":
            out, before = (size - k) // s + 1, 0
        else:
            before, after = padding[a]
            out = (size + before + after - k) // s + 1
        geo.append((out, before))
    for y in range(geo[0][0]):
        for x in range(geo[1][0]):
            r = [v for v in range(y * strides[0] - geo[0][1], y * strides[0] - geo[0][1] + ksize[0])
                 if 0 <= v < shape[1]]
            c = [v for v in range(x * strides[1] - geo[1][1], x * strides[1] - geo[1][1] + ksize[1])
                 if 0 <= v < shape[2]]
            yield y, x, r, c, geo[0][0], geo[1][0]


def ref_pool(x, ksize, strides, padding, kind):
    out = None
    for y, xx, r, c, oh, ow in ref_windows(x.shape, ksize, strides, padding):
        if out is None:
            out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
        win = x[:, r][:, :, c].astype(np.float64)
        out[:, y, xx] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


def ref_grads(x, dy, ksize, strides, padding):
    dmax, davg = np.zeros(x.shape), np.zeros(x.shape)
    for y, xx, r, c, _, _ in ref_windows(x.shape, ksize, strides, padding):
        win = x[:, r][:, :, c].reshape(x.shape[0], -1, x.shape[3])   # n, taps (row-major), c
        first = win.argmax(axis=1)                                   # first maximum
        rr, cc = np.array(r)[first // len(c)], np.array(c)[first % len(c)]
        n_idx, c_idx = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[3]), indexing="ij")
        np.add.at(dmax, (n_idx, rr, cc, c_idx), dy[:, y, xx])
        davg[:, r[0]:r[-1] + 1, c[0]:c[-1] + 1] += dy[:, y, xx][:, None, None] / (len(r) * len(c))
    return dmax, davg


@pytest.mark.parametrize("h,w,ksize,strides,padding", CASES)
@pytest.mark.parametrize("ties", [False, True])
def test_pools_and_grads_match_reference(h, w, ksize, strides, padding, ties):
    x = RNG.standard_normal((2, h, w, 3)).astype(np.float32)
    if ties:
        x = np.round(x).astype(np.float32)      # many equal maxima in a window
    ymax = pool.max_pool(np, x, ksize, strides, padding)
    yavg = pool.avg_pool(np, x, ksize, strides, padding)
    assert ymax.dtype == np.float32 and yavg.dtype == np.float32
    np.testing.assert_array_equal(ymax, ref_pool(x, ksize, strides, padding, "max"))
    np.testing.assert_allclose(yavg, ref_pool(x, ksize, strides, padding, "avg"), rtol=1e-6,
                               atol=1e-6)
    dy = RNG.standard_normal(ymax.shape).astype(np.float32)
    want_max, want_avg = ref_grads(x, dy, ksize, strides, padding)
    np.testing.assert_allclose(pool.max_pool_grad(np, x, ymax, dy, ksize, strides, padding),
                               want_max, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pool.avg_pool_grad(np, dy, x.shape, ksize, strides, padding),
                               want_avg, rtol=1e-6, atol=1e-6)


def test_max_pool_integers_and_all_negative():
    x = -RNG.integers(1, 100, size=(1, 5, 5, 2)).astype(np.int32)
    y = pool.max_pool(np, x, (3, 3), (2, 2), "SAME")
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, ref_pool(x, (3, 3), (2, 2), "SAME", "max"))


def test_float64_kept():
    x = RNG.standard_normal((1, 4, 4, 1))
    assert pool.avg_pool(np, x, (2, 2), (2, 2), "VALID").dtype == np.float64
    assert pool.max_pool(np, x, (2, 2), (2, 2), "VALID").dtype == np.float64


@pytest.mark.parametrize("name,ksize,strides,padding", [
    ("max_same_3s2", (3, 3), (2, 2), "SAME"), ("max_valid_2s2", (2, 2), (2, 2), "VALID"),
    ("max_same_2s1", (2, 3), (1, 1), "SAME"), ("avg_same_3s2", (3, 3), (2, 2), "SAME"),
    ("avg_valid_2s3", (2, 2), (3, 3), "VALID"), ("avg_same_2s1", (2, 3), (1, 1), "SAME")])
def test_matches_tensorflow(name, ksize, strides, padding):
    """Inputs in {0, 1, 2} tie often, so the max gradient shows which maximum TF picks."""
    f = FIXTURES
    x, y, dy, dx = f["pool_x"], f[f"pool_{name}_y"], f[f"pool_{name}_dy"], f[f"pool_{name}_dx"]
    if name.startswith("max"):
        got = pool.max_pool(np, x, ksize, strides, padding)
        np.testing.assert_array_equal(got, y)
        np.testing.assert_array_equal(pool.max_pool_grad(np, x, got, dy, ksize, strides, padding),
                                      dx)
    else:
        np.testing.assert_allclose(pool.avg_pool(np, x, ksize, strides, padding), y, rtol=1e-6)
        np.testing.assert_allclose(pool.avg_pool_grad(np, dy, x.shape, ksize, strides, padding),
                                   dx, rtol=1e-6)


def test_errors():
    x = np.zeros((1, 4, 4, 1), np.float32)
    # TF's size rule: a window one longer than the input gives an empty output...
    assert pool.avg_pool(np, x, (5, 5), (1, 1), "VALID").shape == (1, 0, 0, 1)
    assert pool.max_pool(np, x, (5, 5), (1, 1), "VALID").shape == (1, 0, 0, 1)
    # ...and two longer an error.
    with pytest.raises(errors.InvalidArgumentError):
        pool.max_pool(np, x, (6, 6), (1, 1), "VALID")
    with pytest.raises(errors.InvalidArgumentError):
        pool.max_pool(np, x[0], (2, 2), (1, 1), "VALID")
    with pytest.raises(errors.InvalidArgumentError):
        pool.avg_pool(np, x, (0, 2), (1, 1), "VALID")
    with pytest.raises(errors.InvalidArgumentError):
        pool.avg_pool_grad(np, np.zeros((1, 3, 3, 1), np.float32), x.shape, (2, 2), (2, 2),
                           "VALID")
