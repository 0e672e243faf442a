"""Preprocessing layers (``tf.keras.layers.Rescaling``, ``Normalization``, ``Resizing``,
``CenterCrop``).

``Normalization.adapt(data)`` computes the feature-wise mean and variance of a NumPy
array, a tensor, a ``tf.data`` dataset or any iterable of batches, combining batches with
Chan's parallel formula in float64, and stores them in the layer's non-trainable
``mean``/``variance``/``count`` weights (Keras 3's names and order).
"""
import numpy as np

import numflow as tf
from numflow.keras import backend
from numflow.keras.engine.base_layer import Layer
from numflow.keras.layers.conv_utils import normalize_data_format
from numflow.keras.layers.reshaping import resize_axis

__all__ = ["Rescaling", "Normalization", "Resizing", "CenterCrop"]


def _to_list(value):
    if value is None:
        return None
    return np.asarray(value).tolist()


class Rescaling(Layer):
    """Multiplies by ``scale`` and adds ``offset`` (``keras.layers.Rescaling(scale,
    offset=0.0)``); e.g. ``Rescaling(1. / 255)`` maps ``[0, 255]`` pixels to ``[0, 1]``.
    Integer inputs are cast to the layer's float dtype first."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        x = tf.cast(inputs, self.dtype) if inputs.dtype.base_dtype.name != self.dtype else \
            inputs
        scale = tf.constant(np.asarray(self.scale, dtype=self.dtype))
        offset = tf.constant(np.asarray(self.offset, dtype=self.dtype))
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        scale = self.scale if np.ndim(self.scale) == 0 else _to_list(self.scale)
        offset = self.offset if np.ndim(self.offset) == 0 else _to_list(self.offset)
        config.update({"scale": float(scale) if np.ndim(scale) == 0 else scale,
                       "offset": float(offset) if np.ndim(offset) == 0 else offset})
        return config


def _batches(data):
    """NumPy batches from an array, a tensor, a dataset or an iterable."""
    if isinstance(data, np.ndarray) or tf.is_tensor(data):
        yield np.asarray(data)
        return
    for batch in data:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        yield np.asarray(batch)


class Normalization(Layer):
    """Feature-wise standardization ``(x - mean) / sqrt(variance)``
    (``keras.layers.Normalization(axis=-1, mean=None, variance=None, invert=False)``).

    Args:
      axis: the axis (or axes) that keep separate statistics (None: one statistic for
        all); the other axes are reduced in ``adapt``.
      mean, variance: fixed statistics (broadcast to the kept axes); otherwise call
        ``adapt(data)``.
      invert: apply the inverse transformation ``x * sqrt(variance) + mean``.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        self.axis = tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True

    def build(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        ndim = len(dims)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if dims[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={tuple(dims)}, with "
                                 f"unknown axis at index {d}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = [dims[d] if d in self._keep_axis else 1 for d in range(ndim)]
        shape = tuple(dims[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64",
                                         initializer="zeros", trainable=False)
        self.built = True

    def _stats(self, dtype):
        if self.input_mean is not None:
            mean = np.broadcast_to(np.asarray(self.input_mean, np.float64),
                                   self._broadcast_shape) if np.ndim(self.input_mean) == 0 \
                else np.reshape(np.asarray(self.input_mean, np.float64), self._broadcast_shape)
            var = np.broadcast_to(np.asarray(self.input_variance, np.float64),
                                  self._broadcast_shape) if np.ndim(self.input_variance) == 0 \
                else np.reshape(np.asarray(self.input_variance, np.float64),
                                self._broadcast_shape)
            return (tf.constant(mean.astype(dtype.as_numpy_dtype)),
                    tf.constant(var.astype(dtype.as_numpy_dtype)))
        return (tf.reshape(tf.cast(self.adapt_mean, dtype), self._broadcast_shape),
                tf.reshape(tf.cast(self.adapt_variance, dtype), self._broadcast_shape))

    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of ``data`` over the reduced axes.

        Args:
          data: a NumPy array, a tensor, a ``tf.data.Dataset`` (of batches, or of
            ``(x, y)`` pairs whose ``x`` is used) or an iterable of batches.
          batch_size, steps: accepted for Keras compatibility (arrays are read whole;
            ``steps`` limits the number of batches read from an iterable).
        """
        total, mean, m2 = 0, None, None
        for i, batch in enumerate(_batches(data)):
            if steps is not None and i >= steps:
                break
            batch = np.asarray(batch, np.float64)
            if not self.built:
                self._maybe_build(tf.convert_to_tensor(batch.astype(np.float32)))
            if self.input_mean is not None:
                raise ValueError("Cannot adapt a Normalization layer created with fixed "
                                 "`mean` and `variance`.")
            n = int(np.prod([batch.shape[a] for a in self._reduce_axis]))
            b_mean = batch.mean(axis=self._reduce_axis)
            b_m2 = ((batch - batch.mean(axis=self._reduce_axis, keepdims=True)) ** 2).sum(
                axis=self._reduce_axis)
            if mean is None:
                total, mean, m2 = n, b_mean, b_m2
                continue
            delta = b_mean - mean
            new_total = total + n
            mean = mean + delta * n / new_total
            m2 = m2 + b_m2 + delta ** 2 * total * n / new_total
            total = new_total
        if mean is None:
            raise ValueError("`adapt` received no data.")
        self.adapt_mean.assign(mean.astype(self.adapt_mean.dtype.as_numpy_dtype))
        self.adapt_variance.assign((m2 / total).astype(self.adapt_variance.dtype.as_numpy_dtype))
        self.count.assign(np.int64(total))

    def call(self, inputs):
        x = tf.cast(inputs, self.dtype) if inputs.dtype.base_dtype.name != self.dtype else \
            inputs
        mean, var = self._stats(x.dtype.base_dtype)
        std = tf.maximum(tf.sqrt(var), backend.epsilon())
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert,
                       "mean": _to_list(self.input_mean),
                       "variance": _to_list(self.input_variance)})
        return config


def _crop_box(h, w, th, tw):
    """Keras's centred crop with the target aspect ratio: ``(top, left, height, width)``."""
    ch = min(h, int(float(w * th) / tw))
    cw = min(w, int(float(h * tw) / th))
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


class Resizing(Layer):
    """Resizes images to ``(height, width)`` (``keras.layers.Resizing(height, width,
    interpolation='bilinear', crop_to_aspect_ratio=False, data_format=None)``), as
    ``tf.image.resize`` with half-pixel centres and no antialiasing.

    Args:
      height, width: the output size.
      interpolation: ``"bilinear"`` or ``"nearest"``.
      crop_to_aspect_ratio: first crop the largest centred window with the target aspect
        ratio, so the image is not distorted.
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Inputs are ``[batch, h, w, c]`` or one image ``[h, w, c]``; ``crop_to_aspect_ratio``
    needs static ``h`` and ``w``.
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"numflow's Resizing supports interpolation 'bilinear' and "
                             f"'nearest'; received interpolation={interpolation!r}")
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` or `crop_to_aspect_ratio` can "
                             "be `True`.")
        if pad_to_aspect_ratio or antialias:
            raise NotImplementedError("Resizing(pad_to_aspect_ratio=True) and antialias=True "
                                      "are not supported by numflow")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = False
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, False
        self.data_format = normalize_data_format(data_format)

    def _axes(self, rank):
        return (rank - 2, rank - 1) if self.data_format == "channels_first" else \
            (rank - 3, rank - 2)

    def call(self, inputs):
        x = tf.cast(inputs, self.dtype) if inputs.dtype.base_dtype.name != self.dtype else \
            inputs
        ha, wa = self._axes(x.shape.rank)
        if self.crop_to_aspect_ratio:
            if x.shape[ha] is None or x.shape[wa] is None:
                raise ValueError(f"Resizing(crop_to_aspect_ratio=True) needs static image "
                                 f"sizes, got {x.shape}")
            top, left, ch, cw = _crop_box(x.shape[ha], x.shape[wa], self.height, self.width)
            index = [slice(None)] * x.shape.rank
            index[ha], index[wa] = slice(top, top + ch), slice(left, left + cw)
            x = x[tuple(index)]
        x = resize_axis(x, self.height, ha, self.interpolation)
        return resize_axis(x, self.width, wa, self.interpolation)

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        ha, wa = self._axes(len(dims))
        dims[ha], dims[wa] = self.height, self.width
        return tf.TensorShape(dims)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width,
                       "interpolation": self.interpolation,
                       "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                       "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
                       "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                       "antialias": self.antialias, "data_format": self.data_format})
        return config


class CenterCrop(Layer):
    """Crops the centre ``(height, width)`` of images (``keras.layers.CenterCrop(height,
    width, data_format=None)``); an image smaller than the target is first cropped to the
    target's aspect ratio and resized up (bilinear), as Keras does."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = normalize_data_format(data_format)

    def call(self, inputs):
        x = tf.cast(inputs, self.dtype) if inputs.dtype.base_dtype.name != self.dtype else \
            inputs
        rank = x.shape.rank
        ha, wa = (rank - 2, rank - 1) if self.data_format == "channels_first" else \
            (rank - 3, rank - 2)
        h, w = x.shape[ha], x.shape[wa]
        if h is None or w is None:
            raise ValueError(f"CenterCrop needs static image sizes, got {x.shape}")
        if h >= self.height and w >= self.width:
            top, left, ch, cw = (h - self.height) // 2, (w - self.width) // 2, self.height, \
                self.width
        else:
            top, left, ch, cw = _crop_box(h, w, self.height, self.width)
        index = [slice(None)] * rank
        index[ha], index[wa] = slice(top, top + ch), slice(left, left + cw)
        x = x[tuple(index)]
        x = resize_axis(x, self.height, ha)
        return resize_axis(x, self.width, wa)

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        rank = len(dims)
        ha, wa = (rank - 2, rank - 1) if self.data_format == "channels_first" else \
            (rank - 3, rank - 2)
        dims[ha], dims[wa] = self.height, self.width
        return tf.TensorShape(dims)

    def get_config(self):
        config = super().get_config()
        config.update({"height": self.height, "width": self.width,
                       "data_format": self.data_format})
        return config
