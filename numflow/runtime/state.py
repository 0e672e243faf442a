"""RunState: the mutable state stateful kernels see (variable values, random streams).

A Session owns one (so two sessions on one graph hold independent variables); eager mode
and tf.function share the process-wide ``EAGER_STATE``.
"""
import threading


class RunState:
    """Variable values keyed by variable key, plus per-op random streams and resources."""

    __slots__ = ("vars", "rngs", "resources", "lock")

    def __init__(self):
        self.vars = {}
        self.rngs = {}
        self.resources = {}
        self.lock = threading.Lock()


EAGER_STATE = RunState()
