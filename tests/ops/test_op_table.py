"""The op table: one or more rows per registered op, each checked end to end by
``numflow.testing.check_op`` (forward vs a float64 NumPy reference, graph == eager, static
shape == runtime shape, float32 stays float32, gradients vs central differences), with
size-0, size-1 and broadcast shapes. ``test_every_registered_op_has_a_row`` fails when an
op is registered without a row here or in another ``tests/ops/test_*.py`` (via add_rows).
"""
import importlib
import os
import sys

import numpy as np
import pytest

import numflow as tf
from numflow.autodiff.gradients import gradients
from numflow.ops.apply import apply_op
from numflow.ops.registry import lookup, registered_ops
from numflow.testing import Row, add_rows

try:
    from scipy.special import erf as _sp_erf
except ImportError:   # pragma: no cover - scipy is a test dependency
    _sp_erf = np.vectorize(__import__("math").erf)

R = np.random.RandomState(42)
F32 = np.float32


def rnd(*shape, lo=-2.0, hi=2.0, dtype=F32):
    return R.uniform(lo, hi, shape).astype(dtype)


def distinct(*shape, dtype=F32):
    """Values with no ties (for max/min/top_k gradients), spaced by at least 0.1."""
    n = int(np.prod(shape))
    return (R.permutation(n).reshape(shape) * 0.1 - n * 0.05).astype(dtype)


def ints(*shape, lo=0, hi=5, dtype=np.int32):
    return R.randint(lo, hi, shape).astype(dtype)


def bools(*shape):
    return R.rand(*shape) > 0.5


ROWS = []


def rows(*rs):
    ROWS.extend(add_rows(rs))


# ---- unary elementwise ------------------------------------------------------------------------
UNARY = [
    # op, public fn, reference, (lo, hi), differentiable
    ("Abs", tf.math.abs, np.abs, None, True),
    ("Sign", tf.math.sign, np.sign, None, True),
    ("Square", tf.math.square, np.square, (-2, 2), True),
    ("Sqrt", tf.math.sqrt, np.sqrt, (0.5, 3), True),
    ("Rsqrt", tf.math.rsqrt, lambda x: 1 / np.sqrt(x), (0.5, 3), True),
    ("Reciprocal", tf.math.reciprocal, lambda x: 1 / x, (0.5, 3), True),
    ("Exp", tf.math.exp, np.exp, (-2, 2), True),
    ("Expm1", tf.math.expm1, np.expm1, (-2, 2), True),
    ("Log", tf.math.log, np.log, (0.5, 3), True),
    ("Log1p", tf.math.log1p, np.log1p, (-0.5, 2), True),
    ("Sin", tf.math.sin, np.sin, (-3, 3), True),
    ("Cos", tf.math.cos, np.cos, (-3, 3), True),
    ("Tan", tf.math.tan, np.tan, (-1, 1), True),
    ("Tanh", tf.math.tanh, np.tanh, (-3, 3), True),
    ("Sigmoid", tf.math.sigmoid, lambda x: 1 / (1 + np.exp(-x)), (-5, 5), True),
    ("Erf", tf.math.erf, _sp_erf, (-2, 2), True),
    ("Round", tf.math.round, np.round, (-3, 3), False),
    ("Floor", tf.math.floor, np.floor, (-3, 3), False),
    ("Ceil", tf.math.ceil, np.ceil, (-3, 3), False),
    ("Neg", tf.math.negative, np.negative, (-2, 2), True),
    ("Identity", tf.identity, lambda x: x, (-2, 2), True),
]


def _away_from_zero(*shape):
    x = rnd(*shape, lo=0.2, hi=2.0)
    return (x * np.where(R.rand(*shape) > 0.5, 1, -1)).astype(F32)


for op, fn, ref, dom, diff in UNARY:
    for shape in [(2, 3), (0, 3), (1,), ()]:
        x = _away_from_zero(*shape) if dom is None else rnd(*shape, lo=dom[0], hi=dom[1])
        if op in ("Round", "Floor", "Ceil"):
            x = (np.round(x * 4) / 4 + 0.1).astype(F32)   # away from .0/.5 boundaries
        rows(Row(op, fn, [x], ref, grad=diff, name=str(shape),
                 grad2=diff and shape == (2, 3) and op not in ("Abs", "Sign", "Identity")))

for op, fn, ref in [("IsNan", tf.math.is_nan, np.isnan), ("IsInf", tf.math.is_inf, np.isinf),
                    ("IsFinite", tf.math.is_finite, np.isfinite)]:
    special = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], F32)
    rows(Row(op, fn, [special], ref, grad=False),
         Row(op, fn, [rnd(0, 2)], ref, grad=False, name="empty"))

rows(Row("LogicalNot", tf.math.logical_not, [bools(2, 3)], np.logical_not, grad=False),
     Row("Abs", tf.math.abs, [ints(2, 3, lo=-5)], np.abs, grad=False, name="int"),
     Row("Square", tf.math.square, [ints(4, lo=-5)], np.square, grad=False, name="int"),
     Row("Round", tf.math.round, [np.array([0.5, 1.5, 2.5, -0.5, -1.5], F32)], np.round,
         grad=False, name="half_to_even"),
     Row("Sigmoid", tf.math.sigmoid, [np.array([-1000., -50., 0., 50., 1000.], F32)],
         lambda x: np.exp(-np.logaddexp(0, -x)), grad=False, name="overflow_safe"))

# ---- binary elementwise -----------------------------------------------------------------------
SHAPE_PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((1, 3), (2, 1)), ((0, 3), (1, 3)), ((), (2,))]

BINARY = [
    ("AddV2", tf.math.add, np.add, None),
    ("Sub", tf.math.subtract, np.subtract, None),
    ("Mul", tf.math.multiply, np.multiply, None),
    ("RealDiv", tf.math.divide, np.divide, (0.5, 2)),
    ("Maximum", tf.math.maximum, np.maximum, "distinct"),
    ("Minimum", tf.math.minimum, np.minimum, "distinct"),
    ("SquaredDifference", tf.math.squared_difference, lambda a, b: (a - b) ** 2, None),
    ("Pow", tf.math.pow, np.power, (0.5, 2)),
    ("FloorMod", tf.math.floormod, np.mod, (0.5, 2)),
]

for op, fn, ref, dom in BINARY:
    for sa, sb in SHAPE_PAIRS:
        if dom is None or dom == "distinct":   # random floats: ties have probability ~0
            a, b = rnd(*sa), rnd(*sb)
        else:
            a, b = rnd(*sa, lo=dom[0], hi=dom[1]), rnd(*sb, lo=dom[0], hi=dom[1])
        if op == "FloorMod":   # keep x / y away from integers (the kinks)
            b = np.full(sb, 0.7, F32)
            a = (np.floor(a / 0.7) * 0.7 + 0.35).astype(F32)
        rows(Row(op, fn, [a.astype(F32), b.astype(F32)], ref, name=f"{sa}x{sb}",
                 grad2=op in ("Mul", "RealDiv", "Pow") and sa == sb == (2, 3)))

rows(Row("FloorDiv", tf.math.floordiv, [rnd(2, 3), np.full((3,), 0.7, F32)], np.floor_divide,
         grad=False),
     Row("FloorDiv", tf.math.floordiv, [ints(2, 3, lo=-9, hi=9), ints(3, lo=1, hi=4)],
         np.floor_divide, grad=False, name="int"),
     Row("FloorMod", tf.math.floormod, [ints(2, 3, lo=-9, hi=9), ints(3, lo=1, hi=4)],
         np.mod, grad=False, name="int"),
     Row("Pow", tf.math.pow, [ints(2, 3, lo=-3, hi=4), ints(3, lo=0, hi=3)], np.power,
         grad=False, name="int"),
     Row("AddV2", tf.math.add, [ints(2, 3), ints(2, 1)], np.add, grad=False, name="int"))

CMP = [("Equal", tf.math.equal, np.equal), ("NotEqual", tf.math.not_equal, np.not_equal),
       ("Less", tf.math.less, np.less), ("LessEqual", tf.math.less_equal, np.less_equal),
       ("Greater", tf.math.greater, np.greater),
       ("GreaterEqual", tf.math.greater_equal, np.greater_equal)]
for op, fn, ref in CMP:
    rows(Row(op, fn, [ints(2, 3), ints(3)], ref, grad=False, name="int"),
         Row(op, fn, [np.round(rnd(1, 3)), np.round(rnd(2, 1))], ref, grad=False,
             name="broadcast"),
         Row(op, fn, [rnd(0, 3), rnd(1, 3)], ref, grad=False, name="empty"))
for op, fn, ref in [("LogicalAnd", tf.math.logical_and, np.logical_and),
                    ("LogicalOr", tf.math.logical_or, np.logical_or)]:
    rows(Row(op, fn, [bools(2, 3), bools(3)], ref, grad=False),
         Row(op, fn, [bools(0, 3), bools(1, 3)], ref, grad=False, name="empty"))
rows(Row("LogicalAnd", tf.math.logical_xor, [bools(2, 3), bools(2, 3)], np.logical_xor,
         grad=False, name="xor"))

# ---- select / where ---------------------------------------------------------------------------
rows(Row("SelectV2", lambda c, x, y: tf.where(c, x, y), [bools(2, 3), rnd(2, 3), rnd(3)],
         np.where),
     Row("SelectV2", lambda c, x, y: tf.where(c, x, y), [bools(2, 1), rnd(1, 3), rnd(2, 3)],
         np.where, name="broadcast"),
     Row("SelectV2", lambda c, x, y: tf.where(c, x, y), [bools(0, 3), rnd(0, 3), rnd(3)],
         np.where, name="empty"),
     Row("Select", lambda c, x, y: tf.compat.v1.where(c, x, y),
         [bools(2), rnd(2, 3), rnd(2, 3)], lambda c, x, y: np.where(c[:, None], x, y),
         name="rows"),
     Row("Select", lambda c, x, y: tf.compat.v1.where(c, x, y),
         [bools(2, 3), rnd(2, 3), rnd(2, 3)], np.where, name="same_shape"),
     Row("Where", lambda c: tf.where(c), [bools(3, 4)], np.argwhere, grad=False,
         dynamic_shape=True),
     Row("Where", lambda c: tf.where(c), [bools(0, 4)], np.argwhere, grad=False,
         dynamic_shape=True, name="empty"))


# ---- clip composites --------------------------------------------------------------------------
def _clip_norm_ref(t, c):
    n = np.sqrt((t * t).sum())
    return t * c / max(n, c)


rows(Row("Maximum", lambda t: tf.clip_by_value(t, -0.5, 0.8), [distinct(3, 4) + F32(0.03)],
         lambda t: np.clip(t, -0.5, 0.8), name="clip_by_value"),
     Row("Sqrt", lambda t: tf.clip_by_norm(t, 1.5), [rnd(2, 3)],
         lambda t: _clip_norm_ref(t, 1.5), name="clip_by_norm"))

# ---- core array ops ---------------------------------------------------------------------------
rows(Row("Const", lambda x: x + tf.constant([1.0, 2.0, 3.0], dtype=x.dtype), [rnd(2, 3)],
         lambda x: x + [1, 2, 3]),
     Row("Placeholder", lambda x: x * 2.0, [rnd(2, 3)], lambda x: x * 2),
     Row("StopGradient", lambda x: tf.stop_gradient(x) * x, [rnd(2, 3)], lambda x: x * x,
         grad=False),
     Row("Shape", lambda x: tf.shape(x), [rnd(2, 3)], lambda x: np.array(x.shape, np.int32),
         grad=False),
     Row("Shape", lambda x: tf.shape(x), [rnd(0)], lambda x: np.array(x.shape, np.int32),
         grad=False, name="empty"),
     Row("Size", lambda x: tf.size(x), [rnd(2, 3)], lambda x: np.array(x.size, np.int32),
         grad=False),
     Row("Rank", lambda x: tf.rank(x), [rnd(2, 3)], lambda x: np.array(x.ndim, np.int32),
         grad=False),
     Row("Reshape", lambda x: tf.reshape(x, [3, -1]), [rnd(2, 3)], lambda x: x.reshape(3, -1)),
     Row("Reshape", lambda x: tf.reshape(x, [0, 5]), [rnd(0, 3)], lambda x: x.reshape(0, 5),
         name="empty"),
     Row("Pack", lambda a, b: tf.stack([a, b], axis=1), [rnd(2, 3), rnd(2, 3)],
         lambda a, b: np.stack([a, b], 1)),
     Row("Unpack", lambda x: tf.unstack(x, num=3, axis=1), [rnd(2, 3)],
         lambda x: [x[:, i] for i in range(3)]),
     Row("Fill", lambda v: tf.fill([2, 3], v), [np.array(1.5, F32)],
         lambda v: np.full((2, 3), v)),
     Row("ZerosLike", lambda x: tf.zeros_like(x) + x, [rnd(2, 3)], lambda x: x),
     Row("OnesLike", lambda x: tf.ones_like(x) * x, [rnd(2, 3)], lambda x: x),
     Row("Cast", lambda x: tf.cast(x, tf.int32), [rnd(2, 3, lo=-3, hi=3)],
         lambda x: x.astype(np.int32), grad=False),
     Row("Cast", lambda x: tf.cast(x, tf.float64), [rnd(2, 3)], lambda x: x,
         check_dtype=False, name="to_float64"),
     Row("AddN", lambda a, b, c: tf.add_n([a, b, c]), [rnd(2, 3), rnd(2, 3), rnd(2, 3)],
         lambda a, b, c: a + b + c),
     Row("MatMul", lambda a, b: tf.matmul(a, b), [rnd(2, 3), rnd(3, 4)], np.matmul,
         grad2=True),
     Row("MatMul", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
         [rnd(3, 2), rnd(4, 3)], lambda a, b: a.T @ b.T, name="transposed"),
     Row("MatMul", lambda a, b: tf.matmul(a, b), [rnd(0, 3), rnd(3, 4)], np.matmul,
         name="empty"),
     Row("BatchMatMulV2", lambda a, b: tf.matmul(a, b), [rnd(2, 2, 3), rnd(1, 3, 4)],
         np.matmul),
     Row("Sum", lambda x: tf.reduce_sum(x, axis=1), [rnd(2, 3)], lambda x: x.sum(1)),
     Row("Sum", lambda x: tf.reduce_sum(x, keepdims=True), [rnd(0, 3)],
         lambda x: x.sum(keepdims=True), name="empty"),
     Row("Mean", lambda x: tf.reduce_mean(x, axis=[0, 2]), [rnd(2, 3, 2)],
         lambda x: x.mean((0, 2))),
     Row("Mean", lambda x: tf.reduce_mean(x, axis=0, keepdims=True), [rnd(1, 3)],
         lambda x: x.mean(0, keepdims=True), name="size1"),
     Row("BroadcastLike", lambda g, x: apply_op(lookup("BroadcastLike"), [g, x],
                                                {"axis": (1,), "keepdims": False}),
         [rnd(2), rnd(2, 3)], lambda g, x: np.broadcast_to(g[:, None], x.shape),
         grad_inputs=[0]),
     Row("SumToShapeOf", lambda g, x: apply_op(lookup("SumToShapeOf"), [g, x]),
         [rnd(2, 3), rnd(1, 3)], lambda g, x: g.sum(0, keepdims=True), grad_inputs=[0]))


def _noop_check():
    g = tf.Graph()
    with g.as_default():
        op = tf.no_op(name="nothing")
        assert op.type == "NoOp" and op.outputs == []
        with tf.compat.v1.Session(graph=g) as sess:
            assert sess.run(op) is None


rows(Row("NoOp", None, [], custom=_noop_check))

# ---- reductions -------------------------------------------------------------------------------


def _np_max(x, axis=None, keepdims=False):
    return np.max(x, axis=axis, keepdims=keepdims, initial=-np.inf)


def _np_min(x, axis=None, keepdims=False):
    return np.min(x, axis=axis, keepdims=keepdims, initial=np.inf)


for op, fn, ref in [("Max", tf.reduce_max, _np_max), ("Min", tf.reduce_min, _np_min),
                    ("Prod", tf.reduce_prod, np.prod)]:
    for axis, keep, shape in [(None, False, (2, 3)), (1, False, (2, 3)), ((0, 2), True, (2, 3, 2)),
                              (-1, True, (1, 4)), (0, False, (0, 3)), (None, False, ())]:
        x = distinct(*shape) if op != "Prod" else rnd(*shape, lo=0.5, hi=1.5)
        rows(Row(op, lambda t, a=axis, k=keep, f=fn: f(t, axis=a, keepdims=k), [x],
                 lambda t, a=axis, k=keep, r=ref: r(t, axis=a, keepdims=k),
                 name=f"{axis}/{keep}/{shape}"))
rows(Row("Prod", lambda t: tf.reduce_prod(t, axis=1), [np.array([[0., 2., 3.], [0., 0., 2.]], F32)],
         lambda t: t.prod(1), name="zeros"),
     Row("Max", lambda t: tf.reduce_max(t, axis=1), [ints(2, 3)], lambda t: t.max(1), grad=False,
         name="int"))
for op, fn, ref in [("All", tf.reduce_all, np.all), ("Any", tf.reduce_any, np.any)]:
    rows(Row(op, lambda t, f=fn: f(t, axis=1), [bools(3, 4)], lambda t, r=ref: r(t, axis=1),
             grad=False),
         Row(op, lambda t, f=fn: f(t, keepdims=True), [bools(0, 4)],
             lambda t, r=ref: r(t, keepdims=True), grad=False, name="empty"))
rows(Row("Max", lambda t: tf.reduce_logsumexp(t, axis=1), [rnd(2, 3)],
         lambda t: np.log(np.exp(t).sum(1)), name="logsumexp"),
     Row("Mean", lambda t: tf.math.reduce_variance(t, axis=0), [rnd(3, 2)],
         lambda t: t.var(0), name="variance"),
     Row("Sqrt", lambda t: tf.math.reduce_std(t), [rnd(3, 2)], lambda t: t.std(), name="std"),
     Row("NotEqual", lambda t: tf.math.count_nonzero(t, axis=0),
         [np.array([[0, 1], [2, 0], [3, 4]], np.int32)],
         lambda t: np.count_nonzero(t, axis=0).astype(np.int64), grad=False,
         name="count_nonzero"))
for op, fn, ref in [("ArgMax", tf.math.argmax, np.argmax), ("ArgMin", tf.math.argmin, np.argmin)]:
    rows(Row(op, lambda t, f=fn: f(t, axis=1), [distinct(3, 4)],
             lambda t, r=ref: r(t, 1).astype(np.int64), grad=False),
         Row(op, lambda t, f=fn: f(t, output_type=tf.int32), [distinct(4)],
             lambda t, r=ref: np.int32(r(t)), grad=False, name="int32"),
         Row(op, lambda t, f=fn: f(t, axis=0), [distinct(3, 0)],
             lambda t, r=ref: np.zeros((0,), np.int64), grad=False, name="empty"))


def _np_cum(fn, ident):
    def ref(x, axis=0, exclusive=False, reverse=False):
        if reverse:
            x = np.flip(x, axis)
        out = fn(x, axis=axis)
        if exclusive:
            head = np.full_like(np.take(out, [0], axis=axis), ident)
            out = np.concatenate([head, np.take(out, np.arange(x.shape[axis] - 1), axis=axis)],
                                 axis=axis)
        return np.flip(out, axis) if reverse else out
    return ref


for op, fn, ref in [("Cumsum", tf.math.cumsum, _np_cum(np.cumsum, 0)),
                    ("Cumprod", tf.math.cumprod, _np_cum(np.cumprod, 1))]:
    for kw in [{}, {"axis": 1, "exclusive": True}, {"axis": -1, "reverse": True},
               {"axis": 0, "exclusive": True, "reverse": True}]:
        rows(Row(op, lambda t, f=fn, k=kw: f(t, **k), [rnd(3, 4, lo=0.5, hi=1.5)],
                 lambda t, r=ref, k=kw: r(t, **k), name=str(kw)))
    rows(Row(op, lambda t, f=fn: f(t, axis=1), [rnd(2, 0)], lambda t, r=ref: r(t, axis=1),
             name="empty"))


def _np_top_k(x, k):
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return [np.take_along_axis(x, idx, -1), idx.astype(np.int32)]


rows(Row("TopKV2", lambda t: list(tf.math.top_k(t, 2)), [distinct(3, 5)],
         lambda t: _np_top_k(t, 2)),
     Row("TopKV2", lambda t: list(tf.math.top_k(t, 2)), [np.array([1., 3., 3., 2.], F32)],
         lambda t: _np_top_k(t, 2), grad=False, name="ties"),
     Row("TopKV2", lambda t: list(tf.math.top_k(t, 0)), [rnd(2, 3)],
         lambda t: _np_top_k(t, 0), name="k0"),
     Row("InTopKV2", lambda p, t: tf.math.in_top_k(t, p, 2),
         [np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]], F32),
          np.array([2, 0, 1], np.int32)],
         lambda p, t: np.array([True, True, True]), grad=False))

# ---- manipulation -----------------------------------------------------------------------------
rows(Row("Transpose", lambda x: tf.transpose(x), [rnd(2, 3)], lambda x: x.T, grad2=True),
     Row("Transpose", lambda x: tf.transpose(x, [1, 2, 0]), [rnd(2, 3, 4)],
         lambda x: x.transpose(1, 2, 0), name="perm"),
     Row("Transpose", lambda x: tf.linalg.matrix_transpose(x) if hasattr(tf.linalg,
                                                                         "matrix_transpose")
         else tf.transpose(x, [0, 2, 1]), [rnd(0, 3, 2)], lambda x: x.transpose(0, 2, 1),
         name="empty"),
     Row("ExpandDims", lambda x: tf.expand_dims(x, -1), [rnd(2, 3)], lambda x: x[..., None]),
     Row("ExpandDims", lambda x: tf.expand_dims(x, 0), [rnd()], lambda x: x[None],
         name="scalar"),
     Row("Squeeze", lambda x: tf.squeeze(x), [rnd(1, 3, 1)], np.squeeze),
     Row("Squeeze", lambda x: tf.squeeze(x, [2]), [rnd(0, 3, 1)], lambda x: x[:, :, 0],
         name="axis"),
     Row("ConcatV2", lambda a, b: tf.concat([a, b], 1), [rnd(2, 3), rnd(2, 1)],
         lambda a, b: np.concatenate([a, b], 1)),
     Row("ConcatV2", lambda a, b, c: tf.concat([a, b, c], -2), [rnd(2, 3), rnd(0, 3), rnd(1, 3)],
         lambda a, b, c: np.concatenate([a, b, c], 0), name="empty_piece"),
     Row("SplitV", lambda x: tf.split(x, 3, axis=1), [rnd(2, 6)],
         lambda x: np.split(x, 3, axis=1)),
     Row("SplitV", lambda x: tf.split(x, [1, -1, 2], axis=0), [rnd(5, 2)],
         lambda x: np.split(x, [1, 3], axis=0), name="sizes"),
     Row("SplitV", lambda x: tf.split(x, [0, 2], axis=0), [rnd(2, 2)],
         lambda x: [x[:0], x], name="empty_piece"),
     Row("Tile", lambda x: tf.tile(x, [2, 3]), [rnd(2, 3)], lambda x: np.tile(x, (2, 3))),
     Row("Tile", lambda x: tf.tile(x, [0, 2]), [rnd(1, 3)], lambda x: np.tile(x, (0, 2)),
         name="zero"),
     Row("PadV2", lambda x: tf.pad(x, [[1, 0], [2, 1]], constant_values=1.5), [rnd(2, 3)],
         lambda x: np.pad(x, [(1, 0), (2, 1)], constant_values=1.5)),
     Row("PadV2", lambda x: tf.pad(x, [[1, 1]]), [rnd(0)], lambda x: np.zeros(2),
         name="empty"),
     Row("MirrorPad", lambda x: tf.pad(x, [[1, 1], [2, 0]], "REFLECT"), [rnd(3, 3)],
         lambda x: np.pad(x, [(1, 1), (2, 0)], mode="reflect"), grad2=True),
     Row("MirrorPad", lambda x: tf.pad(x, [[2, 1], [0, 3]], "SYMMETRIC"), [rnd(2, 3)],
         lambda x: np.pad(x, [(2, 1), (0, 3)], mode="symmetric"), name="symmetric"),
     Row("MirrorPadGrad", lambda g: apply_op(lookup("MirrorPadGrad"),
                                             [g, tf.constant([[1, 1], [2, 0]])],
                                             {"mode": "REFLECT"}),
         [rnd(5, 5)], None, unknown_dims=False),
     Row("ReverseV2", lambda x: tf.reverse(x, [0, -1]), [rnd(2, 3)], lambda x: x[::-1, ::-1]),
     Row("BroadcastTo", lambda x: tf.broadcast_to(x, [2, 2, 3]), [rnd(2, 1)],
         lambda x: np.broadcast_to(x, (2, 2, 3))),
     Row("BroadcastTo", lambda x: tf.broadcast_to(x, [0, 3]), [rnd(3)],
         lambda x: np.zeros((0, 3)), name="empty"))

# ---- slicing ----------------------------------------------------------------------------------
rows(Row("Slice", lambda x: tf.slice(x, [1, 0], [1, -1]), [rnd(3, 4)], lambda x: x[1:2, :]),
     Row("Slice", lambda x: tf.slice(x, [1], [0]), [rnd(3)], lambda x: x[1:1], name="empty"),
     Row("StridedSlice", lambda x: x[1:, ::2], [rnd(3, 5)], lambda x: x[1:, ::2], grad2=True),
     Row("StridedSlice", lambda x: x[..., -1], [rnd(2, 3, 4)], lambda x: x[..., -1],
         name="ellipsis"),
     Row("StridedSlice", lambda x: x[None, ::-2, 1], [rnd(5, 3)], lambda x: x[None, ::-2, 1],
         name="newaxis_reverse"),
     Row("StridedSlice", lambda x: x[5:], [rnd(3)], lambda x: x[5:], name="empty"),
     Row("StridedSlice", lambda x: tf.strided_slice(x, [0, 1], [2, 3], [1, 1],
                                                    shrink_axis_mask=1),
         [rnd(3, 4)], lambda x: x[0, 1:3], name="masks"),
     Row("StridedSliceGrad", lambda x: gradients(tf.reduce_sum(x[1:, 0] * 2.0), x)[0]
         if not tf.executing_eagerly() else _tape_grad(lambda v: v[1:, 0] * 2.0, x),
         [rnd(3, 2)], lambda x: np.array([[0, 0], [2, 0], [2, 0]], np.float64), grad=False))


def _tape_grad(f, x):
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.reduce_sum(f(x))
    return t.gradient(y, x)


# ---- gather / scatter -------------------------------------------------------------------------
rows(Row("GatherV2", lambda p, i: tf.gather(p, i), [rnd(4, 3), np.array([[3, 0], [0, 1]])],
         lambda p, i: p[i], grad2=True),
     Row("GatherV2", lambda p, i: tf.gather(p, i, axis=1), [rnd(2, 4, 3), np.array([3, 3, 1])],
         lambda p, i: p[:, i], name="axis1"),
     Row("GatherV2", lambda p, i: tf.gather(p, i, axis=1, batch_dims=1),
         [rnd(2, 4, 3), np.array([[3, 3], [0, 2]])],
         lambda p, i: np.stack([p[b][i[b]] for b in range(2)]), name="batch_dims"),
     Row("GatherV2", lambda p, i: tf.gather(p, i, axis=2, batch_dims=1),
         [rnd(2, 3, 4), np.array([[3, 0, 0], [1, 2, 1]])],
         lambda p, i: np.stack([p[b][:, i[b]] for b in range(2)]), name="batch_dims_axis2"),
     Row("GatherV2", lambda p, i: tf.gather(p, i), [rnd(4, 3), np.zeros((0,), np.int64)],
         lambda p, i: p[i], name="empty"),
     Row("UnsortedSegmentSum", lambda d, i: tf.math.unsorted_segment_sum(d, i, 4),
         [rnd(5, 2), np.array([0, 3, 0, -1, 2], np.int32)],
         lambda d, i: np.stack([d[i == k].sum(0) for k in range(4)])),
     Row("GatherNd", lambda p, i: tf.gather_nd(p, i), [rnd(3, 4, 2), np.array([[0, 1], [2, 3],
                                                                               [0, 1]])],
         lambda p, i: p[i[:, 0], i[:, 1]]),
     Row("GatherNd", lambda p, i: tf.gather_nd(p, i), [rnd(3, 4), np.array([[[2]], [[0]]])],
         lambda p, i: p[i[..., 0]], name="rows"),
     Row("ScatterNd", lambda i, u: tf.scatter_nd(i, u, [4, 2]),
         [np.array([[1], [3], [1]], np.int32), rnd(3, 2)],
         lambda i, u: np.stack([u[i[:, 0] == k].sum(0) for k in range(4)])),
     Row("GatherV2", lambda t, m: tf.boolean_mask(t, m), [rnd(4, 2), np.array([1, 0, 1, 1],
                                                                              bool)],
         lambda t, m: t[m], dynamic_shape=True, name="boolean_mask"),
     Row("GatherV2", lambda t, m: tf.boolean_mask(t, m, axis=1),
         [rnd(2, 2, 3), np.array([[1, 0, 1], [0, 0, 1]], bool).reshape(2, 3)[:1].repeat(2, 0)],
         lambda t, m: t[:, m], dynamic_shape=True, name="boolean_mask_axis"),
     Row("OneHot", lambda i: tf.one_hot(i, 4), [np.array([0, 3, -1, 4], np.int32)],
         lambda i: np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),
         grad=False),
     Row("OneHot", lambda i: tf.one_hot(i, 3, on_value=5, off_value=-1, axis=0),
         [np.array([[0, 2]], np.int64)],
         lambda i: np.array([[[5, -1]], [[-1, -1]], [[-1, 5]]], np.int32), grad=False,
         name="axis0_int"),
     Row("Unique", lambda x: list(tf.unique(x)), [np.array([4, 1, 4, 2, 1], np.int32)],
         lambda x: [np.array([4, 1, 2], np.int32), np.array([0, 1, 0, 2, 1], np.int32)],
         grad=False, dynamic_shape=True),
     Row("Less", lambda n: tf.sequence_mask(n, 4), [np.array([0, 2, 4], np.int32)],
         lambda n: np.arange(4)[None, :] < n[:, None], grad=False, name="sequence_mask"))

# ---- creation ---------------------------------------------------------------------------------
rows(Row("Range", lambda a, b, c: tf.range(a, b, c),
         [np.int32(3), np.int32(18), np.int32(3)], lambda a, b, c: np.arange(3, 18, 3),
         grad=False, static_inputs=(0, 1, 2)),
     Row("Range", lambda a, b, c: tf.range(a, b, c),
         [np.float32(1), np.float32(2), np.float32(0.25)],
         lambda a, b, c: np.arange(1, 2, 0.25), grad=False, dynamic_shape=True,
         name="float_dynamic"),
     Row("Range", lambda n: tf.range(n), [np.int32(0)], lambda n: np.arange(0),
         grad=False, static_inputs=(0,), name="empty"),
     Row("LinSpace", lambda a, b: tf.linspace(a, b, 5), [np.float32(1), np.float32(3)],
         lambda a, b: np.linspace(a, b, 5)),
     Row("LinSpace", lambda a, b: tf.linspace(a, b, 1), [np.float32(1), np.float32(3)],
         lambda a, b: np.array([a]), name="num1"),
     Row("BroadcastTo", lambda a, b: tf.meshgrid(a, b), [rnd(3), rnd(2)],
         lambda a, b: np.meshgrid(a, b), name="meshgrid"))


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()


# ---- coverage ---------------------------------------------------------------------------------
# Ops registered by modules this table does not own. Their owners check them in their own
# test files (tests/ops/test_nn_ops.py, test_conv_ops.py, test_random_ops.py, ...) and take
# them off this list by calling numflow.testing.add_rows for them.
PENDING = {
    # data ops (numflow/data, io parsing): tested in tests/data and tests/io
    "DatasetToSingleElement", "DecodeRaw", "IteratorGetNext", "IteratorToStringHandle",
    "MakeIterator", "ParseExampleV2", "ParseSingleExample", "SparseToDense",
    # summary ops (numflow/io/summary.py): tested in tests/io
    "HistogramSummary", "ImageSummary", "MergeSummary", "ScalarSummary", "TextSummary",
    "WriteSummary",
    # state_ops.py (variables; tested with Variable/Session tests)
    "VariableV2", "ReadVariableOp", "Assign", "AssignAdd", "AssignSub",
    # training_ops.py (fused optimizer updates): tested in tests/ops/test_training_ops.py
    "ResourceApplyAdam",
}


def _collect_other_rows():
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    for fname in sorted(os.listdir(here)):
        if fname.startswith("test_") and fname.endswith(".py") and \
                fname != os.path.basename(__file__):
            importlib.import_module(fname[:-3])


def test_every_registered_op_has_a_row():
    from numflow.testing import OP_ROWS
    _collect_other_rows()
    ops = {k for k, v in registered_ops().items() if f"{os.sep}tests{os.sep}" not in v.source}
    missing = sorted(ops - set(OP_ROWS) - PENDING)
    assert not missing, f"registered ops without a row in the op table: {missing}"


def test_rows_name_registered_ops():
    from numflow.testing import OP_ROWS
    unknown = sorted(set(OP_ROWS) - set(registered_ops()) - {"TestOnlyBadGrad"})
    assert not unknown, f"rows for ops that are not registered: {unknown}"
