"""Core math ops: arithmetic, matmul, sum/mean reductions, add_n, cast, broadcasting helpers.

The op-library modules (math_elementwise, reductions...) extend this family.
"""
import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.eager.tensor import EagerTensor
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op
from numflow.graph.tensor import Tensor


def binary_inputs(x, y, op_name):
    """Converts ``x``, ``y`` to tensors of one dtype (TF's rule: the tensor's dtype wins for
    Python values; two tensors of different dtypes raise TypeError)."""
    tx, ty = type(x), type(y)
    if tx is EagerTensor and ty is EagerTensor:
        if x.dtype is not y.dtype and x.dtype != y.dtype:
            _mismatch(op_name, x, y)
        return x, y
    if isinstance(x, Tensor) or hasattr(x, "_as_tensor"):
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype_hint=x.dtype.base_dtype)
    elif isinstance(y, Tensor) or hasattr(y, "_as_tensor"):
        y = convert_to_tensor(y)
        x = convert_to_tensor(x, dtype_hint=y.dtype.base_dtype)
    else:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype_hint=x.dtype)
    if x.dtype.base_dtype != y.dtype.base_dtype:
        _mismatch(op_name, x, y)
    return x, y


def _mismatch(op_name, x, y):
    raise TypeError(f"{op_name}: cannot compute {op_name} as input #1(zero-based) was expected "
                    f"to be a {x.dtype.base_dtype.name} tensor but is a "
                    f"{y.dtype.base_dtype.name} tensor")


def _binary(opdef, x, y, name):
    x, y = binary_inputs(x, y, opdef.name)
    return apply_op(opdef, [x, y], name=name)


# ---- arithmetic -----------------------------------------------------------------------------
_ADD = register_op("AddV2", infer=infer.binary_broadcast(), kernel=lambda xp, a, b: a + b,
                   grad=lambda op, g: [g, g])
_SUB = register_op("Sub", infer=infer.binary_broadcast(), kernel=lambda xp, a, b: a - b,
                   grad=lambda op, g: [g, negative(g)])
_MUL = register_op("Mul", infer=infer.binary_broadcast(), kernel=lambda xp, a, b: a * b,
                   grad=lambda op, g: [multiply(g, op.inputs[1]), multiply(op.inputs[0], g)])


def _div_kernel(xp, a, b):
    if a.dtype.kind in "iu":
        raise TypeError("RealDiv is not defined for integer tensors; use floordiv or truediv")
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def _div_grad(op, g):
    x, y = op.inputs
    return [divide(g, y), negative(multiply(g, divide(divide(x, y), y)))]


_DIV = register_op("RealDiv", infer=infer.binary_broadcast(), kernel=_div_kernel, grad=_div_grad)
_NEG = register_op("Neg", infer=infer.same_as_input(), kernel=lambda xp, a: -a,
                   grad=lambda op, g: [negative(g)])


@export("math.add", "add")
def add(x, y, name=None):
    """Returns x + y elementwise, with broadcasting (``tf.math.add``)."""
    if type(x) is EagerTensor and type(y) is EagerTensor and x.dtype is y.dtype:
        return apply_op(_ADD, (x, y))   # the eager fast path
    return _binary(_ADD, x, y, name)


@export("math.subtract", "subtract", v1=["math.subtract", "subtract"])
def subtract(x, y, name=None):
    """Returns x - y elementwise (``tf.math.subtract``)."""
    return _binary(_SUB, x, y, name)


@export("math.multiply", "multiply", v1=["math.multiply", "multiply"])
def multiply(x, y, name=None):
    """Returns x * y elementwise (``tf.math.multiply``)."""
    return _binary(_MUL, x, y, name)


@export("math.divide", "divide", "realdiv", v1=["math.divide", "divide", "realdiv"])
def divide(x, y, name=None):
    """Returns x / y elementwise for floats (``tf.math.divide``); ints divide as truediv."""
    x, y = binary_inputs(x, y, "RealDiv")
    if x.dtype.is_integer:
        return truediv(x, y, name=name)
    return apply_op(_DIV, [x, y], name=name)


@export("math.truediv", "truediv")
def truediv(x, y, name=None):
    """Division that casts integers to float64/float32 first (``tf.math.truediv``)."""
    x, y = binary_inputs(x, y, "truediv")
    if x.dtype.is_integer:
        target = dtypes.float64 if x.dtype.size >= 4 else dtypes.float32
        x, y = cast(x, target), cast(y, target)
    return apply_op(_DIV, [x, y], name=name)


@export("math.negative", "negative", v1=["math.negative", "negative"])
def negative(x, name=None):
    """Returns -x elementwise (``tf.math.negative``)."""
    return apply_op(_NEG, [convert_to_tensor(x)], name=name)


# ---- matmul -------------------------------------------------------------------------------
def _matmul_infer(ins, a):
    x, y = ins
    d = infer.same_dtype(ins, "MatMul")
    sx, sy = x.shape, y.shape
    if sx.rank is None or sy.rank is None:
        return [(d, TensorShape(None))]
    if sx.rank < 2 or sy.rank < 2:
        raise ValueError(f"Shape must be rank >= 2 but is rank {min(sx.rank, sy.rank)}")
    xd, yd = sx.as_list(), sy.as_list()
    m, k1 = (xd[-1], xd[-2]) if a["transpose_a"] else (xd[-2], xd[-1])
    k2, n = (yd[-1], yd[-2]) if a["transpose_b"] else (yd[-2], yd[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"Dimensions must be equal, but are {k1} and {k2}")
    batch = infer.broadcast_shapes(TensorShape(xd[:-2]), TensorShape(yd[:-2]))
    return [(d, batch.concatenate([m, n]))]


def _matmul_kernel(xp, a, b, transpose_a, transpose_b):
    if transpose_a:
        a = xp.swapaxes(a, -1, -2)
    if transpose_b:
        b = xp.swapaxes(b, -1, -2)
    return xp.matmul(a, b)


def _matmul_grad(op, g):
    a, b = op.inputs
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    if not ta and not tb:
        return [matmul(g, b, transpose_b=True), matmul(a, g, transpose_a=True)]
    if not ta and tb:
        return [matmul(g, b), matmul(g, a, transpose_a=True)]
    if ta and not tb:
        return [matmul(b, g, transpose_b=True), matmul(a, g)]
    return [matmul(b, g, transpose_a=True, transpose_b=True),
            matmul(g, a, transpose_a=True, transpose_b=True)]


_MATMUL = register_op("MatMul", infer=_matmul_infer, kernel=_matmul_kernel, grad=_matmul_grad)
_BATCH_MATMUL = register_op("BatchMatMulV2", infer=_matmul_infer, kernel=_matmul_kernel,
                            grad=_matmul_grad)


@export("linalg.matmul", "matmul", v1=["linalg.matmul", "matmul"])
def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None):
    """Matrix product of ``a`` and ``b`` (rank >= 2, batch dims broadcast) (``tf.linalg.matmul``).

    Raises:
      ValueError: when the inner dimensions differ (at graph construction).
      InvalidArgumentError: the same, found when running eagerly.
    """
    a, b = binary_inputs(a, b, "MatMul")
    attrs = {"transpose_a": bool(transpose_a or adjoint_a),
             "transpose_b": bool(transpose_b or adjoint_b)}
    opdef = _MATMUL if (a.shape.rank == 2 and b.shape.rank == 2) else _BATCH_MATMUL
    return apply_op(opdef, [a, b], attrs, name=name)


# ---- reductions (sum, mean) -------------------------------------------------------------------
def reduction_axis(axis, reduction_indices=None, keep_dims=None, keepdims=None):
    """Resolves TF1/TF2 reduction arguments to (axis tuple or None, keepdims bool)."""
    if axis is None:
        axis = reduction_indices
    if keepdims is None:
        keepdims = bool(keep_dims) if keep_dims is not None else False
    if axis is not None:
        if isinstance(axis, Tensor):
            v = infer.constant_value(axis)
            if v is None:
                raise NotImplementedError("reduction with a non-constant axis tensor")
            axis = v
        axis = tuple(int(a) for a in np.asarray(axis).reshape(-1))
    return axis, bool(keepdims)


def _reduce_infer(ins, a):
    x = ins[0]
    return [(x.dtype, infer.reduced_shape(x.shape, a["axis"], a["keepdims"]))]


def _check_axis(x, axis):
    if axis is not None:
        for ax in axis:
            if not -x.ndim <= ax < max(x.ndim, 1):
                raise ValueError(f"Invalid reduction dimension {ax} for input with {x.ndim} "
                                 "dimensions.")


def _sum_kernel(xp, x, axis, keepdims):
    _check_axis(x, axis)
    return xp.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


def _mean_kernel(xp, x, axis, keepdims):
    _check_axis(x, axis)
    if x.dtype.kind in "iu":
        s = xp.sum(x, axis=axis, keepdims=keepdims)
        n = x.size // max(s.size, 1) if x.size else 1
        return xp.trunc(s / n).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.mean(x, axis=axis, keepdims=keepdims, dtype=x.dtype)


def _sum_grad(op, g):
    return [broadcast_like(g, op.inputs[0], op.get_attr("axis"), op.get_attr("keepdims"))]


def _mean_grad(op, g):
    x = op.inputs[0]
    full = broadcast_like(g, x, op.get_attr("axis"), op.get_attr("keepdims"))
    from numflow.ops import array_ops
    n_in = cast(array_ops.size(x), x.dtype)
    n_out = cast(array_ops.size(op.outputs[0]), x.dtype)
    return [divide(full, divide(n_in, n_out))]


_SUM = register_op("Sum", infer=_reduce_infer, kernel=_sum_kernel, grad=_sum_grad)
_MEAN = register_op("Mean", infer=_reduce_infer, kernel=_mean_kernel, grad=_mean_grad)


def reduce_op(opdef, input_tensor, axis, keepdims, name, reduction_indices=None, keep_dims=None):
    """Applies a reduction OpDef with TF1/TF2 argument conventions."""
    axis, keepdims = reduction_axis(axis, reduction_indices, keep_dims, keepdims)
    return apply_op(opdef, [convert_to_tensor(input_tensor)], {"axis": axis, "keepdims": keepdims},
                    name=name)


@export("math.reduce_sum", "reduce_sum", v1=[])
def reduce_sum(input_tensor, axis=None, keepdims=False, name=None):
    """Sum of elements across ``axis`` (all when None) (``tf.math.reduce_sum``)."""
    return reduce_op(_SUM, input_tensor, axis, keepdims, name)


@export(v1=["math.reduce_sum", "reduce_sum"])
def reduce_sum_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
    """TF1 ``reduce_sum`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_SUM, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


@export("math.reduce_mean", "reduce_mean", v1=[])
def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    """Mean of elements across ``axis`` (``tf.math.reduce_mean``); integer means truncate."""
    return reduce_op(_MEAN, input_tensor, axis, keepdims, name)


@export(v1=["math.reduce_mean", "reduce_mean"])
def reduce_mean_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                   keep_dims=None):
    """TF1 ``reduce_mean`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_MEAN, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


# ---- broadcasting helpers used by gradients -------------------------------------------------
def _expand_reduced(xp, g, shape, axis, keepdims):
    if not keepdims:
        if axis is None:
            g = xp.reshape(g, [1] * len(shape))
        else:
            axes = sorted(a % len(shape) for a in axis)
            for a in axes:
                g = xp.expand_dims(g, a)
    return xp.broadcast_to(g, shape)


def _broadcast_like_grad(op, g):
    return [reduce_sum(g, axis=op.get_attr("axis"), keepdims=op.get_attr("keepdims")), None]


_BROADCAST_LIKE = register_op(
    "BroadcastLike", infer=lambda ins, a: [(ins[0].dtype, ins[1].shape)],
    kernel=lambda xp, g, x, axis, keepdims: _expand_reduced(xp, g, x.shape, axis, keepdims),
    grad=_broadcast_like_grad)


def broadcast_like(g, x, axis, keepdims):
    """Expands a reduction's output gradient ``g`` back to the shape of ``x``."""
    return apply_op(_BROADCAST_LIKE, [g, x], {"axis": axis, "keepdims": keepdims})


def _sum_to_shape(xp, g, shape):
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and g.shape[i + lead] != 1)
    return xp.sum(g, axis=axes, dtype=g.dtype).reshape(shape) if axes else g.reshape(shape)


_UNBROADCAST = register_op(
    "SumToShapeOf", infer=lambda ins, a: [(ins[0].dtype, ins[1].shape)],
    kernel=lambda xp, g, x: _sum_to_shape(xp, g, x.shape),
    grad=lambda op, g: [broadcast_like(g, op.inputs[0], None, True), None])


def unbroadcast_to(g, x):
    """Sums gradient ``g`` over the dimensions along which ``x`` was broadcast."""
    gs, xs = g.shape, x.shape
    if type(g) is EagerTensor and type(x) is EagerTensor:
        if g._value.shape == x._value.shape:
            return g
    elif gs.is_fully_defined() and xs.is_fully_defined() and gs == xs:
        return g
    return apply_op(_UNBROADCAST, [g, x])


# ---- add_n, cast --------------------------------------------------------------------------
def _add_n_kernel(xp, *xs):
    out = xs[0] + xs[1] if len(xs) > 1 else xs[0].copy()
    for x in xs[2:]:
        out += x
    return out


def _add_n_infer(ins, a):
    d = infer.same_dtype(ins, "AddN")
    s = ins[0].shape
    for t in ins[1:]:
        s = s.merge_with(t.shape)
    return [(d, s)]


_ADD_N = register_op("AddN", infer=_add_n_infer, kernel=_add_n_kernel,
                     grad=lambda op, g: [g] * len(op.inputs))


@export("math.add_n", "add_n")
def add_n(inputs, name=None):
    """Sums a list of same-shape tensors (``tf.math.add_n``)."""
    from numflow.ops.apply import convert_n
    ts = convert_n(list(inputs))
    if not ts:
        raise ValueError("inputs must be a non-empty list of tensors")
    if len(ts) == 1:
        return ts[0]
    return apply_op(_ADD_N, ts, name=name)


def _cast_grad(op, g):
    src = op.inputs[0].dtype.base_dtype
    if src.is_floating or src.is_complex:
        return [cast(g, src)]
    return [None]


_CAST = register_op("Cast", infer=lambda ins, a: [(a["DstT"], ins[0].shape)],
                    kernel=lambda xp, x, DstT: x.astype(DstT.as_numpy_dtype),
                    grad=_cast_grad)


@export("cast", "dtypes.cast")
def cast(x, dtype, name=None):
    """Casts ``x`` to ``dtype`` (``tf.cast``); floats truncate toward zero into ints."""
    dtype = dtypes.as_dtype(dtype).base_dtype
    x = convert_to_tensor(x)
    if x.dtype.base_dtype == dtype:
        return x
    return apply_op(_CAST, [x], {"DstT": dtype}, name=name)


@export(v1=["to_float"])
def to_float(x, name="ToFloat"):
    """Casts to float32 (TF1 ``tf.to_float``)."""
    return cast(x, dtypes.float32, name=name)


@export(v1=["to_int32"])
def to_int32(x, name="ToInt32"):
    """Casts to int32 (TF1 ``tf.to_int32``)."""
    return cast(x, dtypes.int32, name=name)


@export(v1=["to_int64"])
def to_int64(x, name="ToInt64"):
    """Casts to int64 (TF1 ``tf.to_int64``)."""
    return cast(x, dtypes.int64, name=name)


@export(v1=["to_double"])
def to_double(x, name="ToDouble"):
    """Casts to float64 (TF1 ``tf.to_double``)."""
    return cast(x, dtypes.float64, name=name)
