"""Convolution kernels against naive float64 references (one loop over output positions)
and against results recorded from TensorFlow (tests/fixtures/kernels)."""
import os

import numpy as np
import pytest

from numflow.framework import errors
from numflow.kernels import conv

RNG = np.random.default_rng(1234)

# (H, W, kh, kw, strides, dilations, padding)
CASES = [
    (7, 7, 3, 3, (1, 1), (1, 1), "SAME"),
    (8, 6, 3, 2, (2, 2), (1, 1), "SAME"),      # even input, stride 2: pad after > before
    (9, 10, 5, 5, (3, 2), (1, 1), "SAME"),
    (7, 8, 3, 3, (1, 1), (2, 2), "SAME"),
    (9, 9, 2, 3, (2, 1), (2, 3), "VALID"),
    (6, 7, 3, 3, (2, 2), (1, 1), "VALID"),
    (5, 5, 1, 1, (1, 1), (1, 1), "VALID"),
    (5, 6, 3, 2, (1, 2), (1, 1), ((2, 0), (1, 3))),
    (4, 4, 5, 5, (2, 2), (1, 1), "VALID"),     # window 1 longer than input: empty output
]


def ref_geometry(size, k, s, d, padding):
    ke = (k - 1) * d + 1
    if padding == "SAME":
        out = -(-size // s)
        total = max((out - 1) * s + ke - size, 0)
        return out, total // 2, total - total // 2
    before, after = (0, 0) if padding == "VALID" else padding
    return max(int(np.trunc((size + before + after - ke + s) / s)), 0), before, after


def ref_setup(x_shape, k_hw, strides, dilations, padding):
    pads = (padding, padding) if isinstance(padding, str) else padding
    return [ref_geometry(x_shape[1 + a], k_hw[a], strides[a], dilations[a], pads[a])
            for a in range(2)]


def ref_window(y, x, kh, kw, strides, dilations):
    rows = y * strides[0] + dilations[0] * np.arange(kh)
    cols = x * strides[1] + dilations[1] * np.arange(kw)
    return rows[:, None], cols[None, :]


def ref_conv(x, w, strides, dilations, padding, depthwise=False):
    x, w = x.astype(np.float64), w.astype(np.float64)
    (oh, t, b), (ow, l, r) = ref_setup(x.shape, w.shape[:2], strides, dilations, padding)
    xpad = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    n, kh, kw = x.shape[0], w.shape[0], w.shape[1]
    out = np.zeros((n, oh, ow, w.shape[2] * w.shape[3] if depthwise else w.shape[3]))
    for y in range(oh):
        for xx in range(ow):
            rr, cc = ref_window(y, xx, kh, kw, strides, dilations)
            patch = xpad[:, rr, cc, :]            # n, kh, kw, c
            if depthwise:
                out[:, y, xx] = np.einsum("nijc,ijcm->ncm", patch, w).reshape(n, -1)
            else:
                out[:, y, xx] = np.einsum("nijc,ijco->no", patch, w)
    return out


def ref_backprops(x, w, dy, strides, dilations, padding, depthwise=False):
    x, w, dy = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
    (oh, t, b), (ow, l, r) = ref_setup(x.shape, w.shape[:2], strides, dilations, padding)
    xpad = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    n, kh, kw, c = x.shape[0], w.shape[0], w.shape[1], x.shape[3]
    for y in range(oh):
        for xx in range(ow):
            rr, cc = ref_window(y, xx, kh, kw, strides, dilations)
            g = dy[:, y, xx]
            if depthwise:
                g = g.reshape(n, c, -1)
                np.add.at(dxpad, (slice(None), rr, cc), np.einsum("ncm,ijcm->nijc", g, w))
                dw += np.einsum("nijc,ncm->ijcm", xpad[:, rr, cc, :], g)
            else:
                np.add.at(dxpad, (slice(None), rr, cc), np.einsum("no,ijco->nijc", g, w))
                dw += np.einsum("nijc,no->ijco", xpad[:, rr, cc, :], g)
    return dxpad[:, t:t + x.shape[1], l:l + x.shape[2]], dw


def make(h, w_, kh, kw, c=3, o=4, n=2, dtype=np.float32):
    x = RNG.standard_normal((n, h, w_, c)).astype(dtype)
    w = RNG.standard_normal((kh, kw, c, o)).astype(dtype)
    return x, w


@pytest.mark.parametrize("h,w_,kh,kw,strides,dilations,padding", CASES)
def test_conv2d_and_backprops_match_reference(h, w_, kh, kw, strides, dilations, padding):
    x, w = make(h, w_, kh, kw)
    y = conv.conv2d(np, x, w, strides, padding, dilations)
    want = ref_conv(x, w, strides, dilations, padding)
    assert y.dtype == np.float32 and y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    dx = conv.conv2d_backprop_input(np, w, dy, x.shape, strides, padding, dilations)
    dw = conv.conv2d_backprop_filter(np, x, dy, w.shape, strides, padding, dilations)
    want_dx, want_dw = ref_backprops(x, w, dy, strides, dilations, padding)
    assert dx.shape == x.shape and dw.shape == w.shape
    assert dx.dtype == np.float32 and dw.dtype == np.float32
    np.testing.assert_allclose(dx, want_dx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("h,w_,kh,kw,strides,dilations,padding", CASES[:4])
def test_chunked_batches_match_reference(monkeypatch, h, w_, kh, kw, strides, dilations,
                                         padding):
    # Chunks of one or two images, with a short last chunk (5 images).
    monkeypatch.setattr(conv, "CHUNK_BYTES", 2 * h * w_ * kh * kw * 3 * 4)
    monkeypatch.setattr(conv, "TAP_CHUNK_BYTES", h * w_ * (3 + 4) * 4)
    x, w = make(h, w_, kh, kw, n=5)
    y = conv.conv2d(np, x, w, strides, padding, dilations)
    np.testing.assert_allclose(y, ref_conv(x, w, strides, dilations, padding),
                               rtol=1e-5, atol=1e-5)
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    want_dx, want_dw = ref_backprops(x, w, dy, strides, dilations, padding)
    np.testing.assert_allclose(
        conv.conv2d_backprop_input(np, w, dy, x.shape, strides, padding, dilations), want_dx,
        rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        conv.conv2d_backprop_filter(np, x, dy, w.shape, strides, padding, dilations), want_dw,
        rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("h,w_,kh,kw,strides,dilations,padding", CASES)
def test_depthwise_and_backprops_match_reference(h, w_, kh, kw, strides, dilations, padding):
    x, w = make(h, w_, kh, kw, c=3, o=2)
    y = conv.depthwise_conv2d(np, x, w, strides, padding, dilations)
    want = ref_conv(x, w, strides, dilations, padding, depthwise=True)
    assert y.dtype == np.float32 and y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    dx = conv.depthwise_conv2d_backprop_input(np, w, dy, x.shape, strides, padding, dilations)
    dw = conv.depthwise_conv2d_backprop_filter(np, x, dy, w.shape, strides, padding, dilations)
    want_dx, want_dw = ref_backprops(x, w, dy, strides, dilations, padding, depthwise=True)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-5, atol=1e-5)


def test_conv2d_float64_is_kept_and_exact():
    x, w = make(6, 5, 3, 3, dtype=np.float64)
    y = conv.conv2d(np, x, w, (1, 1), "SAME", (1, 1))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, ref_conv(x, w, (1, 1), (1, 1), "SAME"), rtol=1e-12)


def test_conv2d_matches_scipy_correlate():
    from scipy import signal
    x, w = make(9, 8, 3, 4, c=1, o=1, n=1, dtype=np.float64)
    y = conv.conv2d(np, x, w, (1, 1), "VALID", (1, 1))
    np.testing.assert_allclose(y[0, :, :, 0], signal.correlate2d(x[0, :, :, 0], w[:, :, 0, 0],
                                                                 mode="valid"), rtol=1e-12)


@pytest.mark.parametrize("size,k,s,d,padding,want", [
    (7, 3, 1, 1, "SAME", (7, 1, 1)),
    (8, 3, 2, 1, "SAME", (4, 0, 1)),
    (7, 3, 2, 1, "SAME", (4, 1, 1)),
    (5, 4, 1, 1, "SAME", (5, 1, 2)),
    (10, 3, 4, 1, "SAME", (3, 0, 1)),
    (2, 1, 3, 1, "SAME", (1, 0, 0)),
    (7, 3, 1, 2, "SAME", (7, 2, 2)),
    (9, 3, 2, 2, "VALID", (3, 0, 0)),
    (4, 5, 2, 1, "VALID", (0, 0, 0)),
    (5, 3, 2, 1, (1, 2), (3, 1, 2)),
])
def test_output_size_and_padding(size, k, s, d, padding, want):
    assert conv.conv_output_size_and_padding(size, k, s, d, padding) == want


@pytest.mark.parametrize("args", [(3, 5, 1, 1, "VALID"), (5, 3, 0, 1, "SAME"),
                                  (5, 3, 1, 0, "SAME"), (5, 3, 1, 1, (-1, 0)),
                                  (5, 3, 1, 1, "FULL")])
def test_output_size_errors(args):
    with pytest.raises(errors.InvalidArgumentError):
        conv.conv_output_size_and_padding(*args)


def test_channel_mismatch_and_bad_dy_raise():
    x, w = make(5, 5, 3, 3, c=3)
    with pytest.raises(errors.InvalidArgumentError, match="divisible"):
        conv.conv2d(np, x, w[:, :, :2], (1, 1), "SAME", (1, 1))
    with pytest.raises(errors.UnimplementedError, match="grouped"):
        conv.conv2d(np, x, w[:, :, :1], (1, 1), "SAME", (1, 1))
    with pytest.raises(errors.InvalidArgumentError, match="same depth"):
        conv.depthwise_conv2d(np, x, w[:, :, :1], (1, 1), "SAME", (1, 1))
    with pytest.raises(errors.InvalidArgumentError, match="out_backprop"):
        conv.conv2d_backprop_input(np, w, np.zeros((2, 4, 5, 4), np.float32), x.shape,
                                   (1, 1), "SAME", (1, 1))
    with pytest.raises(errors.InvalidArgumentError, match="out_backprop"):
        conv.conv2d_backprop_filter(np, x, np.zeros((2, 5, 5, 3), np.float32), w.shape,
                                    (1, 1), "SAME", (1, 1))


def test_empty_batch():
    x, w = make(5, 5, 3, 3, n=0)
    assert conv.conv2d(np, x, w, (1, 1), "SAME", (1, 1)).shape == (0, 5, 5, 4)
    dw = conv.conv2d_backprop_filter(np, x, np.zeros((0, 5, 5, 4), np.float32), w.shape,
                                     (1, 1), "SAME", (1, 1))
    assert dw.shape == w.shape and not dw.any()


FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "kernels",
                                "conv_pool.npz"))
TF_CASES = {"same_s2": ((2, 2), "SAME", (1, 1)), "valid_s3x2": ((3, 2), "VALID", (1, 1)),
            "same_d2": ((1, 1), "SAME", (2, 2)), "explicit": ((2, 1), ((2, 1), (0, 3)), (1, 1))}


@pytest.mark.parametrize("name", sorted(TF_CASES))
def test_conv2d_matches_tensorflow(name):
    """Integer-valued inputs: every sum is exact, so TF's results must match exactly."""
    strides, padding, dilations = TF_CASES[name]
    f = FIXTURES
    x, w, dy = f["conv_x"], f["conv_w"], f[f"conv_{name}_dy"]
    np.testing.assert_array_equal(conv.conv2d(np, x, w, strides, padding, dilations),
                                  f[f"conv_{name}_y"])
    np.testing.assert_array_equal(
        conv.conv2d_backprop_input(np, w, dy, x.shape, strides, padding, dilations),
        f[f"conv_{name}_dx"])
    np.testing.assert_array_equal(
        conv.conv2d_backprop_filter(np, x, dy, w.shape, strides, padding, dilations),
        f[f"conv_{name}_dw"])


def test_depthwise_and_transpose_match_tensorflow():
    f = FIXTURES
    x, w, dy = f["conv_x"], f["dw_w"], f["dw_dy"]
    args = ((2, 2), "SAME", (1, 1))
    np.testing.assert_array_equal(conv.depthwise_conv2d(np, x, w, *args), f["dw_y"])
    np.testing.assert_array_equal(
        conv.depthwise_conv2d_backprop_input(np, w, dy, x.shape, *args), f["dw_dx"])
    np.testing.assert_array_equal(
        conv.depthwise_conv2d_backprop_filter(np, x, dy, w.shape, *args), f["dw_dw"])
    np.testing.assert_array_equal(
        conv.conv2d_backprop_input(np, f["conv_w"][:, :, :, :2], f["tr_in"], (2, 6, 7, 3),
                                   *args), f["tr_y"])
