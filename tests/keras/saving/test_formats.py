"""Round trips through every saving format: weights (TF checkpoint, Keras 2 .h5, Keras 3
.weights.h5, .keras), whole models (.h5, .keras), and their layouts on disk."""
import json
import os
import warnings

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import numflow as tf  # noqa: E402
from numflow.io.tf_checkpoint import CheckpointReader  # noqa: E402
from numflow.keras import layers  # noqa: E402
from numflow.keras import saving  # noqa: E402
from numflow.keras.saving import tf_format  # noqa: E402

X = np.random.RandomState(0).random_sample((16, 6)).astype("float32")
Y = np.random.RandomState(1).random_sample((16, 3)).astype("float32")


def mlp(compiled=True, seed=None):
    if seed is not None:
        tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)),
                                 layers.Dense(3)])
    if compiled:
        model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def functional(compiled=True):
    a = tf.keras.Input((6,), name="a")
    b = tf.keras.Input((2,), name="b")
    x = layers.Concatenate()([layers.Dense(4, activation="tanh", name="da")(a), b])
    out = layers.Dense(3, name="out")(x)
    model = tf.keras.Model([a, b], out, name="two_inputs")
    if compiled:
        model.compile(optimizer="rmsprop", loss="mse")
    return model


def scramble(model):
    model.set_weights([np.full_like(w, 0.25) for w in model.get_weights()])


@pytest.mark.parametrize("path", ["weights/model", "w.h5", "w.hdf5", "w.keras", "w.weights.h5"])
def test_weights_round_trip(tmp_path, path):
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    want = model.predict(X, verbose=0)
    target = tmp_path / path
    model.save_weights(str(target))
    other = mlp()
    scramble(other)
    other.load_weights(str(target))
    np.testing.assert_allclose(other.predict(X, verbose=0), want, rtol=0, atol=0)


def test_tf_format_files_and_keys(tmp_path):
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    prefix = tmp_path / "weights" / "model"
    model.save_weights(str(prefix))
    names = sorted(os.listdir(tmp_path / "weights"))
    assert names == ["checkpoint", "model.data-00000-of-00001", "model.index"]
    state = (tmp_path / "weights" / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model"' in state
    keys = CheckpointReader(str(prefix)).get_variable_to_shape_map()
    assert keys["layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"] == [6, 8]
    assert keys["layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE"] == [3]
    assert keys["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == []
    assert "optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE" in keys
    assert "optimizer/_variables/1/.ATTRIBUTES/VARIABLE_VALUE" in keys
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in keys
    raw = CheckpointReader(str(prefix)).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
    graph = tf_format.decode_object_graph(bytes(raw.reshape(-1)[0]))
    root = graph[0]["children"]
    assert root["layer_with_weights-0"] == root["layer-0"]
    kernel = graph[graph[root["layer_with_weights-0"]]["children"]["kernel"]]
    assert kernel["key"] == "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert kernel["full_name"].endswith("kernel")


def test_tf_format_restores_optimizer_state_and_directory(tmp_path):
    model = mlp()
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    model.save_weights(str(tmp_path / "ck" / "model"))
    other = mlp()
    other.load_weights(str(tmp_path / "ck"))  # a directory: its `checkpoint` file
    assert int(other.optimizer.iterations.numpy()) == 4
    for a, b in zip(model.optimizer.variables, other.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_tf_format_rejects_other_model_and_by_name(tmp_path):
    model = mlp()
    model.save_weights(str(tmp_path / "m"))
    with pytest.raises(ValueError, match="by_name"):
        mlp().load_weights(str(tmp_path / "m"), by_name=True)
    bigger = tf.keras.Sequential([layers.Dense(8, input_shape=(6,)), layers.Dense(3),
                                  layers.Dense(2)])
    with pytest.raises(ValueError):
        bigger.load_weights(str(tmp_path / "m"))
    wrong_shape = tf.keras.Sequential([layers.Dense(5, input_shape=(6,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="shape"):
        wrong_shape.load_weights(str(tmp_path / "m"))


def test_keras2_h5_weights_layout(tmp_path):
    model = mlp()
    path = tmp_path / "w.h5"
    model.save_weights(str(path))
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f.attrs["layer_names"]]
        assert names == [layer.name for layer in model.layers]
        assert f.attrs["backend"] == b"tensorflow"
        first = f[names[0]]
        weight_names = [n.decode() for n in first.attrs["weight_names"]]
        assert weight_names == [w.name for w in model.layers[0].weights]
        assert first[weight_names[0]].shape == (6, 8)
        assert first[weight_names[0]].fletcher32  # corruption of the bytes is detected
        assert "top_level_model_weights" in f


def test_keras3_weights_layout(tmp_path):
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "m.weights.h5"
    model.save_weights(str(path))
    with h5py.File(path, "r") as f:
        assert f["layers/dense/vars/0"].shape == (6, 8)
        assert f["layers/dense_1/vars/1"].shape == (3,)
        assert f["optimizer/vars/0"][()] == 1  # iterations
        assert len(f["optimizer/vars"]) == len(model.optimizer.variables)
        assert "vars" in f


def test_h5_by_name_and_skip_mismatch(tmp_path):
    model = functional()
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    a = tf.keras.Input((6,), name="a")
    x = layers.Dense(4, activation="tanh", name="da")(a)
    out = layers.Dense(5, name="out")(x)   # different shape: mismatch
    partial = tf.keras.Model(a, out)
    with pytest.raises(ValueError):
        partial.load_weights(path, by_name=True)
    before = partial.get_layer("out").get_weights()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        partial.load_weights(path, by_name=True, skip_mismatch=True)
    assert any("out" in str(w.message) for w in caught)
    np.testing.assert_array_equal(partial.get_layer("da").get_weights()[0],
                                  model.get_layer("da").get_weights()[0])
    np.testing.assert_array_equal(partial.get_layer("out").get_weights()[0], before[0])


def test_h5_layer_count_mismatch_by_position(tmp_path):
    path = str(tmp_path / "w.h5")
    mlp().save_weights(path)
    three = tf.keras.Sequential([layers.Dense(8, input_shape=(6,)), layers.Dense(3),
                                 layers.Dense(1)])
    with pytest.raises(ValueError, match="Layer count mismatch"):
        three.load_weights(path)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_model_round_trip_resumes_training(tmp_path, suffix):
    model = mlp(seed=3)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / ("model" + suffix))
    model.save(path)
    loaded = saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=0, atol=0)
    assert type(loaded.optimizer).__name__ == "Adam"
    assert int(loaded.optimizer.iterations.numpy()) == 4
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # one more identical step on both gives identical weights: the state came back
    model.fit(X, Y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(X, Y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_h5_model_attributes(tmp_path):
    model = mlp()
    model.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "m.h5"
    model.save(str(path))
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "mean_squared_error"
        assert training["optimizer_config"]["class_name"] == "Custom>Adam"
        assert "model_weights" in f and "optimizer_weights" in f
        assert f.attrs["keras_version"] == b"2.21.0"


def test_keras_archive_members(tmp_path):
    import zipfile
    model = functional()
    path = tmp_path / "m.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        assert config["class_name"] == "Functional"
        assert config["module"] == "keras.src.models.functional"
        assert config["compile_config"]["loss"] == "mse"
        assert "keras_version" in json.loads(zf.read("metadata.json"))
    loaded = saving.load_model(str(path))
    xa, xb = X, X[:, :2]
    np.testing.assert_array_equal(loaded.predict([xa, xb], verbose=0),
                                  model.predict([xa, xb], verbose=0))


def test_load_model_compile_false_and_uncompiled(tmp_path):
    model = mlp(compiled=False)
    path = str(tmp_path / "m.h5")
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = saving.load_model(path)
    assert loaded.optimizer is None
    mlp().save(path)
    assert saving.load_model(path, compile=False).optimizer is None


def test_load_weights_from_keras_archive(tmp_path):
    model = mlp()
    model.save(str(tmp_path / "m.keras"))
    other = mlp()
    scramble(other)
    other.load_weights(str(tmp_path / "m.keras"))
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])


def test_format_is_sniffed_not_taken_from_suffix(tmp_path):
    model = mlp()
    model.save(str(tmp_path / "m.keras"))
    os.rename(tmp_path / "m.keras", tmp_path / "m.h5")
    assert saving.load_model(str(tmp_path / "m.h5")).count_params() == model.count_params()


def test_errors_for_missing_and_unsupported(tmp_path):
    model = mlp()
    with pytest.raises(OSError):
        saving.load_model(str(tmp_path / "nope.h5"))
    with pytest.raises(NotImplementedError, match="SavedModel"):
        model.save(str(tmp_path / "saved_model_dir"))
    with pytest.raises(ValueError, match="save_weights"):
        model.save(str(tmp_path / "x.weights.h5"))
    model.save_weights(str(tmp_path / "w.h5"))
    with pytest.raises(ValueError, match="weights only"):
        saving.load_model(str(tmp_path / "w.h5"))
    (tmp_path / "junk.h5").write_bytes(b"not a model at all")
    with pytest.raises(ValueError):
        saving.load_model(str(tmp_path / "junk.h5"))


def test_saves_are_atomic_and_leave_no_temp_files(tmp_path, monkeypatch):
    model = mlp()
    path = tmp_path / "m.h5"
    model.save(str(path))
    before = path.read_bytes()
    from numflow.keras.saving import hdf5_format

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(hdf5_format, "save_weights_to_hdf5_group", explode)
    with pytest.raises(RuntimeError):
        model.save(str(path))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]
    from numflow.keras.saving import saving_lib
    monkeypatch.setattr(saving_lib, "write_weights", explode)
    with pytest.raises(RuntimeError):
        model.save(str(tmp_path / "k.keras"))
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]


def test_clone_model(tmp_path):
    model = functional()
    clone = saving.clone_model(model)
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in model.layers]
    assert clone.count_params() == model.count_params()
    assert all(a is not b for a, b in zip(clone.weights, model.weights))


@pytest.mark.parametrize("path", ["w.h5", "w.weights.h5", "m.h5"])
def test_flipped_weight_byte_is_detected(tmp_path, path):
    from numflow.framework import errors
    model = mlp()
    marker = np.float32(1.2345678)
    model.set_weights([np.full_like(w, marker) for w in model.get_weights()])
    target = tmp_path / path
    if path == "m.h5":
        model.save(str(target))
    else:
        model.save_weights(str(target))
    data = bytearray(target.read_bytes())
    at = data.find(marker.tobytes() * 8)
    assert at > 0
    data[at + 5] ^= 0x10
    target.write_bytes(bytes(data))
    with pytest.raises(errors.DataLossError, match=path):
        if path == "m.h5":
            saving.load_model(str(target))
        else:
            mlp().load_weights(str(target))
