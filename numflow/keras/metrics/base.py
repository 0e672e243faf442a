"""The stateful ``Metric`` base class and the reduction metrics ``Sum``, ``Mean`` and
``MeanMetricWrapper``.

Metric state lives in non-trainable ``tf.Variable``s that are changed only with
``assign`` / ``assign_add``, so ``update_state`` works eagerly and inside a traced
``tf.function`` (where variables created on the first trace are lifted to eager).
"""
import collections
import re

import numpy as np

import numflow as tf
from numflow.keras import losses as losses_module
from numflow.keras.losses import divide_no_nan
from numflow.keras.utils.generic_utils import bind_arguments

_NAME_COUNTS = collections.Counter()


def to_snake_case(name):
    """``"SparseCategoricalAccuracy"`` -> ``"sparse_categorical_accuracy"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name):
    """A unique default name: the snake-cased class name, then ``_1``, ``_2``... as Keras."""
    base = to_snake_case(class_name)
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _initial_value(initializer, shape, dtype):
    shape = tuple(int(d) for d in shape)
    np_dtype = tf.as_dtype(dtype).as_numpy_dtype
    if initializer is None or initializer == "zeros":
        return np.zeros(shape, np_dtype)
    if initializer == "ones":
        return np.ones(shape, np_dtype)
    if isinstance(initializer, (int, float, np.ndarray, list)):
        return np.broadcast_to(np.asarray(initializer, np_dtype), shape).copy()
    if isinstance(initializer, (str, dict)):
        from numflow.keras import initializers
        initializer = initializers.get(initializer)
    value = initializer(shape, dtype=dtype)
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, np_dtype)


class Metric:
    """Encapsulates metric logic and state (``tf.keras.metrics.Metric(name=None,
    dtype=None)``).

    Subclasses create their state in ``__init__`` with ``add_variable`` / ``add_weight``,
    accumulate in ``update_state(y_true, y_pred, sample_weight=None)`` with variable
    ``assign*`` ops, and compute the value in ``result()``. ``reset_state()`` zeroes every
    state variable; calling the metric updates it and returns ``result()``.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or auto_name(type(self).__name__)
        self._dtype = tf.as_dtype(dtype or "float32").name
        self._variables = []
        self._metrics = []

    @property
    def dtype(self):
        """The dtype of the metric's state and result (``"float32"`` by default)."""
        return self._dtype

    def add_variable(self, shape=(), initializer=None, dtype=None, aggregation="sum",
                     name=None):
        """Creates a non-trainable state variable and tracks it in ``self.variables``.

        ``initializer`` is ``"zeros"`` (default), ``"ones"``, a number or array, or a
        Keras initializer (name or callable ``(shape, dtype)``).
        """
        if not hasattr(self, "_variables"):
            raise RuntimeError("You forgot to call `super().__init__()` in the `__init__()` "
                               "method of your metric. Go add it!")
        dtype = tf.as_dtype(dtype or self._dtype).name
        value = _initial_value(initializer, shape, dtype)
        with tf.init_scope():
            variable = tf.Variable(value, trainable=False, name=name or "variable",
                                   dtype=dtype)
        self._variables.append(variable)
        return variable

    def add_weight(self, *args, shape=(), initializer=None, dtype=None, name=None, **kwargs):
        """``add_weight(shape=(), initializer=None, dtype=None, name=None)``; the Keras 2
        form ``add_weight(name, shape=(), initializer=..., dtype=...)`` also works."""
        if args and isinstance(args[0], str):
            name, args = args[0], args[1:]
        if args:
            shape = args[0]
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    def __setattr__(self, key, value):
        if isinstance(value, Metric) and key != "_metrics" and hasattr(self, "_metrics") \
                and value is not self and value not in self._metrics:
            self._metrics.append(value)
        super().__setattr__(key, value)

    @property
    def variables(self):
        """The metric's state variables (its own, then those of metrics it holds)."""
        out = list(self._variables)
        for m in self._metrics:
            out.extend(m.variables)
        return out

    @property
    def weights(self):
        """Alias of ``variables``."""
        return self.variables

    @property
    def non_trainable_weights(self):
        """All state variables (metrics have no trainable weights)."""
        return self.variables

    @property
    def trainable_weights(self):
        """Always empty."""
        return []

    def update_state(self, *args, **kwargs):
        """Accumulates statistics for the metric; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        """The current metric value as a tensor (or a dict of tensors)."""
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def reset_state(self):
        """Sets every state variable back to zero (called between epochs)."""
        for v in self.variables:
            v.assign(np.zeros(v.shape.as_list(), v.dtype.base_dtype.as_numpy_dtype))

    def reset_states(self):
        """Keras 2 name of ``reset_state``."""
        self.reset_state()

    def __call__(self, *args, **kwargs):
        """Updates the state with the arguments, then returns ``result()`` (in a TF1 graph,
        a result tensor that runs the update first)."""
        graph = None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()
        if graph is None or getattr(graph, "is_function_graph", False):
            self.update_state(*args, **kwargs)
            return self.result()
        first = len(graph.get_operations())
        self.update_state(*args, **kwargs)
        updates = [op for op in graph.get_operations()[first:]
                   if op.type in ("Assign", "AssignAdd", "AssignSub")]
        with tf.control_dependencies(updates):
            return tf.identity(self.result())

    def get_config(self):
        """The constructor arguments as a JSON-serialisable dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Rebuilds the metric (with fresh state) from ``get_config()``'s output."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Reduces ``values`` to one value per sample (axis 0), weighting them by
    ``sample_weight`` (broadcast to the values); returns ``(values, sample_weight)`` where
    the weights are reduced the same way."""
    values = tf.cast(values, dtype)
    if sample_weight is not None:
        sample_weight = tf.cast(sample_weight, dtype)
        values, sample_weight = losses_module.squeeze_or_expand_to_same_rank(values,
                                                                             sample_weight)
        w_ndim, v_ndim = sample_weight.shape.rank, values.shape.rank
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=list(range(w_ndim, v_ndim)))
        sample_weight = tf.zeros_like(values) + sample_weight
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=list(range(1, w_ndim)))
    if values.shape.rank > 1:
        values = reduce_fn(values, axis=list(range(1, values.shape.rank)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values seen (``tf.keras.metrics.Sum(name="sum",
    dtype=None)``): values ``[1, 3, 5, 7]`` give 16, and with weights ``[1, 1, 0, 0]`` 4."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, values, sample_weight=None):
        """Adds the (weighted) values to the total."""
        values, _ = reduce_to_samplewise_values(values, sample_weight, tf.reduce_sum,
                                                self.dtype)
        self.total.assign_add(tf.reduce_sum(values))

    def result(self):
        return tf.identity(self.total)


class Mean(Metric):
    """The (weighted) mean of the values seen (``tf.keras.metrics.Mean(name="mean",
    dtype=None)``): ``total / count``, e.g. 4 for ``[1, 3, 5, 7]`` and 2 with weights
    ``[1, 1, 0, 0]``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values, sample_weight=None):
        """Adds the (weighted) values to ``total`` and their number (or weight) to
        ``count``."""
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight,
                                                            tf.reduce_mean, self.dtype)
        self.total.assign_add(tf.reduce_sum(values))
        if sample_weight is not None:
            num = tf.reduce_sum(sample_weight)
        elif values.shape.rank >= 1:
            num = tf.cast(tf.size(values), self.dtype)
        else:
            num = tf.constant(1.0, self.dtype)
        self.count.assign_add(num)

    def result(self):
        return divide_no_nan(self.total.value(), self.count.value())


class MeanMetricWrapper(Mean):
    """Averages a per-sample function ``fn(y_true, y_pred, **kwargs)`` over all samples
    seen (``tf.keras.metrics.MeanMetricWrapper(fn, name=None, dtype=None, **kwargs)``)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None) or
                         auto_name("mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if fn in losses_module._FUNCTIONS or isinstance(fn, losses_module.Loss):
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Evaluates ``fn`` on the batch and adds its per-sample values to the mean."""
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        return super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config["fn"] = _serialize_fn(self._fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config and isinstance(config["fn"], (str, dict)):
            from numflow.keras import metrics
            config["fn"] = metrics.deserialize(config["fn"])
        return cls(**config)


def _serialize_fn(fn):
    from numflow.keras import metrics
    return metrics.serialize(fn)


def wrapper_class(class_name, fn, default_name, summary, params=(), direction="down"):
    """Builds a ``MeanMetricWrapper`` subclass for ``fn``. ``params`` are (name, default)
    pairs of ``fn``'s keyword arguments; positional arguments follow Keras's order
    ``(name, dtype, *params)``. The docstring gives Keras's signature."""
    order = ["name", "dtype"] + [p for p, _ in params]
    defaults = dict(params, name=default_name, dtype=None)
    signature = ", ".join(f"{k}={defaults[k]!r}" for k in order).replace("'", '"')
    doc = f"{summary} (``tf.keras.metrics.{class_name}({signature})``)."

    def __init__(self, *args, **kwargs):
        values = bind_arguments(class_name, order, defaults, args, kwargs)
        name, dtype = values.pop("name"), values.pop("dtype")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)
        self.__dict__.update(values)
        self._direction = direction

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        config.update({p: getattr(self, p) for p, _ in params})
        return config

    def from_config(cls, config):
        config = {k: v for k, v in config.items() if k != "fn"}
        return cls(**config)

    return type(class_name, (MeanMetricWrapper,), {
        "__init__": __init__, "get_config": get_config, "from_config": classmethod(from_config),
        "__doc__": doc, "__module__": "numflow.keras.metrics"})
