"""Depthwise and depthwise-separable convolution layers (``tf.keras.layers.DepthwiseConv1D``,
``DepthwiseConv2D``, ``SeparableConv1D``, ``SeparableConv2D``), written with
``tf.nn.depthwise_conv2d`` and a 1x1 ``tf.nn.conv2d`` / ``conv1d``; 1-D layers run over a
height of 1.

Weights have Keras's names, shapes and order: ``kernel`` (Keras 3's name for the depthwise
kernel; ``depthwise_kernel`` is an alias) and ``bias`` for DepthwiseConv;
``depthwise_kernel``, ``pointwise_kernel``, ``bias`` for SeparableConv.
"""
import numflow as tf
from numflow.keras import constraints, initializers, regularizers
from numflow.keras.layers.conv_utils import conv_output_length
from numflow.keras.layers.convolutional import _BaseConv, _channels_first_to_nf, _ser
from numflow.ops import array_manip

__all__ = [
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D"
]


class _DepthwiseBase(_BaseConv):
    """Depthwise (per-channel) convolution, optionally followed by a pointwise one."""

    def __init__(self, rank, kernel_size, strides, padding, depth_multiplier, data_format,
                 dilation_rate, activation, use_bias, depthwise_initializer, bias_initializer,
                 depthwise_regularizer, bias_regularizer, activity_regularizer,
                 depthwise_constraint, bias_constraint, **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _add_depthwise(self, c, name):
        return self.add_weight(
            name=name, shape=self.kernel_size + (c, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, trainable=True, dtype=self.dtype)

    def _depthwise(self, x, kernel):
        fmt = "NCHW" if self.data_format == "channels_first" else "NHWC"
        strides, dilations = self.strides, self.dilation_rate
        if self.rank == 1:
            x = array_manip.expand_dims(x, 2 if fmt == "NCHW" else 1)
            kernel = array_manip.expand_dims(kernel, 0)
            strides, dilations = (1,) + strides, (1,) + dilations
        y = tf.nn.depthwise_conv2d(x, kernel, (1,) + tuple(strides) + (1,),
                                   self.padding.upper(), data_format=fmt, dilations=dilations)
        if self.rank == 1:
            y = array_manip.squeeze(y, [2 if fmt == "NCHW" else 1])
        return y

    def _length(self, n, i):
        return conv_output_length(n, self.kernel_size[i], self.padding, self.strides[i],
                                  self.dilation_rate[i])

    def _depthwise_config(self):
        config = self._base_config()
        config.update({"depth_multiplier": self.depth_multiplier,
                       "depthwise_initializer": _ser(initializers, self.depthwise_initializer),
                       "depthwise_regularizer": _ser(regularizers, self.depthwise_regularizer),
                       "depthwise_constraint": _ser(constraints, self.depthwise_constraint)})
        return config


class DepthwiseConv(_DepthwiseBase):
    """Depthwise convolution: each input channel convolved with its own
    ``depth_multiplier`` filters (``keras.layers.DepthwiseConv1D/2D``).

    Args:
      kernel_size, strides, padding, data_format, dilation_rate: as for Conv2D.
      depth_multiplier: output channels per input channel.
      activation, use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer,
      bias_regularizer, activity_regularizer, depthwise_constraint, bias_constraint.

    Weights: ``kernel`` of shape ``kernel_size + (in_channels, depth_multiplier)`` (Keras 3's
    name; also reachable as ``depthwise_kernel``), then ``bias`` of shape
    ``(in_channels * depth_multiplier,)``.
    """

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        self.kernel = self._add_depthwise(c, "kernel")
        self._add_bias(c * self.depth_multiplier)
        self.built = True

    @property
    def depthwise_kernel(self):
        """The depthwise kernel (tf.keras 2 attribute name)."""
        return self.kernel

    def call(self, inputs):
        out = self._finish(self._depthwise(inputs, self.kernel))
        if not tf.executing_eagerly():
            out.set_shape(self.compute_output_shape(inputs.shape))
        return out

    def compute_output_shape(self, input_shape):
        c = tf.TensorShape(input_shape)[self._channel_axis]
        return self._output_shape(input_shape, None if c is None else c * self.depth_multiplier,
                                  self._length)

    def get_config(self):
        return self._depthwise_config()


def _depthwise_init(rank):
    def init(self, kernel_size, strides=(1,) * rank, padding="valid", depth_multiplier=1,
             data_format=None, dilation_rate=(1,) * rank, activation=None, use_bias=True,
             depthwise_initializer="glorot_uniform", bias_initializer="zeros",
             depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
             depthwise_constraint=None, bias_constraint=None, **kwargs):
        _DepthwiseBase.__init__(self, rank, kernel_size, strides, padding, depth_multiplier,
                                data_format, dilation_rate, activation, use_bias,
                                depthwise_initializer, bias_initializer, depthwise_regularizer,
                                bias_regularizer, activity_regularizer, depthwise_constraint,
                                bias_constraint, **kwargs)
    return init


class DepthwiseConv1D(DepthwiseConv):
    """``keras.layers.DepthwiseConv1D(kernel_size, strides=1, padding='valid',
    depth_multiplier=1, data_format=None, dilation_rate=1, activation=None, use_bias=True,
    ...)``: depthwise convolution over ``[batch, steps, channels]``."""
    __init__ = _depthwise_init(1)


class DepthwiseConv2D(DepthwiseConv):
    """``keras.layers.DepthwiseConv2D(kernel_size, strides=(1, 1), padding='valid',
    depth_multiplier=1, data_format=None, dilation_rate=(1, 1), activation=None,
    use_bias=True, depthwise_initializer='glorot_uniform', ...)``: each channel is
    convolved with its own filters, giving ``in_channels * depth_multiplier`` channels
    (MobileNet's building block)."""
    __init__ = _depthwise_init(2)


class SeparableConv(_DepthwiseBase):
    """Depthwise-separable convolution: a depthwise convolution, then a 1x1 convolution
    mixing channels (``keras.layers.SeparableConv1D/2D``).

    Args:
      filters: output channels of the pointwise step.
      kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier: of the
        depthwise step.
      depthwise_/pointwise_/bias_ initializer, regularizer, constraint; activation, use_bias.

    Weights: ``depthwise_kernel`` ``kernel_size + (in_channels, depth_multiplier)``,
    ``pointwise_kernel`` ``(1,) * rank + (in_channels * depth_multiplier, filters)``, then
    ``bias`` ``(filters,)``.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, depth_multiplier=1, activation=None,
                 use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, pointwise_constraint=None,
                 bias_constraint=None, **kwargs):
        for unused in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            kwargs.pop(unused, None)     # written by tf.keras 2's config, never used
        super().__init__(rank, kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.filters = int(filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        self.depthwise_kernel = self._add_depthwise(c, "depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel",
            shape=(1,) * self.rank + (c * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, trainable=True, dtype=self.dtype)
        self._add_bias(self.filters)
        self.built = True

    def call(self, inputs):
        y = self._depthwise(inputs, self.depthwise_kernel)
        fmt = _channels_first_to_nf(self.data_format, self.rank)
        if self.rank == 1:
            y = tf.nn.conv1d(y, self.pointwise_kernel, 1, "VALID", data_format=fmt)
        else:
            y = tf.nn.conv2d(y, self.pointwise_kernel, 1, "VALID", data_format=fmt)
        out = self._finish(y)
        if not tf.executing_eagerly():
            out.set_shape(self.compute_output_shape(inputs.shape))
        return out

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters, self._length)

    def get_config(self):
        config = self._depthwise_config()
        config.update({"filters": self.filters,
                       "pointwise_initializer": _ser(initializers, self.pointwise_initializer),
                       "pointwise_regularizer": _ser(regularizers, self.pointwise_regularizer),
                       "pointwise_constraint": _ser(constraints, self.pointwise_constraint)})
        return config


def _separable_init(rank):
    def init(self, filters, kernel_size, strides=(1,) * rank, padding="valid", data_format=None,
             dilation_rate=(1,) * rank, depth_multiplier=1, activation=None, use_bias=True,
             depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
             bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
             bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
             pointwise_constraint=None, bias_constraint=None, **kwargs):
        SeparableConv.__init__(self, rank, filters, kernel_size, strides, padding, data_format,
                               dilation_rate, depth_multiplier, activation, use_bias,
                               depthwise_initializer, pointwise_initializer, bias_initializer,
                               depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                               activity_regularizer, depthwise_constraint,
                               pointwise_constraint, bias_constraint, **kwargs)
    return init


class SeparableConv1D(SeparableConv):
    """``keras.layers.SeparableConv1D(filters, kernel_size, strides=1, padding='valid',
    data_format=None, dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
    ...)``: depthwise-separable 1-D convolution."""
    __init__ = _separable_init(1)


class SeparableConv2D(SeparableConv):
    """``keras.layers.SeparableConv2D(filters, kernel_size, strides=(1, 1), padding='valid',
    data_format=None, dilation_rate=(1, 1), depth_multiplier=1, activation=None,
    use_bias=True, depthwise_initializer='glorot_uniform',
    pointwise_initializer='glorot_uniform', ...)``: depthwise-separable 2-D convolution
    (Xception)."""
    __init__ = _separable_init(2)


# Keras's aliases.
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D
