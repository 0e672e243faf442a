"""Naive float64 NumPy references for convolution and pooling layers (loops over output
positions; only for small test inputs). Channels-last layouts, Keras's weight shapes."""
import itertools

import numpy as np


def same_pads(n, k, s, d):
    """TF's SAME padding ``(before, after)`` along one axis."""
    ke = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def conv(x, w, strides, padding, dilation=None, groups=1, bias=None):
    """N-D cross-correlation: ``x [N, *S, C]``, ``w [*K, C // groups, O]``."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    rank = x.ndim - 2
    dilation = dilation or (1,) * rank
    ks = w.shape[:rank]
    if padding == "causal":
        x = np.pad(x, [(0, 0), ((ks[0] - 1) * dilation[0], 0), (0, 0)])
        padding = "valid"
    if padding == "same":
        pads = [same_pads(x.shape[i + 1], ks[i], strides[i], dilation[i]) for i in range(rank)]
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    spatial = x.shape[1:-1]
    outs = [(spatial[i] - (ks[i] - 1) * dilation[i] - 1) // strides[i] + 1
            for i in range(rank)]
    cin, cout = x.shape[-1], w.shape[-1]
    cg, og = cin // groups, cout // groups
    y = np.zeros((x.shape[0],) + tuple(outs) + (cout,))
    for pos in itertools.product(*[range(o) for o in outs]):
        idx = tuple(slice(p * s, p * s + (k - 1) * d + 1, d)
                    for p, s, k, d in zip(pos, strides, ks, dilation))
        win = x[(slice(None),) + idx]                       # [N, *K, C]
        for g in range(groups):
            y[(slice(None),) + pos + (slice(g * og, (g + 1) * og),)] = np.tensordot(
                win[..., g * cg:(g + 1) * cg], w[..., g * og:(g + 1) * og],
                axes=(list(range(1, rank + 2)), list(range(rank + 1))))
    if bias is not None:
        y = y + bias
    return y


def conv_transpose(x, w, strides, padding, output_padding=None, dilation=None, bias=None):
    """Transposed convolution (the gradient of ``conv``): ``x [N, *S, C]``,
    ``w [*K, O, C]``; output sizes by Keras's ``deconv_output_length``."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    rank = x.ndim - 2
    dilation = dilation or (1,) * rank
    ks = w.shape[:rank]
    sizes, befores = [], []
    for i in range(rank):
        n, k, s, d = x.shape[i + 1], ks[i], strides[i], dilation[i]
        ke = (k - 1) * d + 1
        if output_padding is None:
            out = n * s + max(ke - s, 0) if padding == "valid" else n * s
        else:
            pad = ke // 2 if padding == "same" else 0
            out = (n - 1) * s + ke - 2 * pad + output_padding[i]
        total = max((n - 1) * s + ke - out, 0)
        sizes.append(out)
        befores.append(total // 2 if padding == "same" else 0)
    full = [max((x.shape[i + 1] - 1) * strides[i] + (ks[i] - 1) * dilation[i] + 1,
                befores[i] + sizes[i]) for i in range(rank)]
    y = np.zeros((x.shape[0],) + tuple(full) + (w.shape[-2],))
    for pos in itertools.product(*[range(n) for n in x.shape[1:-1]]):
        contrib = np.tensordot(x[(slice(None),) + pos], w, axes=([1], [rank + 1]))  # [N,*K,O]
        idx = tuple(slice(p * s, p * s + (k - 1) * d + 1, d)
                    for p, s, k, d in zip(pos, strides, ks, dilation))
        y[(slice(None),) + idx] += contrib
    y = y[(slice(None),) + tuple(slice(b, b + o) for b, o in zip(befores, sizes))]
    if bias is not None:
        y = y + bias
    return y


def depthwise(x, w, strides, padding, dilation=None, bias=None):
    """Depthwise convolution: ``w [*K, C, M]`` -> ``C * M`` channels (``c * M + m``)."""
    rank = x.ndim - 2
    c, m = w.shape[-2], w.shape[-1]
    outs = [conv(x[..., i:i + 1], w[..., i:i + 1, :], strides, padding, dilation)
            for i in range(c)]
    y = np.concatenate(outs, axis=-1)
    if bias is not None:
        y = y + bias
    assert y.shape[-1] == c * m and y.ndim == rank + 2
    return y


def pool(x, size, strides, padding, kind):
    """Max/average pooling; padding never counts (TF's rule)."""
    x = np.asarray(x, np.float64)
    rank = x.ndim - 2
    fill = -np.inf if kind == "max" else np.nan
    if padding == "same":
        pads = [same_pads(x.shape[i + 1], size[i], strides[i], 1) for i in range(rank)]
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    outs = [(x.shape[i + 1] - size[i]) // strides[i] + 1 for i in range(rank)]
    y = np.zeros((x.shape[0],) + tuple(outs) + (x.shape[-1],))
    for pos in itertools.product(*[range(o) for o in outs]):
        idx = tuple(slice(p * s, p * s + k) for p, s, k in zip(pos, strides, size))
        win = x[(slice(None),) + idx].reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None),) + pos] = win.max(1) if kind == "max" else np.nanmean(win, 1)
    return y
