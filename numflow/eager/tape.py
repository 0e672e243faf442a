"""GradientTape: records ops (eager, or graph ops while tracing) for reverse-mode autodiff."""
from numflow.framework import context, nest
from numflow.autodiff import backprop

_READ_OPS = ("ReadVariableOp", "VariableV2")


class TapeNode:
    """One recorded eager op application: the walk's view of an Operation."""

    __slots__ = ("type", "inputs", "outputs", "attrs")

    def __init__(self, op_type, inputs, outputs, attrs):
        self.type = op_type
        self.inputs = tuple(inputs)
        self.outputs = list(outputs)
        self.attrs = attrs

    def get_attr(self, name):
        return self.attrs[name]

    @property
    def name(self):
        return self.type


def record(opdef, inputs, outputs, attrs, op=None):
    """Called by apply_op for every op while tapes are active."""
    node = None
    for tape in context.active_tapes():
        if not tape._recording or not tape._should_record(opdef.name, inputs, attrs):
            continue
        if node is None:
            if op is not None:
                node = op
            else:
                node = TapeNode(opdef.name, inputs, outputs, attrs)
                for o in outputs:
                    o._tape_node = node
        tape._add(node)


class GradientTape:
    """Records operations for automatic differentiation (``tf.GradientTape``).

    Args:
      persistent: allow several ``gradient`` calls.
      watch_accessed_variables: watch every trainable variable read inside the tape.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._watched = {}        # id(tensor) -> tensor (kept alive)
        self._watched_vars = {}   # variable key -> variable
        self._nodes = []
        self._node_ids = set()
        self._recording = False
        self._used = False

    def __enter__(self):
        self._recording = True
        context.push_tape(self)
        return self

    def __exit__(self, *exc):
        if self in context.active_tapes():
            context.pop_tape(self)
        self._recording = False
        return False

    # ---- recording ----------------------------------------------------------------------
    def _should_record(self, op_type, inputs, attrs):
        if op_type in _READ_OPS:
            return attrs["key"] in self._watched_vars
        watched = self._watched
        for t in inputs:
            if id(t) in watched:
                return True
        return False

    def _add(self, node):
        if id(node) not in self._node_ids:
            self._node_ids.add(id(node))
            self._nodes.append(node)
        for o in node.outputs:
            self._watched[id(o)] = o

    def _variable_accessed(self, variable):
        if self._watch_accessed and variable.trainable:
            self._watched_vars[variable._key] = variable

    def watch(self, tensor):
        """Ensures ``tensor`` (or variables, nested) is traced by this tape."""
        for t in nest.flatten(tensor):
            if hasattr(t, "_key") and hasattr(t, "assign"):
                self._watched_vars[t._key] = t
            else:
                self._watched[id(t)] = t

    def watched_variables(self):
        return tuple(self._watched_vars.values())

    def stop_recording(self):
        """A context manager inside which this tape records nothing."""
        tape = self

        class _Stop:
            def __enter__(self):
                self._was = tape._recording
                tape._recording = False

            def __exit__(self, *exc):
                tape._recording = self._was
                return False
        return _Stop()

    def reset(self):
        """Clears everything recorded so far."""
        self._watched.clear()
        self._watched_vars.clear()
        self._nodes.clear()
        self._node_ids.clear()

    # ---- differentiation ------------------------------------------------------------------
    def _source_tensors(self, source):
        key = getattr(source, "_key", None)
        if key is not None and hasattr(source, "assign"):
            return [o for n in self._nodes if n.type in _READ_OPS and n.get_attr("key") == key
                    for o in n.outputs]
        return [source]

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients="none"):
        """Gradients of ``target`` w.r.t. ``sources`` (same nesting as ``sources``).

        Raises:
          RuntimeError: on a second call of a non-persistent tape.
        """
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one "
                               "set of gradients (or jacobians)")
        self._used = True
        from numflow.ops.apply import convert_to_tensor
        from numflow.ops import array_ops
        targets = nest.flatten(target)
        targets = [convert_to_tensor(t) for t in targets]
        grads_in = nest.flatten(output_gradients) if output_gradients is not None else \
            [None] * len(targets)
        grads_in = [None if g is None else convert_to_tensor(g) for g in grads_in]
        flat_sources = nest.flatten(sources)
        node_ids = self._node_ids
        # Differentiate with this tape switched off; outer tapes still record (higher order).
        was = self._recording
        self._recording = False
        try:
            results = backprop.compute_gradients(
                targets, grads_in, [self._source_tensors(s) for s in flat_sources],
                lambda n: id(n) in node_ids)
            if str(unconnected_gradients).lower().endswith("zero"):
                results = [array_ops.zeros_like(s) if g is None else g
                           for g, s in zip(results, flat_sources)]
        finally:
            self._recording = was
        if not self._persistent:
            self.reset()
        return nest.pack_sequence_as(sources, results)

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """The Jacobian of ``target`` w.r.t. ``sources``, one row per target element."""
        from numflow.ops import array_ops
        import numpy as np
        persistent, self._persistent = self._persistent, True
        try:
            shape = target.shape.as_list()
            n = int(np.prod(shape))
            eye = np.eye(n, dtype=target.dtype.as_numpy_dtype)
            rows = [self.gradient(target, sources, output_gradients=eye[i].reshape(shape),
                                  unconnected_gradients="zero") for i in range(n)]
        finally:
            self._persistent = persistent
        flat_src = nest.flatten(sources)
        out = []
        for j, s in enumerate(flat_src):
            stacked = array_ops.stack([nest.flatten(r)[j] for r in rows])
            out.append(array_ops.reshape(stacked, target.shape.as_list() + s.shape.as_list()))
        return nest.pack_sequence_as(sources, out)
