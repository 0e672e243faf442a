"""Array manipulation: transpose, expand_dims, squeeze, concat, split, tile, pad, reverse,
broadcast_to, and the public ``convert_to_tensor``.

Gather/scatter/one_hot live in array_gather.py; range/linspace/meshgrid in array_create.py.
"""
import numpy as np

from numflow._api.export import export, export_value
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.graph.tensor import Tensor
from numflow.ops import array_ops, infer
from numflow.ops.apply import apply_op, convert_n, convert_to_tensor
from numflow.ops.registry import register_op

export_value(convert_to_tensor, v1=["convert_to_tensor"])


@export("convert_to_tensor", v1=[])
def convert_to_tensor_v2(value, dtype=None, dtype_hint=None, name=None):
    """Converts ``value`` to a Tensor (``tf.convert_to_tensor`` in TF2).

    Python floats become float32 and ints int32 (``dtype_hint`` may choose another
    compatible dtype); NumPy arrays keep their dtype; ``dtype`` must hold without loss.
    """
    return convert_to_tensor(value, dtype=dtype, name=name, dtype_hint=dtype_hint)


def static_ints(value, what):
    """A Python list of ints from a list/array/tensor known at graph-build time.

    Raises NotImplementedError naming ``what`` when the value is only known at run time.
    """
    if isinstance(value, Tensor) or hasattr(value, "_as_tensor"):
        v = infer.constant_value(convert_to_tensor(value))
        if v is None:
            raise NotImplementedError(f"{what} given as a tensor computed at run time")
        value = v
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _axis_in_range(axis, rank, op_name, extra=0):
    """Normalised axis; ValueError naming the op when out of [-rank-extra, rank+extra)."""
    n = rank + extra
    if not -n <= axis < max(n, 1):
        raise ValueError(f"{op_name}: axis {axis} is out of range for a tensor of rank {rank} "
                         f"(expected [{-n}, {n}))")
    return axis % n if n else 0


# ---- transpose ------------------------------------------------------------------------------
def _transpose_infer(ins, a):
    x, perm = ins[0], a["perm"]
    if x.shape.rank is None:
        return [(x.dtype.base_dtype, TensorShape(None if perm is None else [None] * len(perm)))]
    dims = x.shape.as_list()
    if perm is None:
        return [(x.dtype.base_dtype, TensorShape(dims[::-1]))]
    _check_perm(perm, len(dims))
    return [(x.dtype.base_dtype, TensorShape([dims[p] for p in perm]))]


def _check_perm(perm, rank):
    if sorted(perm) != list(range(rank)):
        raise ValueError(f"Transpose: perm {list(perm)} is not a permutation of "
                         f"[0, {rank}) for a tensor of rank {rank}")


def _transpose_kernel(xp, x, perm, conjugate):
    if perm is not None:
        _check_perm(perm, x.ndim)
    out = xp.transpose(x, perm)
    return xp.conj(out) if conjugate and x.dtype.kind == "c" else out


def _transpose_grad(op, g):
    perm = op.get_attr("perm")
    inv = None
    if perm is not None:
        inv = [0] * len(perm)
        for i, p in enumerate(perm):
            inv[p] = i
    return [transpose(g, inv, conjugate=op.get_attr("conjugate"))]


_TRANSPOSE = register_op("Transpose", infer=_transpose_infer, kernel=_transpose_kernel,
                         grad=_transpose_grad)


@export("transpose", v1=[])
def transpose(a, perm=None, conjugate=False, name="transpose"):
    """Permutes the dimensions of ``a`` by ``perm`` (reversed when None) (``tf.transpose``).

    ``conjugate=True`` also conjugates complex values.
    """
    x = convert_to_tensor(a)
    p = None if perm is None else static_ints(perm, "transpose perm")
    if p is not None:
        p = [q % len(p) if -len(p) <= q < 0 else q for q in p]
    if p is None and x.shape.rank is not None:
        p = list(range(x.shape.rank))[::-1]
    return apply_op(_TRANSPOSE, [x], {"perm": None if p is None else tuple(p),
                                      "conjugate": bool(conjugate)}, name=name)


@export(v1=["transpose"])
def transpose_v1(a, perm=None, name="transpose", conjugate=False):
    """TF1 ``transpose(a, perm=None, name='transpose', conjugate=False)``."""
    return transpose(a, perm, conjugate, name)


# ---- expand_dims / squeeze ------------------------------------------------------------------
def _expand_infer(ins, a):
    x = ins[0]
    if x.shape.rank is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    dims = x.shape.as_list()
    ax = _axis_in_range(a["axis"], len(dims), "ExpandDims", extra=1)
    return [(x.dtype.base_dtype, TensorShape(dims[:ax] + [1] + dims[ax:]))]


def _expand_kernel(xp, x, axis):
    return xp.expand_dims(x, _axis_in_range(axis, x.ndim, "ExpandDims", extra=1))


_EXPAND = register_op("ExpandDims", infer=_expand_infer, kernel=_expand_kernel,
                      grad=lambda op, g: [array_ops.reshape(g, array_ops.shape(op.inputs[0]))])


@export("expand_dims", v1=[])
def expand_dims(input, axis, name=None):  # noqa: A002
    """Inserts a dimension of size 1 at ``axis`` (``tf.expand_dims``); -1 appends."""
    x = convert_to_tensor(input)
    ax = static_ints(axis, "expand_dims axis")
    if len(ax) != 1:
        raise ValueError(f"expand_dims: axis must be a scalar, got {axis!r}")
    return apply_op(_EXPAND, [x], {"axis": ax[0]}, name=name)


@export(v1=["expand_dims"])
def expand_dims_v1(input, axis=None, name=None, dim=None):  # noqa: A002
    """TF1 ``expand_dims(input, axis=None, name=None, dim=None)``."""
    if axis is None:
        axis = dim
    if axis is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")
    return expand_dims(input, axis, name)


def _squeeze_axes(dims, axes, check):
    if axes is None:
        return [i for i, d in enumerate(dims) if d == 1]
    out = []
    for a in axes:
        i = _axis_in_range(a, len(dims), "Squeeze")
        if check and dims[i] is not None and dims[i] != 1:
            raise ValueError(f"Can not squeeze dim[{i}], expected a dimension of 1, got "
                             f"{dims[i]}")
        out.append(i)
    return out


def _squeeze_infer(ins, a):
    x = ins[0]
    if x.shape.rank is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    dims = x.shape.as_list()
    if a["squeeze_dims"] is None and None in dims:
        return [(x.dtype.base_dtype, TensorShape(None))]
    gone = _squeeze_axes(dims, a["squeeze_dims"], True)
    return [(x.dtype.base_dtype, TensorShape([d for i, d in enumerate(dims) if i not in gone]))]


def _squeeze_kernel(xp, x, squeeze_dims):
    gone = _squeeze_axes(list(x.shape), squeeze_dims, True)
    return x.reshape([d for i, d in enumerate(x.shape) if i not in gone])


_SQUEEZE = register_op("Squeeze", infer=_squeeze_infer, kernel=_squeeze_kernel,
                       grad=lambda op, g: [array_ops.reshape(g, array_ops.shape(op.inputs[0]))])


@export("squeeze", v1=[])
def squeeze(input, axis=None, name=None):  # noqa: A002
    """Removes dimensions of size 1 (only those in ``axis`` when given) (``tf.squeeze``).

    Raises ValueError/InvalidArgumentError when an ``axis`` dimension is not 1.
    """
    x = convert_to_tensor(input)
    axes = None if axis is None else tuple(static_ints(axis, "squeeze axis"))
    return apply_op(_SQUEEZE, [x], {"squeeze_dims": axes or None}, name=name)


@export(v1=["squeeze"])
def squeeze_v1(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    """TF1 ``squeeze(input, axis=None, name=None, squeeze_dims=None)``."""
    return squeeze(input, axis if axis is not None else squeeze_dims, name)


# ---- concat ---------------------------------------------------------------------------------
def _concat_infer(ins, a):
    d = infer.same_dtype(ins, "ConcatV2")
    ranks = {t.shape.rank for t in ins if t.shape.rank is not None}
    if len(ranks) > 1:
        raise ValueError(f"ConcatV2: all inputs must have the same rank, got ranks "
                         f"{sorted(ranks)}")
    if not ranks:
        return [(d, TensorShape(None))]
    rank = ranks.pop()
    ax = _axis_in_range(a["axis"], rank, "ConcatV2")
    out = [None] * rank
    total = 0
    for t in ins:
        if t.shape.rank is None:
            total = None
            continue
        dims = t.shape.as_list()
        for i, v in enumerate(dims):
            if i == ax:
                continue
            if out[i] is not None and v is not None and v != out[i]:
                raise ValueError(f"Dimension {i} in both shapes must be equal, but are "
                                 f"{out[i]} and {v}. Shapes are {ins[0].shape} and {t.shape}")
            out[i] = out[i] if out[i] is not None else v
        total = None if total is None or dims[ax] is None else total + dims[ax]
    out[ax] = total
    return [(d, TensorShape(out))]


def _concat_kernel(xp, *xs, axis):
    rank = xs[0].ndim
    ax = _axis_in_range(axis, rank, "ConcatV2")
    for x in xs[1:]:
        if x.ndim != rank or x.shape[:ax] + x.shape[ax + 1:] != xs[0].shape[:ax] + \
                xs[0].shape[ax + 1:]:
            raise ValueError(f"ConcatOp: dimensions of inputs should match: shape[0] = "
                             f"{list(xs[0].shape)} vs. shape[i] = {list(x.shape)}")
    return xp.concatenate(xs, axis=ax)


def _concat_grad(op, g):
    from numflow.ops import array_gather as ag, math_elementwise as me, slicing
    rank = array_ops.rank(g)
    axis = me.floormod(op.get_attr("axis"), rank)
    axis_hot = ag.one_hot(axis, rank, dtype=dtypes.int32)
    offset = convert_to_tensor(0)
    grads = []
    for x in op.inputs:
        s = array_ops.shape(x)
        grads.append(slicing.slice(g, offset * axis_hot, s))
        offset = offset + ag.gather(s, axis)
    return grads


_CONCAT = register_op("ConcatV2", infer=_concat_infer, kernel=_concat_kernel,
                      grad=_concat_grad)


@export("concat", v1=["concat"])
def concat(values, axis, name="concat"):
    """Concatenates tensors along ``axis`` (``tf.concat(values, axis, name='concat')``).

    Inputs must share dtype, rank and every dimension except ``axis``.
    """
    if not isinstance(values, (list, tuple)):
        values = [values]
    ts = convert_n(list(values))
    ax = static_ints(axis, "concat axis")
    if len(ax) != 1:
        raise ValueError(f"concat: axis must be a scalar, got {axis!r}")
    if len(ts) == 1:
        _axis_in_range(ax[0], ts[0].shape.rank or 1, "ConcatV2")
        return array_ops.identity(ts[0], name=name)
    return apply_op(_CONCAT, ts, {"axis": ax[0]}, name=name)


# ---- split ----------------------------------------------------------------------------------
def _split_sizes(dim, num_split, size_splits, axis):
    if size_splits is None:
        if num_split <= 0:
            raise ValueError(f"Split: num_split must be positive, got {num_split}")
        if dim is None:
            return [None] * num_split
        if dim % num_split:
            raise ValueError(f"Number of ways to split should evenly divide the split "
                             f"dimension, but got split_dim {axis} (size = {dim}) and "
                             f"num_split {num_split}")
        return [dim // num_split] * num_split
    sizes = list(size_splits)
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"SplitV: size_splits {sizes} may hold one -1 and no other negative "
                         "value")
    known = sum(s for s in sizes if s >= 0)
    if dim is None:
        return [None if s == -1 else s for s in sizes]
    if unknown:
        if known > dim:
            raise ValueError(f"SplitV: sizes {sizes} exceed dimension {axis} of size {dim}")
        sizes[unknown[0]] = dim - known
    elif known != dim:
        raise ValueError(f"Determined shape must either match input shape along split_dim "
                         f"exactly if fully specified, or be less than the size of the input "
                         f"along split_dim if not fully specified. Got: {known} vs {dim} "
                         f"(size_splits {list(size_splits)})")
    return sizes


def _split_infer(ins, a):
    x = ins[0]
    n = a["num_split"] if a["size_splits"] is None else len(a["size_splits"])
    if x.shape.rank is None:
        return [(x.dtype.base_dtype, TensorShape(None))] * n
    dims = x.shape.as_list()
    ax = _axis_in_range(a["axis"], len(dims), "Split")
    sizes = _split_sizes(dims[ax], a["num_split"], a["size_splits"], ax)
    return [(x.dtype.base_dtype, TensorShape(dims[:ax] + [s] + dims[ax + 1:])) for s in sizes]


def _split_kernel(xp, x, num_split, size_splits, axis):
    ax = _axis_in_range(axis, x.ndim, "Split")
    sizes = _split_sizes(x.shape[ax], num_split, size_splits, ax)
    return xp.split(x, np.cumsum(sizes)[:-1], axis=ax)


_SPLIT = register_op("SplitV", infer=_split_infer, kernel=_split_kernel, num_outputs=None,
                     grad=lambda op, *gs: [concat(list(gs), op.get_attr("axis"))])


@export("split", v1=["split"])
def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Splits ``value`` along ``axis`` (``tf.split``).

    An int ``num_or_size_splits`` makes that many equal pieces (it must divide the
    dimension); a list gives each piece's size (one may be -1). Returns a list.
    """
    x = convert_to_tensor(value)
    ax = static_ints(axis, "split axis")[0]
    spec = num_or_size_splits
    scalar = isinstance(spec, (int, np.integer)) and not isinstance(spec, bool)
    if isinstance(spec, Tensor) or hasattr(spec, "_as_tensor"):
        spec = convert_to_tensor(spec)
        scalar = spec.shape.rank == 0
    sizes = static_ints(spec, "split num_or_size_splits")
    if scalar:
        attrs = {"num_split": sizes[0], "size_splits": None, "axis": ax}
    else:
        if num is not None and num != len(sizes):
            raise ValueError(f"split: num={num} does not match {len(sizes)} size_splits")
        attrs = {"num_split": len(sizes), "size_splits": tuple(sizes), "axis": ax}
    return apply_op(_SPLIT, [x], attrs, name=name)


# ---- tile -----------------------------------------------------------------------------------
def _tile_infer(ins, a):
    x, m = ins
    mult = infer.shape_from_tensor(m)
    if x.shape.rank is None or mult.rank is None:
        return [(x.dtype.base_dtype, TensorShape(None if x.shape.rank is None else
                                                 [None] * x.shape.rank))]
    if mult.rank != x.shape.rank:
        raise ValueError(f"Tile: expected multiples argument to be a vector of length "
                         f"{x.shape.rank} but got length {mult.rank}")
    return [(x.dtype.base_dtype, TensorShape([None if d is None or k is None else d * k
                                              for d, k in zip(x.shape.as_list(),
                                                              mult.as_list())]))]


def _tile_kernel(xp, x, multiples):
    if multiples.shape != (x.ndim,):
        raise ValueError(f"Expected multiples argument to be a vector of length {x.ndim} but "
                         f"got length {multiples.size}")
    if (multiples < 0).any():
        raise ValueError(f"Expected multiples to be non-negative, got {multiples.tolist()}")
    return xp.tile(x, [int(m) for m in multiples])


def _tile_grad(op, g):
    x, m = op.inputs
    rank = x.shape.rank
    if rank is None:
        raise NotImplementedError("gradient of tile for an input of unknown rank")
    split_shape = array_ops.reshape(
        transpose(array_ops.stack([m, array_ops.shape(x, out_type=m.dtype)])), [-1])
    from numflow.ops.math_ops import reduce_sum
    return [reduce_sum(array_ops.reshape(g, split_shape), axis=list(range(0, 2 * rank, 2))),
            None]


_TILE = register_op("Tile", infer=_tile_infer, kernel=_tile_kernel, grad=_tile_grad)


@export("tile", v1=["tile"])
def tile(input, multiples, name=None):  # noqa: A002
    """Repeats ``input`` ``multiples[i]`` times along dimension ``i`` (``tf.tile``)."""
    x = convert_to_tensor(input)
    m = convert_to_tensor(multiples, dtype_hint=dtypes.int32)
    if not m.dtype.base_dtype.is_integer:
        raise TypeError(f"tile: multiples must be int32 or int64, got {m.dtype.name}")
    return apply_op(_TILE, [x, m], name=name)


# ---- pad ------------------------------------------------------------------------------------
def _pad_infer(ins, a):
    x, p = ins[0], ins[1]
    pv = infer.constant_value(p)
    rank = x.shape.rank if x.shape.rank is not None else (
        p.shape[0] if p.shape.rank == 2 else None)
    if rank is None:
        return [(x.dtype.base_dtype, TensorShape(None))]
    if pv is None:
        return [(x.dtype.base_dtype, TensorShape([None] * rank))]
    pv = np.asarray(pv)
    _check_paddings(pv, rank, None if x.shape.rank is None else x.shape.as_list(),
                    a.get("mode", "CONSTANT"))
    dims = x.shape.as_list() if x.shape.rank is not None else [None] * rank
    return [(x.dtype.base_dtype, TensorShape([None if d is None else d + int(lo) + int(hi)
                                              for d, (lo, hi) in zip(dims, pv)]))]


def _check_paddings(p, rank, dims, mode):
    if p.shape != (rank, 2):
        raise ValueError(f"The first dimension of paddings must be the rank of inputs "
                         f"{rank}, and the second 2; got paddings of shape {list(p.shape)}")
    if (p < 0).any():
        raise ValueError(f"Paddings must be non-negative: {p.tolist()}")
    if mode != "CONSTANT" and dims is not None:
        limit = 1 if mode == "REFLECT" else 0     # REFLECT: pad < dim; SYMMETRIC: pad <= dim
        for i, (d, (lo, hi)) in enumerate(zip(dims, p)):
            if d is not None and (lo > d - limit or hi > d - limit):
                raise ValueError(f"paddings must be less than{'' if limit else ' or equal to'}"
                                 f" the dimension size: {lo}, {hi} for dimension {i} of size "
                                 f"{d} ({mode})")


def _pad_kernel(xp, x, paddings, constant_values):
    _check_paddings(paddings, x.ndim, list(x.shape), "CONSTANT")
    return xp.pad(x, [(int(a), int(b)) for a, b in paddings], mode="constant",
                  constant_values=constant_values)


def _mirror_kernel(xp, x, paddings, mode):
    _check_paddings(paddings, x.ndim, list(x.shape), mode)
    return xp.pad(x, [(int(a), int(b)) for a, b in paddings], mode=mode.lower())


def _pad_slice_grad(op, g):
    from numflow.ops import slicing
    x, p = op.inputs[0], op.inputs[1]
    begin = array_ops.reshape(slicing.slice(p, [0, 0], [-1, 1]), [-1])
    return [slicing.slice(g, begin, array_ops.shape(x, out_type=p.dtype))] + \
        [None] * (len(op.inputs) - 1)


def _mirror_grad_kernel(xp, g, paddings, mode):
    """Folds the mirrored borders of ``g`` back onto the interior (MirrorPad's adjoint)."""
    shift = 1 if mode == "REFLECT" else 0
    for ax, (lo, hi) in enumerate(paddings):
        lo, hi = int(lo), int(hi)
        g = xp.moveaxis(g, ax, 0)
        n = g.shape[0] - lo - hi
        core = g[lo:lo + n].copy()
        if lo:
            core[shift:shift + lo] += g[:lo][::-1]
        if hi:
            core[n - shift - hi:n - shift] += g[lo + n:][::-1]
        g = xp.moveaxis(core, 0, ax)
    return g


_PAD = register_op("PadV2", infer=_pad_infer, kernel=_pad_kernel, grad=_pad_slice_grad)
_MIRROR_PAD = register_op(
    "MirrorPad", infer=_pad_infer, kernel=_mirror_kernel,
    grad=lambda op, g: [apply_op(_MIRROR_PAD_GRAD, [g, op.inputs[1]],
                                 {"mode": op.get_attr("mode")}), None])


def _mirror_grad_infer(ins, a):
    g, p = ins
    pv = infer.constant_value(p)
    if g.shape.rank is None or pv is None:
        return [(g.dtype.base_dtype, TensorShape(None if g.shape.rank is None else
                                                 [None] * g.shape.rank))]
    return [(g.dtype.base_dtype, TensorShape([None if d is None else d - int(lo) - int(hi)
                                              for d, (lo, hi) in zip(g.shape.as_list(),
                                                                     np.asarray(pv))]))]


_MIRROR_PAD_GRAD = register_op(
    "MirrorPadGrad", infer=_mirror_grad_infer, kernel=_mirror_grad_kernel,
    grad=lambda op, g: [apply_op(_MIRROR_PAD, [g, op.inputs[1]], {"mode": op.get_attr("mode")}),
                        None])


@export("pad", v1=[])
def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """Pads ``tensor`` by ``paddings`` (an ``[rank, 2]`` int list) (``tf.pad``).

    ``mode`` is "CONSTANT" (filled with ``constant_values``), "REFLECT" (mirror without the
    edge; paddings < dim) or "SYMMETRIC" (mirror with the edge; paddings <= dim).
    """
    x = convert_to_tensor(tensor)
    p = convert_to_tensor(paddings, dtype_hint=dtypes.int32)
    m = str(mode).upper()
    if m == "CONSTANT":
        c = convert_to_tensor(constant_values, dtype=x.dtype.base_dtype) \
            if not isinstance(constant_values, Tensor) else constant_values
        return apply_op(_PAD, [x, p, c], name=name)
    if m not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"pad: unknown padding mode {mode!r}; expected CONSTANT, REFLECT or "
                         "SYMMETRIC")
    return apply_op(_MIRROR_PAD, [x, p], {"mode": m}, name=name)


@export(v1=["pad"])
def pad_v1(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    """TF1 ``pad(tensor, paddings, mode='CONSTANT', name=None, constant_values=0)``."""
    return pad(tensor, paddings, mode, constant_values, name)


# ---- reverse / broadcast_to -----------------------------------------------------------------
def _reverse_axes(axis, rank):
    axes = [_axis_in_range(a, rank, "ReverseV2") for a in axis]
    if len(set(axes)) != len(axes):
        raise ValueError(f"ReverseV2: axis {list(axis)} specified more than once")
    return tuple(axes)


def _reverse_infer(ins, a):
    x = ins[0]
    if x.shape.rank is not None:
        _reverse_axes(a["axis"], x.shape.rank)
    return [(x.dtype.base_dtype, x.shape)]


_REVERSE = register_op(
    "ReverseV2", infer=_reverse_infer,
    kernel=lambda xp, x, axis: xp.flip(x, _reverse_axes(axis, x.ndim)) if axis else x,
    grad=lambda op, g: [reverse(g, list(op.get_attr("axis")))])


@export("reverse", v1=["reverse", "reverse_v2"])
def reverse(tensor, axis, name=None):
    """Reverses ``tensor`` along each dimension in ``axis`` (``tf.reverse``)."""
    x = convert_to_tensor(tensor)
    return apply_op(_REVERSE, [x], {"axis": tuple(static_ints(axis, "reverse axis"))}, name=name)


def _broadcast_to_infer(ins, a):
    x, s = ins
    target = infer.shape_from_tensor(s)
    if target.rank is not None and x.shape.rank is not None:
        if x.shape.rank > target.rank:
            raise ValueError(f"BroadcastTo: input of rank {x.shape.rank} cannot broadcast to "
                             f"rank {target.rank}")
        got = infer.broadcast_shapes(x.shape, target)
        return [(x.dtype.base_dtype, TensorShape([t if t is not None else g for t, g in
                                                  zip(target.as_list(), got.as_list())]))]
    return [(x.dtype.base_dtype, target)]


def _broadcast_to_kernel(xp, x, shape):
    return xp.ascontiguousarray(xp.broadcast_to(x, [int(d) for d in shape]))


_BROADCAST_TO = register_op("BroadcastTo", infer=_broadcast_to_infer,
                            kernel=_broadcast_to_kernel,
                            grad=lambda op, g: [g, None])   # the walk sums back to x's shape


@export("broadcast_to", v1=["broadcast_to"])
def broadcast_to(input, shape, name=None):  # noqa: A002
    """Broadcasts ``input`` to ``shape`` with NumPy's rules (``tf.broadcast_to``)."""
    x = convert_to_tensor(input)
    s = convert_to_tensor(shape, dtype_hint=dtypes.int32)
    return apply_op(_BROADCAST_TO, [x, s], name=name)


# The array-op family is split over array_manip, array_gather, array_create and slicing;
# any of their public functions can be reached from this module (``array_manip.gather``).
_FAMILY = ("numflow.ops.array_gather", "numflow.ops.array_create", "numflow.ops.slicing")


def __getattr__(name):
    import importlib
    for mod in _FAMILY:
        m = importlib.import_module(mod)
        if name in vars(m) and not name.startswith("_"):
            return vars(m)[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
