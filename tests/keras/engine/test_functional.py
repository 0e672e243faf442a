"""Tests for the functional API: KerasTensors, Input, graphs with lists/dicts, shared layers,
nested models, intermediate inputs, config round trips, operator layers."""
import json

import numpy as np
import pytest

import numflow as tf
from numflow import keras
from numflow.keras import layers
from numflow.keras.engine.keras_tensor import KerasTensor


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


def test_input_and_keras_tensor_metadata():
    x = keras.Input(shape=(72,), name="img")
    assert isinstance(x, KerasTensor)
    assert x.shape.as_list() == [None, 72] and x.dtype == tf.float32
    layer, node_index, tensor_index = x._keras_history
    assert layer.name == "img" and (node_index, tensor_index) == (0, 0)
    h = layers.Dense(4, name="d")(x)
    assert h._keras_history.layer.name == "d" and h.shape.as_list() == [None, 4]
    assert "created by layer 'd'" in repr(h)
    xi = keras.Input(batch_shape=(8, None), dtype="int32")
    assert xi.shape.as_list() == [8, None] and xi.dtype == tf.int32
    with pytest.raises(ValueError):
        keras.Input(shape=(2,), batch_shape=(1, 2))


def test_keras_tensor_refuses_numpy_and_tf_functions():
    x = keras.Input(shape=(3,))
    with pytest.raises(TypeError, match="KerasTensor"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Lambda"):
        tf.matmul(x, np.ones((3, 2), np.float32))


def _mlp():
    inputs = keras.Input(shape=(4,), name="x")
    h = layers.Dense(8, activation="relu", name="h")(inputs)
    out = layers.Dense(3, activation="softmax", name="out")(h)
    return keras.Model(inputs, out, name="mlp")


def test_model_structure_and_call():
    model = _mlp()
    assert type(model).__name__ == "Functional" and isinstance(model, keras.Model)
    assert [l.name for l in model.layers] == ["x", "h", "out"]
    assert model.output_shape == (None, 3) and model.input_shape == (None, 4)
    assert model.get_layer("h") is model.layers[1] and model.get_layer(index=2).name == "out"
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")
    y = model(np.ones((5, 4)))
    assert y.shape == (5, 3) and np.allclose(y.numpy().sum(1), 1, atol=1e-6)
    assert model.count_params() == 4 * 8 + 8 + 8 * 3 + 3
    assert model.layers[1].input_shape == (None, 4) and model.layers[1].output_shape == (None, 8)


def test_default_model_names():
    a, b = _mlp(), None
    x = keras.Input((2,))
    b = keras.Model(x, layers.Dense(1)(x))
    c = keras.Model(x, layers.Dense(1)(x))
    assert a.name == "mlp" and (b.name, c.name) == ("model", "model_1")


def test_multi_input_output_with_dicts():
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(2,), name="b")
    merged = layers.Lambda(lambda t: tf.concat(t, axis=-1))([a, b])
    o1 = layers.Dense(1, name="o1")(merged)
    o2 = layers.Dense(2, name="o2")(merged)
    model = keras.Model({"a": a, "b": b}, {"o1": o1, "o2": o2})
    out = model({"a": np.ones((4, 3)), "b": np.ones((4, 2))})
    assert set(out) == {"o1", "o2"} and out["o2"].shape == (4, 2)
    list_model = keras.Model([a, b], [o1, o2])
    assert list_model.output_names == ["o1", "o2"] and list_model.input_names == ["a", "b"]
    by_name = list_model({"b": np.ones((4, 2)), "a": np.ones((4, 3))})
    np.testing.assert_allclose(by_name[0].numpy(), out["o1"].numpy())
    with pytest.raises(ValueError, match='Missing data for input "b"|expects 2 input'):
        list_model({"a": np.ones((4, 3))})


def test_shared_layer_and_nonlinear_topology():
    shared = layers.Dense(4, name="shared")
    x1, x2 = keras.Input((3,)), keras.Input((3,))
    y1, y2 = shared(x1), shared(x2)
    total = layers.Lambda(lambda t: t[0] + t[1])([y1, y2])
    model = keras.Model([x1, x2], [total, y1])
    assert len(model.trainable_weights) == 2
    assert len(shared.inbound_nodes) == 2
    with pytest.raises(AttributeError, match="multiple inbound nodes"):
        shared.output
    assert shared.get_output_at(1) is y2
    d1, d2 = np.random.rand(2, 3).astype("f"), np.random.rand(2, 3).astype("f")
    t, a = model([d1, d2])
    np.testing.assert_allclose(t.numpy(), (shared(d1) + shared(d2)).numpy(), rtol=1e-5)


def test_residual_with_operator_layers():
    x = keras.Input((4,))
    h = layers.Dense(4)(x)
    y = (h + x) * 2.0 - 1.0
    z = y[:, :2]
    model = keras.Model(x, z)
    assert model.output_shape == (None, 2)
    data = np.random.rand(3, 4).astype("f")
    dense = model.layers[1]
    expected = ((dense(data).numpy() + data) * 2 - 1)[:, :2]
    np.testing.assert_allclose(model(data).numpy(), expected, rtol=1e-5)
    # The operator layers serialize and come back.
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(data).numpy(), expected, rtol=1e-5)


def test_nested_model_called_as_layer_shares_weights():
    inner = _mlp()
    x = keras.Input((4,))
    outer = keras.Model(x, layers.Dense(2)(inner(x)))
    assert inner in outer.layers
    assert len(outer.trainable_weights) == 6
    data = np.random.rand(2, 4).astype("f")
    np.testing.assert_allclose(keras.Model(x, inner(x))(data).numpy(), inner(data).numpy())
    inner.trainable = False
    assert len(outer.trainable_weights) == 2


def test_model_from_intermediate_tensors():
    x = keras.Input((4,))
    h = layers.Dense(3, name="h")(x)
    out = layers.Dense(2, name="o")(h)
    keras.Model(x, out)
    head = keras.Model(h, out)
    assert head.input_shape == (None, 3)
    data = np.random.rand(2, 3).astype("f")
    np.testing.assert_allclose(head(data).numpy(), head.get_layer("o")(data).numpy())


def test_graph_disconnected_error():
    x1, x2 = keras.Input((2,)), keras.Input((2,))
    y = layers.Lambda(lambda t: t[0] * t[1])([x1, x2])
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(x1, y)


def test_config_round_trip_json():
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(2,), name="b")
    shared = layers.Dense(2, name="shared")
    merged = layers.Lambda(lambda t: tf.concat(t, axis=-1), name="cat")  # lambda: unsafe
    s1 = shared(layers.Dense(2, name="pa")(a))
    s2 = shared(b)
    out = layers.Activation("relu", name="act")(s2)
    model = keras.Model([a, b], [s1, out], name="m")
    cfg = model.get_config()
    assert cfg["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert cfg["output_layers"] == [["shared", 0, 0], ["act", 0, 0]]
    shared_cfg = next(l for l in cfg["layers"] if l["name"] == "shared")
    assert shared_cfg["inbound_nodes"] == [[["pa", 0, 0, {}]], [["b", 0, 0, {}]]]
    again = keras.models.model_from_json(model.to_json())
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    again.set_weights(model.get_weights())
    data = [np.random.rand(2, 3).astype("f"), np.random.rand(2, 2).astype("f")]
    for u, v in zip(model(data), again(data)):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-6)
    assert merged.name == "cat"


def test_nested_model_config_round_trip():
    inner = _mlp()
    x = keras.Input((4,), name="outer_in")
    outer = keras.Model(x, layers.Dense(2, name="head")(inner(x)), name="outer")
    cfg = json.loads(outer.to_json())
    assert cfg["class_name"] == "Functional"
    rebuilt = keras.models.model_from_json(outer.to_json())
    assert rebuilt.count_params() == outer.count_params()
    assert type(rebuilt.get_layer("mlp")).__name__ == "Functional"


def test_custom_layer_from_config_needs_custom_objects():
    class MyDense(layers.Layer):
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units))

        def call(self, inputs):
            return tf.matmul(inputs, self.w)

        def get_config(self):
            return {"units": self.units}

    x = keras.Input((4,))
    model = keras.Model(x, MyDense(10)(x))
    cfg = model.get_config()
    with pytest.raises(ValueError, match="Unknown layer: 'MyDense'"):
        keras.Model.from_config(cfg)
    new = keras.Model.from_config(cfg, custom_objects={"MyDense": MyDense})
    assert new.output_shape == (None, 10)
    with keras.utils.custom_object_scope({"MyDense": MyDense}):
        assert keras.Model.from_config(cfg).output_shape == (None, 10)


def test_lambda_refuses_bytecode_unless_unsafe():
    from numflow.keras.layers.serialization import SafeModeScope
    x = keras.Input((2,))
    model = keras.Model(x, layers.Lambda(lambda t: t * 3.0)(x))
    cfg = model.get_config()
    with pytest.raises(ValueError, match="arbitrary code execution"):
        keras.Model.from_config(cfg)
    with SafeModeScope(False):
        again = keras.Model.from_config(cfg)
    np.testing.assert_allclose(again(np.ones((1, 2))).numpy(), [[3.0, 3.0]])


def test_clone_model_gets_fresh_weights_same_architecture():
    model = _mlp()
    clone = keras.models.clone_model(model)
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert clone.layers[1] is not model.layers[1]
    clone.set_weights(model.get_weights())
    data = np.random.rand(2, 4).astype("f")
    np.testing.assert_allclose(clone(data).numpy(), model(data).numpy(), rtol=1e-6)


def test_functional_input_spec_error():
    model = _mlp()
    with pytest.raises(ValueError, match='layer "mlp" is incompatible'):
        model(np.ones((2, 5), np.float32))


def test_subclass_calling_functional_init():
    class Wrapped(keras.Model):
        def __init__(self):
            x = keras.Input((3,))
            super().__init__(x, layers.Dense(2)(x), name="wrapped")

        def extra(self):
            return "extra"

    m = Wrapped()
    assert isinstance(m, Wrapped) and isinstance(m, keras.Model)
    assert m.output_shape == (None, 2) and m.extra() == "extra"
    assert m(np.ones((1, 3))).shape == (1, 2)
    from numflow.keras.engine.base_layer import LAYER_CLASSES
    assert "Wrapped" not in LAYER_CLASSES


def test_functional_input_spec_follows_input_changes():
    model = _mlp()
    model.input_spec = [keras.layers.InputSpec(shape=(None, 5), name="manual")]
    with pytest.raises(ValueError, match='layer "mlp" is incompatible'):
        model(np.ones((2, 4), np.float32))
    model.input_spec = None
    assert model(np.ones((2, 4), np.float32)).shape == (2, 3)
    inputs = keras.Input(shape=(None,))
    relu = keras.Model(inputs, layers.Activation("relu")(inputs), name="relu")
    assert relu(np.ones((2, 5), np.float32)).shape == (2, 5)
    relu.inputs[0].set_shape((None, 4))        # a new static shape gives a new spec
    with pytest.raises(ValueError, match=r'layer "relu" is incompatible.*shape=\(None, 4\)'):
        relu(np.ones((2, 5), np.float32))
