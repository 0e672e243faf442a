"""tf.keras.optimizers: the first three updates of every optimizer against its formula in
float64 NumPy and against Keras 3 (tests/fixtures/keras); traced == eager; clipping, weight
decay, EMA, gradient accumulation, constraints; state, config and lookup."""
import importlib.util
import json
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras import optimizers

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
INP = FIX.optimizer_inputs()
CASES = {name: (cls, kw) for name, cls, kw in FIX.OPTIMIZER_CASES}


def _make(name):
    cls, kw = CASES[name]
    kw = dict(kw)
    if "schedule" in kw:
        sname, skw = kw.pop("schedule")
        kw["learning_rate"] = getattr(optimizers.schedules, sname)(**skw)
    return getattr(optimizers, cls)(**kw)


def _train(opt, traced=False, steps=3):
    variables = [tf.Variable(v) for v in INP["vars"]]
    apply = opt.apply_gradients
    if traced:
        apply = tf.function(lambda g0, g1: opt.apply_gradients(zip([g0, g1], variables)))
    history = []
    for grads in INP["grads"][:steps]:
        if traced:
            apply(tf.constant(grads[0]), tf.constant(grads[1]))
        else:
            apply(zip([tf.constant(g) for g in grads], variables))
        history.append([np.array(v.numpy(), copy=True) for v in variables])
    return history


# ---- float64 reference formulas -------------------------------------------------------------
def _reference(name, steps=3):
    cls, kw = CASES[name]
    lr = kw.get("learning_rate", 0.001)
    state = {}
    out = []
    values = [v.astype(np.float64) for v in INP["vars"]]
    for t, grads in enumerate(INP["grads"][:steps], start=1):
        new = []
        for i, (x, g) in enumerate(zip(values, grads)):
            g = g.astype(np.float64)
            s = state.setdefault(i, {})
            new.append(_update(name, cls, kw, lr, t, x, g, s))
        values = new
        out.append(values)
    return out


def _update(name, cls, kw, lr, t, x, g, s):
    zeros = np.zeros_like(x)
    if cls == "SGD":
        if kw.get("clipvalue"):
            g = np.clip(g, -kw["clipvalue"], kw["clipvalue"])
        if kw.get("weight_decay"):
            x = x - x * kw["weight_decay"] * lr
        mom = kw.get("momentum", 0.0)
        if not mom:
            return x - lr * g
        m = s["m"] = s.get("m", zeros) * mom - lr * g
        return x + (m * mom - lr * g if kw.get("nesterov") else m)
    if cls in ("Adam", "AdamW"):
        b1, b2, eps = 0.9, 0.999, 1e-7
        if kw.get("clipnorm"):
            g = g * kw["clipnorm"] / max(np.sqrt((g * g).sum()), kw["clipnorm"])
        if cls == "AdamW":
            x = x - x * kw["weight_decay"] * lr
        m = s["m"] = s.get("m", zeros) + (g - s.get("m", zeros)) * (1 - b1)
        v = s["v"] = s.get("v", zeros) + (g * g - s.get("v", zeros)) * (1 - b2)
        if kw.get("amsgrad"):
            v = s["vh"] = np.maximum(s.get("vh", zeros), v)
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return x - m * alpha / (np.sqrt(v) + eps)
    if cls == "RMSprop":
        rho, mom, eps = 0.9, kw.get("momentum", 0.0), 1e-7
        v = s["v"] = rho * s.get("v", zeros) + (1 - rho) * g * g
        if kw.get("centered"):
            a = s["a"] = rho * s.get("a", zeros) + (1 - rho) * g
            denom = v - a * a + eps
        else:
            denom = v + eps
        inc = lr * g / np.sqrt(denom)
        if mom:
            inc = s["m"] = mom * s.get("m", zeros) + inc
        return x - inc
    if cls == "Adagrad":
        acc = s["acc"] = s.get("acc", zeros + 0.1) + g * g
        return x - lr * g / np.sqrt(acc + 1e-7)
    if cls == "Adadelta":
        rho, eps = 0.95, 1e-7
        eg = s["eg"] = rho * s.get("eg", zeros) + (1 - rho) * g * g
        ed = s.get("ed", zeros)
        delta = -np.sqrt(ed + eps) * g / np.sqrt(eg + eps)
        s["ed"] = rho * ed + (1 - rho) * delta * delta
        return x + lr * delta
    if cls == "Adamax":
        b1, b2, eps = 0.9, 0.999, 1e-7
        m = s["m"] = s.get("m", zeros) + (g - s.get("m", zeros)) * (1 - b1)
        u = s["u"] = np.maximum(b2 * s.get("u", zeros), np.abs(g))
        return x - lr * m / ((1 - b1 ** t) * (u + eps))
    if cls == "Nadam":
        b1, b2, eps = 0.9, 0.999, 1e-7
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        prod = np.prod([b1 * (1 - 0.5 * 0.96 ** k) for k in range(1, t + 1)])
        m = s["m"] = s.get("m", zeros) + (g - s.get("m", zeros)) * (1 - b1)
        v = s["v"] = s.get("v", zeros) + (g * g - s.get("v", zeros)) * (1 - b2)
        m_hat = u_t1 * m / (1 - prod * u_t1) + (1 - u_t) * g / (1 - prod)
        v_hat = v / (1 - b2 ** t)
        return x - m_hat * lr / (np.sqrt(v_hat) + eps)
    if cls == "Ftrl":
        l1, l2 = kw["l1_regularization_strength"], kw["l2_regularization_strength"]
        l2s, beta = kw["l2_shrinkage_regularization_strength"], kw["beta"]
        n = s.get("n", zeros + 0.1)
        z = s.get("z", zeros)
        g_shr = g + 2 * l2s * x
        n_new = n + g * g
        z = s["z"] = z + g_shr - (np.sqrt(n_new) - np.sqrt(n)) / lr * x
        s["n"] = n_new
        quad = np.sqrt(n_new) / lr + 2 * (l2 + beta / (2 * lr))
        return (np.clip(z, -l1, l1) - z) / quad
    raise KeyError(name)


FORMULA_CASES = ["sgd", "sgd_momentum", "sgd_nesterov", "sgd_clipvalue", "sgd_wd", "adam",
                 "adam_default", "adam_amsgrad", "adam_clipnorm", "adamw", "rmsprop",
                 "rmsprop_centered_momentum", "adagrad", "adadelta", "adamax", "nadam", "ftrl"]


@pytest.mark.parametrize("name", FORMULA_CASES)
def test_first_three_updates_match_float64_formula(name):
    got = _train(_make(name))
    for step, (g_vals, r_vals) in enumerate(zip(got, _reference(name))):
        for g, r in zip(g_vals, r_vals):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name} step {step + 1}")


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("traced", [False, True], ids=["eager", "traced"])
def test_matches_keras(name, traced):
    got = _train(_make(name), traced=traced)
    for step, (g_vals, k_vals) in enumerate(zip(got, KERAS["optimizers"][name])):
        for g, k in zip(g_vals, k_vals):
            np.testing.assert_allclose(g, np.asarray(k, np.float32), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} step {step + 1}")


@pytest.mark.parametrize("name", ["adam", "rmsprop_centered_momentum", "nadam", "ftrl",
                                  "sgd_accum", "adam_schedule"])
def test_traced_equals_eager_exactly(name):
    eager = _train(_make(name))
    traced = _train(_make(name), traced=True)
    for a, b in zip(eager, traced):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_global_clipnorm():
    opt = optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0)
    a, b = tf.Variable([0.0, 0.0]), tf.Variable([0.0])
    opt.apply_gradients([(tf.constant([3.0, 0.0]), a), (tf.constant([4.0]), b)])
    np.testing.assert_allclose(a.numpy(), [-0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-0.8], rtol=1e-6)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)


def test_state_iterations_variables_and_build():
    opt = optimizers.Adam(0.01)
    assert int(opt.iterations.numpy()) == 0
    assert opt.iterations.dtype.base_dtype == tf.int64
    _train(opt)
    assert int(opt.iterations.numpy()) == 3
    names = [v.name for v in opt.variables]
    assert len(names) == 2 + 2 * 2          # iterations, learning_rate, (m, v) x 2
    assert "iteration" in names[0] and "learning_rate" in names[1]
    assert "momentum" in names[2] and "velocity" in names[3]   # interleaved as Keras
    weights = opt.get_weights()
    fresh = optimizers.Adam(0.01)
    fresh.build([tf.Variable(v) for v in INP["vars"]])
    fresh.set_weights(weights)
    assert int(fresh.iterations.numpy()) == 3
    other = tf.Variable([1.0])
    with pytest.raises(ValueError, match="Unknown variables"):
        opt.apply_gradients([(tf.constant([1.0]), other)])


def test_slots_created_while_tracing_live_in_eager_state():
    opt = optimizers.RMSprop(0.01, momentum=0.5)
    variables = [tf.Variable(v) for v in INP["vars"]]
    step = tf.function(lambda g0, g1: opt.apply_gradients(zip([g0, g1], variables)))
    for grads in INP["grads"]:
        step(tf.constant(grads[0]), tf.constant(grads[1]))
    assert step.experimental_get_tracing_count() == 1
    assert all(hasattr(v, "numpy") for v in opt.variables)
    np.testing.assert_allclose(variables[0].numpy(),
                               _train(optimizers.RMSprop(0.01, momentum=0.5))[-1][0])


def test_learning_rate_property_and_lr_alias():
    opt = optimizers.SGD(learning_rate=0.1)
    np.testing.assert_allclose(opt.learning_rate.numpy(), 0.1)
    opt.learning_rate = 0.5
    np.testing.assert_allclose(opt.lr.numpy(), 0.5)
    opt.lr = 0.25
    v = tf.Variable([1.0])
    step = tf.function(lambda g: opt.apply_gradients([(g, v)]))
    step(tf.constant([1.0]))
    np.testing.assert_allclose(v.numpy(), [0.75])
    opt.learning_rate = 0.5      # a traced step sees the new value
    step(tf.constant([1.0]))
    np.testing.assert_allclose(v.numpy(), [0.25])
    sched = optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    opt2 = optimizers.Adam(learning_rate=sched)
    np.testing.assert_allclose(opt2.learning_rate.numpy(), 0.1)
    with pytest.raises(TypeError):
        opt2.learning_rate = 0.3
    assert optimizers.Adam(lr=0.3).get_config()["learning_rate"] == pytest.approx(0.3)


def test_constraint_applied_after_update():
    v = tf.Variable([1.0, -2.0], constraint=lambda x: tf.clip_by_value(x, -1.0, 1.0))
    optimizers.SGD(1.0).apply_gradients([(tf.constant([-1.0, 0.5]), v)])
    np.testing.assert_allclose(v.numpy(), [1.0, -1.0])


def test_none_gradients_are_skipped_with_warning():
    a, b = tf.Variable([1.0]), tf.Variable([2.0])
    opt = optimizers.SGD(0.5)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tf.constant([1.0]), a), (None, b)])
    np.testing.assert_allclose(a.numpy(), [0.5])
    np.testing.assert_allclose(b.numpy(), [2.0])


def test_minimize_with_callable_and_tape():
    w = tf.Variable([3.0, -1.0])
    opt = optimizers.SGD(0.1)
    opt.minimize(lambda: tf.reduce_sum(w * w), [w])
    np.testing.assert_allclose(w.numpy(), [2.4, -0.8], rtol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w)
    opt.minimize(loss, [w], tape=tape)
    np.testing.assert_allclose(w.numpy(), [1.92, -0.64], rtol=1e-6)
    with pytest.raises(ValueError, match="tape"):
        opt.minimize(loss, [w])


def test_apply_without_variables_after_build():
    variables = [tf.Variable(v) for v in INP["vars"]]
    opt = optimizers.SGD(0.1)
    opt.build(variables)
    opt.apply([tf.constant(g) for g in INP["grads"][0]])
    np.testing.assert_allclose(variables[0].numpy(), _reference("sgd", 1)[0][0], rtol=1e-6)


def test_ema_finalize():
    opt = _make("sgd_ema")
    variables = [tf.Variable(v) for v in INP["vars"]]
    opt.apply_gradients(zip([tf.constant(g) for g in INP["grads"][0]], variables))
    averages = [a.numpy().copy() for a in opt._model_variables_moving_average]
    opt.finalize_variable_values(variables)
    for v, a in zip(variables, averages):
        np.testing.assert_array_equal(v.numpy(), a)


def test_get_serialize_deserialize():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("sgd"), optimizers.SGD)
    opt = optimizers.SGD(0.3, momentum=0.8, nesterov=True, clipnorm=1.5)
    assert optimizers.get(opt) is opt
    config = optimizers.serialize(opt)
    assert config["class_name"] == "SGD"
    back = optimizers.deserialize(config)
    assert isinstance(back, optimizers.SGD) and back.nesterov and back.clipnorm == 1.5
    np.testing.assert_allclose(back.learning_rate.numpy(), 0.3)
    sched = optimizers.schedules.CosineDecay(0.1, 100, alpha=0.1)
    back = optimizers.deserialize(optimizers.serialize(optimizers.Adam(sched, amsgrad=True)))
    assert isinstance(back._learning_rate, optimizers.schedules.CosineDecay)
    assert back._learning_rate.alpha == 0.1 and back.amsgrad
    keras2 = {"class_name": "Adam", "config": {"learning_rate": 0.002, "beta_1": 0.8,
                                               "is_legacy_optimizer": False}}
    assert optimizers.get(keras2).beta_1 == 0.8
    with pytest.raises(ValueError):
        optimizers.get("nope")
    assert optimizers.AdamW().weight_decay == 0.004
    with pytest.raises(ValueError):
        optimizers.AdamW(weight_decay=None)


def test_keras2_decay_lr_and_legacy_names():
    opt = optimizers.legacy.SGD(lr=0.1, decay=0.5)
    assert isinstance(opt, optimizers.SGD)
    v = tf.Variable([0.0])
    for _ in range(3):
        opt.apply_gradients([(tf.constant([1.0]), v)])
    np.testing.assert_allclose(v.numpy(), [-(0.1 + 0.1 / 1.5 + 0.1 / 2.0)], rtol=1e-6)
    np.testing.assert_allclose(opt.learning_rate.numpy(), 0.1 / 2.5, rtol=1e-6)
    assert optimizers.deserialize(optimizers.serialize(opt)).decay == 0.5
    assert isinstance(optimizers.legacy.Adam(0.01), optimizers.Adam)
    from numflow.keras import losses
    assert losses.Reduction.NONE == "none" and "auto" in losses.Reduction.all()
    mse = losses.MeanSquaredError(reduction=losses.Reduction.SUM)
    assert float(mse([[0.0, 1.0]], [[1.0, 1.0]]).numpy()) == 0.5


@pytest.mark.parametrize("name", ["adam", "nadam", "sgd_momentum", "sgd_accum"])
def test_tf1_graph_mode_update_op(graph_mode, name):
    variables = [tf.Variable(v) for v in INP["vars"]]
    grads = [tf.compat.v1.placeholder(tf.float32, v.shape) for v in INP["vars"]]
    opt = _make(name)
    update = opt.apply_gradients(zip(grads, variables))
    init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session() as sess:
        sess.run(init)
        for step, g in enumerate(INP["grads"]):
            sess.run(update, dict(zip(grads, g)))
            for got, want in zip(sess.run(variables), KERAS["optimizers"][name][step]):
                np.testing.assert_allclose(got, np.asarray(want, np.float32), rtol=1e-5,
                                           atol=1e-6)
        assert sess.run(opt._iterations) == 3
