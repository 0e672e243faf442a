"""Configs: JSON/YAML round trips, Keras 2 and Keras 3 forms, custom objects, and the
safe-loading rules (no imports, no code, no object arrays; Lambda only with safe_mode=False)."""
import json
import sys
import zipfile

import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.keras import saving
from numflow.keras.saving import serialization


def small_functional():
    inp = tf.keras.Input((5,), name="x")
    h = layers.Dense(4, activation="relu", name="h")(inp)
    return tf.keras.Model(inp, layers.Dense(2, name="y")(h), name="small")


def test_json_round_trip_functional_and_sequential():
    for model in (small_functional(),
                  tf.keras.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])):
        text = model.to_json()
        payload = json.loads(text)
        assert payload["keras_version"] and payload["backend"] == "tensorflow"
        clone = saving.model_from_json(text)
        assert [type(l).__name__ for l in clone.layers] == \
            [type(l).__name__ for l in model.layers]
        assert clone.count_params() == model.count_params()


def test_yaml_round_trip_uses_safe_loading():
    pytest.importorskip("yaml")
    model = small_functional()
    text = saving.model_to_yaml(model)
    assert "&id" not in text and "!!python" not in text
    assert saving.model_from_yaml(text).count_params() == model.count_params()
    with pytest.raises(ValueError, match="YAML"):
        saving.model_from_yaml("!!python/object/apply:os.system ['echo hacked']")
    assert saving.model_from_yaml(model.to_yaml()).count_params() == model.count_params()


def test_keras3_form_loads():
    config = {
        "module": "keras.src.models.functional", "class_name": "Functional",
        "registered_name": "Functional",
        "config": {"name": "f", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False,
                        "name": "inp", "optional": False},
             "name": "inp", "inbound_nodes": []},
            {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "d", "trainable": True, "units": 2, "activation": "relu",
                        "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                  "config": {"name": "float32"}, "registered_name": None},
                        "use_bias": True, "quantization_config": None,
                        "kernel_initializer": {"module": "keras.initializers",
                                               "class_name": "GlorotUniform",
                                               "config": {"seed": None, "input_axes": None},
                                               "registered_name": None},
                        "bias_initializer": "zeros"},
             "build_config": {"input_shape": [None, 3]}, "name": "d",
             "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                 "shape": [None, 3], "dtype": "float32", "keras_history": ["inp", 0, 0]}}],
                 "kwargs": {"training": False}}]}],
            "input_layers": [["inp", 0, 0]], "output_layers": ["d", 0, 0]},
        "build_config": {"input_shape": None}}
    model = saving.model_from_config(config)
    assert model.layers[-1].units == 2
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 2)


def test_keras2_form_loads():
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 3, "activation": "linear",
                                           "batch_input_shape": [None, 4],
                                           "kernel_initializer": {"class_name": "Zeros",
                                                                  "config": {}}}}]},
        "keras_version": "2.4.0", "backend": "tensorflow"}
    model = saving.model_from_config(config)
    assert model.count_params() == 15
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], np.zeros((4, 3)))


@pytest.mark.parametrize("module", ["os", "subprocess", "builtins", "numpy", "posixpath",
                                    "__main__", "tensorflow.python.platform"])
def test_unknown_module_is_refused_without_importing(module):
    config = json.loads(small_functional().to_json())
    config["config"]["layers"][1]["module"] = module
    config["config"]["layers"][1]["class_name"] = "system"
    before = set(sys.modules)
    with pytest.raises(ValueError, match="system"):
        saving.model_from_config(config)
    assert set(sys.modules) == before


def test_unregistered_class_and_registered_name():
    config = json.loads(small_functional().to_json())
    config["config"]["layers"][1]["class_name"] = "NotALayer"
    with pytest.raises(ValueError, match="NotALayer"):
        saving.model_from_config(config)
    config = json.loads(small_functional().to_json())
    config["config"]["layers"][1]["registered_name"] = "Evil>Payload"
    config["config"]["layers"][1]["module"] = "evil"
    with pytest.raises(ValueError):
        saving.model_from_config(config)


@pytest.mark.parametrize("name", ["load_model", "enable_unsafe_deserialization", "get_file",
                                  "keras.config.enable_unsafe_deserialization"])
def test_non_modeling_apis_are_refused(name):
    config = json.loads(small_functional().to_json())
    config["config"]["layers"][1]["class_name"] = name
    config["config"]["layers"][1]["module"] = "keras.config"
    with pytest.raises(ValueError, match="non-modeling"):
        saving.model_from_config(config, custom_objects={name: saving.load_model})
    assert serialization.in_safe_mode()


def _lambda_model():
    inp = tf.keras.Input((3,))
    return tf.keras.Model(inp, layers.Lambda(lambda t: t * 2.0)(inp))


def _with_bytecode_lambda(config, keras3=False):
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Lambda":
            if keras3:
                entry["config"]["function"] = {"class_name": "__lambda__", "config": {
                    "code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}
            else:
                entry["config"]["function"] = ["4wEAAAAAAAAAAAAAAAEAAAAC", None, None]
                entry["config"]["function_type"] = "lambda"
    return config


@pytest.mark.parametrize("keras3", [False, True])
def test_lambda_bytecode_refused_in_json(keras3):
    config = _with_bytecode_lambda(json.loads(_lambda_model().to_json()), keras3)
    with pytest.raises(ValueError, match="safe_mode=False"):
        saving.model_from_json(json.dumps(config))


def test_lambda_bytecode_refused_in_h5_and_keras(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = _lambda_model()
    path = tmp_path / "l.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(_with_bytecode_lambda(json.loads(model.to_json())))
    with pytest.raises(ValueError, match="safe_mode=False"):
        saving.load_model(str(path))
    archive = tmp_path / "l.keras"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("config.json", json.dumps(_with_bytecode_lambda(
            json.loads(model.to_json()), keras3=True)))
        zf.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match="safe_mode=False"):
        saving.load_model(str(archive))
    assert serialization.in_safe_mode()


def test_file_cannot_switch_safe_mode_off():
    config = _with_bytecode_lambda(json.loads(_lambda_model().to_json()))
    config["safe_mode"] = False
    config["config"]["safe_mode"] = False
    with pytest.raises(ValueError, match="safe_mode"):
        saving.model_from_config(config)


def test_named_function_lambda_loads_from_custom_objects():
    def double(t):
        return t * 2.0
    inp = tf.keras.Input((3,))
    model = tf.keras.Model(inp, layers.Lambda(double)(inp))
    config = json.loads(model.to_json())
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "Lambda":
            assert entry["config"].get("function_type", "function") != "lambda"
    clone = saving.model_from_config(config, custom_objects={"double": double})
    np.testing.assert_allclose(clone.predict(np.ones((1, 3), "float32"), verbose=0), 2.0)


def test_object_arrays_refused():
    with pytest.raises(ValueError, match="object"):
        serialization.array_from_config([1, 2], "object")
    with pytest.raises(ValueError):
        serialization.array_from_config(["a"], "<U1")
    assert serialization.array_from_config([[1, 2]], "float32").dtype == np.float32
    config = json.loads(small_functional().to_json())
    config["config"]["layers"][1]["config"]["units"] = {
        "class_name": "__numpy__", "config": {"value": [1], "dtype": "object"}}
    with pytest.raises(ValueError, match="object"):
        saving.model_from_config(config)


def test_h5_object_dataset_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = small_functional()
    path = tmp_path / "w.h5"
    model.save_weights(str(path))
    with h5py.File(path, "a") as f:
        group = f["h"]
        name = [n.decode() for n in group.attrs["weight_names"]][0]
        del group[name]
        group.create_dataset(name, data=np.array([b"x" * 5] * 20), dtype=h5py.string_dtype())
    with pytest.raises(ValueError, match="dtype"):
        model.load_weights(str(path))


def test_register_keras_serializable_round_trip(tmp_path):
    pytest.importorskip("h5py")

    @saving.register_keras_serializable(package="NumflowTest")
    class Scale(layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    inp = tf.keras.Input((2,))
    model = tf.keras.Model(inp, Scale(3.0)(inp))
    for path in (tmp_path / "s.keras", tmp_path / "s.h5"):
        model.save(str(path))
        loaded = saving.load_model(str(path))
        np.testing.assert_allclose(loaded.predict(np.ones((1, 2), "float32"), verbose=0), 3.0)
    serialized = saving.serialize_keras_object(Scale(4.0))
    assert serialized["class_name"] in ("NumflowTest>Scale", "Scale")
    assert saving.deserialize_keras_object(serialized).factor == 4.0
    saving.get_custom_objects().pop("NumflowTest>Scale", None)


def test_custom_objects_argument_and_unknown_error_message():
    class Twice(layers.Layer):
        def call(self, inputs):
            return inputs * 2

    inp = tf.keras.Input((2,))
    model = tf.keras.Model(inp, Twice(name="tw")(inp))
    text = model.to_json()
    with pytest.raises(ValueError, match="custom_objects"):
        saving.model_from_json(text)
    assert saving.model_from_json(text, custom_objects={"Twice": Twice}).layers[-1].name == "tw"


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "{\"class_name\": 3}",
                                  "{\"class_name\": \"Functional\", \"config\": []}",
                                  "[" * 100000])
def test_malformed_json_raises_documented_errors(text):
    with pytest.raises(saving.LOAD_ERRORS):
        saving.model_from_json(text)


def test_deeply_nested_and_huge_configs():
    deep = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    node = deep["config"]
    for _ in range(serialization.MAX_CONFIG_DEPTH + 5):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ValueError, match="deeper"):
        saving.model_from_config(deep)


def test_lambda_loads_with_safe_mode_false(tmp_path):
    pytest.importorskip("h5py")
    model = _lambda_model()
    x = np.ones((2, 3), "float32")
    text = model.to_json()
    with pytest.raises(ValueError, match="safe_mode"):
        saving.model_from_json(text)
    clone = saving.model_from_json(text, safe_mode=False)
    np.testing.assert_allclose(clone.predict(x, verbose=0), 2.0)
    for path in (tmp_path / "l.h5", tmp_path / "l.keras"):
        model.save(str(path))
        with pytest.raises(ValueError, match="safe_mode"):
            saving.load_model(str(path))
        loaded = saving.load_model(str(path), safe_mode=False)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), 2.0)
    assert serialization.in_safe_mode()
