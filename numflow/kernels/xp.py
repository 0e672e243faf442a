"""Helpers that reach array-module features the same way for NumPy and CuPy."""


def sliding_window_view(xp, a, window_shape, axis):
    """A read-only strided view of every window of ``a`` (no copy).

    Args:
      xp: the array module (``numpy``; ``cupy`` has the same submodule).
      a: the array.
      window_shape: window length per axis in ``axis``.
      axis: the axes the windows slide along.

    Returns:
      A view whose leading axes are the window positions and whose trailing
      ``len(axis)`` axes index inside each window.
    """
    return xp.lib.stride_tricks.sliding_window_view(a, window_shape, axis=axis)
