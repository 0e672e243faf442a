"""Fused ops: a matrix product or convolution with its bias-add and activation in one
kernel (TF's ``_FusedMatMul`` / ``_FusedConv2D``).

Only the ``fuse_bias_activation`` pass (numflow/runtime/passes) creates them, inside
plans; user graphs never hold them. The kernel adds the bias and applies the activation
in place on the freshly computed product, so the result is bit-for-bit what the separate
ops give, with two fewer full-size temporaries and passes over memory.

Attributes: those of the product (``transpose_a``/``transpose_b``, or ``strides``,
``padding``, ``dilations``) and ``activation``: ``None`` or ``"Relu"``. The bias is
added along the last axis (BiasAdd's default NHWC / ``channel_axis=-1``).
"""
from numflow.framework.tensor_shape import TensorShape
from numflow.kernels import conv as conv_kernels
from numflow.ops import conv_ops, math_ops, nn_ops
from numflow.ops.apply import apply_op
from numflow.ops.array_ops import shape as shape_of
from numflow.ops.registry import register_op

ACTIVATIONS = (None, "Relu")


def _check_bias(bias, out_shape):
    if bias.ndim != 1 or len(out_shape) < 2 or out_shape[-1] != bias.shape[0]:
        raise ValueError(f"Must provide as many biases as the channel dimension of the input "
                         f"tensor: {bias.shape} vs. {tuple(out_shape)}")


def _bias_act_in_place(xp, out, bias, activation):
    xp.add(out, bias, out=out)
    if activation == "Relu":
        xp.maximum(out, 0, out=out)


def _bias_act(xp, out, bias, activation):
    """``activation(out + bias)`` written into ``out`` (a fresh array the kernel owns)."""
    _check_bias(bias, out.shape)
    if not out.flags.writeable or out.dtype != bias.dtype:
        out = out + bias          # not ours to write into, or a dtype the op would change
        if activation == "Relu":
            xp.maximum(out, 0, out=out)
    else:
        _bias_act_in_place(xp, out, bias, activation)
    return out


def _fused_infer(product_infer):
    def rule(ins, a):
        (dtype, shape), = product_infer(ins[:2], a)
        bias = ins[2].shape
        if bias.rank is not None and bias.rank != 1:
            raise ValueError(f"Shape must be rank 1 but is rank {bias.rank}")
        if shape.rank is not None and bias.rank == 1 and \
                not shape[-1:].is_compatible_with(bias):
            raise ValueError(f"Dimensions must be equal, but are {shape[-1]} and {bias[0]}")
        if a["activation"] not in ACTIVATIONS:
            raise ValueError(f"Unsupported fused activation {a['activation']!r}")
        return [(dtype, TensorShape(shape))]
    return rule


def _activation_grad(op, g):
    if op.get_attr("activation") == "Relu":
        return apply_op(nn_ops._RELU_GRAD, [g, op.outputs[0]])
    return g


# ---- _FusedMatMul -----------------------------------------------------------------------------
def _fused_matmul_kernel(xp, a, b, bias, transpose_a, transpose_b, activation):
    out = math_ops._matmul_kernel(xp, a, b, transpose_a, transpose_b)
    return _bias_act(xp, out, bias, activation)


def _fused_matmul_grad(op, g):
    a, b, _ = op.inputs
    g = _activation_grad(op, g)
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    mm = math_ops.matmul
    if not ta and not tb:
        da, db = mm(g, b, transpose_b=True), mm(a, g, transpose_a=True)
    elif not ta:
        da, db = mm(g, b), mm(g, a, transpose_a=True)
    elif not tb:
        da, db = mm(b, g, transpose_b=True), mm(a, g)
    else:
        da, db = (mm(b, g, transpose_a=True, transpose_b=True),
                  mm(g, a, transpose_a=True, transpose_b=True))
    return [da, db, g]          # the backprop walk sums g down to the bias's shape


FUSED_MATMUL = register_op("_FusedMatMul", infer=_fused_infer(math_ops._matmul_infer),
                           kernel=_fused_matmul_kernel, grad=_fused_matmul_grad)


# ---- _FusedConv2D -----------------------------------------------------------------------------
def _fused_conv_kernel(xp, x, w, bias, strides, padding, dilations, activation):
    if w.ndim == 4 and bias.dtype == x.dtype:
        _check_bias(bias, w.shape)
        # Bias and activation run on each piece of the output while it is in the cache.
        return conv_kernels.conv2d(
            xp, x, w, strides=strides, padding=padding, dilations=dilations,
            epilogue=lambda rows: _bias_act_in_place(xp, rows, bias, activation))
    out = conv_kernels.conv2d(xp, x, w, strides=strides, padding=padding, dilations=dilations)
    return _bias_act(xp, out, bias, activation)


def _fused_conv_grad(op, g):
    x, w, _ = op.inputs
    g = _activation_grad(op, g)
    a = {k: op.get_attr(k) for k in ("strides", "padding", "dilations")}
    return [apply_op(conv_ops._OPS["BackpropInput"], [shape_of(x), w, g], a),
            apply_op(conv_ops._OPS["BackpropFilter"], [x, shape_of(w), g], a), g]


FUSED_CONV2D = register_op("_FusedConv2D", infer=_fused_infer(conv_ops._conv_infer(False)),
                           kernel=_fused_conv_kernel, grad=_fused_conv_grad)


def fused_attrs(product_attrs, activation):
    """The attrs of a fused node: the product's plus the activation."""
    return dict(product_attrs, activation=activation)

