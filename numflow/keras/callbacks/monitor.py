"""Callbacks that watch a metric or drive the learning rate: ``EarlyStopping``,
``ReduceLROnPlateau``, ``LearningRateScheduler``."""
import warnings

import numpy as np

from numflow.keras.callbacks.base import Callback

_MAXIMIZED = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "cosine")


def _float(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    return float(np.asarray(value))


def _all_metrics(model):
    """The model's metric objects, looking inside container metrics."""
    out, stack = [], list(getattr(model, "metrics", None) or [])
    while stack:
        m = stack.pop(0)
        out.append(m)
        inner = getattr(m, "metrics", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(inner)
    return out


class MonitorCallback(Callback):
    """Base class of callbacks that watch ``monitor`` in the epoch logs
    (``MonitorCallback(monitor="val_loss", mode="auto", baseline=None, min_delta=0)``).

    ``mode="auto"`` minimises losses and maximises metrics known to grow (the metric's
    ``_direction``, else names such as accuracy/AUC/precision/recall).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          f"mode.", stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            direction = None
            if name == "loss":
                direction = "down"
            for m in _all_metrics(self.model):
                if getattr(m, "name", None) == name and hasattr(m, "_direction"):
                    direction = m._direction
            if direction is None:
                lowered = name.lower()
                direction = "up" if any(k in lowered for k in _MAXIMIZED) else "down"
            self.monitor_op = np.greater if direction == "up" else np.less
        if self.monitor_op is np.less:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


class EarlyStopping(MonitorCallback):
    """Stops training when ``monitor`` stops improving (``tf.keras.callbacks.EarlyStopping(
    monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
    restore_best_weights=False, start_from_epoch=0)``).

    An epoch improves when the value beats the best so far by more than ``min_delta``;
    training stops after ``patience`` epochs without improvement (or without beating
    ``baseline``). ``restore_best_weights`` puts back the weights of the best epoch at the
    end; epochs before ``start_from_epoch`` are ignored.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.start_from_epoch = start_from_epoch
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """The monitored value from ``logs`` (a warning and None when it is missing)."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=2)
        return value


def _optimizers_of(model):
    optimizer = model.optimizer
    inner = getattr(optimizer, "optimizers", None)
    return [(o, o.name) for o in inner] if inner else [(optimizer, "")]


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs (``tf.keras.callbacks.ReduceLROnPlateau(monitor="val_loss",
    factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4, cooldown=0,
    min_lr=0.0)``). After a reduction, ``cooldown`` epochs pass before waiting resumes; the
    rate never goes below ``min_lr``. Adds ``learning_rate`` to the epoch logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        """True while the cooldown after a reduction lasts."""
        return self.cooldown_counter > 0

    def _reduce(self, optimizer, epoch, name):
        old_lr = _float(optimizer.learning_rate)
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                label = f" {name}" if name else ""
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing{label} learning rate "
                      f"to {new_lr}.", flush=True)
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        for opt, name in _optimizers_of(self.model):
            logs[f"learning_rate_{name}" if name else "learning_rate"] = \
                _float(opt.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}.",
                          stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                reduced = [self._reduce(o, epoch, n) for o, n in _optimizers_of(self.model)]
                if any(reduced):
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch (``tf.keras.callbacks.
    LearningRateScheduler(schedule, verbose=0)``): ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``) returns the new float rate. Adds ``learning_rate`` to the epoch
    logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def _update(self, optimizer, epoch):
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, _float(optimizer.learning_rate))
        except TypeError:
            lr = self.schedule(epoch)
        if hasattr(lr, "numpy"):
            lr = lr.numpy()
        if not isinstance(lr, (float, int, np.floating, np.integer)) and \
                not (isinstance(lr, np.ndarray) and lr.ndim == 0):
            raise ValueError(f"The output of the `schedule` function should be a float. "
                             f"Got: {lr}")
        optimizer.learning_rate = float(lr)
        return float(lr)

    def on_epoch_begin(self, epoch, logs=None):
        for opt, name in _optimizers_of(self.model):
            lr = self._update(opt, epoch)
            if self.verbose > 0:
                label = f"{name} learning rate" if name else "learning rate"
                print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting {label} to {lr}.",
                      flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for opt, name in _optimizers_of(self.model):
            logs[f"learning_rate_{name}" if name else "learning_rate"] = \
                _float(opt.learning_rate)
