"""tf.function: trace a Python function into a FuncGraph once per input signature, then run
it with the same executor as Session (the eager RunState holds the variables)."""
import functools

import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes, nest
from numflow.framework.tensor_shape import TensorShape, as_shape
from numflow.graph.graph import Graph
from numflow.graph.tensor import Tensor
from numflow.eager.tensor import EagerTensor
from numflow.ops import state_ops
from numflow.runtime.plan import Plan
from numflow.runtime.state import EAGER_STATE


@export("TensorSpec")
class TensorSpec:
    """Describes a tensor argument: shape (None dims allowed), dtype, name (``tf.TensorSpec``)."""

    def __init__(self, shape, dtype=dtypes.float32, name=None):
        self.shape = as_shape(shape)
        self.dtype = dtypes.as_dtype(dtype)
        self.name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tensor.shape, tensor.dtype, name)

    def is_compatible_with(self, value):
        return self.dtype == value.dtype and self.shape.is_compatible_with(value.shape)

    def __eq__(self, other):
        return isinstance(other, TensorSpec) and self.shape == other.shape and \
            self.dtype == other.dtype

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype!r}, name={self.name!r})"


class FuncGraph(Graph):
    """The graph a tf.function traces into. Eager tensors used inside become captured
    inputs; variable accesses are ordered in program order (TF's automatic control
    dependencies)."""

    is_function_graph = True

    def __init__(self, name):
        super().__init__()
        self.name = name
        self.captures = {}        # id(eager tensor) -> (eager tensor, placeholder)
        self.stateful_ops = []
        self._last_write = {}
        self._reads = {}

    def capture(self, eager_tensor):
        entry = self.captures.get(id(eager_tensor))
        if entry is None:
            from numflow.ops.array_ops import placeholder
            with self.as_default():
                ph = placeholder(eager_tensor.dtype, eager_tensor.shape, name="capture")
            entry = self.captures[id(eager_tensor)] = (eager_tensor, ph)
        return entry[1]

    def _create_op(self, op_type, inputs, attrs, output_specs, name=None):
        op = super()._create_op(op_type, inputs, attrs, output_specs, name)
        access = state_ops.variable_access(op_type, attrs)
        if access is not None:
            keys, writes = access
            for key in keys:
                last = self._last_write.get(key)
                if last is not None:
                    op._add_control_input(last)
                if writes:
                    for r in self._reads.pop(key, []):
                        op._add_control_input(r)
                    self._last_write[key] = op
                else:
                    self._reads.setdefault(key, []).append(op)
            if writes:
                self.stateful_ops.append(op)
        elif _is_side_effect(op_type):
            self.stateful_ops.append(op)
        return op


def _is_side_effect(op_type):
    from numflow.ops import registry
    opdef = registry.lookup(op_type)
    return opdef.stateful and op_type not in state_ops.VARIABLE_OPS


class ConcreteFunction:
    """One trace of a Function: its graph, inputs, outputs; callable with tensors."""

    def __init__(self, graph, inputs, outputs, structured_outputs):
        self.graph = graph
        self.inputs = inputs
        self.outputs = outputs          # flat list of Tensors / Python values
        self.structured_outputs = structured_outputs
        self._plan = None
        self._captured_values = None     # the captured arrays, fed after the arguments
        self._tensor_outputs = None      # which outputs are tensors (fetched), in order

    def _run(self, arg_values):
        if self._plan is None:     # the captures are fixed from the first run on
            g = self.graph
            captured = list(g.captures.values())
            self._tensor_outputs = [isinstance(o, Tensor) for o in self.outputs]
            fetches = [o for o in self.outputs if isinstance(o, Tensor)]
            self._plan = Plan(fetches, g.stateful_ops, self.inputs + [p for _, p in captured],
                              EAGER_STATE)
            self._captured_values = [t._value for t, _ in captured]
        results = self._plan.run([*arg_values, *self._captured_values])
        if len(results) == len(self.outputs):          # every output is a tensor
            flat = [*map(EagerTensor, results)]
        else:
            it = iter(results)
            flat = [EagerTensor(next(it)) if is_tensor else o
                    for o, is_tensor in zip(self.outputs, self._tensor_outputs)]
        if len(flat) == 1 and not nest.is_nested(self.structured_outputs):
            return flat[0]
        return nest.pack_sequence_as(self.structured_outputs, flat)

    def __call__(self, *args):
        values = [np.asarray(a._value if isinstance(a, EagerTensor) else a)
                  for a in nest.flatten(args)]
        return self._run(values)


_DTYPE_NAMES = {}      # NumPy dtype -> str(dtype) (numpy builds the string in Python)


def _leaf_key(x):
    if isinstance(x, EagerTensor):
        return ("T", x.dtype.name, x._value.shape)
    if isinstance(x, np.ndarray):
        name = _DTYPE_NAMES.get(x.dtype)
        if name is None:
            name = _DTYPE_NAMES[x.dtype] = str(x.dtype)
        return ("T", name, x.shape)
    if hasattr(x, "_key") and hasattr(x, "assign"):
        return ("V", x._key)
    try:
        hash(x)
        return ("P", type(x).__name__, x)
    except TypeError:
        return ("O", id(x))


def _is_tensor_leaf(x):
    return isinstance(x, (EagerTensor, np.ndarray))


class Function:
    """A Python function compiled into graphs (``tf.function``).

    Python side effects happen while tracing only; a new trace happens for new input
    shapes/dtypes or new Python argument values (fixed by ``input_signature``).
    While a GradientTape is recording, the function runs op by op so the tape sees it.
    Python ``if``/``for`` over tensor values is not converted (no AutoGraph): use
    ``tf.cond`` / ``tf.while_loop`` inside traced functions.
    """

    def __init__(self, python_function, input_signature=None, name=None):
        self.python_function = python_function
        self.input_signature = input_signature
        self._name = name or getattr(python_function, "__name__", "function")
        self._cache = {}
        functools.update_wrapper(self, python_function)

    def __get__(self, instance, owner):
        if instance is None:
            return self
        bound = self.__dict__.get("_bound", {})
        f = bound.get(id(instance))
        if f is None:
            f = Function(functools.partial(self.python_function, instance), self.input_signature,
                         self._name)
            self.__dict__.setdefault("_bound", {})[id(instance)] = f
        return f

    def __call__(self, *args, **kwargs):
        if not context.executing_eagerly() or context.active_tapes():
            return self.python_function(*args, **kwargs)
        structure = (args, kwargs)
        flat = nest.flatten(structure)
        if self.input_signature is not None:
            key = ("sig",) + tuple(_leaf_key(x) for x in flat if not _is_tensor_leaf(x))
        else:
            key = tuple(_leaf_key(x) for x in flat)
        cf = self._cache.get(key)
        if cf is None:
            cf = self._cache[key] = self._trace(structure, flat)
        values = [x._value if isinstance(x, EagerTensor) else x for x in flat if _is_tensor_leaf(x)]
        return cf._run(values)

    def _trace(self, structure, flat):
        graph = FuncGraph(self._name)
        specs = list(self.input_signature) if self.input_signature is not None else None
        placeholders, new_flat = [], []
        from numflow.ops.array_ops import placeholder
        with graph.as_default():
            for x in flat:
                if _is_tensor_leaf(x):
                    if specs is not None:
                        if not specs:
                            raise ValueError("More tensor arguments than input_signature specs")
                        spec = specs.pop(0)
                        shape, dtype = spec.shape, spec.dtype
                    else:
                        shape = TensorShape(x.shape)
                        dtype = x.dtype if isinstance(x, EagerTensor) else dtypes.as_dtype(x.dtype)
                    ph = placeholder(dtype, shape)
                    placeholders.append(ph)
                    new_flat.append(ph)
                else:
                    new_flat.append(x)
            args, kwargs = nest.pack_sequence_as(structure, new_flat)
            out = self.python_function(*args, **kwargs)
        flat_out = nest.flatten(out)
        flat_out = [graph.capture(o) if type(o) is EagerTensor else o for o in flat_out]
        return ConcreteFunction(graph, placeholders, flat_out, out)

    def get_concrete_function(self, *args, **kwargs):
        """Traces (if needed) for these arguments or TensorSpecs and returns the trace."""
        if not args and not kwargs and self.input_signature is not None:
            args = tuple(self.input_signature)
        flat = [EagerTensor(np.zeros([d or 1 for d in a.shape.as_list()],
                                     a.dtype.as_numpy_dtype))
                if isinstance(a, TensorSpec) else a for a in nest.flatten((args, kwargs))]
        return self._trace((args, kwargs), flat)

    def experimental_get_tracing_count(self):
        return len(self._cache)


@export("function")
def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_relax_shapes=None, name=None, **kwargs):
    """Compiles ``func`` into graphs, one per input signature (``tf.function``).

    Usable as ``@tf.function`` or ``@tf.function(input_signature=[...])``.
    """
    if func is None:
        return lambda f: Function(f, input_signature, name)
    return Function(func, input_signature, name)
