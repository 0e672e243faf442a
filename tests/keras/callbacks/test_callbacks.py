"""tf.keras.callbacks driven by a stand-in fit loop (tests/keras/callbacks/fake_fit.py)."""
import importlib.util
import math
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras import callbacks, metrics, optimizers


def _load_fake_fit():
    spec = importlib.util.spec_from_file_location(
        "fake_fit", os.path.join(os.path.dirname(__file__), "fake_fit.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_FF = _load_fake_fit()
FakeModel, fake_fit = _FF.FakeModel, _FF.fake_fit


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", self.params["epochs"]))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs=None):       # Keras 2 alias of on_train_batch_end
        self.calls.append(("batch_end", batch, type(logs["loss"])))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_hooks_history_and_logs_are_python_floats():
    model, rec = FakeModel(), Recorder()
    history = fake_fit(model, [rec], epochs=2, steps=2, val_losses=[1.0, 0.5])
    assert rec.model is model and rec.params == {"verbose": 0, "epochs": 2, "steps": 2}
    assert rec.calls == [("train_begin", 2), ("epoch_begin", 0), ("batch_end", 0, float),
                         ("batch_end", 1, float), ("epoch_end", 0, ["loss", "val_loss"]),
                         ("epoch_begin", 1), ("batch_end", 0, float), ("batch_end", 1, float),
                         ("epoch_end", 1, ["loss", "val_loss"]), ("train_end",)]
    assert isinstance(history, callbacks.History) and model.history is history
    assert history.epoch == [0, 1] and history.history["val_loss"] == [1.0, 0.5]
    assert history.history["loss"][1] < history.history["loss"][0]


def test_callback_list_dispatch_and_pythonify():
    seen = {}
    cb = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.update(logs),
                                  on_test_begin=lambda logs: seen.update(test=True))
    cl = callbacks.CallbackList([cb])
    cl.on_epoch_end(0, {"b": tf.constant(2.0), "a": np.float32(1.5), "v": np.ones(2)})
    cl.on_test_begin()
    assert seen["a"] == 1.5 and isinstance(seen["b"], float) and seen["test"]
    assert list(seen)[:2] == ["a", "b"]
    assert len(callbacks.CallbackList([cb, [cb]], add_history=True)) == 3


def test_early_stopping_patience_and_restore_best_weights():
    model = FakeModel()
    weights = []
    keep = callbacks.LambdaCallback(on_epoch_end=lambda e, l: weights.append(model.get_weights()))
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = fake_fit(model, [keep, stop], epochs=10, val_losses=[3, 2, 2.5, 2.2, 1, 0, 0, 0,
                                                                    0, 0])
    assert history.epoch == [0, 1, 2, 3]
    assert stop.stopped_epoch == 3 and stop.best == 2 and stop.best_epoch == 1
    for got, want in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_modes_min_delta_baseline_and_start_epoch():
    model = FakeModel()
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    fake_fit(model, [stop], epochs=6,
             extra_logs=lambda e: {"val_accuracy": [0.5, 0.6, 0.55, 0.7, 0.7, 0.7][e]})
    assert stop.stopped_epoch == 2          # auto mode maximises accuracy
    stop = callbacks.EarlyStopping(monitor="val_loss", min_delta=0.5, patience=1)
    fake_fit(model, [stop], epochs=6, val_losses=[3, 2.7, 2.0, 1.9, 1.0, 0.1])
    assert stop.stopped_epoch == 1          # 2.7 is not 0.5 better than 3
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, baseline=1.0)
    fake_fit(model, [stop], epochs=6, val_losses=[3, 3.5, 4, 0.5, 0.4, 0.3])
    assert stop.stopped_epoch == 1          # the baseline was not beaten within patience
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=0, start_from_epoch=3)
    history = fake_fit(model, [stop], epochs=6, val_losses=[1, 2, 3, 4, 5, 6])
    assert history.epoch == [0, 1, 2, 3, 4]
    m = metrics.AUC(name="auc")
    model.metrics = [m]
    stop = callbacks.EarlyStopping(monitor="val_auc", patience=0)
    stop.set_model(model)
    stop._set_monitor_op()
    assert stop.monitor_op is np.greater
    with pytest.warns(UserWarning, match="not available"):
        fake_fit(model, [callbacks.EarlyStopping(monitor="val_missing")], epochs=1)


def test_model_checkpoint_templates_best_only_and_freq(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "ckpt" / "w.{epoch:02d}-{val_loss:.2f}.h5")
    ckpt = callbacks.ModelCheckpoint(path, save_weights_only=True)
    fake_fit(model, [ckpt], epochs=2, val_losses=[1.234, 0.5])
    assert [os.path.basename(p) for _, p in model.saved] == ["w.01-1.23.h5", "w.02-0.50.h5"]
    assert all(kind == "weights" for kind, _ in model.saved)
    model.saved.clear()
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_best_only=True,
                                     monitor="val_loss", verbose=0)
    fake_fit(model, [best], epochs=4, val_losses=[2.0, 1.0, 1.5, 0.5])
    assert [k for k, _ in model.saved] == ["model", "model", "model"]
    assert best.best == 0.5
    model.saved.clear()
    every = callbacks.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.h5"), save_freq=3,
                                      save_weights_only=True)
    fake_fit(model, [every], epochs=2, steps=4)
    assert [os.path.basename(p) for _, p in model.saved] == ["b1-3.h5", "b2-2.h5"]
    with pytest.raises(ValueError):
        callbacks.ModelCheckpoint("x.h5", save_freq="sometimes")
    found = every._get_most_recently_modified_file_matching_pattern(
        str(tmp_path / "b{epoch}-{batch}.h5"))
    assert os.path.basename(found) == "b2-2.h5"


def test_learning_rate_scheduler():
    model = FakeModel(optimizer=optimizers.SGD(0.1))
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    rec = callbacks.LambdaCallback(
        on_epoch_begin=lambda e, l: seen.append(float(model.optimizer.learning_rate.numpy())))
    history = fake_fit(model, [sched, rec], epochs=3)
    np.testing.assert_allclose(seen, [0.1, 0.05, 0.025], rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], seen, rtol=1e-6)
    old_style = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    fake_fit(model, [old_style], epochs=2)
    np.testing.assert_allclose(model.optimizer.learning_rate.numpy(), 0.02)
    bad = callbacks.LearningRateScheduler(lambda epoch, lr: "fast")
    with pytest.raises(ValueError, match="should be a float"):
        fake_fit(model, [bad], epochs=1)


def test_reduce_lr_on_plateau():
    model = FakeModel(optimizer=optimizers.SGD(1.0))
    lrs = []
    rec = callbacks.LambdaCallback(on_epoch_end=lambda e, l: lrs.append(l["learning_rate"]))
    plateau = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2,
                                          cooldown=1, min_lr=0.2)
    fake_fit(model, [plateau, rec], epochs=9, val_losses=[1, 1, 1, 1, 1, 1, 1, 1, 1])
    # logs hold the rate in force during the epoch; the cooldown epoch counts down first
    # (as in Keras), so reductions come at epochs 2, 4 and 6, never below min_lr
    np.testing.assert_allclose(lrs, [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2], rtol=1e-6)
    np.testing.assert_allclose(model.optimizer.learning_rate.numpy(), 0.2)
    with pytest.raises(ValueError):
        callbacks.ReduceLROnPlateau(factor=1.0)


def test_csv_logger_and_append(tmp_path):
    path = str(tmp_path / "log.csv")
    model = FakeModel()
    fake_fit(model, [callbacks.CSVLogger(path)], epochs=2, val_losses=[0.5, 0.25])
    lines = open(path).read().splitlines()
    assert lines[0] == "epoch,loss,val_loss" and lines[1].startswith("0,")
    assert lines[2].endswith(",0.25") and len(lines) == 3
    fake_fit(model, [callbacks.CSVLogger(path, append=True, separator=",")], epochs=1,
             val_losses=[0.125])
    lines = open(path).read().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0,") and lines[3].endswith(",0.125")
    fake_fit(model, [callbacks.CSVLogger(path, separator=";")], epochs=1)
    assert open(path).read().splitlines()[0] == "epoch;loss;val_loss"


def test_terminate_on_nan():
    model = FakeModel()
    nan_logs = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: None)
    term = callbacks.TerminateOnNaN()
    term.set_model(model)
    term.on_train_batch_end(0, {"loss": float("nan")})
    assert model.stop_training
    with pytest.raises(RuntimeError, match="NaN or Inf"):
        callbacks.TerminateOnNaN(raise_error=True).on_batch_end(3, {"loss": math.inf})
    model.stop_training = False
    term.on_batch_end(1, {"loss": 0.5})
    assert not model.stop_training and nan_logs.on_train_batch_end(0, {}) is None


class _Crash(callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("killed")


@pytest.mark.parametrize("save_freq", ["epoch", 4])
def test_backup_and_restore_resumes_where_it_stopped(tmp_path, save_freq):
    backup = str(tmp_path / "backup")
    reference = FakeModel(seed=1)
    fake_fit(reference, epochs=4)
    model = FakeModel(seed=1)
    with pytest.raises(KeyboardInterrupt):
        fake_fit(model, [callbacks.BackupAndRestore(backup, save_freq=save_freq), _Crash(2)],
                 epochs=4)
    assert os.listdir(backup) == ["latest.npz"]
    resumed = FakeModel(seed=5)          # a fresh process: other weights, unbuilt optimizer
    epochs = []
    rec = callbacks.LambdaCallback(on_epoch_begin=lambda e, l: epochs.append(e))
    fake_fit(resumed, [callbacks.BackupAndRestore(backup, save_freq=save_freq), rec],
             epochs=4)
    assert epochs == [2, 3]
    for got, want in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert int(resumed.optimizer.iterations.numpy()) == 16
    assert not os.path.exists(backup)      # deleted after a completed fit


def test_backup_keeps_checkpoint_when_asked(tmp_path):
    backup = str(tmp_path / "b")
    fake_fit(FakeModel(), [callbacks.BackupAndRestore(backup, delete_checkpoint=False,
                                                      double_checkpoint=True)], epochs=2)
    assert sorted(os.listdir(backup)) == ["latest.npz", "latest.npz.bkp"]
    with pytest.raises(ValueError):
        callbacks.BackupAndRestore("")


def test_progbar_logger_prints(capsys):
    fake_fit(FakeModel(), epochs=2, steps=3, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out
    fake_fit(FakeModel(), epochs=1, steps=3, verbose=0)
    assert capsys.readouterr().out == ""
