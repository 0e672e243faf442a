"""Weight regularizers (``tf.keras.regularizers``): penalties added to the model's loss.

``l1(0.01)``, ``l2(0.01)`` and ``l1_l2(l1, l2)`` build the ``L1``/``L2``/``L1L2`` classes;
a layer given ``kernel_regularizer=`` adds ``regularizer(kernel)`` to ``layer.losses``.
"""
import numflow as tf
from numflow.keras.utils import generic_utils


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty tensor."""

    def __call__(self, x):
        return tf.constant(0.0)

    def get_config(self):
        """The constructor arguments as a dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuilds the regularizer from ``get_config()``'s output."""
        return cls(**config)


def _check_penalty(value, name):
    value = float(value)
    if value < 0:
        raise ValueError(f"Value of `{name}` must be non-negative. Received: {name}={value}")
    return value


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _check_penalty(l1, "l1")
        self.l2 = _check_penalty(l2, "l2")

    def __call__(self, x):
        dtype = x.dtype.base_dtype
        penalty = None
        if self.l1:
            penalty = tf.constant(self.l1, dtype) * tf.reduce_sum(tf.abs(x))
        if self.l2:
            term = tf.constant(self.l2, dtype) * tf.reduce_sum(tf.square(x))
            penalty = term if penalty is None else penalty + term
        return tf.constant(0.0, dtype) if penalty is None else penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``; ``l`` is accepted as the old name of ``l1``."""

    def __init__(self, l1=0.01, **kwargs):
        l1 = kwargs.pop("l", l1)
        generic_utils.validate_kwargs(kwargs, ())
        self.l1 = _check_penalty(l1, "l1")

    def __call__(self, x):
        return tf.constant(self.l1, x.dtype.base_dtype) * tf.reduce_sum(tf.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)``; ``l`` is accepted as the old name of ``l2``."""

    def __init__(self, l2=0.01, **kwargs):
        l2 = kwargs.pop("l", l2)
        generic_utils.validate_kwargs(kwargs, ())
        self.l2 = _check_penalty(l2, "l2")

    def __call__(self, x):
        return tf.constant(self.l2, x.dtype.base_dtype) * tf.reduce_sum(tf.square(x))

    def get_config(self):
        return {"l2": self.l2}


l1 = L1
l2 = L2


def l1_l2(l1=0.01, l2=0.01):  # noqa: F811 - Keras's argument names
    """An ``L1L2`` regularizer with both penalties (default 0.01 each)."""
    return L1L2(l1=l1, l2=l2)


_OBJECTS = {"Regularizer": Regularizer, "L1L2": L1L2, "L1": L1, "L2": L2, "l1": L1, "l2": L2,
            "l1_l2": l1_l2}


def serialize(regularizer):
    """``{'class_name': ..., 'config': ...}`` for ``regularizer``."""
    return generic_utils.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer described by ``config`` (a dict or a name such as ``'l2'``)."""
    if config == "l1_l2":
        return L1L2(l1=0.01, l2=0.01)
    return generic_utils.deserialize_keras_object(
        config, module_objects=_OBJECTS, custom_objects=custom_objects,
        printable_module_name="regularizer")


def get(identifier):
    """Resolves ``identifier`` (None, a name, a config dict or a callable) to a regularizer."""
    if identifier is None:
        return None
    if isinstance(identifier, (dict, str)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
