"""Callbacks that write files: ``ModelCheckpoint``, ``BackupAndRestore``, ``CSVLogger``."""
import collections
import csv
import io
import json
import os
import re
import shutil
import warnings

import numpy as np

from numflow.io.atomic import atomic_write
from numflow.keras.callbacks.base import Callback
from numflow.keras.callbacks.monitor import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Saves the model or its weights during training (``tf.keras.callbacks.ModelCheckpoint(
    filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
    mode="auto", save_freq="epoch", initial_value_threshold=None)``).

    ``filepath`` may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch``
    and the logs, e.g. ``"weights.{epoch:02d}-{val_loss:.2f}.h5"``; any suffix is accepted.
    ``save_best_only`` saves only when ``monitor`` improves on the best so far (starting
    from ``initial_value_threshold``). ``save_freq`` is ``"epoch"`` or a number of batches.
    Saving calls ``model.save_weights(path, overwrite=True)`` or
    ``model.save(path, overwrite=True)``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, **kwargs):
        super().__init__(monitor, mode, initial_value_threshold)
        if "period" in kwargs:
            period = kwargs.pop("period")
            warnings.warn("`period` argument is deprecated. Please use `save_freq` to "
                          "specify the frequency in number of batches seen.", stacklevel=2)
            if save_freq == "epoch" and period != 1:
                self._period = int(period)
        kwargs.pop("options", None)
        if kwargs:
            raise TypeError(f"Unrecognized arguments: {sorted(kwargs)}")
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             f"'epoch' or integer values")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        period = getattr(self, "_period", 1)
        if self.save_freq == "epoch" and (epoch + 1) % period == 0:
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=2)
            return True
        if np.ndim(current) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.")
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}",
                  flush=True)
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IOError(f"Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        if not self._should_save(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _get_most_recently_modified_file_matching_pattern(self, pattern):
        """The newest file matching ``pattern`` (format fields act as wildcards); ties go
        to the largest name."""
        dir_name, base = os.path.split(pattern)
        regex = re.compile("^" + re.sub(r"{.*}", r".*", base) + "$")
        latest, latest_time, n_latest, largest = None, 0, 0, None
        if os.path.isdir(dir_name or "."):
            for name in os.listdir(dir_name or "."):
                if regex.match(name):
                    path = os.path.join(dir_name, name)
                    mtime = os.path.getmtime(path)
                    if largest is None or path > largest:
                        largest = path
                    if mtime > latest_time:
                        latest, latest_time, n_latest = path, mtime, 1
                    elif mtime == latest_time:
                        n_latest += 1
        return latest if n_latest == 1 else largest


class BackupAndRestore(Callback):
    """Backs up the training state so an interrupted ``fit`` resumes where it stopped
    (``tf.keras.callbacks.BackupAndRestore(backup_dir, save_freq="epoch",
    double_checkpoint=False, delete_checkpoint=True)``).

    At every epoch end (or every ``save_freq`` batches) the model weights, the optimizer's
    variables and the epoch reached are written to ``backup_dir/latest.npz`` (NumPy arrays
    only, written atomically). On the next ``fit`` they are restored and ``fit`` starts from
    the saved epoch (``model._initial_epoch``); a backup taken in the middle of an epoch
    restarts that epoch. The backup is deleted when training ends
    normally, unless ``delete_checkpoint=False``; ``double_checkpoint`` keeps the previous
    backup as a fallback.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             f"value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._current_epoch = 0
        self._state_path = os.path.join(self.backup_dir, "latest.npz")
        self._prev_state_path = self._state_path + ".bkp"

    def on_train_begin(self, logs=None):
        for path in (self._state_path, self._prev_state_path):
            if not os.path.exists(path):
                continue
            try:
                self._load(path)
                return
            except (OSError, ValueError, KeyError) as e:
                warnings.warn(f"Could not restore the backup {path}: {e}", stacklevel=2)
        if os.path.exists(self._state_path):
            raise OSError(f"The backup in {self.backup_dir} could not be restored.")

    def _load(self, path):
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["metadata"]))
            weights = [data[f"weight_{i}"] for i in range(meta["num_weights"])]
            opt_values = [data[f"optimizer_{i}"] for i in range(meta["num_optimizer"])]
        model = self.model
        if not getattr(model, "built", True):
            raise ValueError(f"To use the BackupAndRestore callback, you model must be built "
                             f"before you call `fit()`. Model {model} is unbuilt. You can "
                             f"build it beforehand by calling it on a batch of data.")
        model.set_weights(weights)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and opt_values:
            if not getattr(optimizer, "built", True):
                optimizer.build(model.trainable_variables)
            variables = list(optimizer.variables)
            if len(variables) != len(opt_values):
                warnings.warn(f"Skipping optimizer state restore: the optimizer has "
                              f"{len(variables)} variables, the backup {len(opt_values)}.",
                              stacklevel=2)
            else:
                for var, value in zip(variables, opt_values):
                    var.assign(value.astype(np.dtype(var.dtype.base_dtype.as_numpy_dtype)))
        epoch = meta["epoch"]
        if meta["batch"] >= 0 and meta.get("steps") and meta["batch"] + 1 >= meta["steps"]:
            epoch += 1          # saved at the last batch: that epoch is complete
        model._initial_epoch = epoch
        self._current_epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        add = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save(batch)

    def _save(self, batch=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        model = self.model
        arrays = {f"weight_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
        optimizer = getattr(model, "optimizer", None)
        opt_vars = list(getattr(optimizer, "variables", []) or []) \
            if getattr(optimizer, "built", True) else []
        for i, var in enumerate(opt_vars):
            arrays[f"optimizer_{i}"] = np.array(var.numpy(), copy=True)
        meta = {"epoch": self._current_epoch, "batch": -1 if batch is None else batch,
                "steps": (self.params or {}).get("steps"),
                "num_weights": len(arrays) - len(opt_vars), "num_optimizer": len(opt_vars)}
        arrays["metadata"] = np.array(json.dumps(meta))
        if self.double_checkpoint and os.path.exists(self._state_path):
            shutil.copyfile(self._state_path, self._prev_state_path)
        with atomic_write(self._state_path, "wb") as f:
            np.savez(f, **arrays)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


class CSVLogger(Callback):
    """Streams the epoch results to a CSV file (``tf.keras.callbacks.CSVLogger(filename,
    separator=",", append=False)``): an ``epoch`` column then the sorted metric names (the
    ``val_`` columns are added up front when validation metrics are missing). With
    ``append`` an existing file is continued and its header is not repeated. The file is
    rewritten atomically after every epoch, so a crash never leaves a torn line."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None
        self._previous = ""

    def on_train_begin(self, logs=None):
        self._previous = ""
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8", newline="") as f:
                self._previous = f.read()
            self.append_header = not self._previous
        self.csv_file = io.StringIO()
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            if isinstance(k, str):
                return k
            if isinstance(k, (list, tuple, np.ndarray)) and np.ndim(k) > 0:
                return f'"[{", ".join(map(str, np.asarray(k).reshape(-1)))}]"'
            return k

        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.csv_file is None:
            self.on_train_begin()
        if self.writer is None:
            class _Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        with atomic_write(self.filename, "w") as f:
            f.write(self._previous + self.csv_file.getvalue())

    def on_train_end(self, logs=None):
        self.writer = None
