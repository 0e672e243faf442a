"""Slicing: ``tf.slice``, ``tf.strided_slice`` and ``Tensor.__getitem__`` (TF's rules).

Python indexing on tensors (``x[1:, ::2]``, ``x[..., 0]``, ``x[:, tf.newaxis]``, ``x[i]``
with ``i`` a scalar int tensor) becomes one StridedSlice op, whose gradient is
StridedSliceGrad. Out-of-range integer indices raise; they never wrap silently beyond
TF's own negative-index rule (``-1`` is the last element).
"""
import builtins

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.graph.tensor import Tensor
from numflow.ops import array_ops, infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

_pyslice = builtins.slice   # the module's public ``slice`` shadows the builtin
_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


# ---- Slice ----------------------------------------------------------------------------------
def _slice_bounds(shape, begin, size):
    """Validated (start, stop) per dimension for tf.slice; size -1 means "to the end"."""
    if len(begin) != len(shape) or len(size) != len(shape):
        raise ValueError(f"Expected begin and size arguments to be 1-D tensors of size "
                         f"{len(shape)}, but got shapes [{len(begin)}] and [{len(size)}] "
                         "instead.")
    out = []
    for i, (d, b, s) in enumerate(zip(shape, begin, size)):
        b, s = int(b), int(s)
        if s == -1:
            s = d - b
        if b < 0 or s < 0 or b + s > d:
            raise ValueError(f"Expected begin[{i}] in [0, {d}] and size[{i}] in [0, {d - b}], "
                             f"but got begin {b} and size {s} for a dimension of {d}")
        out.append((b, b + s))
    return out


def _slice_kernel(xp, x, begin, size):
    bounds = _slice_bounds(x.shape, begin, size)
    return x[tuple(_pyslice(a, b) for a, b in bounds)]


def _slice_infer(ins, a):
    x, b, s = ins
    bv, sv = infer.constant_value(b), infer.constant_value(s)
    if sv is None:
        n = s.shape[0] if s.shape.rank == 1 else x.shape.rank
        return [(x.dtype.base_dtype, TensorShape(None if n is None else [None] * n))]
    dims = []
    xs = x.shape.as_list() if x.shape.rank is not None else [None] * len(sv)
    for i, sz in enumerate(np.asarray(sv).reshape(-1)):
        sz = int(sz)
        if sz >= 0:
            dims.append(sz)
        elif bv is not None and xs[i] is not None:
            dims.append(xs[i] - int(np.asarray(bv).reshape(-1)[i]))
        else:
            dims.append(None)
    if bv is not None and x.shape.is_fully_defined():
        _slice_bounds(x.shape.as_list(), np.asarray(bv).reshape(-1), np.asarray(sv).reshape(-1))
    return [(x.dtype.base_dtype, TensorShape(dims))]


def _slice_grad(op, g):
    from numflow.ops import array_manip
    x, begin, _ = op.inputs
    s = array_ops.shape(x, out_type=begin.dtype)
    after = s - begin - array_ops.shape(g, out_type=begin.dtype)
    paddings = array_ops.stack([begin, after], axis=1)
    return [array_manip.pad(g, paddings), None, None]


_SLICE = register_op("Slice", infer=_slice_infer, kernel=_slice_kernel, grad=_slice_grad)


@export("slice", v1=["slice"])
def slice(input_, begin, size, name=None):  # noqa: A001 - TF's public name
    """Extracts ``input_[begin[i] : begin[i] + size[i]]`` per dimension (``tf.slice``).

    ``size[i] = -1`` takes everything from ``begin[i]`` on. Out-of-range bounds raise.
    """
    x = convert_to_tensor(input_)
    b = convert_to_tensor(begin, dtype_hint=dtypes.int32)
    s = convert_to_tensor(size, dtype=b.dtype) if not isinstance(size, Tensor) else size
    return apply_op(_SLICE, [x, b, s], name=name)


# ---- StridedSlice ---------------------------------------------------------------------------
def _bits(mask, i):
    return (mask >> i) & 1


def _index_tuple(ndim, shape, begin, end, strides, masks, check=True):
    """The NumPy index that StridedSlice's (begin, end, strides, masks) describe."""
    n = len(begin)
    if len(end) != n or len(strides) != n:
        raise ValueError("begin, end and strides must have the same length")
    ell = masks["ellipsis_mask"]
    if ell & (ell - 1):
        raise ValueError("Multiple ellipses in slice spec not allowed")
    consumed = sum(1 for i in range(n) if not _bits(ell, i) and
                   not _bits(masks["new_axis_mask"], i))
    if not ell:
        if consumed > ndim:
            raise ValueError(f"Index out of range using input dim {ndim}; input has only "
                             f"{ndim} dims")
    idx, dim = [], 0
    for i in range(n):
        if _bits(ell, i):
            idx.append(Ellipsis)
            dim += ndim - consumed
            continue
        if _bits(masks["new_axis_mask"], i):
            idx.append(None)
            continue
        if dim >= ndim:
            raise ValueError(f"Index out of range using input dim {dim}; input has only "
                             f"{ndim} dims")
        stride = int(strides[i])
        if stride == 0:
            raise ValueError("strides[%d] must be non-zero" % i)
        d = shape[dim]
        if _bits(masks["shrink_axis_mask"], i):
            b = int(begin[i])
            if check and d is not None and not -d <= b < d:
                raise ValueError(f"slice index {b} of dimension {dim} out of bounds.")
            idx.append(b)
        else:
            b = None if _bits(masks["begin_mask"], i) else int(begin[i])
            e = None if _bits(masks["end_mask"], i) else int(end[i])
            idx.append(_pyslice(b, e, stride))
        dim += 1
    return tuple(idx)


def _strided_kernel(xp, x, begin, end, strides, **masks):
    return x[_index_tuple(x.ndim, x.shape, begin, end, strides, masks)]


_UNKNOWN = object()


def _entry_values(t, n):
    """Per-entry ints of a 1-D index tensor, ``_UNKNOWN`` where only known at run time."""
    v = infer.constant_value(t)
    if v is not None:
        return [int(i) for i in np.asarray(v).reshape(-1)]
    op = getattr(t, "op", None)
    if op is not None and op.type == "Pack" and len(op.inputs) == n:
        vals = [infer.constant_value(i) for i in op.inputs]
        return [_UNKNOWN if c is None else int(c) for c in vals]
    return [_UNKNOWN] * n


def _strided_infer(ins, a):
    x, b, e, s = ins
    d = x.dtype.base_dtype
    n = b.shape[0] if b.shape.rank == 1 else None
    if x.shape.rank is None or n is None:
        return [(d, TensorShape(None))]
    dims = x.shape.as_list()
    bv, ev, sv = (_entry_values(t, n) for t in (b, e, s))
    ell, new, shrink = a["ellipsis_mask"], a["new_axis_mask"], a["shrink_axis_mask"]
    if ell & (ell - 1):
        raise ValueError("Multiple ellipses in slice spec not allowed")
    consumed = sum(1 for i in range(n) if not _bits(ell, i) and not _bits(new, i))
    if not ell and consumed > len(dims):
        raise ValueError(f"Index out of range using input dim {len(dims)}; input has only "
                         f"{len(dims)} dims")
    out, dim = [], 0
    for i in range(n):
        if _bits(ell, i):
            k = len(dims) - consumed
            out.extend(dims[dim:dim + k])
            dim += k
            continue
        if _bits(new, i):
            out.append(1)
            continue
        size = dims[dim]
        if _bits(shrink, i):
            if bv[i] is not _UNKNOWN and size is not None and not -size <= bv[i] < size:
                raise ValueError(f"slice index {bv[i]} of dimension {dim} out of bounds.")
        else:
            lo = None if _bits(a["begin_mask"], i) else bv[i]
            hi = None if _bits(a["end_mask"], i) else ev[i]
            if sv[i] is not _UNKNOWN and sv[i] == 0:
                raise ValueError(f"strides[{i}] must be non-zero")
            if size is None or _UNKNOWN in (lo, hi, sv[i]):
                out.append(None)
            else:
                out.append(len(builtins.range(*_pyslice(lo, hi, sv[i]).indices(size))))
        dim += 1
    out.extend(dims[dim:])
    return [(d, TensorShape(out))]


def _strided_grad(op, g):
    x, b, e, s = op.inputs
    masks = {k: op.get_attr(k) for k in _MASKS}
    shape = array_ops.shape(x, out_type=b.dtype)
    return [apply_op(_STRIDED_GRAD, [shape, b, e, s, g], masks), None, None, None]


_STRIDED = register_op("StridedSlice", infer=_strided_infer, kernel=_strided_kernel,
                       grad=_strided_grad)


def _strided_grad_kernel(xp, shape, begin, end, strides, dy, **masks):
    shape = tuple(int(d) for d in shape)
    out = xp.zeros(shape, dtype=dy.dtype)
    out[_index_tuple(len(shape), shape, begin, end, strides, masks)] = dy
    return out


def _strided_grad_infer(ins, a):
    return [(ins[4].dtype.base_dtype, infer.shape_from_tensor(ins[0]))]


def _strided_grad_grad(op, g):
    _, b, e, s, _ = op.inputs
    masks = {k: op.get_attr(k) for k in _MASKS}
    return [None, None, None, None, apply_op(_STRIDED, [g, b, e, s], masks)]


_STRIDED_GRAD = register_op("StridedSliceGrad", infer=_strided_grad_infer,
                            kernel=_strided_grad_kernel, grad=_strided_grad_grad)


def _index_tensor(values):
    """Packs a list of ints/scalar tensors into one int32 (or int64) vector."""
    if all(isinstance(v, (int, np.integer)) for v in values):
        big = any(not -2**31 <= int(v) < 2**31 for v in values)
        return convert_to_tensor(np.array(values, dtype=np.int64 if big else np.int32))
    ts = [v if isinstance(v, Tensor) else None for v in values]
    dtype = next(t.dtype.base_dtype for t in ts if t is not None)
    from numflow.ops.math_ops import cast
    packed = [cast(v, dtype) if isinstance(v, Tensor) else
              convert_to_tensor(int(v), dtype=dtype) for v in values]
    return array_ops.stack(packed)


@export("strided_slice", v1=["strided_slice"])
def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """Strided slice of ``input_`` (``tf.strided_slice``), with TF's five bit masks.

    ``begin``, ``end`` and ``strides`` are 1-D int vectors of equal length; bit ``i`` of a
    mask changes the meaning of entry ``i`` (begin/end ignored, ``...``, new axis, or an
    integer index that removes the dimension).
    """
    x = convert_to_tensor(input_)
    b = convert_to_tensor(begin, dtype_hint=dtypes.int32)
    e = convert_to_tensor(end, dtype=b.dtype) if not isinstance(end, Tensor) else end
    if strides is None:
        strides = [1] * (b.shape[0] if b.shape.rank == 1 and b.shape[0] is not None else 0)
    s = convert_to_tensor(strides, dtype=b.dtype) if not isinstance(strides, Tensor) \
        else strides
    attrs = dict(begin_mask=int(begin_mask), end_mask=int(end_mask),
                 ellipsis_mask=int(ellipsis_mask), new_axis_mask=int(new_axis_mask),
                 shrink_axis_mask=int(shrink_axis_mask))
    return apply_op(_STRIDED, [x, b, e, s], attrs, name=name)


def _is_int_like(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _check_scalar_index(t):
    if not (t.dtype.base_dtype.is_integer) or (t.shape.rank is not None and t.shape.rank != 0):
        raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and "
                        "scalar tf.int32/tf.int64 tensors are valid indices, got "
                        f"{t!r}")
    return t


def getitem(tensor, key):
    """``tensor[key]`` with TF's semantics (``Tensor.__getitem__``).

    ``key`` may hold ints (negative counts from the end), slices with steps (their bounds
    may be scalar int tensors), ``...``, ``None``/``tf.newaxis`` and scalar int tensors.
    Lists, bool masks and float indices raise TypeError, as in TF.
    """
    if hasattr(tensor, "_as_tensor") and not isinstance(tensor, Tensor):
        tensor = tensor._as_tensor()
    x = convert_to_tensor(tensor)
    if not isinstance(key, tuple):
        key = (key,)
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_MASKS, 0)
    for i, k in enumerate(key):
        bit = 1 << i
        if isinstance(k, _pyslice):
            for v in (k.start, k.stop, k.step):
                if v is not None and not _is_int_like(v) and not isinstance(v, Tensor):
                    raise TypeError(f"Slice indices must be integers or None, got {v!r}")
                if isinstance(v, Tensor):
                    _check_scalar_index(v)
            if k.step is not None and not isinstance(k.step, Tensor) and k.step == 0:
                raise ValueError("slice step cannot be zero")
            begin.append(0 if k.start is None else k.start)
            end.append(0 if k.stop is None else k.stop)
            strides.append(1 if k.step is None else k.step)
            if k.start is None:
                masks["begin_mask"] |= bit
            if k.stop is None:
                masks["end_mask"] |= bit
        elif k is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif k is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        elif _is_int_like(k):
            begin.append(int(k)), end.append(int(k) + 1), strides.append(1)
            masks["shrink_axis_mask"] |= bit
        elif isinstance(k, Tensor) or hasattr(k, "_as_tensor"):
            t = _check_scalar_index(convert_to_tensor(k))
            begin.append(t), end.append(t + 1), strides.append(1)
            masks["shrink_axis_mask"] |= bit
        else:
            raise TypeError("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) "
                            f"and scalar tf.int32/tf.int64 tensors are valid indices, got {k!r}")
    if not begin:
        return x
    return apply_op(_STRIDED, [x, _index_tensor(begin), _index_tensor(end),
                               _index_tensor(strides)], masks)
