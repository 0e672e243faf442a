"""Weight compatibility with real Keras: weights saved by Keras 3 (TF 2.21) load with
``set_weights`` and give Keras's outputs to 1e-5.

The fixtures come from ``tests/fixtures/keras_layers/make_layer_fixtures.py`` (run with
TensorFlow installed); each case records the layer's class, arguments, Keras's weight
names and shapes, an input, the output and (for training calls) the updated weights.
"""
import json
import os

import numpy as np
import pytest

from numflow.keras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "keras_layers")
with open(os.path.join(FIXTURES, "cases.json")) as f:
    MANIFEST = json.load(f)
CASES = MANIFEST["cases"]


def _build(case):
    kwargs = dict(case["kwargs"])
    if "layer" in kwargs:
        inner = kwargs["layer"]
        kwargs["layer"] = getattr(layers, inner["class_name"])(**inner["config"])
    return getattr(layers, case["class_name"])(**kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_weights_give_keras_outputs(name):
    case = CASES[name]
    data = np.load(os.path.join(FIXTURES, name + ".npz"))
    layer = _build(case)
    layer(data["x"])
    # same number, shapes, names (last path component) and order as Keras's weights
    assert [tuple(w.shape.as_list()) for w in layer.weights] == \
        [tuple(s) for s in case["weight_shapes"]]
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.weights] == \
        case["weight_names"]
    layer.set_weights([data[f"w{i}"] for i in range(len(case["weight_shapes"]))])
    out = layer(data["x"], **case["call_kwargs"])
    if isinstance(out, (list, tuple)):
        for i, o in enumerate(out):
            np.testing.assert_allclose(np.asarray(o), data[f"y{i}"], atol=1e-5, rtol=1e-5)
    else:
        np.testing.assert_allclose(out.numpy(), data["y"], atol=1e-5, rtol=1e-5)
    if case["call_kwargs"].get("training"):
        for i, w in enumerate(layer.get_weights()):
            np.testing.assert_allclose(w, data[f"after{i}"], atol=1e-6)


with open(os.path.join(FIXTURES, "keras2_layers.json")) as f:
    KERAS2 = json.load(f)


@pytest.mark.filterwarnings("ignore:Argument `alpha` is deprecated")
@pytest.mark.parametrize("case", KERAS2, ids=[c["class_name"] for c in KERAS2])
def test_tf_keras2_configs_load(case):
    """tf.keras 2 configs deserialize, build the weight shapes tf.keras 2 builds, and the
    rebuilt layer runs."""
    from numflow.keras.layers.recurrent_cells import deserialize_layer
    layer = deserialize_layer({"class_name": case["class_name"], "config": case["config"]})
    out = layer(np.zeros(case["input_shape"], "float32"))
    assert [tuple(w.shape.as_list()) for w in layer.weights] == \
        [tuple(s) for s in case["weight_shapes"]]
    assert all(np.all(np.isfinite(np.asarray(o))) for o in
               (out if isinstance(out, (list, tuple)) else [out]))
