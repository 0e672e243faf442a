"""Accuracy metrics: per-sample functions (``binary_accuracy``, ``categorical_accuracy``...)
and the ``MeanMetricWrapper`` classes that average them."""
import numflow as tf
from numflow.keras.losses import squeeze_or_expand_to_same_rank
from numflow.keras.metrics.base import MeanMetricWrapper
from numflow.ops.apply import convert_to_tensor


def _float_pred(y_pred):
    y_pred = convert_to_tensor(y_pred)
    return y_pred if y_pred.dtype.is_floating else tf.cast(y_pred, "float32")


def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` else 0.0, elementwise (``tf.keras.metrics.accuracy``
    as used by ``Accuracy``)."""
    y_pred = _float_pred(y_pred)
    y_true = tf.cast(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return tf.cast(tf.math.equal(y_true, y_pred), "float32")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_true`` equals ``y_pred > threshold`` (``tf.keras.metrics.
    binary_accuracy(y_true, y_pred, threshold=0.5)``), elementwise."""
    y_pred = _float_pred(y_pred)
    y_true = convert_to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = tf.cast(tf.math.greater(y_pred, tf.cast(threshold, y_pred.dtype)), y_true.dtype)
    return tf.cast(tf.math.equal(y_true, predicted), "float32")


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true, -1) == argmax(y_pred, -1)`` (``tf.keras.metrics.
    categorical_accuracy(y_true, y_pred)``), one value per sample."""
    y_pred = _float_pred(y_pred)
    labels = tf.math.argmax(convert_to_tensor(y_true), axis=-1)
    if labels.shape.rank == y_pred.shape.rank and labels.shape[-1] == 1:
        labels = tf.squeeze(labels, [-1])
    predicted = tf.math.argmax(y_pred, axis=-1)
    return tf.cast(tf.math.equal(labels, predicted), "float32")


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals ``argmax(y_pred, -1)`` (``tf.keras.metrics.
    sparse_categorical_accuracy(y_true, y_pred)``); labels of shape ``(N,)`` or
    ``(N, 1)``, ints or floats."""
    y_pred = _float_pred(y_pred)
    y_true = tf.cast(y_true, y_pred.dtype)
    if y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, [-1])
    predicted = tf.cast(tf.math.argmax(y_pred, axis=-1), y_true.dtype)
    return tf.cast(tf.math.equal(y_true, predicted), "float32")


def _flat_for_top_k(y_pred, labels):
    """Flattens ``(..., C)`` predictions to ``(M, C)`` and labels to ``(M,)``."""
    shape = None
    if y_pred.shape.rank is not None and y_pred.shape.rank > 2:
        y_pred = tf.reshape(y_pred, [-1, y_pred.shape[-1]])
    if labels.shape.rank is not None and labels.shape.rank > 1:
        shape = tf.shape(labels)
        labels = tf.reshape(labels, [-1])
    return y_pred, labels, shape


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target is among the ``k`` highest predictions
    (``tf.keras.metrics.top_k_categorical_accuracy(y_true, y_pred, k=5)``)."""
    y_pred = _float_pred(y_pred)
    labels = tf.cast(tf.math.argmax(convert_to_tensor(y_true), axis=-1), "int32")
    y_pred, labels, shape = _flat_for_top_k(y_pred, labels)
    matches = tf.cast(tf.math.in_top_k(labels, y_pred, k), "float32")
    return matches if shape is None else tf.reshape(matches, shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer target is among the ``k`` highest predictions
    (``tf.keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=5,
    from_sorted_ids=False)``). With ``from_sorted_ids``, ``y_pred`` already holds class
    ids sorted by score and the first ``k`` are checked."""
    y_pred = convert_to_tensor(y_pred)
    labels = convert_to_tensor(y_true)
    if labels.shape.rank == y_pred.shape.rank and labels.shape[-1] == 1 and \
            not from_sorted_ids:
        labels = tf.squeeze(labels, [-1])
    if from_sorted_ids:
        labels = tf.cast(labels, y_pred.dtype)
        y_pred, labels, shape = _flat_for_top_k(y_pred, labels)
        top = y_pred[:, :k]
        matches = tf.reduce_any(tf.math.equal(tf.expand_dims(labels, 1), top), axis=1)
    else:
        y_pred = _float_pred(y_pred)
        labels = tf.cast(labels, "int32")
        y_pred, labels, shape = _flat_for_top_k(y_pred, labels)
        matches = tf.math.in_top_k(labels, y_pred, k)
    matches = tf.cast(matches, "float32")
    return matches if shape is None else tf.reshape(matches, shape)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels (``tf.keras.metrics.Accuracy(name="accuracy",
    dtype=None)``)."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches binary labels (``tf.keras.metrics.
    BinaryAccuracy(name="binary_accuracy", dtype=None, threshold=0.5)``)."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of predictions matches that of one-hot labels
    (``tf.keras.metrics.CategoricalAccuracy(name="categorical_accuracy", dtype=None)``)."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of predictions matches integer labels (``tf.keras.metrics.
    SparseCategoricalAccuracy(name="sparse_categorical_accuracy", dtype=None)``)."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often one-hot targets are in the top ``k`` predictions (``tf.keras.metrics.
    TopKCategoricalAccuracy(k=5, name="top_k_categorical_accuracy", dtype=None)``)."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often integer targets are in the top ``k`` predictions (``tf.keras.metrics.
    SparseTopKCategoricalAccuracy(k=5, name="sparse_top_k_categorical_accuracy",
    dtype=None, from_sorted_ids=False)``)."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids
        self._direction = "up"

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
