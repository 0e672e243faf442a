"""Weight initializers (``tf.keras.initializers``).

Class names and lower-case aliases are Keras's: ``GlorotUniform`` / ``glorot_uniform``,
``RandomUniform`` / ``'uniform'``... An initializer is called as ``init(shape, dtype)``
and returns a tensor. Values are drawn with NumPy: an initializer with a ``seed`` gives the
same values on every call; an unseeded one follows ``tf.random.set_seed`` (each draw takes
the next op seed, as TF's random ops do), and is nondeterministic without a global seed.
"""
import math

import numpy as np

import numflow as tf
from numflow.framework import context
from numflow.keras import backend
from numflow.keras.utils import generic_utils


def _rng(seed):
    if seed is not None:
        return np.random.default_rng(int(seed))
    global_seed = context.global_seed()
    if global_seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(global_seed), context.next_eager_op_seed()])


def _np_dtype(dtype):
    return tf.as_dtype(dtype or backend.floatx()).as_numpy_dtype


def _shape(shape):
    return tuple(int(d) for d in tf.TensorShape(shape).as_list())


def _compute_fans(shape):
    """(fan_in, fan_out) as Keras computes them (kernel dims first, then in/out)."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field_size = 1
    for dim in shape[:-2]:
        receptive_field_size *= dim
    return shape[-2] * receptive_field_size, shape[-1] * receptive_field_size


def _truncated_normal(rng, shape, mean, stddev, dtype):
    """Normal values redrawn until within two standard deviations (TF's truncated normal)."""
    out = rng.standard_normal(shape, dtype=np.float32 if dtype != np.float64 else np.float64)
    flat = out.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) > 2)
    while bad.size:
        flat[bad] = rng.standard_normal(bad.size, dtype=flat.dtype)
        bad = bad[np.abs(flat[bad]) > 2]
    return (out * stddev + mean).astype(dtype, copy=False)


def _tensor(values, dtype):
    return tf.constant(np.asarray(values, dtype=dtype))


class Initializer:
    """Base class of initializers (``tf.keras.initializers.Initializer``).

    Subclasses implement ``__call__(shape, dtype=None, **kwargs)`` and ``get_config()``.
    """

    def __call__(self, shape, dtype=None, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.__call__ must be implemented")

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Rebuilds the initializer from ``get_config()``'s output."""
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)


class Zeros(Initializer):
    """Initializes tensors with 0."""

    def __call__(self, shape, dtype=None, **kwargs):
        return _tensor(np.zeros(_shape(shape), _np_dtype(dtype)), _np_dtype(dtype))


class Ones(Initializer):
    """Initializes tensors with 1."""

    def __call__(self, shape, dtype=None, **kwargs):
        return _tensor(np.ones(_shape(shape), _np_dtype(dtype)), _np_dtype(dtype))


class Constant(Initializer):
    """Initializes tensors with the scalar (or broadcastable array) ``value``."""

    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None, **kwargs):
        d = _np_dtype(dtype)
        return _tensor(np.broadcast_to(np.asarray(self.value, d), _shape(shape)).copy(), d)

    def get_config(self):
        value = self.value
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return {"value": value}


class RandomUniform(Initializer):
    """Uniform values in ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        self.seed = seed

    def __call__(self, shape, dtype=None, **kwargs):
        d = _np_dtype(dtype)
        shape = _shape(shape)
        rng = _rng(self.seed)
        if np.issubdtype(d, np.integer):
            return _tensor(rng.integers(self.minval, self.maxval, shape), d)
        values = rng.random(shape, dtype=np.float64 if d == np.float64 else np.float32)
        return _tensor(values * (self.maxval - self.minval) + self.minval, d)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Normal values with the given ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        self.seed = seed

    def __call__(self, shape, dtype=None, **kwargs):
        d = _np_dtype(dtype)
        values = _rng(self.seed).standard_normal(
            _shape(shape), dtype=np.float64 if d == np.float64 else np.float32)
        return _tensor(values * self.stddev + self.mean, d)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal values redrawn when more than two standard deviations from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        self.seed = seed

    def __call__(self, shape, dtype=None, **kwargs):
        d = _np_dtype(dtype)
        return _tensor(_truncated_normal(_rng(self.seed), _shape(shape), self.mean,
                                         self.stddev, d), d)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Values scaled to the weight's fan (``scale / n`` variance).

    Args:
      scale: positive scaling factor.
      mode: ``'fan_in'``, ``'fan_out'`` or ``'fan_avg'`` (which n is used).
      distribution: ``'truncated_normal'``, ``'untruncated_normal'`` (or ``'normal'``)
        or ``'uniform'``.
      seed: makes every call give the same values.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be positive float. Received: scale={scale}.")
        if mode not in {"fan_in", "fan_out", "fan_avg"}:
            raise ValueError(f"Invalid `mode` argument: {mode}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in {"uniform", "truncated_normal", "untruncated_normal"}:
            raise ValueError(f"Invalid `distribution` argument: {distribution}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.seed = seed

    def __call__(self, shape, dtype=None, **kwargs):
        d = _np_dtype(dtype)
        shape = _shape(shape)
        fan_in, fan_out = _compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        fdt = np.float64 if d == np.float64 else np.float32
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / 0.87962566103423978   # std of N(0,1) cut at +-2
            return _tensor(_truncated_normal(rng, shape, 0.0, stddev, d), d)
        if self.distribution == "untruncated_normal":
            return _tensor(rng.standard_normal(shape, dtype=fdt) * math.sqrt(scale), d)
        limit = math.sqrt(3.0 * scale)
        return _tensor(rng.random(shape, dtype=fdt) * (2 * limit) - limit, d)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _SeededVariance(VarianceScaling):
    _args = ()

    def __init__(self, seed=None):
        super().__init__(*self._args, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_SeededVariance):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` (Xavier)."""
    _args = (1.0, "fan_avg", "uniform")


class GlorotNormal(_SeededVariance):
    """Truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))`` (Xavier normal)."""
    _args = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_SeededVariance):
    """Truncated normal with ``stddev = sqrt(2 / fan_in)``."""
    _args = (2.0, "fan_in", "truncated_normal")


class HeUniform(_SeededVariance):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``."""
    _args = (2.0, "fan_in", "uniform")


class LecunNormal(_SeededVariance):
    """Truncated normal with ``stddev = sqrt(1 / fan_in)``."""
    _args = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_SeededVariance):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)``."""
    _args = (1.0, "fan_in", "uniform")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal one, times ``gain``;
    tensors of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        self.seed = seed

    def __call__(self, shape, dtype=None, **kwargs):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        d = _np_dtype(dtype)
        num_rows = int(np.prod(shape[:-1]))
        num_cols = shape[-1]
        flat_shape = (max(num_cols, num_rows), min(num_cols, num_rows))
        a = _rng(self.seed).standard_normal(flat_shape)
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if num_rows < num_cols:
            q = q.T
        return _tensor(self.gain * q.reshape(shape), d)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, **kwargs):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        d = _np_dtype(dtype)
        return _tensor(self.gain * np.eye(*shape), d)

    def get_config(self):
        return {"gain": self.gain}


# Keras's lower-case names are the classes themselves (usable as `kernel_initializer=`).
zeros = Zeros
ones = Ones
constant = Constant
random_uniform = RandomUniform
random_normal = RandomNormal
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal
identity = Identity

_OBJECTS = {cls.__name__: cls for cls in (
    Initializer, Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
    LecunUniform, Orthogonal, Identity)}
_OBJECTS.update({
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform, "normal": RandomNormal,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform, "orthogonal": Orthogonal,
    "identity": Identity, "Orthogonal": Orthogonal})


def serialize(initializer):
    """``{'class_name': ..., 'config': ...}`` for ``initializer``."""
    return generic_utils.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The initializer described by ``config`` (a dict or a name)."""
    return generic_utils.deserialize_keras_object(
        config, module_objects=_OBJECTS, custom_objects=custom_objects,
        printable_module_name="initializer")


def get(identifier):
    """Resolves ``identifier`` (None, a name, a config dict, a class or a callable) to an
    initializer; a class is instantiated with its defaults."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize(str(identifier))
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
