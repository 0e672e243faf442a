"""TF1 variable sharing: ``tf.get_variable``, ``tf.variable_scope``, ``tf.get_variable_scope``.

Each graph has a variable store (full name -> Variable, for sharing) and, per thread, a
scope store (the current VariableScope and how often each scope name was opened, for
``default_name`` uniquification), as TF keeps them. Variable names depend only on the
variable scope; ops created inside a ``variable_scope`` also get its name scope. Eagerly
there is no sharing: every ``get_variable`` creates a new variable, as in TF.
"""
import enum
import functools
import inspect
import threading
import weakref

from numflow._api.export import export, export_value
from numflow.framework import context, dtypes
from numflow.framework.tensor_shape import as_shape
from numflow.graph.graph import GraphKeys
from numflow.ops.apply import convert_to_tensor
from numflow.train import init_ops


class _ReuseMode(enum.Enum):
    """Values of the ``reuse`` flag besides True/None."""
    AUTO_REUSE = 1


AUTO_REUSE = export_value(_ReuseMode.AUTO_REUSE, v1=["AUTO_REUSE"])


class _Stores(threading.local):
    """Per-thread scope state of one graph."""

    def __init__(self):
        self.current = VariableScope(False)
        self.counts = {}


class _GraphStores:
    def __init__(self):
        self.vars = {}
        self.threads = _Stores()


_BY_GRAPH = weakref.WeakKeyDictionary()
_EAGER = []


def _stores():
    if context.executing_eagerly():
        if not _EAGER:
            _EAGER.append(_GraphStores())
        return _EAGER[0]
    g = context.get_default_graph()
    s = _BY_GRAPH.get(g)
    if s is None:
        s = _BY_GRAPH[g] = _GraphStores()
    return s


def _name_scope(name):
    """A graph name scope (nothing eagerly)."""
    from numflow.framework.api import name_scope
    return name_scope(name)


def _unique_scope_name(prefix):
    store = _stores().threads
    current = store.current.name
    full = current + "/" + prefix if current else prefix
    if store.counts.get(full, 0) == 0:
        return prefix
    idx = 1
    while store.counts.get(f"{full}_{idx}", 0) > 0:
        idx += 1
    return f"{prefix}_{idx}"


@export(v1=["VariableScope"])
class VariableScope:
    """The state of a variable scope (``tf.compat.v1.VariableScope``): its ``name``, the
    ``reuse`` flag (False, True or ``tf.AUTO_REUSE``), and the defaults ``get_variable``
    uses inside it (``initializer``, ``regularizer``, ``dtype``, ``custom_getter``...).
    ``original_name_scope`` is the name scope first opened with it."""

    def __init__(self, reuse, name="", initializer=None, regularizer=None, caching_device=None,
                 partitioner=None, custom_getter=None, name_scope="", dtype=dtypes.float32,
                 use_resource=None, constraint=None):
        self._name = name
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint

    name = property(lambda self: self._name)
    original_name_scope = property(lambda self: self._name_scope)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    dtype = property(lambda self: self._dtype)
    use_resource = property(lambda self: self._use_resource)
    regularizer = property(lambda self: self._regularizer)
    caching_device = property(lambda self: self._caching_device)
    partitioner = property(lambda self: self._partitioner)
    custom_getter = property(lambda self: self._custom_getter)
    constraint = property(lambda self: self._constraint)

    def reuse_variables(self):
        """Makes ``get_variable`` in this scope return existing variables."""
        self._reuse = True

    def set_initializer(self, initializer):
        """Sets the default initializer of this scope."""
        self._initializer = initializer

    def set_dtype(self, dtype):
        """Sets the default dtype of this scope."""
        self._dtype = dtype

    def set_use_resource(self, use_resource):
        """Accepted for compatibility: numflow has one kind of variable."""
        self._use_resource = use_resource

    def set_regularizer(self, regularizer):
        """Sets the default regularizer of this scope."""
        self._regularizer = regularizer

    def set_caching_device(self, caching_device):
        """Accepted for compatibility (numflow runs on one device)."""
        self._caching_device = caching_device

    def set_partitioner(self, partitioner):
        """Sets the partitioner (partitioned variables are not supported: must stay None)."""
        self._partitioner = partitioner

    def set_custom_getter(self, custom_getter):
        """Sets the custom getter ``getter(getter, name, *args, **kwargs)`` of this scope."""
        self._custom_getter = custom_getter

    def get_collection(self, name):
        """Collection ``name`` filtered to this scope."""
        scope = self._name + "/" if self._name else ""
        return context.get_default_graph().get_collection(name, scope)

    def trainable_variables(self):
        """The trainable variables under this scope."""
        return self.get_collection(GraphKeys.TRAINABLE_VARIABLES)

    def global_variables(self):
        """The global variables under this scope."""
        return self.get_collection(GraphKeys.GLOBAL_VARIABLES)

    def local_variables(self):
        """The local variables under this scope."""
        return self.get_collection(GraphKeys.LOCAL_VARIABLES)

    def get_variable(self, var_store, name, shape=None, dtype=None, initializer=None,
                     regularizer=None, reuse=None, trainable=None, collections=None,
                     caching_device=None, partitioner=None, validate_shape=True,
                     use_resource=None, custom_getter=None, constraint=None,
                     synchronization=None, aggregation=None):
        """Gets or creates variable ``self.name + "/" + name`` in ``var_store`` with this
        scope's defaults (see ``tf.compat.v1.get_variable``)."""
        if regularizer is None:
            regularizer = self._regularizer
        if partitioner is None:
            partitioner = self._partitioner
        if custom_getter is None:
            custom_getter = self._custom_getter
        if context.executing_eagerly():
            reuse = False
        elif reuse is None:
            reuse = self._reuse
        full_name = self._name + "/" + name if self._name else name
        if dtype is not None and initializer is not None and not callable(initializer):
            init_dtype = convert_to_tensor(initializer).dtype.base_dtype
            if init_dtype != dtypes.as_dtype(dtype).base_dtype:
                raise ValueError(f"Initializer type '{init_dtype.name}' and explicit dtype "
                                 f"'{dtypes.as_dtype(dtype).name}' don't match.")
        if initializer is None:
            initializer = self._initializer
        if constraint is None:
            constraint = self._constraint
        if dtype is None:
            dtype = self._dtype
        return var_store.get_variable(
            full_name, shape=shape, dtype=dtype, initializer=initializer,
            regularizer=regularizer, reuse=reuse, trainable=trainable, collections=collections,
            partitioner=partitioner, validate_shape=validate_shape,
            custom_getter=custom_getter, constraint=constraint)


class _VariableStore:
    """Creates variables or returns the existing ones by full name (TF's ``_VariableStore``)."""

    def __init__(self, stores):
        self._stores = stores

    def get_variable(self, name, shape=None, dtype=dtypes.float32, initializer=None,
                     regularizer=None, reuse=None, trainable=None, collections=None,
                     partitioner=None, validate_shape=True, custom_getter=None,
                     constraint=None):
        if custom_getter is not None and not callable(custom_getter):
            raise ValueError(f"Passed a custom_getter which is not callable: {custom_getter}")
        if partitioner is not None:
            raise NotImplementedError("Partitioned variables (a `partitioner`) are not "
                                      "supported by numflow.")
        dtype = dtypes.as_dtype(dtype).base_dtype
        kwargs = dict(shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                      reuse=reuse, trainable=trainable, collections=collections,
                      validate_shape=validate_shape, constraint=constraint)
        if custom_getter is None:
            return self._get_single_variable(name, **kwargs)
        return custom_getter(getter=self._true_getter, name=name, **kwargs)

    def _true_getter(self, name, shape=None, dtype=dtypes.float32, initializer=None,
                     regularizer=None, reuse=None, trainable=None, collections=None,
                     validate_shape=True, constraint=None, **unused):
        return self._get_single_variable(name, shape, dtypes.as_dtype(dtype).base_dtype,
                                         initializer, regularizer, reuse, trainable,
                                         collections, validate_shape, constraint)

    def _get_single_variable(self, name, shape=None, dtype=dtypes.float32, initializer=None,
                             regularizer=None, reuse=None, trainable=None, collections=None,
                             validate_shape=True, constraint=None):
        from_value = initializer is not None and not callable(initializer)
        if shape is not None and from_value:
            raise ValueError("If initializer is a constant, do not specify shape.")
        shape = as_shape(shape)
        existing = self._stores.vars.get(name)
        if existing is not None:
            return self._existing(name, existing, shape, dtype, reuse)
        if reuse is True:
            raise ValueError(f"Variable {name} does not exist, or was not created with "
                             "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                             "VarScope?")
        defaulted = initializer is None
        if defaulted:
            initializer = _default_initializer(name, dtype)
        if from_value:
            init_val, var_dtype = initializer, None
        else:
            if inspect.isclass(initializer):
                initializer = initializer()
            if shape.is_fully_defined():
                init_val = _call_initializer(initializer, shape.as_list(), dtype)
                var_dtype = dtype
            elif _needs_no_arguments(initializer):
                init_val, var_dtype = initializer, None
            elif defaulted and shape.rank is None:
                raise ValueError(f"Variable {name} did not get an initializer, so its `shape` "
                                 "argument must be specified.")
            else:
                raise ValueError("The initializer passed is not valid. It should be a callable "
                                 "with no arguments and the shape should not be provided or an "
                                 "instance of `tf.keras.initializers.*' and `shape` should be "
                                 "fully defined.")
        from numflow.variables import Variable
        with _clear_name_scope():
            v = Variable(initial_value=init_val, name=_exact_name(name), trainable=trainable,
                         collections=collections, dtype=var_dtype,
                         validate_shape=validate_shape, constraint=constraint)
        if not context.executing_eagerly():
            self._stores.vars[name] = v
            if regularizer is not None:
                _add_regularization(name, v, regularizer)
        return v

    def _existing(self, name, var, shape, dtype, reuse):
        if reuse is False or reuse is None:
            where = f" Originally defined at:\n\n  {var.op.location}" if var.op is not None \
                else ""
            raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set "
                             f"reuse=True or reuse=tf.AUTO_REUSE in VarScope?{where}")
        if not shape.is_compatible_with(var.get_shape()):
            raise ValueError(f"Trying to share variable {name}, but specified shape "
                             f"{_shape_str(shape)} and found shape {_shape_str(var.get_shape())}.")
        if dtype != var.dtype.base_dtype:
            raise ValueError(f"Trying to share variable {name}, but specified dtype "
                             f"{dtype.name} and found dtype {var.dtype.base_dtype.name}.")
        return var


def _exact_name(name):
    """The ``name`` argument that makes a new graph variable's op exactly ``name``: as in TF,
    a name scope of that name (e.g. the one ``variable_scope`` opened) is re-entered unless
    an op already has the name."""
    if context.executing_eagerly():
        return name
    graph = context.get_default_graph()
    if graph.unique_name(name, mark_as_used=False) == name:
        return name
    try:
        graph.get_operation_by_name(name)
    except KeyError:
        return name + "/"
    return name


def _shape_str(shape):
    if shape.rank is None:
        return "<unknown>"
    dims = ["None" if d is None else str(d) for d in shape.as_list()]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


class _clear_name_scope:
    """Variable names depend only on the variable scope: clears the graph name scope, and
    (as TF's ``init_scope``) the control dependencies, so that initializers never wait
    for the ops of an enclosing ``control_dependencies`` block."""

    def __enter__(self):
        self._ctxs = []
        if not context.executing_eagerly():
            graph = context.get_default_graph()
            self._ctxs = [graph.name_scope(""), graph.control_dependencies(None)]
            for c in self._ctxs:
                c.__enter__()

    def __exit__(self, *exc):
        for c in reversed(self._ctxs):
            c.__exit__(*exc)
        return False


def _default_initializer(name, dtype):
    if dtype.is_floating:
        return init_ops.GlorotUniform()
    if dtype.is_integer or dtype.is_unsigned or dtype.is_bool or dtype == dtypes.string:
        return init_ops.Zeros()
    raise ValueError(f"An initializer for variable {name} of {dtype.name} is required")


def _accepts(fn, arg):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _call_initializer(initializer, shape, dtype):
    kwargs = {"dtype": dtype}
    if _accepts(initializer, "partition_info"):
        kwargs["partition_info"] = None

    def init_val():
        # TF puts the initializer's ops under "<variable>/Initializer/".
        with _name_scope("Initializer"):
            return initializer(shape, **kwargs)
    return init_val


def _needs_no_arguments(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in params)


def _add_regularization(name, var, regularizer):
    with _clear_name_scope(), _name_scope(name + "/Regularizer/"):
        loss = regularizer(var)
    if loss is not None:
        context.get_default_graph().add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)


@export(v1=["get_variable_scope"])
def get_variable_scope():
    """The current VariableScope (``tf.compat.v1.get_variable_scope()``)."""
    return _stores().threads.current


@export(v1=["get_variable"])
def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None, caching_device=None, partitioner=None,
                 validate_shape=True, use_resource=None, custom_getter=None, constraint=None,
                 synchronization=None, aggregation=None):
    """Gets an existing variable or creates a new one
    (``tf.compat.v1.get_variable(name, shape=None, dtype=None, initializer=None, ...)``).

    The full name is the current variable scope's name plus ``name``. With the scope's
    ``reuse`` False a new variable is created; True returns the existing one; AUTO_REUSE
    does either. ``initializer`` is an initializer (called with ``shape`` and ``dtype``),
    a tensor or a value (then ``shape`` must be None); by default the scope's, else
    ``glorot_uniform_initializer`` for floats and zeros for integers/bools/strings.
    Eagerly, each call creates a new variable.

    Raises:
      ValueError: the variable exists and reuse is off ("... already exists, disallowed.
        Did you mean to set reuse=True ..."), does not exist and reuse is True ("... does
        not exist ..."), or the shape/dtype differs from the existing variable's.
    """
    stores = _stores()
    return stores.threads.current.get_variable(
        _VariableStore(stores), name, shape=shape, dtype=dtype, initializer=initializer,
        regularizer=regularizer, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner,
        validate_shape=validate_shape, use_resource=use_resource, custom_getter=custom_getter,
        constraint=constraint)


def _chain_getters(getter, old_getter):
    if old_getter is None:
        return getter

    def wrapped(*args, **kwargs):
        if "getter" in kwargs:
            inner = kwargs.pop("getter")
        else:
            inner, args = args[0], args[1:]
        return getter(functools.partial(old_getter, inner), *args, **kwargs)
    return wrapped


@export(v1=["variable_scope"])
class variable_scope:  # noqa: N801 - TF's public name
    """A context manager for sharing variables
    (``tf.compat.v1.variable_scope(name_or_scope, default_name=None, values=None,
    initializer=None, regularizer=None, caching_device=None, partitioner=None,
    custom_getter=None, reuse=None, dtype=None, use_resource=None, constraint=None,
    auxiliary_name_scope=True)``).

    Opens variable scope ``name_or_scope`` (a string, or a captured VariableScope to
    re-enter) and a name scope of the same name; with ``name_or_scope=None`` the scope is
    ``default_name`` made unique. ``reuse`` (True or ``tf.AUTO_REUSE``) is inherited by
    inner scopes; False means "inherit". Yields the VariableScope.

    Raises:
      TypeError: neither ``name_or_scope`` nor ``default_name`` given.
      ValueError: ``reuse=True`` with ``name_or_scope=None``, or a bad ``reuse`` value.
    """

    def __init__(self, name_or_scope, default_name=None, values=None, initializer=None,
                 regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                 reuse=None, dtype=None, use_resource=None, constraint=None,
                 auxiliary_name_scope=True):
        if default_name is None and name_or_scope is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if name_or_scope is not None and not isinstance(name_or_scope, (VariableScope, str)):
            raise TypeError("VariableScope: name_or_scope must be a string or VariableScope.")
        if reuse is False:
            reuse = None   # scopes cannot switch reuse off: False means "inherit"
        if not (reuse is True or reuse is None or reuse is AUTO_REUSE):
            raise ValueError("The reuse parameter must be True or False or None.")
        if not isinstance(auxiliary_name_scope, bool):
            raise TypeError("The auxiliary_name_scope must be `True` or `False`, while get "
                            f"{auxiliary_name_scope}")
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._overrides = dict(initializer=initializer, regularizer=regularizer,
                               caching_device=caching_device, partitioner=partitioner,
                               dtype=dtype, use_resource=use_resource, constraint=constraint)
        self._custom_getter = custom_getter
        self._reuse = reuse
        self._aux = auxiliary_name_scope
        self._entered = []

    def __enter__(self):
        if self._name_or_scope is None and self._reuse:
            raise ValueError("reuse=True cannot be used without a name_or_scope")
        threads = _stores().threads
        name_ctx = self._open_name_scope()
        ns = name_ctx.__enter__() if name_ctx is not None else ""
        old = threads.current
        old_counts = None
        if isinstance(self._name_or_scope, VariableScope):
            src = self._name_or_scope
            new_name = src.name
            old_counts = dict(threads.counts)
            scope = VariableScope(self._reuse or src.reuse, new_name, src.initializer,
                                  src.regularizer, src.caching_device, src.partitioner,
                                  src.custom_getter, src.original_name_scope, src.dtype,
                                  src.use_resource, src.constraint)
        else:
            part = self._name_or_scope if self._name_or_scope is not None else \
                _unique_scope_name(self._default_name)
            new_name = old.name + "/" + part if old.name and part else (part or old.name)
            scope = VariableScope(self._reuse or old.reuse, new_name, old.initializer,
                                  old.regularizer, old.caching_device, old.partitioner,
                                  old.custom_getter, ns if name_ctx is not None else part,
                                  old.dtype, old.use_resource, old.constraint)
        self._apply_overrides(scope)
        threads.counts[new_name] = threads.counts.get(new_name, 0) + 1
        threads.current = scope
        self._entered.append((name_ctx, old, new_name, old_counts))
        return scope

    def _open_name_scope(self):
        if not self._aux:
            current = context.get_default_graph().get_name_scope() \
                if not context.executing_eagerly() else ""
            return _name_scope(current + "/" if current else "")
        if isinstance(self._name_or_scope, VariableScope):
            part = self._name_or_scope.name.split("/")[-1]
        elif self._name_or_scope is not None:
            part = self._name_or_scope
        else:
            part = self._default_name
        return _name_scope(part) if part else None

    def _apply_overrides(self, scope):
        for key, value in self._overrides.items():
            if value is not None:
                setattr(scope, "_" + key, value)
        if self._custom_getter is not None:
            scope.set_custom_getter(_chain_getters(self._custom_getter, scope.custom_getter))

    def __exit__(self, *exc):
        name_ctx, old, new_name, old_counts = self._entered.pop()
        threads = _stores().threads
        if old_counts is not None:
            threads.counts = old_counts
        else:
            for k in list(threads.counts):
                if k.startswith(new_name + "/"):
                    threads.counts[k] = 0
        threads.current = old
        if name_ctx is not None:
            name_ctx.__exit__(*exc)
        return False


@export(v1=["variable_op_scope"])
def variable_op_scope(values, name_or_scope, default_name=None, initializer=None,
                      regularizer=None, caching_device=None, partitioner=None,
                      custom_getter=None, reuse=None, dtype=None, use_resource=None,
                      constraint=None):
    """Deprecated TF1 spelling of ``variable_scope(name_or_scope, default_name, values)``."""
    return variable_scope(name_or_scope, default_name=default_name, values=values,
                          initializer=initializer, regularizer=regularizer,
                          caching_device=caching_device, partitioner=partitioner,
                          custom_getter=custom_getter, reuse=reuse, dtype=dtype,
                          use_resource=use_resource, constraint=constraint)


@export(v1=["no_regularizer"])
def no_regularizer(_):
    """A regularizer that adds no loss (``tf.compat.v1.no_regularizer``)."""
    return None
