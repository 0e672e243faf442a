"""Session-run hooks for Estimators (``tf.estimator.SessionRunHook`` and friends).

A hook sees every ``Session.run`` of an Estimator loop: ``begin()`` after the graph is
built, ``after_create_session(session, coord)``, ``before_run(run_context)`` (may return
``SessionRunArgs`` with extra fetches), ``after_run(run_context, run_values)`` (with their
results) and ``end(session)``. ``run_context.request_stop()`` ends the loop.
"""
import collections
import time

import numpy as np

from numflow._api.export import export


@export("estimator.SessionRunArgs", v1=["estimator.SessionRunArgs"])
class SessionRunArgs(collections.namedtuple("SessionRunArgs",
                                            ["fetches", "feed_dict", "options"])):
    """Extra fetches and feeds a hook adds to a run (``tf.estimator.SessionRunArgs``)."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


@export("estimator.SessionRunValues", v1=["estimator.SessionRunValues"])
class SessionRunValues(collections.namedtuple("SessionRunValues",
                                              ["results", "options", "run_metadata"])):
    """The results of a hook's ``SessionRunArgs`` fetches (``tf.estimator.
    SessionRunValues``)."""


@export("estimator.SessionRunContext", v1=["estimator.SessionRunContext"])
class SessionRunContext:
    """What a hook knows about the current run (``tf.estimator.SessionRunContext``)."""

    def __init__(self, original_args, session):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self):
        """The ``SessionRunArgs`` of the loop's own run."""
        return self._original_args

    @property
    def session(self):
        """The session running the loop."""
        return self._session

    @property
    def stop_requested(self):
        """Whether a hook asked to stop."""
        return self._stop_requested

    def request_stop(self):
        """Asks the loop to stop after this run."""
        self._stop_requested = True


@export("estimator.SessionRunHook", v1=["estimator.SessionRunHook"])
class SessionRunHook:
    """Base class of hooks (``tf.estimator.SessionRunHook``); every method is a no-op."""

    def begin(self):
        """Called once before the session is created; the graph may still be extended."""

    def after_create_session(self, session, coord):
        """Called once the session exists and variables are initialized/restored."""

    def before_run(self, run_context):
        """Called before each run; may return ``SessionRunArgs``."""
        return None

    def after_run(self, run_context, run_values):
        """Called after each run with the results of ``before_run``'s fetches."""

    def end(self, session):
        """Called at the end of the loop."""


def _global_step_tensor():
    from numflow.train import training_util
    return training_util.get_global_step()


@export("estimator.StopAtStepHook", v1=["estimator.StopAtStepHook"])
class StopAtStepHook(SessionRunHook):
    """Stops after ``num_steps`` more steps, or at global step ``last_step``
    (``tf.estimator.StopAtStepHook``).

    Raises:
      ValueError: unless exactly one of ``num_steps`` and ``last_step`` is given.
    """

    def __init__(self, num_steps=None, last_step=None):
        if (num_steps is None) == (last_step is None):
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and num_steps < 0:
            raise ValueError("num_steps must be non-negative.")
        self._num_steps = num_steps
        self._last_step = last_step

    def begin(self):
        self._step_tensor = _global_step_tensor()
        if self._step_tensor is None:
            raise RuntimeError("Global step should be created to use StopAtStepHook.")

    def after_create_session(self, session, coord):
        if self._last_step is None:
            self._last_step = int(session.run(self._step_tensor)) + self._num_steps

    def before_run(self, run_context):
        return SessionRunArgs(self._step_tensor)

    def after_run(self, run_context, run_values):
        step = int(run_values.results) + 1
        if step >= self._last_step:
            # the fetched value may precede the step's update: read it again, as TF does
            if int(run_context.session.run(self._step_tensor)) >= self._last_step:
                run_context.request_stop()


@export("estimator.LoggingTensorHook", v1=["estimator.LoggingTensorHook"])
class LoggingTensorHook(SessionRunHook):
    """Prints the values of ``tensors`` every ``every_n_iter`` runs or ``every_n_secs``
    seconds, and/or at the end (``tf.estimator.LoggingTensorHook``).

    Args:
      tensors: a dict name -> tensor (or tensor name), or a list of tensors/names.
      every_n_iter / every_n_secs: the logging interval (exactly one unless ``at_end``).
      at_end: also log at the end of the loop.
      formatter: ``formatter(dict name -> value)`` -> str.
    """

    def __init__(self, tensors, every_n_iter=None, every_n_secs=None, at_end=False,
                 formatter=None):
        only_log_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_log_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and "
                             "every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if not isinstance(tensors, dict):
            tensors = {getattr(t, "name", t): t for t in tensors}
        self._tag_order = list(tensors)
        self._tensors = tensors
        self._every_n_iter = every_n_iter
        self._every_n_secs = every_n_secs
        self._at_end = at_end
        self._formatter = formatter
        self._log = print

    def begin(self):
        from numflow.framework import context
        graph = context.get_default_graph()
        self._current = {k: graph.get_tensor_by_name(v) if isinstance(v, str) else v
                         for k, v in self._tensors.items()}
        self._iter = 0
        self._last_time = None

    def _due(self):
        if self._every_n_iter is not None:
            return self._iter % self._every_n_iter == 0
        if self._every_n_secs is not None:
            return self._last_time is None or \
                time.time() - self._last_time >= self._every_n_secs
        return False

    def before_run(self, run_context):
        self._should_log = self._due()
        return SessionRunArgs(self._current) if self._should_log else None

    def _emit(self, values):
        if self._formatter:
            self._log(self._formatter(values))
        else:
            self._log(", ".join(f"{k} = {np.asarray(values[k])}" for k in self._tag_order))
        self._last_time = time.time()

    def after_run(self, run_context, run_values):
        if self._should_log:
            self._emit(run_values.results)
        self._iter += 1

    def end(self, session):
        if self._at_end:
            self._emit(session.run(self._current))
