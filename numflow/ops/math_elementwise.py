"""Elementwise math: unary functions (exp, log, sigmoid...), binary arithmetic beyond the
core four (floordiv, floormod, pow, maximum...), comparisons, logical ops, where/select,
and the clip helpers.

Every kernel runs under ``np.errstate(all="ignore")``: TF returns inf/nan silently.
"""
import math

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.math_ops import (add, binary_inputs, cast, divide, multiply, negative,
                                  reduce_sum, subtract)
from numflow.ops.registry import register_op
from numflow.ops import array_ops


def _quiet(fn):
    """Wraps an array function as a kernel that never lets a RuntimeWarning escape."""
    def kernel(xp, *arrays):
        with np.errstate(all="ignore"):
            return fn(xp, *arrays)
    return kernel


def _check_kind(x, kinds, op_name):
    """TypeError unless ``x``'s dtype is allowed: kinds is a subset of "fciub"."""
    d = x.dtype.base_dtype
    kind = ("f" if d.is_floating else "c" if d.is_complex else "b" if d.is_bool
            else "u" if d.is_unsigned else "i" if d.is_integer else "s")
    if kind not in kinds:
        raise TypeError(f"{op_name}: Value for attr 'T' of {d.name} is not in the list of "
                        f"allowed values for this op")
    return x


_FLOAT = "fc"
_NUMERIC = "fciu"
_REAL = "fiu"


def _unary(op_name, fn, grad, kinds, doc, names, v1=None, out_dtype=None):
    """Registers a unary elementwise op and returns its public function."""
    inf = infer.same_as_input() if out_dtype is None else \
        (lambda ins, a: [(out_dtype, ins[0].shape)])
    opdef = register_op(op_name, infer=inf, kernel=_quiet(fn), grad=grad)

    def public(x, name=None):
        return apply_op(opdef, [_check_kind(convert_to_tensor(x), kinds, op_name)], name=name)
    public.__name__ = public.__qualname__ = names[0].split(".")[-1] if names else \
        v1[0].split(".")[-1]
    public.__doc__ = doc
    public.opdef = opdef
    return export(*names, v1=v1)(public)


def _binary(op_name, fn, grad, kinds, doc, names, v1=None, out_dtype=None):
    """Registers a broadcasting binary elementwise op and returns its public function."""
    opdef = register_op(op_name, infer=infer.binary_broadcast(out_dtype), kernel=_quiet(fn),
                        grad=grad)

    def public(x, y, name=None):
        x, y = binary_inputs(x, y, op_name)
        _check_kind(x, kinds, op_name)
        return apply_op(opdef, [x, y], name=name)
    public.__name__ = public.__qualname__ = names[0].split(".")[-1]
    public.__doc__ = doc
    public.opdef = opdef
    return export(*names, v1=v1)(public)


def _g(op):
    return op.inputs[0]


# ---- unary math ---------------------------------------------------------------------------
def _abs_fn(xp, x):
    return xp.abs(x)


abs = _unary(  # noqa: A001 - TF's public name
    "Abs", _abs_fn, lambda op, g: [multiply(g, sign(_g(op)))], _REAL,
    "abs(x, name=None): the absolute value of ``x`` elementwise (``tf.math.abs``).",
    ("math.abs", "abs"))
sign = _unary(
    "Sign", lambda xp, x: xp.sign(x), lambda op, g: [array_ops.zeros_like(_g(op))], _NUMERIC,
    "sign(x, name=None): -1, 0 or 1 elementwise (``tf.math.sign``).", ("math.sign", "sign"))
square = _unary(
    "Square", lambda xp, x: x * x, lambda op, g: [multiply(g, multiply(_g(op), 2))], _NUMERIC,
    "square(x, name=None): ``x * x`` elementwise (``tf.math.square``).",
    ("math.square", "square"))
sqrt = _unary(
    "Sqrt", lambda xp, x: xp.sqrt(x),
    lambda op, g: [divide(multiply(g, 0.5), op.outputs[0])], _FLOAT,
    "sqrt(x, name=None): the square root of ``x`` elementwise (``tf.math.sqrt``).",
    ("math.sqrt", "sqrt"))
rsqrt = _unary(
    "Rsqrt", lambda xp, x: 1 / xp.sqrt(x),
    lambda op, g: [multiply(multiply(g, -0.5), op.outputs[0] * op.outputs[0] * op.outputs[0])],
    _FLOAT, "rsqrt(x, name=None): ``1 / sqrt(x)`` elementwise (``tf.math.rsqrt``).",
    ("math.rsqrt",), v1=["math.rsqrt", "rsqrt"])
reciprocal = _unary(
    "Reciprocal", lambda xp, x: 1 / x,
    lambda op, g: [negative(multiply(g, square(op.outputs[0])))], _FLOAT,
    "reciprocal(x, name=None): ``1 / x`` elementwise (``tf.math.reciprocal``).",
    ("math.reciprocal",), v1=["math.reciprocal", "reciprocal"])
exp = _unary(
    "Exp", lambda xp, x: xp.exp(x), lambda op, g: [multiply(g, op.outputs[0])], _FLOAT,
    "exp(x, name=None): ``e ** x`` elementwise (``tf.math.exp``).", ("math.exp", "exp"))
expm1 = _unary(
    "Expm1", lambda xp, x: xp.expm1(x), lambda op, g: [multiply(g, exp(_g(op)))], _FLOAT,
    "expm1(x, name=None): ``exp(x) - 1`` accurately near 0 (``tf.math.expm1``).",
    ("math.expm1",), v1=["math.expm1", "expm1"])
log = _unary(
    "Log", lambda xp, x: xp.log(x), lambda op, g: [divide(g, _g(op))], _FLOAT,
    "log(x, name=None): the natural logarithm elementwise (``tf.math.log``; TF1 ``tf.log``).",
    ("math.log",), v1=["math.log", "log"])
log1p = _unary(
    "Log1p", lambda xp, x: xp.log1p(x), lambda op, g: [divide(g, add(_g(op), 1))], _FLOAT,
    "log1p(x, name=None): ``log(1 + x)`` accurately near 0 (``tf.math.log1p``).",
    ("math.log1p",), v1=["math.log1p", "log1p"])
sin = _unary(
    "Sin", lambda xp, x: xp.sin(x), lambda op, g: [multiply(g, cos(_g(op)))], _FLOAT,
    "sin(x, name=None): the sine elementwise (``tf.math.sin``).", ("math.sin", "sin"))
cos = _unary(
    "Cos", lambda xp, x: xp.cos(x), lambda op, g: [negative(multiply(g, sin(_g(op))))], _FLOAT,
    "cos(x, name=None): the cosine elementwise (``tf.math.cos``).", ("math.cos", "cos"))
tan = _unary(
    "Tan", lambda xp, x: xp.tan(x),
    lambda op, g: [multiply(g, add(square(op.outputs[0]), 1))], _FLOAT,
    "tan(x, name=None): the tangent elementwise (``tf.math.tan``).", ("math.tan", "tan"))
tanh = _unary(
    "Tanh", lambda xp, x: xp.tanh(x),
    lambda op, g: [multiply(g, subtract(1, square(op.outputs[0])))], _FLOAT,
    "tanh(x, name=None): the hyperbolic tangent elementwise (``tf.math.tanh``).",
    ("math.tanh", "nn.tanh", "tanh"))


def _sigmoid_fn(xp, x):
    # exp of a non-positive number never overflows; both branches agree at 0.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


sigmoid = _unary(
    "Sigmoid", _sigmoid_fn,
    lambda op, g: [multiply(g, multiply(op.outputs[0], subtract(1, op.outputs[0])))], _FLOAT,
    "sigmoid(x, name=None): ``1 / (1 + exp(-x))`` elementwise, without overflow "
    "(``tf.math.sigmoid``).", ("math.sigmoid", "nn.sigmoid", "sigmoid"))


def _erf_fn(xp, x):
    try:
        from scipy.special import erf as _erf
        return _erf(x).astype(x.dtype, copy=False)
    except ImportError:
        return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
erf = _unary(
    "Erf", _erf_fn,
    lambda op, g: [multiply(g, multiply(exp(negative(square(_g(op)))), _TWO_OVER_SQRT_PI))],
    "f", "erf(x, name=None): the Gauss error function elementwise (``tf.math.erf``).",
    ("math.erf",), v1=["math.erf", "erf"])
round = _unary(  # noqa: A001 - TF's public name
    "Round", lambda xp, x: xp.round(x) if x.dtype.kind in "fc" else x, None, _NUMERIC,
    "round(x, name=None): rounds half to even elementwise, as TF does (``tf.math.round``).",
    ("math.round", "round"))
floor = _unary(
    "Floor", lambda xp, x: xp.floor(x), None, "f",
    "floor(x, name=None): the largest integer not greater than ``x`` (``tf.math.floor``).",
    ("math.floor", "floor"))
ceil = _unary(
    "Ceil", lambda xp, x: xp.ceil(x), None, "f",
    "ceil(x, name=None): the smallest integer not less than ``x`` (``tf.math.ceil``).",
    ("math.ceil",), v1=["math.ceil", "ceil"])
is_nan = _unary(
    "IsNan", lambda xp, x: xp.isnan(x), None, "f",
    "is_nan(x, name=None): True where ``x`` is NaN (``tf.math.is_nan``).",
    ("math.is_nan",), v1=["math.is_nan", "is_nan"], out_dtype=dtypes.bool)
is_inf = _unary(
    "IsInf", lambda xp, x: xp.isinf(x), None, "f",
    "is_inf(x, name=None): True where ``x`` is +-inf (``tf.math.is_inf``).",
    ("math.is_inf",), v1=["math.is_inf", "is_inf"], out_dtype=dtypes.bool)
is_finite = _unary(
    "IsFinite", lambda xp, x: xp.isfinite(x), None, "f",
    "is_finite(x, name=None): True where ``x`` is neither inf nor NaN (``tf.math.is_finite``).",
    ("math.is_finite",), v1=["math.is_finite", "is_finite"], out_dtype=dtypes.bool)


# ---- binary arithmetic ----------------------------------------------------------------------
def _int_zero_check(y):
    if y.dtype.kind in "iu" and not y.all():
        raise ZeroDivisionError("Integer division by zero")


def _floordiv_fn(xp, x, y):
    _int_zero_check(y)
    return xp.floor_divide(x, y)


def _floormod_fn(xp, x, y):
    _int_zero_check(y)
    return xp.mod(x, y)


floordiv = _binary(
    "FloorDiv", _floordiv_fn, None, _REAL,
    "floordiv(x, y, name=None): ``x // y`` rounding toward -inf (``tf.math.floordiv``).\n\n"
    "Raises InvalidArgumentError for integer division by zero.",
    ("math.floordiv",), v1=["math.floordiv", "floordiv"])
floormod = _binary(
    "FloorMod", _floormod_fn,
    lambda op, g: [g, negative(multiply(g, floordiv(op.inputs[0], op.inputs[1])))], _REAL,
    "floormod(x, y, name=None): remainder with the sign of ``y``, ``x - floordiv(x, y) * y`` "
    "(``tf.math.floormod``, ``tf.math.mod``).",
    ("math.floormod", "math.mod"), v1=["math.floormod", "floormod", "math.mod", "mod"])
mod = floormod


def _pow_fn(xp, x, y):
    return xp.power(x, y)


def _pow_grad(op, g):
    x, y = op.inputs
    z = op.outputs[0]
    gx = multiply(g, multiply(y, pow(x, subtract(y, 1))))
    if not x.dtype.base_dtype.is_floating:
        return [gx, None]
    positive = greater(x, 0)
    safe_log = log(where(positive, x, array_ops.ones_like(x)))
    gy = multiply(g, multiply(z, where(positive, safe_log, array_ops.zeros_like(x))))
    return [gx, gy]


pow = _binary(  # noqa: A001 - TF's public name
    "Pow", _pow_fn, _pow_grad, _NUMERIC,
    "pow(x, y, name=None): ``x ** y`` elementwise with broadcasting (``tf.math.pow``).",
    ("math.pow", "pow"))


def _max_grad(op, g):
    mask = greater_equal(op.inputs[0], op.inputs[1])
    zeros = array_ops.zeros_like(g)
    return [where(mask, g, zeros), where(mask, zeros, g)]


def _min_grad(op, g):
    mask = less_equal(op.inputs[0], op.inputs[1])
    zeros = array_ops.zeros_like(g)
    return [where(mask, g, zeros), where(mask, zeros, g)]


maximum = _binary(
    "Maximum", lambda xp, x, y: xp.maximum(x, y), _max_grad, _REAL,
    "maximum(x, y, name=None): the larger of ``x`` and ``y`` elementwise (``tf.math.maximum``).",
    ("math.maximum", "maximum"))
minimum = _binary(
    "Minimum", lambda xp, x, y: xp.minimum(x, y), _min_grad, _REAL,
    "minimum(x, y, name=None): the smaller of ``x`` and ``y`` elementwise (``tf.math.minimum``).",
    ("math.minimum", "minimum"))


def _sqdiff_grad(op, g):
    d = multiply(multiply(g, 2), subtract(op.inputs[0], op.inputs[1]))
    return [d, negative(d)]


squared_difference = _binary(
    "SquaredDifference", lambda xp, x, y: (x - y) * (x - y), _sqdiff_grad, _NUMERIC,
    "squared_difference(x, y, name=None): ``(x - y) ** 2`` elementwise "
    "(``tf.math.squared_difference``).",
    ("math.squared_difference",), v1=["math.squared_difference", "squared_difference"])

# ---- comparisons and logic ------------------------------------------------------------------
_ANY = "fciubs"
equal = _binary(
    "Equal", lambda xp, x, y: xp.equal(x, y), None, _ANY,
    "equal(x, y, name=None): ``x == y`` elementwise, a bool tensor (``tf.math.equal``).",
    ("math.equal", "equal"), out_dtype=dtypes.bool)
not_equal = _binary(
    "NotEqual", lambda xp, x, y: xp.not_equal(x, y), None, _ANY,
    "not_equal(x, y, name=None): ``x != y`` elementwise (``tf.math.not_equal``).",
    ("math.not_equal", "not_equal"), out_dtype=dtypes.bool)
less = _binary(
    "Less", lambda xp, x, y: xp.less(x, y), None, _REAL,
    "less(x, y, name=None): ``x < y`` elementwise (``tf.math.less``).",
    ("math.less", "less"), out_dtype=dtypes.bool)
less_equal = _binary(
    "LessEqual", lambda xp, x, y: xp.less_equal(x, y), None, _REAL,
    "less_equal(x, y, name=None): ``x <= y`` elementwise (``tf.math.less_equal``).",
    ("math.less_equal", "less_equal"), out_dtype=dtypes.bool)
greater = _binary(
    "Greater", lambda xp, x, y: xp.greater(x, y), None, _REAL,
    "greater(x, y, name=None): ``x > y`` elementwise (``tf.math.greater``).",
    ("math.greater", "greater"), out_dtype=dtypes.bool)
greater_equal = _binary(
    "GreaterEqual", lambda xp, x, y: xp.greater_equal(x, y), None, _REAL,
    "greater_equal(x, y, name=None): ``x >= y`` elementwise (``tf.math.greater_equal``).",
    ("math.greater_equal", "greater_equal"), out_dtype=dtypes.bool)
logical_and = _binary(
    "LogicalAnd", lambda xp, x, y: xp.logical_and(x, y), None, "b",
    "logical_and(x, y, name=None): elementwise AND of bool tensors (``tf.math.logical_and``).",
    ("math.logical_and", "logical_and"), out_dtype=dtypes.bool)
logical_or = _binary(
    "LogicalOr", lambda xp, x, y: xp.logical_or(x, y), None, "b",
    "logical_or(x, y, name=None): elementwise OR of bool tensors (``tf.math.logical_or``).",
    ("math.logical_or", "logical_or"), out_dtype=dtypes.bool)
logical_not = _unary(
    "LogicalNot", lambda xp, x: xp.logical_not(x), None, "b",
    "logical_not(x, name=None): elementwise NOT of a bool tensor (``tf.math.logical_not``).",
    ("math.logical_not", "logical_not"))


@export("math.logical_xor", v1=["math.logical_xor", "logical_xor"])
def logical_xor(x, y, name="LogicalXor"):
    """Elementwise XOR of bool tensors: ``(x | y) & ~(x & y)`` (``tf.math.logical_xor``)."""
    x, y = binary_inputs(x, y, "LogicalXor")
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


# ---- where / select -------------------------------------------------------------------------
def _select_v2_infer(ins, a):
    c, x, y = ins
    d = infer.same_dtype([x, y], "SelectV2")
    return [(d, infer.broadcast_shapes(c.shape, infer.broadcast_shapes(x.shape, y.shape)))]


def _select_grad(op, g):
    c = op.inputs[0]
    zeros = array_ops.zeros_like(g)
    return [None, where(c, g, zeros), where(c, zeros, g)]


_SELECT_V2 = register_op("SelectV2", infer=_select_v2_infer,
                         kernel=lambda xp, c, x, y: xp.where(c, x, y), grad=_select_grad)


def _select_infer(ins, a):
    c, x, y = ins
    d = infer.same_dtype([x, y], "Select")
    s = x.shape.merge_with(y.shape)
    if c.shape.rank is not None and s.rank is not None and c.shape.rank not in (0, 1, s.rank):
        raise ValueError(f"Select: condition must be a scalar, a vector or have the shape of x; "
                         f"got {c.shape} for {s}")
    return [(d, s)]


def _select_kernel(xp, c, x, y):
    if x.shape != y.shape:
        raise ValueError(f"'then' and 'else' must have the same size, but received: "
                         f"{x.shape} vs. {y.shape}")
    if c.ndim == 1 and x.ndim > 1:
        if c.shape[0] != x.shape[0]:
            raise ValueError(f"condition has {c.shape[0]} elements but x has {x.shape[0]} rows")
        c = c.reshape(c.shape + (1,) * (x.ndim - 1))
    elif c.ndim and c.shape != x.shape:
        raise ValueError(f"condition {c.shape} and x {x.shape} must have the same shape")
    return xp.where(c, x, y)


def _select_v1_grad(op, g):
    c = op.inputs[0]
    zeros = array_ops.zeros_like(g)
    return [None, _select(c, g, zeros), _select(c, zeros, g)]


_SELECT = register_op("Select", infer=_select_infer, kernel=_select_kernel, grad=_select_v1_grad)


def _where_coords_infer(ins, a):
    r = ins[0].shape.rank
    return [(dtypes.int64, TensorShape([None, r]))]


_WHERE = register_op(
    "Where", infer=_where_coords_infer,
    kernel=lambda xp, c: xp.argwhere(c).astype(xp.int64).reshape(-1, c.ndim))


def _where_inputs(condition, x, y, op_name):
    c = convert_to_tensor(condition)
    if not c.dtype.base_dtype.is_bool:
        raise TypeError(f"{op_name}: condition must be a bool tensor, got {c.dtype.name}")
    x, y = binary_inputs(x, y, op_name)
    return c, x, y


def _coords(condition, name):
    c = convert_to_tensor(condition)
    if not c.dtype.base_dtype.is_bool:
        c = not_equal(c, array_ops.zeros_like(c))
    return apply_op(_WHERE, [c], name=name)


@export("where", v1=["where_v2"])
def where(condition, x=None, y=None, name=None):
    """``tf.where(condition, x=None, y=None, name=None)`` (TF2 semantics).

    With ``x`` and ``y``: elements of ``x`` where ``condition`` is True, else of ``y``;
    the three broadcast together. Alone: the int64 coordinates ``[N, rank]`` of the True
    (non-zero) elements of ``condition``.
    """
    if x is None and y is None:
        return _coords(condition, name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    return apply_op(_SELECT_V2, list(_where_inputs(condition, x, y, "SelectV2")), name=name)


def _select(condition, x, y, name=None):
    return apply_op(_SELECT, list(_where_inputs(condition, x, y, "Select")), name=name)


@export(v1=["where"])
def where_v1(condition, x=None, y=None, name=None):
    """TF1 ``tf.where(condition, x=None, y=None, name=None)`` (the ``Select`` op).

    ``x`` and ``y`` must have the same shape; ``condition`` has their shape, or is a vector
    choosing whole rows, or a scalar. Alone: the coordinates of True elements.
    """
    if x is None and y is None:
        return _coords(condition, name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    return _select(condition, x, y, name=name)


select = where_v1   # the pre-1.0 name (numflow.v1.select)


# ---- clipping -------------------------------------------------------------------------------
@export("clip_by_value", v1=["clip_by_value"])
def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clips ``t`` to ``[clip_value_min, clip_value_max]`` elementwise (``tf.clip_by_value``).

    The bounds broadcast against ``t``; gradients flow where ``t`` is inside the bounds.
    """
    t = convert_to_tensor(t)
    out = minimum(t, clip_value_max)
    return maximum(out, clip_value_min, name=name)


@export("clip_by_norm", v1=["clip_by_norm"])
def clip_by_norm(t, clip_norm, axes=None, name=None):
    """Rescales ``t`` so its L2 norm over ``axes`` is at most ``clip_norm`` (``tf.clip_by_norm``).

    ``t * clip_norm / max(l2norm(t), clip_norm)``; an all-zero ``t`` stays zero.
    """
    t = convert_to_tensor(t)
    l2sum = reduce_sum(t * t, axes, keepdims=True)
    pred = greater(l2sum, 0)
    l2sum_safe = where(pred, l2sum, array_ops.ones_like(l2sum))
    l2norm = where(pred, sqrt(l2sum_safe), l2sum)
    clip_norm = cast(convert_to_tensor(clip_norm, dtype_hint=t.dtype), t.dtype)
    return array_ops.identity(divide(multiply(t, clip_norm), maximum(l2norm, clip_norm)),
                              name=name)
