"""Tests for keras.Sequential: explicit and deferred builds, add/pop, config."""
import numpy as np
import pytest

import numflow as tf
from numflow import keras
from numflow.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def test_input_shape_on_first_layer_builds_graph():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    assert model.built and model.inputs and model.output_shape == (None, 2)
    assert [l.name for l in model.layers] == ["dense", "dense_1"]
    assert model.layers[0].kernel.name == "dense/kernel:0"
    assert model.inputs[0]._keras_history.layer.name == "dense_input"


def test_input_dim_and_batch_input_shape_and_input_layer():
    m1 = keras.Sequential([layers.Dense(2, input_dim=5)])
    assert m1.input_shape == (None, 5)
    m2 = keras.Sequential([layers.Dense(2, batch_input_shape=(7, 5))])
    assert m2.input_shape == (7, 5)
    m3 = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(2)])
    assert m3.input_shape == (None, 6) and len(m3.layers) == 1
    m4 = keras.Sequential([layers.InputLayer(input_shape=(6,)), layers.Dense(2)])
    assert m4.output_shape == (None, 2)


def test_deferred_build_on_first_data():
    model = keras.Sequential()
    model.add(layers.Dense(4, activation="relu"))
    model.add(layers.Dense(2))
    assert not model.built and model.weights == []
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    y = model(np.ones((3, 5)))
    assert model.built and y.shape == (3, 2) and y.dtype == tf.float32
    assert model.input_shape == (None, 5)
    assert len(model.weights) == 4


def test_build_method():
    model = keras.Sequential([layers.Dense(3)])
    model.build((None, 8))
    assert model.count_params() == 27


def test_add_pop_and_errors():
    model = keras.Sequential([layers.Dense(4, input_shape=(3,), name="a")])
    model.add(layers.Dense(2, name="b"))
    assert model.output_shape == (None, 2)
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(2, name="b"))
    with pytest.raises(TypeError, match="must be an instance of class Layer"):
        model.add("dense")
    model.pop()
    assert model.output_shape == (None, 4) and len(model.layers) == 1
    model.pop()
    with pytest.raises(TypeError, match="no layers"):
        model.pop()


def test_sequential_inside_functional_and_nested():
    inner = keras.Sequential([layers.Dense(3, input_shape=(2,))])
    x = keras.Input((2,))
    outer = keras.Model(x, layers.Dense(1)(inner(x)))
    assert outer.count_params() == 9 + 4
    stacked = keras.Sequential([inner, layers.Dense(5)])
    assert stacked.output_shape == (None, 5)


def test_get_config_round_trip():
    model = keras.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                              layers.Dropout(0.5), layers.Dense(2, activation="softmax")],
                             name="seq")
    cfg = model.get_config()
    assert cfg["name"] == "seq"
    assert [l["class_name"] for l in cfg["layers"]] == ["InputLayer", "Dense", "Dropout", "Dense"]
    again = keras.Sequential.from_config(cfg)
    assert [type(l).__name__ for l in again.layers] == ["Dense", "Dropout", "Dense"]
    again.set_weights(model.get_weights())
    data = np.random.rand(2, 3).astype("f")
    np.testing.assert_allclose(again(data).numpy(), model(data).numpy(), rtol=1e-6)
    js = keras.models.model_from_json(model.to_json())
    assert js.count_params() == model.count_params()


def test_deferred_config_keeps_build_shape():
    model = keras.Sequential([layers.Dense(2)])
    model(np.ones((1, 4), np.float32))
    again = keras.Sequential.from_config(model.get_config())
    assert again.built and again.count_params() == 10


def test_summary_format(capsys):
    model = keras.Sequential([layers.Dense(32, input_shape=(72,)), layers.Dense(10)])
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Model: "sequential"'
    assert out[2].startswith(" Layer (type)") and "Output Shape" in out[2]
    assert out[4].startswith(" dense (Dense)") and "(None, 32)" in out[4] and "2336" in out[4]
    assert "Total params: 2,666" in out and "Trainable params: 2,666" in out
    assert "Non-trainable params: 0" in out
    assert all(len(line) == 65 for line in out[1:4])


def test_model_weights_are_ordered_layer_by_layer():
    model = keras.Sequential([layers.Dense(3, input_shape=(2,)), layers.BatchNormalization(),
                              layers.Dense(1)])
    assert [w.name for w in model.weights] == [
        "dense/kernel:0", "dense/bias:0", "batch_normalization/gamma:0",
        "batch_normalization/beta:0", "batch_normalization/moving_mean:0",
        "batch_normalization/moving_variance:0", "dense_1/kernel:0", "dense_1/bias:0"]
    assert [w.name for w in model.non_trainable_weights] == [
        "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    assert len(model.get_weights()) == 8
