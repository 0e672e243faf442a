"""tf.keras.losses: per-sample functions against float64 NumPy formulas and Keras 3's own
numbers (tests/fixtures/keras), reductions, sample weights, from_logits, traced == eager."""
import importlib.util
import json
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras import losses

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras")
EPS = 1e-7
LO, HI = float(np.float32(EPS)), float(np.float32(1 - EPS))   # the float32 clip bounds


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "make_keras_fixtures", os.path.join(FIXTURES, "make_keras_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FIX = _fixture_module()
with open(os.path.join(FIXTURES, "keras_fixtures.json")) as _f:
    KERAS = json.load(_f)
INP = FIX.loss_inputs()


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# float64 reference formulas (Keras's definitions, clipping included)
def _ref(name, t, p, **kw):
    t, p = np.asarray(t, np.float64), np.asarray(p, np.float64)
    if name == "mean_squared_error":
        return ((t - p) ** 2).mean(-1)
    if name == "mean_absolute_error":
        return np.abs(t - p).mean(-1)
    if name == "mean_absolute_percentage_error":
        return 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1)
    if name == "mean_squared_logarithmic_error":
        return ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1)
    if name == "cosine_similarity":
        def n(x):
            return x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), EPS ** 2))
        return -(n(t) * n(p)).sum(-1)
    if name == "huber":
        d = kw.get("delta", 1.0)
        e = np.abs(p - t)
        return np.where(e <= d, 0.5 * e ** 2, d * e - 0.5 * d * d).mean(-1)
    if name == "log_cosh":
        return np.log(np.cosh(p - t)).mean(-1)
    if name in ("hinge", "squared_hinge"):
        if np.all((t == 0) | (t == 1)):
            t = 2 * t - 1
        h = np.maximum(1 - t * p, 0)
        return (h if name == "hinge" else h ** 2).mean(-1)
    if name == "categorical_hinge":
        return np.maximum((( 1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0)
    if name == "kl_divergence":
        t, p = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
        return (t * np.log(t / p)).sum(-1)
    if name == "poisson":
        with np.errstate(invalid="ignore"):
            return (p - t * np.log(p + EPS)).mean(-1)
    if name == "binary_crossentropy":
        ls = kw.get("label_smoothing", 0.0)
        t = t * (1 - ls) + 0.5 * ls
        if kw.get("from_logits"):
            p = _sigmoid(p)
        p = np.clip(p, LO, HI)
        return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(-1)
    if name == "categorical_crossentropy":
        ls = kw.get("label_smoothing", 0.0)
        t = t * (1 - ls) + ls / t.shape[-1]
        if kw.get("from_logits"):
            return -(t * np.log(_softmax(p))).sum(-1)
        p = np.clip(p / p.sum(-1, keepdims=True), LO, HI)
        return -(t * np.log(p)).sum(-1)
    if name == "sparse_categorical_crossentropy":
        labels = t.reshape(-1).astype(int)
        ignore = kw.get("ignore_class")
        valid = labels != ignore if ignore is not None else np.ones_like(labels, bool)
        labels = np.where(valid, labels, 0)
        logp = np.log(_softmax(p)) if kw.get("from_logits") else \
            np.log(_softmax(np.log(np.clip(p, LO, HI))))
        out = -logp[np.arange(len(labels)), labels]
        return np.where(valid, out, 0.0)
    raise KeyError(name)


@pytest.mark.parametrize("case", FIX.LOSS_CASES, ids=[c[0] for c in FIX.LOSS_CASES])
def test_function_matches_numpy_and_keras(case):
    name, fn, t, p, kw = case
    got = _np(getattr(losses, fn)(INP[t], INP[p], **kw))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, _ref(fn, INP[t], INP[p], **kw), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got, KERAS["losses"][name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", FIX.LOSS_CLASS_CASES, ids=[c[0] for c in FIX.LOSS_CLASS_CASES])
@pytest.mark.parametrize("reduction", FIX.REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_class_reductions_match_keras(case, reduction, weighted):
    name, cls, t, p, kw = case
    loss = getattr(losses, cls)(reduction=reduction, **kw)
    sw = INP["sw"] if weighted else None
    got = _np(loss(INP[t], INP[p], sample_weight=sw))
    key = f"{name}/{reduction}" + ("/sw" if weighted else "")
    np.testing.assert_allclose(got, KERAS["losses"][key], rtol=1e-5, atol=1e-6)


def test_reductions_against_numpy():
    t, p, sw = INP["reg_true"], INP["reg_pred"], INP["sw"]
    per = ((t.astype(np.float64) - p) ** 2).mean(-1)
    mse = losses.MeanSquaredError
    np.testing.assert_allclose(_np(mse()(t, p)), per.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(mse(reduction="sum")(t, p)), per.sum(), rtol=1e-6)
    np.testing.assert_allclose(_np(mse(reduction="none")(t, p)), per, rtol=1e-6)
    np.testing.assert_allclose(_np(mse(reduction="auto")(t, p)), per.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(mse()(t, p, sample_weight=sw)), (per * sw).mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(mse(reduction="mean_with_sample_weight")(t, p, sw)),
                               (per * sw).sum() / sw.sum(), rtol=1e-6)
    # a scalar weight scales; a (N, 1) weight is squeezed to the per-sample shape
    np.testing.assert_allclose(_np(mse()(t, p, sample_weight=2.0)), 2 * per.mean(), rtol=1e-6)
    np.testing.assert_allclose(_np(mse()(t, p, sample_weight=sw[:, None])),
                               (per * sw).mean(), rtol=1e-6)
    # elementwise weights on an unreduced per-element loss
    elem = losses.LossFunctionWrapper(lambda a, b: (a - b) ** 2, reduction="sum")
    np.testing.assert_allclose(_np(elem(t, p, sample_weight=INP["sw2d"])),
                               ((t.astype(np.float64) - p) ** 2 * INP["sw2d"]).sum(), rtol=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        mse(reduction="bogus")


def test_labels_as_ints_and_columns():
    probs = INP["probs"]
    a = _np(losses.sparse_categorical_crossentropy(INP["labels"], probs))
    b = _np(losses.sparse_categorical_crossentropy(INP["labels_col"], probs))
    c = _np(losses.sparse_categorical_crossentropy(INP["labels"].astype(np.float32), probs))
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(a, c)
    cls = losses.SparseCategoricalCrossentropy()
    np.testing.assert_allclose(_np(cls(INP["labels_col"], probs)), a.mean(), rtol=1e-6)
    # binary labels of shape (N,) against predictions of shape (N, 1)
    bce = losses.BinaryCrossentropy()
    np.testing.assert_allclose(_np(bce(INP["bin_col_true"], INP["bin_col_probs"])),
                               _ref("binary_crossentropy", INP["bin_col_true"][:, None],
                                    INP["bin_col_probs"]).mean(), rtol=1e-6)


def test_from_logits_matches_probabilities():
    logits = INP["logits"]
    a = _np(losses.categorical_crossentropy(INP["onehot"], logits, from_logits=True))
    b = _np(losses.categorical_crossentropy(INP["onehot"], _softmax(logits).astype(np.float32)))
    np.testing.assert_allclose(a, b, rtol=1e-5)
    bl = INP["bin_logits"]
    a = _np(losses.binary_crossentropy(INP["bin_true"], bl, from_logits=True))
    b = _np(losses.binary_crossentropy(INP["bin_true"], _sigmoid(bl).astype(np.float32)))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_traced_equals_eager_and_uses_softmax_logits():
    logits = INP["logits"] * 30    # extreme: probabilities saturate at 0/1 in float32
    onehot = INP["onehot"]
    loss = losses.CategoricalCrossentropy()

    @tf.function
    def traced(z, y):
        return loss(y, tf.nn.softmax(z))

    eager = _np(loss(onehot, tf.nn.softmax(tf.constant(logits))))
    graph = _np(traced(tf.constant(logits), tf.constant(onehot)))
    exact = _ref("categorical_crossentropy", onehot, logits, from_logits=True).mean()
    # inside a graph the Softmax op's input is used as logits (as TensorFlow's Keras does)
    np.testing.assert_allclose(graph, exact, rtol=1e-5)
    assert eager < graph     # eagerly the probabilities are clipped to [eps, 1 - eps]
    for name, fn, t, p, kw in FIX.LOSS_CASES:
        f = tf.function(lambda a, b, fn=fn, kw=kw: getattr(losses, fn)(a, b, **kw))
        np.testing.assert_allclose(_np(f(tf.constant(INP[t]), tf.constant(INP[p]))),
                                   KERAS["losses"][name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_gradient_flows():
    w = tf.Variable(INP["logits"])
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        value = loss(INP["labels"], w * 1.0)
    grad = _np(tape.gradient(value, w))
    expected = (_softmax(INP["logits"].astype(np.float64)) - np.eye(3)[INP["labels"]]) / 4
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def test_get_serialize_deserialize():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert losses.get(None) is None
    obj = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="b")
    assert losses.get(obj) is obj
    config = losses.serialize(obj)
    assert config["class_name"] == "BinaryCrossentropy"
    assert config["config"] == {"name": "b", "reduction": "sum_over_batch_size",
                                "from_logits": True, "label_smoothing": 0.1, "axis": -1}
    back = losses.deserialize(config)
    assert isinstance(back, losses.BinaryCrossentropy) and back.from_logits
    assert losses.deserialize(losses.serialize(losses.huber)) is losses.huber
    keras2 = {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}}
    assert losses.get(keras2).from_logits
    with pytest.raises(ValueError):
        losses.get("no_such_loss")
    wrapper = losses.LossFunctionWrapper(losses.huber, name="h", delta=0.3)
    again = losses.LossFunctionWrapper.from_config(wrapper.get_config())
    assert again.fn is losses.huber and again._fn_kwargs == {"delta": 0.3}
    huber = losses.Huber(0.25)
    assert huber.delta == 0.25 and huber.get_config()["delta"] == 0.25


def test_custom_loss_subclass():
    class Scaled(losses.Loss):
        def call(self, y_true, y_pred):
            return tf.reduce_mean(tf.math.abs(y_true - y_pred), axis=-1) * 3.0

    got = _np(Scaled(name="scaled")(INP["reg_true"], INP["reg_pred"]))
    np.testing.assert_allclose(got, 3 * _ref("mean_absolute_error", INP["reg_true"],
                                             INP["reg_pred"]).mean(), rtol=1e-6)
    assert Scaled().name == "scaled"
