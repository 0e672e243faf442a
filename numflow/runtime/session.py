"""Session and InteractiveSession (TF1): run fetches of a graph with feeds.

Each Session owns a RunState (variable values), so two sessions on one graph are
independent. Plans are cached per (fetches, feeds) signature.
"""
import threading

import numpy as np

from numflow._api.export import export
from numflow.framework import context, nest
from numflow.graph.operation import Operation
from numflow.graph.tensor import Tensor
from numflow.runtime.plan import Plan
from numflow.runtime.state import RunState

_default_sessions = threading.local()
_NO_PLAN = object()


def _session_stack():
    stack = getattr(_default_sessions, "stack", None)
    if stack is None:
        stack = _default_sessions.stack = []
    return stack


@export(v1=["get_default_session"])
def get_default_session():
    """The innermost session entered with ``as_default()`` / ``with``, or None."""
    stack = _session_stack()
    return stack[-1] if stack else None


def get_default_session_or_raise():
    """The default session; ValueError (TF's message) when none is registered."""
    sess = get_default_session()
    if sess is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is "
                         "registered. Use `with sess.as_default()` or pass an explicit session "
                         "to `eval(session=sess)`")
    return sess


@export(v1=["ConfigProto"])
class ConfigProto:
    """Session options (``tf.compat.v1.ConfigProto``); ``log_device_placement`` is honoured,
    ``allow_soft_placement`` is always on, thread and GPU options are accepted."""

    def __init__(self, log_device_placement=False, allow_soft_placement=True, **kwargs):
        self.log_device_placement = log_device_placement
        self.allow_soft_placement = allow_soft_placement
        self.gpu_options = kwargs.pop("gpu_options", None)
        for k, v in kwargs.items():
            setattr(self, k, v)


@export(v1=["GPUOptions"])
class GPUOptions:
    """Accepted for compatibility (``tf.compat.v1.GPUOptions``); numflow runs on the CPU."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class _FetchHandler:
    """Maps a nested fetch structure to a flat list of tensors/ops and back."""

    def __init__(self, graph, fetches):
        self.structure = fetches
        self.leaves = []
        for f in nest.flatten(fetches):
            if f is None:
                raise TypeError(f"Fetch argument None has invalid type {type(None)}")
            el = graph.as_graph_element(f) if not isinstance(f, (Tensor, Operation)) else f
            if el is None:
                raise TypeError(f"Fetch argument {f!r} has invalid type {type(f)}, must be a "
                                "string or Tensor.")
            if isinstance(el, Tensor) and el.graph is not graph or \
                    isinstance(el, Operation) and el.graph is not graph:
                raise ValueError(f"Fetch argument {f!r} is not an element of this graph.")
            self.leaves.append(el)
        self.tensors = [l for l in self.leaves if isinstance(l, Tensor)]
        self.targets = [l for l in self.leaves if isinstance(l, Operation)]

    def build(self, values):
        it = iter(values)
        flat = [_to_tf_value(next(it)) if isinstance(l, Tensor) else None for l in self.leaves]
        return nest.pack_sequence_as(self.structure, flat)


def _to_tf_value(arr):
    if isinstance(arr, np.ndarray) and arr.ndim == 0:
        return arr[()]   # TF returns NumPy scalars for scalar fetches
    return arr


@export(v1=["Session"])
class Session:
    """A TF1 session (``tf.compat.v1.Session(target='', graph=None, config=None)``)."""

    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else context.get_default_graph()
        self._config = config
        self._state = RunState()
        self._plans = {}
        self._closed = False
        self._lock = threading.Lock()
        self._logged = set()
        self._default_ctx = []

    @property
    def graph(self):
        return self._graph

    @property
    def sess_str(self):
        return ""

    def list_devices(self):
        return ["/job:localhost/replica:0/task:0/device:CPU:0"]

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Runs the ops needed for ``fetches`` with ``feed_dict``; returns the same structure
        of NumPy values (``Session.run``).

        Raises:
          ValueError: a fed value does not fit the tensor's shape.
          InvalidArgumentError: a placeholder is needed but not fed.
          FailedPreconditionError: an uninitialized variable is read.
        """
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        kind = type(fetches)      # one fetch with a plan already built: the fast paths
        if not feed_dict:
            if kind is Tensor:
                plan = self._plans.get(id(fetches))
                if plan is not None:
                    return _to_tf_value(plan.run(())[0])
        elif (kind is Tensor or kind is Operation) and fetches.graph is self._graph:
            out = self._run_planned(fetches, kind is Tensor, feed_dict)
            if out is not _NO_PLAN:
                return out
        handler = _FetchHandler(self._graph, fetches)
        feed_tensors, feed_values = self._feeds(feed_dict)
        key = (tuple(id(t) for t in handler.tensors), tuple(id(o) for o in handler.targets),
               tuple(id(t) for t in feed_tensors))
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = Plan(handler.tensors, handler.targets, feed_tensors, self._state)
                self._plans[key] = plan
                if not feed_tensors and type(fetches) is Tensor:
                    self._plans[id(fetches)] = plan
                self._log_placement(plan)
        return handler.build(plan.run(feed_values))

    def _run_planned(self, fetch, is_tensor, feed_dict):
        """``run`` for one fetch of this graph fed by tensor keys, when the plan exists;
        else ``_NO_PLAN`` (then the general path builds it)."""
        ids = []
        for t in feed_dict:
            if type(t) is not Tensor:
                return _NO_PLAN
            ids.append(id(t))
        key = ((id(fetch),), (), tuple(ids)) if is_tensor else ((), (id(fetch),), tuple(ids))
        plan = self._plans.get(key)
        if plan is None:
            return _NO_PLAN
        out = plan.run([_feed_value(t, v) for t, v in feed_dict.items()])
        return _to_tf_value(out[0]) if is_tensor else None

    def _feeds(self, feed_dict):
        if not feed_dict:
            return [], []
        tensors, values = [], []
        for k, v in feed_dict.items():
            t = self._graph.as_graph_element(k, allow_operation=False) \
                if not isinstance(k, Tensor) else k
            if not isinstance(t, Tensor):
                raise TypeError(f"The key of a feed_dict must be a Tensor, got {k!r}")
            tensors.append(t)
            values.append(_feed_value(t, v))
        return tensors, values

    def _log_placement(self, plan):
        if self._config is None or not getattr(self._config, "log_device_placement", False):
            return
        for op in plan.ops:
            if op.name not in self._logged:
                self._logged.add(op.name)
                asked = f" (requested {op.device}, not available: soft placement)" \
                    if op.device and "CPU" not in op.device else ""
                print(f"{op.name}: ({op.type}): /job:localhost/replica:0/task:0/device:CPU:0"
                      f"{asked}")

    def close(self):
        """Frees the session's variable values."""
        self._closed = True
        self._state.vars.clear()
        self._plans.clear()

    def as_default(self):
        """A context manager making this the default session (for ``eval``/``run``)."""
        sess = self

        class _Default:
            def __enter__(self):
                _session_stack().append(sess)
                return sess

            def __exit__(self, *exc):
                _session_stack().remove(sess)
                return False
        return _Default()

    def __enter__(self):
        graph_ctx = self._graph.as_default()
        graph_ctx.__enter__()
        sess_ctx = self.as_default()
        sess_ctx.__enter__()
        self._default_ctx.append((graph_ctx, sess_ctx))
        return self

    def __exit__(self, *exc):
        graph_ctx, sess_ctx = self._default_ctx.pop()
        sess_ctx.__exit__(*exc)
        graph_ctx.__exit__(*exc)
        self.close()
        return False


def _feed_value(t, v):
    if isinstance(v, Tensor):
        if hasattr(v, "_value"):
            v = v._value
        else:
            raise TypeError(f"The value of a feed cannot be a tf.Tensor object ({v.name}). "
                            "Acceptable feed values include Python scalars, strings, lists, "
                            "numpy ndarrays, or TensorHandles.")
    dtype = t.dtype.base_dtype
    if dtype.name == "string":
        arr = np.asarray(v, dtype=object)
    else:
        arr = np.asarray(v)
        if arr.dtype != dtype.as_numpy_dtype:
            if arr.dtype.kind in "USO":
                raise ValueError(f"Cannot feed value {v!r} for Tensor {t.name!r} of dtype "
                                 f"{dtype.name}")
            arr = arr.astype(dtype.as_numpy_dtype)
    dims = t.shape._dims
    if dims is not None and (len(dims) != arr.ndim or any(
            d is not None and d != a for d, a in zip(dims, arr.shape))):
        want = "(" + ", ".join("?" if d is None else str(d) for d in t.shape.as_list()) + \
            ("," if t.shape.rank == 1 else "") + ")"
        raise ValueError(f"Cannot feed value of shape {tuple(arr.shape)} for Tensor "
                         f"'{t.name}', which has shape '{want}'")
    return arr


@export(v1=["InteractiveSession"])
class InteractiveSession(Session):
    """A Session that installs itself as the default session on creation, for shells."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._graph_ctx = self._graph.as_default()
        self._graph_ctx.__enter__()
        _session_stack().append(self)

    def close(self):
        if not self._closed:
            if self in _session_stack():
                _session_stack().remove(self)
            try:
                self._graph_ctx.__exit__(None, None, None)
            except AssertionError:
                pass  # the graph stack was already unwound by the user
        super().close()
