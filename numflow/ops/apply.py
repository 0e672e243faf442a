"""apply_op: the one place that decides whether an op runs now (eager) or adds a node.

Also ``convert_to_tensor``, which turns Python/NumPy values into tensors following TF's
dtype rules.
"""
import operator

import numpy as np

from numflow.framework import context, dtypes, errors
from numflow.framework.context import _tls, _global
from numflow.eager.tensor import EagerTensor
from numflow.graph.tensor import Tensor
from numflow.runtime.state import EAGER_STATE

_EMPTY = {}
_VALUE = operator.attrgetter("_value")


def apply_op(opdef, inputs, attrs=_EMPTY, name=None):
    """Applies ``opdef`` to ``inputs`` (tensors already converted).

    Returns one tensor, or a list when the op has several outputs.
    """
    if (_global["eager"] and not _tls.graph_stack) or _tls.eager_scope_depth:
        return _run_eager(opdef, inputs, attrs)
    return _add_to_graph(opdef, inputs, attrs, name)


def _run_eager(opdef, inputs, attrs):
    try:
        arrays = [*map(_VALUE, inputs)]
    except AttributeError:
        arrays = [_eager_value(t, opdef) for t in inputs]
    try:
        if opdef.stateful:
            out = opdef.kernel(np, *arrays, ctx=EAGER_STATE, **attrs)
        else:
            out = opdef.kernel(np, *arrays, **attrs)
    except errors.OpError:
        raise
    except (ValueError, IndexError, TypeError, ArithmeticError) as e:
        shapes = ", ".join(str(tuple(getattr(a, "shape", ()))) for a in arrays)
        msg = str(e) if str(e).startswith(opdef.name) else f"{opdef.name}: {e}"
        raise errors.InvalidArgumentError(
            None, None, f"{msg} (input shapes: [{shapes}])") from e
    if opdef.num_outputs == 1:
        result = EagerTensor(out)
    else:
        result = [EagerTensor(o) for o in out]
    if _tls.tapes:
        from numflow.eager.tape import record
        record(opdef, inputs, (result,) if opdef.num_outputs == 1 else result, attrs)
    return result


def _eager_value(t, opdef):
    if isinstance(t, Tensor):
        raise TypeError(f"{opdef.name}: a symbolic graph tensor ({t.name}) was passed to an op "
                        "running eagerly; run it in a Session or build the whole computation "
                        "inside the same graph.")
    raise TypeError(f"{opdef.name}: expected a tensor, got {type(t).__name__}")


def _add_to_graph(opdef, inputs, attrs, name):
    graph = context.get_default_graph()
    inputs = [graph.capture(t) if type(t) is EagerTensor else t for t in inputs]
    try:
        specs = opdef.infer(inputs, attrs)
    except (ValueError, TypeError) as e:
        from numflow.graph.graph import user_location
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise type(e)(f"{e} for '{{{{node {name or opdef.name}}}}} = {opdef.name}' with input "
                      f"shapes: [{shapes}] (created at {user_location()})") from None
    op = graph._create_op(opdef.name, inputs, attrs, specs, name)
    if _tls.tapes:
        from numflow.eager.tape import record
        record(opdef, inputs, op.outputs, attrs, op)
    n = opdef.num_outputs
    if n == 1:
        return op.outputs[0]
    if n == 0:
        return op           # run for its effect: the Operation, for control dependencies
    return list(op.outputs)


# ---- conversion ----------------------------------------------------------------------

def to_array(value, dtype=None, dtype_hint=None):
    """Converts a Python/NumPy value to an ndarray following TF's dtype rules."""
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if dtype is dtypes.string:
            return _string_array(value)
        np_dtype = dtype.as_numpy_dtype
        arr = np.asarray(value)
        if arr.dtype == np_dtype:
            return arr
        if arr.dtype.kind == "f" and dtype.is_integer and not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(f"Expected {dtype.name}, got {value!r} of type 'float' instead.")
        if arr.dtype.kind in "USO" and dtype is not dtypes.string:
            raise TypeError(f"Cannot convert {value!r} to a tensor of dtype {dtype.name}")
        if arr.dtype.kind == "b" and not dtype.is_bool and not isinstance(value, np.ndarray):
            raise TypeError(f"Cannot convert {value!r} to a tensor of dtype {dtype.name}")
        return arr.astype(np_dtype)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "USO":
            return _string_array(value)
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    if isinstance(value, (bool, int, float, complex, str, bytes)):
        d = dtypes.dtype_of_value(value)
        if dtype_hint is not None:
            hint = dtypes.as_dtype(dtype_hint)
            if _hint_fits(value, hint):
                d = hint
        if d is dtypes.string:
            return _string_array(value)
        return np.asarray(value, dtype=d.as_numpy_dtype)
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind in "US":
        return _string_array(value)
    if dtype_hint is not None:
        hint = dtypes.as_dtype(dtype_hint)
        if hint.is_floating and arr.dtype.kind in "fiub" or \
                hint.is_integer and arr.dtype.kind in "iu" or hint.is_bool and arr.dtype.kind == "b":
            return arr.astype(hint.as_numpy_dtype)
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64:
        if arr.size == 0 or (arr.min() >= -2**31 and arr.max() < 2**31):
            return arr.astype(np.int32)
    return arr


def _hint_fits(value, hint):
    if isinstance(value, bool):
        return hint.is_bool
    if isinstance(value, int):
        return hint.is_integer or hint.is_floating or hint.is_complex
    if isinstance(value, float):
        return hint.is_floating or hint.is_complex
    return False


def _string_array(value):
    arr = np.asarray(value, dtype=object)
    flat = arr.reshape(-1)
    for i, v in enumerate(flat):   # strings are rare and small; keep bytes per TF
        if isinstance(v, str):
            flat[i] = v.encode("utf-8")
        elif not isinstance(v, bytes):
            raise TypeError(f"Cannot convert {v!r} to a string tensor")
    return arr


def convert_to_tensor(value, dtype=None, name=None, dtype_hint=None, preferred_dtype=None):
    """Converts ``value`` to a Tensor (``tf.convert_to_tensor``).

    Python floats become float32 and ints int32; NumPy arrays keep their dtype. With
    ``dtype`` the value must convert without loss (TypeError otherwise).
    """
    dtype_hint = dtype_hint or preferred_dtype
    if dtype is None and ((_global["eager"] and not _tls.graph_stack) or
                          _tls.eager_scope_depth):
        # Eager fast paths, giving what the general code below gives for these values.
        kind = type(value)
        if kind is EagerTensor:
            return value
        if kind is np.ndarray and dtype_hint is None and value.dtype.kind not in "USO":
            return EagerTensor(value)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype.base_dtype != dtypes.as_dtype(dtype):
            raise TypeError(f"Tensor conversion requested dtype {dtypes.as_dtype(dtype).name} "
                            f"for Tensor with dtype {value.dtype.name}: {value!r}")
        if type(value) is EagerTensor and not context.executing_eagerly():
            return context.get_default_graph().capture(value)
        return value
    conv = getattr(value, "_as_tensor", None)
    if conv is not None:
        return conv(dtype=dtype, name=name)
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        from numflow.ops import array_ops
        return array_ops.stack([convert_to_tensor(v, dtype=dtype, dtype_hint=dtype_hint)
                                for v in value], name=name or "packed")
    from numflow.ops.array_ops import constant
    return constant(value, dtype=dtype, name=name or "Const", _hint=dtype_hint)


def _contains_tensor(value):
    for v in value:
        if isinstance(v, Tensor) or hasattr(v, "_as_tensor"):
            return True
        if isinstance(v, (list, tuple)) and _contains_tensor(v):
            return True
    return False


def convert_n(values, dtype=None):
    """Converts several values so they share one dtype (the first tensor's, else TF's rule)."""
    if dtype is None:
        for v in values:
            if isinstance(v, Tensor) or hasattr(v, "_as_tensor"):
                dtype_hint = v.dtype.base_dtype
                break
        else:
            dtype_hint = None
        return [convert_to_tensor(v, dtype_hint=dtype_hint) if not isinstance(v, Tensor) else v
                for v in values]
    return [convert_to_tensor(v, dtype=dtype) for v in values]
