"""Activation functions (``tf.keras.activations``), written with numflow's public ops.

``get('relu')`` / ``get(None)`` / ``get(callable)`` resolve an identifier to a function;
``serialize`` gives the name a config stores.
"""
import numflow as tf
from numflow.keras.utils import generic_utils


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: ``max(x, 0)``; with ``alpha`` a leaky slope below
    ``threshold``, with ``max_value`` a saturation level."""
    if alpha == 0 and max_value is None and threshold == 0:
        return tf.nn.relu(x)
    dtype = x.dtype.base_dtype
    if alpha != 0:
        if threshold != 0:
            negative_part = tf.nn.relu(-x + tf.constant(threshold, dtype))
        else:
            negative_part = tf.nn.relu(-x)
    if threshold != 0:
        t = tf.constant(threshold, dtype)
        x = x * tf.cast(tf.greater(x, t), dtype)
    elif max_value == 6:
        x = tf.nn.relu6(x)
        max_value = None
    else:
        x = tf.nn.relu(x)
    if max_value is not None:
        x = tf.clip_by_value(x, tf.constant(0, dtype), tf.constant(max_value, dtype))
    if alpha != 0:
        x = x - tf.constant(alpha, dtype) * negative_part
    return x


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return tf.sigmoid(x)


def softmax(x, axis=-1):
    """Softmax along ``axis`` (the last by default); a rank-1 input raises ValueError."""
    if x.shape.rank is not None and x.shape.rank <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")
    return tf.nn.softmax(x, axis=axis)


def tanh(x):
    """Hyperbolic tangent."""
    return tf.tanh(x)


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    res = tf.nn.elu(x)
    if alpha == 1:
        return res
    return tf.where(x > 0, res, alpha * res)


def selu(x):
    """Scaled exponential linear unit (Klambauer et al., 2017)."""
    return tf.nn.selu(x)


def softplus(x):
    """``log(exp(x) + 1)``."""
    return tf.nn.softplus(x)


def softsign(x):
    """``x / (abs(x) + 1)``."""
    return tf.nn.softsign(x)


def swish(x):
    """``x * sigmoid(x)`` (also called SiLU)."""
    return tf.nn.silu(x)


silu = swish


def gelu(x, approximate=False):
    """Gaussian error linear unit; ``approximate`` uses the tanh formula."""
    return tf.nn.gelu(x, approximate=approximate)


def hard_sigmoid(x):
    """Piecewise-linear sigmoid ``clip(0.2 * x + 0.5, 0, 1)``."""
    dtype = x.dtype.base_dtype
    x = x * tf.constant(0.2, dtype) + tf.constant(0.5, dtype)
    return tf.clip_by_value(x, tf.constant(0.0, dtype), tf.constant(1.0, dtype))


def exponential(x):
    """``exp(x)``."""
    return tf.exp(x)


def linear(x):
    """The identity: returns ``x`` unchanged."""
    return x


def leaky_relu(x, alpha=0.2):
    """Leaky ReLU: ``x`` if ``x > 0`` else ``alpha * x``."""
    return tf.nn.leaky_relu(x, alpha=alpha)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return tf.nn.relu6(x)


def mish(x):
    """``x * tanh(softplus(x))``."""
    return x * tf.tanh(tf.nn.softplus(x))


def log_softmax(x, axis=-1):
    """Log of the softmax along ``axis``."""
    return tf.nn.log_softmax(x, axis=axis)


_ALL = {f.__name__: f for f in (relu, sigmoid, softmax, tanh, elu, selu, softplus, softsign,
                                 swish, gelu, hard_sigmoid, exponential, linear, leaky_relu,
                                 relu6, mish, log_softmax)}
_ALL["silu"] = swish
_ALIASES = {"swish": swish, "silu": swish}
# numflow's own tf.* functions name the same activations (activation=tf.nn.relu).
_TF_NAMES = {"relu", "sigmoid", "softmax", "tanh", "elu", "selu", "softplus", "softsign",
             "silu", "swish", "gelu", "exp", "relu6", "leaky_relu", "log_softmax"}


def serialize(activation):
    """The name stored in configs for ``activation`` (``'relu'``, ``'linear'``...)."""
    if activation is None:
        return "linear"
    if hasattr(activation, "get_config"):
        return generic_utils.serialize_keras_object(activation)
    name = getattr(activation, "__name__", None)
    if name in _ALL and _ALL[name] is activation:
        return name
    if name in _TF_NAMES:
        return "exponential" if name == "exp" else name
    if name is not None:
        return generic_utils.get_registered_name(activation)
    raise ValueError(f"Unknown activation function: {activation!r}")


def deserialize(name, custom_objects=None):
    """The activation function named ``name`` (or a config dict of an activation layer)."""
    return generic_utils.deserialize_keras_object(
        name, module_objects=_ALL, custom_objects=custom_objects,
        printable_module_name="activation function")


def get(identifier):
    """Resolves ``identifier`` (None, a name, a config dict or a callable) to a function.

    Raises:
      ValueError: for an unknown name; TypeError for anything else that is not callable.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        return deserialize(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation function identifier: {identifier!r}")
