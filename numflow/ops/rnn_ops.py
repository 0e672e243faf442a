"""Fused recurrent ops: TF's ``BlockLSTMV2`` (a whole LSTM sequence in one op) and its
gradient ``BlockLSTMGradV2``, public as ``tf.raw_ops.BlockLSTMV2`` /
``tf.raw_ops.BlockLSTMGradV2``. Kernels in ``numflow.kernels.rnn``.

Keras's ``LSTM`` layer runs on ``BlockLSTMV2`` whenever its configuration allows
(numflow/keras/layers/recurrent.py); its gate order ``i, f, c, o`` is the op's IFCO layout.

As in TensorFlow, gradients flow back only through the ``cs`` and ``h`` outputs (the
gradients of the gate outputs ``i, f, o, ci, co`` are dropped: ``BlockLSTMGradV2`` takes
none), the gradient treats ``cell_clip`` as the identity, and ``BlockLSTMGradV2`` itself
has no gradient.
"""
import collections

from numflow._api.export import export
from numflow.framework import dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.kernels import rnn as rnn_kernels
from numflow.ops import infer
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

BlockLSTMV2Output = collections.namedtuple("BlockLSTMV2", ["i", "cs", "f", "o", "ci", "co", "h"])
BlockLSTMGradV2Output = collections.namedtuple(
    "BlockLSTMGradV2", ["x_grad", "cs_prev_grad", "h_prev_grad", "w_grad", "wci_grad",
                        "wcf_grad", "wco_grad", "b_grad"])


# ---- shape inference ------------------------------------------------------------------------
def _shape(t):
    return None if t.shape.rank is None else tuple(t.shape.as_list())


def _times(d, k):
    return None if d is None else d * k


def _check(ins, op_name):
    """The float dtype and ``(timelen, batch, input, cell)`` of a BlockLSTM op's inputs."""
    seq = ins[0]
    if seq.dtype.base_dtype != dtypes.int64:
        raise TypeError(f"{op_name}: seq_len_max must be int64, got {seq.dtype.base_dtype.name}")
    if seq.shape.rank not in (None, 0):
        raise ValueError(f"seq_len_max must be rank 0 but is rank {seq.shape.rank}")
    dtype = infer.same_dtype(ins[1:], op_name)
    if not dtype.is_floating:
        raise TypeError(f"{op_name}: x must be a floating-point tensor, got {dtype.name}")
    return dtype, rnn_kernels.lstm_dims(*[_shape(t) for t in ins[1:]])


def _lstm_infer(ins, attrs):
    dtype, (timelen, batch, _, cell) = _check(ins, "BlockLSTMV2")
    return [(dtype, TensorShape([timelen, batch, cell]))] * 7


def _lstm_grad_infer(ins, attrs):
    dtype, (timelen, batch, n_in, cell) = _check(ins, "BlockLSTMGradV2")
    rows = None if n_in is None or cell is None else n_in + cell
    shapes = [[timelen, batch, n_in], [batch, cell], [batch, cell], [rows, _times(cell, 4)],
              [cell], [cell], [cell], [_times(cell, 4)]]
    return [(dtype, TensorShape(s)) for s in shapes]


# ---- ops ------------------------------------------------------------------------------------
def _block_lstm_grad(op, *grads):
    # Only the gradients of cs (output 1) and h (output 6) flow back, as in TensorFlow.
    outs = apply_op(_BLOCK_LSTM_GRAD, list(op.inputs) + list(op.outputs) + [grads[1], grads[6]],
                    {"use_peephole": op.get_attr("use_peephole")})
    return [None] + list(outs)


_BLOCK_LSTM = register_op("BlockLSTMV2", infer=_lstm_infer, kernel=rnn_kernels.block_lstm,
                          grad=_block_lstm_grad, num_outputs=7)
_BLOCK_LSTM_GRAD = register_op("BlockLSTMGradV2", infer=_lstm_grad_infer,
                               kernel=rnn_kernels.block_lstm_grad, num_outputs=8)


def _float_inputs(op_name, values):
    """Converts the float inputs (the first one sets the dtype hint); TypeError when their
    dtypes differ."""
    first = convert_to_tensor(values[0])
    tensors = [first] + [convert_to_tensor(v, dtype_hint=first.dtype) for v in values[1:]]
    infer.same_dtype(tensors, op_name)
    return tensors


@export("raw_ops.BlockLSTMV2")
def block_lstm_v2(*, seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b, cell_clip=0.0,
                  use_peephole=False, name=None):
    """Computes the LSTM forward propagation over all time steps
    (``tf.raw_ops.BlockLSTMV2``; keyword arguments only).

    Equivalent to running one LSTM cell step per time step ``t < seq_len_max``, with
    ``z = concat([x[t], h]) @ w + b`` split into the gate blocks ``i, f, ci, o`` (IFCO,
    Keras's order)::

        i = sigmoid(z_i + cs * wci)    f = sigmoid(z_f + cs * wcf)    ci = tanh(z_c)
        cs = clip(f * cs + i * ci, cell_clip)    co = tanh(cs)
        o = sigmoid(z_o + cs * wco)    h = o * co

    (the peephole terms only with ``use_peephole``; no clip when ``cell_clip <= 0``).

    Args:
      seq_len_max: int64 scalar, the number of steps actually run; outputs are zeros from
        there on.
      x: ``[timelen, batch, input_size]`` float tensor, the sequence.
      cs_prev: ``[batch, cell_size]``, the initial cell state.
      h_prev: ``[batch, cell_size]``, the initial output.
      w: ``[input_size + cell_size, 4 * cell_size]``, the weights (input rows first).
      wci, wcf, wco: ``[cell_size]`` peephole weights of the input, forget and output gates.
      b: ``[4 * cell_size]``, the bias.
      cell_clip: clip the cell state to ``[-cell_clip, cell_clip]`` when positive.
      use_peephole: use the peephole weights.
      name: a name for the op.

    Returns:
      A namedtuple ``(i, cs, f, o, ci, co, h)`` of ``[timelen, batch, cell_size]``
      tensors: the input gate, cell state, forget gate, output gate, cell input, ``tanh``
      of the cell state and the output at every step.

    Raises:
      ValueError: inputs of the wrong rank or inconsistent sizes (InvalidArgumentError
        when running eagerly), or ``seq_len_max`` outside ``[0, timelen]`` at run time.
      TypeError: ``seq_len_max`` not int64, or float inputs of different dtypes.

    >>> import numpy as np, numflow as tf
    >>> z = np.zeros((2, 3), np.float32)
    >>> out = tf.raw_ops.BlockLSTMV2(seq_len_max=4, x=np.ones((4, 2, 5), np.float32),
    ...     cs_prev=z, h_prev=z, w=np.zeros((8, 12), np.float32), wci=z[0], wcf=z[0],
    ...     wco=z[0], b=np.zeros(12, np.float32))
    >>> out.h.shape, float(out.i[0, 0, 0]), float(out.cs[0, 0, 0])
    (TensorShape([4, 2, 3]), 0.5, 0.0)
    """
    seq = convert_to_tensor(seq_len_max, dtype=dtypes.int64)
    ins = _float_inputs("BlockLSTMV2", [x, cs_prev, h_prev, w, wci, wcf, wco, b])
    outs = apply_op(_BLOCK_LSTM, [seq] + ins,
                    {"cell_clip": float(cell_clip), "use_peephole": bool(use_peephole)}, name=name)
    return BlockLSTMV2Output(*outs)


@export("raw_ops.BlockLSTMGradV2")
def block_lstm_grad_v2(*, seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b, i, cs, f, o,
                       ci, co, h, cs_grad, h_grad, use_peephole, name=None):
    """Computes the LSTM backward propagation over all time steps
    (``tf.raw_ops.BlockLSTMGradV2``; keyword arguments only): the gradient of
    ``BlockLSTMV2`` given the gradients of its ``cs`` and ``h`` outputs.

    Args:
      seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b: the forward op's inputs.
      i, cs, f, o, ci, co, h: the forward op's outputs, ``[timelen, batch, cell_size]``.
      cs_grad: ``[timelen, batch, cell_size]``, the gradient of the loss w.r.t. ``cs``.
      h_grad: ``[timelen, batch, cell_size]``, the gradient of the loss w.r.t. ``h``.
      use_peephole: the forward op's attribute.
      name: a name for the op.

    Returns:
      A namedtuple ``(x_grad, cs_prev_grad, h_prev_grad, w_grad, wci_grad, wcf_grad,
      wco_grad, b_grad)``, each shaped like the matching forward input (peephole
      gradients are zeros without ``use_peephole``). ``cell_clip`` is treated as the
      identity, as TensorFlow does.

    Raises:
      ValueError: inputs of the wrong rank or inconsistent sizes.
      TypeError: ``seq_len_max`` not int64, or float inputs of different dtypes.

    >>> import numpy as np, numflow as tf
    >>> z = np.zeros((1, 1), np.float32)
    >>> fwd = tf.raw_ops.BlockLSTMV2(seq_len_max=1, x=np.ones((1, 1, 1), np.float32),
    ...     cs_prev=z, h_prev=z, w=np.ones((2, 4), np.float32), wci=z[0], wcf=z[0],
    ...     wco=z[0], b=np.zeros(4, np.float32))
    >>> grads = tf.raw_ops.BlockLSTMGradV2(seq_len_max=1, x=np.ones((1, 1, 1), np.float32),
    ...     cs_prev=z, h_prev=z, w=np.ones((2, 4), np.float32), wci=z[0], wcf=z[0],
    ...     wco=z[0], b=np.zeros(4, np.float32), **fwd._asdict(),
    ...     cs_grad=np.zeros((1, 1, 1), np.float32), h_grad=np.ones((1, 1, 1), np.float32),
    ...     use_peephole=False)
    >>> grads.w_grad.shape
    TensorShape([2, 4])
    """
    seq = convert_to_tensor(seq_len_max, dtype=dtypes.int64)
    ins = _float_inputs("BlockLSTMGradV2", [x, cs_prev, h_prev, w, wci, wcf, wco, b, i, cs, f,
                                            o, ci, co, h, cs_grad, h_grad])
    outs = apply_op(_BLOCK_LSTM_GRAD, [seq] + ins, {"use_peephole": bool(use_peephole)},
                    name=name)
    return BlockLSTMGradV2Output(*outs)
