"""NumPy helpers for labels and features (``tf.keras.utils.to_categorical`` / ``normalize``)."""
import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """Converts a class vector (integers) to a one-hot matrix (``tf.keras.utils.to_categorical``).

    Args:
      y: array-like of class indices from 0 to ``num_classes - 1``; a trailing axis of size 1
        is dropped (``(n, 1)`` labels give ``(n, num_classes)``).
      num_classes: total number of classes; ``max(y) + 1`` if None.
      dtype: the result's dtype.

    Returns:
      A one-hot array of shape ``y.shape + (num_classes,)``.
    """
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.ravel()
    if not num_classes:
        num_classes = int(np.max(y)) + 1
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scales ``x`` to unit ``order``-norm along ``axis`` (``tf.keras.utils.normalize``);
    zero vectors stay zero."""
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
