"""tf.Variable for graph mode (values live in the Session) and eager mode (values live in
the eager RunState), plus the TF1 variable collections and initializers."""
import itertools
import weakref

import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes
from numflow.framework.tensor_shape import as_shape
from numflow.graph.graph import GraphKeys
from numflow.eager.tensor import EagerTensor
from numflow.ops import state_ops
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.runtime.state import EAGER_STATE

_keys = itertools.count(1)


@export("Variable", v1=["Variable"])
class Variable:
    """A mutable tensor that persists across runs (``tf.Variable``).

    Args:
      initial_value: a tensor/value, or a callable returning one.
      trainable: whether optimizers and tapes see it (default True).
      name: the variable's name ("Variable" if None); graph mode makes it unique.
      dtype: converts ``initial_value`` to this dtype.
      shape: the static shape (defaults to the initial value's).
      collections: TF1 graph collections (default GLOBAL_VARIABLES [+ TRAINABLE]).
      constraint: a function applied by Keras optimizers after each update.
    """

    def __init__(self, initial_value=None, trainable=None, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None,
                 import_scope=None, constraint=None, synchronization=None, aggregation=None,
                 shape=None, use_resource=None, expected_shape=None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        self.trainable = True if trainable is None else bool(trainable)
        self.constraint = constraint
        self._key = next(_keys)
        self._dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        self._ref = None
        self._graph = None
        if context.executing_eagerly() or context.graph_stack() and \
                getattr(context.get_default_graph(), "is_function_graph", False):
            self._init_eager(initial_value, name, shape, validate_shape)
        else:
            self._init_graph(initial_value, name, shape, validate_shape, collections)

    # ---- construction -------------------------------------------------------------------
    def _init_eager(self, initial_value, name, shape, validate_shape):
        from numflow.graph.tensor import Tensor
        if isinstance(initial_value, Tensor) and not isinstance(initial_value, EagerTensor):
            initial_value = _lift(initial_value)
        with context.init_scope():
            if callable(initial_value):
                initial_value = initial_value()
            value = convert_to_tensor(initial_value, dtype=self._dtype)
            arr = np.array(value.numpy(), copy=True)
        self._dtype = value.dtype.base_dtype
        self._shape = as_shape(shape) if shape is not None else as_shape(arr.shape)
        self._name = (name or "Variable") + ":0"
        self._initial_value = value
        EAGER_STATE.vars[self._key] = arr
        weakref.finalize(self, EAGER_STATE.vars.pop, self._key, None)
        self._attrs = state_ops.variable_attrs(self._key, self._name[:-2], self._dtype,
                                               self._shape)
        self._initializer_op = None

    def _init_graph(self, initial_value, name, shape, validate_shape, collections):
        graph = context.get_default_graph()
        self._graph = graph
        with graph.name_scope(name or "Variable") as scope:
            if callable(initial_value):
                initial_value = initial_value()
            with graph.control_dependencies(None):
                init = convert_to_tensor(initial_value, dtype=self._dtype, name="initial_value")
            self._dtype = init.dtype.base_dtype
            self._shape = as_shape(shape) if shape is not None else (
                init.shape if validate_shape else as_shape(None))
            var_name = scope[:-1]
            self._attrs = state_ops.variable_attrs(self._key, var_name, self._dtype, self._shape)
            with graph.control_dependencies(None):
                self._ref = apply_op(state_ops.VARIABLE_V2, [], self._attrs, name=scope)
                self._initializer_op = apply_op(state_ops.ASSIGN, [init], self._attrs,
                                                name="Assign").op
        self._name = self._ref.name
        self._initial_value = init
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        if self.trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections = list(collections) + [GraphKeys.TRAINABLE_VARIABLES]
        graph.add_to_collections(collections, self)

    # ---- reading ------------------------------------------------------------------------
    def value(self):
        """The variable's current value as a tensor."""
        for tape in context.active_tapes():
            tape._variable_accessed(self)
        if self._ref is not None:
            return self._ref
        if not context.active_tapes() and context.executing_eagerly():
            return EagerTensor(EAGER_STATE.vars[self._key])
        return apply_op(state_ops.READ_VARIABLE, [], self._attrs)

    read_value = value

    def _as_tensor(self, dtype=None, name=None):
        if dtype is not None and dtypes.as_dtype(dtype) != self._dtype:
            raise ValueError(f"Incompatible type conversion requested to type "
                             f"{dtypes.as_dtype(dtype).name} for variable of type "
                             f"{self._dtype.name}")
        return self.value()

    @property
    def handle(self):
        """What raw ops take for the variable (``Variable.handle``): numflow has no resource
        tensors, so the variable stands for its own handle."""
        return self

    def _as_graph_element(self):
        return self._ref

    def numpy(self):
        """The current value (eager variables only)."""
        if self._ref is not None:
            raise NotImplementedError("numpy() is only available when eager execution is enabled.")
        return EAGER_STATE.vars[self._key]

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def eval(self, session=None):
        """Evaluates the variable in ``session`` (graph mode) (``Variable.eval``)."""
        if self._ref is None:
            return self.numpy()
        return self._ref.eval(session=session)

    # ---- writing ------------------------------------------------------------------------
    def _update(self, opdef, value, name, read_value):
        value = convert_to_tensor(value, dtype=self._dtype)
        out = apply_op(opdef, [value], self._attrs, name=name)
        if context.executing_eagerly():
            return self if read_value else None
        return out

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Sets the variable to ``value`` (``Variable.assign``)."""
        return self._update(state_ops.ASSIGN, value, name, read_value)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        """Adds ``delta`` to the variable (``Variable.assign_add``)."""
        return self._update(state_ops.ASSIGN_ADD, delta, name, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        """Subtracts ``delta`` from the variable (``Variable.assign_sub``)."""
        return self._update(state_ops.ASSIGN_SUB, delta, name, read_value)

    def load(self, value, session=None):
        """Writes ``value`` into the variable in ``session`` (TF1 ``Variable.load``)."""
        if self._ref is None:
            self.assign(value)
            return
        from numflow.runtime.session import get_default_session_or_raise
        sess = session or get_default_session_or_raise()
        sess._state.vars[self._key] = np.array(value, dtype=self._dtype.as_numpy_dtype)

    # ---- properties ----------------------------------------------------------------------
    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        return self._dtype._as_ref if self._ref is not None else self._dtype

    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    @property
    def initializer(self):
        return self._initializer_op

    @property
    def initial_value(self):
        return self._initial_value

    @property
    def op(self):
        return self._ref.op if self._ref is not None else None

    @property
    def graph(self):
        return self._graph

    @property
    def device(self):
        return self._ref.device if self._ref is not None else \
            "/job:localhost/replica:0/task:0/device:CPU:0"

    def initialized_value(self):
        return self.value()

    def __repr__(self):
        if self._ref is None:
            return (f"<tf.Variable '{self._name}' shape={self._shape} dtype={self._dtype.name}, "
                    f"numpy={np.array2string(self.numpy(), separator=', ')}>")
        return f"<tf.Variable '{self._name}' shape={self._shape} dtype={self.dtype.name}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        return bool(self.numpy())

    def __len__(self):
        return self._shape[0]


def _lift(tensor):
    """Evaluates a traced initial value (it must not depend on the function's inputs)."""
    from numflow.runtime.plan import Plan
    value = Plan([tensor], [], [], EAGER_STATE).run([])[0]
    return EagerTensor(value)


@export(v1=["global_variables", "all_variables", "variables"])
def global_variables(scope=None):
    """The graph's GLOBAL_VARIABLES collection (``tf.compat.v1.global_variables``)."""
    return context.get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


@export(v1=["trainable_variables"])
def trainable_variables(scope=None):
    """The graph's TRAINABLE_VARIABLES collection (``tf.compat.v1.trainable_variables``)."""
    return context.get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


@export(v1=["local_variables"])
def local_variables(scope=None):
    """The graph's LOCAL_VARIABLES collection."""
    return context.get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


@export(v1=["variables_initializer", "initialize_variables"])
def variables_initializer(var_list, name="init"):
    """An op that runs the initializers of ``var_list`` (``tf.compat.v1.variables_initializer``)."""
    from numflow.ops.array_ops import group, no_op
    inits = [v.initializer for v in var_list if v.initializer is not None]
    return group(*inits, name=name) if inits else no_op(name=name)


@export(v1=["global_variables_initializer", "initialize_all_variables"])
def global_variables_initializer():
    """An op initializing every global variable (``tf.compat.v1.global_variables_initializer``)."""
    return variables_initializer(global_variables())


@export(v1=["local_variables_initializer", "initialize_local_variables"])
def local_variables_initializer():
    """An op initializing every local variable."""
    return variables_initializer(local_variables())


@export(v1=["assign"])
def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """Sets variable ``ref`` to ``value``; returns the new value (``tf.compat.v1.assign``)."""
    return ref.assign(value, name=name)


@export(v1=["assign_add"])
def assign_add(ref, value, use_locking=None, name=None):
    """Adds ``value`` to variable ``ref`` (``tf.compat.v1.assign_add``)."""
    return ref.assign_add(value, name=name)


@export(v1=["assign_sub"])
def assign_sub(ref, value, use_locking=None, name=None):
    """Subtracts ``value`` from variable ``ref`` (``tf.compat.v1.assign_sub``)."""
    return ref.assign_sub(value, name=name)
