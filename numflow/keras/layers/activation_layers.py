"""Activation layers with their own arguments or weights (``tf.keras.layers.ReLU``,
``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``, ``ThresholdedReLU``)."""
import warnings

import numflow as tf
from numflow.keras import activations, constraints, initializers, regularizers
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec
from numflow.ops import reductions

__all__ = [
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU"
]


class _Elementwise(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)


class ReLU(_Elementwise):
    """Rectified linear unit layer (``keras.layers.ReLU(max_value=None, negative_slope=0.0,
    threshold=0.0)``).

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold <= x < max_value``,
    ``negative_slope * (x - threshold)`` otherwise.

    Args:
      max_value: the saturation level (None: unbounded); must be >= 0.
      negative_slope: the slope below ``threshold``; must be >= 0.
      threshold: where the activation starts; must be >= 0.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be None or a negative "
                             f"value. Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError(f"threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        return activations.relu(inputs, alpha=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(_Elementwise):
    """Leaky ReLU layer (``keras.layers.LeakyReLU(negative_slope=0.3)``):
    ``x`` for ``x >= 0``, ``negative_slope * x`` otherwise. tf.keras 2's ``alpha=`` is
    accepted as the same argument."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"The negative_slope value of a Leaky ReLU layer cannot be None or "
                             f"negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)

    @property
    def alpha(self):
        """The slope below zero (tf.keras 2's name)."""
        return self.negative_slope

    def call(self, inputs):
        return tf.nn.leaky_relu(inputs, alpha=self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(_Elementwise):
    """Exponential linear unit layer (``keras.layers.ELU(alpha=1.0)``):
    ``alpha * (exp(x) - 1)`` for ``x < 0``, ``x`` otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ThresholdedReLU(_Elementwise):
    """``keras.layers.ThresholdedReLU(theta=1.0)`` (tf.keras 2): ``x`` for ``x > theta``,
    0 otherwise."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None or theta < 0:
            raise ValueError(f"Theta of a Thresholded ReLU layer cannot be None or negative. "
                             f"Received: {theta}")
        self.theta = float(theta)

    def call(self, inputs):
        return inputs * tf.cast(tf.greater(inputs, tf.constant(self.theta, inputs.dtype)),
                                inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config


class Softmax(_Elementwise):
    """Softmax layer (``keras.layers.Softmax(axis=-1)``).

    Called with ``mask`` (True/1 keeps a position), masked positions get a large negative
    logit before the softmax and 0 after it.

    Args:
      axis: an int or a list of ints, the axes normalized over.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = tf.convert_to_tensor(mask)
            if mask.shape.rank is not None and inputs.shape.rank is not None and \
                    mask.shape.rank > inputs.shape.rank:
                raise ValueError(f"The `mask` must be broadcastable to `inputs` and must not "
                                 f"have more dimensions. Received: inputs.shape={inputs.shape}, "
                                 f"mask.shape={mask.shape}")
            if not mask.dtype.is_bool:
                mask = tf.greater(mask, tf.constant(0.5, mask.dtype))
            big = -1e9 if inputs.dtype.size >= 4 else -3e4
            inputs = tf.where(mask, inputs, tf.constant(big, inputs.dtype))
        if isinstance(self.axis, list) and len(self.axis) > 1:
            outputs = tf.exp(inputs - reductions.reduce_logsumexp(inputs, axis=self.axis,
                                                                  keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, list) else self.axis
            outputs = tf.nn.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = tf.where(mask, outputs, tf.zeros_like(outputs))
        return outputs

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class PReLU(_Elementwise):
    """Parametric ReLU (``keras.layers.PReLU(alpha_initializer='zeros',
    alpha_regularizer=None, alpha_constraint=None, shared_axes=None)``):
    ``x`` for ``x >= 0``, ``alpha * x`` otherwise, with a learned ``alpha``.

    Args:
      alpha_initializer, alpha_regularizer, alpha_constraint: for the ``alpha`` weight.
      shared_axes: axes (1-based, batch excluded) along which ``alpha`` is shared, e.g.
        ``[1, 2]`` for one slope per channel of ``[batch, h, w, channels]``.

    Weights: ``alpha`` of shape ``input_shape[1:]`` with the shared axes set to 1.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif not isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(shared_axes)]
        else:
            self.shared_axes = [int(a) for a in shared_axes]

    def build(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        param_shape = list(dims[1:])
        for i in self.shared_axes or ():
            param_shape[i - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU needs static sizes on every unshared axis, got input shape "
                             f"{tuple(dims)} and shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(name="alpha", shape=param_shape,
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {i: dims[i] for i in range(1, len(dims)) if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(dims), axes=axes)
        self.built = True

    def call(self, inputs):
        return tf.nn.relu(inputs) - self.alpha * tf.nn.relu(-inputs)

    def get_config(self):
        config = super().get_config()
        config.update({"alpha_initializer": initializers.serialize(self.alpha_initializer),
                       "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                       "alpha_constraint": constraints.serialize(self.alpha_constraint),
                       "shared_axes": self.shared_axes})
        return config
