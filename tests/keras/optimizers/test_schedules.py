"""tf.keras.optimizers.schedules against closed forms and Keras 3's values."""
import importlib.util
import json
import math
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras.optimizers import schedules

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "keras")


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "make_keras_fixtures", os.path.join(FIXTURES, "make_keras_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FIX = _fixture_module()
with open(os.path.join(FIXTURES, "keras_fixtures.json")) as _f:
    KERAS = json.load(_f)


@pytest.mark.parametrize("case", FIX.SCHEDULE_CASES, ids=[c[0] for c in FIX.SCHEDULE_CASES])
def test_matches_keras(case):
    name, cls, kw = case
    s = getattr(schedules, cls)(**kw)
    got = [float(s(step).numpy()) for step in FIX.SCHEDULE_STEPS]
    np.testing.assert_allclose(got, KERAS["schedules"][name], rtol=1e-5, atol=1e-7)
    traced = tf.function(lambda step: s(step))
    got = [float(traced(tf.constant(step, tf.int64)).numpy()) for step in FIX.SCHEDULE_STEPS]
    np.testing.assert_allclose(got, KERAS["schedules"][name], rtol=1e-5, atol=1e-7)


def test_closed_forms():
    steps = np.arange(10)
    exp = schedules.ExponentialDecay(0.1, 4, 0.5)
    np.testing.assert_allclose([float(exp(s).numpy()) for s in steps], 0.1 * 0.5 ** (steps / 4),
                               rtol=1e-6)
    pw = schedules.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.25])
    assert [float(pw(s).numpy()) for s in steps] == [1, 1, 1, 1, .5, .5, .5, .25, .25, .25]
    cos = schedules.CosineDecay(0.2, 5)
    np.testing.assert_allclose([float(cos(s).numpy()) for s in steps],
                               [0.2 * 0.5 * (1 + math.cos(math.pi * min(s, 5) / 5))
                                for s in steps], rtol=1e-5, atol=1e-8)
    inv = schedules.InverseTimeDecay(1.0, 2, 0.5, staircase=True)
    np.testing.assert_allclose([float(inv(s).numpy()) for s in steps],
                               1 / (1 + 0.5 * np.floor(steps / 2)), rtol=1e-6)
    poly = schedules.PolynomialDecay(0.1, 4, end_learning_rate=0.0, power=1.0)
    np.testing.assert_allclose([float(poly(s).numpy()) for s in steps],
                               0.1 * (1 - np.minimum(steps, 4) / 4), rtol=1e-6, atol=1e-9)


def test_schedule_drives_optimizer_from_iterations():
    from numflow.keras import optimizers
    opt = optimizers.SGD(schedules.PiecewiseConstantDecay([1], [1.0, 0.1]))
    v = tf.Variable([0.0])
    for _ in range(3):
        opt.apply_gradients([(tf.constant([1.0]), v)])
    # steps 0 and 1 use 1.0, step 2 uses 0.1
    np.testing.assert_allclose(v.numpy(), [-2.1], rtol=1e-6)


def test_config_round_trip_and_errors():
    s = schedules.CosineDecay(0.1, 50, alpha=0.2, warmup_target=0.3, warmup_steps=5)
    back = schedules.deserialize(schedules.serialize(s))
    assert back.get_config() == s.get_config()
    for step in (0, 3, 20, 60):
        np.testing.assert_allclose(back(step).numpy(), s(step).numpy())
    with pytest.raises(ValueError):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(NotImplementedError):
        schedules.LearningRateSchedule()(0)
