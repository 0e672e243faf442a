"""``tf.keras.callbacks.TensorBoard``: event files under log_dir/train and
log_dir/validation, read back with numflow.io.events.read_events."""
import os

import numpy as np
import pytest

import numflow as tf
from numflow.io.events import read_events
from numflow.keras import layers

X = np.random.RandomState(0).random_sample((64, 5)).astype("float32")
Y = np.eye(3)[np.random.RandomState(1).randint(0, 3, 64)].astype("float32")


def _model():
    model = tf.keras.Sequential([layers.Dense(4, activation="relu", input_shape=(5,)),
                                 layers.Dense(3, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _values(directory):
    """{tag: [(step, value-or-dict)]} over every event file in ``directory``."""
    out = {}
    for name in sorted(os.listdir(directory)):
        if "tfevents" not in name:
            continue
        for event in read_events(os.path.join(directory, name)):
            for v in event.get("summary", []):
                value = v["tensor"] if "tensor" in v else v.get("simple_value")
                out.setdefault(v["tag"], []).append((event["step"], value))
    return out


def test_epoch_metrics_train_and_validation(tmp_path):
    model = _model()
    cb = tf.keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    history = model.fit(X, Y, batch_size=16, epochs=3, verbose=0, callbacks=[cb],
                        validation_data=(X[:16], Y[:16]))
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train = _values(tmp_path / "train")
    val = _values(tmp_path / "validation")
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([float(v) for _, v in train["epoch_loss"]],
                               history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([float(v) for _, v in val["epoch_loss"]],
                               history.history["val_loss"], rtol=1e-6)
    assert "epoch_accuracy" in train and "epoch_accuracy" in val
    assert "epoch_learning_rate" in train
    assert "keras" in train   # the model config for TensorBoard's conceptual graph
    assert any(k.startswith("evaluation_loss_vs_iterations") for k in val)
    names = os.listdir(tmp_path / "train")
    assert all(n.startswith("events.out.tfevents.") and n.endswith(".v2") for n in names)


def test_update_freq_batch_and_integer(tmp_path):
    model = _model()
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0,
              callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path / "a"),
                                                        update_freq="batch")])
    batch = _values(tmp_path / "a" / "train")["batch_loss"]
    assert [s for s, _ in batch] == list(range(1, 9))
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0,
              callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path / "b"), update_freq=3)])
    assert len(_values(tmp_path / "b" / "train")["batch_loss"]) == 2
    with pytest.raises(ValueError):
        tf.keras.callbacks.TensorBoard(str(tmp_path), update_freq="sometimes")


def test_histograms_and_images(tmp_path):
    model = _model()
    model.fit(X, Y, batch_size=32, epochs=2, verbose=0,
              callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path), histogram_freq=1,
                                                        write_images=True,
                                                        write_steps_per_second=True)])
    train = _values(tmp_path / "train")
    kernel = [k for k in train if "kernel" in k and "image" not in k]
    assert kernel
    hist = [v for _, v in train[kernel[0]] if np.ndim(v) == 2]
    assert hist and hist[0].shape[1] == 3
    assert hist[0][:, 2].sum() == model.layers[0].weights[0].numpy().size
    images = [k for k, vals in train.items()
              if any(np.ndim(v) == 1 and np.asarray(v).dtype == object for _, v in vals)]
    assert images
    assert "epoch_steps_per_second" in train


def test_embeddings_projector_config(tmp_path):
    model = tf.keras.Sequential([layers.Embedding(10, 3, input_length=4), layers.Flatten(),
                                 layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    ids = np.random.RandomState(0).randint(0, 10, (8, 4))
    model.fit(ids, np.zeros((8, 1), "float32"), epochs=1, verbose=0,
              callbacks=[tf.keras.callbacks.TensorBoard(str(tmp_path), embeddings_freq=1,
                                                        embeddings_metadata="meta.tsv")])
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert "embeddings" in config and 'metadata_path: "meta.tsv"' in config
    assert any(n.startswith("keras_embedding.ckpt-0") for n in os.listdir(tmp_path / "train"))


def test_unknown_argument_rejected(tmp_path):
    with pytest.raises(ValueError, match="Unrecognized"):
        tf.keras.callbacks.TensorBoard(str(tmp_path), bogus=1)
    tf.keras.callbacks.TensorBoard(str(tmp_path), write_grads=True, batch_size=4)
