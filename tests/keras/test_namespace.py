"""The ``tf.keras`` namespace: what ``import numflow as tf`` programs reach for."""
import pytest

import numflow as tf


@pytest.mark.parametrize("name", [
    "layers", "models", "Model", "Sequential", "Input", "backend", "activations",
    "initializers", "regularizers", "constraints", "utils", "datasets", "losses", "metrics",
    "optimizers", "callbacks"])
def test_keras_has(name):
    assert hasattr(tf.keras, name)


def test_version_and_aliases():
    assert tf.keras.__version__.count(".") == 2
    assert tf.keras.models.Model is tf.keras.Model
    assert tf.keras.models.Sequential is tf.keras.Sequential
    assert tf.keras.layers.Input is tf.keras.Input
    from numflow import keras
    assert keras is tf.keras


def test_missing_lazy_module_is_an_attribute_error():
    assert not hasattr(tf.keras, "no_such_module")
