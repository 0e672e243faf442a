"""Variable ops: read (VariableV2 in TF1 graphs, ReadVariableOp otherwise) and assignment.

Values live in a RunState (a Session's, or the eager one), keyed by the variable's key.
A read returns the stored array itself, so an update normally makes a new array. AssignAdd
and AssignSub update the stored array in place when nothing but the store holds it (no
fetched value, EagerTensor, plan slot or view refers to it: its reference count says so),
which is the case for optimizer updates inside a plan once the reads' readers have run.
"""
import sys

from numflow.framework import errors
from numflow.framework.tensor_shape import TensorShape
from numflow.ops.registry import register_op


def _read_kernel(xp, ctx, key, name, dtype, shape):
    try:
        return ctx.vars[key]
    except KeyError:
        raise errors.FailedPreconditionError(
            None, None, f"Attempting to use uninitialized value {name}") from None


def _read_infer(ins, a):
    return [(a["dtype"], a["shape"])]


VARIABLE_V2 = register_op("VariableV2", infer=_read_infer, kernel=_read_kernel, stateful=True)
READ_VARIABLE = register_op("ReadVariableOp", infer=_read_infer, kernel=_read_kernel,
                            stateful=True)


def _check_shape(value, shape, name):
    if shape.rank is not None and not shape.is_compatible_with(value.shape):
        raise errors.InvalidArgumentError(
            None, None, f"Assign requires shapes of both tensors to match. lhs shape= "
                        f"{shape.as_list()} rhs shape= {list(value.shape)} (variable {name})")


def _assign_kernel(xp, value, ctx, key, name, dtype, shape):
    _check_shape(value, shape, name)
    # The store owns its arrays (updates may later write into them), so copy.
    value = xp.array(value, dtype=dtype.as_numpy_dtype, copy=True)
    ctx.vars[key] = value
    return value


def _refs(store, key):
    return sys.getrefcount(store[key])


_STORE_REFS = _refs({0: object()}, 0)   # the count when only the store holds the value


def sole_owner(xp, store, key):
    """The stored array of ``key`` when writing into it is unobservable, else None.

    That holds when nothing but the store refers to it (checked first, before this
    function holds a reference itself), it is a writeable NumPy array owning its memory,
    and it is not 0-d."""
    if _refs(store, key) > _STORE_REFS:
        return None
    arr = store[key]
    if type(arr) is not xp.ndarray or arr.ndim == 0 or not arr.flags.owndata or \
            not arr.flags.writeable:
        return None
    return arr


def writable(xp, store, key, name):
    """The stored array of ``key``, made the store's own (copied if anything else can see
    it), for a kernel that updates it in place.

    Raises:
      FailedPreconditionError: if the variable has no value yet.
    """
    if key not in store:
        raise errors.FailedPreconditionError(
            None, None, f"Attempting to use uninitialized value {name}")
    arr = sole_owner(xp, store, key)
    if arr is None:
        arr = store[key] = xp.array(store[key], copy=True)
    return arr


def _in_place(xp, store, key, delta, sign):
    """``store[key] += delta`` (or ``-=``) in place when that is unobservable, else None."""
    old = sole_owner(xp, store, key)
    if old is None or type(delta) is not xp.ndarray or old.dtype != delta.dtype or \
            old.dtype.kind not in "fc" or \
            (delta.shape != old.shape and xp.broadcast_shapes(old.shape, delta.shape) !=
             old.shape):
        return None
    (xp.add if sign > 0 else xp.subtract)(old, delta, out=old)
    return old


def _update_kernel(sign):
    def kernel(xp, delta, ctx, key, name, dtype, shape):
        if key in ctx.vars:
            try:
                done = _in_place(xp, ctx.vars, key, delta, sign)
            except ValueError:    # shapes that do not broadcast: the message below
                done = None
            if done is not None:
                return done
        try:
            old = ctx.vars[key]
        except KeyError:
            raise errors.FailedPreconditionError(
                None, None, f"Attempting to use uninitialized value {name}") from None
        new = old + delta if sign > 0 else old - delta
        if new.shape != old.shape:
            raise errors.InvalidArgumentError(
                None, None, f"Update shape {list(delta.shape)} does not match variable "
                            f"{name} of shape {list(old.shape)}")
        new = new.astype(old.dtype, copy=False)
        ctx.vars[key] = new
        return new
    return kernel


def _assign_infer(ins, a):
    value = ins[0]
    if a["shape"].rank is not None and value.shape.rank is not None and \
            not a["shape"].is_compatible_with(value.shape):
        raise ValueError(f"Shapes {a['shape']} and {value.shape} are incompatible "
                         f"(assigning to variable {a['name']})")
    if value.dtype.base_dtype != a["dtype"]:
        raise TypeError(f"Assign to variable {a['name']} of dtype {a['dtype'].name} with a "
                        f"{value.dtype.base_dtype.name} value")
    return [(a["dtype"], a["shape"] if a["shape"].rank is not None else value.shape)]


ASSIGN = register_op("Assign", infer=_assign_infer, kernel=_assign_kernel, stateful=True)
ASSIGN_ADD = register_op("AssignAdd", infer=_assign_infer, kernel=_update_kernel(1),
                         stateful=True)
ASSIGN_SUB = register_op("AssignSub", infer=_assign_infer, kernel=_update_kernel(-1),
                         stateful=True)

VARIABLE_OPS = ("VariableV2", "ReadVariableOp", "Assign", "AssignAdd", "AssignSub")
WRITE_OPS = ("Assign", "AssignAdd", "AssignSub")
UPDATE_OPS = ("ResourceApplyAdam",)
"""Fused updates of several variables (ops/training_ops.py): their keys are attr "keys"."""


def variable_access(op_type, attrs):
    """``(keys, writes)`` for an op that reads or writes variables, else None.

    ``keys`` are the variables' store keys; ``writes`` says whether the op writes them
    (every key of a write op is written)."""
    if op_type in VARIABLE_OPS:
        return (attrs["key"],), op_type in WRITE_OPS
    if op_type in UPDATE_OPS:
        return tuple(attrs["keys"]), True
    return None


def variable_attrs(key, name, dtype, shape):
    """The attrs every variable op carries."""
    return {"key": key, "name": name, "dtype": dtype, "shape": TensorShape(shape)}
