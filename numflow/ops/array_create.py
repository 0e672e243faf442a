"""Tensors made from scalars: ``tf.range``, ``tf.linspace`` and ``tf.meshgrid``."""
import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.graph.tensor import Tensor
from numflow.ops import array_ops, infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

_RANGE_ORDER = (dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64)


# ---- range ----------------------------------------------------------------------------------
def _range_check(start, limit, delta):
    if delta == 0:
        raise ValueError(f"Requires delta != 0: {delta}")
    if delta > 0 and start > limit:
        raise ValueError(f"Requires start <= limit when delta > 0: {start}/{limit}")
    if delta < 0 and start < limit:
        raise ValueError(f"Requires start >= limit when delta < 0: {start}/{limit}")


def _range_kernel(xp, start, limit, delta):
    for name, v in (("start", start), ("limit", limit), ("delta", delta)):
        if v.ndim:
            raise ValueError(f"Range: {name} must be a scalar, not shape {list(v.shape)}")
    _range_check(start, limit, delta)
    return xp.arange(start, limit, delta, dtype=start.dtype)


def _range_infer(ins, a):
    vals = [infer.constant_value(t) for t in ins]
    if all(v is not None for v in vals):
        _range_check(*vals)
        n = len(np.arange(*vals, dtype=vals[0].dtype))
        return [(ins[0].dtype.base_dtype, TensorShape([n]))]
    return [(ins[0].dtype.base_dtype, TensorShape([None]))]


_RANGE = register_op("Range", infer=_range_infer, kernel=_range_kernel)


@export("range", v1=["range"])
def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """The sequence ``start, start + delta, ...`` up to but excluding ``limit`` (``tf.range``).

    ``tf.range(n)`` counts from 0. Without ``dtype`` the widest argument type wins
    (int32 < int64 < float32 < float64): Python ints give int32, floats float32.
    """
    if limit is None:
        start, limit = 0, start
    args = []
    for v in (start, limit, delta):
        if isinstance(v, Tensor) or hasattr(v, "_as_tensor"):
            args.append(convert_to_tensor(v))
        elif dtype is not None and not (isinstance(v, float) and
                                        dtypes.as_dtype(dtype).is_integer):
            args.append(convert_to_tensor(v, dtype=dtype))
        else:
            args.append(convert_to_tensor(v))
    from numflow.ops.math_ops import cast
    if dtype is None:
        kinds = [a.dtype.base_dtype for a in args]
        for k in kinds:
            if k not in _RANGE_ORDER:
                raise TypeError(f"range: unsupported dtype {k.name}")
        target = max(kinds, key=_RANGE_ORDER.index)
    else:
        target = dtypes.as_dtype(dtype)
    args = [cast(a, target) for a in args]
    return apply_op(_RANGE, args, name=name)


# ---- linspace -------------------------------------------------------------------------------
def _linspace_kernel(xp, start, stop, num, axis):
    n = int(num)
    if n <= 0:
        raise ValueError(f"Requires num > 0: {n}")
    return xp.linspace(start, stop, n, axis=axis, dtype=start.dtype)


def _linspace_infer(ins, a):
    start, stop, num = ins
    nv = infer.constant_value(num)
    if nv is not None and int(nv) <= 0:
        raise ValueError(f"Requires num > 0: {int(nv)}")
    base = infer.broadcast_shapes(start.shape, stop.shape)
    if base.rank is None:
        return [(start.dtype.base_dtype, TensorShape(None))]
    dims = base.as_list()
    ax = a["axis"] % (len(dims) + 1)
    return [(start.dtype.base_dtype,
             TensorShape(dims[:ax] + [None if nv is None else int(nv)] + dims[ax:]))]


def _linspace_grad(op, g):
    from numflow.ops.math_ops import reduce_sum, subtract, cast
    start, _, num = op.inputs
    axis = op.get_attr("axis")
    rank = op.outputs[0].shape.rank
    if rank is None:
        raise NotImplementedError("gradient of linspace for an output of unknown rank")
    ax = axis % rank
    t = apply_op(_LINSPACE, [cast(0, start.dtype), cast(1, start.dtype), num], {"axis": 0})
    t = array_ops.reshape(t, [-1] + [1] * (rank - 1 - ax))
    return [reduce_sum(g * subtract(1, t), axis=ax), reduce_sum(g * t, axis=ax), None]


_LINSPACE = register_op("LinSpace", infer=_linspace_infer, kernel=_linspace_kernel,
                        grad=_linspace_grad)


@export("linspace", v1=["lin_space", "linspace"])
def linspace(start, stop, num, name=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (``tf.linspace``).

    ``start`` and ``stop`` are float scalars (or broadcastable tensors, the new dimension
    going at ``axis``); ``num`` must be positive.
    """
    s = convert_to_tensor(start, dtype_hint=dtypes.float32)
    if not s.dtype.base_dtype.is_floating:
        from numflow.ops.math_ops import cast
        s = cast(s, dtypes.float32)
    e = convert_to_tensor(stop, dtype_hint=s.dtype.base_dtype)
    if e.dtype.base_dtype != s.dtype.base_dtype:
        from numflow.ops.math_ops import cast
        e = cast(e, s.dtype.base_dtype)
    n = convert_to_tensor(num, dtype_hint=dtypes.int32)
    if not n.dtype.base_dtype.is_integer:
        raise TypeError(f"linspace: num must be an integer, got {n.dtype.name}")
    return apply_op(_LINSPACE, [s, e, n], {"axis": int(axis)}, name=name)


# ---- meshgrid -------------------------------------------------------------------------------
@export("meshgrid", v1=["meshgrid"])
def meshgrid(*args, **kwargs):
    """``tf.meshgrid(*args, indexing='xy', name=None)``: N-D coordinate grids from 1-D
    vectors. With "xy" indexing the first two output dimensions are swapped (as NumPy)."""
    from numflow.ops import array_manip
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this "
                        "function")
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    ts = [array_ops.reshape(convert_to_tensor(a), [-1]) for a in args]
    ndim = len(ts)
    if ndim == 0:
        return []
    outs = []
    for i, t in enumerate(ts):
        shape = [1] * ndim
        shape[i] = -1
        outs.append(array_ops.reshape(t, shape))
    sizes = [array_ops.size(t) for t in ts]
    if indexing == "xy" and ndim > 1:
        outs[0] = array_ops.reshape(ts[0], [1, -1] + [1] * (ndim - 2))
        outs[1] = array_ops.reshape(ts[1], [-1, 1] + [1] * (ndim - 2))
        sizes[0], sizes[1] = sizes[1], sizes[0]
    full = array_ops.stack(sizes)
    return [array_manip.broadcast_to(o, full) for o in outs]

