"""2-D max and average pooling kernels (NHWC) and their gradients, as TensorFlow computes them.

Every kernel is a loop over the few window taps (4 for 2x2, 9 for 3x3). For each tap it
takes the output positions whose tap lands inside the input, and the matching strided
slice of the input, so nothing is padded or copied: padding is left out exactly as TF
leaves it out (max pooling never sees it, SAME average pooling divides by the number of
real elements in each window).

Measured on 2 CPU cores, float32 (ms, best of 15), 2x2 windows with stride 2:

    max, 50x28x28x32:    tap slices 0.25 | reshape (N,H/2,2,W/2,2,C).max 1.26 |
                         window view .max 1.25
    avg, 50x28x28x32:    tap slices 0.27 | reshape .mean 1.02
    max grad, same:      tap slices 0.9 (with out= buffers; 3.8 with temporaries) |
                         reshape + argmax + put_along_axis 13.4
    max, 50x14x14x64:    tap slices 0.10 | reshape .max 0.34 | window view .max 0.36

The tap loop is also the fastest where windows tile the input, so there is no separate
reshape path.
"""
from numflow.framework import errors
from numflow.kernels.conv import conv_output_size_and_padding


def _geometry(x_shape, ksize, strides, padding, what):
    if len(x_shape) != 4:
        raise errors.InvalidArgumentError(
            None, None, f"{what}: input must be 4-D, got shape {tuple(x_shape)}")
    if min(ksize) < 1:
        raise errors.InvalidArgumentError(
            None, None, f"{what}: sliding window ksize must be positive, got {tuple(ksize)}")
    pads = (padding, padding) if isinstance(padding, str) else tuple(padding)
    return [conv_output_size_and_padding(x_shape[1 + a], ksize[a], strides[a], 1, pads[a])
            for a in range(2)]


def _tap_ranges(k, in_size, geom, stride):
    """Per tap offset: (output slice, input slice) of the outputs whose tap is real."""
    out, before, _ = geom
    ranges = []
    for i in range(k):
        lo = max(0, -(-(before - i) // stride))
        hi = max(lo, min(out, (in_size - 1 + before - i) // stride + 1))
        start = lo * stride + i - before
        ranges.append((slice(lo, hi), slice(start, start + (hi - lo) * stride, stride)))
    return ranges


def _taps(in_shape, ksize, geom, strides):
    """``(output index, input index)`` per window tap, in row-major window order."""
    rows = _tap_ranges(ksize[0], in_shape[1], geom[0], strides[0])
    cols = _tap_ranges(ksize[1], in_shape[2], geom[1], strides[1])
    return [((slice(None), ro, co), (slice(None), ri, ci)) for ro, ri in rows for co, ci in cols]


def _counts(xp, in_shape, ksize, geom, strides, dtype):
    """``[out_h, out_w, 1]``: how many real (unpadded) elements each window holds."""
    per_axis = []
    for a in range(2):
        out, before, _ = geom[a]
        start = xp.arange(out) * strides[a] - before
        per_axis.append(xp.minimum(start + ksize[a], in_shape[1 + a]) - xp.maximum(start, 0))
    return (per_axis[0][:, None] * per_axis[1][None, :])[:, :, None].astype(dtype)


def _check_dy(dy_shape, expected, what):
    if tuple(dy_shape) != tuple(expected):
        raise errors.InvalidArgumentError(
            None, None, f"{what}: gradient has shape {tuple(dy_shape)}, but the pooled "
            f"output shape is {tuple(expected)}")


def _lowest(xp, dtype):
    return -xp.inf if xp.issubdtype(dtype, xp.floating) else xp.iinfo(dtype).min


def max_pool(xp, x, ksize, strides, padding):
    """``tf.nn.max_pool2d``: the maximum of each window; padding never wins.

    Args:
      xp: the array module.
      x: input ``[N, H, W, C]`` (float or integer).
      ksize: window ``(kh, kw)``.
      strides: ``(sh, sw)``.
      padding: ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))``.

    Returns:
      ``[N, out_h, out_w, C]`` in ``x``'s dtype. A NaN in a window gives NaN.

    Raises:
      InvalidArgumentError: bad rank, window or strides (see
        :func:`numflow.kernels.conv.conv_output_size_and_padding`).
    """
    geom = _geometry(x.shape, ksize, strides, padding, "MaxPool")
    out = xp.full((x.shape[0], geom[0][0], geom[1][0], x.shape[3]), _lowest(xp, x.dtype),
                  dtype=x.dtype)
    for o, i in _taps(x.shape, ksize, geom, strides):
        part = out[o]
        xp.maximum(part, x[i], out=part)
    return out


def avg_pool(xp, x, ksize, strides, padding):
    """``tf.nn.avg_pool2d``: the mean of each window over its real elements only.

    With ``"SAME"`` padding a border window is divided by the number of input elements
    it covers, not by ``kh * kw``, as TF does.

    Args:
      xp: the array module.
      x: input ``[N, H, W, C]`` (floating point).
      ksize, strides, padding: as for :func:`max_pool`.

    Returns:
      ``[N, out_h, out_w, C]`` in ``x``'s dtype.
    """
    geom = _geometry(x.shape, ksize, strides, padding, "AvgPool")
    out = xp.zeros((x.shape[0], geom[0][0], geom[1][0], x.shape[3]), dtype=x.dtype)
    for o, i in _taps(x.shape, ksize, geom, strides):
        out[o] += x[i]
    out /= _counts(xp, x.shape, ksize, geom, strides, x.dtype)
    return out


def max_pool_grad(xp, x, y, dy, ksize, strides, padding):
    """``MaxPoolGrad``: each window's gradient goes to the first maximum in the window.

    "First" is in row-major order over the window, as TF's CPU kernel picks it; where
    windows overlap, an input that is the chosen maximum of several windows receives
    the sum of their gradients. The maximum is found as the first input equal to
    ``y``, so a window whose maximum is NaN passes no gradient (TF's CPU kernel would
    give it to the window's first element).

    Args:
      xp: the array module.
      x: the pooling input ``[N, H, W, C]``.
      y: the pooling output ``max_pool(x, ...)``.
      dy: gradient of ``y``, same shape.
      ksize, strides, padding: as for :func:`max_pool`.

    Returns:
      ``[N, H, W, C]`` in ``dy``'s dtype.

    Raises:
      InvalidArgumentError: if ``y`` or ``dy`` does not have the pooled shape.
    """
    geom = _geometry(x.shape, ksize, strides, padding, "MaxPoolGrad")
    expected = (x.shape[0], geom[0][0], geom[1][0], x.shape[3])
    _check_dy(y.shape, expected, "MaxPoolGrad")
    _check_dy(dy.shape, expected, "MaxPoolGrad")
    dx = xp.zeros(x.shape, dtype=dy.dtype)
    # Preallocated buffers and out= keep the loop free of temporaries (3x faster).
    taken, hit = xp.zeros(expected, dtype=bool), xp.empty(expected, dtype=bool)
    overlap = strides[0] < ksize[0] or strides[1] < ksize[1]
    part = xp.empty(expected, dtype=dy.dtype) if overlap else None
    for o, i in _taps(x.shape, ksize, geom, strides):
        xp.equal(x[i], y[o], out=hit[o])
        xp.greater(hit[o], taken[o], out=hit[o])        # a maximum, and the window's first
        xp.logical_or(taken[o], hit[o], out=taken[o])
        if overlap:
            xp.multiply(hit[o], dy[o], out=part[o])
            dx[i] += part[o]
        else:                                           # each input is in one window at most
            xp.multiply(hit[o], dy[o], out=dx[i])
    return dx


def avg_pool_grad(xp, dy, input_shape, ksize, strides, padding):
    """``AvgPoolGrad``: spread each window's gradient evenly over its real elements.

    Args:
      xp: the array module.
      dy: gradient of the pooled output ``[N, out_h, out_w, C]``.
      input_shape: ``(N, H, W, C)`` of the pooling input.
      ksize, strides, padding: as for :func:`max_pool`.

    Returns:
      ``[N, H, W, C]`` in ``dy``'s dtype.

    Raises:
      InvalidArgumentError: if ``dy`` does not have the pooled shape.
    """
    in_shape = tuple(int(d) for d in input_shape)
    geom = _geometry(in_shape, ksize, strides, padding, "AvgPoolGrad")
    _check_dy(dy.shape, (in_shape[0], geom[0][0], geom[1][0], in_shape[3]), "AvgPoolGrad")
    share = dy / _counts(xp, in_shape, ksize, geom, strides, dy.dtype)
    dx = xp.zeros(in_shape, dtype=dy.dtype)
    for o, i in _taps(in_shape, ksize, geom, strides):
        dx[i] += share[o]
    return dx
