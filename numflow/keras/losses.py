"""Keras losses (``tf.keras.losses``): per-sample loss functions, ``Loss`` classes with
reductions and sample weights, and ``get`` / ``serialize`` / ``deserialize``.

Everything is written with numflow's public ops, so a loss runs eagerly and inside a
``tf.function`` trace alike; the numbers follow Keras 3 (float32, ``epsilon=1e-7``).
"""
import inspect
import re

import numflow as tf
from numflow.eager.tensor import EagerTensor
from numflow.graph.tensor import Tensor
from numflow.ops.apply import convert_to_tensor
from numflow.keras.utils.generic_utils import bind_arguments

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight",
               "auto")


def epsilon():
    """The fuzz factor Keras adds to avoid division by zero (``keras.backend.epsilon()``)."""
    from numflow.keras import backend
    return float(backend.epsilon())


def _float(x, dtype="float32"):
    """``x`` as a tensor of ``dtype`` (labels may arrive as ints, lists or NumPy arrays)."""
    return tf.cast(x, dtype)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeezes or expands the last axis when the ranks of ``x1`` and ``x2`` differ by one
    and the longer one ends in 1 (Keras's rule for matching labels to predictions)."""
    r1, r2 = x1.shape.rank, x2.shape.rank
    if r1 is None or r2 is None or r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = tf.expand_dims(x2, -1)
        else:
            x1 = tf.squeeze(x1, [-1])
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = tf.expand_dims(x1, -1)
        else:
            x2 = tf.squeeze(x2, [-1])
    return x1, x2


def divide_no_nan(x, y):
    """``x / y`` with 0 where ``y == 0`` (``tf.math.divide_no_nan``; composed from public
    ops where the op library lacks it)."""
    op = getattr(tf.math, "divide_no_nan", None)
    if op is not None:
        return op(x, y)
    y = convert_to_tensor(y)
    zero = tf.math.equal(y, 0.0)
    quotient = x / tf.where(zero, tf.ones_like(y), y)
    return tf.where(zero, tf.zeros_like(quotient), quotient)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype="float32"):
    """Applies ``sample_weight`` (and an optional boolean ``mask``) to per-sample ``values``,
    then reduces them: ``"sum"``, ``"sum_over_batch_size"``/``"mean"`` (sum divided by the
    number of elements), ``"mean_with_sample_weight"`` (sum divided by the weights' sum), or
    ``"none"``/``None`` (unreduced)."""
    reduction = standardize_reduction(reduction)
    values = _float(values, dtype)
    if mask is not None:
        mask = _float(mask, dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            # valid entries weigh total/valid so that dividing by the total averages over them
            mask = mask * divide_no_nan(tf.cast(tf.size(mask), dtype), tf.reduce_sum(mask))
        if sample_weight is None:
            sample_weight = mask
        else:
            mask, sample_weight = squeeze_or_expand_to_same_rank(mask, _float(sample_weight,
                                                                              dtype))
            sample_weight = sample_weight * mask
    if sample_weight is not None:
        sample_weight = _float(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    if reduction in (None, "none") or values.shape.rank == 0:
        return values
    loss = tf.reduce_sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = tf.reduce_sum(sample_weight)
    else:
        divisor = tf.cast(tf.size(values), dtype)
    return divide_no_nan(loss, divisor)


class Reduction:
    """The Keras 2 reduction names (``tf.keras.losses.Reduction``): ``AUTO``, ``NONE``,
    ``SUM``, ``SUM_OVER_BATCH_SIZE``; ``Loss(reduction=...)`` takes these strings."""
    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        """The four reduction strings."""
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key):
        """Raises ValueError unless ``key`` is one of ``all()``."""
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


def standardize_reduction(reduction):
    """Checks ``reduction``; ``"auto"`` (the Keras 2 default) means ``"sum_over_batch_size"``."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{_REDUCTIONS}. Received: reduction={reduction}")
    return "sum_over_batch_size" if reduction == "auto" else reduction


class Loss:
    """Loss base class (``tf.keras.losses.Loss(name=None, reduction="sum_over_batch_size",
    dtype=None)``).

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses;
    ``__call__(y_true, y_pred, sample_weight=None)`` converts the inputs to ``dtype``
    (float32), applies ``sample_weight`` and reduces: ``"sum_over_batch_size"`` (default,
    also ``"auto"``/``"mean"``), ``"sum"``, ``"mean_with_sample_weight"`` or ``"none"``.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = tf.as_dtype(dtype or "float32").name

    @property
    def dtype(self):
        """The dtype the inputs are converted to (``"float32"`` by default)."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        with tf.name_scope(_scope_name(self.name)):
            y_pred, y_true = (
                {k: _float(v, self._dtype) for k, v in y.items()} if isinstance(y, dict)
                else _float(y, self._dtype) for y in (y_pred, y_true))
            losses, mask = self._call_with_mask(y_true, y_pred)
            return reduce_weighted_values(losses, sample_weight, mask, self.reduction,
                                          self._dtype)

    def _call_with_mask(self, y_true, y_pred):
        return self.call(y_true, y_pred), None

    def call(self, y_true, y_pred):
        """Returns the per-sample losses; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        """The constructor arguments as a JSON-serialisable dict."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        """Rebuilds the loss from ``get_config()``'s output."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _scope_name(name):
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in name) or "loss"


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class LossFunctionWrapper(Loss):
    """Wraps a per-sample loss function ``fn(y_true, y_pred, **kwargs)`` as a ``Loss``
    (``tf.keras.losses.LossFunctionWrapper(fn, reduction="sum_over_batch_size", name=None,
    dtype=None, **kwargs)``). Labels and predictions are first squeezed/expanded to the
    same rank."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        if isinstance(y_true, Tensor) and isinstance(y_pred, Tensor):
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)


# ---- per-sample functions ---------------------------------------------------------------

def _pair(y_true, y_pred, squeeze=True):
    y_pred = convert_to_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = tf.cast(y_pred, "float32")
    y_true = tf.cast(y_true, y_pred.dtype)
    if squeeze:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)`` (``tf.keras.losses.mean_squared_error``,
    alias ``mse``). Returns one value per sample (the last axis is reduced)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(tf.math.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)`` (``tf.keras.losses.mean_absolute_error``,
    alias ``mae``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return tf.reduce_mean(tf.math.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), epsilon)), axis=-1)``
    (``tf.keras.losses.mean_absolute_percentage_error``, alias ``mape``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = tf.math.abs((y_true - y_pred) / tf.math.maximum(tf.math.abs(y_true), epsilon()))
    return 100.0 * tf.reduce_mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``
    (``tf.keras.losses.mean_squared_logarithmic_error``, alias ``msle``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = epsilon()
    first = tf.math.log(tf.math.maximum(y_pred, eps) + 1.0)
    second = tf.math.log(tf.math.maximum(y_true, eps) + 1.0)
    return tf.reduce_mean(tf.math.square(first - second), axis=-1)


def _l2_normalize(x, axis):
    eps = epsilon()
    square_sum = tf.reduce_sum(tf.math.square(x), axis=axis, keepdims=True)
    return x * tf.math.rsqrt(tf.math.maximum(square_sum, eps * eps))


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``
    (``tf.keras.losses.cosine_similarity(y_true, y_pred, axis=-1)``): -1 means the vectors
    point the same way, 0 orthogonal (or a zero vector)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -tf.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss (``tf.keras.losses.huber(y_true, y_pred, delta=1.0)``): with
    ``e = y_pred - y_true``, ``0.5 * e**2`` where ``|e| <= delta`` else
    ``delta * |e| - 0.5 * delta**2``, averaged over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = tf.math.abs(error)
    delta = tf.cast(delta, y_pred.dtype)
    quadratic = 0.5 * tf.math.square(error)
    linear = delta * abs_error - 0.5 * tf.math.square(delta)
    return tf.reduce_mean(tf.where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)`` computed stably as
    ``x + softplus(-2x) - log(2)`` (``tf.keras.losses.log_cosh``, alias ``logcosh``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return tf.reduce_mean(x + tf.math.softplus(-2.0 * x) - 0.6931471805599453, axis=-1)


def _hinge_labels(y_true):
    """Maps {0, 1} labels to {-1, 1}; other labels are kept (a graph-safe select)."""
    binary = tf.reduce_all(tf.math.logical_or(tf.math.equal(y_true, 0.0),
                                              tf.math.equal(y_true, 1.0)))
    b = tf.cast(binary, y_true.dtype)
    return b * (2.0 * y_true - 1.0) + (1.0 - b) * y_true


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)`` (``tf.keras.losses.hinge``);
    labels in {0, 1} are converted to {-1, 1}."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    y_true = _hinge_labels(y_true)
    return tf.reduce_mean(tf.math.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``
    (``tf.keras.losses.squared_hinge``); labels in {0, 1} are converted to {-1, 1}."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    y_true = _hinge_labels(y_true)
    return tf.reduce_mean(tf.math.square(tf.math.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred, -1)`` and
    ``neg = max((1 - y_true) * y_pred, -1)`` (``tf.keras.losses.categorical_hinge``)."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    pos = tf.reduce_sum(y_true * y_pred, axis=-1)
    neg = tf.reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return tf.math.maximum(neg - pos + 1.0, 0.0)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[eps, 1]``
    (``tf.keras.losses.kl_divergence``, aliases ``kld``, ``kullback_leibler_divergence``)."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    y_true = tf.clip_by_value(y_true, epsilon(), 1.0)
    y_pred = tf.clip_by_value(y_pred, epsilon(), 1.0)
    return tf.reduce_sum(y_true * tf.math.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + eps), axis=-1)`` (``tf.keras.losses.poisson``)."""
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + epsilon()), axis=-1)


def _logits_of(output, from_logits, op_type):
    """In a graph, a probability tensor made by a Softmax/Sigmoid op is replaced by the op's
    input (its logits), as TensorFlow's Keras does, for a numerically stable loss."""
    if type(output) is not EagerTensor and isinstance(output, Tensor):
        op = getattr(output, "op", None)
        if op is not None and op.type == op_type and len(op.inputs) == 1:
            return op.inputs[0], True
    return output, from_logits


def _check_same_shape(target, output, fn):
    a, b = target.shape, output.shape
    if a.rank is not None and b.rank is not None and \
            (a.rank != b.rank or not a.is_compatible_with(b)):
        raise ValueError(f"{fn}: arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={a}, output.shape={b}")


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy averaged over ``axis`` (``tf.keras.losses.binary_crossentropy(
    y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1)``).

    Probabilities are clipped to ``[eps, 1 - eps]``; with ``from_logits`` the stable
    ``sigmoid_cross_entropy_with_logits`` is used. ``label_smoothing`` squeezes the labels
    towards 0.5: ``y * (1 - ls) + 0.5 * ls``.
    """
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    output, from_logits = _logits_of(y_pred, from_logits, "Sigmoid")
    if from_logits:
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=output)
    else:
        eps = epsilon()
        output = tf.clip_by_value(output, eps, 1.0 - eps)
        bce = -(y_true * tf.math.log(output) + (1.0 - y_true) * tf.math.log(1.0 - output))
    return tf.reduce_mean(bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy over ``axis`` for one-hot labels
    (``tf.keras.losses.categorical_crossentropy(y_true, y_pred, from_logits=False,
    label_smoothing=0.0, axis=-1)``).

    Probabilities are first normalised to sum to 1 along ``axis`` and clipped to
    ``[eps, 1 - eps]``; ``from_logits`` uses ``softmax_cross_entropy_with_logits``.
    ``label_smoothing`` gives ``y * (1 - ls) + ls / num_classes``.
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis}")
    y_true, y_pred = _pair(y_true, y_pred, squeeze=False)
    if label_smoothing:
        n = y_true.shape[-1]
        n = tf.cast(tf.shape(y_true)[-1], y_pred.dtype) if n is None else float(n)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    output, from_logits = _logits_of(y_pred, from_logits, "Softmax")
    if from_logits:
        return tf.nn.softmax_cross_entropy_with_logits(labels=y_true, logits=output, axis=axis)
    eps = epsilon()
    output = output / tf.reduce_sum(output, axis=axis, keepdims=True)
    output = tf.clip_by_value(output, eps, 1.0 - eps)
    return -tf.reduce_sum(y_true * tf.math.log(output), axis=axis)


def _sparse_xent(y_true, y_pred, from_logits, ignore_class, axis):
    """Per-sample sparse categorical cross-entropy and the valid-entry mask (or None)."""
    y_pred = convert_to_tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = tf.cast(y_pred, "float32")
    y_true = convert_to_tensor(y_true)
    rank = y_pred.shape.rank
    if axis not in (-1, None) and rank is not None and axis != rank - 1:
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    if y_true.shape.rank == rank and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, [-1])
    if y_true.shape.rank is not None and rank is not None and y_true.shape.rank != rank - 1:
        raise ValueError(f"Argument `output` must have rank (ndim) `target.ndim + 1`. "
                         f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}")
    mask = None
    if ignore_class is not None:
        mask = tf.math.not_equal(tf.cast(y_true, "int64"), int(ignore_class))
        y_true = tf.where(mask, y_true, tf.zeros_like(y_true))
    labels = tf.cast(y_true, "int64")
    output, from_logits = _logits_of(y_pred, from_logits, "Softmax")
    if not from_logits:
        eps = epsilon()
        output = tf.math.log(tf.clip_by_value(output, eps, 1.0 - eps))
    res = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=output)
    if mask is not None:
        res = tf.where(mask, res, tf.zeros_like(res))
    return res, mask


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Categorical cross-entropy for integer labels (``tf.keras.losses.
    sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
    axis=-1)``).

    ``y_true`` holds class ids (ints or floats) of shape ``y_pred.shape[:-1]`` or with a
    trailing 1; probabilities are clipped to ``[eps, 1 - eps]``. Entries whose label equals
    ``ignore_class`` get a loss of 0.
    """
    return _sparse_xent(y_true, y_pred, from_logits, ignore_class, axis)[0]


# ---- Loss classes --------------------------------------------------------------------------

def _make(class_name, fn, default_name, summary, params=()):
    """Builds the ``Loss`` class wrapping ``fn``. ``params`` are (name, default) pairs of
    ``fn``'s keyword arguments; positional arguments follow Keras's order: the params, then
    ``reduction``, ``name``, ``dtype``. The docstring gives Keras's signature."""
    order = [p for p, _ in params] + ["reduction", "name", "dtype"]
    defaults = dict(params, reduction="sum_over_batch_size", name=default_name, dtype=None)
    signature = ", ".join(f"{k}={defaults[k]!r}" for k in order).replace("'", '"')
    doc = f"{summary} (``tf.keras.losses.{class_name}({signature})``); see ``{fn.__name__}``."

    def __init__(self, *args, **kwargs):
        values = bind_arguments(class_name, order, defaults, args, kwargs)
        base = {k: values.pop(k) for k in ("reduction", "name", "dtype")}
        LossFunctionWrapper.__init__(self, fn, **base, **values)
        self.__dict__.update(values)

    def get_config(self):
        config = Loss.get_config(self)
        config.update({p: getattr(self, p) for p, _ in params})
        return config

    def from_config(cls, config):
        return cls(**config)

    return type(class_name, (LossFunctionWrapper,), {
        "__init__": __init__, "get_config": get_config, "from_config": classmethod(from_config),
        "__doc__": doc, "__module__": __name__})


MeanSquaredError = _make("MeanSquaredError", mean_squared_error, "mean_squared_error",
                         "Mean of squared errors")
MeanAbsoluteError = _make("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                          "Mean of absolute errors")
MeanAbsolutePercentageError = _make(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "``100 * mean(|(y_true - y_pred) / y_true|)``")
MeanSquaredLogarithmicError = _make(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "``mean(square(log(y_true + 1) - log(y_pred + 1)))``")
CosineSimilarity = _make("CosineSimilarity", cosine_similarity, "cosine_similarity",
                         "Negative cosine similarity along ``axis``", [("axis", -1)])
Huber = _make("Huber", huber, "huber_loss",
              "Huber loss, quadratic below ``delta`` and linear above", [("delta", 1.0)])
LogCosh = _make("LogCosh", log_cosh, "log_cosh", "Log of the hyperbolic cosine of the error")
Hinge = _make("Hinge", hinge, "hinge", "``maximum(1 - y_true * y_pred, 0)``")
SquaredHinge = _make("SquaredHinge", squared_hinge, "squared_hinge",
                     "``square(maximum(1 - y_true * y_pred, 0))``")
CategoricalHinge = _make("CategoricalHinge", categorical_hinge, "categorical_hinge",
                         "``maximum(neg - pos + 1, 0)``")
KLDivergence = _make("KLDivergence", kl_divergence, "kl_divergence",
                     "Kullback-Leibler divergence ``y_true * log(y_true / y_pred)``")
Poisson = _make("Poisson", poisson, "poisson", "``y_pred - y_true * log(y_pred)``")
BinaryCrossentropy = _make(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy", "Binary cross-entropy",
    [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)])
CategoricalCrossentropy = _make(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    "Cross-entropy for one-hot labels",
    [("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)])
_SparseBase = _make(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy", "", [("from_logits", False), ("ignore_class", None)])


class SparseCategoricalCrossentropy(_SparseBase):
    """Cross-entropy for integer labels (``tf.keras.losses.SparseCategoricalCrossentropy(
    from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
    name="sparse_categorical_crossentropy", dtype=None)``).

    With ``ignore_class``, entries with that label are masked out: they add nothing and
    ``"sum_over_batch_size"`` averages over the remaining entries only.
    """

    def _call_with_mask(self, y_true, y_pred):
        return _sparse_xent(y_true, y_pred, self.from_logits, self.ignore_class, -1)


# ---- lookup and serialisation ------------------------------------------------------------

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

_FUNCTIONS = [mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, hinge,
              squared_hinge, categorical_hinge, kl_divergence, poisson, binary_crossentropy,
              categorical_crossentropy, sparse_categorical_crossentropy]
_CLASSES = [Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError,
            MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, Huber,
            LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
            BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy]
ALL_OBJECTS_DICT = {o.__name__: o for o in _FUNCTIONS + _CLASSES}
ALL_OBJECTS_DICT.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape,
                         "MAPE": mape, "msle": msle, "MSLE": msle, "kld": kld, "KLD": kld,
                         "kullback_leibler_divergence": kld, "logcosh": log_cosh,
                         "bce": bce, "BCE": bce, "huber_loss": huber})


def serialize(loss):
    """A JSON-friendly description of a loss function or ``Loss`` object
    (``tf.keras.losses.serialize(loss)``), in Keras 3's ``{"module", "class_name",
    "config", "registered_name"}`` form."""
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    if callable(loss) and hasattr(loss, "__name__"):
        return {"module": "keras.losses", "class_name": "function", "config": loss.__name__,
                "registered_name": "function"}
    raise ValueError(f"Cannot serialize loss {loss!r}")


def deserialize(name, custom_objects=None):
    """Turns ``serialize``'s output, a Keras 2 ``{"class_name", "config"}`` dict or a name
    back into a loss (``tf.keras.losses.deserialize(name, custom_objects=None)``). Names are
    looked up only among the built-in losses and ``custom_objects``."""
    table = dict(ALL_OBJECTS_DICT)
    table.update(custom_objects or {})
    if isinstance(name, str):
        if name not in table:
            raise ValueError(f"Unknown loss function: '{name}'. Please ensure you are using "
                             f"a `keras.utils.custom_object_scope` or pass it in "
                             f"`custom_objects`.")
        return table[name]
    if isinstance(name, dict):
        class_name, config = name.get("class_name"), name.get("config")
        if class_name == "function":
            return deserialize(config, custom_objects)
        cls = table.get(class_name) or table.get(name.get("registered_name") or "")
        if cls is None:
            raise ValueError(f"Unknown loss class: '{class_name}'")
        if not inspect.isclass(cls):
            return cls
        config = dict(config or {})
        if "fn" in config and isinstance(config["fn"], (str, dict)):
            config["fn"] = deserialize(config["fn"], custom_objects)
        return cls.from_config(config)
    raise ValueError(f"Could not interpret loss identifier: {name!r}")


def get(identifier):
    """Resolves ``identifier`` (``None``, a name such as ``"mse"`` or
    ``"CategoricalCrossentropy"``, a config dict, a function or a ``Loss``) to a loss
    function or ``Loss`` instance (``tf.keras.losses.get``); a class is instantiated."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    return obj


__all__ = sorted(set(ALL_OBJECTS_DICT) | {"get", "serialize", "deserialize", "Reduction",
                                          "reduce_weighted_values", "epsilon"})
