"""Regularization layers that act only while training (``tf.keras.layers.SpatialDropout1D/
2D/3D``, ``GaussianNoise``, ``GaussianDropout``, ``AlphaDropout``) and
``ActivityRegularization``.

Each noise layer is the identity unless called with ``training=True`` (``fit`` sets it),
and draws fresh noise with numflow's random ops on every call (every step of a traced
train step).
"""
import math

import numflow as tf
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec
from numflow.keras.layers.conv_utils import normalize_data_format

__all__ = [
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization"
]


def _check_rate(rate, name):
    if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                         f"between 0 and 1. Received: rate={rate}")
    return float(rate)


class _Noise(Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class _SpatialDropout(_Noise):
    """Drops whole feature maps: one keep/drop decision per (example, channel)."""

    def __init__(self, rank, rate, data_format=None, seed=None, **kwargs):
        if kwargs.pop("noise_shape", None) is not None:   # in tf.keras 2 configs, always None
            raise ValueError(f"{type(self).__name__} computes its own noise_shape")
        super().__init__(seed=seed, **kwargs)
        self.rank = rank
        self.rate = _check_rate(rate, "rate")
        self.data_format = normalize_data_format(data_format) if rank > 1 else "channels_last"
        self.input_spec = InputSpec(ndim=rank + 2)

    def _noise_shape(self, inputs):
        shape = tf.shape(inputs)
        if self.data_format == "channels_first":
            return tf.stack([shape[0], shape[1]] + [1] * self.rank)
        return tf.stack([shape[0]] + [1] * self.rank + [shape[self.rank + 1]])

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return tf.zeros_like(inputs)
        return tf.nn.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs),
                             seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of ``[batch, steps, channels]``
    (``keras.layers.SpatialDropout1D(rate, seed=None)``): each channel of each example is
    zeroed for every step with probability ``rate``; kept ones are scaled by
    ``1 / (1 - rate)``."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(1, rate, seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of images
    (``keras.layers.SpatialDropout2D(rate, data_format=None, seed=None)``)."""

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(2, rate, data_format, seed, **kwargs)


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature volumes
    (``keras.layers.SpatialDropout3D(rate, data_format=None, seed=None)``)."""

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(3, rate, data_format, seed, **kwargs)


class GaussianNoise(_Noise):
    """Adds zero-centred Gaussian noise while training
    (``keras.layers.GaussianNoise(stddev, seed=None)``).

    Args:
      stddev: the noise's standard deviation.
      seed: the op seed.
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError(f"Invalid value received for argument `stddev`. Expected a float "
                             f"value between 0 and 1. Received: stddev={stddev}")
        self.stddev = float(stddev)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = tf.random.normal(tf.shape(inputs), stddev=self.stddev, dtype=inputs.dtype,
                                 seed=self.seed)
        return inputs + noise

    def get_config(self):
        config = super().get_config()
        config["stddev"] = self.stddev
        return config


class GaussianDropout(_Noise):
    """Multiplies by 1-centred Gaussian noise with standard deviation
    ``sqrt(rate / (1 - rate))`` while training (``keras.layers.GaussianDropout(rate,
    seed=None)``)."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, "rate")

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = tf.random.normal(tf.shape(inputs), mean=1.0, stddev=stddev, dtype=inputs.dtype,
                                 seed=self.seed)
        return inputs * noise

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config


class AlphaDropout(_Noise):
    """Dropout that keeps the mean and variance of SELU activations
    (``keras.layers.AlphaDropout(rate, noise_shape=None, seed=None)``): dropped units are
    set to SELU's negative saturation and the result is affinely rescaled."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _check_rate(rate, "rate")
        self.noise_shape = noise_shape

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        alpha_p = -alpha * scale
        shape = tf.shape(inputs) if self.noise_shape is None else self.noise_shape
        keep = tf.cast(tf.random.uniform(shape, dtype=inputs.dtype, seed=self.seed)
                       >= self.rate, inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * keep + alpha_p * (1 - keep)) + b

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape})
        return config


class ActivityRegularization(Layer):
    """Adds ``l1 * sum(|x|) + l2 * sum(x**2)`` of its input (divided by the batch size) to
    the model's losses and passes the input through
    (``keras.layers.ActivityRegularization(l1=0.0, l2=0.0)``)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        from numflow.keras import regularizers
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = float(l1)
        self.l2 = float(l2)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config

