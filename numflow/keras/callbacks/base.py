"""``Callback``, ``CallbackList`` and the simple callbacks: ``History``, ``ProgbarLogger``,
``LambdaCallback``, ``TerminateOnNaN``."""
import numbers

import numpy as np


def _to_python(value):
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def pythonify_logs(logs):
    """A copy of ``logs`` sorted by key, with scalar tensors and numbers turned into Python
    floats (nested dicts are merged in), as Keras passes logs to callbacks."""
    out = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
        else:
            out[key] = _to_python(value)
    return out


class Callback:
    """Base class for callbacks (``tf.keras.callbacks.Callback``).

    ``fit``/``evaluate``/``predict`` call ``set_model``, ``set_params`` (a dict with
    ``verbose``, ``epochs``, ``steps``) and then the hooks: ``on_{train,test,predict}_begin``
    and ``_end``, ``on_epoch_begin``/``_end(epoch, logs)``, and
    ``on_{train,test,predict}_batch_begin``/``_end(batch, logs)``. ``on_batch_begin``/
    ``_end`` are the Keras 2 names of the training-batch hooks. ``self.model`` is the model
    being trained; set ``self.model.stop_training = True`` to stop.
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Stores the training parameters in ``self.params``."""
        self.params = params

    def set_model(self, model):
        """Stores the model in ``self.model``."""
        self._model = model

    @property
    def model(self):
        """The model the callback is attached to (set by ``set_model``)."""
        return self._model

    @model.setter
    def model(self, model):
        self._model = model

    def on_batch_begin(self, batch, logs=None):
        """Keras 2 alias of ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Keras 2 alias of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (training only)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch with its metrics (``val_`` ones included)."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before a training batch; defaults to ``on_batch_begin``."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after a training batch with the running metrics; defaults to
        ``on_batch_end``."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before an evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after an evaluation batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before a prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after a prediction batch (``logs["outputs"]`` holds its outputs)."""

    def on_train_begin(self, logs=None):
        """Called at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called at the end of ``fit``."""

    def on_test_begin(self, logs=None):
        """Called at the start of ``evaluate`` (and of validation within ``fit``)."""

    def on_test_end(self, logs=None):
        """Called at the end of ``evaluate``."""

    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""


_HOOKS = ("on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
          "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
          "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end")


class CallbackList(Callback):
    """A list of callbacks called together (``tf.keras.callbacks.CallbackList(callbacks=None,
    add_history=False, add_progbar=False, model=None, **params)``).

    ``add_history`` / ``add_progbar`` append a ``History`` / ``ProgbarLogger`` unless one is
    already in the list; the history becomes ``model.history``. Logs are converted to Python
    numbers before they reach the callbacks.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = _flatten(callbacks)
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        """Adds a callback at the end."""
        self.callbacks.append(callback)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        self._model = model
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)


def _dispatch(hook, with_index):
    if with_index:
        def method(self, index, logs=None):
            logs = pythonify_logs(logs)
            for callback in self.callbacks:
                getattr(callback, hook)(index, logs)
    else:
        def method(self, logs=None):
            logs = pythonify_logs(logs)
            for callback in self.callbacks:
                getattr(callback, hook)(logs)
    method.__name__ = hook
    method.__doc__ = f"Calls ``{hook}`` on every callback."
    return method


for _hook in _HOOKS:
    setattr(CallbackList, _hook, _dispatch(_hook, "batch" in _hook or "epoch" in _hook))


def _flatten(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, CallbackList):
        return list(callbacks.callbacks)
    if isinstance(callbacks, (list, tuple)):
        out = []
        for c in callbacks:
            out.extend(_flatten(c))
        return out
    return [callbacks]


class History(Callback):
    """Records the epoch-end logs (``tf.keras.callbacks.History()``); ``fit`` returns it.
    ``history.history`` maps each metric name to its list of per-epoch values and
    ``history.epoch`` lists the epoch indices."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints metrics to stdout with a progress bar (``tf.keras.callbacks.ProgbarLogger()``);
    ``fit`` adds it when ``verbose`` is 1 or 2. Logged values are already running averages,
    so they are shown as given."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        params = params or {}
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            from numflow.keras.utils.generic_utils import Progbar
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _items(self, logs):
        items = [(k, v) for k, v in (logs or {}).items() if isinstance(v, numbers.Number)]
        self.progbar.stateful_metrics.update(k for k, _ in items)
        return items

    def _update_progbar(self, batch, logs):
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, self._items(logs), finalize=False)

    def _finalize_progbar(self, logs):
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, self._items(logs), finalize=True)


class LambdaCallback(Callback):
    """A callback built from functions (``tf.keras.callbacks.LambdaCallback(
    on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
    on_train_batch_begin=None, on_train_batch_end=None, **kwargs)``).

    Epoch hooks take ``(epoch, logs)``, batch hooks ``(batch, logs)``, begin/end hooks
    ``(logs)``. Any other hook (``on_batch_end``, ``on_test_begin``...) may be passed as a
    keyword argument.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        hooks.update(kwargs)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite (``tf.keras.callbacks.
    TerminateOnNaN(raise_error=False)``); with ``raise_error`` a ``RuntimeError`` is raised
    at once instead."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.all(np.isfinite(np.asarray(loss, np.float64))):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                                   f"Loss value: {loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
