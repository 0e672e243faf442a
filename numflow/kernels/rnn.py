"""LSTM sequence kernels: TF's ``BlockLSTMV2`` (a whole sequence forward) and
``BlockLSTMGradV2`` (backpropagation through time), on the array module passed in.

Layout as TensorFlow's: ``x`` ``[time, batch, input]``; ``w`` ``[input + cell, 4 * cell]``
(the input rows, then the recurrent rows) and ``b`` ``[4 * cell]`` with the gate blocks
in IFCO order: input gate ``i``, forget gate ``f``, cell input ``ci``, output gate ``o``
(Keras's ``i, f, c, o``). One step, with ``z = [x_t, h] @ w + b`` split into the four
blocks and ``wci``, ``wcf``, ``wco`` the optional peephole weights::

    i = sigmoid(z_i + cs * wci)     f = sigmoid(z_f + cs * wcf)     ci = tanh(z_c)
    cs' = clip(f * cs + i * ci, cell_clip)                          co = tanh(cs')
    o = sigmoid(z_o + cs' * wco)    h' = o * co

How the forward runs: the input projection of every step is one (batched) matrix product
``x @ w[:input]``; each step then adds one small product for the recurrent part,
``h @ w[input:]``, and nine in-place elementwise calls on ``[batch, 4 * cell]`` or
``[batch, cell]`` blocks.
``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5``: the i, f and o columns of ``w`` and ``b`` are
halved once (exact in binary floating point), so one ``tanh`` per step activates all four
gates and one multiply and one add turn three of them into sigmoids. The gate outputs ``i``,
``f``, ``ci``, ``o`` are views into that one ``[time, batch, 4 * cell]`` buffer.

The backward runs in blocks of ``BLOCK_STEPS`` steps, last block first: the factors that
depend only on the saved activations are computed for the whole block, then each step is
five elementwise calls and one small product (the recurrent gradient
``dgates @ w[input:].T``), then the block's share of the gradients of ``x`` and ``w``
takes three batched products (one small product per step each).

Measured on the 2-core bench machine, float32, W5's sizes (time 100, batch 32, input 64,
cell 32), one BLAS thread unless said, CPU ms per call:

    forward:   1.4 (of which the input projection 0.21; as one [3200, 64] @ [64, 128]
               product on a copy of the transposed x 0.27, and with 2 BLAS threads while
               the other core is busy 8.0 median: the batched product's per-step pieces
               are too small for BLAS to thread)
    backward:  blocks of 8 / 16 / 32 / 64 steps: 2.5 / 2.3 / 2.9 / 3.9. A first version
               that did everything for all steps at once took 4.8-7.8 against 2.6-2.9
               for blocks of 16 in the same runs: its multi-megabyte temporaries got
               fresh pages from the allocator on every call (1,800 page faults per call
               against 290)
    elementwise work on a gate's strided view of the [.., 4 * cell] buffer is 4x slower
    than on a contiguous copy (32 vs 7 us per 100k elements), hence the block's copy.

Like TensorFlow, the gradient treats ``cell_clip`` as the identity, and steps from
``seq_len_max`` on are zeros in every output and gradient. Subnormal numbers (gradients
fading over hundreds of steps) cost nothing measurable on this CPU (400 steps: 61k
subnormal entries in the gradient of x, same time), so nothing flushes them.
"""

BLOCK_STEPS = 16
"""Steps the backward handles as one block: small enough that the block's temporaries
stay in cache and are reused, big enough that each block's two dozen calls amortise."""

_SHAPE_ARGS = ("x", "cs_prev", "h_prev", "w", "wci", "wcf", "wco", "b")
_STEP_OUTPUTS = ("i", "cs", "f", "o", "ci", "co", "h", "cs_grad", "h_grad")


def lstm_dims(*shapes):
    """``(timelen, batch, input_size, cell_size)`` from BlockLSTM input shapes.

    Args:
      *shapes: the shapes of ``x, cs_prev, h_prev, w, wci, wcf, wco, b`` and optionally of
        ``i, cs, f, o, ci, co, h, cs_grad, h_grad`` (BlockLSTMGradV2), each a tuple whose
        entries may be None (unknown), or None for an unknown rank.

    Returns:
      The four sizes, None where the shapes leave one unknown.

    Raises:
      ValueError: a wrong rank, or sizes that disagree.
    """
    names = _SHAPE_ARGS + _STEP_OUTPUTS[:len(shapes) - len(_SHAPE_ARGS)]
    s = dict(zip(names, shapes))
    ranks = dict(x=3, cs_prev=2, h_prev=2, w=2, wci=1, wcf=1, wco=1, b=1)
    for name, shape in s.items():
        rank = ranks.get(name, 3)
        if shape is not None and len(shape) != rank:
            raise ValueError(f"{name} must be rank {rank} but is rank {len(shape)}")
    dims = {"timelen": None, "batch_size": None, "input_size": None, "cell_size": None}

    def unify(key, name, axis, value=None):
        if value is None:
            if s[name] is None or s[name][axis] is None:
                return
            value = s[name][axis]
        if dims[key] is None:
            dims[key] = value
        elif dims[key] != value:
            raise ValueError(f"{name}.dims({axis}) != {key}: {value} vs. {dims[key]}")

    for axis, key in enumerate(("timelen", "batch_size", "input_size")):
        unify(key, "x", axis)
    for name in ("cs_prev", "h_prev"):
        unify("batch_size", name, 0)
        unify("cell_size", name, 1)
    for name in ("wci", "wcf", "wco"):
        unify("cell_size", name, 0)
    for name, axis in (("w", 1), ("b", 0)):
        gates = None if s[name] is None else s[name][axis]
        if gates is not None:
            if gates % 4:
                raise ValueError(f"{name}.dims({axis}) must be a multiple of 4 (four gates) "
                                 f"but is {gates}")
            unify("cell_size", name, axis, gates // 4)
    for name in _STEP_OUTPUTS:
        if name in s:
            for axis, key in enumerate(("timelen", "batch_size", "cell_size")):
                unify(key, name, axis)
    rows, cell, n_in = None if s["w"] is None else s["w"][0], dims["cell_size"], \
        dims["input_size"]
    if rows is not None and cell is not None:
        if n_in is None and rows >= cell:
            dims["input_size"] = rows - cell
        elif n_in is None or rows != n_in + cell:
            raise ValueError(f"w.dims(0) != input_size + cell_size: {rows} vs. "
                             f"{'?' if n_in is None else n_in} + {cell}")
    return tuple(dims.values())


def _steps(seq_len_max, timelen):
    if getattr(seq_len_max, "ndim", 0) != 0:
        raise ValueError(f"seq_len_max must be rank 0 but is rank {seq_len_max.ndim}")
    n = int(seq_len_max)
    if not 0 <= n <= timelen:
        raise ValueError(f"seq_len_max must be between 0 and {timelen} but is {n}")
    return n


def _activate(xp, z, scale, shift):
    """``tanh(z) * scale + shift`` in place: sigmoid where ``z`` was prescaled by 0.5
    (``scale`` = ``shift`` = 0.5), tanh where ``scale`` is 1 and ``shift`` 0."""
    xp.tanh(z, out=z)
    z *= scale
    z += shift


def _times_derivative(xp, g, other, out, sigmoid):
    """``out = g' * other`` for the activation output ``g``: ``g * (1 - g)`` for a
    sigmoid, ``1 - g * g`` for tanh."""
    if sigmoid:
        xp.subtract(1, g, out=out)
        out *= g
    else:
        xp.multiply(g, g, out=out)
        xp.subtract(1, out, out=out)
    out *= other
    return out


def block_lstm(xp, seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b, cell_clip=0.0,
               use_peephole=False):
    """The LSTM forward over a whole sequence (TF's ``BlockLSTMV2``).

    Args:
      xp: the array module.
      seq_len_max: int scalar, the number of steps to run (the rest of the outputs are
        zeros).
      x: ``[timelen, batch, input]``.
      cs_prev, h_prev: ``[batch, cell]``, the initial cell state and output.
      w: ``[input + cell, 4 * cell]``; b: ``[4 * cell]`` (gate blocks i, f, ci, o).
      wci, wcf, wco: ``[cell]`` peephole weights (read only with ``use_peephole``).
      cell_clip: clip the cell state to ``[-cell_clip, cell_clip]`` when positive.
      use_peephole: add the peephole terms.

    Returns:
      ``(i, cs, f, o, ci, co, h)``, each ``[timelen, batch, cell]``.

    Raises:
      ValueError: inconsistent shapes or ``seq_len_max`` outside ``[0, timelen]``.
    """
    timelen, batch, n_in, cell = lstm_dims(x.shape, cs_prev.shape, h_prev.shape, w.shape,
                                           wci.shape, wcf.shape, wco.shape, b.shape)
    n = _steps(seq_len_max, timelen)
    dtype = x.dtype
    # sigmoid(z) = 0.5 * tanh(z / 2) + 0.5: the i, f, o columns of w and b are halved
    # (exact), so that one tanh per step activates all four gates.
    scale = xp.full((4 * cell,), 0.5, dtype)
    scale[2 * cell:3 * cell] = 1
    ws, shift = w * scale, 1 - scale
    make = xp.empty if n == timelen else xp.zeros
    gates = make((timelen, batch, 4 * cell), dtype)
    cs, co, h = (make((timelen, batch, cell), dtype) for _ in range(3))
    xp.matmul(x[:n], ws[:n_in], out=gates[:n])
    gates[:n] += b * scale
    gates4 = gates.reshape(timelen, batch, 4, cell)
    i, f, ci, o = (gates4[:, :, k] for k in range(4))
    wh = ws[n_in:]
    if use_peephole:
        peep_if = xp.stack([wci, wcf]) * 0.5          # the sigmoid gates' inputs are halved
        peep_o = wco * 0.5
    rec = xp.empty((batch, 4 * cell), dtype)
    tmp = xp.empty((batch, cell), dtype)
    c, hp = cs_prev, h_prev
    for t in range(n):
        z = gates[t]
        xp.matmul(hp, wh, out=rec)
        z += rec
        if use_peephole:
            gates4[t, :, :2] += c[:, None, :] * peep_if
            _activate(xp, z[:, :3 * cell], scale[:3 * cell], shift[:3 * cell])
        else:
            _activate(xp, z, scale, shift)
        xp.multiply(f[t], c, out=cs[t])
        xp.multiply(i[t], ci[t], out=tmp)
        cs[t] += tmp
        if cell_clip > 0:
            xp.clip(cs[t], -cell_clip, cell_clip, out=cs[t])
        xp.tanh(cs[t], out=co[t])
        if use_peephole:
            xp.multiply(cs[t], peep_o, out=tmp)
            o[t] += tmp
            _activate(xp, o[t], 0.5, 0.5)
        xp.multiply(o[t], co[t], out=h[t])
        c, hp = cs[t], h[t]
    return i, cs, f, o, ci, co, h


def block_lstm_grad(xp, seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b, i, cs, f, o,
                    ci, co, h, cs_grad, h_grad, use_peephole=False):
    """Backpropagation through a BlockLSTMV2 sequence (TF's ``BlockLSTMGradV2``).

    Args:
      xp: the array module.
      seq_len_max, x, cs_prev, h_prev, w, wci, wcf, wco, b: the forward's inputs.
      i, cs, f, o, ci, co, h: the forward's outputs.
      cs_grad, h_grad: ``[timelen, batch, cell]`` gradients of ``cs`` and ``h``.
      use_peephole: the forward's attribute.

    Returns:
      ``(x_grad, cs_prev_grad, h_prev_grad, w_grad, wci_grad, wcf_grad, wco_grad,
      b_grad)``, shaped like the corresponding inputs (peephole gradients are zeros
      without ``use_peephole``).

    Raises:
      ValueError: inconsistent shapes or ``seq_len_max`` outside ``[0, timelen]``.
    """
    timelen, batch, n_in, cell = lstm_dims(
        x.shape, cs_prev.shape, h_prev.shape, w.shape, wci.shape, wcf.shape, wco.shape,
        b.shape, i.shape, cs.shape, f.shape, o.shape, ci.shape, co.shape, h.shape,
        cs_grad.shape, h_grad.shape)
    n = _steps(seq_len_max, timelen)
    dtype = x.dtype
    # x's memory order: when x is a transposed batch-major array (Keras's), so is x_grad,
    # and transposing it back gives the caller a contiguous array.
    x_grad = (xp.empty_like if n == timelen else xp.zeros_like)(x)
    w_grad = xp.zeros((n_in + cell, 4 * cell), dtype)
    b_grad = xp.zeros((4 * cell,), dtype)
    peeps = [xp.zeros((cell,), dtype) for _ in range(3)]
    k = max(min(BLOCK_STEPS, n), 1)
    gates = xp.empty((4, k, batch, cell), dtype)         # block scratch, gate-major
    fac, fac_c = xp.empty((4, k, batch, cell), dtype), xp.empty((k, batch, cell), dtype)
    dgates = xp.empty((k, batch, 4 * cell), dtype)
    carry = xp.zeros((2, batch, cell), dtype)   # the gradients flowing into h[t-1], cs[t-1]
    step = _BackpropStep(xp, w[n_in:], h_grad, cs_grad, use_peephole, wci, wcf, wco)
    wx_t = w[:n_in].T
    for t1 in range(n, 0, -k):
        t0 = max(t1 - k, 0)
        m = t1 - t0
        g = gates[:, :m]
        for dst, src in zip(g, (i, f, ci, o)):
            dst[...] = src[t0:t1]
        cs_before = _before(xp, cs, cs_prev, t0, t1)
        _gate_factors(xp, g, cs_before, co[t0:t1], fac[:, :m], fac_c[:m])
        dg = dgates[:m]
        step.block(t0, g[1], fac[:, :m], fac_c[:m], dg, carry)
        xp.matmul(dg, wx_t, out=x_grad[t0:t1])
        # One product per step, summed: at small sizes BLAS runs each on one thread (a
        # 2-thread product stalls whenever the other core is busy), and it is as fast as
        # one [input + cell, block * batch] @ [block * batch, 4 * cell] product.
        w_grad[:n_in] += xp.matmul(x[t0:t1].transpose(0, 2, 1), dg).sum(axis=0)
        w_grad[n_in:] += xp.matmul(_before(xp, h, h_prev, t0, t1).transpose(0, 2, 1),
                                   dg).sum(axis=0)
        b_grad += dg.sum(axis=(0, 1))
        if use_peephole:
            dg4 = dg.reshape(m, batch, 4, cell)
            for acc, gate, state in zip(peeps, (0, 1, 3), (cs_before, cs_before, cs[t0:t1])):
                acc += (dg4[:, :, gate] * state).sum(axis=(0, 1))
    return (x_grad, carry[1], carry[0], w_grad, *peeps, b_grad)


def _gate_factors(xp, gates, cs_before, co, fac, fac_c):
    """The factors that turn the gradients of h and cs into those of the gate
    pre-activations, for a block of steps: ``d(i, f, ci) = dcs * fac[:3]``,
    ``do = dh * fac[3]`` and ``dcs = dh * fac_c + (the gradient carried into cs)``.
    ``gates`` holds the block's ``i, f, ci, o`` (gate-major)."""
    i, f, ci, o = gates
    for out, (g, other, sigmoid) in zip(fac, ((i, ci, True), (f, cs_before, True),
                                              (ci, i, False), (o, co, True))):
        _times_derivative(xp, g, other, out, sigmoid)
    _times_derivative(xp, co, o, fac_c, False)


def _before(xp, seq, first, t0, t1):
    """``seq[t - 1]`` for ``t`` in ``[t0, t1)``, ``first`` standing for ``seq[-1]``."""
    if t0:
        return seq[t0 - 1:t1 - 1]
    return xp.concatenate([first[None], seq[:t1 - 1]])


class _BackpropStep:
    """The per-step recurrence of the backward, run over one block of steps."""

    def __init__(self, xp, wh, h_grad, cs_grad, use_peephole, wci, wcf, wco):
        self.xp, self.wh_t = xp, xp.ascontiguousarray(wh.T)
        self.h_grad, self.cs_grad = h_grad, cs_grad
        # Adding a zero gradient is skipped (Keras's last-output LSTM has one nonzero step).
        self.has_h = xp.any(h_grad, axis=(1, 2)).tolist()
        self.has_c = xp.any(cs_grad, axis=(1, 2)).tolist()
        self.peep = (wci, wcf, wco) if use_peephole else None
        self.dcs = xp.empty(h_grad.shape[1:], h_grad.dtype)

    def block(self, t0, f, fac, fac_c, dgates, carry):
        """Steps ``t0 + len(f) - 1`` down to ``t0``: fills ``dgates`` and updates
        ``carry`` (``[2, batch, cell]``: the gradients flowing into the previous h and
        cs) in place."""
        xp, dcs, (dh, dc) = self.xp, self.dcs, carry
        dgm = dgates.reshape(dgates.shape[0], dgates.shape[1], 4, -1).transpose(0, 2, 1, 3)
        for s in range(len(f) - 1, -1, -1):
            if self.has_h[t0 + s]:
                dh += self.h_grad[t0 + s]
            xp.multiply(dh, fac_c[s], out=dcs)
            dcs += dc
            if self.has_c[t0 + s]:
                dcs += self.cs_grad[t0 + s]
            xp.multiply(dh, fac[3, s], out=dgm[s, 3])
            if self.peep:
                dcs += dgm[s, 3] * self.peep[2]
            xp.multiply(dcs, fac[:3, s], out=dgm[s, :3])
            xp.multiply(dcs, f[s], out=dc)
            if self.peep:
                dc += dgm[s, 0] * self.peep[0]
                dc += dgm[s, 1] * self.peep[1]
            xp.matmul(dgates[s], self.wh_t, out=dh)
