"""``tf.estimator.Estimator``: trains, evaluates and predicts with a ``model_fn`` in TF1
graphs and sessions, keeping checkpoints in ``model_dir``.

Every call builds a fresh graph: ``input_fn()`` (a ``tf.data.Dataset`` of ``(features,
labels)`` or ``features``, or such a tuple) feeds ``model_fn(features, labels, mode,
params, config)``, which returns an ``EstimatorSpec``. ``train`` restores the latest
checkpoint (so training resumes where it stopped), runs ``train_op`` until ``steps`` more
steps, ``max_steps`` in total, or the end of the input, saving checkpoints
(``model.ckpt-<global step>``, via ``tf.compat.v1.train.Saver``) and summaries as the
``RunConfig`` says. ``evaluate`` and ``predict`` restore the latest checkpoint first.

TF removed Estimators in 2.16; numflow keeps them.
"""
import inspect
import logging
import os
import tempfile
import time

import numpy as np

from numflow._api.export import export
from numflow.estimator import hooks as hooks_lib
from numflow.estimator.run_config import EstimatorSpec, ModeKeys, RunConfig
from numflow.framework import errors, nest

_log = logging.getLogger("numflow.estimator")


def _fn_args(fn):
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _is_dataset(x):
    from numflow.data.dataset import Dataset
    return isinstance(x, Dataset)


def features_and_labels(result):
    """Splits an ``input_fn`` result into (features, labels) tensors in the current graph."""
    from numflow.data import iterators
    from numflow.ops.apply import convert_to_tensor
    if _is_dataset(result):
        element = iterators.make_one_shot_iterator(result).get_next()
    else:
        element = result
    if isinstance(element, (tuple, list)) and len(element) == 2:
        features, labels = element
    else:
        features, labels = element, None

    def as_tensor(x):
        return x if hasattr(x, "dtype") and hasattr(x, "op") else convert_to_tensor(x)
    features = nest.map_structure(as_tensor, features)
    labels = None if labels is None else nest.map_structure(as_tensor, labels)
    return features, labels


@export("estimator.Estimator", v1=["estimator.Estimator"])
class Estimator:
    """Estimator class to train and evaluate TensorFlow models
    (``tf.estimator.Estimator(model_fn, model_dir=None, config=None, params=None,
    warm_start_from=None)``).

    Args:
      model_fn: ``model_fn(features, labels, mode, params, config)`` (each argument
        optional by name) returning an ``EstimatorSpec``.
      model_dir: where checkpoints and summaries go (default ``config.model_dir`` or a new
        temporary directory).
      config: a ``RunConfig``.
      params: a dict passed to ``model_fn``.
      warm_start_from: a checkpoint (prefix or directory) whose variables of matching
        names initialize a model that has no checkpoint of its own yet.

    Raises:
      ValueError: if ``model_dir`` and ``config.model_dir`` disagree, or ``model_fn``
        takes an unexpected argument.
    """

    def __init__(self, model_fn, model_dir=None, config=None, params=None,
                 warm_start_from=None):
        if config is None:
            config = RunConfig()
        elif not isinstance(config, RunConfig):
            raise ValueError(f"config must be an instance of `RunConfig`, but provided "
                             f"{config}.")
        if model_dir is not None and config.model_dir is not None and \
                os.path.abspath(os.fspath(model_dir)) != os.path.abspath(config.model_dir):
            raise ValueError(f"`model_dir` are set both in constructor and `RunConfig`, but "
                             f"with different values. In constructor: '{model_dir}', in "
                             f"`RunConfig`: '{config.model_dir}'")
        model_dir = model_dir or config.model_dir
        if model_dir is None:
            model_dir = tempfile.mkdtemp()
            _log.warning("Using temporary folder as model directory: %s", model_dir)
        self._model_dir = os.fspath(model_dir)
        self._config = config.replace(model_dir=self._model_dir)
        self._params = dict(params or {})
        self._model_fn = model_fn
        self._warm_start_from = warm_start_from
        if model_fn is not None:
            allowed = {"features", "labels", "mode", "params", "config", "self"}
            extra = {a for a in _fn_args(model_fn) if a not in allowed}
            if extra:
                raise ValueError(f"model_fn ({model_fn}) has following not expected args: "
                                 f"{sorted(extra)}")

    model_dir = property(lambda self: self._model_dir, doc="The model directory.")
    config = property(lambda self: self._config, doc="The RunConfig.")
    params = property(lambda self: dict(self._params), doc="A copy of the params dict.")
    model_fn = property(lambda self: self._model_fn, doc="The model_fn.")

    # ---- checkpoints ------------------------------------------------------------------------
    def latest_checkpoint(self):
        """The prefix of the newest checkpoint in ``model_dir``, or None."""
        from numflow.train import checkpoint_management
        return checkpoint_management.latest_checkpoint(self._model_dir)

    def get_variable_names(self):
        """The names of the variables in the latest checkpoint.

        Raises:
          ValueError: if there is no checkpoint yet.
        """
        return sorted(self._reader().get_variable_to_shape_map())

    def get_variable_value(self, name):
        """The value of variable ``name`` in the latest checkpoint (a NumPy array)."""
        return self._reader().get_tensor(name)

    def _reader(self):
        from numflow.io.tf_checkpoint import CheckpointReader
        ckpt = self.latest_checkpoint()
        if ckpt is None:
            raise ValueError(f"Could not find trained model in model_dir: {self._model_dir}.")
        return CheckpointReader(ckpt)

    # ---- graph building ---------------------------------------------------------------------
    def _call_input_fn(self, input_fn, mode):
        args = _fn_args(input_fn)
        kwargs = {}
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = self.config
        return features_and_labels(input_fn(**kwargs))

    def _call_model_fn(self, features, labels, mode):
        args = _fn_args(self._model_fn)
        kwargs = {}
        if "labels" in args:
            kwargs["labels"] = labels
        elif labels is not None and mode != ModeKeys.PREDICT:
            raise ValueError("model_fn does not take labels, but input_fn returns labels.")
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = self.config
        spec = self._model_fn(features=features, **kwargs)
        if not isinstance(spec, EstimatorSpec):
            raise ValueError(f"model_fn should return an EstimatorSpec. Given: {spec}")
        return spec

    def _new_graph(self):
        from numflow.graph.graph import Graph
        from numflow.ops import random_ops
        graph = Graph()
        ctx = graph.as_default()
        ctx.__enter__()
        if self._config.tf_random_seed is not None:
            random_ops.set_random_seed(self._config.tf_random_seed)
        return graph, ctx

    def _session(self, graph, checkpoint_path=None, required=False):
        """A session on ``graph`` with variables initialized, then restored from
        ``checkpoint_path`` (default: the latest checkpoint)."""
        from numflow import variables as api
        from numflow.runtime.session import Session
        from numflow.train.saver import Saver
        sess = Session(graph=graph, config=self._config.session_config)
        sess.run(api.global_variables_initializer())
        sess.run(api.local_variables_initializer())
        ckpt = checkpoint_path or self.latest_checkpoint()
        saver = Saver(max_to_keep=self._config.keep_checkpoint_max,
                      keep_checkpoint_every_n_hours=self._config.keep_checkpoint_every_n_hours,
                      allow_empty=True)
        if ckpt is not None:
            saver.restore(sess, ckpt)
        elif required:
            sess.close()
            raise ValueError(f"Could not find trained model in model_dir: {self._model_dir}, "
                             "running initialization to evaluate.")
        elif self._warm_start_from is not None:
            self._warm_start(sess)
        return sess, saver

    def _warm_start(self, sess):
        from numflow.io.tf_checkpoint import CheckpointReader
        from numflow.train import checkpoint_management
        source = os.fspath(getattr(self._warm_start_from, "ckpt_to_initialize_from",
                                   self._warm_start_from))
        if os.path.isdir(source):
            source = checkpoint_management.latest_checkpoint(source)
        if not source:
            raise ValueError(f"warm_start_from: no checkpoint found at "
                             f"{self._warm_start_from}.")
        reader = CheckpointReader(source)
        from numflow import variables as api
        for var in api.global_variables():
            name = var.op.name if hasattr(var, "op") else var.name.split(":")[0]
            if reader.has_tensor(name) and name != "global_step":
                var.load(reader.get_tensor(name), sess)

    # ---- train ------------------------------------------------------------------------------
    def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
        """Trains a model given training data ``input_fn``.

        Args:
          input_fn: returns a ``tf.data.Dataset`` of ``(features, labels)`` or a tuple.
          hooks: ``SessionRunHook``s run inside the training loop.
          steps: train this many more steps (or until the input ends).
          max_steps: train until the global step reaches it (a no-op if already there).
          saving_listeners: objects with ``begin``/``before_save(session, step)``/
            ``after_save(session, step)``/``end(session, step)`` around checkpoint saves.

        Returns:
          ``self``, for chaining.

        Raises:
          ValueError: if both ``steps`` and ``max_steps`` are given, or either is <= 0.
        """
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        if max_steps is not None:
            ckpt = self.latest_checkpoint()
            if ckpt is not None and self._checkpoint_step(ckpt) >= max_steps:
                _log.info("Skipping training since max_steps has already saved.")
                return self
        self._train_model(input_fn, list(hooks or []), steps, max_steps,
                          list(saving_listeners or []))
        return self

    @staticmethod
    def _checkpoint_step(ckpt):
        from numflow.io.tf_checkpoint import CheckpointReader
        reader = CheckpointReader(ckpt)
        if reader.has_tensor("global_step"):
            return int(np.asarray(reader.get_tensor("global_step")))
        return 0

    def _train_model(self, input_fn, hooks, steps, max_steps, listeners):
        from numflow.summary import v1 as summary_v1
        from numflow.train import training_util
        graph, ctx = self._new_graph()
        try:
            global_step = training_util.get_or_create_global_step(graph)
            features, labels = self._call_input_fn(input_fn, ModeKeys.TRAIN)
            spec = self._call_model_fn(features, labels, ModeKeys.TRAIN)
            hooks = list(spec.training_chief_hooks) + list(spec.training_hooks) + hooks
            summary_op = summary_v1.merge_all()
            for hook in hooks:
                hook.begin()
            for listener in listeners:
                getattr(listener, "begin", lambda: None)()
            os.makedirs(self._model_dir, exist_ok=True)
            sess, saver = self._session(graph)
            writer = None
            try:
                writer = summary_v1.FileWriter(self._model_dir, graph)
                for hook in hooks:
                    hook.after_create_session(sess, None)
                step = int(sess.run(global_step))
                last_step = max_steps if max_steps is not None else (
                    step + steps if steps is not None else None)
                self._loop(sess, saver, writer, spec, summary_op, global_step, hooks,
                           listeners, step, last_step)
            finally:
                if writer is not None:
                    writer.close()
                sess.close()
        finally:
            ctx.__exit__(None, None, None)

    def _loop(self, sess, saver, writer, spec, summary_op, global_step, hooks, listeners,
              step, last_step):
        config = self._config
        prefix = os.path.join(self._model_dir, "model.ckpt")
        last_save_time, last_saved = time.time(), None
        log_time, log_step = time.time(), step
        fetches = {"train_op": spec.train_op, "loss": spec.loss, "step": global_step}
        while last_step is None or step < last_step:
            want_summary = summary_op is not None and config.save_summary_steps and \
                step % config.save_summary_steps == 0
            run_fetches = dict(fetches)
            if want_summary:
                run_fetches["summary"] = summary_op
            context = hooks_lib.SessionRunContext(hooks_lib.SessionRunArgs(run_fetches), sess)
            hook_args = [h.before_run(context) for h in hooks]
            all_fetches = {"main": run_fetches,
                           "hooks": [a.fetches if a is not None else [] for a in hook_args]}
            feed = {}
            for a in hook_args:
                if a is not None and a.feed_dict:
                    feed.update(a.feed_dict)
            try:
                results = sess.run(all_fetches, feed_dict=feed or None)
            except errors.OutOfRangeError:
                break
            loss = results["main"]["loss"]
            if not np.all(np.isfinite(loss)):
                raise RuntimeError(f"NaN loss during training (step {step}).")
            step = int(sess.run(global_step))
            for h, a, r in zip(hooks, hook_args, results["hooks"]):
                h.after_run(context, hooks_lib.SessionRunValues(
                    r if a is not None else None, None, None))
            if want_summary:
                writer.add_summary(results["main"]["summary"], step)
            if config.log_step_count_steps and step - log_step >= config.log_step_count_steps:
                now = time.time()
                _log.info("loss = %s, step = %d (%.3f sec)", loss, step, now - log_time)
                if writer is not None:
                    rate = (step - log_step) / max(now - log_time, 1e-9)
                    writer.add_summary(_simple_summary("global_step/sec", rate), step)
                log_time, log_step = now, step
            due = (config.save_checkpoints_steps and
                   step % config.save_checkpoints_steps == 0) or (
                config.save_checkpoints_secs and
                time.time() - last_save_time >= config.save_checkpoints_secs)
            if due:
                self._save(sess, saver, prefix, step, listeners)
                last_save_time, last_saved = time.time(), step
            if context.stop_requested:
                break
        if last_saved != step:
            self._save(sess, saver, prefix, step, listeners)
        for h in hooks:
            h.end(sess)
        for listener in listeners:
            getattr(listener, "end", lambda s, st: None)(sess, step)

    @staticmethod
    def _save(sess, saver, prefix, step, listeners):
        for listener in listeners:
            getattr(listener, "before_save", lambda s, st: None)(sess, step)
        saver.save(sess, prefix, global_step=step, write_meta_graph=False)
        for listener in listeners:
            getattr(listener, "after_save", lambda s, st: None)(sess, step)

    # ---- evaluate ----------------------------------------------------------------------------
    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None):
        """Evaluates the model on ``input_fn``'s data for ``steps`` batches (or until it
        ends), restoring ``checkpoint_path`` (default: the latest checkpoint).

        Returns:
          A dict with each ``eval_metric_ops`` value, ``loss`` (the mean over batches) and
          ``global_step``; also written as summaries to ``model_dir/eval[_name]``.

        Raises:
          ValueError: if there is no checkpoint, or ``steps`` <= 0.
        """
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        from numflow.train import training_util
        graph, ctx = self._new_graph()
        try:
            global_step = training_util.get_or_create_global_step(graph)
            features, labels = self._call_input_fn(input_fn, ModeKeys.EVAL)
            spec = self._call_model_fn(features, labels, ModeKeys.EVAL)
            hooks = list(spec.evaluation_hooks) + list(hooks or [])
            for hook in hooks:
                hook.begin()
            sess, _ = self._session(graph, checkpoint_path, required=True)
            try:
                for hook in hooks:
                    hook.after_create_session(sess, None)
                results = self._eval_loop(sess, spec, hooks, steps)
                results["global_step"] = int(sess.run(global_step))
                for hook in hooks:
                    hook.end(sess)
            finally:
                sess.close()
        finally:
            ctx.__exit__(None, None, None)
        self._write_eval_summary(results, name)
        return results

    def _eval_loop(self, sess, spec, hooks, steps):
        pairs = {k: v for k, v in spec.eval_metric_ops.items() if isinstance(v, (tuple, list))}
        updates = [v[1] for v in pairs.values()]
        losses, count = [], 0
        while steps is None or count < steps:
            context = hooks_lib.SessionRunContext(None, sess)
            hook_args = [h.before_run(context) for h in hooks]
            try:
                out = sess.run({"loss": spec.loss, "updates": updates,
                                "hooks": [a.fetches if a is not None else [] for a in
                                          hook_args]})
            except errors.OutOfRangeError:
                break
            losses.append(np.asarray(out["loss"], dtype=np.float64))
            count += 1
            for h, a, r in zip(hooks, hook_args, out["hooks"]):
                h.after_run(context, hooks_lib.SessionRunValues(
                    r if a is not None else None, None, None))
            if context.stop_requested:
                break
        results = {k: _python(v) for k, v in sess.run({k: v[0] for k, v in pairs.items()})
                   .items()} if pairs else {}
        if losses:
            results["loss"] = float(np.mean(losses))
        else:
            results["loss"] = float("nan")
        return results

    def _write_eval_summary(self, results, name):
        from numflow.io.events import EventFileWriter
        directory = os.path.join(self._model_dir, "eval" if not name else f"eval_{name}")
        with EventFileWriter(directory) as writer:
            for key, value in results.items():
                if key == "global_step":
                    continue
                arr = np.asarray(value)
                if arr.dtype.kind in "biuf" and arr.size == 1:
                    writer.add_simple_scalar(key, float(arr), results["global_step"])

    # ---- predict -----------------------------------------------------------------------------
    def predict(self, input_fn, predict_keys=None, hooks=None, checkpoint_path=None,
                yield_single_examples=True):
        """Yields predictions for ``input_fn``'s features (restoring the latest checkpoint).

        Args:
          input_fn: returns a Dataset of features (labels are ignored) or features.
          predict_keys: the keys of a predictions dict to return (default all).
          hooks: ``SessionRunHook``s.
          checkpoint_path: the checkpoint to use (default: the latest).
          yield_single_examples: yield one example at a time (else whole batches).

        Raises:
          ValueError: if there is no checkpoint, or ``predict_keys`` names an unknown key.
        """
        from numflow.train import training_util
        graph, ctx = self._new_graph()
        try:
            training_util.get_or_create_global_step(graph)
            features, _ = self._call_input_fn(input_fn, ModeKeys.PREDICT)
            spec = self._call_model_fn(features, None, ModeKeys.PREDICT)
            predictions = spec.predictions
            if predict_keys is not None:
                if not isinstance(predictions, dict):
                    raise ValueError("predict_keys argument is not valid in case of non-dict "
                                     "predictions.")
                keys = [predict_keys] if isinstance(predict_keys, str) else list(predict_keys)
                missing = [k for k in keys if k not in predictions]
                if missing:
                    raise ValueError(f"Expected to run at least one output from "
                                     f"{list(predictions)}, provided {missing}.")
                predictions = {k: predictions[k] for k in keys}
            hooks = list(spec.prediction_hooks) + list(hooks or [])
            for hook in hooks:
                hook.begin()
            sess, _ = self._session(graph, checkpoint_path, required=True)
        finally:
            ctx.__exit__(None, None, None)
        try:
            for hook in hooks:
                hook.after_create_session(sess, None)
            while True:
                try:
                    batch = sess.run(predictions)
                except errors.OutOfRangeError:
                    break
                if not yield_single_examples:
                    yield batch
                    continue
                yield from _split_examples(batch)
            for hook in hooks:
                hook.end(sess)
        finally:
            sess.close()

    def export_saved_model(self, export_dir_base, serving_input_receiver_fn, **kwargs):
        """Exports a SavedModel (``Estimator.export_saved_model``)."""
        raise NotImplementedError("Estimator.export_saved_model (TensorFlow SavedModel "
                                  "export)")

    export_savedmodel = export_saved_model


def _python(value):
    arr = np.asarray(value)
    return arr.item() if arr.shape == () and arr.dtype.kind in "biuf" else arr


def _split_examples(batch):
    if isinstance(batch, dict):
        sizes = {np.asarray(v).shape[0] for v in batch.values() if np.ndim(v)}
        if len(sizes) != 1:
            raise ValueError(f"Batch length of predictions should be same. {sizes}")
        n = sizes.pop()
        for i in range(n):
            yield {k: np.asarray(v)[i] for k, v in batch.items()}
        return
    arr = np.asarray(batch)
    if arr.ndim == 0:
        raise ValueError("Predictions must have a batch dimension to yield single examples.")
    yield from arr


def _simple_summary(tag, value):
    from numflow.io import summary as summary_pb
    return summary_pb.summary([summary_pb.simple_value(tag, value)])
