"""Callbacks, losses, metrics and optimizers inside a real ``Model.fit`` (traced train step)."""
import os

import numpy as np
import pytest

import numflow as tf

keras = tf.keras


def _data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    return x, y


def _model(seed=0, optimizer="adam"):
    tf_init = keras.initializers.GlorotUniform(seed=seed)
    model = keras.Sequential([keras.Input(shape=(6,)),
                              keras.layers.Dense(8, activation="relu",
                                                 kernel_initializer=tf_init),
                              keras.layers.Dense(1, activation="sigmoid",
                                                 kernel_initializer=tf_init)])
    model.compile(optimizer=optimizer, loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    return model


def test_fit_with_callbacks_history_and_metrics(tmp_path):
    x, y = _data()
    model = _model()
    csv = str(tmp_path / "log.csv")
    ckpt = str(tmp_path / "w-{epoch:02d}-{val_loss:.3f}.weights.h5")
    lrs = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0,
                        callbacks=[keras.callbacks.CSVLogger(csv), lrs,
                                   keras.callbacks.ModelCheckpoint(ckpt, save_weights_only=True,
                                                                   save_best_only=True)])
    assert sorted(history.history) == ["accuracy", "auc", "learning_rate", "loss",
                                       "val_accuracy", "val_auc", "val_loss"]
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.005, 0.01 / 3],
                               rtol=1e-6)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert all(0.0 <= a <= 1.0 for a in history.history["auc"])
    assert len(open(csv).read().splitlines()) == 4
    assert any(name.startswith("w-") for name in os.listdir(tmp_path))
    assert int(model.optimizer.iterations.numpy()) == 9


def test_early_stopping_on_real_model():
    x, y = _data()
    model = _model(optimizer=keras.optimizers.SGD(0.0))     # nothing improves
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e-4)
    history = model.fit(x, y, epochs=20, batch_size=64, verbose=0, callbacks=[stop])
    assert len(history.epoch) == 3 and stop.stopped_epoch == 2


def test_reduce_lr_and_terminate_on_nan_on_real_model():
    x, y = _data()
    model = _model(optimizer=keras.optimizers.SGD(0.5))
    model.optimizer.learning_rate = 1e-6                      # the loss barely moves
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5,
                                                min_delta=1e-3)
    history = model.fit(x, y, epochs=3, batch_size=64, verbose=0, callbacks=[plateau])
    np.testing.assert_allclose(history.history["learning_rate"], [1e-6, 1e-6, 5e-7])
    np.testing.assert_allclose(model.optimizer.learning_rate.numpy(), 2.5e-7)
    bad_x = x.copy()
    bad_x[0, 0] = np.nan
    model = _model()
    history = model.fit(bad_x, y, epochs=3, batch_size=128, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.epoch) == 1


def test_backup_and_restore_saves_model_and_optimizer_state(tmp_path):
    x, y = _data()
    backup = str(tmp_path / "backup")
    model = _model(seed=3)

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=32, verbose=0, shuffle=False,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), Crash()])
    saved = model.get_weights()
    saved_iterations = int(model.optimizer.iterations.numpy())
    fresh = _model(seed=9)
    cb = keras.callbacks.BackupAndRestore(backup)
    cb.set_model(fresh)
    cb.on_train_begin()
    for a, b in zip(fresh.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == saved_iterations == 8
    assert fresh._initial_epoch == 2


def test_backup_and_restore_resumes_fit(tmp_path):
    x, y = _data()
    backup = str(tmp_path / "backup")
    reference = _model(seed=3)
    reference.fit(x, y, epochs=4, batch_size=32, verbose=0, shuffle=False)

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    model = _model(seed=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=32, verbose=0, shuffle=False,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), Crash()])
    resumed = _model(seed=9)
    history = resumed.fit(x, y, epochs=4, batch_size=32, verbose=0, shuffle=False,
                          callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
