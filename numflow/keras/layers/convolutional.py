"""Convolution layers (``tf.keras.layers.Conv1D``, ``Conv2D``, ``Conv3D``,
``Conv1DTranspose``, ``Conv2DTranspose``), written with numflow's ``tf.nn`` convolutions;
the depthwise and separable ones are in ``convolutional_depthwise.py``.

Weights have Keras's names, shapes and creation order (``kernel`` then ``bias``), so
weights saved by Keras load with ``set_weights``. 1-D layers run as 2-D convolutions over
a height of 1; ``Conv3D`` stacks its depth taps on the channel axis and runs one 2-D
convolution over the output depth folded into the batch.
"""
import numflow as tf
from numflow.keras import activations, constraints, initializers, regularizers
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec
from numflow.keras.layers.conv_utils import (conv_output_length, deconv_output_length,
                                              normalize_data_format, normalize_padding,
                                              normalize_tuple)
from numflow.ops import array_manip

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Convolution1D",
    "Convolution2D", "Convolution3D", "Convolution2DTranspose"
]


def _ser(module, value):
    return module.serialize(value) if value is not None else None


def _common_config(layer):
    return {"activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
            "activity_regularizer": _ser(regularizers, layer.activity_regularizer)}


def _channels_first_to_nf(fmt, rank):
    return {1: "NCW", 2: "NCHW"}[rank] if fmt == "channels_first" else \
        {1: "NWC", 2: "NHWC"}[rank]


class _BaseConv(Layer):
    """Shared argument handling, bias and activation of every convolution layer."""

    def __init__(self, rank, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, bias_initializer="zeros",
                 bias_regularizer=None, bias_constraint=None, paddings=("valid", "same"),
                 **kwargs):
        groups = kwargs.pop("groups", 1)          # tf.keras 2 configs of every conv carry it
        if groups not in (1, None):
            raise ValueError(f"{type(self).__name__} does not support groups={groups}")
        super().__init__(**kwargs)
        self.rank = rank
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.padding = normalize_padding(padding, paddings)
        self.data_format = normalize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.input_spec = InputSpec(min_ndim=rank + 2)

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _input_channels(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        c = input_shape[self._channel_axis]
        if c is None:
            raise ValueError(f"The channel dimension of the inputs should be defined. The "
                             f"input_shape received is {input_shape}, where axis "
                             f"{self._channel_axis} (0-based) is the channel dimension, which "
                             f"found to be `None`.")
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: c})
        return c

    def _add_bias(self, size):
        if not self.use_bias:
            self.bias = None
            return
        self.bias = self.add_weight(name="bias", shape=(size,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint, trainable=True,
                                    dtype=self.dtype)

    def _finish(self, y):
        if self.use_bias:
            if self.data_format == "channels_first":
                y = y + tf.reshape(self.bias, (1, -1) + (1,) * self.rank)
            else:
                y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def _spatial_axes(self):
        return list(range(2, self.rank + 2)) if self.data_format == "channels_first" else \
            list(range(1, self.rank + 1))

    def _output_shape(self, input_shape, channels, length_fn):
        dims = tf.TensorShape(input_shape).as_list()
        for i, axis in enumerate(self._spatial_axes()):
            dims[axis] = length_fn(dims[axis], i)
        dims[self._channel_axis] = channels
        return tf.TensorShape(dims)

    def _base_config(self):
        config = super().get_config()
        config.update({"kernel_size": self.kernel_size, "strides": self.strides,
                       "padding": self.padding, "data_format": self.data_format,
                       "dilation_rate": self.dilation_rate})
        config.update(_common_config(self))
        config.update({"bias_initializer": _ser(initializers, self.bias_initializer),
                       "bias_regularizer": _ser(regularizers, self.bias_regularizer),
                       "bias_constraint": _ser(constraints, self.bias_constraint)})
        return config


class Conv(_BaseConv):
    """N-D convolution base class (``keras.layers.Conv1D/2D/3D``).

    Args:
      rank: the number of spatial dimensions (1, 2 or 3).
      filters: the number of output channels.
      kernel_size: an int or a tuple of ``rank`` ints, the window size.
      strides: an int or a tuple of ``rank`` ints.
      padding: ``"valid"``, ``"same"`` (or ``"causal"`` for Conv1D: output step ``t``
        sees only inputs up to ``t``).
      data_format: ``"channels_last"`` (default) or ``"channels_first"``.
      dilation_rate: an int or tuple, the spacing of kernel taps.
      groups: splits the input channels into ``groups`` groups, each convolved with
        ``filters // groups`` filters; outputs are concatenated.
      activation: applied to the output (None: linear).
      use_bias: whether a ``bias`` vector is added.
      kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
      activity_regularizer, kernel_constraint, bias_constraint: as for Dense.

    Weights: ``kernel`` of shape ``kernel_size + (in_channels // groups, filters)``, then
    ``bias`` of shape ``(filters,)``.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, activity_regularizer=activity_regularizer,
                         paddings=("valid", "same", "causal") if rank == 1 else
                         ("valid", "same"), **kwargs)
        self.filters = int(filters)
        self.groups = int(groups or 1)
        if self.filters <= 0:
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        if c % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {c} channels (full input shape is {input_shape}).")
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (c // self.groups, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, trainable=True, dtype=self.dtype)
        self._add_bias(self.filters)
        self.built = True

    def _conv(self, x, kernel):
        fmt = _channels_first_to_nf(self.data_format, min(self.rank, 2))
        if self.rank == 1:
            padding = self.padding
            if padding == "causal":
                left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
                pads = [[0, 0], [0, 0], [left, 0]] if fmt == "NCW" else \
                    [[0, 0], [left, 0], [0, 0]]
                x = array_manip.pad(x, pads)
                padding = "valid"
            return tf.nn.conv1d(x, kernel, self.strides[0], padding.upper(), data_format=fmt,
                                dilations=self.dilation_rate[0])
        if self.rank == 2:
            return tf.nn.conv2d(x, kernel, self.strides, self.padding.upper(), data_format=fmt,
                                dilations=self.dilation_rate)
        return self._conv3d(x, kernel)

    def _conv3d(self, x, kernel):
        """Depth taps stacked on channels, output depth folded into the batch, one conv2d."""
        if self.data_format == "channels_first":
            x = array_manip.transpose(x, [0, 2, 3, 4, 1])
        kd, (sd, sh, sw), dd = self.kernel_size[0], self.strides, self.dilation_rate[0]
        depth = x.shape[1]
        if depth is None:
            raise ValueError(f"Conv3D needs a static depth, got input shape {x.shape}")
        if self.padding == "same":
            out_d = -(-depth // sd)
            total = max((out_d - 1) * sd + (kd - 1) * dd + 1 - depth, 0)
            x = array_manip.pad(x, [[0, 0], [total // 2, total - total // 2], [0, 0], [0, 0],
                                    [0, 0]])
        else:
            out_d = conv_output_length(depth, kd, "valid", sd, dd)
        taps = [x[:, i * dd: i * dd + (out_d - 1) * sd + 1: sd] for i in range(kd)]
        cols = array_manip.concat(taps, axis=-1)       # [N, D', H, W, kd * C]
        h, w, c = cols.shape[2], cols.shape[3], cols.shape[4]
        flat = tf.reshape(cols, [-1, h if h is not None else tf.shape(cols)[2],
                                 w if w is not None else tf.shape(cols)[3], c])
        k2 = tf.reshape(array_manip.transpose(kernel, [1, 2, 0, 3, 4]),
                        [self.kernel_size[1], self.kernel_size[2], -1, kernel.shape[-1]])
        y = tf.nn.conv2d(flat, k2, (sh, sw), self.padding.upper(),
                         dilations=self.dilation_rate[1:])
        y = tf.reshape(y, tf.stack([tf.shape(x)[0], out_d, tf.shape(y)[1], tf.shape(y)[2],
                                    kernel.shape[-1]]))
        if self.data_format == "channels_first":
            y = array_manip.transpose(y, [0, 4, 1, 2, 3])
        return y

    def call(self, inputs):
        if self.groups == 1:
            y = self._conv(inputs, self.kernel)
        else:
            axis = 1 if self.data_format == "channels_first" else self.rank + 1
            xs = array_manip.split(inputs, self.groups, axis=axis)
            ks = array_manip.split(self.kernel, self.groups, axis=-1)
            y = array_manip.concat([self._conv(a, k) for a, k in zip(xs, ks)], axis=axis)
        out = self._finish(y)
        if not tf.executing_eagerly():
            out.set_shape(self.compute_output_shape(inputs.shape))
        return out

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters, lambda n, i: conv_output_length(
            n, self.kernel_size[i], self.padding, self.strides[i], self.dilation_rate[i]))

    def get_config(self):
        config = self._base_config()
        config.update({"filters": self.filters, "groups": self.groups,
                       "kernel_initializer": _ser(initializers, self.kernel_initializer),
                       "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
                       "kernel_constraint": _ser(constraints, self.kernel_constraint)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("rank", None)
        return cls(**config)


def _fixed_rank(rank, doc):
    def init(self, filters, kernel_size, strides=(1,) * rank, padding="valid",
             data_format=None, dilation_rate=(1,) * rank, groups=1, activation=None,
             use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
             kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
             kernel_constraint=None, bias_constraint=None, **kwargs):
        Conv.__init__(self, rank, filters, kernel_size, strides, padding, data_format,
                      dilation_rate, groups, activation, use_bias, kernel_initializer,
                      bias_initializer, kernel_regularizer, bias_regularizer,
                      activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
    init.__doc__ = doc
    return init


class Conv1D(Conv):
    """1-D convolution over ``[batch, steps, channels]``
    (``keras.layers.Conv1D(filters, kernel_size, strides=1, padding='valid',
    data_format=None, dilation_rate=1, groups=1, activation=None, use_bias=True, ...)``).

    ``padding='causal'`` pads ``dilation_rate * (kernel_size - 1)`` steps on the left, so
    output step ``t`` depends only on inputs up to ``t`` (WaveNet). Kernel shape
    ``(kernel_size, in_channels // groups, filters)``.
    """
    __init__ = _fixed_rank(1, "See the class docstring.")


class Conv2D(Conv):
    """2-D convolution over images ``[batch, height, width, channels]``
    (``keras.layers.Conv2D(filters, kernel_size, strides=(1, 1), padding='valid',
    data_format=None, dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
    kernel_initializer='glorot_uniform', bias_initializer='zeros', ...)``).

    Kernel shape ``(kh, kw, in_channels // groups, filters)``; output
    ``[batch, new_h, new_w, filters]``.
    """
    __init__ = _fixed_rank(2, "See the class docstring.")


class Conv3D(Conv):
    """3-D convolution over volumes ``[batch, depth, height, width, channels]``
    (``keras.layers.Conv3D(filters, kernel_size, strides=(1, 1, 1), padding='valid', ...)``).

    Kernel shape ``(kd, kh, kw, in_channels // groups, filters)``; the depth must be static.
    """
    __init__ = _fixed_rank(3, "See the class docstring.")


class _ConvTranspose(_BaseConv):
    """Transposed convolution base (``keras.layers.Conv1DTranspose/Conv2DTranspose``).

    Args:
      filters: output channels.
      kernel_size, strides, padding (``"valid"``/``"same"``), data_format, dilation_rate:
        as for the forward convolution this layer is the gradient of.
      output_padding: an int or tuple, extra size added to one side of each output
        dimension (must be smaller than the stride); None infers it.
      activation, use_bias, initializers/regularizers/constraints: as for Conv2D.

    Weights: ``kernel`` of shape ``kernel_size + (filters, in_channels)``, then ``bias``.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, activity_regularizer=activity_regularizer, **kwargs)
        self.filters = int(filters)
        self.output_padding = None if output_padding is None else normalize_tuple(
            output_padding, rank, "output_padding", allow_zero=True)
        if self.output_padding is not None:
            for p, s in zip(self.output_padding, self.strides):
                if p >= s:
                    raise ValueError(f"Strides {self.strides} must be greater than output "
                                     f"padding {self.output_padding}.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        c = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (self.filters, c),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, trainable=True, dtype=self.dtype)
        self._add_bias(self.filters)
        self.built = True

    def _length(self, n, i):
        op = None if self.output_padding is None else self.output_padding[i]
        return deconv_output_length(n, self.kernel_size[i], self.padding, op, self.strides[i],
                                    self.dilation_rate[i])

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = array_manip.transpose(x, [0] + list(range(2, self.rank + 2)) + [1])
        kernel = self.kernel
        if self.rank == 1:
            x = array_manip.expand_dims(x, 1)
            kernel = array_manip.expand_dims(kernel, 0)
        dyn = tf.shape(x)
        sizes = [dyn[0]]
        for i in range(self.rank):
            static = x.shape[i + 1 + (self.rank == 1)]
            n = static if static is not None else dyn[i + 1 + (self.rank == 1)]
            sizes.append(self._length(n, i))
        if self.rank == 1:
            sizes.insert(1, 1)
        sizes.append(self.filters)
        strides = (1,) + self.strides if self.rank == 1 else self.strides
        dilations = (1,) + self.dilation_rate if self.rank == 1 else self.dilation_rate
        y = tf.nn.conv2d_transpose(x, kernel, tf.stack(sizes), strides, self.padding.upper(),
                                   dilations=dilations)
        if self.rank == 1:
            y = array_manip.squeeze(y, [1])
        if self.data_format == "channels_first":
            y = array_manip.transpose(y, [0, self.rank + 1] + list(range(1, self.rank + 1)))
        out = self._finish(y)
        if not tf.executing_eagerly():
            out.set_shape(self.compute_output_shape(inputs.shape))
        return out

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters, self._length)

    def get_config(self):
        config = self._base_config()
        config.update({"filters": self.filters, "output_padding": self.output_padding,
                       "kernel_initializer": _ser(initializers, self.kernel_initializer),
                       "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
                       "kernel_constraint": _ser(constraints, self.kernel_constraint)})
        return config


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution (``keras.layers.Conv1DTranspose(filters, kernel_size,
    strides=1, padding='valid', output_padding=None, data_format=None, dilation_rate=1,
    activation=None, use_bias=True, ...)``); kernel shape ``(k, filters, in_channels)``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution, the up-sampling "deconvolution"
    (``keras.layers.Conv2DTranspose(filters, kernel_size, strides=(1, 1), padding='valid',
    output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
    use_bias=True, ...)``).

    Output size per axis: ``in * stride + max(k - stride, 0)`` for ``"valid"``,
    ``in * stride`` for ``"same"`` (Keras's ``deconv_output_length``). Kernel shape
    ``(kh, kw, filters, in_channels)``.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


# Keras's aliases.
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution2DTranspose = Conv2DTranspose
