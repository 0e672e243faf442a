"""``tf.estimator``: Estimator train/evaluate/predict with checkpoints in model_dir,
resuming, hooks, RunConfig/EstimatorSpec validation, and Keras model_to_estimator."""
import os

import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as v1
from numflow.keras import layers

RNG = np.random.RandomState(0)
X = RNG.randn(120, 3).astype("float32")
W = np.array([[1.0], [-2.0], [0.5]], "float32")
Y = X @ W + 0.3


def input_fn(epochs=1):
    return lambda: tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(20).repeat(epochs)


def model_fn(features, labels, mode, params, config):
    w = v1.get_variable("w", [3, 1], initializer=v1.zeros_initializer())
    b = v1.get_variable("b", [1], initializer=v1.zeros_initializer())
    pred = tf.matmul(features["x"], w) + b
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"y": pred, "double": pred * 2})
    loss = tf.reduce_mean(tf.square(pred - labels))
    v1.summary.scalar("train_loss", loss)
    opt = v1.train.GradientDescentOptimizer(params.get("lr", 0.1))
    train_op = opt.minimize(loss, global_step=v1.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def test_train_evaluate_predict_resume(tmp_path):
    config = tf.estimator.RunConfig(save_summary_steps=2, log_step_count_steps=3)
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), params={"lr": 0.1},
                                 config=config)
    assert est.train(input_fn(), steps=4) is est
    assert est.latest_checkpoint().endswith("model.ckpt-4")
    first = est.evaluate(input_fn(), steps=2)
    assert first["global_step"] == 4 and np.isfinite(first["loss"])
    est.train(input_fn(epochs=5))                     # until the input ends: 30 batches
    assert est.latest_checkpoint().endswith("model.ckpt-34")
    final = est.evaluate(input_fn())
    assert final["loss"] < first["loss"] and final["loss"] < 1e-3
    np.testing.assert_allclose(est.get_variable_value("w").ravel(), W.ravel(), atol=0.05)
    assert "global_step" in est.get_variable_names()
    preds = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": X[:5]}).batch(2)))
    assert len(preds) == 5 and set(preds[0]) == {"y", "double"}
    np.testing.assert_allclose(preds[1]["y"], X[1] @ W + 0.3, atol=0.05)
    only = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices({"x": X[:2]}).batch(2),
                            predict_keys=["double"], yield_single_examples=False))
    assert set(only[0]) == {"double"} and only[0]["double"].shape == (2, 1)
    names = os.listdir(tmp_path)
    assert "checkpoint" in names and "eval" in names
    assert any(n.startswith("events.out.tfevents") for n in names)
    from numflow.io.events import read_events
    tags = {v["tag"] for n in names if n.startswith("events.out")
            for e in read_events(os.path.join(tmp_path, n)) for v in e.get("summary", [])}
    assert "train_loss" in tags


def test_max_steps_and_keep_checkpoint_max(tmp_path):
    config = tf.estimator.RunConfig(save_checkpoints_steps=2, keep_checkpoint_max=2)
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path), config=config)
    est.train(input_fn(epochs=5), max_steps=7)
    assert est.latest_checkpoint().endswith("model.ckpt-7")
    est.train(input_fn(epochs=5), max_steps=5)     # already past: nothing happens
    assert est.latest_checkpoint().endswith("model.ckpt-7")
    indexes = sorted(n for n in os.listdir(tmp_path) if n.endswith(".index"))
    assert len(indexes) == 2


def test_hooks(tmp_path):
    calls = []

    class Recorder(tf.estimator.SessionRunHook):
        def begin(self):
            calls.append("begin")

        def before_run(self, run_context):
            return tf.estimator.SessionRunArgs(v1.train.get_global_step())

        def after_run(self, run_context, run_values):
            calls.append(int(run_values.results))

        def end(self, session):
            calls.append("end")

    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    est.train(input_fn(epochs=5), hooks=[Recorder(), tf.estimator.StopAtStepHook(num_steps=3)])
    assert calls[0] == "begin" and calls[-1] == "end" and len(calls[1:-1]) == 3
    assert est.latest_checkpoint().endswith("model.ckpt-3")
    logged = []
    hook = tf.estimator.LoggingTensorHook({"step": "global_step:0"}, every_n_iter=2)
    hook._log = logged.append
    est.train(input_fn(), steps=4, hooks=[hook])
    assert len(logged) == 2


def test_errors(tmp_path):
    est = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path))
    with pytest.raises(ValueError, match="Could not find trained model"):
        est.evaluate(input_fn())
    with pytest.raises(ValueError):
        est.train(input_fn(), steps=1, max_steps=2)
    with pytest.raises(ValueError):
        est.train(input_fn(), steps=0)
    with pytest.raises(ValueError, match="not expected args"):
        tf.estimator.Estimator(lambda features, labels, bogus: None)
    with pytest.raises(ValueError, match="Missing train_op"):
        tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.TRAIN, loss=tf.constant(1.0))
    with pytest.raises(ValueError, match="Missing predictions"):
        tf.estimator.EstimatorSpec(tf.estimator.ModeKeys.PREDICT)
    with pytest.raises(ValueError, match="both"):
        tf.estimator.RunConfig(save_checkpoints_steps=1, save_checkpoints_secs=1)
    with pytest.raises(NotImplementedError, match="SavedModel"):
        est.export_saved_model("x", None)


def test_run_config_replace_and_model_dir(tmp_path):
    config = tf.estimator.RunConfig(model_dir=str(tmp_path / "a"), tf_random_seed=3)
    assert config.save_checkpoints_secs == 600 and config.save_checkpoints_steps is None
    new = config.replace(save_checkpoints_steps=10)
    assert new.save_checkpoints_steps == 10 and new.save_checkpoints_secs is None
    assert new.tf_random_seed == 3
    with pytest.raises(ValueError):
        config.replace(bogus=1)
    est = tf.estimator.Estimator(model_fn, config=config)
    assert est.model_dir == str(tmp_path / "a")
    with pytest.raises(ValueError, match="different values"):
        tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "b"), config=config)
    assert tf.estimator.ModeKeys.PREDICT == "infer"


def test_warm_start(tmp_path):
    first = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "a"))
    first.train(input_fn(epochs=3))
    second = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "b"),
                                    warm_start_from=str(tmp_path / "a"))
    second.train(input_fn(), steps=1, hooks=[])
    np.testing.assert_allclose(second.get_variable_value("w"), first.get_variable_value("w"),
                               atol=0.2)


def _keras_model():
    model = tf.keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(3,
                                 activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.RMSprop(0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_model_to_estimator(tmp_path):
    x = RNG.rand(96, 4).astype("float32")
    y = np.eye(3)[(x.sum(1) * 2).astype(int) % 3].astype("float32")
    keras_model = _keras_model()
    est = tf.keras.estimator.model_to_estimator(keras_model, model_dir=str(tmp_path))

    def train_fn():
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    est.train(train_fn, steps=4)
    assert est.latest_checkpoint().endswith("model.ckpt-4")
    ev = est.evaluate(train_fn, steps=2)
    assert {"loss", "accuracy", "global_step"} <= set(ev) and ev["global_step"] == 4
    est.train(train_fn)                          # resumes: 6 more steps (one pass)
    assert est.evaluate(train_fn)["global_step"] == 10
    assert not keras_model.built                 # the estimator trained a copy
    preds = list(est.predict(lambda: tf.data.Dataset.from_tensor_slices(x[:5]).batch(2)))
    assert len(preds) == 5
    (name,) = preds[0]
    assert preds[0][name].shape == (3,)
    assert est.get_variable_value("global_step") == 10
    again = tf.keras.estimator.model_to_estimator(_keras_model(), model_dir=str(tmp_path))
    assert again.evaluate(train_fn)["global_step"] == 10


def test_model_to_estimator_errors(tmp_path):
    with pytest.raises(ValueError, match="compiled"):
        tf.keras.estimator.model_to_estimator(tf.keras.Sequential([layers.Dense(1)]))
    with pytest.raises(ValueError):
        tf.keras.estimator.model_to_estimator()
    pytest.importorskip("h5py")
    model = tf.keras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    model.save(str(tmp_path / "m.h5"))
    est = tf.keras.estimator.model_to_estimator(keras_model_path=str(tmp_path / "m.h5"),
                                                model_dir=str(tmp_path / "d"))
    data = lambda: tf.data.Dataset.from_tensor_slices(  # noqa: E731
        (np.ones((4, 3), "float32"), np.ones((4, 2), "float32"))).batch(2)
    est.train(data, steps=1)
    with pytest.raises(NotImplementedError):
        est.train(data, steps=1, hooks=[tf.estimator.SessionRunHook()])
