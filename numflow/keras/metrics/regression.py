"""Regression, probabilistic and hinge metrics: mean-of-per-sample-loss metrics built with
``MeanMetricWrapper``, plus ``RootMeanSquaredError``."""
import numflow as tf
from numflow.keras import losses
from numflow.keras.losses import divide_no_nan, squeeze_or_expand_to_same_rank
from numflow.keras.metrics.base import Mean, wrapper_class


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine similarity ``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``
    (``tf.keras.metrics.cosine_similarity(y_true, y_pred, axis=-1)``), in [-1, 1]."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


MeanSquaredError = wrapper_class("MeanSquaredError", losses.mean_squared_error,
                                 "mean_squared_error", "Mean of ``square(y_true - y_pred)``")
MeanAbsoluteError = wrapper_class("MeanAbsoluteError", losses.mean_absolute_error,
                                  "mean_absolute_error", "Mean of ``abs(y_true - y_pred)``")
MeanAbsolutePercentageError = wrapper_class(
    "MeanAbsolutePercentageError", losses.mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "Mean absolute percentage error")
MeanSquaredLogarithmicError = wrapper_class(
    "MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean squared logarithmic error")
CosineSimilarity = wrapper_class(
    "CosineSimilarity", cosine_similarity, "cosine_similarity",
    "Mean cosine similarity of labels and predictions", [("axis", -1)], direction="up")
LogCoshError = wrapper_class("LogCoshError", losses.log_cosh, "logcosh",
                             "Mean of ``log(cosh(y_pred - y_true))``")
BinaryCrossentropy = wrapper_class(
    "BinaryCrossentropy", losses.binary_crossentropy, "binary_crossentropy",
    "Mean binary cross-entropy", [("from_logits", False), ("label_smoothing", 0)])
CategoricalCrossentropy = wrapper_class(
    "CategoricalCrossentropy", losses.categorical_crossentropy, "categorical_crossentropy",
    "Mean categorical cross-entropy",
    [("from_logits", False), ("label_smoothing", 0), ("axis", -1)])
SparseCategoricalCrossentropy = wrapper_class(
    "SparseCategoricalCrossentropy", losses.sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy", "Mean sparse categorical cross-entropy",
    [("from_logits", False), ("axis", -1)])
KLDivergence = wrapper_class("KLDivergence", losses.kl_divergence, "kl_divergence",
                             "Mean Kullback-Leibler divergence")
Poisson = wrapper_class("Poisson", losses.poisson, "poisson", "Mean Poisson loss")
Hinge = wrapper_class("Hinge", losses.hinge, "hinge", "Mean hinge loss")
SquaredHinge = wrapper_class("SquaredHinge", losses.squared_hinge, "squared_hinge",
                             "Mean squared hinge loss")
CategoricalHinge = wrapper_class("CategoricalHinge", losses.categorical_hinge,
                                 "categorical_hinge", "Mean categorical hinge loss")


class RootMeanSquaredError(Mean):
    """``sqrt(mean(square(y_true - y_pred)))`` over everything seen (``tf.keras.metrics.
    RootMeanSquaredError(name="root_mean_squared_error", dtype=None)``)."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's squared errors (weighted by ``sample_weight``) to the mean."""
        y_pred = tf.cast(y_pred, self.dtype)
        y_true = tf.cast(y_true, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(tf.math.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return tf.math.sqrt(divide_no_nan(self.total.value(), self.count.value()))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
