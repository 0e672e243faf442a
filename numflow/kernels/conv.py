"""2-D convolution kernels (NHWC input, HWIO filters), as TensorFlow computes them.

Forward passes and filter gradients build an im2col matrix from a strided window view
of the padded input and multiply it, a few images (``CHUNK_BYTES``) at a time so each
piece of the patch matrix is multiplied while it is still in the cache. Input gradients
multiply ``dy`` by one filter tap at a time and add the result into a padded buffer at
that tap's offset, likewise a few images (``TAP_CHUNK_BYTES``) at a time.

Padding arguments are ``"SAME"``, ``"VALID"`` or explicit ``((top, bottom), (left,
right))``; strides and dilations are ``(height, width)`` pairs. The op layer converts
TF's 4-element attributes and ``explicit_paddings`` lists to these forms.

Measured on 2 CPU cores, float32, batch 50 (ms, best of 9; the seed CNN's second layer
is 14x14x32 -> 5x5x64, SAME):

    forward, 14x14x32 -> 64:    im2col + 1 GEMM 7.2 | 25 tap GEMMs 6.4 | kh row-strip
                                GEMMs 5.9 | tensordot on the view 10.3 | einsum 10.4
    forward, 28x28x1 -> 32:     im2col + 1 GEMM 1.0 | 25 tap GEMMs 33 | row-strip 11
    backprop input, 14x14x32:   tap GEMMs + scatter 6.8 | im2col GEMM + col2im 11.6 |
                                transposed conv (flipped filter) 12.9
    backprop input, 28x28x1:    tap GEMMs 1.9 | col2im 1.7 | transposed conv 13.0
    backprop filter, 14x14x32:  im2col^T @ dy 8.8 | tap GEMMs 13.9 | tensordot 12.8

Chunking (CPU ms on one BLAS thread, batch 50; the patch matrix built and multiplied
4 MB at a time against all at once): 14x14x32 -> 5x5x64 forward 8.2 -> 5.4 and filter
gradient 8.5 -> 5.6; 56x56x64 -> 3x3x64 forward 109 -> 72; 28x28x1 -> 5x5x32 and
7x7x256 -> 3x3x256 unchanged (1.1, 14.8 -> 14.5). 0.5-8 MB chunks all measured within
10% of each other; the input gradient built as one patch-gradient product per chunk
plus col2im was no faster than the tap loop (8.6 vs 8.3). The tap loop itself, run
over 1 MB of ``dy`` and ``dx`` at a time: 14x14x64 -> 5x5x32 9.7 -> 7.4, 28x28x32 -> 5x5x32
26.4 -> 18.2, 56x56x64 -> 3x3x64 115 -> 77, 7x7x256 -> 3x3x256 14.1 -> 14.5 (0.25-2 MB
chunks within 10% of each other; 4 MB lost most of the gain).

Tap and row-strip forwards win by up to 20% where channels are many but lose by 2-30x
where they are few, and on 3x3/64-channel layers they trade places from run to run, so
the forward and filter gradient keep the single GEMM. Depthwise variants (32x56x56x64,
3x3, multiplier 1 / 50x28x28x8, 5x5, multiplier 2): forward einsum on the window view
20 / 28 ms against per-tap broadcasting 47 / 47 and a per-channel batched GEMM 172 / 8;
filter gradient einsum 11 / 23 against batched GEMM 121 / 7; input gradient per-tap
einsum + scatter 29 / 30 against one einsum over the padded ``dy`` 22 / 59. The einsum
forms are best or within 1.3x of it at multiplier 1 (the common case) and within 3.5x
above it, where the batched GEMMs that win there are 6-9x slower at multiplier 1.
"""
from numflow.framework import errors
from numflow.kernels.xp import sliding_window_view


def conv_output_size_and_padding(in_size, k, stride, dilation, padding):
    """One spatial dimension of a windowed op: output size and the padding TF applies.

    TF's rule (``GetWindowedOutputSizeVerbose``): with the effective window
    ``ke = (k - 1) * dilation + 1``, ``"VALID"`` gives ``ceil((in - ke + 1) / stride)``
    outputs and no padding; ``"SAME"`` gives ``ceil(in / stride)`` outputs and pads
    ``max((out - 1) * stride + ke - in, 0)`` in total, the smaller half before; an
    explicit ``(before, after)`` pair pads as given, then counts as ``"VALID"``.

    Args:
      in_size: input length along the dimension.
      k: window (filter) length.
      stride: step between windows, >= 1.
      dilation: spacing between window taps, >= 1.
      padding: ``"SAME"``, ``"VALID"`` or a ``(before, after)`` pair.

    Returns:
      ``(out_size, pad_before, pad_after)``.

    Raises:
      InvalidArgumentError: on a non-positive stride or dilation, negative explicit
        padding, or a window so much larger than the (padded) input that TF's output
        size ``(in + pads - ke + stride) / stride`` (C++ division) is negative.
    """
    if stride < 1:
        raise errors.InvalidArgumentError(None, None, f"Stride must be > 0, but got {stride}")
    if dilation < 1:
        raise errors.InvalidArgumentError(
            None, None, f"Dilation rate must be >= 1, but got {dilation}")
    ke = (k - 1) * dilation + 1
    if padding == "SAME":
        out = -(-in_size // stride)
        total = max((out - 1) * stride + ke - in_size, 0)
        return out, total // 2, total - total // 2
    if padding == "VALID":
        before = after = 0
    elif isinstance(padding, str):
        raise errors.InvalidArgumentError(
            None, None, f"Unknown padding {padding!r}: expected 'SAME', 'VALID' or pairs")
    else:
        before, after = (int(p) for p in padding)
        if before < 0 or after < 0:
            raise errors.InvalidArgumentError(
                None, None, f"Explicit padding must be non-negative, got {padding!r}")
    # TF divides with C++ truncation, so a window up to stride - 1 longer than the
    # padded input gives an empty output instead of an error.
    num = in_size + before + after - ke + stride
    out = num // stride if num >= 0 else -(-num // stride)
    if out < 0:
        raise errors.InvalidArgumentError(
            None, None, f"Computed output size would be negative: {out} [input_size: "
            f"{in_size}, effective_filter_size: {ke}, stride: {stride}]")
    return out, before, after


def _geometry(in_hw, k_hw, strides, padding, dilations):
    """``[(out, before, after)]`` for height and width."""
    pads = (padding, padding) if isinstance(padding, str) else tuple(padding)
    if len(pads) != 2:
        raise errors.InvalidArgumentError(
            None, None, f"Explicit padding needs ((top, bottom), (left, right)), got {padding!r}")
    return [conv_output_size_and_padding(in_hw[a], k_hw[a], strides[a], dilations[a], pads[a])
            for a in range(2)]


def _pad(xp, x, geom):
    """``x`` (NHWC) with the geometry's zero padding on H and W."""
    (_, top, bottom), (_, left, right) = geom
    if not (top or bottom or left or right):
        return x
    n, h, w, c = x.shape
    out = xp.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
    out[:, top:top + h, left:left + w] = x
    return out


def _windows(xp, x_padded, k_hw, geom, strides, dilations):
    """View ``[N, out_h, out_w, C, kh, kw]`` of every window, taps dilated and strided."""
    (kh, kw), (dh, dw), (sh, sw) = k_hw, dilations, strides
    ke = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    if x_padded.shape[1] < ke[0] or x_padded.shape[2] < ke[1]:
        n, c = x_padded.shape[0], x_padded.shape[3]
        return xp.zeros((n, geom[0][0], geom[1][0], c, kh, kw), dtype=x_padded.dtype)
    view = sliding_window_view(xp, x_padded, ke, axis=(1, 2))
    return view[:, :geom[0][0] * sh:sh, :geom[1][0] * sw:sw, :, ::dh, ::dw]


def _tap(i, j, geom, strides, dilations):
    """Index of the padded-input elements that filter tap (i, j) meets, one per output."""
    return (slice(None),) + tuple(
        slice(start, start + out * step, step)
        for start, (out, _, _), step in zip((i * dilations[0], j * dilations[1]), geom, strides))


def _unpad(xp, x_padded, geom, in_hw):
    """The unpadded NHWC region of ``x_padded``, contiguous."""
    (_, top, _), (_, left, _) = geom
    return xp.ascontiguousarray(x_padded[:, top:top + in_hw[0], left:left + in_hw[1]])


CHUNK_BYTES = 4 << 20
"""Patch matrices are built this many bytes (whole images) at a time, each multiplied
while it is still in the CPU cache (see the module docstring)."""


TAP_CHUNK_BYTES = 1 << 20
"""The input gradient runs its tap loop over this many bytes of ``dy`` and ``dx`` (whole
images) at a time."""


def _images_per_piece(n, budget, bytes_per_image):
    """How many whole images fit ``budget`` bytes (at least one, at most ``n``)."""
    return max(1, min(n, budget // max(1, bytes_per_image)))


def _pieces(n, per):
    """Consecutive ``(first, last)`` image ranges of ``per`` images covering ``range(n)``."""
    return [(first, min(first + per, n)) for first in range(0, n, per)]


class _Patches:
    """The ``[N*out_h*out_w, kh*kw*C]`` im2col matrix of ``x`` (columns ordered (i, j, c)),
    built a few whole images at a time: ``rows`` patch rows per image, ``per`` images per
    piece."""

    def __init__(self, xp, x, k_hw, geom, strides, dilations):
        self.xp, self.k_hw, self.c = xp, tuple(k_hw), x.shape[3]
        self.out_hw = (geom[0][0], geom[1][0])
        self.rows = self.out_hw[0] * self.out_hw[1]
        self.width = k_hw[0] * k_hw[1] * self.c
        win = _windows(xp, _pad(xp, x, geom), k_hw, geom, strides, dilations)
        self.windows = win.transpose(0, 1, 2, 4, 5, 3)
        self.per = _images_per_piece(x.shape[0], CHUNK_BYTES,
                                     self.rows * self.width * x.dtype.itemsize)
        self.buffer = xp.empty((self.per * self.rows, self.width), dtype=x.dtype)

    def of(self, first, last):
        """The contiguous patch rows of images ``first:last`` (at most ``per`` images), in
        a buffer that the next call overwrites."""
        cols = self.buffer[:(last - first) * self.rows]
        self.xp.copyto(cols.reshape((last - first,) + self.out_hw + self.k_hw + (self.c,)),
                       self.windows[first:last])
        return cols


def _check_ranks(x_shape, w_shape, what):
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise errors.InvalidArgumentError(
            None, None, f"{what}: input and filter must be 4-D, got shapes "
            f"{tuple(x_shape)} and {tuple(w_shape)}")


def _check(x_shape, w_shape, what):
    _check_ranks(x_shape, w_shape, what)
    if w_shape[2] == 0 or x_shape[3] % w_shape[2]:
        raise errors.InvalidArgumentError(
            None, None, f"{what}: input depth must be evenly divisible by filter depth: "
            f"{x_shape[3]} vs {w_shape[2]}")
    if x_shape[3] != w_shape[2]:
        raise errors.UnimplementedError(
            None, None, f"{what}: grouped convolution (input depth {x_shape[3]}, filter "
            f"depth {w_shape[2]}) is not supported")


def _check_depthwise(x_shape, w_shape, what):
    _check_ranks(x_shape, w_shape, what)
    if x_shape[3] != w_shape[2]:
        raise errors.InvalidArgumentError(
            None, None, f"{what}: input and filter must have the same depth: "
            f"{x_shape[3]} vs {w_shape[2]}")


def _check_dy(dy_shape, expected, what):
    if tuple(dy_shape) != tuple(expected):
        raise errors.InvalidArgumentError(
            None, None, f"{what}: out_backprop has shape {tuple(dy_shape)}, but the "
            f"computed output shape is {tuple(expected)}")


def conv2d(xp, x, w, strides=(1, 1), padding="SAME", dilations=(1, 1), epilogue=None):
    """``tf.nn.conv2d``: ``out[n, y, x, o] = sum_{i, j, c} in[n, y*sh + i*dh - top,
    x*sw + j*dw - left, c] * w[i, j, c, o]`` (zero outside the input).

    Args:
      xp: the array module.
      x: input ``[N, H, W, C]``.
      w: filter ``[kh, kw, C, O]``.
      strides: ``(sh, sw)``.
      padding: ``"SAME"``, ``"VALID"`` or ``((top, bottom), (left, right))``.
      dilations: ``(dh, dw)``.
      epilogue: optional ``f(rows)`` run on each piece of the output (a ``[rows, O]``
        array the caller may overwrite) right after it is computed, while it is in the
        cache: how a fused bias and activation is applied.

    Returns:
      ``[N, out_h, out_w, O]`` in the input's dtype.

    Raises:
      InvalidArgumentError: bad ranks, channel mismatch, or see
        :func:`conv_output_size_and_padding`.
      UnimplementedError: for grouped convolution (input depth a multiple of the
        filter's), which TF's CPU kernel allows.
    """
    _check(x.shape, w.shape, "Conv2D")
    k_hw = w.shape[:2]
    geom = _geometry(x.shape[1:3], k_hw, strides, padding, dilations)
    w2 = w.reshape(-1, w.shape[3]).astype(x.dtype, copy=False)
    out = xp.empty((x.shape[0], geom[0][0], geom[1][0], w.shape[3]), dtype=x.dtype)
    out_rows = out.reshape(-1, w.shape[3])
    patches = _Patches(xp, x, k_hw, geom, strides, dilations)
    rows = patches.rows
    for first, last in _pieces(x.shape[0], patches.per):
        part = out_rows[first * rows:last * rows]
        xp.matmul(patches.of(first, last), w2, out=part)
        if epilogue is not None:
            epilogue(part)
    return out


def conv2d_backprop_input(xp, w, dy, input_shape, strides=(1, 1), padding="SAME",
                          dilations=(1, 1)):
    """``Conv2DBackpropInput``: the gradient of :func:`conv2d` with respect to its input.

    This is also ``tf.nn.conv2d_transpose`` (with ``dy`` the transposed conv's input and
    ``input_shape`` its ``output_shape``); the op layer wires both names here.

    Args:
      xp: the array module.
      w: filter ``[kh, kw, C, O]``.
      dy: gradient of the conv output ``[N, out_h, out_w, O]``.
      input_shape: ``(N, H, W, C)`` of the conv input.
      strides, padding, dilations: as for :func:`conv2d`.

    Returns:
      ``[N, H, W, C]`` in ``dy``'s dtype.

    Raises:
      InvalidArgumentError: if ``dy``'s shape is not the conv output shape.
    """
    n, h, wd, c = (int(d) for d in input_shape)
    _check(input_shape, w.shape, "Conv2DBackpropInput")
    kh, kw, _, o = w.shape
    geom = _geometry((h, wd), (kh, kw), strides, padding, dilations)
    (oh, top, bottom), (ow, left, right) = geom
    _check_dy(dy.shape, (n, oh, ow, o), "Conv2DBackpropInput")
    dx = xp.zeros((n, h + top + bottom, wd + left + right, c), dtype=dy.dtype)
    rows = oh * ow
    dy2 = dy.reshape(-1, o)
    wt = w.astype(dy.dtype, copy=False).transpose(0, 1, 3, 2)
    taps = [((i, j), _tap(i, j, geom, strides, dilations)) for i in range(kh) for j in range(kw)]
    per = _images_per_piece(n, TAP_CHUNK_BYTES, rows * (o + c) * dy.itemsize)
    buffer = xp.empty((per * rows, c), dtype=dy.dtype)
    for first, last in _pieces(n, per):
        dy_chunk, dx_chunk = dy2[first * rows:last * rows], dx[first:last]
        part = buffer[:dy_chunk.shape[0]]
        part4 = part.reshape(last - first, oh, ow, c)
        for (i, j), where in taps:
            xp.matmul(dy_chunk, wt[i, j], out=part)
            dx_chunk[where] += part4
    return _unpad(xp, dx, geom, (h, wd))


def conv2d_backprop_filter(xp, x, dy, filter_shape, strides=(1, 1), padding="SAME",
                           dilations=(1, 1)):
    """``Conv2DBackpropFilter``: the gradient of :func:`conv2d` with respect to its filter.

    Args:
      xp: the array module.
      x: conv input ``[N, H, W, C]``.
      dy: gradient of the conv output ``[N, out_h, out_w, O]``.
      filter_shape: ``(kh, kw, C, O)``.
      strides, padding, dilations: as for :func:`conv2d`.

    Returns:
      ``[kh, kw, C, O]`` in ``x``'s dtype.

    Raises:
      InvalidArgumentError: if ``dy``'s shape is not the conv output shape.
    """
    kh, kw, c, o = (int(d) for d in filter_shape)
    _check(x.shape, filter_shape, "Conv2DBackpropFilter")
    geom = _geometry(x.shape[1:3], (kh, kw), strides, padding, dilations)
    _check_dy(dy.shape, (x.shape[0], geom[0][0], geom[1][0], o), "Conv2DBackpropFilter")
    dy2 = dy.reshape(-1, o).astype(x.dtype, copy=False)
    patches = _Patches(xp, x, (kh, kw), geom, strides, dilations)
    rows = patches.rows
    dw = xp.zeros((kh * kw * c, o), dtype=x.dtype)
    part = xp.empty_like(dw)
    for first, last in _pieces(x.shape[0], patches.per):
        xp.matmul(patches.of(first, last).T, dy2[first * rows:last * rows], out=part)
        dw += part
    return dw.reshape(kh, kw, c, o)


def depthwise_conv2d(xp, x, w, strides=(1, 1), padding="SAME", dilations=(1, 1)):
    """``tf.nn.depthwise_conv2d_native``: each input channel gets its own filters.

    ``out[n, y, x, c*M + m] = sum_{i, j} in[n, y*sh + i*dh - top, x*sw + j*dw - left, c]
    * w[i, j, c, m]``.

    Args:
      xp: the array module.
      x: input ``[N, H, W, C]``.
      w: filter ``[kh, kw, C, M]`` (M is the channel multiplier).
      strides, padding, dilations: as for :func:`conv2d`.

    Returns:
      ``[N, out_h, out_w, C*M]`` in the input's dtype.
    """
    _check_depthwise(x.shape, w.shape, "DepthwiseConv2dNative")
    k_hw = w.shape[:2]
    geom = _geometry(x.shape[1:3], k_hw, strides, padding, dilations)
    win = _windows(xp, _pad(xp, x, geom), k_hw, geom, strides, dilations)
    out = xp.einsum("nhwcij,ijcm->nhwcm", win, w.astype(x.dtype, copy=False))
    return out.reshape(x.shape[0], geom[0][0], geom[1][0], w.shape[2] * w.shape[3])


def depthwise_conv2d_backprop_input(xp, w, dy, input_shape, strides=(1, 1), padding="SAME",
                                    dilations=(1, 1)):
    """``DepthwiseConv2dNativeBackpropInput``: gradient of :func:`depthwise_conv2d`
    with respect to its input.

    Args:
      xp: the array module.
      w: filter ``[kh, kw, C, M]``.
      dy: ``[N, out_h, out_w, C*M]``.
      input_shape: ``(N, H, W, C)``.
      strides, padding, dilations: as for :func:`conv2d`.

    Returns:
      ``[N, H, W, C]`` in ``dy``'s dtype.
    """
    n, h, wd, c = (int(d) for d in input_shape)
    _check_depthwise(input_shape, w.shape, "DepthwiseConv2dNativeBackpropInput")
    kh, kw, _, m = w.shape
    geom = _geometry((h, wd), (kh, kw), strides, padding, dilations)
    (oh, top, bottom), (ow, left, right) = geom
    _check_dy(dy.shape, (n, oh, ow, c * m), "DepthwiseConv2dNativeBackpropInput")
    dx = xp.zeros((n, h + top + bottom, wd + left + right, c), dtype=dy.dtype)
    dy5 = dy.reshape(n, oh, ow, c, m)
    w = w.astype(dy.dtype, copy=False)
    part = xp.empty((n, oh, ow, c), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            xp.einsum("nhwcm,cm->nhwc", dy5, w[i, j], out=part)
            dx[_tap(i, j, geom, strides, dilations)] += part
    return _unpad(xp, dx, geom, (h, wd))


def depthwise_conv2d_backprop_filter(xp, x, dy, filter_shape, strides=(1, 1), padding="SAME",
                                     dilations=(1, 1)):
    """``DepthwiseConv2dNativeBackpropFilter``: gradient of :func:`depthwise_conv2d`
    with respect to its filter.

    Args:
      xp: the array module.
      x: input ``[N, H, W, C]``.
      dy: ``[N, out_h, out_w, C*M]``.
      filter_shape: ``(kh, kw, C, M)``.
      strides, padding, dilations: as for :func:`conv2d`.

    Returns:
      ``[kh, kw, C, M]`` in ``x``'s dtype.
    """
    kh, kw, c, m = (int(d) for d in filter_shape)
    _check_depthwise(x.shape, filter_shape, "DepthwiseConv2dNativeBackpropFilter")
    geom = _geometry(x.shape[1:3], (kh, kw), strides, padding, dilations)
    (oh, _, _), (ow, _, _) = geom
    _check_dy(dy.shape, (x.shape[0], oh, ow, c * m), "DepthwiseConv2dNativeBackpropFilter")
    win = _windows(xp, _pad(xp, x, geom), (kh, kw), geom, strides, dilations)
    dy5 = dy.reshape(x.shape[0], oh, ow, c, m).astype(x.dtype, copy=False)
    return xp.einsum("nhwcij,nhwcm->ijcm", win, dy5)
