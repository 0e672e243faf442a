"""The execution context: eager or graph mode, the default-graph stack, active tapes.

Eager execution is a process-wide switch (as in TF); the stack of default graphs and the
stack of gradient tapes are per thread.
"""
import threading


class _ThreadState(threading.local):
    def __init__(self):
        self.graph_stack = []
        self.tapes = []
        self.eager_scope_depth = 0  # > 0 inside init_scope() while tracing


_tls = _ThreadState()
_global = {"eager": True, "default_graph": None, "eager_seed": None, "eager_op_count": 0}


def executing_eagerly():
    """True when ops run immediately (``tf.executing_eagerly``)."""
    if _tls.eager_scope_depth:
        return True
    return _global["eager"] and not _tls.graph_stack


def enable_eager_execution(config=None, device_policy=None, execution_mode=None):
    """Turns eager execution on (``tf.compat.v1.enable_eager_execution``)."""
    _global["eager"] = True


def disable_eager_execution():
    """Turns eager execution off: ops build graph nodes (``tf.compat.v1.disable_eager_execution``)."""
    _global["eager"] = False


def eager_default():
    """Whether eager execution is switched on process-wide."""
    return _global["eager"]


def get_default_graph():
    """The graph new ops go to: the innermost ``as_default`` graph, else the global one."""
    if _tls.graph_stack:
        return _tls.graph_stack[-1]
    g = _global["default_graph"]
    if g is None:
        from numflow.graph.graph import Graph
        g = _global["default_graph"] = Graph()
    return g


def reset_default_graph():
    """Clears the global default graph (``tf.compat.v1.reset_default_graph``)."""
    if _tls.graph_stack:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. "
                             "If you need a cleared graph, exit the nesting and create a new graph.")
    _global["default_graph"] = None


def push_graph(graph):
    """Makes ``graph`` the default graph of this thread (see Graph.as_default)."""
    _tls.graph_stack.append(graph)


def pop_graph(graph):
    """Undoes push_graph; AssertionError if the nesting is violated."""
    if not _tls.graph_stack or _tls.graph_stack[-1] is not graph:
        raise AssertionError("Nesting violated for default graph stack.")
    _tls.graph_stack.pop()


def graph_stack():
    """This thread's stack of default graphs (innermost last)."""
    return _tls.graph_stack


class init_scope:
    """Lifts the code inside out of any graph being traced into the eager context
    (``tf.init_scope``); used to create variables while a tf.function traces."""

    def __enter__(self):
        self._lifted = _global["eager"] and bool(_tls.graph_stack) and \
            getattr(_tls.graph_stack[-1], "is_function_graph", False)
        self._deps = None
        if self._lifted:
            self._saved = _tls.graph_stack
            _tls.graph_stack = []
            self._tapes = _tls.tapes
            _tls.tapes = []
        elif not executing_eagerly():
            # In a TF1 graph, init_scope only clears control dependencies.
            self._deps = get_default_graph().control_dependencies(None)
            self._deps.__enter__()
        return self

    def __exit__(self, *exc):
        if self._lifted:
            _tls.graph_stack = self._saved
            _tls.tapes = self._tapes
        elif self._deps is not None:
            self._deps.__exit__(*exc)
        return False


def active_tapes():
    """The GradientTapes recording in this thread."""
    return _tls.tapes


def push_tape(tape):
    """Starts recording on ``tape`` in this thread."""
    _tls.tapes.append(tape)


def pop_tape(tape):
    """Stops recording on ``tape`` in this thread."""
    _tls.tapes.remove(tape)


def set_tapes(tapes):
    """Replaces the active tape list; returns the previous one."""
    old = _tls.tapes
    _tls.tapes = tapes
    return old


def global_seed():
    """The eager-mode global seed set by ``tf.random.set_seed`` (None if unset)."""
    return _global["eager_seed"]


def set_global_seed(seed):
    """Sets the eager global seed (``tf.random.set_seed``) and restarts the op counter."""
    _global["eager_seed"] = seed
    _global["eager_op_count"] = 0


def next_eager_op_seed():
    """A new op-seed counter value for eager random ops (as TF's context does)."""
    _global["eager_op_count"] += 1
    return _global["eager_op_count"]
