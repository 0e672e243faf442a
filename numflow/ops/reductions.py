"""Reductions beyond sum/mean (max, min, prod, all, any, logsumexp, variance, std), arg
reductions, cumulative sums/products, top_k, in_top_k and count_nonzero."""
import collections

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.ops import array_ops, infer
from numflow.ops import math_elementwise as me
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.math_ops import (broadcast_like, cast, divide, multiply, reduce_mean,
                                  reduce_op, reduce_sum, reduction_axis, subtract)
from numflow.ops.registry import register_op


def _reduce_infer():
    def infer_fn(ins, a):
        x = ins[0]
        return [(x.dtype.base_dtype, infer.reduced_shape(x.shape, a["axis"], a["keepdims"]))]
    return infer_fn


def _check_axis(x, axis):
    if axis is not None:
        for ax in axis:
            if not -x.ndim <= ax < max(x.ndim, 1):
                raise ValueError(f"Invalid reduction dimension {ax} for input with {x.ndim} "
                                 "dimensions.")


def _reducer(fn):
    def kernel(xp, x, axis, keepdims):
        _check_axis(x, axis)
        if x.ndim == 0:
            return x.copy()
        return fn(xp, x, axis, keepdims)
    return kernel


def _max_fn(xp, x, axis, keepdims):
    if x.size == 0:
        return _empty_extreme(xp, x, axis, keepdims, low=True)
    return xp.max(x, axis=axis, keepdims=keepdims)


def _min_fn(xp, x, axis, keepdims):
    if x.size == 0:
        return _empty_extreme(xp, x, axis, keepdims, low=False)
    return xp.min(x, axis=axis, keepdims=keepdims)


def _empty_extreme(xp, x, axis, keepdims, low):
    # TF's identity for max/min over nothing: -inf/+inf (lowest/highest for ints).
    out_shape = xp.sum(xp.zeros(x.shape, dtype=xp.int8), axis=axis, keepdims=keepdims).shape
    if x.dtype.kind == "f":
        v = -xp.inf if low else xp.inf
    elif x.dtype.kind == "b":
        v = not low
    else:
        info = xp.iinfo(x.dtype)
        v = info.min if low else info.max
    return xp.full(out_shape, v, dtype=x.dtype)


def _extreme_grad(op, g):
    x = op.inputs[0]
    axis, keepdims = op.get_attr("axis"), op.get_attr("keepdims")
    y = broadcast_like(op.outputs[0], x, axis, keepdims)
    indicators = cast(me.equal(x, y), g.dtype)
    num = broadcast_like(reduce_sum(indicators, axis, keepdims), x, axis, keepdims)
    return [multiply(divide(indicators, num), broadcast_like(g, x, axis, keepdims))]


def _prod_grad(op, g):
    """Product of all other elements, without dividing (zeros are handled), as TF does."""
    x = op.inputs[0]
    rank = x.shape.rank
    if rank is None:
        raise NotImplementedError("gradient of reduce_prod for an input of unknown rank")
    from numflow.ops import array_gather, array_manip as am
    axis = op.get_attr("axis")
    axes = sorted(range(rank)) if axis is None else sorted({a % rank for a in axis})
    others = [i for i in range(rank) if i not in axes]
    perm = axes + others
    s = array_ops.shape(x)
    reduced_n = reduce_prod(array_gather.gather(s, axes)) if axes else 1
    other_n = reduce_prod(array_gather.gather(s, others)) if others else 1
    xt = am.transpose(x, perm)
    flat = array_ops.reshape(xt, array_ops.stack([reduced_n, other_n]))
    left = cumprod(flat, axis=0, exclusive=True)
    right = cumprod(flat, axis=0, exclusive=True, reverse=True)
    y = array_ops.reshape(multiply(left, right), array_ops.shape(xt))
    inv = [0] * rank
    for i, p in enumerate(perm):
        inv[p] = i
    return [multiply(am.transpose(y, inv), broadcast_like(g, x, axis, op.get_attr("keepdims")))]


def _bool_fn(fn):
    def kernel(xp, x, axis, keepdims):
        _check_axis(x, axis)
        return fn(x, axis=axis, keepdims=keepdims)
    return kernel


_MAX = register_op("Max", infer=_reduce_infer(), kernel=_reducer(_max_fn), grad=_extreme_grad)
_MIN = register_op("Min", infer=_reduce_infer(), kernel=_reducer(_min_fn), grad=_extreme_grad)
_PROD = register_op("Prod", infer=_reduce_infer(),
                    kernel=_reducer(lambda xp, x, axis, keepdims: xp.prod(
                        x, axis=axis, keepdims=keepdims, dtype=x.dtype)),
                    grad=_prod_grad)
_ALL = register_op("All", infer=_reduce_infer(), kernel=_bool_fn(np.all))
_ANY = register_op("Any", infer=_reduce_infer(), kernel=_bool_fn(np.any))


def _need(x, kinds, op_name):
    x = convert_to_tensor(x)
    return me._check_kind(x, kinds, op_name)


@export("math.reduce_max", "reduce_max", v1=[])
def reduce_max(input_tensor, axis=None, keepdims=False, name=None):
    """Maximum across ``axis`` (all when None) (``tf.math.reduce_max``); -inf over nothing."""
    return reduce_op(_MAX, _need(input_tensor, "fiu", "Max"), axis, keepdims, name)


@export(v1=["math.reduce_max", "reduce_max"])
def reduce_max_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
    """TF1 ``reduce_max`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_MAX, _need(input_tensor, "fiu", "Max"), axis, keepdims, name,
                     reduction_indices, keep_dims)


@export("math.reduce_min", "reduce_min", v1=[])
def reduce_min(input_tensor, axis=None, keepdims=False, name=None):
    """Minimum across ``axis`` (``tf.math.reduce_min``); +inf over nothing."""
    return reduce_op(_MIN, _need(input_tensor, "fiu", "Min"), axis, keepdims, name)


@export(v1=["math.reduce_min", "reduce_min"])
def reduce_min_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
    """TF1 ``reduce_min`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_MIN, _need(input_tensor, "fiu", "Min"), axis, keepdims, name,
                     reduction_indices, keep_dims)


@export("math.reduce_prod", "reduce_prod", v1=[])
def reduce_prod(input_tensor, axis=None, keepdims=False, name=None):
    """Product across ``axis`` (``tf.math.reduce_prod``); 1 over nothing."""
    return reduce_op(_PROD, _need(input_tensor, "fciu", "Prod"), axis, keepdims, name)


@export(v1=["math.reduce_prod", "reduce_prod"])
def reduce_prod_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                   keep_dims=None):
    """TF1 ``reduce_prod`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_PROD, _need(input_tensor, "fciu", "Prod"), axis, keepdims, name,
                     reduction_indices, keep_dims)


@export("math.reduce_all", "reduce_all", v1=[])
def reduce_all(input_tensor, axis=None, keepdims=False, name=None):
    """Logical AND across ``axis`` of a bool tensor (``tf.math.reduce_all``)."""
    return reduce_op(_ALL, _need(input_tensor, "b", "All"), axis, keepdims, name)


@export(v1=["math.reduce_all", "reduce_all"])
def reduce_all_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
    """TF1 ``reduce_all`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_ALL, _need(input_tensor, "b", "All"), axis, keepdims, name,
                     reduction_indices, keep_dims)


@export("math.reduce_any", "reduce_any", v1=[])
def reduce_any(input_tensor, axis=None, keepdims=False, name=None):
    """Logical OR across ``axis`` of a bool tensor (``tf.math.reduce_any``)."""
    return reduce_op(_ANY, _need(input_tensor, "b", "Any"), axis, keepdims, name)


@export(v1=["math.reduce_any", "reduce_any"])
def reduce_any_v1(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                  keep_dims=None):
    """TF1 ``reduce_any`` accepting ``reduction_indices`` and ``keep_dims``."""
    return reduce_op(_ANY, _need(input_tensor, "b", "Any"), axis, keepdims, name,
                     reduction_indices, keep_dims)


# ---- composites -----------------------------------------------------------------------------
def _logsumexp(x, axis, keepdims, name):
    x = _need(x, "f", "reduce_logsumexp")
    raw_max = reduce_max(x, axis, keepdims=True)
    my_max = array_ops.stop_gradient(
        me.where(me.is_finite(raw_max), raw_max, array_ops.zeros_like(raw_max)))
    out = me.log(reduce_sum(me.exp(subtract(x, my_max)), axis, keepdims=keepdims))
    if not keepdims:
        my_max = array_ops.reshape(my_max, array_ops.shape(out))
    return array_ops.identity(out + my_max, name=name)


@export("math.reduce_logsumexp", "reduce_logsumexp", v1=[])
def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """``log(sum(exp(x)))`` across ``axis``, computed stably (``tf.math.reduce_logsumexp``)."""
    axis, keepdims = reduction_axis(axis, keepdims=keepdims)
    return _logsumexp(input_tensor, axis, keepdims, name)


@export(v1=["math.reduce_logsumexp", "reduce_logsumexp"])
def reduce_logsumexp_v1(input_tensor, axis=None, keepdims=None, name=None,
                        reduction_indices=None, keep_dims=None):
    """TF1 ``reduce_logsumexp`` accepting ``reduction_indices`` and ``keep_dims``."""
    axis, keepdims = reduction_axis(axis, reduction_indices, keep_dims, keepdims)
    return _logsumexp(input_tensor, axis, keepdims, name)


@export("math.reduce_variance")
def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """Population variance across ``axis`` (``tf.math.reduce_variance``)."""
    x = _need(input_tensor, "fc", "reduce_variance")
    mean = reduce_mean(x, axis, keepdims=True)
    return reduce_mean(me.square(subtract(x, mean)), axis, keepdims=keepdims, name=name)


@export("math.reduce_std")
def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """Population standard deviation across ``axis`` (``tf.math.reduce_std``)."""
    return me.sqrt(reduce_variance(input_tensor, axis, keepdims), name=name)


@export("math.count_nonzero", v1=[])
def count_nonzero(input, axis=None, keepdims=None, dtype=dtypes.int64, name=None):  # noqa: A002
    """Number of non-zero elements across ``axis`` (``tf.math.count_nonzero``)."""
    x = convert_to_tensor(input)
    zero = array_ops.zeros_like(x)
    nz = cast(me.not_equal(x, zero), dtypes.int64)
    return cast(reduce_sum(nz, axis, keepdims=bool(keepdims)), dtype, name=name)


@export(v1=["math.count_nonzero", "count_nonzero"])
def count_nonzero_v1(input_tensor=None, axis=None, keepdims=None, dtype=dtypes.int64,
                     name=None, reduction_indices=None, keep_dims=None, input=None):  # noqa: A002
    """TF1 ``count_nonzero`` accepting ``input``, ``reduction_indices``, ``keep_dims``."""
    axis, keepdims = reduction_axis(axis, reduction_indices, keep_dims, keepdims)
    return count_nonzero(input_tensor if input_tensor is not None else input, axis, keepdims,
                         dtype, name)


# ---- argmax / argmin ------------------------------------------------------------------------
def _arg_infer(ins, a):
    x = ins[0]
    s = x.shape
    if s.rank is None:
        return [(a["output_type"], TensorShape(None))]
    if not -s.rank <= a["axis"] < max(s.rank, 1):
        raise ValueError(f"Expected dimension in the range [{-s.rank}, {s.rank}), but got "
                         f"{a['axis']}")
    ax = a["axis"] % max(s.rank, 1)
    return [(a["output_type"], TensorShape(s.as_list()[:ax] + s.as_list()[ax + 1:]))]


def _arg_kernel(fn):
    def kernel(xp, x, axis, output_type):
        if not -x.ndim <= axis < max(x.ndim, 1):
            raise ValueError(f"Expected dimension in the range [{-x.ndim}, {x.ndim}), but got "
                             f"{axis}")
        if x.ndim and x.shape[axis] == 0:
            raise ValueError(f"Reduction axis {axis} is empty in shape {list(x.shape)}")
        return fn(x, axis=axis if x.ndim else None).astype(output_type.as_numpy_dtype)
    return kernel


_ARGMAX = register_op("ArgMax", infer=_arg_infer, kernel=_arg_kernel(np.argmax))
_ARGMIN = register_op("ArgMin", infer=_arg_infer, kernel=_arg_kernel(np.argmin))


def _arg(opdef, x, axis, output_type, name):
    x = _need(x, "fiu", opdef.name)
    if axis is None:
        axis = 0
    ax = infer.constant_value(axis) if not isinstance(axis, (int, np.integer)) else axis
    if ax is None:
        raise NotImplementedError(f"{opdef.name} with a non-constant axis tensor")
    out = dtypes.as_dtype(output_type)
    if out not in (dtypes.int32, dtypes.int64):
        raise TypeError(f"{opdef.name}: output_type must be int32 or int64, got {out.name}")
    return apply_op(opdef, [x], {"axis": int(ax), "output_type": out}, name=name)


@export("math.argmax", "argmax", v1=[])
def argmax(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002
    """Index of the largest value along ``axis`` (default 0) (``tf.math.argmax``)."""
    return _arg(_ARGMAX, input, axis, output_type, name)


@export(v1=["math.argmax", "argmax"])
def argmax_v1(input, axis=None, name=None, dimension=None,  # noqa: A002
              output_type=dtypes.int64):
    """TF1 ``argmax(input, axis=None, name=None, dimension=None, output_type=tf.int64)``."""
    return _arg(_ARGMAX, input, axis if axis is not None else dimension, output_type, name)


@export("math.argmin", "argmin", v1=[])
def argmin(input, axis=None, output_type=dtypes.int64, name=None):  # noqa: A002
    """Index of the smallest value along ``axis`` (default 0) (``tf.math.argmin``)."""
    return _arg(_ARGMIN, input, axis, output_type, name)


@export(v1=["math.argmin", "argmin"])
def argmin_v1(input, axis=None, name=None, dimension=None,  # noqa: A002
              output_type=dtypes.int64):
    """TF1 ``argmin(input, axis=None, name=None, dimension=None, output_type=tf.int64)``."""
    return _arg(_ARGMIN, input, axis if axis is not None else dimension, output_type, name)


# ---- cumulative -----------------------------------------------------------------------------
def _cum_kernel(fn, identity):
    def kernel(xp, x, axis, exclusive, reverse):
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"axis {axis} is out of range for a tensor of rank {x.ndim}")
        if reverse:
            x = xp.flip(x, axis)
        out = fn(x, axis=axis, dtype=x.dtype)
        if exclusive:
            pad_shape = list(x.shape)
            pad_shape[axis] = 1
            head = xp.full(pad_shape, identity, dtype=x.dtype)
            body = xp.take(out, xp.arange(x.shape[axis] - 1), axis=axis)
            out = xp.concatenate([head, body], axis=axis) if x.shape[axis] else out
        if reverse:
            out = xp.flip(out, axis)
        return out
    return kernel


def _cum_infer(ins, a):
    s = ins[0].shape
    if s.rank is not None and not -s.rank <= a["axis"] < s.rank:
        raise ValueError(f"axis {a['axis']} is out of range for a tensor of rank {s.rank}")
    return [(ins[0].dtype.base_dtype, s)]


def _cumsum_grad(op, g):
    return [cumsum(g, op.get_attr("axis"), op.get_attr("exclusive"),
                   not op.get_attr("reverse"))]


def _cumprod_grad(op, g):
    # TF's rule; it divides by x, so it is not defined where x == 0 (as in TF).
    x = op.inputs[0]
    a = dict(axis=op.get_attr("axis"), exclusive=op.get_attr("exclusive"))
    prod = op.outputs[0]
    out = cumsum(multiply(prod, g), reverse=not op.get_attr("reverse"), **a)
    return [divide(out, x)]


_CUMSUM = register_op("Cumsum", infer=_cum_infer, kernel=_cum_kernel(np.cumsum, 0),
                      grad=_cumsum_grad)
_CUMPROD = register_op("Cumprod", infer=_cum_infer, kernel=_cum_kernel(np.cumprod, 1),
                       grad=_cumprod_grad)


def _cum(opdef, x, axis, exclusive, reverse, name):
    x = _need(x, "fciu", opdef.name)
    ax = infer.constant_value(axis) if not isinstance(axis, (int, np.integer)) else axis
    if ax is None:
        raise NotImplementedError(f"{opdef.name} with a non-constant axis tensor")
    return apply_op(opdef, [x], {"axis": int(ax), "exclusive": bool(exclusive),
                                 "reverse": bool(reverse)}, name=name)


@export("math.cumsum", "cumsum")
def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum along ``axis`` (``tf.math.cumsum``).

    ``exclusive=True`` starts from 0 (``[a, b, c] -> [0, a, a + b]``); ``reverse=True``
    accumulates from the end.
    """
    return _cum(_CUMSUM, x, axis, exclusive, reverse, name)


@export("math.cumprod", v1=["math.cumprod", "cumprod"])
def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative product along ``axis`` (``tf.math.cumprod``); see ``cumsum``."""
    return _cum(_CUMPROD, x, axis, exclusive, reverse, name)


# ---- top_k / in_top_k -----------------------------------------------------------------------
def _top_k_infer(ins, a):
    s = ins[0].shape
    k = a["k"]
    if s.rank is None:
        out = TensorShape(None)
    else:
        if s.rank < 1:
            raise ValueError("input must be at least rank 1")
        if s[-1] is not None and s[-1] < k:
            raise ValueError(f"input must have at least k={k} columns, has {s[-1]}")
        out = TensorShape(s.as_list()[:-1] + [k])
    return [(ins[0].dtype.base_dtype, out), (dtypes.int32, out)]


def _top_k_kernel(xp, x, k, sorted):  # noqa: A002 - TF's attribute name
    if x.ndim < 1:
        raise ValueError("input must be at least rank 1")
    n = x.shape[-1]
    if n < k:
        raise ValueError(f"input must have at least k={k} columns, has {n}")
    # Stable descending order with ties broken by the lower index (TF's rule).
    rev = xp.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., :k]
    idx = (n - 1 - rev).astype(xp.int32)
    return xp.take_along_axis(x, idx.astype(xp.intp), axis=-1), idx


def _top_k_grad(op, g_values, g_indices):
    from numflow.ops import array_gather, array_manip as am
    x = op.inputs[0]
    idx = op.outputs[1]
    n = array_ops.shape(x)[-1]
    hot = array_gather.one_hot(idx, n, dtype=g_values.dtype)          # [..., k, n]
    return [reduce_sum(multiply(hot, am.expand_dims(g_values, -1)), axis=-2)]


_TOPK = register_op("TopKV2", infer=_top_k_infer, kernel=_top_k_kernel, grad=_top_k_grad,
                    num_outputs=2)


TopKResult = collections.namedtuple("TopKV2", ["values", "indices"])


@export("math.top_k", "nn.top_k")
def top_k(input, k=1, sorted=True, name=None):  # noqa: A002
    """The ``k`` largest entries of the last dimension and their int32 indices
    (``tf.math.top_k``). Equal values keep the lower index first.

    Returns a ``(values, indices)`` pair with ``.values`` and ``.indices``.
    """
    x = _need(input, "fiu", "TopKV2")
    kv = infer.constant_value(k) if not isinstance(k, (int, np.integer)) else k
    if kv is None:
        raise NotImplementedError("top_k with a non-constant k")
    kv = int(kv)
    if kv < 0:
        raise ValueError(f"TopKV2: Need k >= 0, got {kv}")
    values, indices = apply_op(_TOPK, [x], {"k": kv, "sorted": bool(sorted)}, name=name)
    return TopKResult(values, indices)


def _in_top_k_kernel(xp, predictions, targets, k):
    if predictions.ndim != 2 or targets.ndim != 1:
        raise ValueError(f"predictions must be 2-D and targets 1-D, got {predictions.shape} "
                         f"and {targets.shape}")
    n, c = predictions.shape
    if targets.shape[0] != n:
        raise ValueError(f"First dimension of predictions {n} must match length of targets "
                         f"{targets.shape[0]}")
    valid = (targets >= 0) & (targets < c)
    safe = xp.where(valid, targets, 0).astype(xp.intp)
    target_val = predictions[xp.arange(n), safe]
    with np.errstate(invalid="ignore"):
        higher = (predictions > target_val[:, None]).sum(axis=1)
    return valid & xp.isfinite(target_val) & (higher < k)


_IN_TOP_K = register_op(
    "InTopKV2", infer=lambda ins, a: [(dtypes.bool, TensorShape([ins[1].shape[0]
                                                                  if ins[1].shape.rank else None]))],
    kernel=_in_top_k_kernel)


def _in_top_k(predictions, targets, k, name):
    p = _need(predictions, "f", "InTopKV2")
    t = _need(targets, "iu", "InTopKV2")
    kv = infer.constant_value(k) if not isinstance(k, (int, np.integer)) else k
    if kv is None:
        raise NotImplementedError("in_top_k with a non-constant k")
    return apply_op(_IN_TOP_K, [p, t], {"k": int(kv)}, name=name)


@export("math.in_top_k", "nn.in_top_k", v1=[])
def in_top_k(targets, predictions, k, name=None):
    """True where ``targets[i]`` is among the top ``k`` ``predictions[i]`` (``tf.math.in_top_k``).

    Ties straddling the k-th place count as in the top k; out-of-range targets and
    non-finite predictions give False (TF's rule).
    """
    return _in_top_k(predictions, targets, k, name)


@export(v1=["math.in_top_k", "nn.in_top_k"])
def in_top_k_v1(predictions, targets, k, name=None):
    """TF1 ``nn.in_top_k(predictions, targets, k, name=None)``; see ``in_top_k``."""
    return _in_top_k(predictions, targets, k, name)
