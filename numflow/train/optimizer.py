"""``tf.compat.v1.train.Optimizer``: the TF1 optimizer base class.

``minimize`` = ``compute_gradients`` (``tf.gradients`` in graph mode, a GradientTape for a
callable loss when executing eagerly) + ``apply_gradients``. ``apply_gradients`` creates the
slot variables (``W/Adam``, ``W/Adam_1``...) through ``tf.get_variable`` in a variable scope
named after the variable, as TF does, so they are global, non-trainable variables that
Saver and ``global_variables_initializer`` see. Each update is built from public ops
(``assign``, ``assign_sub``, arithmetic), inside name scope ``<name>/update_<var>``; the
returned op groups them (one ``sess.run`` is one step) and, with ``global_step``, then
increments it.
"""
from numflow._api.export import export
from numflow.framework import context, dtypes, nest
from numflow.framework.api import name_scope
from numflow.graph.graph import GraphKeys
from numflow.graph.tensor import Tensor
from numflow.ops import array_ops, math_ops
from numflow.ops.apply import convert_to_tensor


def var_op_name(var):
    """The variable's name without ``:0`` (``var.op.name`` in graph mode)."""
    op = var.op
    return op.name if op is not None else var.name.split(":")[0]


def _is_variable(v):
    return hasattr(v, "assign_sub") and hasattr(v, "_key")


def as_value(updated):
    """The new value after an assign: the Assign output in a graph, a read eagerly (where
    ``assign`` returns the variable)."""
    if _is_variable(updated):
        return updated.value()
    return updated


@export(v1=["train.Optimizer"])
class Optimizer:
    """Base class for TF1 optimizers (``tf.compat.v1.train.Optimizer(use_locking, name)``).

    Subclasses implement ``_create_slots(var_list)``, ``_prepare()`` and
    ``_apply_dense(grad, var)`` (returning the update op/tensor), and may override
    ``_finish(update_ops, name_scope)``.

    Raises:
      ValueError: an empty ``name``.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots = {}            # slot name -> {variable key: slot variable}
        self._non_slot_dict = {}    # (name, graph or None) -> variable

    def get_name(self):
        """The optimizer's name (the default name scope of its ops)."""
        return self._name

    # ---- the three public steps ---------------------------------------------------------
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """Adds ops that minimize ``loss`` by updating ``var_list`` (default: the trainable
        variables) and increment ``global_step`` if given; returns that op
        (``Optimizer.minimize``). Eagerly ``loss`` must be a callable.

        Raises:
          ValueError: no variable has a gradient ("No gradients provided for any
            variable ...").
        """
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        if not [v for g, v in grads_and_vars if g is not None]:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do "
                "not support gradients, between variables "
                f"{[str(v) for _, v in grads_and_vars]} and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP,
                          aggregation_method=None, colocate_gradients_with_ops=False,
                          grad_loss=None):
        """A list of ``(gradient, variable)`` pairs of ``loss`` for ``var_list`` (default:
        the trainable variables); the gradient is None where ``loss`` does not depend on
        the variable (``Optimizer.compute_gradients``).

        Raises:
          RuntimeError: eagerly, when ``loss`` is not callable.
          ValueError: no variables to optimize, or a variable of an invalid dtype.
        """
        if gate_gradients not in (self.GATE_NONE, self.GATE_OP, self.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, "
                             f"Optimizer.GATE_OP, Optimizer.GATE_GRAPH.  Not {gate_gradients}")
        if callable(loss) and context.executing_eagerly():
            return self._tape_gradients(loss, var_list, grad_loss)
        if context.executing_eagerly():
            raise RuntimeError("`loss` passed to Optimizer.compute_gradients should be a "
                               "function when eager execution is enabled.")
        if callable(loss):
            loss = loss()
        loss = convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        if var_list is None:
            graph = context.get_default_graph()
            var_list = graph.get_collection(GraphKeys.TRAINABLE_VARIABLES) + \
                graph.get_collection("trainable_resource_variables")
        else:
            var_list = list(nest.flatten(var_list))
        if not var_list:
            raise ValueError("No variables to optimize.")
        from numflow.autodiff.gradients import gradients
        grads = gradients(loss, var_list, grad_ys=grad_loss,
                          colocate_gradients_with_ops=colocate_gradients_with_ops,
                          aggregation_method=aggregation_method)
        if gate_gradients == self.GATE_GRAPH:
            grads = array_ops.tuple_(grads)
        pairs = list(zip(grads, var_list))
        self._assert_valid_dtypes([v for g, v in pairs if g is not None])
        return pairs

    def _tape_gradients(self, loss, var_list, grad_loss):
        from numflow.eager.tape import GradientTape
        with GradientTape() as tape:
            if var_list is not None:
                tape.watch(var_list)
            loss_value = loss()
        if var_list is None:
            var_list = list(tape.watched_variables())
        else:
            var_list = list(nest.flatten(var_list))
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = tape.gradient(loss_value, var_list, grad_loss)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Applies ``(gradient, variable)`` pairs; returns the op that runs every update
        and then increments ``global_step`` (if given) (``Optimizer.apply_gradients``).
        In a graph the op is added to the ``train_op`` collection.

        Raises:
          TypeError: a gradient that is not a tensor.
          ValueError: no pairs, or every gradient is None.
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None:
                try:
                    g = convert_to_tensor(g)
                except (TypeError, ValueError):
                    raise TypeError(f"Gradient must be convertible to a Tensor or "
                                    f"IndexedSlices, or None: {g}") from None
            if not _is_variable(v):
                raise NotImplementedError(f"Trying to update a Tensor {v}")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: "
                             f"{[str(v) for _, v in converted]}.")
        with context.init_scope():   # also clears control dependencies, as in TF
            self._create_slots(var_list)
        update_ops = []
        with name_scope(name or self._name) as scope:
            self._prepare()
            for g, v in converted:
                if g is None:
                    continue
                with name_scope("update_" + var_op_name(v)):
                    update_ops.append(self._apply_dense(g, v))
            if global_step is None:
                apply_updates = self._finish(update_ops, scope)
            else:
                with _control_dependencies([self._finish(update_ops, "update")]):
                    apply_updates = global_step.assign_add(
                        convert_to_tensor(1, dtype=global_step.dtype.base_dtype), name=scope)
        if not context.executing_eagerly():
            if isinstance(apply_updates, Tensor):
                apply_updates = apply_updates.op
            train_ops = context.get_default_graph().get_collection_ref(GraphKeys.TRAIN_OP)
            if apply_updates not in train_ops:
                train_ops.append(apply_updates)
        return apply_updates

    # ---- slots --------------------------------------------------------------------------
    def get_slot(self, var, name):
        """The slot variable ``name`` ("m", "momentum"...) created for ``var``, or None."""
        named = self._slots.get(name)
        return None if not named else named.get(var._key)

    def get_slot_names(self):
        """The sorted names of the slots this optimizer creates."""
        return sorted(self._slots)

    def variables(self):
        """The optimizer's variables in the current graph (slots and non-slot variables
        such as ``beta1_power``), sorted by name (``Optimizer.variables``)."""
        graph = None if context.executing_eagerly() else context.get_default_graph()
        out = [v for (_, g), v in self._non_slot_dict.items() if g is graph]
        for named in self._slots.values():
            out.extend(s for s in named.values() if s.graph is graph)
        return sorted(out, key=lambda v: v.name)

    def _slot_dict(self, slot_name):
        return self._slots.setdefault(slot_name, {})

    def _get_or_make_slot_with_initializer(self, var, initializer, shape, dtype, slot_name,
                                           op_name):
        named = self._slot_dict(slot_name)
        if var._key not in named:
            named[var._key] = create_slot(var, initializer, shape, dtype, op_name)
        return named[var._key]

    def _zeros_slot(self, var, slot_name, op_name):
        from numflow.train.init_ops import Zeros
        return self._get_or_make_slot_with_initializer(
            var, Zeros(), var.get_shape(), var.dtype.base_dtype, slot_name, op_name)

    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        graph = None if context.executing_eagerly() else context.get_default_graph()
        key = (name, graph)
        v = self._non_slot_dict.get(key)
        if v is None:
            from numflow.variables import Variable
            v = Variable(initial_value, name=name, trainable=False)
            self._non_slot_dict[key] = v
        return v

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot_dict.get((name, graph))

    def _call_if_callable(self, param):
        return param() if callable(param) else param

    def _assert_valid_dtypes(self, tensors):
        valid = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64,
                 dtypes.complex64, dtypes.complex128)
        for t in tensors:
            dtype = t.dtype.base_dtype
            if dtype not in valid:
                raise ValueError(f"Invalid type {dtype.name} for {t.name}, expected: "
                                 f"{[d.name for d in valid if d is not None]}.")

    # ---- subclass hooks -----------------------------------------------------------------
    def _create_slots(self, var_list):
        """Creates the slot variables of ``var_list`` (none by default)."""

    def _prepare(self):
        """Converts hyperparameters to tensors before the updates are built."""

    def _apply_dense(self, grad, var):
        raise NotImplementedError()

    def _finish(self, update_ops, name_scope):
        """Groups the updates into the op ``apply_gradients`` returns."""
        return _group(update_ops, name_scope)


def create_slot(var, initializer, shape, dtype, op_name):
    """Creates the slot variable ``<var name>/<op_name>[_N]`` of ``var`` (TF's
    ``slot_creator``): non-trainable, global, initialized by ``initializer`` (an initializer
    or a tensor)."""
    from numflow.train.variable_scope import get_variable, variable_scope
    with variable_scope(None, default_name=var_op_name(var) + "/" + op_name):
        if callable(initializer):
            return get_variable("", shape=shape, dtype=dtype, initializer=initializer,
                                trainable=False)
        return get_variable("", initializer=initializer, trainable=False)


def _control_dependencies(ops):
    from numflow.framework.api import control_dependencies
    return control_dependencies([o for o in ops if o is not None])


def _group(update_ops, name):
    if context.executing_eagerly():
        return None
    return array_ops.group(*[as_op(u) for u in update_ops], name=name)


def as_op(u):
    """The op behind an update (a Tensor's op, a Variable's op, an Operation)."""
    if u is None or context.executing_eagerly():
        return u
    if _is_variable(u):
        return u.op
    return u.op if isinstance(u, Tensor) else u


def cast_like(value, var):
    """``value`` as a tensor of ``var``'s dtype (hyperparameters may be Python numbers,
    tensors or callables)."""
    return math_ops.cast(value, var.dtype.base_dtype)
