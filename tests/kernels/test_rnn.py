"""LSTM sequence kernels (numflow/kernels/rnn.py) against a float64 NumPy step loop written
from TF's equations (gate blocks i, f, ci, o), the gradient kernel against central
differences of that loop, and shape errors."""
import numpy as np
import pytest

from numflow.kernels import rnn

RNG = np.random.RandomState(5)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def ref_block_lstm(seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b, cell_clip=0.0,
                   use_peephole=False):
    """BlockLSTMV2 in float64, one step at a time: ``[i, cs, f, o, ci, co, h]``."""
    timelen, batch, _ = x.shape
    outs = np.zeros((7, timelen, batch, cs_prev.shape[1]))
    c, h = np.asarray(cs_prev, np.float64), np.asarray(h_prev, np.float64)
    for t in range(int(seq_len_max)):
        zi, zf, zc, zo = np.split(np.concatenate([x[t], h], 1) @ w + b, 4, axis=1)
        if use_peephole:
            zi, zf = zi + c * wci, zf + c * wcf
        i, f, ci = sigmoid(zi), sigmoid(zf), np.tanh(zc)
        c = f * c + i * ci
        if cell_clip > 0:
            c = np.clip(c, -cell_clip, cell_clip)
        co = np.tanh(c)
        o = sigmoid(zo + c * wco if use_peephole else zo)
        h = o * co
        outs[:, t] = i, c, f, o, ci, co, h
    return list(outs)


def ref_block_lstm_grad(seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b, cs_grad,
                        h_grad, use_peephole=False, eps=1e-6):
    """Central differences of ``sum(cs * cs_grad + h * h_grad)`` w.r.t. the 8 float inputs."""
    args = [np.array(a, np.float64) for a in (x, cs_prev, h_prev, w, wci, wcf, wco, b)]

    def loss():
        out = ref_block_lstm(seq_len_max, *args, use_peephole=use_peephole)
        return np.sum(out[1] * cs_grad) + np.sum(out[6] * h_grad)

    grads = []
    for a in args:
        g = np.zeros_like(a)
        for j in range(a.size):
            orig = a.flat[j]
            a.flat[j] = orig + eps
            hi = loss()
            a.flat[j] = orig - eps
            lo = loss()
            a.flat[j] = orig
            g.flat[j] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def lstm_inputs(timelen=4, batch=3, n_in=2, cell=3, dtype=np.float32, scale=0.7):
    """``[x, cs_prev, h_prev, w, wci, wcf, wco, b]`` with random values."""
    shapes = [(timelen, batch, n_in), (batch, cell), (batch, cell), (n_in + cell, 4 * cell),
              (cell,), (cell,), (cell,), (4 * cell,)]
    return [RNG.uniform(-scale, scale, s).astype(dtype) for s in shapes]


CONFIGS = [  # (timelen, batch, input, cell, seq_len_max, cell_clip, use_peephole)
    (4, 3, 2, 3, 4, 0.0, False),
    (5, 2, 3, 2, 5, 0.0, True),
    (4, 3, 2, 3, 2, 0.0, False),          # steps after seq_len_max are zeros
    (3, 2, 2, 2, 0, 0.0, True),           # no step at all
    (4, 1, 1, 1, 4, 0.3, False),          # clipped cell state, size-1 dimensions
    (3, 2, 4, 3, 3, 0.2, True),
]


@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_forward_against_float64_loop(config):
    timelen, batch, n_in, cell, n, clip, peep = config
    ins = lstm_inputs(timelen, batch, n_in, cell, scale=1.5)
    before = [a.copy() for a in ins]
    got = rnn.block_lstm(np, np.int64(n), *ins, cell_clip=clip, use_peephole=peep)
    want = ref_block_lstm(n, *[a.astype(np.float64) for a in ins], cell_clip=clip,
                          use_peephole=peep)
    for name, g, e in zip("i cs f o ci co h".split(), got, want):
        assert g.dtype == np.float32 and g.shape == (timelen, batch, cell), name
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=2e-6, err_msg=name)
    for a, b in zip(ins, before):
        np.testing.assert_array_equal(a, b)     # inputs are never written to


def test_forward_float64_is_exact():
    ins = lstm_inputs(dtype=np.float64, scale=3.0)
    got = rnn.block_lstm(np, 4, *ins, use_peephole=True)
    for g, e in zip(got, ref_block_lstm(4, *ins, use_peephole=True)):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_saturated_gates_stay_finite():
    ins = lstm_inputs(scale=1.0)
    ins[3] *= 200                                  # pre-activations in the hundreds
    with np.errstate(all="raise"):
        got = rnn.block_lstm(np, 4, *ins)
    want = ref_block_lstm(4, *[a.astype(np.float64) for a in ins])
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, atol=1e-6)


@pytest.mark.parametrize("config", CONFIGS[:4], ids=[str(c) for c in CONFIGS[:4]])
def test_gradient_against_central_differences(config):
    timelen, batch, n_in, cell, n, _, peep = config
    ins = lstm_inputs(timelen, batch, n_in, cell, dtype=np.float64)
    outs = rnn.block_lstm(np, n, *ins, use_peephole=peep)
    cs_grad, h_grad = (RNG.uniform(-1, 1, (timelen, batch, cell)) for _ in range(2))
    got = rnn.block_lstm_grad(np, np.int64(n), *ins, *outs, cs_grad, h_grad,
                              use_peephole=peep)
    want = ref_block_lstm_grad(n, *ins, cs_grad, h_grad, use_peephole=peep)
    names = "x cs_prev h_prev w wci wcf wco b".split()
    for name, g, e, a in zip(names, got, want, ins):
        assert g.shape == a.shape, name
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8, err_msg=name)
    if not peep:
        assert not any(np.any(g) for g in got[4:7])


@pytest.mark.parametrize("n, peep", [(7, False), (6, True), (5, False)])
def test_gradient_over_several_blocks(monkeypatch, n, peep):
    monkeypatch.setattr(rnn, "BLOCK_STEPS", 3)       # blocks 7 -> [4, 7), [1, 4), [0, 1)
    ins = lstm_inputs(7, 2, 2, 2, dtype=np.float64)
    outs = rnn.block_lstm(np, n, *ins, use_peephole=peep)
    cs_grad, h_grad = (RNG.uniform(-1, 1, (7, 2, 2)) for _ in range(2))
    got = rnn.block_lstm_grad(np, n, *ins, *outs, cs_grad, h_grad, use_peephole=peep)
    want = ref_block_lstm_grad(n, *ins, cs_grad, h_grad, use_peephole=peep)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_gradient_of_x_keeps_the_memory_order_of_x():
    # Keras passes a transposed batch-major x: x_grad transposed back is contiguous.
    ins = lstm_inputs()
    ins[0] = np.ascontiguousarray(ins[0].transpose(1, 0, 2)).transpose(1, 0, 2)
    outs = rnn.block_lstm(np, 4, *ins)
    x_grad = rnn.block_lstm_grad(np, 4, *ins, *outs, outs[1], outs[6])[0]
    assert x_grad.transpose(1, 0, 2).flags.c_contiguous
    want = rnn.block_lstm_grad(np, 4, np.ascontiguousarray(ins[0]), *ins[1:], *outs, outs[1],
                               outs[6])[0]
    np.testing.assert_allclose(x_grad, want, rtol=1e-6, atol=1e-7)


def test_gradient_float32_stays_float32():
    ins = lstm_inputs()
    outs = rnn.block_lstm(np, 4, *ins)
    grads = rnn.block_lstm_grad(np, 4, *ins, *outs, np.ones_like(outs[1]),
                                np.ones_like(outs[6]))
    assert all(g.dtype == np.float32 for g in grads)
    want = rnn.block_lstm_grad(np, 4, *[a.astype(np.float64) for a in ins],
                               *[o.astype(np.float64) for o in outs],
                               np.ones(outs[1].shape), np.ones(outs[6].shape))
    for g, e in zip(grads, want):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_lstm_dims_partial_shapes():
    assert rnn.lstm_dims((None, 2, None), None, (None, None), (7, None), None, None, None,
                         (12,)) == (None, 2, 4, 3)
    assert rnn.lstm_dims(None, None, None, None, None, None, None, None) == (None,) * 4
    with pytest.raises(ValueError, match=r"w.dims\(0\) != input_size \+ cell_size: 2 vs. \? \+ 3"):
        rnn.lstm_dims(None, (None, 3), None, (2, None), None, None, None, None)
    dims = rnn.lstm_dims((5, 2, 3), (2, 4), (2, 4), (7, 16), (4,), (4,), (4,), (16,),
                         *[(5, 2, 4)] * 9)
    assert dims == (5, 2, 3, 4)


BAD = [
    (0, (4, 3), "x must be rank 3 but is rank 2"),
    (1, (3, 3, 1), "cs_prev must be rank 2"),
    (1, (2, 3), r"cs_prev.dims\(0\) != batch_size: 2 vs. 3"),
    (2, (3, 4), r"cell_size: 4 vs. 3"),
    (3, (6, 12), r"w.dims\(0\) != input_size \+ cell_size: 6 vs. 2 \+ 3"),
    (3, (5, 10), "must be a multiple of 4"),
    (4, (2,), r"wci.dims\(0\) != cell_size"),
    (7, (8,), "cell_size: 2 vs. 3"),
]


@pytest.mark.parametrize("index, shape, message", BAD, ids=[b[2] for b in BAD])
def test_bad_shapes(index, shape, message):
    ins = lstm_inputs()
    ins[index] = np.zeros(shape, np.float32)
    with pytest.raises(ValueError, match=message):
        rnn.block_lstm(np, 4, *ins)


def test_bad_seq_len_max_and_grad_shapes():
    ins = lstm_inputs()
    for n in (-1, 5):
        with pytest.raises(ValueError, match="seq_len_max must be between 0 and 4"):
            rnn.block_lstm(np, n, *ins)
    with pytest.raises(ValueError, match="seq_len_max must be rank 0"):
        rnn.block_lstm(np, np.array([4]), *ins)
    outs = list(rnn.block_lstm(np, 4, *ins))
    with pytest.raises(ValueError, match=r"h_grad.dims\(0\) != timelen: 3 vs. 4"):
        rnn.block_lstm_grad(np, 4, *ins, *outs, outs[1], outs[6][:3])
    with pytest.raises(ValueError, match="co must be rank 3"):
        rnn.block_lstm_grad(np, 4, *ins, *outs[:5], outs[5][0], outs[6], outs[1], outs[6])
