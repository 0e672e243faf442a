"""Linear algebra: einsum, tensordot, norm, trace, diagonals, eye, matrix_transpose."""
import re

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.ops import array_ops, infer
from numflow.ops import array_create, array_gather, array_manip
from numflow.ops import math_elementwise as me
from numflow.ops import reductions
from numflow.ops.apply import apply_op, convert_n, convert_to_tensor
from numflow.ops.math_ops import cast, matmul, reduce_sum
from numflow.ops.registry import register_op


# ---- einsum ---------------------------------------------------------------------------------
def _parse_equation(equation, n_inputs):
    """(input subscripts, output subscripts) with "..." kept as one token "."; implicit
    outputs made explicit (letters used once, sorted, after "...")."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs, out = eq, None
    ins = lhs.split(",")
    if len(ins) != n_inputs:
        raise ValueError(f"Einsum: equation {equation!r} names {len(ins)} inputs, got "
                         f"{n_inputs}")
    ins = [s.replace("...", ".") for s in ins]
    for s in ins:
        if not re.fullmatch(r"[a-zA-Z.]*", s) or s.count(".") > 1:
            raise ValueError(f"Einsum: invalid subscripts {s!r} in {equation!r}")
    if out is None:
        counts = {}
        for s in ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ("." if "." in counts else "") + "".join(
            sorted(c for c, k in counts.items() if k == 1 and c != "."))
    else:
        out = out.replace("...", ".")
        if not re.fullmatch(r"[a-zA-Z.]*", out):
            raise ValueError(f"Einsum: invalid output subscripts in {equation!r}")
    return ins, out


def _einsum_dims(ins, out, shapes):
    """Output dims for input dims lists (None = unknown); ValueError on a mismatch."""
    sizes, ell = {}, TensorShape([])
    for subs, dims in zip(ins, shapes):
        if dims is None:
            return None
        n_ell = len(dims) - (len(subs) - (1 if "." in subs else 0))
        if n_ell < 0 or (n_ell and "." not in subs):
            raise ValueError(f"Einsum: subscripts {subs.replace('.', '...')!r} do not match an "
                             f"input of rank {len(dims)}")
        k = 0
        for c in subs:
            if c == ".":
                ell = infer.broadcast_shapes(ell, TensorShape(dims[k:k + n_ell]))
                k += n_ell
                continue
            d = dims[k]
            if sizes.get(c) is not None and d is not None and d != sizes[c] and 1 not in (d, sizes[c]):
                raise ValueError(f"Einsum: dimension {c!r} is {sizes[c]} in one input and {d} "
                                 "in another")
            if sizes.get(c) in (None, 1):
                sizes[c] = d
            k += 1
    dims = []
    for c in out:
        if c == ".":
            dims.extend(ell.as_list() if ell.rank is not None else [])
        elif c not in sizes:
            raise ValueError(f"Einsum: output subscript {c!r} does not appear in the inputs")
        else:
            dims.append(sizes[c])
    return dims


def _einsum_infer(ins, a):
    d = infer.same_dtype(ins, "Einsum")
    subs, out = _parse_equation(a["equation"], len(ins))
    shapes = [None if t.shape.rank is None else t.shape.as_list() for t in ins]
    dims = _einsum_dims(subs, out, shapes)
    return [(d, TensorShape(dims))]


def _einsum_kernel(xp, *xs, equation):
    subs, out = _parse_equation(equation, len(xs))
    _einsum_dims(subs, out, [list(x.shape) for x in xs])
    eq = ",".join(s.replace(".", "...") for s in subs) + "->" + out.replace(".", "...")
    return xp.asarray(xp.einsum(eq, *xs, optimize=len(xs) > 2)).astype(xs[0].dtype, copy=False)


def _einsum_grad(op, g):
    subs, out = _parse_equation(op.get_attr("equation"), len(op.inputs))
    grads = []
    for i, x in enumerate(op.inputs):
        mine = subs[i]
        if len(set(mine)) != len(mine):
            raise NotImplementedError("gradient of einsum with a repeated subscript in one "
                                      f"operand ({mine!r})")
        others = [s for j, s in enumerate(subs) if j != i]
        avail = set(out).union(*others) if others else set(out)
        kept = "".join(c for c in mine if c in avail)
        eq = ",".join([out] + others).replace(".", "...") + "->" + kept.replace(".", "...")
        operands = [g] + [t for j, t in enumerate(op.inputs) if j != i]
        gi = einsum(eq, *operands)
        if kept != mine:   # letters summed away inside this operand: broadcast back
            for k, c in enumerate(mine):
                if c not in avail:
                    gi = array_manip.expand_dims(gi, k)
            gi = array_manip.broadcast_to(gi, array_ops.shape(x))
        grads.append(gi)
    return grads


_EINSUM = register_op("Einsum", infer=_einsum_infer, kernel=_einsum_kernel, grad=_einsum_grad)


@export("einsum", "linalg.einsum")
def einsum(equation, *inputs, **kwargs):
    """Tensor contraction in Einstein notation (``tf.einsum(equation, *inputs, name=None)``).

    ``"ij,jk->ik"`` is a matrix product; "..." stands for broadcast batch dimensions; an
    equation without "->" outputs the subscripts used once, in alphabetical order.
    """
    name = kwargs.pop("name", None)
    kwargs.pop("optimize", None)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments for einsum: {sorted(kwargs)}")
    ts = convert_n(list(inputs))
    _parse_equation(equation, len(ts))
    infer.same_dtype(ts, "Einsum")
    return apply_op(_EINSUM, ts, {"equation": equation}, name=name)


# ---- tensordot ------------------------------------------------------------------------------
def _tensordot_axes(axes, ra, rb):
    if not isinstance(axes, (list, tuple)):
        n = int(np.asarray(axes))
        if n < 0 or n > min(ra, rb):
            raise ValueError(f"tensordot: axes={n} must be in [0, {min(ra, rb)}] for inputs of "
                             f"ranks {ra} and {rb}")
        return list(range(ra - n, ra)), list(range(n))
    if len(axes) != 2:
        raise ValueError("tensordot: axes must be an int or a pair of axis lists")
    a_ax, b_ax = ([int(v)] if np.ndim(v) == 0 else [int(i) for i in v] for v in axes)
    if len(a_ax) != len(b_ax):
        raise ValueError(f"tensordot: different number of contraction axes: {a_ax} vs {b_ax}")
    norm = []
    for ax, r in ((a_ax, ra), (b_ax, rb)):
        for v in ax:
            if not -r <= v < r:
                raise ValueError(f"tensordot: axis {v} is out of range for rank {r}")
        norm.append([v % r for v in ax])
    return norm[0], norm[1]


@export("tensordot", "linalg.tensordot")
def tensordot(a, b, axes, name=None):
    """Sum of products of ``a`` and ``b`` over the given axes (``tf.tensordot``).

    ``axes`` is an int N (the last N axes of ``a`` with the first N of ``b``) or a pair of
    axis lists. Implemented as transpose + reshape + matmul, as TF does.
    """
    a, b = convert_n([a, b])
    if a.dtype.base_dtype != b.dtype.base_dtype:
        raise TypeError(f"tensordot: dtypes differ: {a.dtype.name} vs {b.dtype.name}")
    ra, rb = a.shape.rank, b.shape.rank
    if ra is None or rb is None:
        raise NotImplementedError("tensordot of inputs of unknown rank")
    a_ax, b_ax = _tensordot_axes(axes, ra, rb)
    free_a = [i for i in range(ra) if i not in a_ax]
    free_b = [i for i in range(rb) if i not in b_ax]
    a2 = _flatten_for_matmul(a, free_a, a_ax, free_first=True)
    b2 = _flatten_for_matmul(b, b_ax, free_b, free_first=False)
    prod = matmul(a2, b2)
    sa, sb = array_ops.shape(a), array_ops.shape(b)
    static = [a.shape[i] for i in free_a] + [b.shape[i] for i in free_b]
    if all(d is not None for d in static):
        out_shape = static
    else:
        out_shape = array_manip.concat([array_gather.gather(sa, _idx(free_a)),
                                        array_gather.gather(sb, _idx(free_b))], 0)
    out = array_ops.reshape(prod, out_shape, name=name)
    out.set_shape(static)
    return out


def _idx(values):
    return np.asarray(values, dtype=np.int32).reshape(-1)


def _flatten_for_matmul(t, first, second, free_first):
    perm = first + second
    if perm != list(range(len(perm))):
        t = array_manip.transpose(t, perm)
    dims = t.shape.as_list() if t.shape.rank is not None else [None] * len(perm)
    if all(d is not None for d in dims):
        n1 = int(np.prod(dims[:len(first)]))
        n2 = int(np.prod(dims[len(first):]))
        return array_ops.reshape(t, [n1, n2])
    s = array_ops.shape(t)
    n1 = reductions.reduce_prod(array_gather.gather(s, _idx(range(len(first)))))
    n2 = reductions.reduce_prod(array_gather.gather(s, _idx(range(len(first), len(perm)))))
    return array_ops.reshape(t, array_ops.stack([n1, n2]))


# ---- norms ----------------------------------------------------------------------------------
def _norm(x, ord, axis, keepdims, name):  # noqa: A002 - TF's argument name
    x = convert_to_tensor(x)
    if not (x.dtype.base_dtype.is_floating or x.dtype.base_dtype.is_complex):
        raise TypeError(f"norm: expected a float tensor, got {x.dtype.name}")
    is_matrix = isinstance(axis, (list, tuple)) and len(axis) == 2
    if axis is not None and not is_matrix:
        axis = array_manip.static_ints(axis, "norm axis")
        if len(axis) != 1:
            raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique "
                             f"integers, got {axis}")
    if is_matrix:
        axis = [int(a) for a in axis]
        if ord in ("fro", "euclidean", None):
            return me.sqrt(reduce_sum(me.square(me.abs(x)), axis, keepdims), name=name)
        rank = x.shape.rank
        if rank is None:
            raise NotImplementedError("matrix norm of a tensor of unknown rank")
        r, c = (a % rank for a in axis)
        if ord == 1:
            inner, outer = r, c
        elif ord == np.inf:
            inner, outer = c, r
        else:
            raise NotImplementedError(f"matrix norm with ord={ord!r} (only 'fro', 1, inf)")
        s = reduce_sum(me.abs(x), inner, keepdims=True)
        out = reductions.reduce_max(s, outer, keepdims=True)
        if not keepdims:
            out = array_manip.squeeze(out, sorted([r, c]))
        return array_ops.identity(out, name=name)
    if ord in ("euclidean", 2, 2.0, None, "fro"):
        if ord == "fro" and axis is not None:
            raise ValueError("'fro' norm needs a pair of axes")
        return me.sqrt(reduce_sum(me.square(me.abs(x)), axis, keepdims), name=name)
    if ord == 1:
        return reduce_sum(me.abs(x), axis, keepdims, name=name)
    if ord == np.inf:
        return reductions.reduce_max(me.abs(x), axis, keepdims, name=name)
    if isinstance(ord, (int, float)) and ord > 0:
        p = cast(convert_to_tensor(float(ord)), x.dtype)
        return me.pow(reduce_sum(me.pow(me.abs(x), p), axis, keepdims), 1.0 / p, name=name)
    raise ValueError(f"'ord' must be a supported vector norm, got {ord!r}")


@export("norm", "linalg.norm", v1=[])
def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None):  # noqa: A002
    """Vector or matrix norm (``tf.norm``).

    ``ord`` is "euclidean" (default), 1, 2, inf or p > 0 for vectors; "fro", 1 or inf for
    matrices (``axis`` a pair). ``axis=None`` treats the whole tensor as one vector.
    """
    return _norm(tensor, ord, axis, bool(keepdims), name)


@export(v1=["norm", "linalg.norm"])
def norm_v1(tensor, ord="euclidean", axis=None, keepdims=None, name=None,  # noqa: A002
            keep_dims=None):
    """TF1 ``norm(tensor, ord='euclidean', axis=None, keepdims=None, name=None,
    keep_dims=None)``."""
    return _norm(tensor, ord, axis, bool(keepdims if keepdims is not None else keep_dims), name)


# ---- diagonals ------------------------------------------------------------------------------
def _need_rank(x, k, op_name):
    if x.shape.rank is not None and x.shape.rank < k:
        raise ValueError(f"{op_name}: input must be at least rank {k}, got shape {x.shape}")


def _matrix_diag_kernel(xp, d):
    n = d.shape[-1]
    out = xp.zeros(d.shape + (n,), dtype=d.dtype)
    i = xp.arange(n)
    out[..., i, i] = d
    return out


def _matrix_diag_infer(ins, a):
    s = ins[0].shape
    if s.rank is None:
        return [(ins[0].dtype.base_dtype, TensorShape(None))]
    if s.rank < 1:
        raise ValueError("MatrixDiag: input must be at least rank 1")
    return [(ins[0].dtype.base_dtype, s.concatenate([s[-1]]))]


_MATRIX_DIAG = register_op("MatrixDiag", infer=_matrix_diag_infer, kernel=_matrix_diag_kernel,
                           grad=lambda op, g: [diag_part(g)])


def _diag_part_kernel(xp, x):
    if x.ndim < 2:
        raise ValueError(f"MatrixDiagPart: input must be at least rank 2, got {list(x.shape)}")
    return xp.diagonal(x, axis1=-2, axis2=-1).copy()


def _diag_part_infer(ins, a):
    s = ins[0].shape
    if s.rank is None:
        return [(ins[0].dtype.base_dtype, TensorShape(None))]
    if s.rank < 2:
        raise ValueError(f"MatrixDiagPart: input must be at least rank 2, got {s}")
    m, n = s[-2], s[-1]
    k = None if m is None or n is None else min(m, n)
    return [(ins[0].dtype.base_dtype, TensorShape(s.as_list()[:-2] + [k]))]


_MATRIX_DIAG_PART = register_op(
    "MatrixDiagPart", infer=_diag_part_infer, kernel=_diag_part_kernel,
    grad=lambda op, g: [set_diag(array_ops.zeros_like(op.inputs[0]), g)])


def _set_diag_kernel(xp, x, d):
    k = min(x.shape[-2:]) if x.ndim >= 2 else 0
    if x.ndim < 2 or d.shape != x.shape[:-2] + (k,):
        raise ValueError(f"MatrixSetDiag: diagonal of shape {list(d.shape)} does not fit input "
                         f"of shape {list(x.shape)}")
    out = x.copy()
    i = xp.arange(k)
    out[..., i, i] = d
    return out


_MATRIX_SET_DIAG = register_op(
    "MatrixSetDiag", infer=lambda ins, a: [(infer.same_dtype(ins, "MatrixSetDiag"), ins[0].shape)],
    kernel=_set_diag_kernel,
    grad=lambda op, g: [set_diag(g, array_ops.zeros_like(op.inputs[1])), diag_part(g)])


def _only_main_diagonal(k, num_rows, num_cols, padding_value, align="RIGHT_LEFT"):
    if k != 0 or num_rows != -1 or num_cols != -1 or padding_value != 0:
        raise NotImplementedError("tf.linalg.diag/diag_part/set_diag with k != 0, num_rows, "
                                  "num_cols or padding_value")


@export("linalg.diag", v1=["linalg.diag", "matrix_diag"])
def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0,
         align="RIGHT_LEFT"):
    """Batched square matrices with ``diagonal`` on their main diagonal (``tf.linalg.diag``).

    ``diagonal`` of shape ``[..., N]`` gives ``[..., N, N]``. Only ``k=0`` is supported.
    """
    _only_main_diagonal(k, num_rows, num_cols, padding_value)
    d = convert_to_tensor(diagonal)
    _need_rank(d, 1, "MatrixDiag")
    return apply_op(_MATRIX_DIAG, [d], name=name)


@export("linalg.diag_part", v1=["linalg.diag_part", "matrix_diag_part"])
def diag_part(input, name="diag_part", k=0, padding_value=0, align="RIGHT_LEFT"):  # noqa: A002
    """The main diagonals ``[..., min(M, N)]`` of ``[..., M, N]`` matrices
    (``tf.linalg.diag_part``). Only ``k=0`` is supported."""
    _only_main_diagonal(k, -1, -1, padding_value)
    x = convert_to_tensor(input)
    _need_rank(x, 2, "MatrixDiagPart")
    return apply_op(_MATRIX_DIAG_PART, [x], name=name)


@export("linalg.set_diag", v1=["linalg.set_diag", "matrix_set_diag"])
def set_diag(input, diagonal, name="set_diag", k=0, align="RIGHT_LEFT"):  # noqa: A002
    """``input`` with its main diagonals replaced by ``diagonal`` (``tf.linalg.set_diag``)."""
    _only_main_diagonal(k, -1, -1, 0)
    x = convert_to_tensor(input)
    d = convert_to_tensor(diagonal, dtype_hint=x.dtype.base_dtype)
    _need_rank(x, 2, "MatrixSetDiag")
    return apply_op(_MATRIX_SET_DIAG, [x, d], name=name)


def _tensor_diag_kernel(xp, x):
    n = x.size
    out = xp.zeros((n, n), dtype=x.dtype)
    out[xp.arange(n), xp.arange(n)] = x.reshape(-1)
    return out.reshape(x.shape + x.shape)


def _tensor_diag_part_kernel(xp, x):
    k = x.ndim // 2
    if x.ndim % 2 or x.shape[:k] != x.shape[k:]:
        raise ValueError(f"DiagPart: input must have shape [D1..Dk, D1..Dk], got "
                         f"{list(x.shape)}")
    n = int(np.prod(x.shape[:k]))
    return xp.diagonal(x.reshape(n, n)).reshape(x.shape[:k]).copy()


def _tensor_diag_part_infer(ins, a):
    s = ins[0].shape
    if s.rank is None:
        return [(ins[0].dtype.base_dtype, TensorShape(None))]
    if s.rank % 2:
        raise ValueError(f"DiagPart: input must have an even rank, got {s}")
    k = s.rank // 2
    return [(ins[0].dtype.base_dtype, s[:k].merge_with(s[k:]))]


_DIAG = register_op("Diag", infer=lambda ins, a: [(ins[0].dtype.base_dtype,
                                                   ins[0].shape.concatenate(ins[0].shape))],
                    kernel=_tensor_diag_kernel, grad=lambda op, g: [tensor_diag_part(g)])
_DIAG_PART = register_op("DiagPart", infer=_tensor_diag_part_infer,
                         kernel=_tensor_diag_part_kernel, grad=lambda op, g: [tensor_diag(g)])


@export("linalg.tensor_diag", v1=["linalg.tensor_diag", "diag"])
def tensor_diag(diagonal, name=None):
    """A rank-2k tensor with ``diagonal`` (rank k) on its diagonal: ``out[i.., i..] = d[i..]``
    (``tf.linalg.tensor_diag``; TF1 ``tf.diag``)."""
    return apply_op(_DIAG, [convert_to_tensor(diagonal)], name=name)


@export("linalg.tensor_diag_part", v1=["linalg.tensor_diag_part", "diag_part"])
def tensor_diag_part(input, name=None):  # noqa: A002
    """The inverse of ``tensor_diag``: ``out[i..] = input[i.., i..]``
    (``tf.linalg.tensor_diag_part``; TF1 ``tf.diag_part``)."""
    return apply_op(_DIAG_PART, [convert_to_tensor(input)], name=name)


@export("linalg.trace", v1=["linalg.trace", "trace"])
def trace(x, name=None):
    """Sum of the main diagonal of each innermost matrix (``tf.linalg.trace``)."""
    return reduce_sum(diag_part(x), axis=-1, name=name)


@export("eye", "linalg.eye")
def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    """An identity matrix ``[num_rows, num_columns]``, optionally batched (``tf.eye``)."""
    dtype = dtypes.as_dtype(dtype)
    if num_columns is None:
        num_columns = num_rows
    rows = array_create.range(num_rows)
    cols = array_create.range(num_columns)
    out = cast(me.equal(array_manip.expand_dims(rows, 1), cols), dtype)
    if batch_shape is not None:
        try:
            target = array_manip.static_ints(batch_shape, "eye batch_shape") + \
                [int(d) for d in out.shape.as_list()]
        except (NotImplementedError, TypeError, ValueError):
            target = array_manip.concat([convert_to_tensor(batch_shape, dtype_hint=dtypes.int32),
                                         array_ops.shape(out)], 0)
        out = array_manip.broadcast_to(out, target)
    return array_ops.identity(out, name=name)


@export("linalg.matrix_transpose", "linalg.transpose",
        v1=["linalg.matrix_transpose", "linalg.transpose", "matrix_transpose"])
def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Swaps the last two dimensions of ``a`` (``tf.linalg.matrix_transpose``)."""
    x = convert_to_tensor(a)
    r = x.shape.rank
    if r is None:
        raise NotImplementedError("matrix_transpose of a tensor of unknown rank")
    if r < 2:
        raise ValueError(f"Argument 'a' should be a (batch) matrix with rank >= 2. Found: "
                         f"{x.shape}")
    return array_manip.transpose(x, list(range(r - 2)) + [r - 1, r - 2], conjugate, name=name)

