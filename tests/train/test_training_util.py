"""Tests for numflow.train.training_util: the global step and TF1 learning-rate schedules."""
import math

import numpy as np
import pytest

import numflow.compat.v1 as tf


def test_global_step():
    with tf.Graph().as_default() as g:
        assert tf.train.get_global_step() is None
        step = tf.train.get_or_create_global_step()
        assert step.name == "global_step:0" and step.dtype.base_dtype == tf.int64
        assert step.shape.as_list() == [] and not step.trainable
        assert tf.train.get_or_create_global_step() is step
        assert tf.train.get_global_step() is step
        assert g.get_collection(tf.GraphKeys.GLOBAL_STEP) == [step]
        assert step in tf.global_variables() and step not in tf.trainable_variables()
        with pytest.raises(ValueError, match='"global_step" already exists.'):
            tf.train.create_global_step()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step.assign_add(5))
            assert tf.train.global_step(sess, step) == 5
        tf.train.assert_global_step(step)
        with pytest.raises(TypeError):
            tf.train.assert_global_step(tf.constant(1.0))


def test_global_step_in_a_name_scope_and_other_graph():
    other = tf.Graph()
    with tf.Graph().as_default(), tf.name_scope("inner"):
        step = tf.train.create_global_step(other)
        assert step.graph is other and step.name == "global_step:0"
        assert tf.train.get_global_step(other) is step
        assert tf.train.get_global_step() is None


def schedule_values(make, steps):
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        lr = make(step)
        with tf.Session() as sess:
            return lr, [float(sess.run(lr, {step: s})) for s in steps]


STEPS = [0, 1, 5, 10, 15, 30, 100]


@pytest.mark.parametrize("name,make,formula", [
    ("exponential", lambda s: tf.train.exponential_decay(0.1, s, 10, 0.5),
     lambda s: 0.1 * 0.5 ** (s / 10)),
    ("exponential_staircase", lambda s: tf.train.exponential_decay(0.1, s, 10, 0.5, True),
     lambda s: 0.1 * 0.5 ** (s // 10)),
    ("inverse_time", lambda s: tf.train.inverse_time_decay(0.1, s, 10, 0.5),
     lambda s: 0.1 / (1 + 0.5 * s / 10)),
    ("inverse_time_staircase", lambda s: tf.train.inverse_time_decay(0.1, s, 10, 0.5, True),
     lambda s: 0.1 / (1 + 0.5 * (s // 10))),
    ("natural_exp", lambda s: tf.train.natural_exp_decay(0.1, s, 10, 0.5),
     lambda s: 0.1 * math.exp(-0.5 * s / 10)),
    ("polynomial", lambda s: tf.train.polynomial_decay(0.1, s, 20, 0.01, power=2.0),
     lambda s: (0.1 - 0.01) * (1 - min(s, 20) / 20) ** 2 + 0.01),
    ("polynomial_cycle", lambda s: tf.train.polynomial_decay(0.1, s, 20, 0.01, cycle=True),
     lambda s: (0.1 - 0.01) * (1 - s / (20 * max(1, math.ceil(s / 20)))) + 0.01),
    ("cosine", lambda s: tf.train.cosine_decay(0.1, s, 20, alpha=0.1),
     lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 20) / 20)) + 0.1)),
    ("piecewise", lambda s: tf.train.piecewise_constant(s, [5, 15], [1.0, 0.5, 0.1]),
     lambda s: 1.0 if s <= 5 else 0.5 if s <= 15 else 0.1),
])
def test_schedules(name, make, formula):
    lr, got = schedule_values(make, STEPS)
    np.testing.assert_allclose(got, [formula(s) for s in STEPS], rtol=1e-6)
    assert lr.dtype == tf.float32 and lr.shape.as_list() == []


def test_schedule_op_names():
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        assert tf.train.exponential_decay(0.1, step, 100, 0.96).name == "ExponentialDecay:0"
        assert tf.train.piecewise_constant(step, [10], [1.0, 0.1]).name.startswith(
            "PiecewiseConstant")
        assert tf.train.cosine_decay(0.1, step, 10, name="cos").name == "cos:0"


def test_schedule_errors():
    with pytest.raises(ValueError, match="global_step is required"):
        tf.train.exponential_decay(0.1, None, 10, 0.5)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        tf.train.piecewise_constant(1, [1, 2], [1.0])
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="same dtype"):
            tf.train.piecewise_constant(tf.constant(1), [1], [1.0, 2])


def test_eager_schedule_is_callable():
    step = tf.Variable(0, dtype=tf.int64)
    lr = tf.train.exponential_decay(1.0, step, 1, 0.5)
    assert callable(lr)
    assert float(lr()) == 1.0
    step.assign(2)
    assert float(lr()) == 0.25
