"""``tf.keras.estimator.model_to_estimator``: an Estimator that trains a compiled Keras model.

The returned Estimator runs the Keras model itself (``fit`` / ``evaluate`` / ``predict``
on the ``tf.data.Dataset`` that ``input_fn`` returns) instead of rebuilding it in a TF1
graph. Its state lives in ``model_dir`` as TF-format Keras checkpoints
``model.ckpt-<global step>`` (weights, optimizer state and ``global_step``, see
:mod:`numflow.keras.saving.tf_format`) listed in the ``checkpoint`` file, so each call
resumes from the latest checkpoint, and ``evaluate``/``predict`` use it.
"""
import logging
import os

import numpy as np

from numflow.estimator.estimator import Estimator
from numflow.estimator.run_config import ModeKeys, RunConfig

_log = logging.getLogger("numflow.estimator")


def _clone_compiled(model):
    """A copy of a compiled Sequential/functional model (same weights, same compile
    arguments, fresh optimizer state), or the model itself for subclassed models."""
    from numflow.keras.saving import model_io
    kinds = {k.__name__ for k in type(model).__mro__}
    if not kinds & {"Sequential", "Functional"}:
        _log.warning("model_to_estimator: a subclassed model is trained in place (it cannot "
                     "be cloned).")
        return model
    clone = model_io.clone_model(model)
    if getattr(model, "built", False) and getattr(clone, "built", False):
        clone.set_weights(model.get_weights())
    args = dict(model._compile_config)
    optimizer = model.optimizer
    new_optimizer = type(optimizer).from_config(optimizer.get_config())
    clone.compile(optimizer=new_optimizer, loss=args.get("loss"),
                  metrics=_fresh_metrics(args.get("metrics")),
                  loss_weights=args.get("loss_weights"),
                  weighted_metrics=_fresh_metrics(args.get("weighted_metrics")))
    return clone


def _fresh_metrics(metrics):
    if isinstance(metrics, dict):
        return {k: _fresh_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [_fresh_metrics(m) for m in metrics]
    if hasattr(metrics, "get_config") and hasattr(metrics, "update_state"):
        return type(metrics).from_config(metrics.get_config())
    return metrics


class _KerasEstimator(Estimator):
    """The Estimator ``model_to_estimator`` returns; see the module docstring."""

    def __init__(self, keras_model, model_dir=None, config=None):
        super().__init__(None, model_dir=model_dir, config=config)
        self._keras_model = keras_model

    # ---- data and checkpoints -----------------------------------------------------------------
    def _dataset(self, input_fn, mode):
        from numflow.data.dataset import Dataset
        kwargs = {}
        from numflow.estimator.estimator import _fn_args
        args = _fn_args(input_fn)
        if "mode" in args:
            kwargs["mode"] = mode
        if "params" in args:
            kwargs["params"] = self.params
        if "config" in args:
            kwargs["config"] = self.config
        result = input_fn(**kwargs)
        if isinstance(result, Dataset):
            return result
        if isinstance(result, tuple) and len(result) in (1, 2):
            return Dataset.from_tensors(result if len(result) == 2 else result[0])
        return Dataset.from_tensors(result)

    def _ensure_built(self, dataset):
        model = self._keras_model
        if getattr(model, "built", False):
            return
        for element in dataset.take(1):
            x = element[0] if isinstance(element, tuple) else element
            model(x)
            return
        raise ValueError("input_fn returned an empty dataset.")

    def _checkpoints(self):
        from numflow.train import checkpoint_management
        state = checkpoint_management.get_checkpoint_state(self._model_dir)
        if state is None:
            return []
        return [p if os.path.isabs(p) else os.path.join(self._model_dir, p)
                for p in state.all_model_checkpoint_paths]

    def _restore(self, dataset, checkpoint_path=None, required=False):
        from numflow.keras.saving import tf_format
        self._ensure_built(dataset)
        ckpt = checkpoint_path or self.latest_checkpoint()
        if ckpt is None:
            if required:
                raise ValueError(f"Could not find trained model in model_dir: "
                                 f"{self._model_dir}, running initialization to evaluate.")
            return
        tf_format.load_weights(self._keras_model, ckpt)

    def _global_step(self):
        optimizer = getattr(self._keras_model, "optimizer", None)
        if optimizer is None:
            return 0
        return int(np.asarray(optimizer.iterations.numpy()))

    def _save(self):
        from numflow.keras.saving import tf_format
        from numflow.train import checkpoint_management
        step = self._global_step()
        prefix = os.path.join(self._model_dir, f"model.ckpt-{step}")
        tf_format.write_weights_checkpoint(self._keras_model, prefix,
                                           {"global_step": np.int64(step)})
        paths = [p for p in self._checkpoints() if p != prefix] + [prefix]
        keep = self._config.keep_checkpoint_max
        stale = paths[:-keep] if keep else []
        paths = paths[-keep:] if keep else paths
        checkpoint_management.update_checkpoint_state(self._model_dir, prefix, paths)
        for old in stale:
            checkpoint_management.remove_checkpoint(old)
        return prefix

    # ---- the Estimator API --------------------------------------------------------------------
    def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
        """Trains the Keras model on ``input_fn``'s dataset for ``steps`` more steps (or to
        global step ``max_steps``, or to the end of the data) and saves a checkpoint.

        Raises:
          ValueError: for both/invalid ``steps`` and ``max_steps``.
          NotImplementedError: for ``hooks`` or ``saving_listeners`` (session hooks do not
            apply to Keras training; use Keras callbacks on the model instead).
        """
        if hooks or saving_listeners:
            raise NotImplementedError("SessionRunHooks / saving_listeners on an Estimator "
                                      "made by model_to_estimator")
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")
        os.makedirs(self._model_dir, exist_ok=True)
        dataset = self._dataset(input_fn, ModeKeys.TRAIN)
        self._restore(dataset)
        start = self._global_step()
        todo = steps if steps is not None else (
            max_steps - start if max_steps is not None else None)
        if todo is not None and todo <= 0:
            return self
        if todo is None:
            self._keras_model.fit(dataset, epochs=1, verbose=0)
        else:
            self._keras_model.fit(dataset.take(todo), epochs=1, verbose=0)
        self._save()
        return self

    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None):
        """Evaluates the latest checkpoint on ``input_fn``'s dataset (``steps`` batches or
        all); returns the loss and metrics by name plus ``global_step``."""
        if hooks:
            raise NotImplementedError("SessionRunHooks on an Estimator made by "
                                      "model_to_estimator")
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        dataset = self._dataset(input_fn, ModeKeys.EVAL)
        self._restore(dataset, checkpoint_path, required=True)
        data = dataset.take(steps) if steps is not None else dataset
        logs = self._keras_model.evaluate(data, verbose=0, return_dict=True)
        results = {k: float(np.asarray(v)) for k, v in logs.items()}
        results["global_step"] = self._global_step()
        self._write_eval_summary(results, name)
        return results

    def predict(self, input_fn, predict_keys=None, hooks=None, checkpoint_path=None,
                yield_single_examples=True):
        """Yields the Keras model's outputs, as dicts keyed by output layer name, for the
        features of ``input_fn``'s dataset (restoring the latest checkpoint)."""
        if hooks:
            raise NotImplementedError("SessionRunHooks on an Estimator made by "
                                      "model_to_estimator")
        dataset = self._dataset(input_fn, ModeKeys.PREDICT)
        self._restore(dataset, checkpoint_path, required=True)
        model = self._keras_model
        names = list(getattr(model, "output_names", None) or ["output_1"])
        keys = None if predict_keys is None else (
            [predict_keys] if isinstance(predict_keys, str) else list(predict_keys))
        if keys is not None and any(k not in names for k in keys):
            raise ValueError(f"Expected to run at least one output from {names}, provided "
                             f"{keys}.")
        for element in dataset:
            x = element[0] if isinstance(element, tuple) else element
            out = model.predict_on_batch(x)
            outs = list(out.values()) if isinstance(out, dict) else (
                list(out) if isinstance(out, (list, tuple)) else [out])
            batch = {n: np.asarray(o) for n, o in zip(names, outs)
                     if keys is None or n in keys}
            if not yield_single_examples:
                yield batch
                continue
            n = next(iter(batch.values())).shape[0]
            for i in range(n):
                yield {k: v[i] for k, v in batch.items()}


def model_to_estimator(keras_model=None, keras_model_path=None, custom_objects=None,
                       model_dir=None, config=None, checkpoint_format="checkpoint",
                       metric_names_map=None, export_outputs=None):
    """Constructs an Estimator from a compiled Keras model
    (``tf.keras.estimator.model_to_estimator``).

    Args:
      keras_model: a compiled Keras model (copied, for Sequential/functional models, so
        training the Estimator leaves it unchanged).
      keras_model_path: or the path of a model saved with ``model.save``.
      custom_objects: custom classes for loading ``keras_model_path``.
      model_dir: the Estimator's directory (default ``config.model_dir`` or a temporary
        one).
      config: a ``RunConfig``.
      checkpoint_format: ``'checkpoint'`` (object-based; the only format numflow writes)
        or ``'saver'`` (accepted, same files).
      metric_names_map, export_outputs: accepted for compatibility (not used).

    Returns:
      An Estimator with ``train``, ``evaluate``, ``predict``.

    Raises:
      ValueError: if neither or both of ``keras_model`` / ``keras_model_path`` are given,
        or the model is not compiled.
    """
    if (keras_model is None) == (keras_model_path is None):
        raise ValueError("Either `keras_model` or `keras_model_path` needs to be provided.")
    if checkpoint_format not in ("checkpoint", "saver"):
        raise ValueError(f"Unknown checkpoint format: {checkpoint_format!r}")
    if keras_model_path is not None:
        from numflow.keras.saving import model_io
        keras_model = model_io.load_model(keras_model_path, custom_objects=custom_objects)
    if getattr(keras_model, "optimizer", None) is None or \
            not getattr(keras_model, "_is_compiled", True):
        raise ValueError("The given keras model has not been compiled yet. Please compile the "
                         "model with `model.compile()` before calling `model_to_estimator()`.")
    config = config if config is not None else RunConfig()
    return _KerasEstimator(_clone_compiled(keras_model), model_dir=model_dir, config=config)
