"""Confusion-matrix metrics: ``TruePositives``/``FalsePositives``/``TrueNegatives``/
``FalseNegatives``, ``Precision``, ``Recall`` and ``AUC``.

The counts at T thresholds for M predictions come from one (T, M) comparison matrix and a
matrix product with the (weighted) labels; for evenly spaced thresholds the comparison
uses Keras's bucket rule ``ceil(p * (T - 1)) - 1 >= i`` so the counts match Keras's.
"""
import numpy as np

import numflow as tf
from numflow.keras.losses import divide_no_nan, epsilon, squeeze_or_expand_to_same_rank
from numflow.keras.metrics.base import Metric

NEG_INF = -1e10


def _to_list(x):
    return list(x) if isinstance(x, (list, tuple, np.ndarray)) else [x]


def parse_init_thresholds(thresholds, default_threshold=0.5):
    """The thresholds as a list, checking they lie in [0, 1]."""
    if thresholds is not None:
        bad = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if bad:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return _to_list(default_threshold if thresholds is None else thresholds)


def is_evenly_distributed_thresholds(thresholds):
    """True for at least 3 thresholds equal to ``i / (T - 1)`` up to epsilon."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=epsilon()))


def _filter_top_k(x, k):
    """Keeps the top ``k`` values of the last axis and sets the others to ``NEG_INF``."""
    _, idx = tf.math.top_k(x, k)
    mask = tf.reduce_sum(tf.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * mask + NEG_INF * (1.0 - mask)


def update_confusion_matrix_variables(variables_to_update, y_true, y_pred, thresholds,
                                      top_k=None, class_id=None, sample_weight=None,
                                      multi_label=False, label_weights=None,
                                      thresholds_distributed_evenly=False):
    """Adds the (weighted) confusion counts at each threshold to the variables in
    ``variables_to_update`` (keys ``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``).

    A prediction is positive at threshold ``t`` when ``y_pred > t``; ``y_true`` is cast to
    bool. Without ``multi_label`` everything is flattened and the variables have shape
    ``(T,)``; with it the last axis is kept and they have shape ``(T, num_labels)``.
    """
    thresholds = np.asarray(thresholds, np.float32).reshape(-1)
    num_t = len(thresholds)
    y_true = tf.cast(y_true, "float32")
    y_pred = tf.cast(y_pred, "float32")
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = tf.expand_dims(tf.cast(sample_weight, "float32"), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.shape.rank == 1:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with "
                             f"shape (num_samples, num_classes), found shape: {y_pred.shape}")
        y_true = y_true[..., class_id:class_id + 1]
        y_pred = y_pred[..., class_id:class_id + 1]
    labels = tf.cast(tf.math.not_equal(y_true, 0.0), "float32")
    weights = tf.ones_like(y_pred)
    if sample_weight is not None:
        weights = weights * sample_weight
    if label_weights is not None and not multi_label:
        weights = weights * tf.cast(label_weights, "float32")
    pos_w, neg_w = labels * weights, (1.0 - labels) * weights
    if thresholds_distributed_evenly:
        with_eps = bool(thresholds[0] < 0.0 or thresholds[-1] > 1.0)
        bucket = tf.math.ceil(y_pred * float(num_t - 1)) - 1.0
        if with_eps:
            bucket = tf.math.maximum(bucket, 0.0)
        index = np.arange(num_t, dtype=np.float32)
        values, refs = bucket, index
        compare = tf.math.greater_equal
    else:
        values, refs, compare = y_pred, thresholds, tf.math.greater
    if multi_label:
        refs = tf.constant(refs.reshape(-1, 1, 1))
        is_pos = tf.cast(compare(tf.expand_dims(values, 0), refs), "float32")    # (T, N, L)
        tp = tf.reduce_sum(is_pos * tf.expand_dims(pos_w, 0), axis=1)
        fp = tf.reduce_sum(is_pos * tf.expand_dims(neg_w, 0), axis=1)
        total_pos, total_neg = tf.reduce_sum(pos_w, axis=0), tf.reduce_sum(neg_w, axis=0)
    else:
        refs = tf.constant(refs.reshape(-1, 1))
        is_pos = tf.cast(compare(tf.reshape(values, [1, -1]), refs), "float32")  # (T, M)
        both = tf.stack([tf.reshape(pos_w, [-1]), tf.reshape(neg_w, [-1])], axis=1)
        counts = tf.linalg.matmul(is_pos, both)                                    # (T, 2)
        tp, fp = tf.unstack(counts, num=2, axis=1)
        total_pos, total_neg = tf.reduce_sum(pos_w), tf.reduce_sum(neg_w)
    updates = {"tp": tp, "fp": fp, "tn": lambda: total_neg - fp, "fn": lambda: total_pos - tp}
    for key, var in variables_to_update.items():
        if key not in updates:
            raise ValueError(f'Invalid key "{key}"; expected one of tp, fp, tn, fn')
        delta = updates[key]
        var.assign_add(delta() if callable(delta) else delta)


class _ConfusionMatrixConditionCount(Metric):
    """Counts one confusion-matrix cell at each threshold."""

    _KEY = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=0.5)
        self._evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             initializer="zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds this batch's counts."""
        update_confusion_matrix_variables({self._KEY: self.accumulator}, y_true, y_pred,
                                          self.thresholds, sample_weight=sample_weight,
                                          thresholds_distributed_evenly=self._evenly)

    def result(self):
        if len(self.thresholds) == 1:
            return tf.reshape(self.accumulator.value(), [])
        return tf.identity(self.accumulator)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives (``tf.keras.metrics.TruePositives(
    thresholds=None, name=None, dtype=None)``); a prediction is positive above
    ``thresholds`` (default 0.5; a list gives one count per threshold)."""
    _KEY = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives (``tf.keras.metrics.FalsePositives(
    thresholds=None, name=None, dtype=None)``)."""
    _KEY = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives (``tf.keras.metrics.TrueNegatives(
    thresholds=None, name=None, dtype=None)``)."""
    _KEY = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives (``tf.keras.metrics.FalseNegatives(
    thresholds=None, name=None, dtype=None)``)."""
    _KEY = "fn"


class _PrecisionRecall(Metric):
    _KEYS = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_init_thresholds(thresholds, default_threshold=default)
        self._evenly = is_evenly_distributed_thresholds(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros",
                                                name="true_positives")
        other = "false_positives" if self._KEYS[1] == "fp" else "false_negatives"
        setattr(self, other, self.add_variable(shape=(n,), initializer="zeros", name=other))
        self._other = getattr(self, other)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates this batch's true positives and false positives/negatives."""
        update_confusion_matrix_variables(
            {"tp": self.true_positives, self._KEYS[1]: self._other}, y_true, y_pred,
            self.thresholds, top_k=self.top_k, class_id=self.class_id,
            sample_weight=sample_weight, thresholds_distributed_evenly=self._evenly)

    def result(self):
        tp = self.true_positives.value()
        res = divide_no_nan(tp, tp + self._other.value())
        return tf.reshape(res, []) if len(self.thresholds) == 1 else res

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` (``tf.keras.metrics.Precision(thresholds=None, top_k=None,
    class_id=None, name=None, dtype=None)``).

    A prediction counts as positive above ``thresholds`` (default 0.5; a list gives one
    precision per threshold), or, with ``top_k``, when it is among the ``k`` highest of its
    row; ``class_id`` restricts to one class of the last axis.
    """
    _KEYS = ("tp", "fp")


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` (``tf.keras.metrics.Recall(thresholds=None, top_k=None,
    class_id=None, name=None, dtype=None)``); arguments as for ``Precision``."""
    _KEYS = ("tp", "fn")


class AUC(Metric):
    """Area under the ROC or precision-recall curve (``tf.keras.metrics.AUC(
    num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
    dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
    from_logits=False)``).

    Confusion counts are accumulated at ``num_thresholds`` evenly spaced thresholds (or the
    given ``thresholds`` plus -eps and 1+eps); the area is a Riemann sum with
    ``summation_method`` ``"interpolation"`` (trapezoids; for PR, Davis & Goadrich's
    interpolation), ``"minoring"`` or ``"majoring"``. ``multi_label`` keeps one curve per
    label and averages the areas (weighted by ``label_weights``).
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._direction = "up"
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR", "PRGAIN"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: '
                             f'ROC, PR, PRGAIN')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid `summation_method` argument value '
                             f'"{summation_method}". Expected one of: interpolation, '
                             f'minoring, majoring')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            thresholds = sorted(thresholds)
            self._evenly = is_evenly_distributed_thresholds(
                np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - epsilon()] + list(thresholds) + [1.0 + epsilon()])
        self.curve = curve
        self.summation_method = summation_method
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, np.float32)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build([None, num_labels])
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds used for evaluating AUC."""
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. "
                                 f"Found rank {len(shape)}.")
            self._num_labels = shape[1]
            var_shape = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        for name in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, name, self.add_variable(shape=var_shape, initializer="zeros",
                                                  name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the confusion counts at every threshold."""
        y_pred = tf.cast(y_pred, "float32")
        if not self._built:
            self._build(y_pred.shape.as_list())
        if self._from_logits:
            y_pred = tf.math.sigmoid(y_pred)
        update_confusion_matrix_variables(
            {"tp": self.true_positives, "tn": self.true_negatives,
             "fp": self.false_positives, "fn": self.false_negatives},
            y_true, y_pred, self._thresholds, sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            thresholds_distributed_evenly=self._evenly)

    def _average(self, by_threshold):
        if not self.multi_label:
            return tf.reduce_sum(by_threshold)
        by_label = tf.reduce_sum(by_threshold, axis=0)
        if self.label_weights is None:
            return tf.reduce_mean(by_label)
        return divide_no_nan(tf.reduce_sum(by_label * self.label_weights),
                                     float(np.sum(self.label_weights)))

    def interpolate_pr_auc(self):
        """The PR area with Davis & Goadrich's interpolation: TP and P = TP + FP vary
        linearly between thresholds, and precision is integrated in closed form."""
        tp, fp, fn = (v.value() for v in (self.true_positives, self.false_positives,
                                          self.false_negatives))
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, tf.math.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        ratio = tf.where(tf.math.logical_and(p[:-1] > 0.0, p[1:] > 0.0),
                         divide_no_nan(p[:-1], tf.math.maximum(p[1:], 0.0)),
                         tf.ones_like(p[1:]))
        increment = divide_no_nan(slope * (dtp + intercept * tf.math.log(ratio)),
                                          tf.math.maximum(tp[1:] + fn[1:], 0.0))
        return self._average(increment)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, tn, fn = (v.value() for v in (self.true_positives, self.false_positives,
                                              self.true_negatives, self.false_negatives))
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            no_tp = tf.math.equal(tp, 0.0)
            x = tf.math.maximum(tf.where(no_tp, tf.zeros_like(tp), recall_gain), 0.0)
            y = tf.where(no_tp, tf.ones_like(tp), precision_gain)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = tf.math.minimum(y[:-1], y[1:])
        else:
            heights = tf.math.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None else
                  self.label_weights.tolist(), "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config
