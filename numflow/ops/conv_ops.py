"""Convolution and pooling ops (``tf.nn.conv2d``, ``max_pool``...), NHWC kernels from
``numflow.kernels.conv`` / ``numflow.kernels.pool``.

Every op works on NHWC data; ``NCHW``/``NCW`` formats are transposed around it and 1-D
ops are 2-D ops over a height of 1, as TF's wrappers do. Gradients are the separate
TF ops (Conv2DBackpropInput, Conv2DBackpropFilter, MaxPoolGrad, AvgPoolGrad...), each
with its own gradient where TF has one. Attributes: ``strides``/``dilations``/``ksize``
are (height, width) pairs; ``padding`` is "SAME", "VALID" or ((top, bottom), (left, right)).
"""
import importlib

import numpy as np

from numflow._api.export import export
from numflow.framework import errors
from numflow.framework.tensor_shape import TensorShape
from numflow.kernels import conv as conv_kernels, pool as pool_kernels
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.array_ops import shape as shape_of
from numflow.ops.registry import register_op


def _manip():
    return importlib.import_module("numflow.ops.array_manip")


# ---- shape inference ------------------------------------------------------------------------
def _spatial_out(in_hw, k_hw, a):
    pads = a["padding"] if not isinstance(a["padding"], str) else (a["padding"],) * 2
    out = []
    for i in range(2):
        if in_hw[i] is None or k_hw[i] is None:
            out.append(None)
            continue
        try:
            out.append(conv_kernels.conv_output_size_and_padding(
                in_hw[i], k_hw[i], a["strides"][i], a.get("dilations", (1, 1))[i], pads[i])[0])
        except errors.InvalidArgumentError as e:
            raise ValueError(e.message) from None
    return out


def _dims(t, n=4):
    if t.shape.rank is None:
        return [None] * n
    if t.shape.rank != n:
        raise ValueError(f"Shape must be rank {n} but is rank {t.shape.rank}")
    return t.shape.as_list()


def _sizes(t):
    """The static shape named by a 1-D shape tensor (exact when it is ``tf.shape(x)``)."""
    op = getattr(t, "op", None) if not hasattr(t, "_value") else None
    if op is not None and op.type == "Shape" and op.inputs[0].shape.rank is not None:
        return op.inputs[0].shape
    s = infer.shape_from_tensor(t)
    return s if s.rank is not None else TensorShape([None] * 4)


def _conv_infer(depthwise):
    def rule(ins, a):
        x, w = ins
        d = infer.same_dtype(ins, "Conv2D")
        (n, h, wd, c), (kh, kw, ci, co) = _dims(x), _dims(w)
        if c is not None and ci is not None and c != ci:
            raise ValueError(f"Depth of input ({c}) is not equal to the input depth of the "
                             f"filter ({ci})")
        oh, ow = _spatial_out((h, wd), (kh, kw), a)
        out_c = (None if ci is None or co is None else ci * co) if depthwise else co
        return [(d, TensorShape([n, oh, ow, out_c]))]
    return rule


def _backprop_input_infer(ins, a):
    return [(ins[1].dtype, _sizes(ins[0]).merge_with(TensorShape([None] * 4)))]


def _backprop_filter_infer(ins, a):
    return [(ins[0].dtype, _sizes(ins[1]).merge_with(TensorShape([None] * 4)))]


# ---- convolution ops ------------------------------------------------------------------------
def _conv_attrs(op):
    return {k: op.get_attr(k) for k in ("strides", "padding", "dilations")}


def _conv_grad(op, g):
    x, w = op.inputs
    a = _conv_attrs(op)
    kind = "Depthwise" if op.type.startswith("Depthwise") else ""
    return [apply_op(_OPS[kind + "BackpropInput"], [shape_of(x), w, g], a),
            apply_op(_OPS[kind + "BackpropFilter"], [x, shape_of(w), g], a)]


def _backprop_input_grad(op, g):
    sizes, w, dy = op.inputs
    a = _conv_attrs(op)
    kind = "Depthwise" if op.type.startswith("Depthwise") else ""
    return [None, apply_op(_OPS[kind + "BackpropFilter"], [g, shape_of(w), dy], a),
            apply_op(_OPS[kind + "Forward"], [g, w], a)]


def _backprop_filter_grad(op, g):
    x, sizes, dy = op.inputs
    a = _conv_attrs(op)
    kind = "Depthwise" if op.type.startswith("Depthwise") else ""
    return [apply_op(_OPS[kind + "BackpropInput"], [shape_of(x), g, dy], a), None,
            apply_op(_OPS[kind + "Forward"], [x, g], a)]


def _bp_input(f):
    """Adapts a kernel taking a shape tuple to an op whose shape is an int tensor input."""
    return lambda xp, sizes, w, dy, **a: f(xp, w, dy, tuple(int(s) for s in sizes), **a)


def _bp_filter(f):
    return lambda xp, x, sizes, dy, **a: f(xp, x, dy, tuple(int(s) for s in sizes), **a)


_OPS = {}
for _kind, _name, _k in (("", "Conv2D", conv_kernels.conv2d),
                         ("Depthwise", "DepthwiseConv2dNative", conv_kernels.depthwise_conv2d)):
    _stem = "depthwise_conv2d" if _kind else "conv2d"
    _OPS[_kind + "Forward"] = register_op(_name, infer=_conv_infer(bool(_kind)), kernel=_k,
                                          grad=_conv_grad)
    _OPS[_kind + "BackpropInput"] = register_op(
        _name + "BackpropInput", infer=_backprop_input_infer,
        kernel=_bp_input(getattr(conv_kernels, _stem + "_backprop_input")),
        grad=_backprop_input_grad)
    _OPS[_kind + "BackpropFilter"] = register_op(
        _name + "BackpropFilter", infer=_backprop_filter_infer,
        kernel=_bp_filter(getattr(conv_kernels, _stem + "_backprop_filter")),
        grad=_backprop_filter_grad)


# ---- argument normalization ---------------------------------------------------------------
def _channels_first(data_format):
    return data_format is not None and data_format.startswith("NC")


def _spatial(v, n, what, data_format, default=1):
    """An int or list of 1, n or n+2 values -> the n spatial values (TF's rules)."""
    if v is None:
        return (default,) * n
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = [int(i) for i in v]
    if len(v) == 1:
        return (v[0],) * n
    if len(v) == n:
        return tuple(v)
    if len(v) == n + 2:
        if _channels_first(data_format):
            outer, inner = v[:2], v[2:]
        else:
            outer, inner = [v[0], v[-1]], v[1:-1]
        if outer != [1, 1]:
            raise ValueError(f"{what} in the batch and depth dimensions must be 1, got {v}")
        return tuple(inner)
    raise ValueError(f"{what} should be of length 1, {n} or {n + 2}, got {len(v)}")


def _padding(padding, n, data_format):
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME', 'VALID' or a list of pairs, got "
                             f"{padding!r}")
        return p
    pairs = [tuple(int(i) for i in p) for p in padding]
    if len(pairs) == n + 2:
        outer = pairs[:2] if _channels_first(data_format) else [pairs[0], pairs[-1]]
        if any(p != (0, 0) for p in outer):
            raise ValueError(f"padding in the batch and depth dimensions must be 0: {padding}")
        pairs = pairs[2:] if _channels_first(data_format) else pairs[1:-1]
    if len(pairs) != n or any(len(p) != 2 for p in pairs):
        raise ValueError(f"explicit padding must be {n + 2} pairs, got {padding}")
    return tuple(pairs) if n == 2 else ((0, 0),) + tuple(pairs)   # 1-D: a height of 1


def _to_nhwc(x, data_format):
    return _manip().transpose(x, [0, 2, 3, 1]) if _channels_first(data_format) else x


def _from_nhwc(y, data_format):
    return _manip().transpose(y, [0, 3, 1, 2]) if _channels_first(data_format) else y


def _check_format(data_format, allowed):
    if data_format is not None and data_format not in allowed:
        raise ValueError(f"data_format must be one of {allowed}, got {data_format!r}")


def _conv(kind, x, w, strides, padding, dilations, data_format, name):
    _check_format(data_format, ("NHWC", "NCHW"))
    x = convert_to_tensor(x, name="input")
    w = convert_to_tensor(w, dtype=x.dtype, name="filter")
    a = {"strides": _spatial(strides, 2, "strides", data_format),
         "padding": _padding(padding, 2, data_format),
         "dilations": _spatial(dilations, 2, "dilations", data_format)}
    y = apply_op(_OPS[kind], [_to_nhwc(x, data_format), w], a,
                 name=None if _channels_first(data_format) else name)
    return _from_nhwc(y, data_format)


# ---- public convolution API ---------------------------------------------------------------
@export("nn.conv2d", v1=[])
def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None,  # noqa: A002
           name=None):
    """``tf.nn.conv2d(input, filters, strides, padding, data_format='NHWC', dilations=None,
    name=None)``: 2-D cross-correlation of ``input [N, H, W, C]`` with ``filters
    [kh, kw, C, O]``.

    Args:
      strides, dilations: an int or a list of 1, 2 or 4 ints.
      padding: "SAME", "VALID" or explicit ``[[0, 0], [top, bottom], [left, right],
        [0, 0]]``.

    Returns:
      ``[N, out_h, out_w, O]``; static shapes are inferred exactly as TF does.
    """
    return _conv("Forward", input, filters, strides, padding, dilations, data_format, name)


@export(v1=["nn.conv2d"])
def conv2d_v1(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa
              data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    """TF1 ``tf.nn.conv2d(input, filter, strides, padding, use_cudnn_on_gpu=True,
    data_format='NHWC', dilations=[1, 1, 1, 1], name=None, filters=None)``; strides is a
    list of 4."""
    filters = filter if filters is None else filters
    return _conv("Forward", input, filters, strides, padding, dilations, data_format, name)


@export("nn.depthwise_conv2d", v1=[])
def depthwise_conv2d(input, filter, strides, padding, data_format=None,  # noqa: A002
                     dilations=None, name=None):
    """``tf.nn.depthwise_conv2d(input, filter, strides, padding, data_format=None,
    dilations=None, name=None)``: each input channel ``c`` is convolved with its own
    ``filter[:, :, c, :]`` (``[kh, kw, C, M]``), giving ``C * M`` output channels."""
    return _conv("DepthwiseForward", input, filter, strides, padding, dilations, data_format,
                 name)


@export(v1=["nn.depthwise_conv2d"])
def depthwise_conv2d_v1(input, filter, strides, padding, rate=None, name=None,  # noqa: A002
                        data_format=None, dilations=None):
    """TF1 ``tf.nn.depthwise_conv2d(input, filter, strides, padding, rate=None, name=None,
    data_format=None, dilations=None)``; ``rate`` is the dilation."""
    return _conv("DepthwiseForward", input, filter, strides, padding,
                 rate if dilations is None else dilations, data_format, name)


@export(v1=["nn.depthwise_conv2d_native"])
def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC",  # noqa: A002
                            dilations=(1, 1, 1, 1), name=None):
    """TF1 ``tf.nn.depthwise_conv2d_native(input, filter, strides, padding,
    data_format='NHWC', dilations=[1, 1, 1, 1], name=None)``: the raw depthwise op."""
    return _conv("DepthwiseForward", input, filter, strides, padding, dilations, data_format,
                 name)


@export("nn.conv1d", v1=[])
def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None,  # noqa: A002
           name=None):
    """``tf.nn.conv1d(input, filters, stride, padding, data_format='NWC', dilations=None,
    name=None)``: 1-D convolution of ``[N, W, C]`` with ``[k, C, O]`` (a 2-D convolution
    over a height of 1)."""
    _check_format(data_format, ("NWC", "NCW"))
    fmt = "NCHW" if data_format == "NCW" else "NHWC"
    x = convert_to_tensor(input, name="input")
    x = _manip().expand_dims(x, 2 if fmt == "NCHW" else 1)
    w = _manip().expand_dims(convert_to_tensor(filters, dtype=x.dtype, name="filters"), 0)
    a = {"strides": (1,) + _spatial(stride, 1, "stride", data_format),
         "padding": _padding(padding, 1, data_format),
         "dilations": (1,) + _spatial(dilations, 1, "dilations", data_format)}
    y = _from_nhwc(apply_op(_OPS["Forward"], [_to_nhwc(x, fmt), w], a), fmt)
    return _manip().squeeze(y, [2 if fmt == "NCHW" else 1], name=name)


@export(v1=["nn.conv1d"])
def conv1d_v1(value=None, filters=None, stride=None, padding=None, use_cudnn_on_gpu=None,
              data_format=None, name=None, input=None, dilations=None):  # noqa: A002
    """TF1 ``tf.nn.conv1d(value, filters, stride, padding, use_cudnn_on_gpu=None,
    data_format=None, name=None, input=None, dilations=None)``."""
    return conv1d(value if input is None else input, filters, stride, padding,
                  data_format or "NWC", dilations, name)


@export("nn.convolution", v1=[])
def convolution(input, filters, strides=None, padding="VALID", data_format=None,  # noqa: A002
                dilations=None, name=None):
    """``tf.nn.convolution(input, filters, strides=None, padding='VALID', data_format=None,
    dilations=None, name=None)``: 1-D or 2-D convolution chosen by the rank of ``input``
    (3: ``conv1d``, 4: ``conv2d``); 3-D convolution is not supported."""
    x = convert_to_tensor(input, name="input")
    if x.shape.rank == 3:
        return conv1d(x, filters, strides or 1, padding, data_format or "NWC", dilations, name)
    if x.shape.rank == 4:
        return conv2d(x, filters, strides or 1, padding, data_format or "NHWC", dilations, name)
    raise ValueError(f"convolution needs an input of rank 3 or 4 (3-D convolution is not "
                     f"supported), got shape {x.shape}")


@export(v1=["nn.convolution"])
def convolution_v1(input, filter, padding, strides=None, dilation_rate=None,  # noqa: A002
                   name=None, data_format=None, filters=None, dilations=None):
    """TF1 ``tf.nn.convolution(input, filter, padding, strides=None, dilation_rate=None,
    name=None, data_format=None, filters=None, dilations=None)``."""
    return convolution(input, filter if filters is None else filters, strides, padding,
                       data_format, dilation_rate if dilations is None else dilations, name)


@export("nn.conv2d_transpose", v1=[])
def conv2d_transpose(input, filters, output_shape, strides, padding="SAME",  # noqa: A002
                     data_format="NHWC", dilations=None, name=None):
    """``tf.nn.conv2d_transpose(input, filters, output_shape, strides, padding='SAME',
    data_format='NHWC', dilations=None, name=None)``: the gradient of ``conv2d`` with
    respect to its input, used as an up-sampling layer.

    Args:
      input: ``[N, H, W, in_channels]``.
      filters: ``[kh, kw, out_channels, in_channels]``.
      output_shape: 1-D, the shape of the result (``[N, H', W', out_channels]``).

    Raises:
      InvalidArgumentError: (when run) ``output_shape`` does not convolve back to
        ``input``'s shape.
    """
    _check_format(data_format, ("NHWC", "NCHW"))
    x = convert_to_tensor(input, name="input")
    w = convert_to_tensor(filters, dtype=x.dtype, name="filters")
    sizes = convert_to_tensor(output_shape, name="output_shape")
    if sizes.shape.rank is not None and sizes.shape.num_elements() not in (None, 4):
        raise ValueError(f"output_shape must have 4 elements, got shape {sizes.shape}")
    if _channels_first(data_format):
        sizes = _manip().gather(sizes, [0, 2, 3, 1])
    a = {"strides": _spatial(strides, 2, "strides", data_format),
         "padding": _padding(padding, 2, data_format),
         "dilations": _spatial(dilations, 2, "dilations", data_format)}
    y = apply_op(_OPS["BackpropInput"], [sizes, w, _to_nhwc(x, data_format)], a,
                 name=None if _channels_first(data_format) else name)
    return _from_nhwc(y, data_format)


@export(v1=["nn.conv2d_transpose"])
def conv2d_transpose_v1(value=None, filter=None, output_shape=None, strides=None,  # noqa: A002
                        padding="SAME", data_format="NHWC", name=None, input=None,
                        filters=None, dilations=None):
    """TF1 ``tf.nn.conv2d_transpose(value, filter, output_shape, strides, padding='SAME',
    data_format='NHWC', name=None, input=None, filters=None, dilations=None)``."""
    return conv2d_transpose(value if input is None else input,
                            filter if filters is None else filters, output_shape, strides,
                            padding, data_format, dilations, name)


# ---- pooling ops --------------------------------------------------------------------------
def _pool_infer(ins, a):
    x = ins[0]
    n, h, w, c = _dims(x)
    oh, ow = _spatial_out((h, w), a["ksize"], a)
    return [(x.dtype, TensorShape([n, oh, ow, c]))]


def _pool_attrs(op):
    return {k: op.get_attr(k) for k in ("ksize", "strides", "padding")}


def _max_pool_grad_grad(op, g):
    raise LookupError("The second derivative of MaxPool (MaxPoolGradGrad) is not supported")


_MAX_POOL_GRAD = register_op("MaxPoolGrad", infer=lambda ins, a: [(ins[2].dtype, ins[0].shape)],
                             kernel=pool_kernels.max_pool_grad, grad=_max_pool_grad_grad)
_MAX_POOL = register_op(
    "MaxPool", infer=_pool_infer, kernel=pool_kernels.max_pool,
    grad=lambda op, g: [apply_op(_MAX_POOL_GRAD, [op.inputs[0], op.outputs[0], g],
                                 _pool_attrs(op))])
_AVG_POOL_GRAD = register_op(
    "AvgPoolGrad", infer=_backprop_input_infer,
    kernel=lambda xp, sizes, dy, **a: pool_kernels.avg_pool_grad(xp, dy, sizes, **a),
    grad=lambda op, g: [None, apply_op(_AVG_POOL, [g], _pool_attrs(op))])
_AVG_POOL = register_op(
    "AvgPool", infer=_pool_infer, kernel=pool_kernels.avg_pool,
    grad=lambda op, g: [apply_op(_AVG_POOL_GRAD, [shape_of(op.inputs[0]), g], _pool_attrs(op))])


def _pool2d(opdef, x, ksize, strides, padding, data_format, name):
    _check_format(data_format, ("NHWC", "NCHW"))
    x = convert_to_tensor(x, name="input")
    if x.shape.rank is not None and x.shape.rank != 4:
        raise ValueError(f"Input must be 4-D for 2-D pooling, got shape {x.shape}")
    a = {"ksize": _spatial(ksize, 2, "ksize", data_format),
         "strides": _spatial(strides, 2, "strides", data_format),
         "padding": _padding(padding, 2, data_format)}
    y = apply_op(opdef, [_to_nhwc(x, data_format)], a,
                 name=None if _channels_first(data_format) else name)
    return _from_nhwc(y, data_format)


def _pool1d(opdef, x, ksize, strides, padding, data_format, name):
    _check_format(data_format, ("NWC", "NCW"))
    fmt = "NCHW" if data_format == "NCW" else "NHWC"
    x = _manip().expand_dims(convert_to_tensor(x, name="input"), 2 if fmt == "NCHW" else 1)
    a = {"ksize": (1,) + _spatial(ksize, 1, "ksize", data_format),
         "strides": (1,) + _spatial(strides, 1, "strides", data_format),
         "padding": _padding(padding, 1, data_format)}
    y = _from_nhwc(apply_op(opdef, [_to_nhwc(x, fmt)], a), fmt)
    return _manip().squeeze(y, [2 if fmt == "NCHW" else 1], name=name)


def _pool_nd(opdef, x, ksize, strides, padding, data_format, name):
    x = convert_to_tensor(x, name="input")
    rank = x.shape.rank
    if rank == 3:
        return _pool1d(opdef, x, ksize, strides, padding, data_format or "NWC", name)
    if rank in (None, 4):
        return _pool2d(opdef, x, ksize, strides, padding, data_format or "NHWC", name)
    raise ValueError(f"Input tensor must be of rank 3 or 4 (3-D pooling is not supported), "
                     f"got rank {rank}")


@export("nn.max_pool", v1=["nn.max_pool_v2"])
def max_pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
    """``tf.nn.max_pool(input, ksize, strides, padding, data_format=None, name=None)``:
    the maximum of each window; rank-3 input pools 1-D, rank-4 pools 2-D. ``ksize`` and
    ``strides`` are an int or a list of 1, N or N+2 ints; padding never wins."""
    return _pool_nd(_MAX_POOL, input, ksize, strides, padding, data_format, name)


@export(v1=["nn.max_pool"])
def max_pool_v1(value, ksize, strides, padding, data_format="NHWC", name=None,
                input=None):  # noqa: A002
    """TF1 ``tf.nn.max_pool(value, ksize, strides, padding, data_format='NHWC', name=None,
    input=None)``: 2-D max pooling with ``ksize``/``strides`` lists of 4."""
    return _pool2d(_MAX_POOL, value if input is None else input, ksize, strides, padding,
                   data_format, name)


@export("nn.max_pool2d")
def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``tf.nn.max_pool2d(input, ksize, strides, padding, data_format='NHWC', name=None)``."""
    return _pool2d(_MAX_POOL, input, ksize, strides, padding, data_format, name)


@export("nn.max_pool1d")
def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    """``tf.nn.max_pool1d(input, ksize, strides, padding, data_format='NWC', name=None)``:
    max pooling of ``[N, W, C]``."""
    return _pool1d(_MAX_POOL, input, ksize, strides, padding, data_format, name)


@export("nn.avg_pool", v1=["nn.avg_pool_v2"])
def avg_pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
    """``tf.nn.avg_pool(input, ksize, strides, padding, data_format=None, name=None)``:
    the mean of each window over its real (unpadded) elements."""
    return _pool_nd(_AVG_POOL, input, ksize, strides, padding, data_format, name)


@export(v1=["nn.avg_pool"])
def avg_pool_v1(value, ksize, strides, padding, data_format="NHWC", name=None,
                input=None):  # noqa: A002
    """TF1 ``tf.nn.avg_pool(value, ksize, strides, padding, data_format='NHWC', name=None,
    input=None)``."""
    return _pool2d(_AVG_POOL, value if input is None else input, ksize, strides, padding,
                   data_format, name)


@export("nn.avg_pool2d")
def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``tf.nn.avg_pool2d(input, ksize, strides, padding, data_format='NHWC', name=None)``."""
    return _pool2d(_AVG_POOL, input, ksize, strides, padding, data_format, name)


@export("nn.avg_pool1d")
def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    """``tf.nn.avg_pool1d(input, ksize, strides, padding, data_format='NWC', name=None)``."""
    return _pool1d(_AVG_POOL, input, ksize, strides, padding, data_format, name)
