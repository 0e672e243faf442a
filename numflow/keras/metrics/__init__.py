"""Keras metrics (``tf.keras.metrics``): stateful ``Metric`` classes, per-sample metric
functions, and ``get`` / ``serialize`` / ``deserialize``.

``compile(metrics=["accuracy"])`` is resolved by the training engine (binary, categorical
or sparse accuracy chosen from the loss and shapes); ``get("accuracy")`` on its own gives
``Accuracy()`` as in Keras.
"""
import inspect

from numflow.keras.losses import (
    binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge, huber,
    kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, poisson,
    sparse_categorical_crossentropy, squared_hinge)
from numflow.keras.metrics.accuracy import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
    categorical_accuracy, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy)
from numflow.keras.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from numflow.keras.metrics.confusion import (
    AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives)
from numflow.keras.metrics.regression import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge,
    KLDivergence, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredError, MeanSquaredLogarithmicError, Poisson, RootMeanSquaredError,
    SparseCategoricalCrossentropy, SquaredHinge, cosine_similarity)
from numflow.keras.metrics.base import to_snake_case

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

_CLASSES = [Metric, Mean, Sum, MeanMetricWrapper, MeanSquaredError, RootMeanSquaredError,
            MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
            CosineSimilarity, LogCoshError, AUC, FalseNegatives, FalsePositives, Precision,
            Recall, TrueNegatives, TruePositives, Hinge, SquaredHinge, CategoricalHinge,
            KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy]
_FUNCTIONS = [accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
              top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
              mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge,
              categorical_hinge, log_cosh, huber, cosine_similarity]

# Strings resolve to classes (instantiated by ``get``), as in Keras 3.
ALL_OBJECTS_DICT = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS_DICT.update({to_snake_case(c.__name__): c for c in _CLASSES})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
    "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy, "auc": AUC, "rmse": RootMeanSquaredError, "logcosh": LogCoshError,
    "kld": KLDivergence, "KLD": KLDivergence})
_FUNCTIONS_DICT = {f.__name__: f for f in _FUNCTIONS}


def serialize(metric):
    """A JSON-friendly description of a metric function or ``Metric`` object
    (``tf.keras.metrics.serialize(metric)``), in Keras 3's ``{"module", "class_name",
    "config", "registered_name"}`` form."""
    if metric is None:
        return None
    if isinstance(metric, Metric):
        return {"module": "keras.metrics", "class_name": type(metric).__name__,
                "config": metric.get_config(), "registered_name": None}
    if callable(metric) and hasattr(metric, "__name__"):
        return {"module": "keras.metrics", "class_name": "function",
                "config": metric.__name__, "registered_name": "function"}
    raise ValueError(f"Cannot serialize metric {metric!r}")


def deserialize(config, custom_objects=None):
    """Turns ``serialize``'s output (or a Keras 2 ``{"class_name", "config"}`` dict, or a
    name) back into a metric function or ``Metric`` (``tf.keras.metrics.deserialize(config,
    custom_objects=None)``). Names are looked up only among the built-in metrics and
    ``custom_objects``."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        for table in (custom_objects, _FUNCTIONS_DICT, ALL_OBJECTS_DICT):
            if config in table:
                return table[config]
        raise ValueError(f"Unknown metric function: '{config}'. Please ensure you are using "
                         f"a `keras.utils.custom_object_scope` or pass it in "
                         f"`custom_objects`.")
    if isinstance(config, dict):
        class_name, inner = config.get("class_name"), config.get("config")
        if class_name == "function":
            return deserialize(inner, custom_objects)
        cls = custom_objects.get(class_name) or ALL_OBJECTS_DICT.get(class_name)
        if cls is None:
            raise ValueError(f"Unknown metric class: '{class_name}'")
        if not inspect.isclass(cls):
            return cls
        inner = dict(inner or {})
        if "fn" in inner and isinstance(inner["fn"], (str, dict)):
            inner["fn"] = deserialize(inner["fn"], custom_objects)
        return cls.from_config(inner)
    raise ValueError(f"Could not interpret metric identifier: {config!r}")


def get(identifier):
    """Resolves ``identifier`` (``None``, a name such as ``"mse"``/``"AUC"``/
    ``"categorical_accuracy"``, a config dict, a function, a ``Metric`` class or object) to
    a metric function or ``Metric`` instance (``tf.keras.metrics.get``). Names of classes
    give a fresh instance."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier) or _FUNCTIONS_DICT.get(identifier)
        if obj is None:
            raise ValueError(f"Could not interpret metric identifier: {identifier}")
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    return obj


__all__ = sorted({c.__name__ for c in _CLASSES} | set(_FUNCTIONS_DICT) | {
    "get", "serialize", "deserialize", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle",
    "MSLE", "kld", "KLD", "kullback_leibler_divergence", "logcosh"})
