"""Spatial reshaping layers (``tf.keras.layers.UpSampling1D/2D/3D``, ``ZeroPadding1D/2D/3D``,
``Cropping1D/2D/3D``), written with numflow's public array ops.

Nearest-neighbour up-sampling repeats each element with one tile and one reshape per axis;
bilinear up-sampling (half-pixel centres, as ``tf.image.resize``) is two gathers and a
weighted sum per axis.
"""
import numpy as np

import numflow as tf
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec
from numflow.keras.layers.conv_utils import normalize_data_format, normalize_tuple
from numflow.ops import array_gather, array_manip

__all__ = [
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
    "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D"
]


def _spatial_axes(rank, data_format):
    return list(range(2, rank + 2)) if data_format == "channels_first" else \
        list(range(1, rank + 1))


def _repeat(x, repeats, axis):
    """Repeats every element ``repeats`` times along ``axis`` (``np.repeat``)."""
    if repeats == 1:
        return x
    rank = x.shape.rank
    y = array_manip.expand_dims(x, axis + 1)
    multiples = [1] * (rank + 1)
    multiples[axis + 1] = repeats
    y = array_manip.tile(y, multiples)
    static = x.shape.as_list()
    if all(d is not None for d in static[1:]):
        new = [-1] + static[1:]
        new[axis] = static[axis] * repeats
        return tf.reshape(y, new)
    shape = tf.shape(x)
    new = [shape[i] for i in range(rank)]
    new[axis] = shape[axis] * repeats
    return tf.reshape(y, tf.stack(new))


def resize_axis(x, size, axis, interpolation="bilinear"):
    """Resizes axis ``axis`` of ``x`` to ``size`` as ``tf.image.resize`` does (half-pixel
    centres, no antialiasing): ``"bilinear"`` is two gathers and a weighted sum,
    ``"nearest"`` one gather. The source positions are computed in NumPy for a static
    input size, with numflow ops at run time otherwise."""
    n = x.shape[axis]
    if n == size:
        return x
    dst = np.arange(size, dtype=np.float64) + 0.5
    if n is not None:
        src = dst * (n / size)
        if interpolation == "nearest":
            idx = np.minimum(np.floor(src), n - 1).astype(np.int32)
            return array_gather.gather(x, idx, axis=axis)
        src = np.clip(src - 0.5, 0, n - 1)
        lo = np.floor(src).astype(np.int32)
        hi = np.minimum(lo + 1, n - 1)
        frac = tf.constant((src - lo).astype(x.dtype.as_numpy_dtype))
    else:
        n_t = tf.cast(tf.shape(x)[axis], tf.float32)
        last = n_t - 1
        src = tf.constant(dst.astype(np.float32)) * (n_t / size)
        if interpolation == "nearest":
            idx = tf.cast(tf.minimum(tf.floor(src), last), tf.int32)
            return array_gather.gather(x, idx, axis=axis)
        src = tf.minimum(tf.maximum(src - 0.5, 0.0), last)
        lo_f = tf.floor(src)
        lo = tf.cast(lo_f, tf.int32)
        hi = tf.cast(tf.minimum(lo_f + 1, last), tf.int32)
        frac = tf.cast(src - lo_f, x.dtype)
    shape = [1] * x.shape.rank
    shape[axis] = size
    w = tf.reshape(frac, shape)
    a = array_gather.gather(x, lo, axis=axis)
    b = array_gather.gather(x, hi, axis=axis)
    return a + (b - a) * w


def _upsample_bilinear(x, scale, axis):
    n = x.shape[axis]
    if n is None:
        raise ValueError(f"Bilinear up-sampling needs static spatial sizes, got {x.shape}")
    return resize_axis(x, n * scale, axis)


class _UpSampling(Layer):
    def __init__(self, rank, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.size = normalize_tuple(size, rank, "size")
        self.data_format = normalize_data_format(data_format) if rank > 1 else "channels_last"
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"`interpolation` argument should be one of: 'nearest', "
                             f"'bilinear'. Received: '{interpolation}'.")
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        y = inputs
        for axis, s in zip(_spatial_axes(self.rank, self.data_format), self.size):
            y = _repeat(y, s, axis) if self.interpolation == "nearest" else \
                _upsample_bilinear(y, s, axis)
        if not tf.executing_eagerly():
            y.set_shape(self.compute_output_shape(inputs.shape))
        return y

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        for axis, s in zip(_spatial_axes(self.rank, self.data_format), self.size):
            dims[axis] = None if dims[axis] is None else dims[axis] * s
        return tf.TensorShape(dims)

    def get_config(self):
        config = super().get_config()
        if self.rank == 1:
            config["size"] = self.size[0]
        else:
            config.update({"size": self.size, "data_format": self.data_format})
        if self.rank == 2:
            config["interpolation"] = self.interpolation
        return config


class UpSampling1D(_UpSampling):
    """Repeats each step ``size`` times (``keras.layers.UpSampling1D(size=2)``):
    ``[batch, steps, features]`` -> ``[batch, steps * size, features]``."""

    def __init__(self, size=2, **kwargs):
        super().__init__(1, size, **kwargs)


class UpSampling2D(_UpSampling):
    """Up-samples images by repeating rows and columns
    (``keras.layers.UpSampling2D(size=(2, 2), data_format=None, interpolation='nearest')``).

    Args:
      size: an int or 2 ints, the factors for rows and columns.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      interpolation: ``"nearest"`` (repeat) or ``"bilinear"`` (``tf.image.resize``'s
        half-pixel bilinear rule).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(2, size, data_format, interpolation, **kwargs)


class UpSampling3D(_UpSampling):
    """Repeats the three spatial axes (``keras.layers.UpSampling3D(size=(2, 2, 2),
    data_format=None)``)."""

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(3, size, data_format, **kwargs)


def _pairs(value, rank, name):
    """Keras's padding/cropping argument -> ``rank`` ``(before, after)`` pairs."""
    if isinstance(value, int):
        return ((value, value),) * rank
    value = tuple(value)
    if rank == 1:
        if len(value) != 2:
            raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
        return (tuple(int(v) for v in value),)
    if len(value) != rank:
        raise ValueError(f"`{name}` should have {rank} elements. Received: {name}={value}.")
    pairs = []
    for v in value:
        pairs.append((int(v), int(v)) if isinstance(v, int) else
                     normalize_tuple(v, 2, f"{name} entry", allow_zero=True))
    return tuple(pairs)


class _ZeroPadding(Layer):
    def __init__(self, rank, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.padding = _pairs(padding, rank, "padding")
        if any(p < 0 for pair in self.padding for p in pair):
            raise ValueError(f"`padding` should not be negative. Received: padding={padding}")
        self.data_format = normalize_data_format(data_format) if rank > 1 else "channels_last"
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        pads = [[0, 0]] * (self.rank + 2)
        for axis, pair in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            pads[axis] = list(pair)
        return array_manip.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.padding):
            dims[axis] = None if dims[axis] is None else dims[axis] + a + b
        return tf.TensorShape(dims)

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding[0] if self.rank == 1 else self.padding
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class ZeroPadding1D(_ZeroPadding):
    """Pads steps with zeros (``keras.layers.ZeroPadding1D(padding=1)``); ``padding`` is
    an int or a ``(left, right)`` pair."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(1, padding, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Pads rows and columns with zeros (``keras.layers.ZeroPadding2D(padding=(1, 1),
    data_format=None)``).

    ``padding``: an int (all sides), ``(rows, cols)`` (symmetric) or
    ``((top, bottom), (left, right))``.
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(2, padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pads the three spatial axes with zeros (``keras.layers.ZeroPadding3D(
    padding=((1, 1), (1, 1), (1, 1)), data_format=None)``)."""

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(3, padding, data_format, **kwargs)


class _Cropping(Layer):
    def __init__(self, rank, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.cropping = _pairs(cropping, rank, "cropping")
        if any(p < 0 for pair in self.cropping for p in pair):
            raise ValueError(f"`cropping` should not be negative. Received: "
                             f"cropping={cropping}")
        self.data_format = normalize_data_format(data_format) if rank > 1 else "channels_last"
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, inputs):
        index = [slice(None)] * (self.rank + 2)
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            size = inputs.shape[axis]
            if size is not None and a + b >= size:
                raise ValueError(f"Values in `cropping` argument should be smaller than the "
                                 f"corresponding spatial dimension of the input. Received: "
                                 f"inputs.shape={inputs.shape}, cropping={self.cropping}")
            index[axis] = slice(a, -b if b else None)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        for axis, (a, b) in zip(_spatial_axes(self.rank, self.data_format), self.cropping):
            dims[axis] = None if dims[axis] is None else dims[axis] - a - b
        return tf.TensorShape(dims)

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping[0] if self.rank == 1 else self.cropping
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class Cropping1D(_Cropping):
    """Crops steps (``keras.layers.Cropping1D(cropping=(1, 1))``): ``cropping`` is an int or
    a ``(start, end)`` pair of steps removed."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(1, cropping, **kwargs)


class Cropping2D(_Cropping):
    """Crops rows and columns (``keras.layers.Cropping2D(cropping=((0, 0), (0, 0)),
    data_format=None)``): ``cropping`` is an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(2, cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crops the three spatial axes (``keras.layers.Cropping3D(
    cropping=((1, 1), (1, 1), (1, 1)), data_format=None)``)."""

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(3, cropping, data_format, **kwargs)
