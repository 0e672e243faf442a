"""Keras backend utilities (``tf.keras.backend``): global settings (float type, epsilon,
image data format), name uids, ``clear_session``, and a few tensor helpers written with
numflow's public ops."""
import numpy as np

import numflow as tf

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_UIDS = {}
_SESSION_HOOKS = []


def floatx():
    """The default float type as a string, ``'float32'`` unless set."""
    return _FLOATX


def set_floatx(value):
    """Sets the default float type (``'float16'``, ``'float32'`` or ``'float64'``)."""
    global _FLOATX
    accepted = {"float16", "float32", "float64", "bfloat16"}
    if value not in accepted:
        raise ValueError(f"Unknown `floatx` value: {value}. Expected one of {accepted}")
    _FLOATX = str(value)


def epsilon():
    """The fuzz factor used in numeric expressions (default 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Sets the fuzz factor returned by ``epsilon()``."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """``'channels_last'`` (default) or ``'channels_first'``."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Sets the default image data format."""
    global _IMAGE_DATA_FORMAT
    if data_format not in {"channels_last", "channels_first"}:
        raise ValueError(f"Unknown data_format: {data_format}")
    _IMAGE_DATA_FORMAT = str(data_format)


def get_uid(prefix=""):
    """Returns 1, 2, 3... on successive calls with the same prefix (``backend.get_uid``)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


def reset_uids():
    """Resets every uid counter (layer names restart at ``dense``, ``dense_1``...)."""
    _UIDS.clear()


def unique_object_name(name, zero_based=True):
    """``name``, ``name_1``, ``name_2``... (zero_based) or ``name_1``, ``name_2``...."""
    n = get_uid(name)
    if zero_based:
        return name if n == 1 else f"{name}_{n - 1}"
    return f"{name}_{n}"


def register_clear_session_hook(fn):
    """Registers ``fn()`` to run in ``clear_session`` (used by Keras modules with caches)."""
    _SESSION_HOOKS.append(fn)


def clear_session():
    """Resets Keras's global state: layer-name counters and cached functions
    (``tf.keras.backend.clear_session``)."""
    reset_uids()
    for fn in _SESSION_HOOKS:
        fn()
    if not tf.executing_eagerly():
        tf.compat.v1.reset_default_graph()


def is_keras_tensor(x):
    """True if ``x`` is a symbolic Keras tensor (an ``Input`` or a layer output built from one)."""
    from numflow.keras.engine.keras_tensor import KerasTensor
    return isinstance(x, KerasTensor)


def int_shape(x):
    """The static shape of ``x`` as a tuple of ints/None (``backend.int_shape``)."""
    shape = x.shape
    if hasattr(shape, "as_list"):
        if shape.rank is None:
            return None
        return tuple(shape.as_list())
    return tuple(shape)


def ndim(x):
    """The rank of ``x``."""
    shape = int_shape(x)
    return None if shape is None else len(shape)


def dtype(x):
    """The dtype name of ``x`` (``'float32'``...)."""
    d = x.dtype
    return getattr(getattr(d, "base_dtype", d), "name", str(d))


def cast_to_floatx(x):
    """Casts a NumPy array to ``floatx()``."""
    return np.asarray(x, dtype=_FLOATX)


def get_value(x):
    """The value of a variable or eager tensor as a NumPy array (or Python number)."""
    if isinstance(x, (int, float)):
        return x
    if hasattr(x, "numpy"):
        return x.numpy()
    return np.asarray(x)


def batch_get_value(tensors):
    """``get_value`` for each element of ``tensors``."""
    return [get_value(t) for t in tensors]


def set_value(x, value):
    """Assigns ``value`` (NumPy or Python) to variable ``x``."""
    x.assign(np.asarray(value, dtype=x.dtype.base_dtype.as_numpy_dtype))


def batch_set_value(tuples):
    """``set_value`` for each ``(variable, value)`` pair."""
    for x, value in tuples:
        set_value(x, value)


def variable(value, dtype=None, name=None, constraint=None):
    """A ``tf.Variable`` initialised to ``value`` (``backend.variable``)."""
    v = np.asarray(value, dtype=dtype or _FLOATX)
    return tf.Variable(v, name=name, constraint=constraint)


def constant(value, dtype=None, shape=None, name=None):
    """A constant tensor of ``floatx()`` type unless ``dtype`` is given."""
    return tf.constant(value, dtype=dtype or _FLOATX, shape=shape, name=name or "Const")


def learning_phase():
    """0: Keras calls layers with ``training`` given explicitly; kept for old code."""
    return 0


def set_learning_phase(value):
    """Accepted for old code; the training flag is passed to layers explicitly."""
    if value not in (0, 1):
        raise ValueError("Expected learning phase to be 0 or 1.")


def mean(x, axis=None, keepdims=False):
    """Mean of ``x`` along ``axis``."""
    return tf.reduce_mean(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    """Sum of ``x`` along ``axis``."""
    return tf.reduce_sum(x, axis=axis, keepdims=keepdims)


def square(x):
    """Elementwise square."""
    return tf.square(x)


def sqrt(x):
    """Elementwise square root (negative inputs clipped to 0, as Keras does)."""
    return tf.sqrt(tf.maximum(x, tf.zeros_like(x)))


def abs(x):  # noqa: A001 - Keras's name
    """Elementwise absolute value."""
    return tf.abs(x)


def exp(x):
    """Elementwise exponential."""
    return tf.exp(x)


def log(x):
    """Elementwise natural logarithm."""
    return tf.math.log(x)


def clip(x, min_value, max_value):
    """Elementwise clipping into ``[min_value, max_value]``."""
    return tf.clip_by_value(x, min_value, max_value)


def maximum(x, y):
    """Elementwise maximum."""
    return tf.maximum(x, y)


def minimum(x, y):
    """Elementwise minimum."""
    return tf.minimum(x, y)


def dot(x, y):
    """Matrix product of 2-D tensors."""
    return tf.matmul(x, y)


def concatenate(tensors, axis=-1):
    """Concatenates ``tensors`` along ``axis``."""
    return tf.concat(list(tensors), axis=axis)


def reshape(x, shape):
    """Reshapes ``x`` to ``shape``."""
    return tf.reshape(x, shape)


def softmax(x, axis=-1):
    """Softmax along ``axis``."""
    return tf.nn.softmax(x, axis=axis)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit (see ``tf.keras.activations.relu``)."""
    from numflow.keras import activations
    return activations.relu(x, alpha=alpha, max_value=max_value, threshold=threshold)


def sigmoid(x):
    """Elementwise sigmoid."""
    return tf.sigmoid(x)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (``backend.binary_crossentropy``)."""
    if from_logits:
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    eps = _EPSILON
    output = tf.clip_by_value(output, eps, 1.0 - eps)
    return -(target * tf.math.log(output) + (1.0 - target) * tf.math.log(1.0 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Categorical cross-entropy between one-hot ``target`` and ``output``."""
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=output, axis=axis)
    output = output / tf.reduce_sum(output, axis=axis, keepdims=True)
    output = tf.clip_by_value(output, _EPSILON, 1.0 - _EPSILON)
    return -tf.reduce_sum(target * tf.math.log(output), axis=axis)
