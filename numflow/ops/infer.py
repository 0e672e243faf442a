"""Shared shape and dtype inference rules for OpDefs (graph mode only)."""
import numpy as np

from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape, unknown_shape


def same_as_input(index=0):
    """Output has the dtype and shape of input ``index``."""
    def infer(inputs, attrs):
        t = inputs[index]
        return [(t.dtype.base_dtype, t.shape)]
    return infer


def broadcast_shapes(a, b):
    """The broadcast of two TensorShapes; ValueError when they cannot broadcast."""
    if a.rank is None or b.rank is None:
        return TensorShape(None)
    da, db = a.as_list(), b.as_list()
    n = max(len(da), len(db))
    da = [1] * (n - len(da)) + da
    db = [1] * (n - len(db)) + db
    out = []
    for x, y in zip(da, db):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise ValueError(f"Dimensions must be equal, but are {x} and {y}")
    return TensorShape(out)


def same_dtype(inputs, op_name):
    """The inputs' common base dtype; TypeError naming ``op_name`` when they differ."""
    d = inputs[0].dtype.base_dtype
    for t in inputs[1:]:
        if t.dtype.base_dtype != d:
            raise TypeError(f"{op_name}: input dtypes must match, got {d.name} and "
                            f"{t.dtype.base_dtype.name}")
    return d


def binary_broadcast(out_dtype=None):
    """Elementwise binary op: broadcast shapes; output dtype = inputs' dtype or ``out_dtype``."""
    def infer(inputs, attrs):
        d = same_dtype(inputs, "binary op")
        return [(out_dtype or d, broadcast_shapes(inputs[0].shape, inputs[1].shape))]
    return infer


def reduced_shape(shape, axis, keepdims):
    """Shape after reducing ``axis`` (None = all; ints may be negative)."""
    if shape.rank is None:
        return TensorShape(None)
    dims = shape.as_list()
    if axis is None:
        return TensorShape([1] * len(dims) if keepdims else [])
    axes = normalize_axes(axis, len(dims))
    if keepdims:
        return TensorShape([1 if i in axes else d for i, d in enumerate(dims)])
    return TensorShape([d for i, d in enumerate(dims) if i not in axes])


def normalize_axes(axis, rank):
    """Axis ints (or a list) made non-negative; ValueError when out of range."""
    axes = [axis] if np.ndim(axis) == 0 else list(np.asarray(axis).reshape(-1))
    out = set()
    for a in axes:
        a = int(a)
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"Invalid reduction dimension {a} for input with {rank} dimensions.")
        out.add(a % rank if rank else 0)
    return out


def constant_value(t):
    """The NumPy value of ``t`` if it is known at graph-construction time, else None."""
    if t is None:
        return None
    if hasattr(t, "_value") and t._value is not None:
        return t._value
    op = getattr(t, "op", None)
    if op is None:
        return None
    if op.type == "Const":
        return op.attrs["value"]
    if op.type == "Shape":
        s = op.inputs[0].shape
        if s.is_fully_defined():
            return np.array(s.as_list(), dtype=op.attrs["out_type"].as_numpy_dtype)
    if op.type == "Size":
        n = op.inputs[0].shape.num_elements()
        if n is not None:
            return np.array(n, dtype=op.attrs["out_type"].as_numpy_dtype)
    if op.type == "Rank":
        r = op.inputs[0].shape.rank
        if r is not None:
            return np.array(r, dtype=np.int32)
    if op.type == "Identity":
        return constant_value(op.inputs[0])
    if op.type == "Pack":
        vals = [constant_value(i) for i in op.inputs]
        if all(v is not None for v in vals):
            return np.stack(vals, axis=op.attrs.get("axis", 0))
    return None


def shape_from_tensor(t):
    """A TensorShape from a 1-D shape tensor, with unknown dims where values are unknown."""
    v = constant_value(t)
    if v is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.asarray(v).reshape(-1)])
    op = getattr(t, "op", None)
    if op is not None and op.type == "Pack":
        dims = []
        for i in op.inputs:
            c = constant_value(i)
            dims.append(None if c is None or int(c) < 0 else int(c))
        return TensorShape(dims)
    n = t.shape[0] if t.shape.rank == 1 else None
    return unknown_shape(n) if n is not None else TensorShape(None)


def fixed(dtype, shape):
    """Output of a given dtype and shape regardless of inputs."""
    def infer(inputs, attrs):
        return [(dtypes.as_dtype(dtype), TensorShape(shape))]
    return infer
