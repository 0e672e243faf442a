"""Neural-network ops (``tf.nn.*``): activations, softmax, cross-entropies, normalization,
dropout and embedding lookup. Convolution and pooling live in ``conv_ops``.

Ops with their own kernel are the ones TF shows as op types (Relu, Softmax, BiasAdd,
SoftmaxCrossEntropyWithLogits...) or that need a stable kernel; the rest are composites
of public ops with no gradient of their own, as in TF's ``nn_impl.py``.
"""
import importlib

import numpy as np

from numflow._api.export import export
from numflow.framework import dtypes, errors
from numflow.eager.tensor import EagerTensor
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op
from numflow.ops.array_ops import reshape, shape, size, stop_gradient
from numflow.ops.math_ops import (add, broadcast_like, cast, divide, multiply, negative,
                                  reduce_mean, reduce_sum, subtract)


def _lib(short):
    """The op-library modules are imported lazily (they may import this module)."""
    return importlib.import_module("numflow.ops." + short)


def _floating(x, op_name, name=None):
    """``x`` as a tensor; TypeError unless it is floating point (TF's "T" constraint)."""
    x = convert_to_tensor(x, name=name)
    if not x.dtype.is_floating:
        raise TypeError(f"{op_name}: Value for attr 'T' of {x.dtype.name} is not in the list of "
                        f"allowed values: half, bfloat16, float, double")
    return x


def _is_zero(g):
    """True for the zeros the backprop walk fills in for an unused output."""
    if type(g) is EagerTensor:
        return not g._value.any()
    return getattr(getattr(g, "op", None), "type", None) == "ZerosLike"


# ---- activations ------------------------------------------------------------------------
def _self_grad_op(name, kernel):
    """A linear-in-``g`` gradient op ``Op(g, x)``; its own gradient w.r.t. ``g`` is itself."""
    opdef = register_op(name, infer=infer.same_as_input(), kernel=kernel,
                        grad=lambda op, gg: [apply_op(opdef, [gg, op.inputs[1]], op.attrs),
                                             None])
    return opdef


_RELU_GRAD = _self_grad_op("ReluGrad", lambda xp, g, y: g * (y > 0))
_RELU = register_op("Relu", infer=infer.same_as_input(), kernel=lambda xp, x: xp.maximum(x, 0),
                    grad=lambda op, g: [apply_op(_RELU_GRAD, [g, op.outputs[0]])])
_RELU6_GRAD = _self_grad_op("Relu6Grad", lambda xp, g, y: g * ((y > 0) & (y < 6)))
_RELU6 = register_op("Relu6", infer=infer.same_as_input(), kernel=lambda xp, x: xp.clip(x, 0, 6),
                     grad=lambda op, g: [apply_op(_RELU6_GRAD, [g, op.outputs[0]])])
_LEAKY_GRAD = _self_grad_op("LeakyReluGrad",
                            lambda xp, g, x, alpha: xp.where(x > 0, g, g * alpha))
_LEAKY = register_op(
    "LeakyRelu", infer=infer.same_as_input(),
    kernel=lambda xp, x, alpha: xp.where(x > 0, x, x * alpha),
    grad=lambda op, g: [apply_op(_LEAKY_GRAD, [g, op.inputs[0]], op.attrs)])

_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


def _exp_linear_kernel(xp, x, scale, alpha):
    neg = xp.expm1(xp.minimum(x, 0)) * alpha
    return xp.where(x > 0, x, neg) * scale if scale != 1 else xp.where(x > 0, x, neg)


def _exp_linear_grad_kernel(xp, g, y, scale, alpha):
    return xp.where(y > 0, g * scale, g * (y + scale * alpha))


def _exp_linear_grad_grad(op, gg):
    g, y = op.inputs
    # d/dy of g * (y + scale*alpha) for y < 0 is g (TF's _EluGradGrad / _SeluGradGrad).
    return [apply_op(_EXP_LINEAR_GRAD[op.type], [gg, y], op.attrs),
            gg * g * cast(y < 0, gg.dtype)]


_EXP_LINEAR_GRAD = {n: register_op(n, infer=infer.same_as_input(), kernel=_exp_linear_grad_kernel,
                                   grad=_exp_linear_grad_grad) for n in ("EluGrad", "SeluGrad")}
_ELU = register_op("Elu", infer=infer.same_as_input(), kernel=_exp_linear_kernel,
                   grad=lambda op, g: [apply_op(_EXP_LINEAR_GRAD["EluGrad"],
                                                [g, op.outputs[0]], op.attrs)])
_SELU = register_op("Selu", infer=infer.same_as_input(), kernel=_exp_linear_kernel,
                    grad=lambda op, g: [apply_op(_EXP_LINEAR_GRAD["SeluGrad"],
                                                 [g, op.outputs[0]], op.attrs)])
_SOFTPLUS = register_op("Softplus", infer=infer.same_as_input(),
                        kernel=lambda xp, x: xp.logaddexp(x, xp.zeros((), x.dtype)),
                        grad=lambda op, g: [g * _lib("math_elementwise").sigmoid(op.inputs[0])])
_SOFTSIGN = register_op(
    "Softsign", infer=infer.same_as_input(), kernel=lambda xp, x: x / (1 + xp.abs(x)),
    grad=lambda op, g: [g / _lib("math_elementwise").square(1 + abs(op.inputs[0]))])


@export("nn.relu")
def relu(features, name=None):
    """``tf.nn.relu(features, name=None)``: ``max(features, 0)`` elementwise."""
    return apply_op(_RELU, [convert_to_tensor(features)], name=name)


@export("nn.relu6")
def relu6(features, name=None):
    """``tf.nn.relu6(features, name=None)``: ``min(max(features, 0), 6)`` elementwise."""
    return apply_op(_RELU6, [convert_to_tensor(features)], name=name)


@export("nn.leaky_relu")
def leaky_relu(features, alpha=0.2, name=None):
    """``tf.nn.leaky_relu(features, alpha=0.2, name=None)``: ``x`` if ``x > 0`` else
    ``alpha * x``; integer inputs are cast to float32 as TF does."""
    x = convert_to_tensor(features)
    x = cast(x, dtypes.float32) if x.dtype.is_integer else x
    return apply_op(_LEAKY, [x], {"alpha": float(alpha)}, name=name)


@export("nn.elu")
def elu(features, name=None):
    """``tf.nn.elu(features, name=None)``: ``x`` if ``x > 0`` else ``exp(x) - 1``."""
    return apply_op(_ELU, [_floating(features, "Elu")], {"scale": 1.0, "alpha": 1.0},
                    name=name)


@export("nn.selu")
def selu(features, name=None):
    """``tf.nn.selu(features, name=None)``: ``scale * elu`` with alpha 1.6733, scale 1.0507
    (Klambauer et al. 2017)."""
    return apply_op(_SELU, [_floating(features, "Selu")],
                    {"scale": _SELU_SCALE, "alpha": _SELU_ALPHA}, name=name)


@export("nn.softplus", "math.softplus")
def softplus(features, name=None):
    """``tf.math.softplus(features, name=None)``: ``log(exp(x) + 1)``, computed stably."""
    return apply_op(_SOFTPLUS, [_floating(features, "Softplus")], name=name)


@export("nn.softsign", "math.softsign")
def softsign(features, name=None):
    """``tf.nn.softsign(features, name=None)``: ``x / (abs(x) + 1)``."""
    return apply_op(_SOFTSIGN, [_floating(features, "Softsign")], name=name)


@export("nn.gelu", v1=[])
def gelu(features, approximate=False, name=None):
    """``tf.nn.gelu(features, approximate=False, name=None)``: Gaussian error linear unit,
    ``x * P(X <= x)`` for ``X ~ N(0, 1)``; ``approximate=True`` uses the tanh form."""
    m = _lib("math_elementwise")
    x = convert_to_tensor(features)
    if approximate:
        inner = 0.7978845608028654 * (x + 0.044715 * (x * x * x))
        return multiply(0.5 * x, 1.0 + m.tanh(inner), name=name)
    return multiply(0.5 * x, 1.0 + m.erf(x * 0.7071067811865476), name=name)


@export("nn.silu", "nn.swish")
def silu(features, beta=1.0, name=None):
    """``tf.nn.silu(features, beta=1.0)`` (alias ``swish``): ``x * sigmoid(beta * x)``."""
    x = convert_to_tensor(features)
    return multiply(x, _lib("math_elementwise").sigmoid(x * beta if beta != 1.0 else x),
                    name=name)


# ---- softmax ----------------------------------------------------------------------------
def _softmax_kernel(xp, x, axis):
    if x.size == 0:
        return x.copy()
    with np.errstate(invalid="ignore", over="ignore"):
        # Array methods and out=: the same numbers, 1.6 us less per call (W7's batch 1).
        e = x - x.max(axis=axis, keepdims=True)
        xp.exp(e, out=e)
        e /= e.sum(axis=axis, keepdims=True)
    return e


def _softmax_grad(op, g):
    y, axis = op.outputs[0], op.get_attr("axis")
    return [(g - reduce_sum(g * y, axis=axis, keepdims=True)) * y]


_SOFTMAX = register_op("Softmax", infer=infer.same_as_input(), kernel=_softmax_kernel,
                       grad=_softmax_grad)


def _axis(logits, axis, dim=None):
    axis = -1 if axis is None and dim is None else (axis if axis is not None else dim)
    rank = logits.shape.rank
    if rank is not None and not -max(rank, 1) <= axis < max(rank, 1):
        raise errors.InvalidArgumentError(
            None, None, f"`axis` must be in the range [{-rank}, {rank}) where {rank} is the "
            f"number of dimensions in the input. Received: axis={axis}")
    return int(axis)


@export("nn.softmax", "math.softmax", v1=[])
def softmax(logits, axis=None, name=None):
    """``tf.nn.softmax(logits, axis=None, name=None)``: ``exp(logits) / sum(exp(logits),
    axis)``, computed with the max subtracted; ``axis`` defaults to -1."""
    logits = _floating(logits, "Softmax")
    return apply_op(_SOFTMAX, [logits], {"axis": _axis(logits, axis)}, name=name)


@export(v1=["nn.softmax", "math.softmax"])
def softmax_v1(logits, axis=None, name=None, dim=None):
    """TF1 ``tf.nn.softmax(logits, axis=None, name=None, dim=None)``; ``dim`` is ``axis``."""
    logits = _floating(logits, "Softmax")
    return apply_op(_SOFTMAX, [logits], {"axis": _axis(logits, axis, dim)}, name=name)


@export("nn.log_softmax", "math.log_softmax", v1=[])
def log_softmax(logits, axis=None, name=None):
    """``tf.nn.log_softmax(logits, axis=None, name=None)``: ``logits - logsumexp(logits,
    axis)``; stable for large logits."""
    return log_softmax_v1(logits, axis, name)


@export(v1=["nn.log_softmax", "math.log_softmax"])
def log_softmax_v1(logits, axis=None, name=None, dim=None):
    """TF1 ``tf.nn.log_softmax(logits, axis=None, name=None, dim=None)``."""
    logits = _floating(logits, "LogSoftmax")
    axis = _axis(logits, axis, dim)
    lse = _lib("reductions").reduce_logsumexp(logits, axis=axis, keepdims=True)
    return subtract(logits, lse, name=name)


# ---- softmax cross-entropy ------------------------------------------------------------------
def _xent_infer(ins, a):
    logits, labels = ins
    d = infer.same_dtype(ins, "SoftmaxCrossEntropyWithLogits")
    s = infer.broadcast_shapes(logits.shape, labels.shape)
    if s.rank == 0:
        raise ValueError("logits and labels must have rank >= 1")
    return [(d, s[:-1] if s.rank is not None else s), (d, s)]


def _log_softmax_parts(xp, logits):
    shifted = logits - xp.max(logits, axis=-1, keepdims=True)
    e = xp.exp(shifted)
    s = xp.sum(e, axis=-1, keepdims=True)
    return shifted - xp.log(s), e / s


def _xent_kernel(xp, logits, labels):
    logits, labels = xp.broadcast_arrays(logits, labels)
    if logits.ndim == 0:
        raise ValueError("logits and labels must have rank >= 1")
    if logits.size == 0:
        return xp.zeros(logits.shape[:-1], logits.dtype), xp.zeros(logits.shape, logits.dtype)
    with np.errstate(invalid="ignore"):
        log_p, p = _log_softmax_parts(xp, logits)
        loss = -xp.sum(labels * log_p, axis=-1)
    return loss, p - labels


def _xent_grad(op, g_loss, g_backprop):
    logits, labels = op.inputs
    backprop = op.outputs[1]
    g = broadcast_like(g_loss, backprop, (-1,), False)
    neg_log_p = _lib("reductions").reduce_logsumexp(logits, axis=-1, keepdims=True) - logits
    d_logits, d_labels = g * backprop, g * neg_log_p
    if not _is_zero(g_backprop):   # second order: backprop = softmax(logits) - labels
        p = softmax(logits)
        d_logits += (g_backprop - reduce_sum(g_backprop * p, axis=-1, keepdims=True)) * p
        d_labels -= g_backprop
    return [d_logits, d_labels]


_XENT = register_op("SoftmaxCrossEntropyWithLogits", infer=_xent_infer, kernel=_xent_kernel,
                    grad=_xent_grad, num_outputs=2)


def _move_axis_last(t, axis):
    rank = t.shape.rank
    if axis == -1 or (rank is not None and axis == rank - 1):
        return t
    if rank is None:
        raise ValueError("softmax_cross_entropy_with_logits with axis != -1 needs a known rank")
    axis %= rank
    perm = [i for i in range(rank) if i != axis] + [axis]
    return _lib("array_manip").transpose(t, perm)


@export("nn.softmax_cross_entropy_with_logits", v1=["nn.softmax_cross_entropy_with_logits_v2"])
def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None, dim=None):
    """``tf.nn.softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None)``:
    ``-sum(labels * log_softmax(logits), axis)`` per example, stable for any logits.

    Gradients flow into both ``logits`` (``softmax - labels``) and ``labels``.

    Returns:
      A tensor with the shape of ``labels`` without ``axis``, in ``logits``' dtype.
    """
    logits = _floating(logits, "SoftmaxCrossEntropyWithLogits", name="logits")
    labels = convert_to_tensor(labels, dtype_hint=logits.dtype, name="labels")
    if labels.dtype != logits.dtype:
        labels = cast(labels, logits.dtype)
    axis = _axis(logits, axis if axis is not None else dim)
    logits, labels = _move_axis_last(logits, axis), _move_axis_last(labels, axis)
    return apply_op(_XENT, [logits, labels], name=name)[0]


@export(v1=["nn.softmax_cross_entropy_with_logits"])
def softmax_cross_entropy_with_logits_v1(_sentinel=None, labels=None, logits=None, dim=-1,
                                         name=None, axis=None):
    """TF1 ``tf.nn.softmax_cross_entropy_with_logits(_sentinel=None, labels=None,
    logits=None, dim=-1, name=None, axis=None)``: the v2 numbers, with no gradient into
    ``labels``. Arguments must be passed by name."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `softmax_cross_entropy_with_logits` with named arguments "
                         "(labels=..., logits=..., ...).")
    return softmax_cross_entropy_with_logits(stop_gradient(labels), logits,
                                             axis=dim if axis is None else axis, name=name)


def _sparse_xent_infer(ins, a):
    logits, labels = ins
    if logits.shape.rank == 0:
        raise ValueError("Logits cannot be scalars")
    if logits.shape.rank is not None and labels.shape.rank is not None and \
            not labels.shape.is_compatible_with(logits.shape[:-1]):
        raise ValueError(f"Shape mismatch: The shape of labels (received {labels.shape}) should "
                         f"equal the shape of logits except for the last dimension (received "
                         f"{logits.shape}).")
    return [(logits.dtype, labels.shape), (logits.dtype, logits.shape)]


def _sparse_xent_kernel(xp, logits, labels):
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels shape {labels.shape} must equal logits shape "
                         f"{logits.shape} without the last dimension")
    n = logits.shape[-1]
    bad = (labels < 0) | (labels >= n)
    if bad.any():
        raise errors.InvalidArgumentError(
            None, None, f"Received a label value of {int(labels[bad].reshape(-1)[0])} which is "
            f"outside the valid range of [0, {n}).  Label values: "
            f"{' '.join(str(int(v)) for v in labels.reshape(-1)[:100])}")
    if logits.size == 0:
        return xp.zeros(labels.shape, logits.dtype), xp.zeros(logits.shape, logits.dtype)
    log_p, p = _log_softmax_parts(xp, logits)
    idx = labels[..., None].astype(xp.intp)
    loss = -xp.take_along_axis(log_p, idx, axis=-1)[..., 0]
    xp.put_along_axis(p, idx, xp.take_along_axis(p, idx, axis=-1) - 1, axis=-1)
    return loss, p


def _sparse_xent_grad(op, g_loss, g_backprop):
    backprop = op.outputs[1]
    d_logits = broadcast_like(g_loss, backprop, (-1,), False) * backprop
    if not _is_zero(g_backprop):
        p = softmax(op.inputs[0])
        d_logits += (g_backprop - reduce_sum(g_backprop * p, axis=-1, keepdims=True)) * p
    return [d_logits, None]


_SPARSE_XENT = register_op("SparseSoftmaxCrossEntropyWithLogits", infer=_sparse_xent_infer,
                           kernel=_sparse_xent_kernel, grad=_sparse_xent_grad, num_outputs=2)


@export("nn.sparse_softmax_cross_entropy_with_logits", v1=[])
def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """``tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits, name=None)``: softmax
    cross-entropy with integer class ``labels`` of shape ``logits.shape[:-1]``.

    Raises:
      ValueError: labels' shape is not logits' shape without the last dimension.
      InvalidArgumentError: (when run) a label outside ``[0, num_classes)``.
    """
    logits = _floating(logits, "SparseSoftmaxCrossEntropyWithLogits", name="logits")
    labels = convert_to_tensor(labels, name="labels")
    if not labels.dtype.is_integer:
        raise TypeError(f"labels must be int32 or int64, got {labels.dtype.name}")
    return apply_op(_SPARSE_XENT, [logits, labels], name=name)[0]


@export(v1=["nn.sparse_softmax_cross_entropy_with_logits"])
def sparse_softmax_cross_entropy_with_logits_v1(_sentinel=None, labels=None, logits=None,
                                                name=None):
    """TF1 ``tf.nn.sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None,
    logits=None, name=None)``; arguments must be passed by name."""
    if _sentinel is not None or labels is None or logits is None:
        raise ValueError("Only call `sparse_softmax_cross_entropy_with_logits` with named "
                         "arguments (labels=..., logits=..., ...).")
    return sparse_softmax_cross_entropy_with_logits(labels, logits, name=name)


# ---- sigmoid cross-entropies (composites, as TF's nn_impl) -------------------------------
def _logits_labels(labels, logits):
    logits = convert_to_tensor(logits, name="logits")
    labels = convert_to_tensor(labels, dtype=logits.dtype, name="labels")
    try:
        logits.shape.assert_is_compatible_with(labels.shape)
    except ValueError:
        raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs "
                         f"{labels.shape})") from None
    return labels, logits


def _log1p_exp_neg_abs(logits):
    m = _lib("math_elementwise")
    return m.log1p(m.exp(negative(abs(logits))))


@export("nn.sigmoid_cross_entropy_with_logits", v1=[])
def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """``tf.nn.sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None)``:
    elementwise ``max(x, 0) - x * z + log(1 + exp(-|x|))`` for logits ``x``, labels ``z``."""
    labels, logits = _logits_labels(labels, logits)
    return add(relu(logits) - logits * labels, _log1p_exp_neg_abs(logits), name=name)


@export(v1=["nn.sigmoid_cross_entropy_with_logits"])
def sigmoid_cross_entropy_with_logits_v1(_sentinel=None, labels=None, logits=None, name=None):
    """TF1 ``tf.nn.sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None,
    logits=None, name=None)``; arguments must be passed by name."""
    if _sentinel is not None:
        raise ValueError("Only call `sigmoid_cross_entropy_with_logits` with named arguments")
    return sigmoid_cross_entropy_with_logits(labels, logits, name)


@export("nn.weighted_cross_entropy_with_logits", v1=[])
def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """``tf.nn.weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None)``:
    sigmoid cross-entropy with the positive term weighted by ``pos_weight``:
    ``(1 - z) * x + (1 + (q - 1) * z) * (log(1 + exp(-|x|)) + max(-x, 0))``."""
    labels, logits = _logits_labels(labels, logits)
    log_weight = 1 + (pos_weight - 1) * labels
    return add((1 - labels) * logits,
               log_weight * (_log1p_exp_neg_abs(logits) + relu(negative(logits))), name=name)


@export(v1=["nn.weighted_cross_entropy_with_logits"])
def weighted_cross_entropy_with_logits_v1(targets=None, logits=None, pos_weight=None, name=None,
                                          labels=None):
    """TF1 ``tf.nn.weighted_cross_entropy_with_logits(targets, logits, pos_weight, name=None,
    labels=None)``; ``labels`` is the newer name of ``targets``."""
    return weighted_cross_entropy_with_logits(targets if labels is None else labels, logits,
                                              pos_weight, name)


# ---- bias_add, l2 -------------------------------------------------------------------------
def _bias_infer(ins, a):
    x, b = ins
    d = infer.same_dtype(ins, "BiasAdd")
    if b.shape.rank is not None and b.shape.rank != 1:
        raise ValueError(f"Shape must be rank 1 but is rank {b.shape.rank}")
    if x.shape.rank is not None and x.shape.rank < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {x.shape.rank}")
    c = a["channel_axis"]
    if x.shape.rank is not None and b.shape.rank == 1 and \
            not x.shape[c:c + 1 if c != -1 else None].is_compatible_with(b.shape):
        raise ValueError(f"Dimensions must be equal, but are {x.shape[c]} and {b.shape[0]}")
    return [(d, x.shape)]


def _bias_kernel(xp, x, b, channel_axis):
    if b.ndim != 1 or x.ndim < 2 or x.shape[channel_axis] != b.shape[0]:
        raise ValueError(f"Must provide as many biases as the channel dimension of the input "
                         f"tensor: {b.shape} vs. {x.shape}")
    if channel_axis == 1:
        b = b.reshape((-1,) + (1,) * (x.ndim - 2))
    return x + b


def _bias_grad(op, g):
    if op.get_attr("channel_axis") == -1:
        return [g, g]          # the backprop walk sums g down to the bias's shape
    rank = op.inputs[0].shape.rank
    return [g, reduce_sum(g, axis=[0] + list(range(2, rank)))]


_BIAS_ADD = register_op("BiasAdd", infer=_bias_infer, kernel=_bias_kernel, grad=_bias_grad)


@export("nn.bias_add")
def bias_add(value, bias, data_format=None, name=None):
    """``tf.nn.bias_add(value, bias, data_format=None, name=None)``: adds the 1-D ``bias``
    along the channel axis (last, or axis 1 for ``"NC..."`` formats)."""
    value = convert_to_tensor(value, name="input")
    bias = convert_to_tensor(bias, dtype=value.dtype, name="bias")
    channel_axis = 1 if data_format is not None and data_format.startswith("NC") else -1
    if channel_axis == 1 and value.shape.rank is None:
        raise ValueError("bias_add with data_format NC... needs an input of known rank")
    return apply_op(_BIAS_ADD, [value, bias], {"channel_axis": channel_axis}, name=name)


_L2_LOSS = register_op(
    "L2Loss", infer=lambda ins, a: [(ins[0].dtype, ins[0].shape[:0])],
    kernel=lambda xp, x: xp.asarray(xp.sum(x * x, dtype=x.dtype) / 2, dtype=x.dtype),
    grad=lambda op, g: [op.inputs[0] * g])


@export("nn.l2_loss")
def l2_loss(t, name=None):
    """``tf.nn.l2_loss(t, name=None)``: ``sum(t ** 2) / 2``, a scalar."""
    return apply_op(_L2_LOSS, [_floating(t, "L2Loss")], name=name)


@export("math.l2_normalize", "linalg.l2_normalize", "nn.l2_normalize")
def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``tf.math.l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None)``:
    ``x / sqrt(max(sum(x ** 2, axis), epsilon))``; ``dim`` is the old name of ``axis``."""
    m = _lib("math_elementwise")
    x = convert_to_tensor(x, name="x")
    axis = dim if axis is None else axis
    square_sum = reduce_sum(x * x, axis=axis, keepdims=True)
    inv = m.rsqrt(m.maximum(square_sum, cast(epsilon, x.dtype)))
    return multiply(x, inv, name=name)


# ---- moments and batch normalization ------------------------------------------------------
def _squeeze_axes(t, axes):
    return _lib("array_manip").squeeze(t, axis=list(axes))


@export("nn.moments", v1=[])
def moments(x, axes, shift=None, keepdims=False, name=None):
    """``tf.nn.moments(x, axes, shift=None, keepdims=False, name=None)``: mean and (biased)
    variance of ``x`` over ``axes``; ``shift`` is accepted and unused, as in TF 2.

    Returns:
      ``(mean, variance)``.
    """
    x = convert_to_tensor(x, name="x")
    axes = [int(a) for a in np.asarray(axes).reshape(-1)]
    mean = reduce_mean(x, axis=axes, keepdims=True)
    sq = _lib("math_elementwise").squared_difference(x, stop_gradient(mean))
    variance = reduce_mean(sq, axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = _squeeze_axes(mean, axes), _squeeze_axes(variance, axes)
    return mean, variance


@export(v1=["nn.moments"])
def moments_v1(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """TF1 ``tf.nn.moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None)``."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    return moments(x, axes, shift, keep, name)


@export("nn.batch_normalization")
def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``tf.nn.batch_normalization(x, mean, variance, offset, scale, variance_epsilon,
    name=None)``: ``scale * (x - mean) / sqrt(variance + epsilon) + offset``; ``offset``
    and ``scale`` may be None."""
    x = convert_to_tensor(x)
    inv = _lib("math_elementwise").rsqrt(variance + cast(variance_epsilon, x.dtype))
    if scale is not None:
        inv = inv * scale
    shift = offset - mean * inv if offset is not None else negative(mean * inv)
    return add(x * cast(inv, x.dtype), cast(shift, x.dtype), name=name)


@export(v1=["nn.fused_batch_norm"])
def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001,
                     data_format="NHWC", is_training=True, name=None,
                     exponential_avg_factor=1.0):
    """TF1 ``tf.nn.fused_batch_norm(x, scale, offset, mean=None, variance=None,
    epsilon=0.001, data_format='NHWC', is_training=True, name=None,
    exponential_avg_factor=1.0)``: batch normalization of a 4-D ``x`` over all axes but
    the channel axis.

    Returns:
      ``(y, batch_mean, batch_variance)``. In training ``y`` uses the biased batch
      variance while the returned variance is the unbiased (``n / (n - 1)``) one, and with
      ``exponential_avg_factor`` != 1 both are blended into ``mean``/``variance`` as TF does.
      In inference ``mean`` and ``variance`` are used and returned. As with TF's fused
      op, gradients flow only from ``y``, and not into ``mean``/``variance``.
    """
    x = convert_to_tensor(x, name="x")
    if x.shape.rank is not None and x.shape.rank != 4:
        raise ValueError(f"x must be 4-D, got shape {x.shape}")
    ch = 1 if data_format.startswith("NC") else 3
    axes = [a for a in range(4) if a != ch]
    bshape = [1, -1, 1, 1] if ch == 1 else [1, 1, 1, -1]
    scale, offset = convert_to_tensor(scale), convert_to_tensor(offset)
    if is_training:
        bmean, bvar = moments(x, axes)
        n = cast(size(x) // size(bmean), bvar.dtype)
        unbiased = bvar * n / _lib("math_elementwise").maximum(n - 1, cast(1, n.dtype))
        if exponential_avg_factor != 1.0 and mean is not None and variance is not None:
            f = exponential_avg_factor
            out_mean, out_var = (1 - f) * mean + f * bmean, (1 - f) * variance + f * unbiased
        else:
            out_mean, out_var = bmean, unbiased
        out_mean, out_var = stop_gradient(out_mean), stop_gradient(out_var)
    else:
        if mean is None or variance is None:
            raise ValueError("fused_batch_norm with is_training=False needs mean and variance")
        bmean = out_mean = stop_gradient(convert_to_tensor(mean))
        bvar = out_var = stop_gradient(convert_to_tensor(variance))
    y = batch_normalization(x, reshape(bmean, bshape), reshape(bvar, bshape),
                            reshape(offset, bshape), reshape(scale, bshape), epsilon, name=name)
    return y, out_mean, out_var


# ---- dropout ------------------------------------------------------------------------------
@export("nn.dropout", v1=[])
def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """``tf.nn.dropout(x, rate, noise_shape=None, seed=None, name=None)``: zeroes each
    element with probability ``rate`` and scales the rest by ``1 / (1 - rate)``.

    The mask is ``random_uniform(noise_shape, seed) >= rate`` as TF draws it, so seeded
    masks match TF's. ``rate`` may be a scalar tensor (e.g. a placeholder).

    Raises:
      ValueError: a numeric ``rate`` outside ``[0, 1)`` or a non-float ``x``.
    """
    x = convert_to_tensor(x, name="x")
    if not x.dtype.is_floating:
        raise ValueError(f"x has to be a floating point tensor since it's going to be scaled. "
                         f"Got a {x.dtype.name} tensor instead.")
    if isinstance(rate, (int, float, np.number)):
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), "
                             f"got {rate}")
        if rate == 0:
            return x
        ret = x * cast(1 / (1 - rate), x.dtype)
    else:
        rate = convert_to_tensor(rate, dtype_hint=x.dtype, name="rate")
        if rate.shape.rank not in (None, 0):
            raise ValueError(f"rate must be a scalar, got shape {rate.shape}")
        rate = cast(rate, x.dtype)
        ret = divide(x, 1 - rate)
    noise_shape = _noise_shape(x, noise_shape)
    keep = _lib("random_ops").random_uniform(noise_shape, seed=seed, dtype=x.dtype) >= rate
    out = multiply(ret, cast(keep, x.dtype), name=name)
    if not isinstance(out, EagerTensor):
        out.set_shape(x.shape)
    return out


def _noise_shape(x, noise_shape):
    """TF's ``_get_noise_shape``: None dims of a list ``noise_shape`` take ``x``'s dims."""
    if noise_shape is None:
        return shape(x)
    if not isinstance(noise_shape, (list, tuple)) or x.shape.rank != len(noise_shape) or \
            all(d is not None for d in noise_shape):
        return noise_shape
    dims = [x.shape[i] if d is None else d for i, d in enumerate(noise_shape)]
    if all(d is not None for d in dims):
        return dims
    dyn = shape(x)
    return _lib("array_ops").stack([dyn[i] if d is None else d for i, d in enumerate(dims)])


@export(v1=["nn.dropout"])
def dropout_v1(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """TF1 ``tf.nn.dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None,
    rate=None)``: keeps each element with probability ``keep_prob`` (a number or a scalar
    tensor such as a placeholder fed 0.5 or 1.0) and scales kept ones by ``1/keep_prob``."""
    if rate is None:
        if keep_prob is None:
            raise ValueError("You must provide a rate to dropout.")
        if isinstance(keep_prob, (int, float, np.number)):
            if not 0 < keep_prob <= 1:
                raise ValueError(f"keep_prob must be a scalar tensor or a float in the range "
                                 f"(0, 1], got {keep_prob}")
            rate = 1 - keep_prob
        else:
            rate = 1 - convert_to_tensor(keep_prob, dtype_hint=dtypes.float32)
    return dropout(x, rate, noise_shape=noise_shape, seed=seed, name=name)


# ---- embedding lookup ---------------------------------------------------------------------
@export("nn.embedding_lookup", v1=[])
def embedding_lookup(params, ids, max_norm=None, name=None):
    """``tf.nn.embedding_lookup(params, ids, max_norm=None, name=None)``: the rows of
    ``params`` named by ``ids``: shape ``ids.shape + params.shape[1:]``.

    ``params`` may be a list of shards, split "mod"-wise as TF 2 does. Rows whose L2 norm
    exceeds ``max_norm`` are scaled down to it.

    Raises:
      InvalidArgumentError: (when run) an id outside ``[0, params.shape[0])``.
    """
    return embedding_lookup_v1(params, ids, "mod", name, True, max_norm)


@export(v1=["nn.embedding_lookup"])
def embedding_lookup_v1(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                        max_norm=None):
    """TF1 ``tf.nn.embedding_lookup(params, ids, partition_strategy='mod', name=None,
    validate_indices=True, max_norm=None)``; shards are split "mod" or "div" wise."""
    gather = _lib("array_gather").gather
    if hasattr(params, "_as_tensor") and not isinstance(params, EagerTensor):
        params = params._as_tensor()
    if isinstance(params, (list, tuple)):
        shards = [convert_to_tensor(p._as_tensor() if hasattr(p, "_as_tensor") else p)
                  for p in params]
    else:
        shards = [convert_to_tensor(params, name="params")]
    ids = convert_to_tensor(ids, name="ids")
    if len(shards) == 1:
        table = shards[0]
    else:
        table = _lib("array_manip").concat(shards, axis=0)
        if partition_strategy == "mod":
            sizes = [s.shape[0] for s in shards]
            if any(d is None for d in sizes):
                raise ValueError("mod-partitioned embedding_lookup needs shards of known size")
            n = len(shards)
            # id i lives in shard i % n at row i // n; map it to its row in the concatenation
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            elem = _lib("math_elementwise")
            shard = elem.floormod(ids, n)
            ids = gather(convert_to_tensor(offsets.astype(ids.dtype.as_numpy_dtype)),
                         shard) + elem.floordiv(ids, n)
        elif partition_strategy != "div":
            raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    if max_norm is None:
        return gather(table, ids, name=name)
    out = gather(table, ids)
    if ids.shape.rank is None or out.shape.rank is None:
        raise ValueError("embedding_lookup with max_norm needs ids and params of known rank")
    return _lib("math_elementwise").clip_by_norm(
        out, max_norm, axes=list(range(ids.shape.rank, out.shape.rank)), name=name)
