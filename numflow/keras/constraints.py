"""Weight constraints (``tf.keras.constraints``): projections optimizers apply to a weight
after each update (``kernel_constraint=max_norm(2.)``)."""
import numflow as tf
from numflow.keras import backend
from numflow.keras.utils import generic_utils


class Constraint:
    """Base class: ``__call__(w)`` returns the projected weight tensor."""

    def __call__(self, w):
        return w

    def get_config(self):
        """The constructor arguments as a dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuilds the constraint from ``get_config()``'s output."""
        return cls(**config)


def _norms(w, axis):
    return tf.sqrt(tf.reduce_sum(tf.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescales each slice along ``axis`` so its L2 norm is at most ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = tf.clip_by_value(norms, 0.0, float(self.max_value))
        return w * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return w * tf.cast(tf.greater_equal(w, 0.0), w.dtype.base_dtype)


class UnitNorm(Constraint):
    """Rescales each slice along ``axis`` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (backend.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keeps each slice's L2 norm within ``[min_value, max_value]``, moving it ``rate`` of the
    way there per update (``rate=1`` enforces it strictly)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (self.rate * tf.clip_by_value(norms, float(self.min_value),
                                                float(self.max_value))
                   + (1 - self.rate) * norms)
        return w * (desired / (backend.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm
# Old Keras spellings.
maxnorm = MaxNorm
nonneg = NonNeg
unitnorm = UnitNorm

_OBJECTS = {"Constraint": Constraint, "MaxNorm": MaxNorm, "NonNeg": NonNeg,
            "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm, "max_norm": MaxNorm,
            "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
            "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm}


def serialize(constraint):
    """``{'class_name': ..., 'config': ...}`` for ``constraint``."""
    return generic_utils.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint described by ``config`` (a dict or a name)."""
    return generic_utils.deserialize_keras_object(
        config, module_objects=_OBJECTS, custom_objects=custom_objects,
        printable_module_name="constraint")


def get(identifier):
    """Resolves ``identifier`` (None, a name, a config dict or a callable) to a constraint."""
    if identifier is None:
        return None
    if isinstance(identifier, (dict, str)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret constraint identifier: {identifier!r}")
