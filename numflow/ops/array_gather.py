"""Index-based ops: gather, gather_nd, scatter_nd, unsorted_segment_sum, boolean_mask,
one_hot, unique and sequence_mask.

Indices are checked: an out-of-range index raises InvalidArgumentError naming the op, the
position and the value; it never wraps around as NumPy's negative indexing would.
"""
import collections

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.kernels import segment
from numflow.graph.tensor import Tensor
from numflow.ops import array_ops, infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.array_manip import _axis_in_range, static_ints, transpose
from numflow.ops.registry import register_op


def _check_range(indices, limit, op_name, what="indices"):
    bad = (indices < 0) | (indices >= limit)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{op_name}: {what}[{','.join(map(str, pos))}] = {indices[pos]} is not "
                         f"in [0, {limit})")


def _ints(values):
    return np.asarray(values, dtype=np.int32).reshape(-1)


def _check_int_indices(t, op_name):
    if not t.dtype.base_dtype.is_integer:
        raise TypeError(f"{op_name}: indices must be int32 or int64, got {t.dtype.name}")
    return t


# ---- gather ---------------------------------------------------------------------------------
def _norm_gather_attrs(prank, irank, axis, batch_dims):
    if batch_dims < 0:
        batch_dims += irank
    if not 0 <= batch_dims <= irank:
        raise ValueError(f"GatherV2: batch_dims {batch_dims} must be in [0, {irank}] for "
                         f"indices of rank {irank}")
    ax = _axis_in_range(axis, prank, "GatherV2")
    if batch_dims > ax:
        raise ValueError(f"GatherV2: batch_dims ({batch_dims}) must be less than or equal to "
                         f"axis ({ax})")
    return ax, batch_dims


def _gather_infer(ins, a):
    p, i = ins
    if p.shape.rank is None or i.shape.rank is None:
        return [(p.dtype.base_dtype, TensorShape(None))]
    ax, b = _norm_gather_attrs(p.shape.rank, i.shape.rank, a["axis"], a["batch_dims"])
    pd, idim = p.shape.as_list(), i.shape.as_list()
    return [(p.dtype.base_dtype, TensorShape(pd[:ax] + idim[b:] + pd[ax + 1:]))]


def _gather_kernel(xp, params, indices, axis, batch_dims):
    ax, b = _norm_gather_attrs(params.ndim, indices.ndim, axis, batch_dims)
    _check_range(indices, params.shape[ax], "GatherV2")
    if b == 0:
        return xp.take(params, indices.astype(xp.intp), axis=ax)
    if params.shape[:b] != indices.shape[:b]:
        raise ValueError(f"GatherV2: batch dimensions of params {params.shape[:b]} and indices "
                         f"{indices.shape[:b]} must match")
    n = int(np.prod(params.shape[:b]))
    pre = params.shape[b:ax]
    p = params.reshape((n, int(np.prod(pre)), params.shape[ax], -1))
    ix = indices.reshape((n, -1)).astype(xp.intp)
    out = p[xp.arange(n)[:, None, None], xp.arange(p.shape[1])[None, :, None], ix[:, None, :]]
    return out.reshape(params.shape[:b] + pre + indices.shape[b:] + params.shape[ax + 1:])


def _gather_grad(op, g):
    from numflow.ops import array_create, array_manip, reductions
    params, indices = op.inputs
    rp, ri, rg = params.shape.rank, indices.shape.rank, g.shape.rank
    if rp is None or ri is None or rg is None:
        raise NotImplementedError("gradient of gather for inputs of unknown rank")
    ax, b = _norm_gather_attrs(rp, ri, op.get_attr("axis"), op.get_attr("batch_dims"))
    it = indices.dtype.base_dtype
    s = array_ops.shape(params, out_type=it)
    ni = ri - b
    perm = list(range(b)) + list(range(ax, ax + ni)) + list(range(b, ax)) + \
        list(range(ax + ni, rg))
    tail = array_manip.concat([gather(s, _ints(range(b, ax))), gather(s, _ints(range(ax + 1, rp)))],
                              0)
    values = array_ops.reshape(transpose(g, perm),
                               array_manip.concat([np.array([-1], it.as_numpy_dtype), tail], 0))
    a = gather(s, ax)
    ids, num = indices, a
    if b:
        nb = reductions.reduce_prod(gather(s, _ints(range(b))))
        batch = array_ops.reshape(array_create.range(nb, dtype=it),
                                  array_manip.concat([gather(s, _ints(range(b))),
                                                      np.ones(ni, it.as_numpy_dtype)], 0))
        ids = indices + batch * a
        num = nb * a
    summed = unsorted_segment_sum(values, array_ops.reshape(ids, [-1]), num)
    res = array_ops.reshape(summed, array_manip.concat([gather(s, _ints(range(b))),
                                                        array_ops.reshape(a, [1]), tail], 0))
    perm2 = list(range(b)) + list(range(b + 1, ax + 1)) + [b] + list(range(ax + 1, rp))
    return [transpose(res, perm2), None]


_GATHER = register_op("GatherV2", infer=_gather_infer, kernel=_gather_kernel, grad=_gather_grad)


@export("gather", v1=[])
def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """Gathers slices of ``params`` along ``axis`` at ``indices`` (``tf.gather``).

    The output shape is ``params.shape[:axis] + indices.shape[batch_dims:] +
    params.shape[axis + 1:]``. An index outside ``[0, params.shape[axis])`` raises
    InvalidArgumentError.
    """
    p = convert_to_tensor(params)
    i = _check_int_indices(convert_to_tensor(indices, dtype_hint=dtypes.int32), "GatherV2")
    ax = 0 if axis is None else static_ints(axis, "gather axis")[0]
    if batch_dims and axis is None:
        ax = batch_dims if batch_dims > 0 else batch_dims + (i.shape.rank or 0)
    return apply_op(_GATHER, [p, i], {"axis": ax, "batch_dims": int(batch_dims)}, name=name)


@export(v1=["gather"])
def gather_v1(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """TF1 ``gather(params, indices, validate_indices=None, name=None, axis=None,
    batch_dims=0)``."""
    return gather(params, indices, validate_indices, axis, batch_dims, name)


# ---- unsorted_segment_sum -------------------------------------------------------------------
def _segment_infer(ins, a):
    d, ids, n = ins
    nv = infer.constant_value(n)
    head = [None if nv is None else int(nv)]
    if d.shape.rank is None or ids.shape.rank is None:
        return [(d.dtype.base_dtype, TensorShape(None))]
    return [(d.dtype.base_dtype, TensorShape(head + d.shape.as_list()[ids.shape.rank:]))]


def _segment_kernel(xp, data, ids, num_segments):
    n = int(num_segments)
    if data.shape[:ids.ndim] != ids.shape:
        raise ValueError(f"UnsortedSegmentSum: segment_ids shape {list(ids.shape)} must be a "
                         f"prefix of data shape {list(data.shape)}")
    if (ids >= n).any():
        _check_range(xp.where(ids < 0, 0, ids), n, "UnsortedSegmentSum", "segment_ids")
    keep = ids >= 0          # TF drops negative ids
    if not keep.all():
        ids, data = ids[keep], data[keep]
    return segment.unsorted_segment_sum(xp, data, ids, n)


def _segment_grad(op, g):
    from numflow.ops import array_manip, math_elementwise as me
    from numflow.ops.math_ops import cast
    _, ids, _ = op.inputs
    safe = me.maximum(ids, 0)
    gathered = gather(g, safe)
    keep = cast(me.greater_equal(ids, 0), g.dtype)
    if g.shape.rank is None or ids.shape.rank is None:
        raise NotImplementedError("gradient of unsorted_segment_sum for unknown ranks")
    for _ in range(g.shape.rank - ids.shape.rank):
        keep = array_manip.expand_dims(keep, -1)
    return [gathered * keep, None, None]


_SEGMENT_SUM = register_op("UnsortedSegmentSum", infer=_segment_infer, kernel=_segment_kernel,
                           grad=_segment_grad)


@export("math.unsorted_segment_sum", v1=["math.unsorted_segment_sum", "unsorted_segment_sum"])
def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Sums the rows of ``data`` that share a segment id (``tf.math.unsorted_segment_sum``).

    The output has ``num_segments`` rows; negative ids are dropped and ids
    ``>= num_segments`` raise, as in TF.
    """
    d = convert_to_tensor(data)
    ids = _check_int_indices(convert_to_tensor(segment_ids, dtype_hint=dtypes.int32),
                             "UnsortedSegmentSum")
    n = convert_to_tensor(num_segments, dtype_hint=ids.dtype)
    return apply_op(_SEGMENT_SUM, [d, ids, n], name=name)


# ---- gather_nd / scatter_nd -----------------------------------------------------------------
def _nd_index(xp, indices, shape, op_name):
    k = indices.shape[-1] if indices.ndim else 0
    if indices.ndim == 0:
        raise ValueError(f"{op_name}: indices must be at least rank 1")
    if k > len(shape):
        raise ValueError(f"{op_name}: index innermost dimension length {k} must be <= rank "
                         f"of params/shape {len(shape)}")
    for j in range(k):
        col = indices[..., j]
        bad = (col < 0) | (col >= shape[j])
        if bad.any():
            pos = tuple(int(v) for v in np.argwhere(bad)[0])
            raise ValueError(f"{op_name}: indices{list(pos)} = {indices[pos].tolist()} does not "
                             f"index into shape {list(shape)}")
    return tuple(indices[..., j].astype(xp.intp) for j in range(k)), k


def _gather_nd_kernel(xp, params, indices):
    idx, k = _nd_index(xp, indices, params.shape, "GatherNd")
    if k == 0:
        return xp.ascontiguousarray(xp.broadcast_to(params, indices.shape[:-1] + params.shape))
    return params[idx]


def _gather_nd_infer(ins, a):
    p, i = ins
    if p.shape.rank is None or i.shape.rank is None or i.shape[-1] is None:
        return [(p.dtype.base_dtype, TensorShape(None))]
    k = i.shape[-1]
    if k > p.shape.rank:
        raise ValueError(f"GatherNd: index innermost dimension length {k} must be <= params "
                         f"rank {p.shape.rank}")
    return [(p.dtype.base_dtype, TensorShape(i.shape.as_list()[:-1] + p.shape.as_list()[k:]))]


_GATHER_ND = register_op(
    "GatherNd", infer=_gather_nd_infer, kernel=_gather_nd_kernel,
    grad=lambda op, g: [scatter_nd(op.inputs[1], g, array_ops.shape(
        op.inputs[0], out_type=op.inputs[1].dtype)), None])


@export("gather_nd", v1=[])
def gather_nd(params, indices, batch_dims=0, name=None):
    """Gathers slices of ``params`` at N-d ``indices`` (``tf.gather_nd``).

    ``indices[..., :]`` is a coordinate into the first ``indices.shape[-1]`` dimensions of
    ``params``; out-of-range coordinates raise InvalidArgumentError.
    """
    if batch_dims:
        raise NotImplementedError("gather_nd with batch_dims > 0")
    p = convert_to_tensor(params)
    i = _check_int_indices(convert_to_tensor(indices, dtype_hint=dtypes.int32), "GatherNd")
    return apply_op(_GATHER_ND, [p, i], name=name)


@export(v1=["gather_nd"])
def gather_nd_v1(params, indices, name=None, batch_dims=0):
    """TF1 ``gather_nd(params, indices, name=None, batch_dims=0)``."""
    return gather_nd(params, indices, batch_dims, name)


def _scatter_nd_kernel(xp, indices, updates, shape):
    shape = tuple(int(d) for d in shape)
    idx, k = _nd_index(xp, indices, shape, "ScatterNd")
    want = indices.shape[:-1] + shape[k:]
    if updates.shape != want:
        raise ValueError(f"ScatterNd: updates must have shape {list(want)} for indices "
                         f"{list(indices.shape)} and shape {list(shape)}, got "
                         f"{list(updates.shape)}")
    out = xp.zeros(shape, dtype=updates.dtype)
    xp.add.at(out, idx, updates)
    return out


_SCATTER_ND = register_op(
    "ScatterNd", infer=lambda ins, a: [(ins[1].dtype.base_dtype, infer.shape_from_tensor(ins[2]))],
    kernel=_scatter_nd_kernel,
    grad=lambda op, g: [None, gather_nd(g, op.inputs[0]), None])


@export("scatter_nd", v1=["scatter_nd"])
def scatter_nd(indices, updates, shape, name=None):
    """A zero tensor of ``shape`` with ``updates`` added at ``indices`` (``tf.scatter_nd``).

    Duplicate indices add up; out-of-range indices raise InvalidArgumentError.
    """
    i = _check_int_indices(convert_to_tensor(indices, dtype_hint=dtypes.int32), "ScatterNd")
    u = convert_to_tensor(updates)
    s = convert_to_tensor(shape, dtype_hint=i.dtype)
    return apply_op(_SCATTER_ND, [i, u, s], name=name)


# ---- boolean_mask ---------------------------------------------------------------------------
@export("boolean_mask", v1=[])
def boolean_mask(tensor, mask, axis=None, name="boolean_mask"):
    """The elements (or slices) of ``tensor`` where the bool ``mask`` is True
    (``tf.boolean_mask``). ``mask`` covers dimensions ``axis .. axis + mask.ndim``."""
    from numflow.ops import array_manip, math_elementwise as me, reductions
    t = convert_to_tensor(tensor)
    m = convert_to_tensor(mask)
    if not m.dtype.base_dtype.is_bool:
        raise TypeError(f"boolean_mask: mask must be a bool tensor, got {m.dtype.name}")
    km = m.shape.rank
    if km is None:
        raise ValueError("Number of mask dimensions must be specified, even if some "
                         "dimensions are None.")
    if km == 0:
        raise ValueError("mask cannot be scalar.")
    rank = t.shape.rank
    ax = 0 if axis is None else static_ints(axis, "boolean_mask axis")[0]
    if rank is not None:
        ax = _axis_in_range(ax, rank, "boolean_mask")
        if ax + km > rank:
            raise ValueError(f"boolean_mask: mask of rank {km} at axis {ax} does not fit a "
                             f"tensor of rank {rank}")
        t.shape[ax:ax + km].assert_is_compatible_with(m.shape)
    s = array_ops.shape(t)
    lead = reductions.reduce_prod(gather(s, _ints(range(ax, ax + km))), keepdims=True)
    r = array_ops.rank(t)
    from numflow.ops import array_create
    new_shape = array_manip.concat([gather(s, array_create.range(ax)), lead,
                                    gather(s, array_create.range(ax + km, r))], 0)
    flat = array_ops.reshape(t, new_shape)
    idx = array_manip.squeeze(me.where(array_ops.reshape(m, [-1])), axis=[1])
    return gather(flat, idx, axis=ax, name=name)


@export(v1=["boolean_mask"])
def boolean_mask_v1(tensor, mask, name="boolean_mask", axis=None):
    """TF1 ``boolean_mask(tensor, mask, name='boolean_mask', axis=None)``."""
    return boolean_mask(tensor, mask, axis, name)


# ---- one_hot --------------------------------------------------------------------------------
def _one_hot_axis(axis, rank):
    if not -1 <= axis <= rank:
        raise ValueError(f"OneHot: Expected axis to be -1 or between [0, {rank}).  But "
                         f"received: {axis}")
    return rank if axis == -1 else axis


def _one_hot_kernel(xp, indices, depth, on_value, off_value, axis):
    depth = int(depth)
    if depth < 0:
        raise ValueError(f"OneHot: depth must be non-negative, got: {depth}")
    ax = _one_hot_axis(axis, indices.ndim)
    # Out-of-range (and negative) indices give an all-off row (TF's rule), never a wrap.
    hot = indices[..., None] == xp.arange(depth, dtype=indices.dtype)
    out = xp.where(hot, on_value, off_value).astype(on_value.dtype, copy=False)
    return xp.moveaxis(out, -1, ax) if ax != indices.ndim else out


def _one_hot_infer(ins, a):
    i, d, on, _ = ins
    dv = infer.constant_value(d)
    if i.shape.rank is None:
        return [(on.dtype.base_dtype, TensorShape(None))]
    dims = i.shape.as_list()
    ax = _one_hot_axis(a["axis"], len(dims))
    if dv is not None and int(dv) < 0:
        raise ValueError(f"OneHot: depth must be non-negative, got: {int(dv)}")
    return [(on.dtype.base_dtype,
             TensorShape(dims[:ax] + [None if dv is None else int(dv)] + dims[ax:]))]


_ONE_HOT = register_op("OneHot", infer=_one_hot_infer, kernel=_one_hot_kernel)


@export("one_hot", v1=["one_hot"])
def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot encoding of ``indices`` (``tf.one_hot``).

    The new dimension of size ``depth`` goes at ``axis`` (default last). ``dtype`` defaults
    to that of ``on_value``/``off_value``, else float32. Indices outside ``[0, depth)``,
    including negative ones, give a row of ``off_value`` (TF's rule).
    """
    i = convert_to_tensor(indices)
    if not i.dtype.base_dtype.is_integer:
        raise TypeError(f"OneHot: indices must be uint8, int32 or int64, got {i.dtype.name}")
    if dtype is None:
        for v in (on_value, off_value):
            if v is not None:
                dtype = convert_to_tensor(v).dtype.base_dtype
                break
        else:
            dtype = dtypes.float32
    dtype = dtypes.as_dtype(dtype)
    on = on_value if isinstance(on_value, Tensor) else \
        convert_to_tensor(1 if on_value is None else on_value, dtype=dtype)
    off = off_value if isinstance(off_value, Tensor) else \
        convert_to_tensor(0 if off_value is None else off_value, dtype=dtype)
    if on.dtype.base_dtype != dtype or off.dtype.base_dtype != dtype:
        raise TypeError(f"OneHot: on_value ({on.dtype.name}) and off_value ({off.dtype.name}) "
                        f"must have dtype {dtype.name}")
    d = convert_to_tensor(depth, dtype_hint=dtypes.int32)
    ax = -1 if axis is None else int(axis)
    return apply_op(_ONE_HOT, [i, d, on, off], {"axis": ax}, name=name)


# ---- unique ---------------------------------------------------------------------------------
UniqueOutput = collections.namedtuple("Unique", ["y", "idx"])


def _unique_kernel(xp, x, out_idx):
    if x.ndim != 1:
        raise ValueError(f"unique expects a 1D vector, got shape {list(x.shape)}")
    vals, first, inv = xp.unique(x, return_index=True, return_inverse=True)
    order = xp.argsort(first, kind="stable")      # TF keeps first-occurrence order
    rank = xp.empty_like(order)
    rank[order] = xp.arange(order.size)
    return vals[order], rank[inv.reshape(-1)].astype(out_idx.as_numpy_dtype)


_UNIQUE = register_op(
    "Unique", num_outputs=2, kernel=_unique_kernel,
    infer=lambda ins, a: [(ins[0].dtype.base_dtype, TensorShape([None])),
                          (a["out_idx"], ins[0].shape)])


@export("unique", v1=["unique"])
def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of the 1-D ``x`` in first-occurrence order, and for each element
    of ``x`` the index of its value in that list (``tf.unique``). Returns ``(y, idx)``."""
    t = convert_to_tensor(x)
    y, idx = apply_op(_UNIQUE, [t], {"out_idx": dtypes.as_dtype(out_idx)}, name=name)
    return UniqueOutput(y, idx)


# ---- sequence_mask --------------------------------------------------------------------------
@export("sequence_mask", v1=["sequence_mask"])
def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool, name=None):
    """A mask ``[..., maxlen]`` with ``mask[i..., j] = j < lengths[i...]`` (``tf.sequence_mask``).

    ``maxlen`` defaults to ``max(lengths)``.
    """
    from numflow.ops import array_create, array_manip, math_elementwise as me, reductions
    from numflow.ops.math_ops import cast
    lengths = convert_to_tensor(lengths)
    if not lengths.dtype.base_dtype.is_integer:
        raise TypeError(f"sequence_mask: lengths must be integers, got {lengths.dtype.name}")
    if maxlen is None:
        maxlen = me.maximum(reductions.reduce_max(lengths), 0)
    maxlen = cast(convert_to_tensor(maxlen, dtype_hint=lengths.dtype), lengths.dtype)
    row = array_create.range(0, maxlen, 1, dtype=lengths.dtype)
    mask = me.less(row, array_manip.expand_dims(lengths, -1))
    if dtypes.as_dtype(dtype) == dtypes.bool:
        return array_ops.identity(mask, name=name)
    return cast(mask, dtype, name=name)


def __getattr__(name):
    """Lets ``array_gather.transpose`` etc. reach the rest of the array-op family."""
    import importlib
    for mod in ("numflow.ops.array_manip", "numflow.ops.array_create", "numflow.ops.slicing"):
        m = importlib.import_module(mod)
        if name in vars(m) and not name.startswith("_"):
            return vars(m)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
