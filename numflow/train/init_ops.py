"""TF1 initializer classes (``tf.compat.v1.zeros_initializer``, ``glorot_uniform_initializer``...).

An initializer is called as ``init(shape, dtype=None, partition_info=None)`` and returns a
tensor built from public ops (``tf.zeros``, ``tf.random_uniform``...), so it works in graph
mode (``tf.get_variable``) and eagerly. These are TF1's classes: the dtype given to the
constructor is the default, seeds are op seeds. (Keras has its own initializers.)
"""
import math

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.ops import array_ops, random_ops


def _dtype(dtype, default):
    return dtypes.as_dtype(dtype if dtype is not None else default).base_dtype


def _require_float(dtype, what):
    if not (dtype.is_floating or dtype.is_complex):
        raise ValueError(f"Expected floating point type, got {dtype.name}. ({what})")


def _shape_list(shape):
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    return [int(d) for d in shape]


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, as TF computes them (``_compute_fans``)."""
    shape = _shape_list(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = 1
    for d in shape[:-2]:
        receptive *= d
    return shape[-2] * receptive, shape[-1] * receptive


@export(v1=["initializers.Initializer"])
class Initializer:
    """Base class of TF1 initializers: ``__call__(shape, dtype=None, partition_info=None)``."""

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError

    def get_config(self):
        """The constructor arguments as a dict (``from_config`` rebuilds the initializer)."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Builds an initializer from ``get_config()``'s dict."""
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)


@export(v1=["zeros_initializer", "initializers.zeros"])
class Zeros(Initializer):
    """``tf.compat.v1.zeros_initializer(dtype=tf.float32)``: a tensor of zeros."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.zeros(_shape_list(shape), _dtype(dtype, self.dtype))

    def get_config(self):
        return {"dtype": self.dtype.name}


@export(v1=["ones_initializer", "initializers.ones"])
class Ones(Initializer):
    """``tf.compat.v1.ones_initializer(dtype=tf.float32)``: a tensor of ones."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return array_ops.ones(_shape_list(shape), _dtype(dtype, self.dtype))

    def get_config(self):
        return {"dtype": self.dtype.name}


@export(v1=["constant_initializer", "initializers.constant"])
class Constant(Initializer):
    """``tf.compat.v1.constant_initializer(value=0, dtype=tf.float32, verify_shape=False)``.

    ``value`` is a scalar (filling the shape) or a list/array with as many elements as the
    shape (reshaped to it).

    Raises:
      TypeError: ``value`` is not a scalar, list, tuple or ndarray, or its size does not
        fit the requested shape.
    """

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        if not (np.isscalar(value) or isinstance(value, (list, tuple, np.ndarray))):
            raise TypeError(f"Invalid type for initial value: {type(value).__name__} (expected "
                            "Python scalar, list or tuple of values, or numpy.ndarray).")
        self.value = value
        self.dtype = dtypes.as_dtype(dtype)
        self._verify_shape = verify_shape

    def __call__(self, shape, dtype=None, partition_info=None, verify_shape=None):
        shape = _shape_list(shape)
        verify = self._verify_shape if verify_shape is None else verify_shape
        if verify and list(np.shape(self.value)) != shape:
            raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, got "
                            f"{tuple(np.shape(self.value))}.")
        return array_ops.constant(self.value, dtype=_dtype(dtype, self.dtype), shape=shape)

    def get_config(self):
        value = self.value.tolist() if isinstance(self.value, np.ndarray) else self.value
        return {"value": value, "dtype": self.dtype.name}


@export(v1=["random_uniform_initializer", "initializers.random_uniform"])
class RandomUniform(Initializer):
    """``tf.compat.v1.random_uniform_initializer(minval=0, maxval=None, seed=None,
    dtype=tf.float32)``: uniform samples in ``[minval, maxval)`` (maxval 1 for floats)."""

    def __init__(self, minval=0, maxval=None, seed=None, dtype=dtypes.float32):
        self.minval, self.maxval, self.seed = minval, maxval, seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        return random_ops.random_uniform(_shape_list(shape), self.minval, self.maxval,
                                         _dtype(dtype, self.dtype), seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed,
                "dtype": self.dtype.name}


@export(v1=["random_normal_initializer", "initializers.random_normal"])
class RandomNormal(Initializer):
    """``tf.compat.v1.random_normal_initializer(mean=0.0, stddev=1.0, seed=None,
    dtype=tf.float32)``: normal samples.

    Raises:
      ValueError: (when called) a non-floating dtype.
    """

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _dtype(dtype, self.dtype)
        _require_float(dtype, "random_normal_initializer")
        return random_ops.random_normal(_shape_list(shape), self.mean, self.stddev, dtype,
                                        seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed,
                "dtype": self.dtype.name}


@export(v1=["truncated_normal_initializer", "initializers.truncated_normal"])
class TruncatedNormal(Initializer):
    """``tf.compat.v1.truncated_normal_initializer(mean=0.0, stddev=1.0, seed=None,
    dtype=tf.float32)``: normal samples redrawn beyond two standard deviations."""

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        self.mean, self.stddev, self.seed = mean, stddev, seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _dtype(dtype, self.dtype)
        _require_float(dtype, "truncated_normal_initializer")
        return random_ops.truncated_normal(_shape_list(shape), self.mean, self.stddev, dtype,
                                           seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed,
                "dtype": self.dtype.name}


@export(v1=["variance_scaling_initializer", "initializers.variance_scaling"])
class VarianceScaling(Initializer):
    """``tf.compat.v1.variance_scaling_initializer(scale=1.0, mode="fan_in",
    distribution="truncated_normal", seed=None, dtype=tf.float32)``.

    With ``n`` the fan-in, fan-out or their average (``mode``), samples have variance
    ``scale / n``: truncated normal with ``stddev = sqrt(scale / n) / .8796...``
    (``"truncated_normal"`` or the legacy ``"normal"``), plain normal
    (``"untruncated_normal"``), or uniform in ``±sqrt(3 * scale / n)`` (``"uniform"``).

    Raises:
      ValueError: ``scale <= 0`` or an unknown ``mode`` / ``distribution``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=dtypes.float32):
        if scale <= 0.:
            raise ValueError("`scale` must be positive float.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}")
        distribution = distribution.lower()
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = _dtype(dtype, self.dtype)
        _require_float(dtype, "variance_scaling_initializer")
        shape = _shape_list(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.}[self.mode]
        scale = self.scale / max(1., n)
        if self.distribution in ("normal", "truncated_normal"):
            # 0.879... is the stddev of a standard normal truncated to (-2, 2).
            stddev = math.sqrt(scale) / .87962566103423978
            return random_ops.truncated_normal(shape, 0.0, stddev, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "dtype": self.dtype.name}


@export(v1=["glorot_uniform_initializer", "initializers.glorot_uniform"])
class GlorotUniform(VarianceScaling):
    """``tf.compat.v1.glorot_uniform_initializer(seed=None, dtype=tf.float32)``: uniform in
    ``±sqrt(6 / (fan_in + fan_out))`` (Xavier); ``tf.get_variable``'s default for floats."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


@export(v1=["glorot_normal_initializer", "initializers.glorot_normal"])
class GlorotNormal(VarianceScaling):
    """``tf.compat.v1.glorot_normal_initializer(seed=None, dtype=tf.float32)``: truncated
    normal with variance ``2 / (fan_in + fan_out)``."""

    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


@export(v1=["uniform_unit_scaling_initializer", "initializers.uniform_unit_scaling"])
class UniformUnitScaling(Initializer):
    """``tf.compat.v1.uniform_unit_scaling_initializer(factor=1.0, seed=None,
    dtype=tf.float32)`` (deprecated in TF): uniform in ``±factor * sqrt(3 / fan_in)`` where
    fan_in is the product of all dimensions but the last."""

    def __init__(self, factor=1.0, seed=None, dtype=dtypes.float32):
        self.factor, self.seed = factor, seed
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        shape = _shape_list(shape)
        dtype = _dtype(dtype, self.dtype)
        _require_float(dtype, "uniform_unit_scaling_initializer")
        input_size = 1.0
        for d in shape[:-1]:
            input_size *= float(d)
        limit = math.sqrt(3 / max(input_size, 1.0)) * self.factor
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {"factor": self.factor, "seed": self.seed, "dtype": self.dtype.name}


@export(v1=["initializers.identity"])
class Identity(Initializer):
    """``tf.compat.v1.initializers.identity(gain=1.0, dtype=tf.float32)``: ``gain`` times the
    identity matrix (2-D shapes only).

    Raises:
      ValueError: (when called) a shape that is not 2-D.
    """

    def __init__(self, gain=1.0, dtype=dtypes.float32):
        self.gain = gain
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None):
        from numflow.ops.linalg_ops import eye
        from numflow.ops.math_ops import multiply
        shape = _shape_list(shape)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices.")
        dtype = _dtype(dtype, self.dtype)
        return multiply(eye(shape[0], shape[1], dtype=dtype), self.gain)

    def get_config(self):
        return {"gain": self.gain, "dtype": self.dtype.name}


def _variance_scaling_fn(scale, mode, distribution, doc):
    def make(seed=None):
        return VarianceScaling(scale, mode, distribution, seed)
    make.__doc__ = doc
    return make


he_normal = export(v1=["initializers.he_normal"])(
    _variance_scaling_fn(2., "fan_in", "truncated_normal",
                         "``tf.compat.v1.initializers.he_normal(seed=None)``: truncated normal "
                         "with variance ``2 / fan_in``."))
he_uniform = export(v1=["initializers.he_uniform"])(
    _variance_scaling_fn(2., "fan_in", "uniform",
                         "``tf.compat.v1.initializers.he_uniform(seed=None)``: uniform with "
                         "variance ``2 / fan_in``."))
lecun_normal = export(v1=["initializers.lecun_normal"])(
    _variance_scaling_fn(1., "fan_in", "truncated_normal",
                         "``tf.compat.v1.initializers.lecun_normal(seed=None)``: truncated "
                         "normal with variance ``1 / fan_in``."))
lecun_uniform = export(v1=["initializers.lecun_uniform"])(
    _variance_scaling_fn(1., "fan_in", "uniform",
                         "``tf.compat.v1.initializers.lecun_uniform(seed=None)``: uniform with "
                         "variance ``1 / fan_in``."))
