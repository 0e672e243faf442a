"""``model.summary()`` / ``keras.utils.layer_utils.print_summary``: Keras's table."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.keras.utils import layer_utils


def _lines(model, **kwargs):
    out = []
    layer_utils.print_summary(model, print_fn=out.append, **kwargs)
    return out


def test_sequential_table_and_totals():
    model = tf.keras.Sequential([layers.Dense(32, activation="relu", input_shape=(784,)),
                                 layers.Dense(10)], name="seq")
    lines = _lines(model)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "seq"'
    for header in ("Layer (type)", "Output Shape", "Param #"):
        assert header in text
    assert "Connected to" not in text
    assert "(None, 32)" in text and "25120" in text and "330" in text
    assert "Total params: 25,450" in text
    assert "Trainable params: 25,450" in text and "Non-trainable params: 0" in text
    assert max(len(l) for l in lines) <= 65


def test_functional_connected_to_and_trainable_column():
    a = tf.keras.Input((4,), name="a")
    b = tf.keras.Input((3,), name="b")
    x = layers.Concatenate(name="cat")([a, b])
    out = layers.Dense(2, name="d")(x)
    model = tf.keras.Model([a, b], out)
    model.get_layer("d").trainable = False
    text = "\n".join(_lines(model, show_trainable=True))
    assert "Connected to" in text and "'a[0][0]'" in text and "'cat[0][0]'" in text
    assert "Trainable" in text
    assert "Non-trainable params: 16" in text


def test_line_length_positions_and_layer_range():
    model = tf.keras.Sequential([layers.Dense(3, input_shape=(2,), name="first"),
                                 layers.Dense(2, name="second"), layers.Dense(1, name="third")])
    lines = _lines(model, line_length=80, positions=[0.5, 0.8, 1.0])
    assert all(len(l) <= 80 for l in lines)
    ranged = "\n".join(_lines(model, layer_range=["second", "third"]))
    assert "second" in ranged and "third" in ranged and "first (Dense)" not in ranged
    with pytest.raises(ValueError):
        _lines(model, layer_range=["nope", "third"])


def test_model_summary_method_and_unbuilt_model():
    model = tf.keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="built"):
        model.summary()
    model.build((None, 3))
    out = []
    model.summary(print_fn=out.append)
    assert any("Total params: 8" in l for l in out)


def test_count_params_and_source_inputs():
    inp = tf.keras.Input((3,))
    out = layers.Dense(2)(layers.Dense(4)(inp))
    model = tf.keras.Model(inp, out)
    assert layer_utils.count_params(model.weights) == model.count_params() == 26
    sources = layer_utils.get_source_inputs(out)
    assert len(sources) == 1 and sources[0] is inp
    assert np.isfinite(model.count_params())
