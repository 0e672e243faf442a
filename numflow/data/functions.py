"""User functions of tf.data transformations (map, filter, reduce...).

As in TF, a function is traced once, at transformation time, with symbolic tensors
matching the input element_spec; the trace gives the output element_spec and, run
through its ConcreteFunction, computes every element. A function that cannot be traced
(it calls ``.numpy()``, branches in Python on a tensor value, or uses NumPy on its
arguments) runs eagerly on EagerTensors instead, once per element; its output spec is
then taken from the first element it produces, with every dimension left unknown.
"""
import numpy as np

from numflow.data import structure
from numflow.eager.function import TensorSpec, function as tf_function
from numflow.eager.tensor import EagerTensor
from numflow.framework import context, nest
from numflow.graph.graph import Graph
from numflow.graph.tensor import Tensor
from numflow.ops.apply import convert_to_tensor


def call_unpacked(fn, element):
    """Calls ``fn`` as tf.data does: a tuple element is spread over the arguments."""
    if type(element) is tuple:
        return fn(*element)
    return fn(element)


class _TraceScope:
    """Leaves any eager scope while tracing, and hides active tapes."""

    def __enter__(self):
        tls = context._tls
        self._depth = tls.eager_scope_depth
        tls.eager_scope_depth = 0
        self._tapes = context.set_tapes([])
        return self

    def __exit__(self, *exc):
        context._tls.eager_scope_depth = self._depth
        context.set_tapes(self._tapes)
        return False


def _output_to_tensors(value):
    """Converts a traced function's output leaves to graph tensors (lists -> tuples)."""
    if isinstance(value, list):
        value = tuple(value)

    def leaf(v):
        if isinstance(v, (Tensor, structure.SparseTensor)) or structure.is_dataset(v):
            return v
        return convert_to_tensor(v)
    return structure.map_leaves(leaf, value)


def _graph_spec(value):
    def leaf(v):
        if isinstance(v, structure.SparseTensor):
            return structure.SparseTensorSpec(v.shape, v.dtype.base_dtype)
        if structure.is_dataset(v):
            raise TypeError("returns a Dataset")
        return TensorSpec(v.shape, v.dtype.base_dtype)
    return structure.map_leaves(leaf, value)


def _flat_outputs(spec, value):
    out = []
    for s, v in zip(nest.flatten(spec), nest.flatten(value)):
        if isinstance(s, structure.SparseTensorSpec):
            out.extend([v.indices, v.values, v.dense_shape])
        else:
            out.append(v)
    return out


def placeholders_for(spec):
    """User-facing symbolic arguments for ``spec`` in the current (tracing) graph; a
    DatasetSpec becomes an empty dataset of that element_spec."""
    from numflow.data.batching import ListDataset
    from numflow.ops.array_ops import placeholder

    def leaf(s):
        if isinstance(s, structure.DatasetSpec):
            return ListDataset([], s.element_spec)
        comps = [placeholder(c.dtype, c.shape) for c in structure.component_specs(s)]
        return structure.from_components(s, comps, lambda i, v: v)
    return structure.map_leaves(leaf, spec)


class StructuredFunction:
    """A user function over dataset elements, traced when possible.

    Args:
      fn: the user function.
      input_spec: the element_spec of its argument.
      what: the transformation's name, for error messages.

    Calling it with an internal element returns the internal output element.
    ``output_spec`` is the element_spec of the outputs.
    """

    def __init__(self, fn, input_spec, what="map"):
        if not callable(fn):
            raise TypeError(f"`{what}_func` must be callable, got {fn!r}")
        self._fn = fn
        self._input_spec = input_spec
        self._what = what
        self._cf = None
        self._spec = None
        self.trace_error = None
        try:
            structure.component_specs(input_spec)
            self._trace()
        except Exception as e:   # noqa: BLE001 - anything untraceable runs eagerly
            self.trace_error = e
            self._cf = None

    def _trace(self):
        in_spec = self._input_spec
        holder = {}

        def flat_fn(*components):
            element = structure.from_components(in_spec, components, lambda i, v: v)
            out = _output_to_tensors(call_unpacked(self._fn, element))
            holder["spec"] = _graph_spec(out)
            return _flat_outputs(holder["spec"], out)

        sig = structure.component_specs(in_spec)
        with _TraceScope():
            cf = tf_function(flat_fn, input_signature=sig).get_concrete_function()
        self._spec = holder["spec"]
        self._cf = cf
        self._n_out = len(cf.outputs)

    @property
    def traced(self):
        """True when elements run through the traced graph."""
        return self._cf is not None

    @property
    def output_spec(self):
        """The element_spec of the outputs (from the trace, else from a first element)."""
        return self._spec

    def __call__(self, element):
        if self._cf is not None:
            comps = structure.to_components(self._input_spec, element)
            outs = self._cf(*comps)
            if self._n_out == 1 and not isinstance(outs, (list, tuple)):
                outs = [outs]
            return structure.from_components(self._spec, outs, _unwrap)
        with structure.eager_scope():
            result = call_unpacked(self._fn, structure.to_user(element))
        return structure.from_user(result)

    def call_eager(self, *args):
        """Calls the user function eagerly with user-facing arguments (no unpacking)."""
        with structure.eager_scope():
            return self._fn(*args)


def _unwrap(i, v):
    return v._value if isinstance(v, EagerTensor) else np.asarray(v)


def trace_dataset_fn(fn, input_spec):
    """The element_spec of the Dataset ``fn`` returns for an element of ``input_spec``,
    found by calling ``fn`` on symbolic tensors in a scratch graph (None if that fails)."""
    try:
        with _TraceScope(), Graph().as_default():
            ds = call_unpacked(fn, placeholders_for(input_spec))
    except Exception:   # noqa: BLE001 - the caller falls back to a concrete element
        return None
    if not structure.is_dataset(ds):
        raise TypeError(f"The function must return a `tf.data.Dataset` object, got "
                        f"{type(ds).__name__}.")
    return ds.element_spec
