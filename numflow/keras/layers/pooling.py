"""Pooling layers (``tf.keras.layers.MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D``, the
global poolings and their ``MaxPool2D``-style aliases), written with ``tf.nn.max_pool`` /
``tf.nn.avg_pool`` and reductions.

3-D pooling pools height and width with one 2-D pooling op (depth folded into the batch)
and then reduces over the depth windows, which are strided slices: no Python loop runs
over pixels.
"""
import numflow as tf
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec
from numflow.keras.layers.conv_utils import (conv_output_length, normalize_data_format,
                                              normalize_padding, normalize_tuple)
from numflow.ops import array_gather, array_manip, reductions

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "MaxPool1D",
    "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D", "GlobalMaxPool1D",
    "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalAvgPool3D"
]


class Pooling(Layer):
    """N-D pooling base class.

    Args:
      pool_size: an int or tuple of ``rank`` ints, the window size.
      strides: an int or tuple, the step between windows (None: ``pool_size``).
      padding: ``"valid"`` or ``"same"`` (padding never wins a max and is not counted
        in an average).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    """

    _reduce = "max"

    def __init__(self, rank, pool_size, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_size = normalize_tuple(pool_size, rank, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _pool2d(self, x, ksize, strides):
        fn = tf.nn.max_pool2d if self._reduce == "max" else tf.nn.avg_pool2d
        return fn(x, ksize, strides, self.padding.upper(), data_format="NHWC")

    def call(self, inputs):
        x = inputs
        cf = self.data_format == "channels_first"
        if cf:
            x = array_manip.transpose(x, [0] + list(range(2, self.rank + 2)) + [1])
        if self.rank == 1:
            y = self._pool2d(array_manip.expand_dims(x, 1), (1,) + self.pool_size,
                             (1,) + self.strides)
            y = array_manip.squeeze(y, [1])
        elif self.rank == 2:
            y = self._pool2d(x, self.pool_size, self.strides)
        else:
            y = self._pool3d(x)
        if cf:
            y = array_manip.transpose(y, [0, self.rank + 1] + list(range(1, self.rank + 1)))
        if not tf.executing_eagerly():
            y.set_shape(self.compute_output_shape(inputs.shape))
        return y

    def _pool3d(self, x):
        depth = x.shape[1]
        if depth is None:
            raise ValueError(f"3-D pooling needs a static depth, got input shape {x.shape}")
        kd, sd = self.pool_size[0], self.strides[0]
        shape = tf.shape(x)
        flat = tf.reshape(x, tf.stack([-1, shape[2], shape[3], shape[4]]))
        y = self._pool2d(flat, self.pool_size[1:], self.strides[1:])
        ys = tf.shape(y)
        y = tf.reshape(y, tf.stack([shape[0], depth, ys[1], ys[2], ys[3]]))
        out_d = conv_output_length(depth, kd, self.padding, sd)
        if self.padding == "same":
            total = max((out_d - 1) * sd + kd - depth, 0)
            before = total // 2
        else:
            before = 0
        # window j covers depths [j*sd - before, j*sd - before + kd): one gather per tap;
        # a tap in the padding repeats an in-window depth (harmless for max, and given a
        # zero weight for the average, whose divisor counts real taps only)
        starts = [j * sd - before for j in range(out_d)]
        out, counts = None, [0] * out_d
        for i in range(kd):
            valid = [0 <= s + i < depth for s in starts]
            tap = array_gather.gather(y, [min(max(s + i, 0), depth - 1) for s in starts],
                                      axis=1)
            if self._reduce == "max":
                out = tap if out is None else tf.maximum(out, tap)
                continue
            if not all(valid):
                w = tf.constant([1.0 if v else 0.0 for v in valid], dtype=y.dtype)
                tap = tap * tf.reshape(w, [1, -1, 1, 1, 1])
            out = tap if out is None else out + tap
            counts = [c + int(v) for c, v in zip(counts, valid)]
        if self._reduce == "max":
            return out
        return out / tf.reshape(tf.constant(counts, dtype=y.dtype), [1, -1, 1, 1, 1])

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        axes = range(2, self.rank + 2) if self.data_format == "channels_first" else \
            range(1, self.rank + 1)
        for i, axis in enumerate(axes):
            dims[axis] = conv_output_length(dims[axis], self.pool_size[i], self.padding,
                                            self.strides[i])
        return tf.TensorShape(dims)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


def _pool_class(name, rank, reduce, doc):
    def init(self, pool_size=(2,) * rank if rank > 1 else 2, strides=None, padding="valid",
             data_format=None, **kwargs):
        Pooling.__init__(self, rank, pool_size, strides, padding, data_format, **kwargs)
    init.__doc__ = "See the class docstring."
    return type(name, (Pooling,), {"__init__": init, "__doc__": doc, "_reduce": reduce,
                                   "__module__": __name__})


MaxPooling1D = _pool_class("MaxPooling1D", 1, "max", """Max pooling over steps
    (``keras.layers.MaxPooling1D(pool_size=2, strides=None, padding='valid',
    data_format='channels_last')``): ``[batch, steps, channels]`` ->
    ``[batch, new_steps, channels]``.""")
MaxPooling2D = _pool_class("MaxPooling2D", 2, "max", """Max pooling over images
    (``keras.layers.MaxPooling2D(pool_size=(2, 2), strides=None, padding='valid',
    data_format=None)``): the maximum of each ``pool_size`` window; ``strides`` defaults
    to ``pool_size``.""")
MaxPooling3D = _pool_class("MaxPooling3D", 3, "max", """Max pooling over volumes
    (``keras.layers.MaxPooling3D(pool_size=(2, 2, 2), strides=None, padding='valid',
    data_format=None)``); the depth must be static.""")
AveragePooling1D = _pool_class("AveragePooling1D", 1, "avg", """Average pooling over steps
    (``keras.layers.AveragePooling1D(pool_size=2, strides=None, padding='valid',
    data_format='channels_last')``).""")
AveragePooling2D = _pool_class("AveragePooling2D", 2, "avg", """Average pooling over images
    (``keras.layers.AveragePooling2D(pool_size=(2, 2), strides=None, padding='valid',
    data_format=None)``): the mean of each window over its real (unpadded) elements.""")
AveragePooling3D = _pool_class("AveragePooling3D", 3, "avg", """Average pooling over volumes
    (``keras.layers.AveragePooling3D(pool_size=(2, 2, 2), strides=None, padding='valid',
    data_format=None)``); the depth must be static.""")


class GlobalPooling(Layer):
    """Global pooling base: reduces every spatial axis.

    Args:
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      keepdims: keep the spatial axes with size 1 (``[batch, 1, 1, channels]``).
    """

    _reduce = "max"

    def __init__(self, rank, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.data_format = normalize_data_format(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _axes(self):
        return list(range(2, self.rank + 2)) if self.data_format == "channels_first" else \
            list(range(1, self.rank + 1))

    def call(self, inputs, mask=None):
        axes = self._axes()
        if self._reduce == "max":
            return reductions.reduce_max(inputs, axis=axes, keepdims=self.keepdims)
        if mask is not None and self.rank == 1:
            m = tf.cast(tf.convert_to_tensor(mask), inputs.dtype)
            m = array_manip.expand_dims(m, 1 if self.data_format == "channels_first" else 2)
            total = tf.reduce_sum(inputs * m, axis=axes, keepdims=self.keepdims)
            return total / tf.reduce_sum(m, axis=axes, keepdims=self.keepdims)
        return tf.reduce_mean(inputs, axis=axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        axes = self._axes()
        if self.keepdims:
            return tf.TensorShape([1 if i in axes else d for i, d in enumerate(dims)])
        return tf.TensorShape([d for i, d in enumerate(dims) if i not in axes])

    def get_config(self):
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config


def _global_class(name, rank, reduce, doc):
    def init(self, data_format=None, keepdims=False, **kwargs):
        GlobalPooling.__init__(self, rank, data_format, keepdims, **kwargs)
        self.supports_masking = reduce == "avg" and rank == 1
    init.__doc__ = "See the class docstring."
    return type(name, (GlobalPooling,), {"__init__": init, "__doc__": doc, "_reduce": reduce,
                                         "__module__": __name__})


GlobalMaxPooling1D = _global_class("GlobalMaxPooling1D", 1, "max", """The maximum over steps
    (``keras.layers.GlobalMaxPooling1D(data_format='channels_last', keepdims=False)``):
    ``[batch, steps, channels]`` -> ``[batch, channels]``.""")
GlobalMaxPooling2D = _global_class("GlobalMaxPooling2D", 2, "max", """The maximum over height
    and width (``keras.layers.GlobalMaxPooling2D(data_format=None, keepdims=False)``):
    ``[batch, h, w, channels]`` -> ``[batch, channels]``.""")
GlobalMaxPooling3D = _global_class("GlobalMaxPooling3D", 3, "max", """The maximum over the
    three spatial axes (``keras.layers.GlobalMaxPooling3D(data_format=None,
    keepdims=False)``).""")
GlobalAveragePooling1D = _global_class("GlobalAveragePooling1D", 1, "avg", """The mean over
    steps (``keras.layers.GlobalAveragePooling1D(data_format='channels_last',
    keepdims=False)``); with a mask (from ``Embedding(mask_zero=True)`` or ``Masking``)
    only unmasked steps are averaged.""")
GlobalAveragePooling2D = _global_class("GlobalAveragePooling2D", 2, "avg", """The mean over
    height and width (``keras.layers.GlobalAveragePooling2D(data_format=None,
    keepdims=False)``).""")
GlobalAveragePooling3D = _global_class("GlobalAveragePooling3D", 3, "avg", """The mean over
    the three spatial axes (``keras.layers.GlobalAveragePooling3D(data_format=None,
    keepdims=False)``).""")

# Keras's aliases.
MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalMaxPool3D = GlobalMaxPooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
