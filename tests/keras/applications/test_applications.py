"""keras.applications built with ``weights=None``: Keras's parameter counts, and the same
layers with weights, in the same order with the same weight shapes as Keras 3 builds them
(``tests/fixtures/keras_layers/applications.json``), so Keras's weight files load by order.
VGG16/VGG19 initialize 138M/144M parameters and are marked slow."""
import json
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras import applications

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures",
                       "keras_layers", "applications.json")
with open(FIXTURE) as f:
    LAYOUTS = json.load(f)

PARAMS = {"VGG16": 138357544, "VGG19": 143667240, "ResNet50": 25636712,
          "MobileNetV2": 3538984}


def _check(name):
    tf.keras.backend.clear_session()
    model = getattr(applications, name)(weights=None)
    assert model.count_params() == PARAMS[name] == LAYOUTS[name]["params"]
    layout = [[layer.name, type(layer).__name__,
               [list(w.shape) for w in layer.get_weights()]]
              for layer in model.layers if layer.weights]
    assert layout == LAYOUTS[name]["layers"]
    return model


@pytest.mark.parametrize("name", ["ResNet50", "MobileNetV2"])
def test_application_layout(name):
    _check(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["VGG16", "VGG19"])
def test_vgg_layout(name):
    _check(name)


def test_small_resnet_and_mobilenet_run():
    for name, shape in (("ResNet50", (64, 64, 3)), ("MobileNetV2", (96, 96, 3))):
        model = getattr(applications, name)(weights=None, include_top=False,
                                             input_shape=shape, pooling="avg")
        out = model.predict(np.random.RandomState(0).rand(1, *shape).astype("float32"),
                            verbose=0)
        assert out.shape == (1, 2048 if name == "ResNet50" else 1280)
        assert np.all(np.isfinite(out))
