"""tf.keras.metrics: stateful metrics against NumPy and Keras 3's own numbers
(tests/fixtures/keras), state handling, tracing, lookup and serialisation."""
import importlib.util
import json
import os

import numpy as np
import pytest

import numflow as tf
from numflow.keras import metrics

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
INP = FIX.metric_inputs()


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _run(case, traced=False):
    name, cls, kw, t, p, w = case
    m = getattr(metrics, cls)(**kw)
    half = len(INP[t]) // 2
    sw = None if w is None else INP[w]
    update = m.update_state
    if traced:
        update = tf.function(lambda a, b, c=None: m.update_state(a, b, sample_weight=c))
    for sl in (slice(None, half), slice(half, None)):
        args = [INP[t][sl], INP[p][sl]] + ([] if sw is None else [sw[sl]])
        if traced:
            update(*[tf.constant(a) for a in args])
        else:
            update(*args[:2], sample_weight=None if sw is None else args[2])
    return m


@pytest.mark.parametrize("case", FIX.METRIC_CASES, ids=[c[0] for c in FIX.METRIC_CASES])
@pytest.mark.parametrize("traced", [False, True], ids=["eager", "traced"])
def test_matches_keras(case, traced):
    m = _run(case, traced)
    np.testing.assert_allclose(_np(m.result()), KERAS["metrics"][case[0]], rtol=2e-5,
                               atol=2e-6)


def test_mean_and_sum():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert _np(m.result()) == 4.0
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    np.testing.assert_allclose(_np(m.result()), (16 + 4) / 6)
    m.reset_state()
    assert _np(m.result()) == 0.0
    assert [v.name for v in m.variables] == ["total:0", "count:0"]
    s = metrics.Sum()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert _np(s.result()) == 4.0
    assert _np(s(np.ones((2, 3)))) == 10.0          # rows summed, then added
    s.reset_states()
    assert _np(s.result()) == 0.0
    # 2-D values with 1-D weights: each row is averaged, then weighted
    m = metrics.Mean()
    m.update_state(np.array([[1.0, 3.0], [10.0, 20.0]]), sample_weight=[1.0, 3.0])
    np.testing.assert_allclose(_np(m.result()), (2 * 1 + 15 * 3) / 4)


def test_accuracy_functions_against_numpy():
    t, p = INP["cls_true"], INP["cls_pred"]
    expected = (t.argmax(-1) == p.argmax(-1)).astype(np.float32)
    np.testing.assert_array_equal(_np(metrics.categorical_accuracy(t, p)), expected)
    np.testing.assert_array_equal(_np(metrics.sparse_categorical_accuracy(INP["cls_sparse"], p)),
                                  expected)
    np.testing.assert_array_equal(
        _np(metrics.sparse_categorical_accuracy(INP["cls_sparse"][:, None].astype(np.float32),
                                                p)), expected)
    top2 = np.argsort(-p, -1)[:, :2]
    in_top = np.array([t.argmax(-1)[i] in top2[i] for i in range(len(p))], np.float32)
    np.testing.assert_array_equal(_np(metrics.top_k_categorical_accuracy(t, p, k=2)), in_top)
    np.testing.assert_array_equal(
        _np(metrics.sparse_top_k_categorical_accuracy(INP["cls_sparse"], p, k=2)), in_top)
    b = _np(metrics.binary_accuracy(INP["bin_true"], INP["bin_pred"]))
    np.testing.assert_array_equal(b, (INP["bin_true"] == (INP["bin_pred"] > 0.5)).astype(
        np.float32))
    acc = metrics.Accuracy()
    acc.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert _np(acc.result()) == 0.75


def test_precision_recall_against_numpy():
    t, p, w = INP["auc_true"], INP["auc_pred"], INP["auc_sw"]
    for thr in (0.2, 0.5, 0.75):
        pos = p > thr
        tp = (w * (pos & (t == 1))).sum()
        fp = (w * (pos & (t == 0))).sum()
        fn = (w * (~pos & (t == 1))).sum()
        prec = metrics.Precision(thresholds=thr)
        prec.update_state(t, p, sample_weight=w)
        rec = metrics.Recall(thresholds=thr)
        rec.update_state(t, p, sample_weight=w)
        np.testing.assert_allclose(_np(prec.result()), tp / (tp + fp), rtol=1e-5)
        np.testing.assert_allclose(_np(rec.result()), tp / (tp + fn), rtol=1e-5)
    empty = metrics.Precision()
    assert _np(empty.result()) == 0.0


def _roc_auc_numpy(t, p, n=200):
    eps = 1e-7
    thresholds = np.array([-eps] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + eps])
    pos = p[None, :] > thresholds[:, None]
    tp = (pos & (t == 1)).sum(1)
    fp = (pos & (t == 0)).sum(1)
    tpr, fpr = tp / (t == 1).sum(), fp / (t == 0).sum()
    return np.sum((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2)


def test_auc_against_numpy_and_rank_statistic():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 500).astype(np.float32)
    p = np.clip(rng.normal(0.35 + 0.3 * t, 0.2), 0, 1).astype(np.float32)
    auc = metrics.AUC(num_thresholds=1000)
    auc.update_state(t, p)
    np.testing.assert_allclose(_np(auc.result()), _roc_auc_numpy(t, p, 1000), atol=1e-5)
    # with many thresholds it approaches the Mann-Whitney statistic
    pos, neg = p[t == 1], p[t == 0]
    mw = ((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    np.testing.assert_allclose(_np(auc.result()), mw, atol=3e-3)
    auc.reset_state()
    assert _np(auc.result()) == 0.0


def test_state_is_variables_and_tracing_does_not_retrace():
    m = metrics.SparseCategoricalAccuracy()
    step = tf.function(lambda y, p: m.update_state(y, p))
    y, p = INP["cls_sparse"], INP["cls_pred"]
    for _ in range(3):
        step(tf.constant(y), tf.constant(p))
    assert step.experimental_get_tracing_count() == 1
    expected = (y == p.argmax(-1)).mean()
    np.testing.assert_allclose(_np(m.result()), expected, rtol=1e-6)
    assert all(not v.trainable for v in m.variables)
    m.reset_state()
    step(tf.constant(y), tf.constant(p))
    np.testing.assert_allclose(_np(m.result()), expected, rtol=1e-6)
    # a metric whose variables are created lazily inside a trace (multi-label AUC)
    auc = metrics.AUC(multi_label=True)
    f = tf.function(lambda a, b: auc.update_state(a, b))
    f(tf.constant(INP["ml_true"][:15]), tf.constant(INP["ml_pred"][:15]))
    f(tf.constant(INP["ml_true"][15:]), tf.constant(INP["ml_pred"][15:]))
    np.testing.assert_allclose(_np(auc.result()), KERAS["metrics"]["auc_multilabel"],
                               rtol=2e-5)


def test_call_returns_result_and_names():
    m = metrics.MeanSquaredError()
    value = m([[1.0, 2.0]], [[1.0, 4.0]])
    assert _np(value) == 2.0
    assert m.name == "mean_squared_error"
    assert metrics.Precision().name.startswith("precision")
    p1, p2 = metrics.Precision(), metrics.Precision()
    assert p1.name != p2.name
    assert metrics.MeanMetricWrapper(metrics.mse).name == "mean_squared_error"


def test_custom_metric_subclass():
    class Count(metrics.Metric):
        def __init__(self, name="count_positive", **kwargs):
            super().__init__(name=name, **kwargs)
            self.n = self.add_weight(name="n", initializer="zeros")
            self.legacy = self.add_weight("legacy", shape=(2,), initializer="ones")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n.assign_add(tf.reduce_sum(tf.cast(tf.math.greater(y_pred, 0.0), "float32")))

        def result(self):
            return self.n.value()

    c = Count()
    c.update_state(None, tf.constant([1.0, -1.0, 2.0]))
    assert _np(c.result()) == 2.0
    np.testing.assert_array_equal(_np(c.legacy), [1.0, 1.0])
    c.reset_state()
    assert _np(c.result()) == 0.0
    np.testing.assert_array_equal(_np(c.legacy), [0.0, 0.0])


def test_get_serialize_deserialize():
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("AUC"), metrics.AUC)
    assert isinstance(metrics.get("accuracy"), metrics.Accuracy)
    assert isinstance(metrics.get("categorical_accuracy"), metrics.CategoricalAccuracy)
    assert metrics.get("top_k_categorical_accuracy") is not None
    assert metrics.get(metrics.binary_accuracy) is metrics.binary_accuracy
    obj = metrics.Precision(thresholds=[0.3, 0.6], name="p")
    assert metrics.get(obj) is obj
    config = metrics.serialize(obj)
    assert config["class_name"] == "Precision"
    back = metrics.deserialize(config)
    assert isinstance(back, metrics.Precision) and back.thresholds == [0.3, 0.6]
    assert back.name == "p"
    auc = metrics.deserialize(metrics.serialize(metrics.AUC(curve="PR", num_thresholds=50)))
    assert auc.curve == "PR" and auc.num_thresholds == 50
    topk = metrics.TopKCategoricalAccuracy(k=3)
    assert metrics.deserialize(metrics.serialize(topk)).k == 3
    bce = metrics.BinaryCrossentropy(from_logits=True)
    assert metrics.deserialize(metrics.serialize(bce))._fn_kwargs["from_logits"] is True
    assert metrics.deserialize(metrics.serialize(metrics.mse)) is metrics.mean_squared_error
    wrapper = metrics.MeanMetricWrapper(metrics.top_k_categorical_accuracy, k=2, name="t")
    again = metrics.MeanMetricWrapper.from_config(wrapper.get_config())
    assert again._fn is metrics.top_k_categorical_accuracy and again._fn_kwargs == {"k": 2}
    with pytest.raises(ValueError):
        metrics.get("no_such_metric")


def test_tf1_graph_mode_call_runs_the_update(graph_mode):
    y = tf.compat.v1.placeholder(tf.int32, [None])
    p = tf.compat.v1.placeholder(tf.float32, [None, 4])
    m = metrics.SparseCategoricalAccuracy()
    value = m(y, p)
    init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session() as sess:
        sess.run(init)
        first = sess.run(value, {y: INP["cls_sparse"][:3], p: INP["cls_pred"][:3]})
        both = sess.run(value, {y: INP["cls_sparse"][3:], p: INP["cls_pred"][3:]})
    hits = INP["cls_sparse"] == INP["cls_pred"].argmax(-1)
    np.testing.assert_allclose([first, both], [hits[:3].mean(), hits.mean()], rtol=1e-6)
