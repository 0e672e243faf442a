"""What ``compile`` builds: the losses and metrics containers that match a model's outputs
(single, list or dict, keyed by output-layer names) to losses, loss weights and metrics,
and keep the running ``loss`` / ``<output>_loss`` means."""
import numflow as tf
from numflow.framework import nest


def _batch_dim(y):
    n = y.shape[0] if y.shape.rank else None
    if n is not None:
        return tf.constant(float(n))
    return tf.cast(tf.shape(y)[0], "float32")


def map_to_outputs(structure, output_names, what):
    """Matches ``structure`` (a single item, a list, or a dict keyed by output names) to the
    model's outputs; returns a list with one entry (or None) per output."""
    n = len(output_names)
    if isinstance(structure, dict):
        unknown = [k for k in structure if k not in output_names]
        if unknown:
            raise ValueError(f"Found unexpected {what} keys {unknown}. Expected keys among the "
                             f"model's output names: {output_names}")
        return [structure.get(name) for name in output_names]
    if isinstance(structure, (list, tuple)) and n > 1:
        if len(structure) != n:
            raise ValueError(f"When passing a list as {what}, it should have one entry per "
                             f"model output. The model has {n} outputs, but you passed "
                             f"{what}={structure}")
        return list(structure)
    if isinstance(structure, (list, tuple)) and n == 1 and len(structure) == 1:
        return [structure[0]]
    return [structure] * n if what == "loss" else [structure] + [None] * (n - 1)


def _flat_targets(y, output_names):
    if y is None:
        return [None] * len(output_names)
    if isinstance(y, dict):
        if all(name in y for name in output_names):
            return [y[name] for name in output_names]
        return nest.flatten(y)
    if len(output_names) == 1 and not isinstance(y, (list, tuple)):
        return [y]
    flat = nest.flatten(y)
    return flat


def flatten_outputs(y_pred, output_names):
    """The model outputs as a list in ``output_names`` order."""
    if isinstance(y_pred, dict):
        if all(name in y_pred for name in output_names):
            return [y_pred[name] for name in output_names]
    return nest.flatten(y_pred)


class LossesContainer:
    """Computes the total loss: ``sum(weight_i * loss_i(y_true_i, y_pred_i, sw_i))`` plus
    the regularization losses, and updates the ``loss`` and ``<output>_loss`` means."""

    def __init__(self, losses, loss_weights=None, output_names=None):
        self._user_losses = losses
        self._user_loss_weights = loss_weights
        self._output_names = list(output_names or [])
        self._built = False
        self._losses = []
        self._loss_weights = []
        from numflow.keras import metrics as metrics_mod
        self._loss_metric = metrics_mod.Mean(name="loss")
        self._per_output_metrics = []

    @property
    def metrics(self):
        """The loss trackers: ``loss``, then one ``<output>_loss`` per output with a loss."""
        if not self._built:
            return [self._loss_metric]
        return [self._loss_metric] + [m for m in self._per_output_metrics if m is not None]

    def build(self, output_names):
        """Resolves the user's losses and loss weights against the outputs."""
        from numflow.keras import losses as losses_mod
        from numflow.keras import metrics as metrics_mod
        self._output_names = list(output_names)
        raw = map_to_outputs(self._user_losses, self._output_names, "loss")
        self._losses = [None if l is None else _loss_object(losses_mod, l) for l in raw]
        if self._user_loss_weights is None:
            self._loss_weights = [None] * len(self._output_names)
        else:
            self._loss_weights = map_to_outputs(self._user_loss_weights, self._output_names,
                                                "loss_weights")
            if isinstance(self._user_loss_weights, dict):
                self._loss_weights = [1.0 if w is None else w for w in self._loss_weights]
        self._per_output_metrics = [None] * len(self._output_names)
        if len(self._output_names) > 1:
            self._per_output_metrics = [
                None if loss is None else metrics_mod.Mean(name=f"{name}_loss")
                for name, loss in zip(self._output_names, self._losses)]
        self._built = True

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None):
        """The total loss tensor for one batch (updates the loss trackers)."""
        if not self._built:
            self.build(self._output_names)
        y_pred = flatten_outputs(y_pred, self._output_names)
        y_true = _flat_targets(y_true, self._output_names)
        sample_weight = _flat_weights(sample_weight, self._output_names)
        loss_values, metric_values = [], []
        batch_dim = None
        for i, (loss_obj, y_t, y_p) in enumerate(zip(self._losses, y_true, y_pred)):
            if loss_obj is None or y_t is None:
                continue
            sw = sample_weight[i]
            loss_value = loss_obj(y_t, y_p, sample_weight=sw)
            batch_dim = _batch_dim(y_p)
            metric = self._per_output_metrics[i]
            if metric is not None:
                metric.update_state(loss_value, sample_weight=batch_dim)
            weight = self._loss_weights[i]
            if weight is not None:
                loss_value = loss_value * tf.cast(weight, loss_value.dtype)
            loss_values.append(loss_value)
            metric_values.append(loss_value)
        if regularization_losses:
            dtype = loss_values[0].dtype if loss_values else tf.float32
            reg = tf.add_n([tf.cast(r, dtype) for r in regularization_losses])
            loss_values.append(reg)
            metric_values.append(reg)
        if not loss_values:
            return tf.constant(0.0)
        total = tf.add_n(loss_values) if len(loss_values) > 1 else loss_values[0]
        if batch_dim is None:
            batch_dim = _batch_dim(y_pred[0])
        self._loss_metric.update_state(total, sample_weight=batch_dim)
        return total

    def reset_state(self):
        """Resets the loss trackers."""
        for m in self.metrics:
            m.reset_state()


def _flat_weights(sample_weight, output_names):
    n = len(output_names)
    if sample_weight is None:
        return [None] * n
    if isinstance(sample_weight, dict):
        return [sample_weight.get(name) for name in output_names]
    if isinstance(sample_weight, (list, tuple)):
        return list(sample_weight) + [None] * (n - len(sample_weight))
    return [sample_weight] * n


def _loss_object(losses_mod, identifier):
    loss = losses_mod.get(identifier)
    if isinstance(loss, losses_mod.Loss):
        return loss
    name = getattr(loss, "__name__", None)
    return losses_mod.LossFunctionWrapper(loss, name=name)


class MetricsContainer:
    """Resolves ``compile(metrics=..., weighted_metrics=...)`` per output on the first
    batch (when the target and prediction shapes are known) and updates them."""

    def __init__(self, metrics=None, weighted_metrics=None, output_names=None, losses=None):
        self._user_metrics = metrics
        self._user_weighted_metrics = weighted_metrics
        self._output_names = list(output_names or [])
        self._user_losses = losses
        self._metrics = []            # per output: list of Metric
        self._weighted = []
        self._built = False

    @property
    def metrics(self):
        """The metric objects, in output order (built on the first batch)."""
        if not self._built:
            return []
        out = []
        for unweighted, weighted in zip(self._metrics, self._weighted):
            out.extend(unweighted)
            out.extend(weighted)
        return out

    def build(self, y_true, y_pred):
        """Creates the metric objects for these targets and predictions."""
        y_pred = flatten_outputs(y_pred, self._output_names)
        y_true = _flat_targets(y_true, self._output_names)
        n = len(self._output_names)
        per_output = _per_output(self._user_metrics, self._output_names)
        per_output_w = _per_output(self._user_weighted_metrics, self._output_names)
        losses = map_to_outputs(self._user_losses, self._output_names, "loss") \
            if self._user_losses is not None else [None] * n
        self._metrics, self._weighted = [], []
        for i in range(n):
            y_t = y_true[i] if i < len(y_true) else None
            y_p = y_pred[i]
            self._metrics.append([self._make(m, y_t, y_p, losses[i], i, False)
                                  for m in per_output[i]])
            self._weighted.append([self._make(m, y_t, y_p, losses[i], i, True)
                                   for m in per_output_w[i]])
        self._built = True

    def _make(self, metric, y_t, y_p, loss, index, weighted):
        from numflow.keras import metrics as metrics_mod
        name = None
        if isinstance(metric, str):
            name = metric
            key = metric.lower()
            if key in ("accuracy", "acc", "crossentropy", "ce"):
                metric = _accuracy_or_ce(metrics_mod, key, y_t, y_p, loss)
            else:
                metric = metrics_mod.get(metric)
        if isinstance(metric, type):
            metric = metric()
        if not isinstance(metric, metrics_mod.Metric):
            fn = metric
            name = name or getattr(fn, "__name__", None) or "metric"
            metric = metrics_mod.MeanMetricWrapper(fn, name=name)
        elif name is not None:
            metric.name = name
        if len(self._output_names) > 1:
            metric.name = f"{self._output_names[index]}_{metric.name}"
        if weighted and self._user_metrics is not None:
            metric.name = "weighted_" + metric.name if metric.name in {
                m.name for ms in self._metrics for m in ms} else metric.name
        return metric

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Updates every metric with this batch."""
        if not self._built:
            self.build(y_true, y_pred)
        y_pred = flatten_outputs(y_pred, self._output_names)
        y_true = _flat_targets(y_true, self._output_names)
        sample_weight = _flat_weights(sample_weight, self._output_names)
        for i, y_p in enumerate(y_pred):
            y_t = y_true[i] if i < len(y_true) else None
            if y_t is None:
                continue
            for m in self._metrics[i]:
                m.update_state(y_t, y_p)
            for m in self._weighted[i]:
                m.update_state(y_t, y_p, sample_weight=sample_weight[i])

    def reset_state(self):
        """Resets every metric."""
        for m in self.metrics:
            m.reset_state()


def _per_output(metrics, output_names):
    n = len(output_names)
    if metrics is None:
        return [[] for _ in range(n)]
    if isinstance(metrics, dict):
        out = []
        for name in output_names:
            m = metrics.get(name)
            out.append([] if m is None else (list(m) if isinstance(m, (list, tuple)) else [m]))
        return out
    if isinstance(metrics, (list, tuple)):
        if n > 1 and len(metrics) == n and all(isinstance(m, (list, tuple)) or m is None
                                               for m in metrics):
            return [list(m or []) for m in metrics]
        return [list(metrics) for _ in range(n)]
    return [[metrics] for _ in range(n)]


def _accuracy_or_ce(metrics_mod, key, y_t, y_p, loss):
    """Keras's choice of binary / categorical / sparse categorical accuracy (or
    cross-entropy) from the shapes of the targets and predictions and the loss."""
    loss_name = getattr(loss, "__name__", None) or getattr(loss, "name", None) or \
        (loss if isinstance(loss, str) else "")
    loss_name = str(loss_name).lower()
    y_p_shape = tf.TensorShape(y_p.shape) if y_p is not None else tf.TensorShape(None)
    y_t_shape = tf.TensorShape(y_t.shape) if hasattr(y_t, "shape") else tf.TensorShape(None)
    y_p_last = y_p_shape[-1] if y_p_shape.rank else None
    y_t_rank, y_p_rank = y_t_shape.rank, y_p_shape.rank
    y_t_last = y_t_shape[-1] if y_t_rank else None
    is_binary = "binary" in loss_name or y_p_last == 1
    is_sparse = "sparse" in loss_name or (
        y_t_rank is not None and y_p_rank is not None and
        (y_t_rank < y_p_rank or (y_t_last == 1 and (y_p_last or 0) > 1)))
    acc = key in ("accuracy", "acc")
    if is_binary and "categorical" not in loss_name:
        return metrics_mod.binary_accuracy if acc else metrics_mod.binary_crossentropy
    if is_sparse:
        return metrics_mod.sparse_categorical_accuracy if acc else \
            metrics_mod.sparse_categorical_crossentropy
    return metrics_mod.categorical_accuracy if acc else metrics_mod.categorical_crossentropy
