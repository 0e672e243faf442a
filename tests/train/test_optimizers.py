"""Tests for numflow.train.optimizer / optimizers: the TF1 optimizers.

Each optimizer's first 3 steps are checked against its update formula in NumPy float64,
and against real TensorFlow's numbers (tests/fixtures/train/optimizers.npz, recorded by
make_optimizer_fixtures.py), together with TF's slot and variable names.
"""
import os
import sys

import numpy as np
import pytest

import numflow as tf2
import numflow.compat.v1 as tf

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "train")
sys.path.insert(0, FIXTURES)
from optimizer_cases import B0, C, CASES, W0, X, make_optimizer  # noqa: E402


# ---- NumPy references (float64) ---------------------------------------------------------------
A = np.array([1.0, 2.0, 0.5, 3.0])
B = np.array([0.5, -1.0, 2.0, 0.1])
INIT = np.array([1.0, -2.0, 0.5, 3.0])


def grad(w):
    """The gradient of sum(0.5 * A * w**2 + B * w)."""
    return A * w + B


def f32(x):
    """Python-number hyperparameters become float32 tensors, then are cast to the
    variable's dtype (as in TF), so a float64 variable sees them float32-rounded."""
    return float(np.float32(x))


def ref_sgd(w, steps, lr=0.1):
    lr = f32(lr)
    for _ in range(steps):
        w = w - lr * grad(w)
    return w, {}


def ref_momentum(w, steps, lr=0.1, mom=0.9, nesterov=False):
    acc, lr, mom = np.zeros_like(w), f32(lr), f32(mom)
    for _ in range(steps):
        g = grad(w)
        acc = acc * mom + g
        w = w - (g * lr + acc * mom * lr if nesterov else acc * lr)
    return w, {"momentum": acc}


def ref_adam(w, steps, lr=0.001, b1=0.9, b2=0.999, eps=1e-8):
    # beta1_power / beta2_power are float32 variables updated in float32.
    m, v, b1p, b2p = np.zeros_like(w), np.zeros_like(w), np.float32(b1), np.float32(b2)
    lr, eps = f32(lr), f32(eps)
    for _ in range(steps):
        g = grad(w)
        alpha = lr * np.sqrt(1 - float(b2p)) / (1 - float(b1p))
        m = m + (g - m) * (1 - f32(b1))
        v = v + (g * g - v) * (1 - f32(b2))
        w = w - m * alpha / (np.sqrt(v) + eps)
        b1p, b2p = b1p * np.float32(b1), b2p * np.float32(b2)
    return w, {"m": m, "v": v}


def ref_rmsprop(w, steps, lr=0.01, decay=0.9, mom=0.0, eps=1e-10, centered=False):
    ms, mg, mo = np.ones_like(w), np.zeros_like(w), np.zeros_like(w)
    lr, decay, mom, eps = f32(lr), f32(decay), f32(mom), f32(eps)
    for _ in range(steps):
        g = grad(w)
        ms = ms + (g * g - ms) * (1 - decay)
        if centered:
            mg = mg + (g - mg) * (1 - decay)
            denom = ms - mg * mg + eps
        else:
            denom = ms + eps
        mo = mo * mom + lr * g / np.sqrt(denom)
        w = w - mo
    slots = {"rms": ms, "momentum": mo}
    if centered:
        slots["mg"] = mg
    return w, slots


def ref_adagrad(w, steps, lr=0.1, init=0.1):
    acc, lr = np.full_like(w, init), f32(lr)
    for _ in range(steps):
        g = grad(w)
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc)
    return w, {"accumulator": acc}


def ref_adadelta(w, steps, lr=0.001, rho=0.95, eps=1e-8):
    acc, acc_up = np.zeros_like(w), np.zeros_like(w)
    lr, rho, eps = f32(lr), f32(rho), f32(eps)
    for _ in range(steps):
        g = grad(w)
        acc = acc * rho + g * g * (1 - rho)
        up = np.sqrt(acc_up + eps) / np.sqrt(acc + eps) * g
        w = w - up * lr
        acc_up = acc_up * rho + up * up * (1 - rho)
    return w, {"accum": acc, "accum_update": acc_up}


FORMULA_CASES = [
    ("sgd", lambda: tf.train.GradientDescentOptimizer(0.1), ref_sgd, {}),
    ("momentum", lambda: tf.train.MomentumOptimizer(0.1, 0.9), ref_momentum, {}),
    ("nesterov", lambda: tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
     ref_momentum, {"nesterov": True}),
    ("adam", lambda: tf.train.AdamOptimizer(), ref_adam, {}),
    ("adam_lr", lambda: tf.train.AdamOptimizer(0.1, 0.5, 0.9, 1e-4), ref_adam,
     {"lr": 0.1, "b1": 0.5, "b2": 0.9, "eps": 1e-4}),
    ("rmsprop", lambda: tf.train.RMSPropOptimizer(0.01), ref_rmsprop, {}),
    ("rmsprop_centered", lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
     ref_rmsprop, {"mom": 0.5, "centered": True}),
    ("adagrad", lambda: tf.train.AdagradOptimizer(0.1), ref_adagrad, {}),
    ("adadelta", lambda: tf.train.AdadeltaOptimizer(), ref_adadelta, {}),
]


def quadratic_loss(w):
    return tf.reduce_sum(0.5 * tf.constant(A) * w * w + tf.constant(B) * w)


@pytest.mark.parametrize("name,make,ref,kwargs", FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_update_matches_formula_float64(name, make, ref, kwargs):
    with tf.Graph().as_default():
        w = tf.Variable(INIT, name="w")
        opt = make()
        train = opt.minimize(quadratic_loss(w))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for step in (1, 2, 3):
                sess.run(train)
                want_w, want_slots = ref(INIT, step, **kwargs)
                np.testing.assert_allclose(sess.run(w), want_w, rtol=1e-12, atol=1e-14)
                for slot, want in want_slots.items():
                    np.testing.assert_allclose(sess.run(opt.get_slot(w, slot)), want,
                                               rtol=1e-12, atol=1e-14)
            assert sess.run(w).dtype == np.float64


# ---- real TensorFlow's numbers ------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf_numbers():
    return np.load(os.path.join(FIXTURES, "optimizers.npz"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_real_tensorflow(name, tf_numbers):
    with tf.Graph().as_default():
        W = tf.Variable(W0, name="W")
        b = tf.Variable(B0, name="b")
        loss = tf.reduce_sum(tf.tanh(tf.matmul(X, W) + b) * C) + 0.5 * tf.reduce_sum(W * W)
        step = tf.train.get_or_create_global_step()
        opt = make_optimizer(tf, CASES[name])
        train = opt.minimize(loss, global_step=step)
        names = [v.op.name for v in tf.global_variables()]
        assert names == tf_numbers[f"{name}_var_names"].tolist()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for s in (1, 2, 3):
                sess.run(train)
                got_w, got_b = sess.run([W, b])
                np.testing.assert_allclose(got_w, tf_numbers[f"{name}_W_{s}"], rtol=2e-6,
                                           atol=1e-7)
                np.testing.assert_allclose(got_b, tf_numbers[f"{name}_b_{s}"], rtol=2e-6,
                                           atol=1e-7)
                for k in opt.get_slot_names():
                    np.testing.assert_allclose(sess.run(opt.get_slot(W, k)),
                                               tf_numbers[f"{name}_slot_{k}_{s}"],
                                               rtol=2e-6, atol=1e-7)
            assert sess.run(step) == tf_numbers[f"{name}_global_step"] == 3


# ---- names, slots, global step ----------------------------------------------------------------
def test_adam_slots_and_names():
    with tf.Graph().as_default() as g:
        x = tf.Variable([1.0, 2.0], name="x")
        W = tf.Variable([[1.0]], name="W")
        opt = tf.train.AdamOptimizer()
        train = opt.minimize(tf.reduce_sum(x * x) + tf.reduce_sum(W))
        assert train.name == "Adam" and train.type == "NoOp"
        assert opt.get_slot_names() == ["m", "v"]
        assert opt.get_slot(x, "m").name == "x/Adam:0"
        assert opt.get_slot(x, "v").name == "x/Adam_1:0"
        assert opt.get_slot(x, "nope") is None
        assert [v.name for v in opt.variables()] == [
            "W/Adam:0", "W/Adam_1:0", "beta1_power:0", "beta2_power:0", "x/Adam:0",
            "x/Adam_1:0"]
        globals_ = {v.name for v in tf.global_variables()}
        trainables = {v.name for v in tf.trainable_variables()}
        assert {"beta1_power:0", "x/Adam:0", "W/Adam_1:0"} <= globals_
        assert trainables == {"x:0", "W:0"}
        assert g.get_collection(tf.GraphKeys.TRAIN_OP) == [train]
        # a second Adam gets fresh, uniquely named slots
        opt2 = tf.train.AdamOptimizer()
        opt2.minimize(tf.reduce_sum(x))
        assert opt2.get_slot(x, "m").name == "x/Adam_2:0"
        assert [v.name for v in opt2.variables()][:2] == ["beta1_power_1:0", "beta2_power_1:0"]


@pytest.mark.parametrize("make,slots", [
    (lambda: tf.train.MomentumOptimizer(0.1, 0.9), {"momentum": "w/Momentum:0"}),
    (lambda: tf.train.RMSPropOptimizer(0.1), {"rms": "w/RMSProp:0",
                                              "momentum": "w/RMSProp_1:0"}),
    (lambda: tf.train.RMSPropOptimizer(0.1, centered=True),
     {"rms": "w/RMSProp:0", "mg": "w/RMSProp_1:0", "momentum": "w/RMSProp_2:0"}),
    (lambda: tf.train.AdagradOptimizer(0.1), {"accumulator": "w/Adagrad:0"}),
    (lambda: tf.train.AdadeltaOptimizer(), {"accum": "w/Adadelta:0",
                                            "accum_update": "w/Adadelta_1:0"}),
    (lambda: tf.train.GradientDescentOptimizer(0.1), {}),
])
def test_slot_names(make, slots):
    with tf.Graph().as_default():
        w = tf.Variable([1.0, 2.0], name="w")
        opt = make()
        opt.minimize(tf.reduce_sum(w * w))
        assert opt.get_slot_names() == sorted(slots)
        for k, full in slots.items():
            slot = opt.get_slot(w, k)
            assert slot.name == full and not slot.trainable
            assert slot in tf.global_variables()


def test_global_step_increments_after_updates():
    with tf.Graph().as_default():
        w = tf.Variable(3.0)
        step = tf.train.get_or_create_global_step()
        train = tf.train.GradientDescentOptimizer(0.5).minimize(w * w, global_step=step)
        assert train.name == "GradientDescent"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for i in range(1, 4):
                sess.run(train)
                assert sess.run(step) == i
            assert sess.run(w) == 0.0   # 3 - 0.5 * 6 = 0, and stays


def test_tensor_and_placeholder_learning_rates():
    with tf.Graph().as_default():
        w = tf.Variable(1.0)
        lr = tf.placeholder(tf.float32, [])
        train = tf.train.GradientDescentOptimizer(lr).minimize(w * w)
        lr_var = tf.Variable(0.25)
        w2 = tf.Variable(1.0)
        train2 = tf.train.MomentumOptimizer(lr_var, 0.0).minimize(w2 * w2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train, {lr: 0.1})
            assert np.isclose(sess.run(w), 0.8)
            sess.run(train, {lr: 0.5})
            assert np.isclose(sess.run(w), 0.0)
            sess.run(train2)
            sess.run(lr_var.assign(0.125))
            sess.run(train2)
            assert np.isclose(sess.run(w2), 0.5 * 0.75)


def test_learning_rate_schedule_drives_adam():
    with tf.Graph().as_default():
        w = tf.Variable(1.0)
        step = tf.train.get_or_create_global_step()
        lr = tf.train.exponential_decay(0.1, step, 1, 0.5, staircase=True)
        train = tf.train.GradientDescentOptimizer(lr).minimize(w, global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train)
            assert np.isclose(sess.run(w), 1 - 0.1 - 0.05 - 0.025)


def test_compute_and_apply_gradients():
    with tf.Graph().as_default():
        w = tf.Variable([1.0, -4.0])
        unused = tf.Variable(0.0)
        opt = tf.train.GradientDescentOptimizer(1.0)
        pairs = opt.compute_gradients(tf.reduce_sum(w * w), var_list=[w, unused])
        assert pairs[1][0] is None and pairs[0][1] is w
        clipped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in pairs if g is not None]
        train = opt.apply_gradients(clipped)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            np.testing.assert_allclose(sess.run(w), [0.0, -3.0])


def test_var_list_limits_updates():
    with tf.Graph().as_default():
        a, b = tf.Variable(1.0), tf.Variable(1.0)
        train = tf.train.GradientDescentOptimizer(0.5).minimize(a * b, var_list=[a])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            assert sess.run([a, b]) == [0.5, 1.0]


def test_errors():
    with tf.Graph().as_default():
        v = tf.Variable(1.0)
        opt = tf.train.GradientDescentOptimizer(0.1)
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            opt.minimize(tf.constant(1.0))
        with pytest.raises(ValueError, match="No variables to optimize"):
            opt.minimize(v * 2.0, var_list=[])
        with pytest.raises(ValueError, match="No variables provided"):
            opt.apply_gradients([])
        with pytest.raises(ValueError, match="initial_accumulator_value must be positive"):
            tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
        with pytest.raises(ValueError, match="Must specify the optimizer name"):
            tf.train.GradientDescentOptimizer(0.1, name="")
        with pytest.raises(ValueError, match="Invalid type int32"):
            opt.compute_gradients(tf.constant(1))


def test_eager_minimize_with_callable_loss():
    w = tf2.Variable([1.0, 2.0])
    opt = tf.train.AdamOptimizer(0.1)
    for _ in range(3):
        opt.minimize(lambda: tf2.reduce_sum(w * w))
    want, _ = ref_adam_eager()
    np.testing.assert_allclose(w.numpy(), want, rtol=1e-5)
    with pytest.raises(RuntimeError, match="should be a function"):
        opt.minimize(tf2.reduce_sum(w * w))


def ref_adam_eager():
    w, m, v = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)
    b1p, b2p = 0.9, 0.999
    for _ in range(3):
        g = 2 * w
        alpha = 0.1 * np.sqrt(1 - b2p) / (1 - b1p)
        m = m + (g - m) * 0.1
        v = v + (g * g - v) * 0.001
        w = w - m * alpha / (np.sqrt(v) + 1e-8)
        b1p, b2p = b1p * 0.9, b2p * 0.999
    return w, None


def test_v1_and_v2_names():
    import numflow.v1 as tfv1
    for name in ("Optimizer", "GradientDescentOptimizer", "MomentumOptimizer",
                 "AdamOptimizer", "RMSPropOptimizer", "AdagradOptimizer",
                 "AdadeltaOptimizer"):
        assert getattr(tf.train, name) is getattr(tfv1.train, name)
        assert not hasattr(tf2.train, name)
    assert tf.train.Optimizer.__doc__


def test_minimize_inside_control_dependencies():
    """The UPDATE_OPS idiom: slot initializers must not depend on the update ops."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [])
        w = tf.Variable(1.0)
        counter = tf.Variable(0.0)
        update = counter.assign_add(x)
        with tf.control_dependencies([update]):
            train = tf.train.AdamOptimizer(0.1).minimize(w * w)
            with tf.variable_scope("s"):
                v = tf.get_variable("v", [2])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())   # needs no feed
            sess.run(v.initializer)
            sess.run(train, {x: 2.0})
            assert sess.run(counter) == 2.0
