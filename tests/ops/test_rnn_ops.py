"""BlockLSTMV2 / BlockLSTMGradV2 (numflow/ops/rnn_ops.py): op-table rows (forward against
a float64 step loop, graph == eager, inferred shapes == runtime shapes, gradients against
central differences), the ``tf.raw_ops`` front door, and errors."""
import importlib.util
import os

import numpy as np
import pytest

import numflow as tf
from numflow.framework import errors
from numflow.testing import Row, add_rows

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kernels",
                     "test_rnn.py")
_spec = importlib.util.spec_from_file_location("kernel_rnn_reference", _PATH)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

F32 = np.float32


def block_lstm(cell_clip=0.0, use_peephole=False, outputs=None):
    """``fn(seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b)`` -> the outputs named."""
    def fn(seq, x, cs_prev, h_prev, w, wci, wcf, wco, b):
        out = tf.raw_ops.BlockLSTMV2(seq_len_max=seq, x=x, cs_prev=cs_prev, h_prev=h_prev,
                                     w=w, wci=wci, wcf=wcf, wco=wco, b=b, cell_clip=cell_clip,
                                     use_peephole=use_peephole)
        return list(out) if outputs is None else [getattr(out, k) for k in outputs]
    return fn


def reference(cell_clip=0.0, use_peephole=False, outputs=None):
    def fn(seq, *args):
        out = ref.ref_block_lstm(seq, *args, cell_clip=cell_clip, use_peephole=use_peephole)
        return out if outputs is None else [out["i cs f o ci co h".split().index(k)]
                                            for k in outputs]
    return fn


def lstm_grad(use_peephole=False):
    """Runs the forward, then BlockLSTMGradV2 on given output gradients."""
    def fn(seq, x, cs_prev, h_prev, w, wci, wcf, wco, b, cs_grad, h_grad):
        fwd = tf.raw_ops.BlockLSTMV2(seq_len_max=seq, x=x, cs_prev=cs_prev, h_prev=h_prev,
                                     w=w, wci=wci, wcf=wcf, wco=wco, b=b,
                                     use_peephole=use_peephole)
        return list(tf.raw_ops.BlockLSTMGradV2(
            seq_len_max=seq, x=x, cs_prev=cs_prev, h_prev=h_prev, w=w, wci=wci, wcf=wcf,
            wco=wco, b=b, **fwd._asdict(), cs_grad=cs_grad, h_grad=h_grad,
            use_peephole=use_peephole))
    return fn


def lstm_grad_reference(use_peephole=False):
    return lambda seq, *args: ref.ref_block_lstm_grad(seq, *args, use_peephole=use_peephole)


def inputs(seq, timelen=3, batch=2, n_in=2, cell=2, scale=0.7):
    return [np.int64(seq)] + ref.lstm_inputs(timelen, batch, n_in, cell, F32, scale)


def grads_in(timelen=3, batch=2, cell=2):
    rng = np.random.RandomState(3)
    return [rng.uniform(-1, 1, (timelen, batch, cell)).astype(F32) for _ in range(2)]


CS_H = ("cs", "h")
ROWS = add_rows([
    Row("BlockLSTMV2", block_lstm(), inputs(3, 4, 3, 2, 3, scale=1.5), reference(),
        grad=False, name="forward"),
    Row("BlockLSTMV2", block_lstm(0.4, True), inputs(4, 4, 2, 3, 2, scale=1.5),
        reference(0.4, True), grad=False, name="forward_peephole_clip"),
    Row("BlockLSTMV2", block_lstm(), inputs(2, 4, 2, 2, 3), reference(), grad=False,
        name="forward_seq_len_max_short"),
    Row("BlockLSTMV2", block_lstm(), inputs(0, 2, 0, 2, 3), reference(), grad=False,
        name="forward_empty_batch"),
    Row("BlockLSTMV2", block_lstm(outputs=CS_H), inputs(3), reference(outputs=CS_H),
        name="grad", grad_rtol=1e-5),
    Row("BlockLSTMV2", block_lstm(use_peephole=True, outputs=CS_H), inputs(3),
        reference(use_peephole=True, outputs=CS_H), name="grad_peephole", grad_rtol=1e-5),
    Row("BlockLSTMV2", block_lstm(outputs=CS_H), inputs(2, 3, 1, 3, 1),
        reference(outputs=CS_H), name="grad_seq_len_max_short", grad_rtol=1e-5),
    Row("BlockLSTMGradV2", lstm_grad(), inputs(3) + grads_in(), lstm_grad_reference(),
        grad=False, rtol=1e-4, atol=1e-5),
    Row("BlockLSTMGradV2", lstm_grad(True), inputs(2) + grads_in(),
        lstm_grad_reference(True), grad=False, rtol=1e-4, atol=1e-5, name="peephole"),
])


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()


ARGS = dict(zip(["seq_len_max", "x", "cs_prev", "h_prev", "w", "wci", "wcf", "wco", "b"],
                inputs(3)))


def _call(**overrides):
    return tf.raw_ops.BlockLSTMV2(**dict(ARGS, **overrides))


def test_raw_ops_front_door():
    out = _call()
    assert type(out).__name__ == "BlockLSTMV2" and out._fields == (
        "i", "cs", "f", "o", "ci", "co", "h")
    assert tf.compat.v1.raw_ops.BlockLSTMV2 is tf.raw_ops.BlockLSTMV2
    assert tf.raw_ops.BlockLSTMGradV2.__doc__
    with pytest.raises(TypeError):
        tf.raw_ops.BlockLSTMV2(*inputs(3))          # keyword arguments only, as in TF
    # seq_len_max is an int64 scalar: a Python int converts, an int32 tensor does not
    np.testing.assert_allclose(_call(seq_len_max=3).h.numpy(), out.h.numpy())
    with pytest.raises(TypeError, match="int64"):
        _call(seq_len_max=tf.constant(3))


def test_tape_and_tf_function_gradients_agree():
    args = inputs(3)
    ts = [tf.constant(a) for a in args]

    def loss(*t):
        out = block_lstm(outputs=CS_H)(*t)
        return tf.reduce_sum(out[1][-1] * 2.0) + tf.reduce_sum(out[0])

    with tf.GradientTape() as tape:
        tape.watch(ts[1:])
        total = loss(*ts)
    eager = tape.gradient(total, ts[1:])

    @tf.function
    def traced(*t):
        with tf.GradientTape() as inner:
            inner.watch(t[1:])
            value = loss(*t)
        return inner.gradient(value, t[1:])

    for e, g in zip(eager, traced(*ts)):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-6, atol=1e-7)


def test_gate_outputs_do_not_propagate_gradients():
    # TF's gradient takes only the gradients of cs and h; those of i, f, o, ci, co drop.
    ts = [tf.constant(a) for a in inputs(3)]
    with tf.GradientTape() as tape:
        tape.watch(ts[1])
        out = block_lstm()(*ts)
        total = tf.reduce_sum(out[0]) + tf.reduce_sum(out[4])
    assert not np.any(tape.gradient(total, ts[1]).numpy())


def test_graph_mode_shape_errors(graph_mode):
    ph = tf.compat.v1.placeholder
    x = ph(tf.float32, [5, None, 3])
    s = ph(tf.float32, [None, 4])
    w, v, b = ph(tf.float32, [7, 16]), ph(tf.float32, [4]), ph(tf.float32, [16])
    out = tf.raw_ops.BlockLSTMV2(seq_len_max=5, x=x, cs_prev=s, h_prev=s, w=w, wci=v, wcf=v,
                                 wco=v, b=b)
    assert [o.shape.as_list() for o in out] == [[5, None, 4]] * 7
    grads = tf.raw_ops.BlockLSTMGradV2(seq_len_max=5, x=x, cs_prev=s, h_prev=s, w=w, wci=v,
                                       wcf=v, wco=v, b=b, **out._asdict(), cs_grad=out.cs,
                                       h_grad=out.h, use_peephole=False)
    assert [g.shape.as_list() for g in grads] == [[5, None, 3], [None, 4], [None, 4], [7, 16],
                                                   [4], [4], [4], [16]]
    with pytest.raises(ValueError, match=r"x must be rank 3 but is rank 2.*BlockLSTMV2"):
        tf.raw_ops.BlockLSTMV2(seq_len_max=5, x=ph(tf.float32, [5, 3]), cs_prev=s, h_prev=s,
                               w=w, wci=v, wcf=v, wco=v, b=b)
    with pytest.raises(ValueError, match=r"w.dims\(0\) != input_size \+ cell_size: 8 vs. 3 \+ 4"):
        tf.raw_ops.BlockLSTMV2(seq_len_max=5, x=x, cs_prev=s, h_prev=s,
                               w=ph(tf.float32, [8, 16]), wci=v, wcf=v, wco=v, b=b)
    with pytest.raises(ValueError, match=r"b.dims\(0\) must be a multiple of 4"):
        tf.raw_ops.BlockLSTMV2(seq_len_max=5, x=x, cs_prev=s, h_prev=s, w=w, wci=v, wcf=v,
                               wco=v, b=ph(tf.float32, [15]))
    with pytest.raises(ValueError, match="seq_len_max must be rank 0"):
        tf.raw_ops.BlockLSTMV2(seq_len_max=[5], x=x, cs_prev=s, h_prev=s, w=w, wci=v, wcf=v,
                               wco=v, b=b)
    with pytest.raises(TypeError, match="dtypes must match"):
        tf.raw_ops.BlockLSTMV2(seq_len_max=5, x=x, cs_prev=s, h_prev=s, w=w, wci=v, wcf=v,
                               wco=v, b=ph(tf.float64, [16]))
    with pytest.raises(ValueError, match=r"h_grad.dims\(2\) != cell_size: 3 vs. 4"):
        tf.raw_ops.BlockLSTMGradV2(seq_len_max=5, x=x, cs_prev=s, h_prev=s, w=w, wci=v,
                                   wcf=v, wco=v, b=b, **out._asdict(), cs_grad=out.cs,
                                   h_grad=x, use_peephole=False)


def test_run_time_errors():
    with pytest.raises(errors.InvalidArgumentError, match="seq_len_max must be between 0 and 3"):
        _call(seq_len_max=4)
    with pytest.raises(errors.InvalidArgumentError, match=r"cs_prev.dims\(0\) != batch_size"):
        _call(cs_prev=np.zeros((3, 2), F32))
    g = tf.Graph()
    with g.as_default():
        n = tf.compat.v1.placeholder(tf.int64, [])
        h = _call(seq_len_max=n).h
        with tf.compat.v1.Session(graph=g) as sess:
            assert sess.run(h, {n: 2})[2].sum() == 0          # zeros after seq_len_max
            with pytest.raises(errors.InvalidArgumentError, match="seq_len_max"):
                sess.run(h, {n: -1})
