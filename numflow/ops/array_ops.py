"""Core array ops: constants, placeholders, identity, shapes, reshape, stack, fills."""
import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape, as_shape
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor, to_array
from numflow.ops.registry import register_op
from numflow.eager.tensor import EagerTensor
from numflow.framework import context, errors


# ---- Const --------------------------------------------------------------------------------
def _const_kernel(xp, value, dtype):
    return value


_CONST = register_op("Const", infer=lambda ins, a: [(a["dtype"], TensorShape(a["value"].shape))],
                     kernel=_const_kernel)


@export("constant", v1=["constant"])
def constant(value, dtype=None, shape=None, name="Const", _hint=None):
    """Creates a constant tensor (``tf.constant(value, dtype=None, shape=None, name='Const')``).

    ``value`` may be a scalar, nested list or NumPy array; with ``shape`` a scalar (or a
    value with as many elements) is broadcast/reshaped to it.
    """
    if isinstance(value, EagerTensor):
        value = value.numpy()
    arr = to_array(value, dtype=dtype, dtype_hint=_hint)
    if shape is not None:
        shape = [int(d) for d in as_shape(shape).as_list()]
        if arr.size == 1:
            arr = np.broadcast_to(arr.reshape(()), shape).copy()
        elif arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        else:
            raise TypeError(f"Eager execution of tf.constant with unsupported shape. Tensor "
                            f"{value!r} (converted from {value!r}) has {arr.size} elements, "
                            f"but got `shape` {shape} with {int(np.prod(shape))} elements).")
    if context.executing_eagerly():
        return EagerTensor(arr)
    d = dtypes.as_dtype(arr.dtype) if arr.dtype != object else dtypes.string
    return apply_op(_CONST, [], {"value": arr, "dtype": d}, name=name)


# ---- Placeholder ----------------------------------------------------------------------------
def _placeholder_kernel(xp, dtype, shape, name):
    raise errors.InvalidArgumentError(
        None, None, f"You must feed a value for placeholder tensor '{name}' with dtype "
                    f"{dtype.name}" + ("" if shape.rank is None else
                                       f" and shape [{','.join('?' if d is None else str(d) for d in shape.as_list())}]"))


_PLACEHOLDER = register_op("Placeholder", infer=lambda ins, a: [(a["dtype"], a["shape"])],
                           kernel=_placeholder_kernel)


@export(v1=["placeholder"])
def placeholder(dtype, shape=None, name=None):
    """A graph input that must be fed (``tf.compat.v1.placeholder(dtype, shape=None, name=None)``).

    Raises:
      RuntimeError: in eager mode, as TF does.
    """
    if context.executing_eagerly():
        raise RuntimeError("tf.placeholder() is not compatible with eager execution.")
    graph = context.get_default_graph()
    op_name = graph.unique_name(name or "Placeholder", mark_as_used=False)
    return apply_op(_PLACEHOLDER, [], {"dtype": dtypes.as_dtype(dtype), "shape": as_shape(shape),
                                       "name": op_name}, name=name or "Placeholder")


@export(v1=["placeholder_with_default"])
def placeholder_with_default(input, shape, name=None):  # noqa: A002 - TF's argument name
    """A placeholder that yields ``input`` when not fed."""
    t = convert_to_tensor(input)
    return identity(t, name=name or "PlaceholderWithDefault")


# ---- Identity / StopGradient -----------------------------------------------------------------
_IDENTITY = register_op("Identity", infer=infer.same_as_input(), kernel=lambda xp, x: x,
                        grad=lambda op, g: [g])


@export("identity")
def identity(input, name=None):  # noqa: A002
    """Returns a tensor with the same value as ``input`` (``tf.identity``)."""
    if hasattr(input, "_as_tensor") and not isinstance(input, EagerTensor):
        input = input._as_tensor()
    return apply_op(_IDENTITY, [convert_to_tensor(input)], name=name)


_STOP = register_op("StopGradient", infer=infer.same_as_input(), kernel=lambda xp, x: x)


@export("stop_gradient")
def stop_gradient(input, name=None):  # noqa: A002
    """Passes ``input`` through but blocks gradients (``tf.stop_gradient``)."""
    return apply_op(_STOP, [convert_to_tensor(input)], name=name)


# ---- shapes ---------------------------------------------------------------------------------
def _shape_infer(ins, a):
    return [(a["out_type"], TensorShape([ins[0].shape.rank]))]


_SHAPE = register_op("Shape", infer=_shape_infer,
                     kernel=lambda xp, x, out_type: xp.array(x.shape, dtype=out_type.as_numpy_dtype))


@export("shape", v1=["shape"])
def shape(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """The dynamic shape of ``input`` as a 1-D int tensor (``tf.shape``)."""
    return apply_op(_SHAPE, [convert_to_tensor(input)], {"out_type": dtypes.as_dtype(out_type)},
                    name=name)


_SIZE = register_op("Size", infer=lambda ins, a: [(a["out_type"], TensorShape([]))],
                    kernel=lambda xp, x, out_type: xp.array(x.size, dtype=out_type.as_numpy_dtype))


@export("size", v1=["size"])
def size(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """The number of elements of ``input`` (``tf.size``)."""
    return apply_op(_SIZE, [convert_to_tensor(input)], {"out_type": dtypes.as_dtype(out_type)},
                    name=name)


_RANK = register_op("Rank", infer=infer.fixed(dtypes.int32, []),
                    kernel=lambda xp, x: xp.array(x.ndim, dtype=xp.int32))


@export("rank")
def rank(input, name=None):  # noqa: A002
    """The number of dimensions of ``input`` (``tf.rank``)."""
    return apply_op(_RANK, [convert_to_tensor(input)], name=name)


# ---- Reshape ----------------------------------------------------------------------------------
def _reshape_infer(ins, a):
    x, s = ins
    target = infer.shape_from_tensor(s)
    if target.rank is None:
        return [(x.dtype, target)]
    dims = target.as_list()
    n = x.shape.num_elements()
    unknown = [i for i, d in enumerate(dims) if d is None]
    if n is not None and len(unknown) <= 1:
        known = int(np.prod([d for d in dims if d is not None]))
        if unknown:
            if known == 0 or n % known:
                raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims}")
            dims[unknown[0]] = n // known
        elif known != n:
            raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims} "
                             f"({known} elements)")
    return [(x.dtype, TensorShape(dims))]


def _reshape_kernel(xp, x, s):
    return xp.reshape(x, [int(d) for d in s])


_RESHAPE = register_op("Reshape", infer=_reshape_infer, kernel=_reshape_kernel,
                       grad=lambda op, g: [reshape(g, shape(op.inputs[0])), None])


@export("reshape", v1=["reshape"])
def reshape(tensor, shape, name=None):  # noqa: F811 - TF's argument name shadows shape()
    """Reshapes ``tensor`` to ``shape`` (one dim may be -1) (``tf.reshape``)."""
    t = convert_to_tensor(tensor)
    s = convert_to_tensor(shape, dtype_hint=dtypes.int32)
    return apply_op(_RESHAPE, [t, s], name=name)


# ---- Pack / Unpack (stack / unstack) ----------------------------------------------------------
def _pack_infer(ins, a):
    d = infer.same_dtype(ins, "Pack")
    s = ins[0].shape
    for t in ins[1:]:
        s = s.merge_with(t.shape)
    if s.rank is None:
        return [(d, s)]
    dims = s.as_list()
    axis = a["axis"] % (len(dims) + 1)
    return [(d, TensorShape(dims[:axis] + [len(ins)] + dims[axis:]))]


_PACK = register_op("Pack", infer=_pack_infer,
                    kernel=lambda xp, *xs, axis: xp.stack(xs, axis=axis),
                    grad=lambda op, g: unstack(g, num=len(op.inputs), axis=op.get_attr("axis")))


@export("stack", v1=["stack", "pack"])
def stack(values, axis=0, name="stack"):
    """Stacks rank-R tensors into one rank-(R+1) tensor (``tf.stack``)."""
    from numflow.ops.apply import convert_n
    ts = convert_n(values)
    return apply_op(_PACK, ts, {"axis": int(axis)}, name=name)


def _unpack_infer(ins, a):
    s = ins[0].shape
    dims = s.as_list()
    axis = a["axis"] % len(dims)
    out = TensorShape(dims[:axis] + dims[axis + 1:])
    return [(ins[0].dtype, out)] * a["num"]


def _unpack_kernel(xp, x, num, axis):
    if x.shape[axis] != num:
        raise ValueError(f"Unstack expects dimension {axis} of size {num}, got {x.shape[axis]}")
    return [xp.take(x, i, axis=axis) for i in range(num)]


_UNPACK = register_op("Unpack", infer=_unpack_infer, kernel=_unpack_kernel,
                      num_outputs=None,
                      grad=lambda op, *gs: [stack(gs, axis=op.get_attr("axis"))])


@export("unstack", v1=["unstack", "unpack"])
def unstack(value, num=None, axis=0, name="unstack"):
    """Splits ``value`` along ``axis`` into a list of tensors (``tf.unstack``)."""
    t = convert_to_tensor(value)
    if num is None:
        if t.shape.rank is None or t.shape[axis] is None:
            raise ValueError(f"Cannot infer argument `num` from shape {t.shape}")
        num = t.shape[axis]
    return apply_op(_UNPACK, [t], {"num": int(num), "axis": int(axis)}, name=name)


# ---- fills ----------------------------------------------------------------------------------
def _fill_infer(ins, a):
    return [(ins[1].dtype, infer.shape_from_tensor(ins[0]))]


_FILL = register_op("Fill", infer=_fill_infer,
                    kernel=lambda xp, dims, value: xp.full([int(d) for d in dims], value,
                                                           dtype=value.dtype),
                    grad=lambda op, g: [None, reduce_sum_all(g)])


def reduce_sum_all(g):
    """The sum of all elements of ``g`` (Fill's gradient w.r.t. its value)."""
    from numflow.ops.math_ops import reduce_sum
    return reduce_sum(g)


@export("fill")
def fill(dims, value, name=None):
    """A tensor of shape ``dims`` filled with ``value`` (``tf.fill``)."""
    return apply_op(_FILL, [convert_to_tensor(dims, dtype_hint=dtypes.int32),
                            convert_to_tensor(value)], name=name)


def _filled(shape_arg, dtype, fill_value, name):
    dtype = dtypes.as_dtype(dtype)
    if isinstance(shape_arg, EagerTensor) or not hasattr(shape_arg, "op"):
        try:
            dims = [int(d) for d in (np.asarray(shape_arg).reshape(-1)
                                     if not isinstance(shape_arg, TensorShape)
                                     else shape_arg.as_list())]
            return constant(np.full(dims, fill_value, dtype=dtype.as_numpy_dtype), name=name)
        except (TypeError, ValueError):
            pass
    return fill(shape_arg, constant(fill_value, dtype=dtype), name=name)


@export("zeros", v1=["zeros"])
def zeros(shape, dtype=dtypes.float32, name=None):
    """A tensor of zeros (``tf.zeros(shape, dtype=tf.float32)``)."""
    return _filled(shape, dtype, 0, name or "zeros")


@export("ones", v1=["ones"])
def ones(shape, dtype=dtypes.float32, name=None):
    """A tensor of ones (``tf.ones(shape, dtype=tf.float32)``)."""
    return _filled(shape, dtype, 1, name or "ones")


_ZEROS_LIKE = register_op("ZerosLike", infer=infer.same_as_input(),
                          kernel=lambda xp, x: xp.zeros_like(x))
_ONES_LIKE = register_op("OnesLike", infer=infer.same_as_input(),
                         kernel=lambda xp, x: xp.ones_like(x))


@export("zeros_like", v1=["zeros_like"])
def zeros_like(input, dtype=None, name=None):  # noqa: A002
    """Zeros with the shape (and dtype) of ``input`` (``tf.zeros_like``)."""
    t = convert_to_tensor(input)
    out = apply_op(_ZEROS_LIKE, [t], name=name)
    if dtype is not None and dtypes.as_dtype(dtype) != t.dtype:
        from numflow.ops.math_ops import cast
        out = cast(out, dtype)
    return out


@export("ones_like", v1=["ones_like"])
def ones_like(input, dtype=None, name=None):  # noqa: A002
    """Ones with the shape (and dtype) of ``input`` (``tf.ones_like``)."""
    t = convert_to_tensor(input)
    out = apply_op(_ONES_LIKE, [t], name=name)
    if dtype is not None and dtypes.as_dtype(dtype) != t.dtype:
        from numflow.ops.math_ops import cast
        out = cast(out, dtype)
    return out


# ---- NoOp and group -------------------------------------------------------------------------
_NOOP = register_op("NoOp", infer=lambda ins, a: [], kernel=lambda xp: (), num_outputs=0)


@export("no_op")
def no_op(name=None):
    """An op that does nothing; useful as a control-dependency anchor (``tf.no_op``)."""
    if context.executing_eagerly():
        return None
    g = context.get_default_graph()
    return g._create_op("NoOp", [], {}, [], name or "NoOp")


@export("group")
def group(*inputs, name=None):
    """An op that runs all ``inputs`` (``tf.group``)."""
    if context.executing_eagerly():
        return None
    from numflow.framework import nest
    g = context.get_default_graph()
    ops = [g._as_operation(i) for i in nest.flatten(list(inputs)) if i is not None]
    with g.control_dependencies(ops):
        return no_op(name=name or "group_deps")


@export("tuple", v1=["tuple"])
def tuple_(tensors, name=None, control_inputs=None):
    """Tensors that are available only after all of ``tensors`` are computed (``tf.tuple``)."""
    if context.executing_eagerly():
        return list(tensors)
    gate = group(*[t for t in tensors if t is not None], *(control_inputs or []))
    g = context.get_default_graph()
    with g.control_dependencies([gate]):
        return [identity(t) if t is not None else None for t in tensors]
