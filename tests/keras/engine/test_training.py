"""Tests for Model.compile/fit/evaluate/predict: traced vs eager equality, data formats,
validation, metrics naming, multi-output losses, callbacks interplay, custom steps."""
import numpy as np
import pytest

import numflow as tf
from numflow import keras
from numflow.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def _data(n=256, d=8, classes=3, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, d).astype("float32")
    w = rng.randn(d, classes)
    y = np.argmax(x @ w, axis=1)
    return x, y


def _model(d=8, classes=3, seed=1):
    keras.utils.set_random_seed(seed)
    x = keras.Input((d,), name="x")
    h = layers.Dense(16, activation="relu")(x)
    return keras.Model(x, layers.Dense(classes, activation="softmax", name="out")(h))


def test_fit_learns_and_returns_history():
    x, y = _data()
    model = _model()
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    assert hist is model.history and hist.epoch == list(range(8))
    assert set(hist.history) == {"loss", "accuracy"}
    assert hist.history["loss"][-1] < hist.history["loss"][0] * 0.7
    assert hist.history["accuracy"][-1] > 0.8
    assert model.metrics_names == ["loss", "accuracy"]


def test_traced_and_eager_training_give_the_same_numbers():
    x, y = _data(n=96)
    results = []
    for eager in (False, True):
        model = _model(seed=3)
        model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                      metrics=["acc"], run_eagerly=eager)
        h = model.fit(x, y, batch_size=20, epochs=3, shuffle=False, verbose=0)
        results.append((h.history, model.get_weights(), model.evaluate(x, y, verbose=0)))
    (h1, w1, e1), (h2, w2, e2) = results
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-5)
    np.testing.assert_allclose(h1["acc"], h2["acc"])
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e1, e2, rtol=1e-5)


def test_one_sgd_step_matches_numpy():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    w0, b0 = model.get_weights()
    x = np.random.rand(4, 3).astype("float32")
    y = np.random.rand(4, 1).astype("float32")
    loss = model.train_on_batch(x, y)
    err = x @ w0 + b0 - y
    np.testing.assert_allclose(loss, np.mean(err ** 2), rtol=1e-5)
    gw = 2 * x.T @ err / 4
    gb = 2 * err.sum(0) / 4
    w1, b1 = model.get_weights()
    np.testing.assert_allclose(w1, w0 - 0.5 * gw, rtol=1e-5)
    np.testing.assert_allclose(b1, b0 - 0.5 * gb, rtol=1e-5)


def test_train_step_is_traced_once_per_batch_shape():
    x, y = _data(n=100)
    model = _model()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    # 32-sample batches and the final 4-sample batch: two traces for three epochs.
    assert model.train_function.experimental_get_tracing_count() == 2


def test_accuracy_resolution_and_names():
    x, y = _data(n=64)
    onehot = keras.utils.to_categorical(y, 3)
    for loss, target, metric, fn in [
            ("sparse_categorical_crossentropy", y, "acc", "sparse_categorical_accuracy"),
            ("categorical_crossentropy", onehot, "accuracy", "categorical_accuracy")]:
        model = _model()
        model.compile("adam", loss, metrics=[metric])
        h = model.fit(x, target, epochs=1, verbose=0)
        assert metric in h.history
        assert model.compiled_metrics.metrics[0]._fn.__name__ == fn
    binary = keras.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(8,))])
    binary.compile("adam", "binary_crossentropy", metrics=["accuracy", "mse"])
    h = binary.fit(x, (y > 0).astype("float32"), epochs=1, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "mse"}
    assert binary.compiled_metrics.metrics[0]._fn.__name__ == "binary_accuracy"


def test_validation_split_data_and_freq():
    x, y = _data(n=200)
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert {"val_loss", "val_accuracy"} <= set(h.history) and len(h.history["val_loss"]) == 2
    h = model.fit(x, y, epochs=4, validation_data=(x[:50], y[:50]), validation_freq=2,
                  verbose=0)
    assert len(h.history["val_loss"]) == 2 and len(h.history["loss"]) == 4
    with pytest.raises(ValueError, match="not sufficient"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)


def test_evaluate_and_predict_formats():
    x, y = _data(n=70)
    model = _model()
    with pytest.raises(RuntimeError, match="compile"):
        model.evaluate(x, y)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    res = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(res, list) and len(res) == 2
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d) == {"loss", "accuracy"}
    assert np.isclose(d["loss"], res[0], rtol=1e-5)
    p = model.predict(x, batch_size=16, verbose=0)
    assert p.shape == (70, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(p, model(x).numpy(), rtol=1e-5)
    only_loss = _model()
    only_loss.compile("adam", "sparse_categorical_crossentropy")
    assert isinstance(only_loss.evaluate(x, y, verbose=0), float)


def test_multi_output_dict_losses_weights_and_history_keys():
    rng = np.random.RandomState(0)
    a = keras.Input((4,), name="a")
    b = keras.Input((2,), name="b")
    h = layers.Lambda(lambda t: tf.concat(t, axis=-1))([a, b])
    p1 = layers.Dense(1, activation="sigmoid", name="priority")(h)
    p2 = layers.Dense(3, activation="softmax", name="department")(h)
    model = keras.Model([a, b], [p1, p2])
    model.compile("rmsprop", loss={"priority": "binary_crossentropy",
                                   "department": "categorical_crossentropy"},
                  loss_weights=[1.0, 0.2], metrics={"department": ["acc"]})
    xa, xb = rng.rand(64, 4), rng.rand(64, 2)
    y1 = rng.rand(64, 1)
    y2 = keras.utils.to_categorical(rng.randint(0, 3, 64), 3)
    hist = model.fit({"a": xa, "b": xb}, {"priority": y1, "department": y2},
                     batch_size=16, epochs=1, verbose=0).history
    assert set(hist) == {"loss", "priority_loss", "department_loss", "department_acc"}
    assert np.isclose(hist["loss"][0],
                      hist["priority_loss"][0] + 0.2 * hist["department_loss"][0], rtol=1e-4)
    out1, out2 = model.predict([xa[:5], xb[:5]], verbose=0)
    assert out1.shape == (5, 1) and out2.shape == (5, 3)
    ev = model.evaluate([xa, xb], [y1, y2], verbose=0, return_dict=True)
    assert set(ev) == {"loss", "priority_loss", "department_loss", "department_acc"}


def test_dict_outputs_predict_returns_dict():
    x = keras.Input((2,))
    model = keras.Model(x, {"u": layers.Dense(1)(x), "v": layers.Dense(2)(x)})
    out = model.predict(np.ones((3, 2)), verbose=0)
    assert set(out) == {"u", "v"} and out["v"].shape == (3, 2)


def test_tf_data_dataset_with_steps_keeps_iterator():
    x, y = _data(n=96)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat()
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(ds, epochs=3, steps_per_epoch=2, validation_data=ds, validation_steps=2,
                  verbose=0)
    assert len(h.history["val_loss"]) == 3
    finite = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    h = model.fit(finite, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    assert len(model.evaluate(finite, verbose=0)) == 2
    assert model.predict(finite, verbose=0).shape == (96, 3)
    with pytest.raises(ValueError, match="`y` argument is not supported"):
        model.fit(finite, y)


def test_generator_and_sequence_inputs():
    x, y = _data(n=64)

    def gen():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    h = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2

    class Seq(keras.utils.Sequence):
        def __init__(self):
            super().__init__()
            self.epochs_ended = 0

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]

        def on_epoch_end(self):
            self.epochs_ended += 1

    seq = Seq()
    model.fit(seq, epochs=3, verbose=0)
    assert seq.epochs_ended == 3
    assert model.predict(Seq(), verbose=0).shape == (64, 3)


def test_sample_and_class_weights():
    x, y = _data(n=64)
    model = _model()
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    base = model.evaluate(x, y, verbose=0)
    zero = model.evaluate(x, y, sample_weight=np.zeros(64), verbose=0)
    assert zero == 0.0 and base > 0
    double = model.evaluate(x, y, sample_weight=np.full(64, 2.0), verbose=0)
    assert np.isclose(double, 2 * base, rtol=1e-5)
    h = model.fit(x, y, class_weight={0: 0.0, 1: 0.0, 2: 0.0}, epochs=1, verbose=0)
    assert h.history["loss"][0] == 0.0


def test_on_batch_methods():
    x, y = _data(n=10)
    model = _model()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    logs = model.train_on_batch(x, y)
    assert isinstance(logs, list) and len(logs) == 2
    d = model.test_on_batch(x, y, return_dict=True)
    assert set(d) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (10, 3)


def test_subclassed_model_fit_and_weights():
    class MyModel(keras.Model):
        def __init__(self):
            super().__init__(name="my_model")
            self.hidden = layers.Dense(16, activation="relu")
            self.out = layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    x, y = _data()
    model = MyModel()
    model.compile(keras.optimizers.RMSprop(0.01), "sparse_categorical_crossentropy")
    h = model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert len(model.trainable_weights) == 4 and model.layers == [model.hidden, model.out]
    assert model.hidden.kernel.name == "my_model/dense/kernel:0"
    with pytest.raises(NotImplementedError, match="subclassed Model"):
        model.get_config()


def test_custom_train_step_override():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.steps_seen = keras.metrics.Mean(name="steps")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self(x, training=True) - y))
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            self.steps_seen.update_state(1.0)
            return {"custom_loss": loss}

    model = Custom()
    model.compile("sgd")
    x = np.random.rand(32, 2).astype("f")
    h = model.fit(x, x[:, :1] * 2, batch_size=8, epochs=2, verbose=0)
    assert list(h.history) == ["custom_loss"] and len(h.history["custom_loss"]) == 2


def test_stop_training_from_callback_and_initial_epoch():
    class StopAfterOne(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    x, y = _data(n=32)
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=5, callbacks=[StopAfterOne()], verbose=0)
    assert h.epoch == [0]
    h = model.fit(x, y, epochs=3, initial_epoch=1, verbose=0)
    assert h.epoch == [1, 2]


def test_regularization_losses_are_added():
    keras.utils.set_random_seed(0)
    x = np.random.rand(16, 3).astype("f")
    y = np.random.rand(16, 2).astype("f")
    plain = keras.Sequential([layers.Dense(2, input_shape=(3,), kernel_initializer="ones")])
    reg = keras.Sequential([layers.Dense(2, input_shape=(3,), kernel_initializer="ones",
                                         kernel_regularizer=keras.regularizers.l2(0.1))])
    for m in (plain, reg):
        m.compile("sgd", "mse")
    diff = reg.evaluate(x, y, verbose=0) - plain.evaluate(x, y, verbose=0)
    assert np.isclose(diff, 0.1 * 6, rtol=1e-5)


def test_progress_bar_output(capsys):
    x, y = _data(n=64)
    model = _model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2 [==============================]" in out and "step - " in out
    assert "loss: " in out and "accuracy: " in out


def test_dropout_training_flag_in_fit_and_predict():
    model = keras.Sequential([layers.Dropout(0.5, input_shape=(100,))])
    model.compile("sgd", "mse")
    ones = np.ones((4, 100), np.float32)
    np.testing.assert_array_equal(model.predict(ones, verbose=0), ones)
    out = model(ones, training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1
