"""Files written by real TensorFlow/Keras (tests/fixtures/keras_saving, made by
make_saving_fixtures.py with TF 2.21, Keras 3 and tf_keras) load in numflow with the same
predictions, and the recorded reverse check (TF reading numflow's files) passed."""
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("h5py")

import numflow as tf  # noqa: E402
from numflow.keras import layers  # noqa: E402
from numflow.keras import saving  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures",
                    "keras_saving")
MODELS = ("mlp", "cnn", "lstm", "bn", "multi")
NEEDS = {"cnn": ("Conv2D", "MaxPooling2D"), "lstm": ("LSTM",), "bn": ("BatchNormalization",)}
TOL = 1e-5


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(HERE, "expected.npz")) as data:
        return {k: data[k] for k in data.files}


def _needs(name):
    missing = [c for c in NEEDS.get(name, ()) if not hasattr(layers, c)]
    if missing:
        pytest.skip(f"numflow.keras.layers has no {', '.join(missing)} yet (layers helper)")


def _inputs(expected, flavor, name):
    xs = [expected[f"{flavor}_{name}_x{i}"] for i in range(2)
          if f"{flavor}_{name}_x{i}" in expected]
    return xs[0] if len(xs) == 1 else xs


def _check(model, expected, flavor, name):
    got = model.predict(_inputs(expected, flavor, name), verbose=0)
    np.testing.assert_allclose(got, expected[f"{flavor}_{name}_y"], rtol=0, atol=TOL)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("fmt", ["k3_{}.keras", "k3_{}.h5", "k2_{}.h5"])
def test_load_tf_model_files(expected, name, fmt):
    _needs(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = saving.load_model(os.path.join(HERE, fmt.format(name)))
    _check(model, expected, fmt[:2], name)
    assert model.optimizer is not None
    assert int(model.optimizer.iterations.numpy()) == 4   # 2 epochs x 2 batches


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("flavor,weights", [("k3", "k3_{}.weights.h5"), ("k2", "k2_{}_w.h5"),
                                            ("k2", "k2_{}_tf/ckpt")])
def test_load_tf_weights_into_config_built_model(expected, name, flavor, weights):
    _needs(name)
    with open(os.path.join(HERE, f"{flavor}_{name}.json")) as f:
        model = saving.model_from_json(f.read())
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(os.path.join(HERE, weights.format(name)))
    _check(model, expected, flavor, name)


def test_tf_format_fixture_restores_optimizer(expected):
    with open(os.path.join(HERE, "k2_mlp.json")) as f:
        model = saving.model_from_json(f.read())
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    model.load_weights(os.path.join(HERE, "k2_mlp_tf", "ckpt"))
    assert int(model.optimizer.iterations.numpy()) == 4
    assert any(np.abs(v.numpy()).sum() > 0 for v in model.optimizer.variables[2:])


def test_tf_reads_numflow_files():
    """make_saving_fixtures.py had Keras 3 and tf_keras load numflow-written .keras, .h5,
    .weights.h5, Keras 2 weights .h5 and TF-format weights of every fixture model."""
    with open(os.path.join(HERE, "crosscheck.txt")) as f:
        lines = [line.split() for line in f if line.strip() and not line.startswith("#")]
    assert len(lines) == len(MODELS) * 7
    failed = [" ".join(line) for line in lines if line[0] != "PASS"]
    assert not failed, failed
    readers = {(line[2], line[3]) for line in lines}
    for pair in [("numflow.keras", "keras3.load_model"), ("numflow.h5", "keras3.load_model"),
                 ("numflow.h5", "tf_keras.load_model"),
                 ("numflow.weights.h5", "keras3.load_weights"),
                 ("numflow.w.h5", "tf_keras.load_weights"),
                 ("numflow.tf", "tf_keras.load_weights")]:
        assert pair in readers


def test_fixtures_are_small():
    total = sum(os.path.getsize(os.path.join(root, f))
                for root, _, files in os.walk(HERE) for f in files)
    assert total < 1 << 20
